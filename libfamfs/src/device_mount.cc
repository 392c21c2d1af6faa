// Device::open_through_mount: a device bound to fsdev_dax refuses raw mmap, so
// its metadata is mapped through the famfs mount that serves it, as upstream
// famfs does: .meta/.superblock and .meta/.log are DAX files whose maps are
// the device's superblock and log regions. They are mapped at their device
// offsets inside a reserved (PROT_NONE) range the size of the device, so all
// of libfamfs's base() + offset arithmetic works unchanged for the
// superblock and the log; file data is mapped on demand by
// Filesystem::map_file_through_mount (fs_mount.cc).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dax_internal.h"
#include "famfs/device.h"
#include "famfs/error.h"
#include "famfs/format.h"
#include "famfs/mountinfo.h"
#include "famfs/uuid.h"

namespace famfs {

namespace {

// Maps `file` (a .meta file on the mount) at exactly `at`, `len` bytes.
void map_fixed(const std::string& file, uint8_t* at, uint64_t len, bool writable) {
    const int fd = ::open(file.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) fail(errno, "cannot open {}: {}", file, std::strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != len) {
        ::close(fd);
        fail(EINVAL, "{} is not the {}-byte metadata file famfs serves (is the mount famfs?)",
             file, len);
    }
    void* p = mmap(at, len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED | MAP_FIXED, fd, 0);
    const int err = errno;
    ::close(fd);  // the mapping keeps the file
    if (p == MAP_FAILED) fail(err, "cannot map {}: {}", file, std::strerror(err));
}

}  // namespace

std::string famfs_mount_of(const std::string& path) {
    struct stat dst;
    if (::stat(path.c_str(), &dst) != 0) return {};
    for (const MountEntry& m : famfs_mounts()) {
        struct stat mst;
        if (::stat(m.source.c_str(), &mst) != 0) continue;
        const bool same = S_ISCHR(dst.st_mode) ? S_ISCHR(mst.st_mode) && mst.st_rdev == dst.st_rdev
                                               : mst.st_dev == dst.st_dev && mst.st_ino == dst.st_ino;
        if (same) return m.mountpoint;
    }
    return {};
}

Device Device::open_through_mount(const std::string& path, const std::string& mountpoint,
                                  Access access) {
    Device d;
    d.path_ = path;
    d.mountpoint_ = mountpoint;
    d.access_ = access;
    d.kind_ = DeviceKind::DaxDevice;
    // The node itself: for the size, and for DeviceLock (flock), never mapped.
    d.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (d.fd_ < 0) fail(errno, "cannot open device {}: {}", path, std::strerror(errno));
    struct stat st;
    if (fstat(d.fd_, &st) != 0) fail_errno("stat " + path);
    if (S_ISCHR(st.st_mode)) {
        d.size_ = dax_size_of(st.st_rdev, d.align_);
    } else if (S_ISREG(st.st_mode)) {  // an emulated device (tests: a compat mount)
        d.kind_ = DeviceKind::EmulatedFile;
        d.size_ = static_cast<uint64_t>(st.st_size);
        d.align_ = static_cast<uint64_t>(st.st_blksize);
    }
    if (d.size_ < kLogOffset + kAllocUnit)
        fail(ENODEV, "{} is not a DAX device of a usable size", path);

    // Reserve the device's span, 2 MiB aligned (so the DAX mappings inside
    // it can use 2 MiB pages), and trim the slack.
    const uint64_t span = d.size_ + kAllocUnit;
    void* r = mmap(nullptr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED)
        fail(errno, "cannot reserve {} bytes of address space for {}: {}", d.size_, path,
             std::strerror(errno));
    auto* raw = static_cast<uint8_t*>(r);
    auto* base = reinterpret_cast<uint8_t*>(
        (reinterpret_cast<uintptr_t>(raw) + kAllocUnit - 1) & ~(uintptr_t{kAllocUnit} - 1));
    if (base > raw) munmap(raw, static_cast<size_t>(base - raw));
    if (raw + span > base + d.size_) munmap(base + d.size_, static_cast<size_t>(raw + span - (base + d.size_)));
    d.base_ = base;  // from here on, ~Device unmaps it all

    const std::string meta = mountpoint + "/.meta/";
    map_fixed(meta + ".superblock", base, kSuperblockRegion, false);
    // The log's length is the superblock's; the file's size must agree.
    uint64_t log_len = 0;
    std::memcpy(&log_len, base + offsetof(Superblock, log_len), sizeof log_len);
    if (log_len == 0 || log_len % kAllocUnit || kLogOffset + log_len > d.size_)
        fail(EINVAL, "{}: the superblock read through {} has an invalid log length {}", path,
             meta + ".superblock", log_len);
    try {
        map_fixed(meta + ".log", base + kLogOffset, log_len, access == Access::ReadWrite);
    } catch (const Error& e) {
        if (access != Access::ReadWrite || e.err() != EROFS) throw;
        // The mount refuses the log for writing: it is mounted read-only, or
        // this host is a client (its daemon serves .meta/.log read-only).
        // Say which, as a raw device's client refusal does, rather than
        // "cannot open .../.meta/.log: Read-only file system".
        struct statvfs vfs;
        if (statvfs(mountpoint.c_str(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
            fail(EROFS, "cannot write the log: {} is mounted read-only (-o ro); only a read-write "
                 "mount on the owner host can create files", mountpoint);
        Uuid owner;
        std::memcpy(&owner, base + offsetof(Superblock, system_uuid), sizeof owner);
        fail(EPERM, "cannot write the log: this host is a client of {} (its mount {} serves "
             ".meta/.log read-only); only the owner host (system uuid {}) can create files",
             path, mountpoint, to_string(owner));
    }
    return d;
}

}  // namespace famfs
