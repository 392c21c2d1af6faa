#include "control_socket.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <vector>

#include "famfs/control.h"
#include "famfs/error.h"
#include "fs_state.h"

namespace famfs::daemon {

namespace {

// A client that stops talking in the middle of a session holds the device
// lock: it is dropped after this long without a message.
constexpr int kSessionIdleSeconds = 10;

std::string ok() { return WireWriter().u8(static_cast<uint8_t>(ControlStatus::Ok)).data(); }

std::string error_reply(int err, std::string_view msg) {
    return WireWriter()
        .u8(static_cast<uint8_t>(ControlStatus::Error))
        .i32(err)
        .str(msg.substr(0, kControlMaxMsg - 64))
        .data();
}

std::string unavailable(std::string_view why) {
    return WireWriter().u8(static_cast<uint8_t>(ControlStatus::Unavailable)).str(why).data();
}

bool make_dir(const std::string& dir) {
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
    return ::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST;
}

sockaddr_un address(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.data(), std::min(path.size(), sizeof a.sun_path - 1));
    return a;
}

}  // namespace

ControlServer::ControlServer(FsState& state, const std::string& mountpoint,
                             const std::string& device)
    : state_(state) {
    struct stat dst;
    char canon[PATH_MAX];
    if (::stat(device.c_str(), &dst) != 0 || !::realpath(mountpoint.c_str(), canon)) {
        spdlog::warn("no creation channel: cannot stat {} or {}", device, mountpoint);
        return;
    }
    path_ = control_socket_path(canon, dst.st_dev, dst.st_ino);
    if (path_.size() >= sizeof(sockaddr_un::sun_path)) {
        spdlog::warn("no creation channel: socket path {} is too long", path_);
        return;
    }
    const std::string dir = path_.substr(0, path_.rfind('/'));
    if (!make_dir(dir)) {
        spdlog::info("no creation channel: cannot create {}: {}", dir, std::strerror(errno));
        return;
    }
    const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    const sockaddr_un a = address(path_);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 && errno == EADDRINUSE) {
        // Left by a daemon that died, or live (the same device mounted on the
        // same path in another mount namespace): only a dead one is replaced.
        const int probe = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        const bool live =
            probe >= 0 && ::connect(probe, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
        if (probe >= 0) ::close(probe);
        if (live) {
            spdlog::info("no creation channel: {} is served by another daemon", path_);
            ::close(fd);
            return;
        }
        ::unlink(path_.c_str());
        if (::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) errno = errno ?: EIO;
    }
    struct stat sst;
    // Anyone may connect; the peer's credentials decide (root or our user).
    if (::chmod(path_.c_str(), 0666) != 0 || ::stat(path_.c_str(), &sst) != 0 ||
        ::listen(fd, 16) != 0 || ::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
        spdlog::info("no creation channel on {}: {}", path_, std::strerror(errno));
        ::close(fd);
        return;
    }
    sock_dev_ = sst.st_dev;
    sock_ino_ = sst.st_ino;
    lfd_ = fd;
    spdlog::debug("creation channel on {}", path_);
    thread_ = std::thread([this] { run(); });
}

ControlServer::~ControlServer() { stop(); }

void ControlServer::stop() {
    if (thread_.joinable()) {
        const char c = 'x';
        (void)!::write(stop_pipe_[1], &c, 1);
        thread_.join();
    }
    if (lfd_ >= 0) {
        // Remove the name only if it is still ours (a later daemon may own it).
        struct stat st;
        if (::stat(path_.c_str(), &st) == 0 && st.st_dev == sock_dev_ && st.st_ino == sock_ino_)
            ::unlink(path_.c_str());
        ::close(lfd_);
        lfd_ = -1;
    }
    for (int& p : stop_pipe_)
        if (p >= 0) {
            ::close(p);
            p = -1;
        }
}

void ControlServer::run() {
    // The FUSE loop owns the signals.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    for (;;) {
        pollfd p[2] = {{lfd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        if (::poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (p[1].revents) return;
        if (!(p[0].revents & POLLIN)) continue;
        const int fd = ::accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
            (cred.uid != 0 && cred.uid != ::geteuid())) {
            spdlog::warn("creation channel: refused uid {} (pid {}): only root and uid {} may "
                         "create through this daemon",
                         cred.uid, cred.pid, ::geteuid());
            // Answer the first request (closing with it unread would reset
            // the connection before the caller reads why).
            timeval tv{1, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            try {
                (void)recv_msg(fd);
                send_msg(fd, unavailable("only root and the mount's owner may use this channel"));
            } catch (const Error&) {
            }
            ::close(fd);
            continue;
        }
        timeval tv{kSessionIdleSeconds, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        sessions_.fetch_add(1, std::memory_order_relaxed);
        try {
            serve(fd);
        } catch (const std::exception& e) {
            spdlog::debug("creation channel: session from pid {} ended: {}", cred.pid, e.what());
        }
        ::close(fd);
    }
}

void ControlServer::serve(int fd) {
    Filesystem& fs = *state_.fs_;
    std::optional<Filesystem::Batch> batch;
    bool begun = false;
    uint64_t first = 0;  // log index before this session's catch-up

    // Directories that gained entries since `first` (the catch-up's and the
    // commit's): the kernel drops their cached attributes, as on a refresh.
    auto invalidate_changed = [&] {
        std::vector<uint64_t> changed;
        {
            std::shared_lock g(state_.tree_mu_);
            changed = state_.dirs_changed_since_locked(first);
        }
        if (state_.invalidate_dir_)
            for (uint64_t ino : changed) state_.invalidate_dir_(ino);
    };
    struct Finally {
        std::function<void()> f;
        ~Finally() { f(); }
    } at_end{[&] {
        if (batch) {
            std::unique_lock g(state_.tree_mu_);
            batch.reset();  // abandoned: nothing was appended
        }
        if (begun) invalidate_changed();
    }};

    while (auto msg = recv_msg(fd)) {
        WireReader r(*msg);
        const auto op = static_cast<ControlOp>(r.u8());
        std::string reply;
        try {
            switch (op) {
                case ControlOp::Begin: {
                    const uint32_t version = r.u32();
                    Uuid host;
                    r.raw(&host, sizeof host);
                    if (begun) fail(EINVAL, "one session per connection");
                    if (version != kControlVersion) {
                        reply = unavailable(fmt::format("protocol version {}, this daemon speaks {}",
                                                        version, kControlVersion));
                        break;
                    }
                    if (fs.role() != Role::Owner || !(host == fs.superblock().system_uuid) ||
                        !fs.device().writable()) {
                        reply = unavailable(fs.device().writable()
                                                ? "this daemon or its caller is not the owner host"
                                                : "the daemon has the device read-only");
                        break;
                    }
                    // A device that no longer holds this filesystem (re-formatted,
                    // shrunk: FsState stopped serving) is not written to.
                    if (!state_.check_device().ok())
                        fail(EIO, "the mount's daemon stopped serving {}: {}", fs.device().path(),
                             state_.stopped_reason());
                    // Wait for the device lock before blocking readers.
                    DeviceLock lock(fs.device());
                    std::unique_lock g(state_.tree_mu_);
                    first = fs.tree().next_index();
                    begun = true;
                    batch.emplace(fs, std::move(lock));
                    reply = ok();
                    break;
                }
                case ControlOp::Query: {
                    const std::string rel = r.str(kMaxPathLen);
                    std::shared_lock g(state_.tree_mu_);
                    using Kind = Filesystem::Batch::Kind;
                    const Node* n = fs.tree().resolve(rel);
                    Kind k = n ? (n->is_dir() ? Kind::Dir : Kind::File) : Kind::None;
                    uint64_t size = n && !n->is_dir() ? n->size : 0;
                    if (batch) {
                        k = batch->kind(rel);
                        size = batch->file_size(rel);
                    }
                    WireWriter w;
                    w.u8(static_cast<uint8_t>(ControlStatus::Ok))
                        .u8(static_cast<uint8_t>(k))
                        .u64(size)
                        .u8(n ? 1 : 0);
                    if (n) {
                        w.u8(n->is_dir() ? 1 : 0).u32(n->mode).u32(n->uid).u32(n->gid).u64(n->size);
                        w.raw(&n->fmap, sizeof n->fmap);
                    }
                    reply = w.data();
                    break;
                }
                case ControlOp::CreateFile: {
                    FileSpec spec;
                    spec.relpath = r.str(kMaxPathLen);
                    spec.size = r.u64();
                    spec.mode = r.u32();
                    spec.uid = r.u32();
                    spec.gid = r.u32();
                    if (r.u8()) {
                        InterleaveParams ip;
                        ip.nstrips = r.u64();
                        ip.nbuckets = r.u64();
                        ip.chunk_size = r.u64();
                        spec.interleave = ip;
                    }
                    if (!batch) fail(EINVAL, "no session begun");
                    std::shared_lock g(state_.tree_mu_);
                    batch->create_file(spec);
                    reply = ok();
                    break;
                }
                case ControlOp::Mkdir: {
                    DirSpec spec;
                    spec.relpath = r.str(kMaxPathLen);
                    spec.mode = r.u32();
                    spec.uid = r.u32();
                    spec.gid = r.u32();
                    const bool parents = r.u8(), exist_ok = r.u8();
                    if (!batch) fail(EINVAL, "no session begun");
                    std::shared_lock g(state_.tree_mu_);
                    const bool staged = batch->mkdir(spec, parents, exist_ok);
                    reply = WireWriter()
                                .u8(static_cast<uint8_t>(ControlStatus::Ok))
                                .u8(staged ? 1 : 0)
                                .data();
                    break;
                }
                case ControlOp::Commit: {
                    if (!batch) fail(EINVAL, "no session begun");
                    std::unique_lock g(state_.tree_mu_);
                    try {
                        batch->commit();
                    } catch (...) {
                        batch.reset();
                        throw;
                    }
                    batch.reset();  // releases the device lock
                    reply = ok();
                    break;
                }
                case ControlOp::FreeBytes: {
                    std::shared_lock g(state_.tree_mu_);
                    reply = WireWriter()
                                .u8(static_cast<uint8_t>(ControlStatus::Ok))
                                .u64(fs.allocator_snapshot().free_bytes())
                                .data();
                    break;
                }
                default:
                    fail(EPROTO, "unknown control operation {}", static_cast<unsigned>(op));
            }
        } catch (const Error& e) {
            if (e.err() == EPROTO) throw;
            reply = error_reply(e.err(), e.what());
        } catch (const std::bad_alloc&) {
            reply = error_reply(ENOMEM, "out of memory");
        }
        send_msg(fd, reply);
    }
}

}  // namespace famfs::daemon
