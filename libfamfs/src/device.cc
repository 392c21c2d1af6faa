#include "famfs/device.h"

#include <daxctl/libdaxctl.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "dax_internal.h"
#include "famfs/error.h"

namespace famfs {

namespace {

struct DaxInfo {
    std::string name;  // e.g. dax0.0
    uint64_t size = 0;
    uint64_t align = 0;
    bool enabled = false;
    bool system_ram = false;
    std::string driver;  // device_dax, kmem, fsdev_dax, ...
};

std::string bound_driver(const std::string& devname) {
    std::error_code ec;
    auto link = std::filesystem::read_symlink("/sys/bus/dax/devices/" + devname + "/driver", ec);
    return ec ? std::string() : link.filename().string();
}

// Finds the devdax instance behind a character device through libdaxctl.
bool describe_dax(dev_t rdev, DaxInfo& out) {
    daxctl_ctx* ctx = nullptr;
    if (daxctl_new(&ctx) < 0) return false;
    bool found = false;
    daxctl_region* region;
    daxctl_region_foreach(ctx, region) {
        daxctl_dev* dev;
        daxctl_dev_foreach(region, dev) {
            if (static_cast<unsigned>(daxctl_dev_get_major(dev)) != major(rdev) ||
                static_cast<unsigned>(daxctl_dev_get_minor(dev)) != minor(rdev))
                continue;
            out.name = daxctl_dev_get_devname(dev);
            out.size = daxctl_dev_get_size(dev);
            out.align = daxctl_dev_get_align(dev);
            out.enabled = daxctl_dev_is_enabled(dev);
            out.system_ram = daxctl_dev_get_memory(dev) != nullptr;
            out.driver = bound_driver(out.name);
            found = true;
        }
    }
    daxctl_unref(ctx);
    return found;
}

}  // namespace

std::string dax_driver(const std::string& path) {
    struct stat st;
    DaxInfo info;
    if (::stat(path.c_str(), &st) != 0 || !S_ISCHR(st.st_mode) || !describe_dax(st.st_rdev, info))
        return {};
    return info.driver;
}

uint64_t dax_size_of(dev_t rdev, uint64_t& align) {
    DaxInfo info;
    if (!describe_dax(rdev, info)) return 0;
    align = info.align;
    return info.size;
}

uint64_t Device::current_size() const {
    struct stat st;
    if (fd_ < 0 || fstat(fd_, &st) < 0) return 0;
    if (S_ISREG(st.st_mode)) return static_cast<uint64_t>(st.st_size);
    DaxInfo info;
    if (S_ISCHR(st.st_mode) && describe_dax(st.st_rdev, info)) return info.size;
    return 0;
}

Device Device::open(const std::string& path, Access access) {
    Device d;
    d.path_ = path;
    d.access_ = access;
    const int flags = (access == Access::ReadWrite ? O_RDWR : O_RDONLY) | O_CLOEXEC;
    d.fd_ = ::open(path.c_str(), flags);
    if (d.fd_ < 0) fail(errno, "cannot open device {}: {}", path, std::strerror(errno));

    struct stat st;
    if (fstat(d.fd_, &st) < 0) fail_errno("stat " + path);
    if (S_ISCHR(st.st_mode)) {
        DaxInfo info;
        if (!describe_dax(st.st_rdev, info))
            fail(ENODEV, "{} is a character device but not a DAX device known to libdaxctl", path);
        if (info.system_ram || info.driver == "kmem")
            fail(EINVAL,
                 "{} is in system-ram mode; switch it to devdax: daxctl reconfigure-device "
                 "--mode=devdax --force {}",
                 path, info.name);
        if (!info.enabled)
            fail(ENXIO, "{} is disabled; enable it: daxctl enable-device {}", path, info.name);
        if (info.driver == "fsdev_dax") {
            const std::string mp = famfs_mount_of(path);
            if (mp.empty())
                fail(EINVAL,
                     "{} is bound to fsdev_dax (kernel famfs mode), which refuses raw mmap: "
                     "mount it first (famfs mount {} MOUNTPOINT) and use the mount, or rebind it "
                     "for raw access: daxctl reconfigure-device --mode=devdax --force {}",
                     path, path, info.name);
            ::close(d.fd_);
            d.fd_ = -1;
            return open_through_mount(path, mp, access);
        }
        d.kind_ = DeviceKind::DaxDevice;
        d.size_ = info.size;
        d.align_ = info.align;
    } else if (S_ISREG(st.st_mode)) {
        d.kind_ = DeviceKind::EmulatedFile;
        d.size_ = static_cast<uint64_t>(st.st_size);
        d.align_ = static_cast<uint64_t>(st.st_blksize);
    } else if (S_ISBLK(st.st_mode)) {
        fail(ENOTSUP,
             "{} is a block device; famfs needs a devdax character device (ndctl "
             "create-namespace -m devdax) or an emulated device file",
             path);
    } else {
        fail(ENODEV, "{} is neither a DAX device nor a regular file", path);
    }
    if (d.size_ == 0) fail(EINVAL, "device {} has size 0", path);

    const int prot = PROT_READ | (access == Access::ReadWrite ? PROT_WRITE : 0);
    void* p = mmap(nullptr, d.size_, prot, MAP_SHARED, d.fd_, 0);
    if (p == MAP_FAILED) fail(errno, "cannot map device {}: {}", path, std::strerror(errno));
    d.base_ = static_cast<uint8_t*>(p);
    return d;
}

void Device::create_emulated(const std::string& path, uint64_t size, bool force) {
    if (size == 0 || size % (2ULL << 20))
        fail(EINVAL, "emulated device size {} must be a non-zero multiple of 2 MiB", size);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) fail(errno, "cannot create {}: {}", path, std::strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        fail(EINVAL, "{} exists and is not a regular file", path);
    }
    if (st.st_size != 0 && static_cast<uint64_t>(st.st_size) != size && !force) {
        ::close(fd);
        fail(EEXIST, "{} already exists with size {}; use --force to resize it", path,
             static_cast<uint64_t>(st.st_size));
    }
    if (ftruncate(fd, static_cast<off_t>(size)) < 0) {
        int err = errno;
        ::close(fd);
        fail(err, "cannot size {} to {} bytes: {}", path, size, std::strerror(err));
    }
    ::close(fd);
}

Device::Device(Device&& o) noexcept { *this = std::move(o); }

Device& Device::operator=(Device&& o) noexcept {
    if (this != &o) {
        reset();
        path_ = std::move(o.path_);
        mountpoint_ = std::move(o.mountpoint_);
        kind_ = o.kind_;
        access_ = o.access_;
        fd_ = std::exchange(o.fd_, -1);
        size_ = std::exchange(o.size_, 0);
        align_ = o.align_;
        base_ = std::exchange(o.base_, nullptr);
    }
    return *this;
}

Device::~Device() { reset(); }

void Device::reset() {
    if (base_) munmap(base_, size_);
    if (fd_ >= 0) ::close(fd_);
    base_ = nullptr;
    fd_ = -1;
}

DeviceLock::DeviceLock(const Device& dev) {
    // A separate open file description, so two threads of one process exclude
    // each other as well as two processes do.
    fd_ = ::open(dev.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail(errno, "cannot open {} to lock it: {}", dev.path(), std::strerror(errno));
    while (flock(fd_, LOCK_EX) < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd_);
        fail(err, "cannot lock {}: {}", dev.path(), std::strerror(err));
    }
}

DeviceLock::~DeviceLock() {
    flock(fd_, LOCK_UN);
    ::close(fd_);
}

}  // namespace famfs
