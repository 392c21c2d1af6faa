// The daemon's state: one famfs::Filesystem (the tree replayed from the log),
// the kernel's lookup counts, in-memory attribute overrides and counters.
//
// Every FUSE op in ops.cc is a thin wrapper over one method here. The methods
// take plain values and return a Status (status.h), so tests build an FsState
// over a device file and call them without a mount (test/daemon/).
//
// Locking: the tree only grows (famfs never deletes). Readers take the shared
// lock; a refresh takes it exclusively, and only when the log header says new
// entries exist (one 8-byte read, no lock). Nodes never move in memory and a
// file's size and map never change, so data I/O resolves its device ranges
// under the shared lock and copies without it.
#pragma once

#include <fuse_lowlevel.h>  // FUSE_USE_VERSION comes from CMake
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "device_fault.h"
#include "famfs/fs.h"
#include "kernel_proto_fmap.h"
#include "meta_files.h"
#include "state_options.h"
#include "status.h"

namespace famfs::kernel_proto {
class Connection;
}

namespace famfs::daemon {

// Requests counted in the stats, by FUSE op.
enum class Op : unsigned {
    Init,
    Destroy,
    Lookup,
    Forget,
    Getattr,
    Setattr,
    Opendir,
    Readdir,
    Readdirplus,
    Releasedir,
    Open,
    Release,
    Read,
    Write,
    Statfs,
    Flush,
    Fsync,
    Getxattr,
    Listxattr,
    Access,
    Refused,
    kCount
};
std::string_view to_string(Op op);

// One readdir entry handed to the emitter. `entry` is filled for readdirplus
// (entry.ino == 0 for "." and "..", which the kernel does not count).
struct DirEntry {
    std::string_view name;
    uint64_t next_offset;  // cookie of the entry after this one
    struct stat attr;
    fuse_entry_param entry;
};

// Also the kernel protocol layer's FmapSource: GET_FMAP and GET_DAXDEV are
// answered from the same tree the ops use.
class FsState : public kernel_proto::FmapSource {
public:
    // Opens and replays the device. Throws famfs::Error (one-line message) if
    // it is not a famfs device or cannot be opened.
    FsState(const std::string& device, const StateOptions& opt);

    // For a device bound to fsdev_dax (no raw mmap): nothing is opened yet.
    // Until bootstrap() (meta_bootstrap.cc) has read the superblock and log
    // through this daemon's own mount, only the root and .meta are served and
    // other requests wait for it (see docs/daemon.md, "fsdev_dax devices").
    struct ThroughMount {};
    FsState(const std::string& device, const StateOptions& opt, ThroughMount);
    // Runs on a thread other than the session loop's, after the mount is up.
    // Throws famfs::Error (one line) if the device is not a famfs device.
    void bootstrap(const std::string& mountpoint);
    bool through_mount() const { return through_mount_; }
    // The tree is replayed and served (at once, or once bootstrap() is done).
    bool tree_ready() const { return ready(); }
    // After bootstrap: whether `mountpoint` is still this daemon's mount, and,
    // once it is not (the user unmounted it), dropping the daemon's own
    // mappings of it so the connection can end (meta_bootstrap.cc).
    bool mount_still_there(const std::string& mountpoint) const;
    void release_mount();

    // ---- ops -------------------------------------------------------------
    Status lookup(uint64_t parent, std::string_view name, fuse_entry_param& out);
    void forget(uint64_t ino, uint64_t nlookup);
    Status getattr(uint64_t ino, struct stat& out);
    // `to_set` is the FUSE_SET_ATTR_* mask. Size changes are refused (EPERM):
    // famfs files are pre-allocated and never truncated or extended.
    Status setattr(uint64_t ino, const struct stat& in, int to_set, struct stat& out);
    Status opendir(uint64_t ino);
    // Emits entries from cookie `offset` on until `emit` returns false (buffer
    // full). With `plus`, each emitted non-dot entry counts one lookup.
    Status readdir(uint64_t ino, uint64_t offset, bool plus,
                   const std::function<bool(const DirEntry&)>& emit);
    Status open(uint64_t ino, int flags);
    // Device ranges holding [off, off+len) of the file (clipped at its size).
    // The iovecs point into the shared device mapping.
    Status read(uint64_t ino, uint64_t off, size_t len, std::vector<iovec>& out);
    // Writes within the file's pre-allocated size; `written` says how much.
    // EFBIG when `off` is at or past the end (files never grow).
    Status write(uint64_t ino, uint64_t off, const void* buf, size_t len, size_t& written);
    Status statfs(struct statvfs& out);
    // Value of xattr `name`, or ENODATA.
    Status getxattr(uint64_t ino, std::string_view name, std::string& value);
    // NUL-separated names.
    Status listxattr(uint64_t ino, std::string& names);
    Status access(uint64_t ino, int mask);

    // ---- the kernel protocol layer's FmapSource (GET_FMAP / GET_DAXDEV) ----
    // GET_FMAP may name an inode this host has not replayed yet (created
    // after the last refresh), so a miss refreshes once, as lookup does.
    Status fmap_for(uint64_t ino, kernel_proto::FmapInfo& out) override;
    Status daxdev_path(uint32_t index, std::string& out) override;

    // ---- log growth --------------------------------------------------------
    // Replays entries another host (or the CLI here) appended, if any.
    // Returns the number applied. Cheap when nothing is new. The directories
    // that gained entries are passed to the invalidator (after the tree lock
    // is released), so the kernel drops their cached attributes (size, nlink)
    // at once instead of showing them stale until attr_timeout.
    uint64_t refresh_if_needed();
    // The directories whose listings changed with the log entries from index
    // `first` on (sorted, unique). Caller holds tree_mu_.
    std::vector<uint64_t> dirs_changed_since_locked(uint64_t first) const;
    void set_dir_invalidator(std::function<void(uint64_t ino)> invalidate);

    // ---- identity and device size (issue 11 items 4 and 5) -----------------
    // Every op (and every refresh) first checks that the device still holds
    // the filesystem this daemon opened: the superblock's bytes as opened
    // (a re-format changes its fs uuid and crc; damage makes it invalid) and,
    // for an emulated device, that the file still covers the filesystem
    // (one fstat). A dax device's size is re-read at most every 100 ms.
    // On any change the daemon stops serving for good: one error line, EIO
    // for every op (GET_FMAP included) except the root's getattr and the
    // stats xattr, whose "stopped" field says why. A SIGBUS from a device
    // shrinking during a copy is absorbed (device_fault.h) and stops it too.
    bool serving() const { return !halted_.load(std::memory_order_acquire); }
    std::string stopped_reason() const;
    // OK while serving; else EIO (and stops serving if the device changed).
    Status check_device();

    // ---- introspection -------------------------------------------------------
    void count(Op op) {
        counters_[static_cast<unsigned>(op)].fetch_add(1, std::memory_order_relaxed);
    }
    std::string stats_json() const;
    Role role() const { return fs_->role(); }
    const std::string& device_path() const { return device_path_; }
    // "compat" (the daemon serves data) or "famfs" (the kernel maps files
    // itself), as the kernel protocol layer's Connection decided it: that is
    // the one owner of the mode. "compat" until a connection is set.
    std::string_view mode() const;
    std::string mode_reason() const;
    // The connection whose mode and counters the stats report. Set once,
    // before the session runs; it must outlive this object's use.
    void set_connection(const kernel_proto::Connection* conn) { conn_ = conn; }
    uint64_t log_index() const;
    size_t file_count() const;
    size_t dir_count() const;
    bool device_is_dax() const;
    size_t referenced_inodes() const;
    uint64_t nlookup(uint64_t ino) const;
    bool coherent() const { return coherent_; }
    bool zero_copy_reads() const { return zero_copy_reads_; }
    double attr_timeout() const { return opt_.attr_timeout; }

private:
    friend class ControlServer;  // control_socket.cc: creations for the CLI (one batch at a time)

    struct AttrOverride {
        std::optional<uint32_t> mode, uid, gid;
        std::optional<timespec> atime, mtime, ctime;
    };

    const Node* node_locked(uint64_t ino) const;
    void fill_attr_locked(const Node& n, struct stat& st) const;
    void fill_entry_locked(const Node& n, fuse_entry_param& e) const;
    void ref_locked(uint64_t ino, uint64_t n = 1);
    // OK once the tree is there (at once, except while bootstrapping through
    // the mount: then waits for bootstrap(); EIO if it failed).
    Status wait_ready() const;
    bool ready() const { return ready_.load(std::memory_order_acquire); }
    void publish(std::unique_ptr<Filesystem> fs);  // end of construction or bootstrap
    Status meta_read(uint64_t ino, uint64_t off, size_t len, std::vector<iovec>& out);
    Status meta_write(uint64_t ino, uint64_t off, const void* buf, size_t len, size_t& written);
    bool refresh_pending() const;
    std::string identity_problem();
    void halt(const std::string& why);

    std::string device_path_;
    StateOptions opt_;
    std::unique_ptr<Filesystem> fs_;  // set once, before ready_ (publish)
    MetaFiles meta_;                  // .meta/.superblock, .meta/.log
    bool through_mount_ = false;
    std::atomic<bool> ready_{false};
    mutable std::mutex ready_mu_;
    mutable std::condition_variable ready_cv_;
    bool bootstrap_failed_ = false;  // under ready_mu_
    int tree_fd_ = -1;       // the detached clone of the mount (open_tree)
    dev_t mount_dev_ = 0;    // st_dev of the mount point while mounted
    std::atomic<bool> released_{false};
    bool coherent_ = false;
    bool zero_copy_reads_ = false;
    const kernel_proto::Connection* conn_ = nullptr;
    std::function<void(uint64_t)> invalidate_dir_;  // set once, before the session runs

    std::unique_ptr<DeviceFaultGuard> fault_guard_;  // after fs_: unregistered before the unmap
    Superblock opened_sb_{};                          // the superblock's bytes at open
    uint64_t needed_size_ = 0;                        // bytes the filesystem needs on the device
    std::atomic<int64_t> last_size_check_ns_{0};      // dax devices: size re-read at most every 100 ms
    std::atomic<bool> halted_{false};
    mutable std::mutex halt_mu_;  // halt_reason_; a leaf lock
    std::string halt_reason_;

    // Lock order: tree_mu_ before lookup_mu_ (ref_locked takes lookup_mu_
    // under tree_mu_); never the other way round.
    mutable std::shared_mutex tree_mu_;  // the tree and overrides_

    std::unordered_map<uint64_t, AttrOverride> overrides_;

    // statfs's free-space map, marked up to files_in_log_order()[statfs_files_];
    // taken after tree_mu_ (shared), never before.
    std::mutex statfs_mu_;
    std::optional<Allocator> statfs_alloc_;
    size_t statfs_files_ = 0;

    mutable std::mutex lookup_mu_;  // nlookup_; taken after tree_mu_, never before
    std::unordered_map<uint64_t, uint64_t> nlookup_;

    std::array<std::atomic<uint64_t>, static_cast<size_t>(Op::kCount)> counters_{};
    std::atomic<uint64_t> refresh_checks_{0};
    std::atomic<uint64_t> refresh_count_{0};
    std::atomic<uint64_t> bytes_read_{0};
    std::atomic<uint64_t> bytes_written_{0};
};

}  // namespace famfs::daemon
