// Fuzz target: the daemon's request screening (daemon/kernel_proto_screen.*),
// which stands between /dev/fuse and libfuse: any byte string the kernel (or
// a hostile mock of it) delivers as one request. Invariants: a request of
// fewer bytes than its header is EIO; a passed request's header says its own
// length; every name libfuse will read from a passed request is
// NUL-terminated inside it (checked here independently for the name-carrying
// opcodes); a passed BATCH_FORGET holds its count of entries.
#include <linux/fuse.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernel_proto_screen.h"

using namespace famfs::kernel_proto;

namespace {

[[noreturn]] void bug(const char* what) {
    fprintf(stderr, "screen_fuzz: %s\n", what);
    abort();
}

// Names each opcode carries after its fixed part (the kernel's layout).
bool names_ok(uint32_t op, const uint8_t* body, size_t len) {
    size_t fixed = 0, names = 0;
    switch (op) {
        case FUSE_LOOKUP: case FUSE_UNLINK: case FUSE_RMDIR: case FUSE_REMOVEXATTR: names = 1; break;
        case FUSE_SYMLINK: names = 2; break;
        case FUSE_MKNOD: fixed = sizeof(fuse_mknod_in); names = 1; break;
        case FUSE_MKDIR: fixed = sizeof(fuse_mkdir_in); names = 1; break;
        case FUSE_RENAME: fixed = sizeof(fuse_rename_in); names = 2; break;
        case FUSE_RENAME2: fixed = sizeof(fuse_rename2_in); names = 2; break;
        case FUSE_LINK: fixed = sizeof(fuse_link_in); names = 1; break;
        case FUSE_CREATE: fixed = sizeof(fuse_create_in); names = 1; break;
        case FUSE_GETXATTR: fixed = sizeof(fuse_getxattr_in); names = 1; break;
        default: return true;
    }
    if (len < fixed) return false;
    size_t at = fixed;
    for (size_t i = 0; i < names; ++i) {
        while (at < len && body[at] != 0) ++at;
        if (at >= len) return false;
        ++at;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // An exact-size heap copy, so ASan sees any read past the request.
    std::vector<uint8_t> buf(data, data + size);
    InHeader h;
    const famfs::Status st = screen_request(buf.data(), buf.size(), h);
    if (size < sizeof(InHeader)) {
        if (st.ok() || st.err() != EIO) bug("a request shorter than its header passed");
        return 0;
    }
    if (!st.ok()) {
        if (st.err() != EINVAL) bug("a malformed request got another errno than EINVAL");
        return 0;
    }
    if (h.len != size) bug("a request whose header disagrees with its length passed");
    const uint8_t* body = buf.data() + sizeof(InHeader);
    const size_t len = size - sizeof(InHeader);
    if (!names_ok(h.opcode, body, len)) bug("a request with an unterminated name passed");
    if (h.opcode == FUSE_BATCH_FORGET) {
        fuse_batch_forget_in b;
        std::memcpy(&b, body, sizeof b);
        if ((len - sizeof b) / sizeof(fuse_forget_one) < b.count) bug("a short BATCH_FORGET passed");
    }
    return 0;
}
