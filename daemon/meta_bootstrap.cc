// FsState::bootstrap: serving a device bound to fsdev_dax, which refuses raw
// mmap. The daemon mounts first with only the root and .meta answered (the
// .superblock's map is fixed: [0, 2 MiB) of device 0), then, from a thread
// other than the session loop's, opens and maps its own
// MOUNTPOINT/.meta/.superblock — the kernel asks this daemon for the map
// (GET_FMAP, file_type 1) and the device (GET_DAXDEV) like for any file —
// reads the log length from it, which defines .meta/.log, and opens the
// filesystem through the mount (Device::open_through_mount): the log is a DAX
// mapping of the device's log region, so replay and every later refresh read
// the device directly, exactly as through a raw devdax mapping.
//
// The daemon's mappings must not keep the user's mount busy (umount would
// fail with EBUSY): they are made through a detached clone of the mount
// (open_tree(OPEN_TREE_CLONE), a private vfsmount of the same superblock),
// and the readiness thread watches the mount point; once the user has
// unmounted it, release_mount() drops the mappings and the clone, the
// superblock goes away, the kernel ends the connection and the session loop
// returns, as for any unmount.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "famfs/cache.h"
#include "famfs/error.h"
#include "famfs/format.h"
#include "fs_state.h"

namespace famfs::daemon {

void FsState::bootstrap(const std::string& mountpoint) {
    try {
        struct stat mst;
        if (::stat(mountpoint.c_str(), &mst) != 0)
            fail(errno, "cannot stat {}: {}", mountpoint, std::strerror(errno));
        mount_dev_ = mst.st_dev;
        tree_fd_ = open_tree(AT_FDCWD, mountpoint.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree_fd_ < 0)
            fail(errno, "cannot clone the mount {}: {}", mountpoint, std::strerror(errno));
        const std::string root = "/proc/self/fd/" + std::to_string(tree_fd_);
        const std::string sb_file = root + "/.meta/.superblock";
        const int fd = ::open(sb_file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) fail(errno, "cannot open {}: {}", sb_file, std::strerror(errno));
        void* p = mmap(nullptr, kSuperblockRegion, PROT_READ, MAP_SHARED, fd, 0);
        const int err = errno;
        ::close(fd);
        if (p == MAP_FAILED) fail(err, "cannot map {}: {}", sb_file, std::strerror(err));
        Superblock sb;
        invalidate(p, sizeof sb);
        std::memcpy(&sb, p, sizeof sb);
        munmap(p, kSuperblockRegion);
        if (sb.magic != kSuperblockMagic)
            fail(EINVAL, "{} holds no famfs superblock (read through {})", device_path_, sb_file);
        if (sb.log_len == 0 || sb.log_len % kAllocUnit)
            fail(EINVAL, "{}: the superblock's log length {} is invalid", device_path_, sb.log_len);
        meta_.set_log_len(sb.log_len);  // .meta/.log exists from here on

        Filesystem::Options fo;
        // The daemon never appends; in famfs mode it never touches file data.
        fo.access = Device::Access::ReadOnly;
        fo.system_uuid_file = opt_.system_uuid_file;
        fo.through_mount = root;
        publish(Filesystem::open(device_path_, fo));  // validates superblock and log fully
    } catch (...) {
        if (tree_fd_ >= 0) ::close(tree_fd_);
        tree_fd_ = -1;
        {
            std::lock_guard g(ready_mu_);
            bootstrap_failed_ = true;
        }
        ready_cv_.notify_all();
        throw;
    }
}

bool FsState::mount_still_there(const std::string& mountpoint) const {
    // AT_STATX_DONT_SYNC: FUSE answers from the cached attributes, so the
    // watch sends the daemon no request (the data-path proofs count them).
    struct statx sx;
    if (statx(AT_FDCWD, mountpoint.c_str(), AT_STATX_DONT_SYNC, STATX_TYPE, &sx) != 0) return false;
    return makedev(sx.stx_dev_major, sx.stx_dev_minor) == mount_dev_;
}

void FsState::release_mount() {
    std::unique_lock g(tree_mu_);
    if (tree_fd_ < 0) return;
    released_.store(true, std::memory_order_release);  // no more refreshes
    // Zeros in place of the device's metadata: anything that still reads it
    // (the stats) sees an empty log rather than a dangling mapping.
    Device& d = fs_->device();
    mmap(d.base(), d.size(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
         -1, 0);
    ::close(tree_fd_);
    tree_fd_ = -1;
}

}  // namespace famfs::daemon
