#include "famfs/control.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "famfs/error.h"

namespace famfs {

std::string control_socket_path(const std::string& mountpoint, dev_t dev, ino_t ino) {
    // FNV-1a over the mount point and the device's identity: two mounts of
    // one device, or one mount point in two namespaces, get distinct names.
    uint64_t h = 0xcbf29ce484222325ULL;
    auto mix = [&h](const void* p, size_t n) {
        for (size_t i = 0; i < n; ++i) {
            h ^= static_cast<const uint8_t*>(p)[i];
            h *= 0x100000001b3ULL;
        }
    };
    mix(mountpoint.data(), mountpoint.size());
    const uint64_t d = dev, i = ino;
    mix(&d, sizeof d);
    mix(&i, sizeof i);
    const char* dir = std::getenv("FAMFS_CONTROL_DIR");
    return fmt::format("{}/ctl-{:016x}.sock", dir && *dir ? dir : kControlDir, h);
}

std::string WireReader::str(size_t max) {
    const uint32_t n = u32();
    if (n > max || n > d_.size() - pos_) fail(EPROTO, "control message: bad string length {}", n);
    std::string s(d_.substr(pos_, n));
    pos_ += n;
    return s;
}

void WireReader::raw(void* p, size_t n) {
    if (n > d_.size() - pos_) fail(EPROTO, "control message: too short");
    std::memcpy(p, d_.data() + pos_, n);
    pos_ += n;
}

void send_msg(int fd, const std::string& msg) {
    if (msg.size() > kControlMaxMsg) fail(EMSGSIZE, "control message too long ({} bytes)", msg.size());
    for (;;) {
        const ssize_t n = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL);
        if (n == static_cast<ssize_t>(msg.size())) return;
        if (n < 0 && errno == EINTR) continue;
        fail(n < 0 ? errno : EPROTO, "control socket: send: {}",
             n < 0 ? std::strerror(errno) : "short write");
    }
}

std::optional<std::string> recv_msg(int fd) {
    std::string buf(kControlMaxMsg + 1, '\0');
    for (;;) {
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n == 0) return std::nullopt;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(errno, "control socket: receive: {}", std::strerror(errno));
        if (static_cast<size_t>(n) > kControlMaxMsg) fail(EMSGSIZE, "control message too long");
        buf.resize(static_cast<size_t>(n));
        return buf;
    }
}

}  // namespace famfs
