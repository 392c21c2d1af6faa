#include "meta_files.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "famfs/format.h"
#include "famfs/tree.h"

namespace famfs::daemon {

bool MetaFiles::is_meta_name(uint64_t parent, std::string_view name) {
    return (parent == kRootIno && name == kMetaDirName) || parent == kMetaDirIno;
}

void MetaFiles::bootstrap_root_attr(struct stat& out) {
    std::memset(&out, 0, sizeof out);
    out.st_ino = kRootIno;
    out.st_mode = S_IFDIR | 0755;
    out.st_nlink = 2;
    out.st_blksize = static_cast<blksize_t>(kAllocUnit);
}

Status MetaFiles::lookup(uint64_t parent, std::string_view name, fuse_entry_param& out,
                         double attr_timeout, double entry_timeout) const {
    uint64_t ino = 0;
    if (parent == kRootIno && name == kMetaDirName)
        ino = kMetaDirIno;
    else if (parent == kMetaDirIno && name == kMetaSuperblockName)
        ino = kMetaSuperblockIno;
    else if (parent == kMetaDirIno && name == kMetaLogName)
        ino = kMetaLogIno;
    else if (parent == kMetaDirIno && (name == "." || name == ".."))
        return Status::Error(EINVAL);  // the kernel resolves these itself
    else
        return Status::Error(ENOENT);
    std::memset(&out, 0, sizeof out);
    if (Status st = getattr(ino, out.attr); !st.ok()) return st;
    out.ino = ino;
    out.generation = 1;
    out.attr_timeout = attr_timeout;
    out.entry_timeout = entry_timeout;
    return Status::OK();
}

Status MetaFiles::getattr(uint64_t ino, struct stat& out) const {
    std::memset(&out, 0, sizeof out);
    out.st_ino = ino;
    out.st_blksize = static_cast<blksize_t>(kAllocUnit);
    // uid, gid and times 0: root's files, the same on every host.
    if (ino == kMetaDirIno) {
        out.st_mode = S_IFDIR | 0700;
        out.st_nlink = 2;
        out.st_size = log_len() ? 2 : 1;
        return Status::OK();
    }
    uint64_t off = 0, size = 0;
    if (Status st = region(ino, off, size); !st.ok()) return st;
    const bool writable_log = ino == kMetaLogIno && owner_.load(std::memory_order_acquire);
    out.st_mode = S_IFREG | (writable_log ? 0644 : 0444);
    out.st_nlink = 1;
    out.st_size = static_cast<off_t>(size);
    out.st_blocks = static_cast<blkcnt_t>(size / 512);
    return Status::OK();
}

Status MetaFiles::open(uint64_t ino, int flags) const {
    if (ino == kMetaDirIno) return Status::Error(EISDIR);
    uint64_t off = 0, size = 0;
    if (Status st = region(ino, off, size); !st.ok()) return st;
    if (flags & O_TRUNC) return Status::Error(EPERM);
    if ((flags & O_ACCMODE) == O_RDONLY) return Status::OK();
    // The superblock is written by mkfs only; the log by the owner's CLI
    // only. The modes say so, but root passes mode bits: refuse here too.
    if (ino == kMetaSuperblockIno || read_only_ || !owner_.load(std::memory_order_acquire))
        return Status::Error(EROFS);
    return Status::OK();
}

Status MetaFiles::region(uint64_t ino, uint64_t& offset, uint64_t& size) const {
    if (ino == kMetaSuperblockIno) {
        offset = 0;
        size = kSuperblockRegion;
        return Status::OK();
    }
    if (ino == kMetaLogIno) {
        const uint64_t len = log_len();
        if (len == 0) return Status::Error(ENOENT);
        offset = kLogOffset;
        size = len;
        return Status::OK();
    }
    return Status::Error(ino == kMetaDirIno ? EISDIR : ENOENT);
}

Status MetaFiles::fmap(uint64_t ino, kernel_proto::FmapInfo& out) const {
    out = kernel_proto::FmapInfo{};
    if (ino == kMetaDirIno) return Status::OK();  // a directory: out.regular false
    uint64_t off = 0, size = 0;
    if (Status st = region(ino, off, size); !st.ok()) return st;
    out.regular = true;
    out.file_size = size;
    out.file_type = ino == kMetaSuperblockIno ? kernel_proto::FileType::Superblock
                                              : kernel_proto::FileType::Log;
    out.fmap.ext_type = ExtentType::Simple;
    out.fmap.count = 1;
    out.fmap.se[0].devindex = 0;
    out.fmap.se[0].offset = off;
    out.fmap.se[0].len = size;
    return Status::OK();
}

}  // namespace famfs::daemon
