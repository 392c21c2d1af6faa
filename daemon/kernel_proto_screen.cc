#include "kernel_proto_screen.h"

#include <fmt/format.h>
#include <linux/fuse.h>  // standard request sizes only; famfs numbers are in kernel_proto_format.h

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

namespace famfs::kernel_proto {

namespace {

// What libfuse 3.14 reads from each request body without checking its length:
// a fixed struct, then `strings` NUL-terminated names. Sizes are the current
// ones, which kernels send once the negotiated minor is >= 12 (libfuse says 38).
struct BodyShape {
    uint32_t fixed;
    uint32_t strings;
};

const std::map<uint32_t, BodyShape>& body_shapes() {
    static const std::map<uint32_t, BodyShape> shapes = {
        {FUSE_LOOKUP, {0, 1}},
        {FUSE_FORGET, {sizeof(fuse_forget_in), 0}},
        {FUSE_GETATTR, {sizeof(fuse_getattr_in), 0}},
        {FUSE_SETATTR, {sizeof(fuse_setattr_in), 0}},
        {FUSE_SYMLINK, {0, 2}},
        {FUSE_MKNOD, {sizeof(fuse_mknod_in), 1}},
        {FUSE_MKDIR, {sizeof(fuse_mkdir_in), 1}},
        {FUSE_UNLINK, {0, 1}},
        {FUSE_RMDIR, {0, 1}},
        {FUSE_RENAME, {sizeof(fuse_rename_in), 2}},
        {FUSE_LINK, {sizeof(fuse_link_in), 1}},
        {FUSE_OPEN, {sizeof(fuse_open_in), 0}},
        {FUSE_READ, {sizeof(fuse_read_in), 0}},
        {FUSE_WRITE, {sizeof(fuse_write_in), 0}},
        {FUSE_RELEASE, {sizeof(fuse_release_in), 0}},
        {FUSE_FSYNC, {sizeof(fuse_fsync_in), 0}},
        {FUSE_GETXATTR, {sizeof(fuse_getxattr_in), 1}},
        {FUSE_LISTXATTR, {sizeof(fuse_getxattr_in), 0}},
        {FUSE_REMOVEXATTR, {0, 1}},
        {FUSE_FLUSH, {sizeof(fuse_flush_in), 0}},
        {FUSE_INIT, {kInitInCompatSize, 0}},
        {FUSE_OPENDIR, {sizeof(fuse_open_in), 0}},
        {FUSE_READDIR, {sizeof(fuse_read_in), 0}},
        {FUSE_RELEASEDIR, {sizeof(fuse_release_in), 0}},
        {FUSE_FSYNCDIR, {sizeof(fuse_fsync_in), 0}},
        {FUSE_GETLK, {sizeof(fuse_lk_in), 0}},
        {FUSE_SETLK, {sizeof(fuse_lk_in), 0}},
        {FUSE_SETLKW, {sizeof(fuse_lk_in), 0}},
        {FUSE_ACCESS, {sizeof(fuse_access_in), 0}},
        {FUSE_CREATE, {sizeof(fuse_create_in), 1}},
        {FUSE_INTERRUPT, {sizeof(fuse_interrupt_in), 0}},
        {FUSE_BMAP, {sizeof(fuse_bmap_in), 0}},
        {FUSE_IOCTL, {sizeof(fuse_ioctl_in), 0}},
        {FUSE_POLL, {sizeof(fuse_poll_in), 0}},
        {FUSE_BATCH_FORGET, {sizeof(fuse_batch_forget_in), 0}},
        {FUSE_FALLOCATE, {sizeof(fuse_fallocate_in), 0}},
        {FUSE_READDIRPLUS, {sizeof(fuse_read_in), 0}},
        {FUSE_RENAME2, {sizeof(fuse_rename2_in), 2}},
        {FUSE_LSEEK, {sizeof(fuse_lseek_in), 0}},
        {FUSE_COPY_FILE_RANGE, {sizeof(fuse_copy_file_range_in), 0}},
    };
    return shapes;
}

// OK if libfuse can parse the body safely, else EINVAL and why not.
Status check_body(uint32_t opcode, const uint8_t* body, size_t len) {
    auto it = body_shapes().find(opcode);
    if (it == body_shapes().end()) return Status::OK();  // libfuse answers ENOSYS or reads nothing
    const BodyShape s = it->second;
    if (len < s.fixed) return Status::Error(EINVAL, fmt::format("body of {} bytes, needs {}", len, s.fixed));
    size_t at = s.fixed;
    for (uint32_t i = 0; i < s.strings; ++i) {
        const void* nul = memchr(body + at, '\0', len - at);
        if (!nul) return Status::Error(EINVAL, fmt::format("name {} is not NUL-terminated", i + 1));
        at = static_cast<const uint8_t*>(nul) - body + 1;
    }
    if (opcode == FUSE_BATCH_FORGET) {
        fuse_batch_forget_in b;
        memcpy(&b, body, sizeof b);
        if ((len - sizeof b) / sizeof(fuse_forget_one) < b.count)
            return Status::Error(EINVAL,
                                 fmt::format("batch of {} forgets in {} bytes", b.count, len));
    }
    return Status::OK();
}

}  // namespace

Status screen_request(const uint8_t* buf, size_t n, InHeader& h) {
    h = InHeader{};
    if (n > 0) memcpy(&h, buf, std::min(n, sizeof h));  // memcpy from null is UB even for 0 bytes
    if (n < sizeof h)
        return Status::Error(EIO, fmt::format("request {} is {} bytes, shorter than its header",
                                              h.unique, n));
    if (h.len != n)
        return Status::Error(EINVAL, fmt::format("header says {} bytes, {} arrived", h.len, n));
    return check_body(h.opcode, buf + sizeof h, n - sizeof h);
}

}  // namespace famfs::kernel_proto
