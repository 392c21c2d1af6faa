// The owner's creation channel: a local socket on which a mounted daemon
// creates files and directories for the `famfs` CLI, so that one `famfs
// creat` costs a few round trips instead of a replay of the whole log (see
// docs/metadata.md). Shared by the daemon (server) and the CLI (client).
//
// Transport: a SOCK_SEQPACKET unix socket (one message per packet, at most
// kControlMaxMsg bytes), named after the mount point and the device so the
// CLI finds it from the path it was given: control_socket_path(). A session
// is one connection: Begin (takes the device lock and catches up with the
// log), any number of Query/CreateFile/Mkdir, then Commit. Closing the
// connection before Commit abandons everything staged: nothing is written.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "famfs/format.h"

namespace famfs {

inline constexpr uint32_t kControlVersion = 1;
inline constexpr size_t kControlMaxMsg = 4096;
inline constexpr const char* kControlDir = "/run/famfs";

enum class ControlOp : uint8_t {
    Begin = 1,   // u32 version, Uuid caller's host uuid
    Query,       // str relpath -> NodeReply
    CreateFile,  // str relpath, u64 size, u32 mode uid gid, u8 striped [u64 nstrips nbuckets chunk]
    Mkdir,       // str relpath, u32 mode uid gid, u8 parents, u8 exist_ok -> u8 staged
    Commit,      // -> (nothing)
    FreeBytes,   // -> u64 free bytes (for "no room" messages)
};

enum class ControlStatus : uint8_t {
    Ok = 0,
    Error = 1,        // i32 errno, str message: the operation failed, nothing was written
    Unavailable = 2,  // str reason: this daemon cannot create for the caller; use the device
};

// Where the daemon serving `mountpoint` (as /proc/self/mountinfo spells it)
// from the device file (st_dev, st_ino) listens. $FAMFS_CONTROL_DIR
// replaces kControlDir (tests).
std::string control_socket_path(const std::string& mountpoint, dev_t dev, ino_t ino);

// Little-endian fields, strings as u32 length + bytes.
class WireWriter {
public:
    WireWriter& u8(uint8_t v) { return raw(&v, 1); }
    WireWriter& u32(uint32_t v) { return raw(&v, 4); }
    WireWriter& i32(int32_t v) { return raw(&v, 4); }
    WireWriter& u64(uint64_t v) { return raw(&v, 8); }
    WireWriter& str(std::string_view s) {
        u32(static_cast<uint32_t>(s.size()));
        return raw(s.data(), s.size());
    }
    WireWriter& raw(const void* p, size_t n) {
        buf_.append(static_cast<const char*>(p), n);
        return *this;
    }
    const std::string& data() const { return buf_; }

private:
    std::string buf_;
};

// Reads fields back; throws Error(EPROTO) on a short or oversized field.
class WireReader {
public:
    explicit WireReader(std::string_view d) : d_(d) {}
    uint8_t u8() { return get<uint8_t>(); }
    uint32_t u32() { return get<uint32_t>(); }
    int32_t i32() { return get<int32_t>(); }
    uint64_t u64() { return get<uint64_t>(); }
    std::string str(size_t max = kControlMaxMsg);
    void raw(void* p, size_t n);
    bool done() const { return pos_ == d_.size(); }

private:
    template <typename T>
    T get() {
        T v;
        raw(&v, sizeof v);
        return v;
    }
    std::string_view d_;
    size_t pos_ = 0;
};

// One message each way. send_msg throws Error on failure; recv_msg returns
// nullopt at end of stream and throws on errors (a timeout is EAGAIN).
void send_msg(int fd, const std::string& msg);
std::optional<std::string> recv_msg(int fd);

}  // namespace famfs
