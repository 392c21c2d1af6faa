#include "famfs/uuid.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "famfs/error.h"

namespace famfs {

std::string to_string(const Uuid& u) {
    const uint8_t* b = u.bytes;
    return fmt::format(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-"
        "{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
        b[14], b[15]);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<Uuid> parse_uuid(std::string_view text) {
    if (text.size() != 36) return std::nullopt;
    Uuid u{};
    size_t byte = 0;
    for (size_t i = 0; i < text.size();) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-') return std::nullopt;
            ++i;
            continue;
        }
        int hi = hexval(text[i]), lo = hexval(text[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        u.bytes[byte++] = static_cast<uint8_t>(hi << 4 | lo);
        i += 2;
    }
    return u;
}

Uuid random_uuid() {
    Uuid u{};
    if (getrandom(u.bytes, sizeof u.bytes, 0) != sizeof u.bytes) fail_errno("getrandom");
    u.bytes[6] = (u.bytes[6] & 0x0f) | 0x40;  // version 4
    u.bytes[8] = (u.bytes[8] & 0x3f) | 0x80;  // RFC 4122 variant
    return u;
}

std::string system_uuid_path(const std::string& override_path) {
    if (!override_path.empty()) return override_path;
    if (const char* env = std::getenv(kSystemUuidEnv); env && *env) return env;
    return kDefaultSystemUuidFile;
}

Uuid load_system_uuid(const std::string& override_path) {
    const std::string path = system_uuid_path(override_path);
    std::ifstream in(path);
    if (!in) {
        if (errno != ENOENT)
            fail(errno, "cannot read system uuid file {}: {}", path, std::strerror(errno));
        // First use on this host: create it, as upstream famfs does. O_EXCL so
        // two racing processes agree on one uuid.
        std::error_code ec;
        std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
        Uuid u = random_uuid();
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd >= 0) {
            std::string line = to_string(u) + "\n";
            bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
            ::close(fd);
            if (!ok) fail(EIO, "cannot write system uuid file {}", path);
            return u;
        }
        if (errno != EEXIST)
            fail(errno, "cannot create system uuid file {}: {}", path, std::strerror(errno));
        return load_system_uuid(path);
    }
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' '))
        line.pop_back();
    auto u = parse_uuid(line);
    if (!u) fail(EINVAL, "system uuid file {} does not hold a uuid (found \"{}\")", path, line);
    return *u;
}

}  // namespace famfs
