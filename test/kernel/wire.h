// Byte-level FUSE framing for the scripted kernel. Every offset here is
// written out from the protocol documentation (docs/kernel-protocol.md,
// include/uapi/linux/fuse.h of the kernel series), not taken from the
// daemon's structs, so the tests check the daemon against the spec.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace famfs::ktest {

using Bytes = std::vector<uint8_t>;

inline void put_u16(Bytes& b, size_t off, uint16_t v) { std::memcpy(&b[off], &v, 2); }
inline void put_u32(Bytes& b, size_t off, uint32_t v) { std::memcpy(&b[off], &v, 4); }
inline void put_u64(Bytes& b, size_t off, uint64_t v) { std::memcpy(&b[off], &v, 8); }
inline uint16_t get_u16(const Bytes& b, size_t off) {
    uint16_t v;
    std::memcpy(&v, &b.at(off + 1) - 1, 2);
    return v;
}
inline uint32_t get_u32(const Bytes& b, size_t off) {
    uint32_t v;
    std::memcpy(&v, &b.at(off + 3) - 3, 4);
    return v;
}
inline uint64_t get_u64(const Bytes& b, size_t off) {
    uint64_t v;
    std::memcpy(&v, &b.at(off + 7) - 7, 8);
    return v;
}

// Opcodes (include/uapi/linux/fuse.h).
enum Opcode : uint32_t {
    LOOKUP = 1,
    FORGET = 2,
    GETATTR = 3,
    OPEN = 14,
    READ = 15,
    WRITE = 16,
    RELEASE = 18,
    INIT = 26,
    DESTROY = 38,
    // famfs: V10 and this project's 7.3 series agree on these.
    GET_FMAP = 54,
    GET_DAXDEV = 55,
};

// struct fuse_in_header (40 bytes): len@0 opcode@4 unique@8 nodeid@16
// uid@24 gid@28 pid@32 total_extlen@36 padding@38.
inline constexpr size_t kInHeader = 40;
// struct fuse_out_header (16 bytes): len@0 error@4 unique@8.
inline constexpr size_t kOutHeader = 16;

inline Bytes request(uint32_t opcode, uint64_t unique, uint64_t nodeid, const Bytes& body = {}) {
    Bytes b(kInHeader + body.size(), 0);
    put_u32(b, 0, static_cast<uint32_t>(b.size()));
    put_u32(b, 4, opcode);
    put_u64(b, 8, unique);
    put_u64(b, 16, nodeid);
    put_u32(b, 24, 0);  // uid root
    put_u32(b, 28, 0);
    put_u32(b, 32, 4242);  // pid
    std::memcpy(b.data() + kInHeader, body.data(), body.size());
    return b;
}

// struct fuse_init_in as a 7.36+ kernel sends it (64 bytes): major@0 minor@4
// max_readahead@8 flags@12 flags2@16 unused[11]@20.
inline Bytes init_body(uint32_t minor, uint32_t flags, uint32_t flags2) {
    Bytes b(64, 0);
    put_u32(b, 0, 7);
    put_u32(b, 4, minor);
    put_u32(b, 8, 128 * 1024);
    put_u32(b, 12, flags);
    put_u32(b, 16, flags2);
    return b;
}

// Kernel INIT flags a 7.46/7.47 kernel typically offers (bits 0..29 of flags,
// plus INIT_EXT) and the flags2 bits 32..42 that every such kernel has.
inline constexpr uint32_t kKernelFlags = 0x3fffffffu | (1u << 30);
inline constexpr uint32_t kKernelFlags2 = 0x7ffu;  // bits 32..42

inline Bytes name_body(std::string_view name) {
    Bytes b(name.begin(), name.end());
    b.push_back(0);
    return b;
}

// struct fuse_open_in (8 bytes): flags@0 open_flags@4.
inline Bytes open_body(uint32_t flags) {
    Bytes b(8, 0);
    put_u32(b, 0, flags);
    return b;
}

// struct fuse_read_in (40 bytes): fh@0 offset@8 size@16 read_flags@20
// lock_owner@24 flags@32 padding@36.
inline Bytes read_body(uint64_t fh, uint64_t off, uint32_t size) {
    Bytes b(40, 0);
    put_u64(b, 0, fh);
    put_u64(b, 8, off);
    put_u32(b, 16, size);
    return b;
}

// struct fuse_forget_in (8 bytes): nlookup@0.
inline Bytes forget_body(uint64_t nlookup) {
    Bytes b(8, 0);
    put_u64(b, 0, nlookup);
    return b;
}

// struct fuse_getattr_in (16 bytes): getattr_flags@0 dummy@4 fh@8.
inline Bytes getattr_body() { return Bytes(16, 0); }

// A reply with only a header: len 16, error, unique.
inline Bytes error_reply(uint64_t unique, int error) {
    Bytes b(kOutHeader, 0);
    put_u32(b, 0, kOutHeader);
    put_u32(b, 4, static_cast<uint32_t>(error));
    put_u64(b, 8, unique);
    return b;
}

// A successful reply: header + payload.
inline Bytes ok_reply(uint64_t unique, const Bytes& payload) {
    Bytes b(kOutHeader, 0);
    put_u32(b, 0, static_cast<uint32_t>(kOutHeader + payload.size()));
    put_u64(b, 8, unique);
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

// ---- famfs replies, from the wire format in docs/kernel-protocol.md -----------

struct Ext {
    uint32_t devindex;
    uint64_t offset;
    uint64_t len;
};

// fmap header (32): file_type@0 reserved@1 fmap_version@2 ext_type@4
// nextents@8 reserved0@12 file_size@16 reserved1@24.
inline Bytes fmap_header(uint8_t file_type, uint32_t ext_type, uint32_t nextents,
                         uint64_t file_size) {
    Bytes b(32, 0);
    b[0] = file_type;
    put_u16(b, 2, 1);
    put_u32(b, 4, ext_type);
    put_u32(b, 8, nextents);
    put_u64(b, 16, file_size);
    return b;
}

// simple extent (24): devindex@0 reserved@4 offset@8 len@16.
inline void append_ext(Bytes& b, const Ext& e) {
    Bytes x(24, 0);
    put_u32(x, 0, e.devindex);
    put_u64(x, 8, e.offset);
    put_u64(x, 16, e.len);
    b.insert(b.end(), x.begin(), x.end());
}

inline Bytes simple_fmap(uint64_t file_size, const std::vector<Ext>& exts) {
    Bytes b = fmap_header(0, 0, static_cast<uint32_t>(exts.size()), file_size);
    for (const Ext& e : exts) append_ext(b, e);
    return b;
}

// interleaved extent (24): nstrips@0 chunk_size@4 nbytes@8 reserved@16,
// then nstrips simple extents.
inline Bytes interleaved_fmap(uint64_t file_size, uint32_t chunk, uint64_t nbytes,
                              const std::vector<Ext>& strips) {
    Bytes b = fmap_header(0, 1, 1, file_size);
    Bytes ie(24, 0);
    put_u32(ie, 0, static_cast<uint32_t>(strips.size()));
    put_u32(ie, 4, chunk);
    put_u64(ie, 8, nbytes);
    b.insert(b.end(), ie.begin(), ie.end());
    for (const Ext& e : strips) append_ext(b, e);
    return b;
}

// GET_DAXDEV reply (280): index u16@0 reserved@2 reserved2@4 reserved3@8
// reserved4@16 name[256]@24.
inline Bytes daxdev_reply(uint16_t index, std::string_view name) {
    Bytes b(280, 0);
    put_u16(b, 0, index);
    std::memcpy(&b[24], name.data(), name.size());
    return b;
}

// ---- kernels, as the INIT they send ---------------------------------------------

// A kernel as the INIT it sends.
struct KernelKind {
    const char* name;
    uint32_t minor;
    uint32_t flags2;
};
// V10 series (7.46, FUSE_DAX_FMAP = flags2 bit 11 = bit 43).
inline const KernelKind kV10Kernel{"V10", 46, kKernelFlags2 | 1u << 11};
// This project's 7.3 series: 7.47, bit 44; bit 43 is HAS_IO_URING_BUFPOOL.
inline const KernelKind kP73Kernel{"7.3-project", 47, kKernelFlags2 | 1u << 11 | 1u << 12};
// 7.3 mainline: no famfs, bit 43 = BUFPOOL at 7.46.
inline const KernelKind kMainline73{"7.3 mainline", 46, kKernelFlags2 | 1u << 11};
// A stock kernel without famfs (6.18 here).
inline const KernelKind kStock{"stock", 45, kKernelFlags2};

inline Bytes init_request(const KernelKind& k, uint64_t unique = 1) {
    return request(INIT, unique, 0, init_body(k.minor, kKernelFlags, k.flags2));
}

// The famfs reply = libfuse's, with the minor raised and FUSE_DAX_FMAP set.
inline Bytes famfs_init_reply(Bytes base, uint32_t minor, uint32_t flags2_bit) {
    put_u32(base, 16 + 4, minor);
    put_u32(base, 16 + 32, get_u32(base, 16 + 32) | flags2_bit);
    return base;
}

}  // namespace famfs::ktest
