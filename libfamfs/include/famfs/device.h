// A famfs device, mapped shared: a devdax character device (/dev/daxX.Y,
// described by libdaxctl) or an emulated one (a regular file, ideally on
// hugetlbfs or huge tmpfs, whose size is the device size).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace famfs {

enum class DeviceKind { DaxDevice, EmulatedFile };

class Device {
public:
    enum class Access { ReadOnly, ReadWrite };

    // Opens and maps `path`. Throws Error with a one-line, actionable message
    // (e.g. which daxctl command to run for a device in the wrong mode).
    // A device bound to fsdev_dax (kernel famfs mode) refuses raw mmap: it is
    // then opened through the famfs mount that serves it (open_through_mount,
    // found in mountinfo), or refused with one line saying what to do.
    static Device open(const std::string& path, Access access);

    // device_mount.cc. Maps the device's metadata through `mountpoint`'s
    // .meta/.superblock and .meta/.log (DAX files whose maps are the device's
    // superblock and log regions) at their device offsets inside a reserved
    // range of the device's size, so base() + offset works for them as for a
    // raw mapping. File data is not mapped: Filesystem maps a file's ranges
    // through the file on the mount when it touches them (map_file_through_mount).
    // `fd()` is the device node (opened for the lock, never mapped).
    static Device open_through_mount(const std::string& path, const std::string& mountpoint,
                                     Access access);

    // Creates (or resizes, with `force`) an emulated device file of `size`
    // bytes. Refuses to overwrite an existing non-empty file without force.
    static void create_emulated(const std::string& path, uint64_t size, bool force);

    Device(Device&& other) noexcept;
    Device& operator=(Device&& other) noexcept;
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;
    ~Device();

    const std::string& path() const { return path_; }
    DeviceKind kind() const { return kind_; }
    uint64_t size() const { return size_; }
    // The size the device has now (an emulated file can be truncated, a dax
    // device resized under a mapping); 0 when it cannot be read. size() is
    // what was mapped: never touch bytes at or past current_size().
    uint64_t current_size() const;
    uint64_t align() const { return align_; }
    bool writable() const { return access_ == Access::ReadWrite; }
    int fd() const { return fd_; }
    // The famfs mount this device is mapped through; empty for a raw mapping.
    const std::string& mountpoint() const { return mountpoint_; }

    uint8_t* base() const { return base_; }
    template <typename T>
    T* at(uint64_t offset) const {
        return reinterpret_cast<T*>(base_ + offset);
    }

private:
    Device() = default;
    void reset();

    std::string path_;
    std::string mountpoint_;
    DeviceKind kind_ = DeviceKind::EmulatedFile;
    Access access_ = Access::ReadOnly;
    int fd_ = -1;
    uint64_t size_ = 0;
    uint64_t align_ = 0;
    uint8_t* base_ = nullptr;
};

// Exclusive advisory lock (flock) held for the life of the object: serializes
// log appends between processes of one host.
// The driver a DAX character device is bound to ("device_dax", "fsdev_dax",
// "kmem", ...); empty when `path` is not a DAX device known to libdaxctl.
std::string dax_driver(const std::string& path);
// The famfs mount (fuse.famfs in mountinfo) whose source is the device node
// `path`; empty when none.
std::string famfs_mount_of(const std::string& path);

class DeviceLock {
public:
    explicit DeviceLock(const Device& dev);
    ~DeviceLock();
    DeviceLock(const DeviceLock&) = delete;
    DeviceLock& operator=(const DeviceLock&) = delete;

private:
    int fd_;
};

}  // namespace famfs
