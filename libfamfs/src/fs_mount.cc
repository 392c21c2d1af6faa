// Filesystem::map_file_through_mount: file data of a device opened through a
// famfs mount (device_mount.cc). The file on the mount is a DAX file whose
// map is its extents, so mapping file offset o at base + device_offset(o)
// makes the reserved range look like the raw device there; the CLI's
// creat/cp/verify/flush then use base() + offset as on a raw mapping.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "famfs/error.h"
#include "famfs/fs.h"

namespace famfs {

void Filesystem::map_file_through_mount(const Node& f) const {
    if (dev_.mountpoint().empty()) return;
    std::lock_guard g(mount_map_mu_);
    if (mount_mapped_.count(f.ino)) return;
    const std::string path = dev_.mountpoint() + "/" + tree_.path_of(f);
    const bool writable = dev_.writable();
    // A lookup miss makes the daemon replay the log, so a file this process
    // has just appended is found.
    const int fd = ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) fail(errno, "cannot open {} to reach its data: {}", path, std::strerror(errno));
    const int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    const uint64_t cap = fmap_capacity(f.fmap);
    uint64_t off = 0;
    while (off < f.size && off < cap) {
        uint64_t dev_off = 0, contig = 0;
        if (!fmap_resolve(f.fmap, off, dev_off, contig) || contig == 0) break;
        // Extents and chunks are 2 MiB aligned, so both offsets are page aligned.
        void* p = mmap(dev_.base() + dev_off, contig, prot, MAP_SHARED | MAP_FIXED, fd,
                       static_cast<off_t>(off));
        if (p == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            fail(err, "cannot map {} at device offset 0x{:x}: {}", path, dev_off, std::strerror(err));
        }
        off += contig;
    }
    ::close(fd);
    mount_mapped_.insert(f.ino);
}

}  // namespace famfs
