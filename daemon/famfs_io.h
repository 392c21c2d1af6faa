// The famfs half of the FUSE protocol, spoken beside stock libfuse 3.14.
//
// libfuse 3.14 knows nothing of famfs, and we do not fork it. Instead
// KernelIo installs libfuse's custom-io hooks (fuse_session_custom_io) on the
// session's /dev/fuse fd, so every request and reply passes through here:
//   - the kernel's INIT is recorded and the mode (famfs or compat) decided;
//   - in famfs mode, libfuse's INIT reply gains FUSE_DAX_FMAP (and the
//     revision's minor); nothing else in it changes;
//   - in famfs mode, GET_FMAP and GET_DAXDEV are answered here from an
//     FmapSource and never reach libfuse;
//   - requests too short or malformed for libfuse to parse safely are answered
//     with EIO / EINVAL here (libfuse would stop its loop, or read past them);
//   - everything else goes to libfuse byte for byte.
// In compat mode the only effect is that screening: replies are untouched.
//
// docs/kernel-protocol.md explains the modes and the revision rule.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "famfs/format.h"
#include "kernel_proto.h"

struct fuse_session;
struct iovec;

namespace famfs::fuse {

// What the daemon knows about one inode, for GET_FMAP.
struct FmapInfo {
    bool regular = false;  // GET_FMAP is only valid for regular files
    uint64_t file_size = 0;
    famfs::Fmap fmap{};
    // Regular for ordinary files; Superblock / Log for the .meta files a mount
    // exposes when the device refuses raw mmap.
    proto::FileType file_type = proto::FileType::Regular;
};

// Implemented by the daemon. Called from libfuse worker threads, concurrently
// with the daemon's own ops: implementations must be thread-safe.
class FmapSource {
public:
    virtual ~FmapSource() = default;
    // nodeid == inode number == famfs::Node::ino (root is 1). 0 or -errno.
    // Should refresh from the log on a miss, as lookup does.
    virtual int fmap_for(uint64_t nodeid, FmapInfo& out) = 0;
    // Device index -> the path the kernel should open on this host. 0 or -errno.
    virtual int daxdev_path(uint32_t index, std::string& out) = 0;
};

// ---- GET_FMAP / GET_DAXDEV encoding (pure functions) ---------------------------

// A map as the wire sees it; unlike famfs::Fmap it has no fixed capacity, so
// the protocol limits can be checked (and tested) on their own.
struct WireMap {
    struct Interleaved {
        uint64_t chunk_size = 0;
        uint64_t nbytes = 0;
        std::vector<famfs::SimpleExtent> strips;
    };
    proto::FileType file_type = proto::FileType::Regular;
    uint64_t file_size = 0;
    bool interleaved = false;
    std::vector<famfs::SimpleExtent> simple;
    std::vector<Interleaved> iext;
};

// famfs::Fmap -> WireMap. 0, or -EINVAL with `why` for a map the log format
// itself cannot hold (more than 16 extents, unknown type).
int to_wire(const FmapInfo& info, WireMap& out, std::string& why);
// WireMap -> GET_FMAP reply payload (no out header). 0, or -errno with `why`:
// E2BIG beyond the revision's limits (extents, strips, devices, reply size),
// EINVAL for maps the kernel would reject (alignment, zero lengths, coverage
// short of file_size). Never a truncated map.
int encode_fmap(const proto::Revision& rev, const WireMap& map, std::vector<uint8_t>& out,
                std::string& why);
// GET_DAXDEV reply payload: 280 bytes. -ENAMETOOLONG if the path does not fit.
int encode_daxdev(uint32_t index, std::string_view path, std::vector<uint8_t>& out,
                  std::string& why);

// ---- choosing the protocol revision ----------------------------------------------

enum class RevisionChoice { Auto, V10, Project73 };

// Evidence about the running kernel that a flag bit alone cannot give.
struct KernelEvidence {
    bool famfs_symbols = false;  // famfs_* symbols of fs/fuse in /proc/kallsyms
    int release_major = 0;       // from uname -r, e.g. 7.3.4 -> 7, 3
    int release_minor = 0;
};
KernelEvidence probe_kernel();

// What the kernel's INIT offered.
struct InitOffer {
    uint32_t major = 0;
    uint32_t minor = 0;
    uint32_t flags = 0;
    uint32_t flags2 = 0;  // 0 unless flags has INIT_EXT
    uint64_t flags64() const { return uint64_t(flags2) << 32 | flags; }
};

struct RevisionDecision {
    const proto::Revision* revision = nullptr;  // nullptr: no famfs on this connection
    std::string reason;
};
// The revision rule (docs/kernel-protocol.md): an explicit choice is trusted
// if the kernel offers that revision's bit at its minor; Auto needs famfs
// symbols in the kernel plus a release and minor that only one revision fits,
// because bit 43 is FUSE_DAX_FMAP on V10 but HAS_IO_URING_BUFPOOL on 7.3.
RevisionDecision choose_revision(const InitOffer& offer, RevisionChoice choice,
                                 const KernelEvidence& evidence);

// ---- the shim ---------------------------------------------------------------------

class KernelIo {
public:
    struct Config {
        RevisionChoice revision = RevisionChoice::Auto;
        bool force_compat = false;   // never enable famfs (mount option)
        bool want_famfs = false;     // famfs explicitly requested: fail INIT without it
        bool device_is_dax = false;  // the device is a real DAX device (not an emulated file)
        std::string device_path;     // for messages only
        // Called once per INIT, when the mode is decided and before libfuse
        // processes the INIT: the daemon prints / records the mode here.
        std::function<void(bool famfs, const std::string& reason)> on_mode;
    };

    struct Counters {
        uint64_t get_fmap_served = 0;
        uint64_t get_fmap_failed = 0;
        uint64_t get_daxdev_served = 0;
        uint64_t get_daxdev_failed = 0;
        uint64_t stray_data_io = 0;  // READ/WRITE that reached the daemon in famfs mode
        uint64_t malformed = 0;      // requests answered EIO/EINVAL (or dropped) by the shim
    };

    KernelIo(Config config, FmapSource& source);
    ~KernelIo();
    KernelIo(const KernelIo&) = delete;
    KernelIo& operator=(const KernelIo&) = delete;

    // A one-line error if the config cannot work on this host before mounting
    // (famfs requested but the kernel has no famfs support, or both famfs and
    // compat forced); empty if fine. `famfs mount` should print it and exit.
    static std::string precheck(const Config& config, const KernelEvidence& evidence);

    // Installs the hooks on `fd` (fuse_session_fd(se) after fuse_session_mount,
    // or a pre-opened device). Call before the session loop. 0 or -errno.
    int attach(fuse_session* se, int fd);

    bool famfs_mode() const { return famfs_.load(); }
    // True when famfs was required (want_famfs) but could not be enabled: the
    // INIT was answered with EPROTO and the session told to exit.
    bool init_failed() const { return init_failed_.load(); }
    std::string mode_reason() const;
    std::string_view revision_name() const;  // "" in compat mode
    InitOffer init_offer() const;
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
    void note_init(int fd, const proto::InHeader& h, const uint8_t* body, size_t body_len);
    void serve_get_fmap(int fd, const proto::InHeader& h);
    void serve_get_daxdev(int fd, const proto::InHeader& h);
    void reply(int fd, uint64_t unique, int error, const void* payload, size_t len);
    ssize_t patch_init_reply(int fd, struct iovec* iov, int count);

    Config config_;
    FmapSource& source_;
    fuse_session* se_ = nullptr;
    int fd_ = -1;

    mutable std::mutex mu_;  // guards the strings and offer below
    std::string reason_;
    InitOffer offer_{};
    const proto::Revision* rev_ = nullptr;

    std::atomic<bool> famfs_{false};
    std::atomic<bool> init_failed_{false};
    std::atomic<bool> init_decided_{false};  // a 7.x INIT was seen: the mode is fixed
    std::atomic<bool> init_pending_{false};  // its reply is still to be patched
    std::atomic<uint64_t> init_unique_{0};

    std::atomic<uint64_t> fmap_served_{0}, fmap_failed_{0}, daxdev_served_{0}, daxdev_failed_{0},
        stray_{0}, malformed_{0};
};

}  // namespace famfs::fuse
