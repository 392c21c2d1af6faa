// Kernel protocol layer: the session glue. The famfs half of the FUSE
// protocol, spoken beside stock libfuse 3.14.
//
// libfuse 3.14 knows nothing of famfs, and we do not fork it. Instead a
// Connection installs libfuse's custom-io hooks (fuse_session_custom_io) on
// the session's /dev/fuse fd, so every request and reply passes through here:
//   - requests too short or malformed for libfuse to parse safely are answered
//     with EIO / EINVAL (kernel_proto_screen.h);
//   - the kernel's INIT is recorded and the mode (famfs or compat) decided
//     (kernel_proto_revision.h); the Connection is the one owner of the mode;
//   - in famfs mode, libfuse's INIT reply gains FUSE_DAX_FMAP (and the
//     revision's minor); nothing else in it changes;
//   - in famfs mode, GET_FMAP and GET_DAXDEV are answered here from an
//     FmapSource (kernel_proto_fmap.h) and never reach libfuse;
//   - everything else goes to libfuse byte for byte.
// In compat mode the only effect is the screening: replies are untouched.
//
// docs/kernel-protocol.md explains the modes and the revision rule.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "kernel_proto_fmap.h"
#include "kernel_proto_format.h"
#include "kernel_proto_revision.h"
#include "status.h"

struct fuse_session;
struct iovec;

namespace famfs::kernel_proto {

class Connection {
public:
    struct Config {
        RevisionChoice revision = RevisionChoice::Auto;
        bool force_compat = false;   // never enable famfs (mount option)
        bool want_famfs = false;     // famfs explicitly requested: fail INIT without it
        bool device_is_dax = false;  // the device is a real DAX device (not an emulated file)
        std::string device_path;     // for messages only
    };

    struct Counters {
        uint64_t get_fmap_served = 0;
        uint64_t get_fmap_failed = 0;
        uint64_t get_daxdev_served = 0;
        uint64_t get_daxdev_failed = 0;
        uint64_t stray_data_io = 0;  // READ/WRITE that reached the daemon in famfs mode
        uint64_t malformed = 0;      // requests answered EIO/EINVAL (or dropped) by the layer
    };

    Connection(Config config, FmapSource& source);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Whether the config can work on this host, checked before mounting:
    // an error (one line) if famfs is requested but the kernel or device
    // cannot do it, or both famfs and compat are forced. `famfs mount` prints
    // it and exits.
    static Status precheck(const Config& config, const KernelEvidence& evidence);

    // Installs the hooks on `fd` (fuse_session_fd(se) after fuse_session_mount,
    // or a pre-opened device). Call before the session loop.
    Status attach(fuse_session* se, int fd);

    // The mode of this connection: decided at INIT, and changed back to compat
    // only if libfuse refuses the INIT. Everything else (FsState's stats, the
    // ops) reads it from here.
    bool famfs_mode() const { return famfs_.load(); }
    // True when famfs was required (want_famfs) but could not be enabled: the
    // INIT was answered with EPROTO and the session told to exit.
    bool init_failed() const { return init_failed_.load(); }
    std::string mode_reason() const;
    std::string_view revision_name() const;  // "" in compat mode
    Counters counters() const;

    // Call at the top of the READ and WRITE handlers: in famfs mode the kernel
    // maps file data itself and must never send these; returns true (and
    // counts) when the request must be refused (reply EIO).
    bool refuse_data_io();

    // libfuse custom-io entry points (public for the C callback table).
    ssize_t on_read(int fd, void* buf, size_t len);
    ssize_t on_writev(int fd, struct iovec* iov, int count);

private:
    enum class Verdict { Pass, Consumed };
    Verdict screen(int fd, uint8_t* buf, size_t n);
    void note_init(int fd, const InHeader& h, const uint8_t* body, size_t body_len);
    void set_mode(const Revision* rev, std::string reason);
    const Revision* revision() const;
    void serve_get_fmap(int fd, const InHeader& h);
    void serve_get_daxdev(int fd, const InHeader& h);
    void reply(int fd, uint64_t unique, int error, const void* payload, size_t len);
    ssize_t patch_init_reply(int fd, struct iovec* iov, int count);

    Config config_;
    FmapSource& source_;
    fuse_session* se_ = nullptr;

    mutable std::mutex mu_;  // guards reason_ and rev_
    std::string reason_;
    const Revision* rev_ = nullptr;

    std::atomic<bool> famfs_{false};
    std::atomic<bool> init_failed_{false};
    std::atomic<bool> init_decided_{false};  // a 7.x INIT was seen: the mode is fixed
    std::atomic<bool> init_pending_{false};  // its reply is still to be patched
    std::atomic<uint64_t> init_unique_{0};

    std::atomic<uint64_t> fmap_served_{0}, fmap_failed_{0}, daxdev_served_{0}, daxdev_failed_{0},
        stray_{0}, malformed_{0};
};

}  // namespace famfs::kernel_proto
