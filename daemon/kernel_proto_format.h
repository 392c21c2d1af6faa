// The famfs additions to the FUSE kernel protocol, as bytes on /dev/fuse.
//
// The kernel protocol layer (kernel_proto_*): this header owns every
// famfs-specific number the daemon puts on the wire: opcodes, the INIT
// capability bit, the GET_FMAP / GET_DAXDEV reply layouts and their limits.
// The numbers differ between kernel series, so they live in one table per
// protocol revision (kV10, kProject73); kernel_proto_revision.h picks one at
// INIT. docs/kernel-protocol.md describes the same bytes in prose; the
// static_asserts below pin every offset and size to it.
//
// The few standard FUSE fields the layer touches (the request/reply headers
// and the INIT fields) are pinned here as offsets too, so this header does
// not depend on which <linux/fuse.h> or libfuse fuse_kernel.h is installed.
// kernel_proto_session.cc cross-checks them against <linux/fuse.h>.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace famfs::kernel_proto {

static_assert(std::endian::native == std::endian::little,
              "the FUSE protocol is host-endian; these layouts assume little-endian");

// ---- standard FUSE framing (unchanged since protocol 7.0; 7.36 named the
// ---- last u16 of the request header total_extlen) ----------------------------

struct InHeader {  // struct fuse_in_header
    uint32_t len;  // whole request, header included
    uint32_t opcode;
    uint64_t unique;
    uint64_t nodeid;
    uint32_t uid;
    uint32_t gid;
    uint32_t pid;
    uint16_t total_extlen;
    uint16_t padding;
};
static_assert(sizeof(InHeader) == 40);
static_assert(offsetof(InHeader, len) == 0);
static_assert(offsetof(InHeader, opcode) == 4);
static_assert(offsetof(InHeader, unique) == 8);
static_assert(offsetof(InHeader, nodeid) == 16);
static_assert(offsetof(InHeader, uid) == 24);
static_assert(offsetof(InHeader, gid) == 28);
static_assert(offsetof(InHeader, pid) == 32);
static_assert(offsetof(InHeader, total_extlen) == 36);

struct OutHeader {  // struct fuse_out_header
    uint32_t len;   // whole reply, header included
    int32_t error;  // 0 or -errno
    uint64_t unique;
};
static_assert(sizeof(OutHeader) == 16);
static_assert(offsetof(OutHeader, error) == 4);
static_assert(offsetof(OutHeader, unique) == 8);

// The one standard opcode the layer itself looks at.
inline constexpr uint32_t kOpInit = 26;  // FUSE_INIT

// INIT request body (struct fuse_init_in, 7.36+: 64 bytes; 16 before 7.36).
inline constexpr size_t kInitInMajor = 0;
inline constexpr size_t kInitInMinor = 4;
inline constexpr size_t kInitInFlags = 12;
inline constexpr size_t kInitInFlags2 = 16;  // valid only when flags has INIT_EXT
inline constexpr size_t kInitInCompatSize = 16;
inline constexpr size_t kInitInExtSize = 20;  // enough to read flags2

// INIT reply body (struct fuse_init_out, 64 bytes since 7.23).
inline constexpr size_t kInitOutMinor = 4;
inline constexpr size_t kInitOutFlags = 12;
inline constexpr size_t kInitOutFlags2 = 32;
inline constexpr size_t kInitOutSize = 64;

inline constexpr uint32_t kKernelMajor = 7;
inline constexpr uint32_t kFlagInitExt = 1u << 30;  // FUSE_INIT_EXT (7.36): flags2 is valid

// ---- famfs reply layouts (V10, "famfs: port into fuse", 2026-03-31) ---------
// Both supported revisions use these structs unchanged.

// GET_FMAP reply header.
struct FmapHeader {     // struct fuse_famfs_fmap_header
    uint8_t file_type;  // FileType below
    uint8_t reserved;
    uint16_t fmap_version;
    uint32_t ext_type;  // ExtType below
    uint32_t nextents;  // simple extents, or interleaved extents
    uint32_t reserved0;
    uint64_t file_size;
    uint64_t reserved1;
};
static_assert(sizeof(FmapHeader) == 32);
static_assert(offsetof(FmapHeader, fmap_version) == 2);
static_assert(offsetof(FmapHeader, ext_type) == 4);
static_assert(offsetof(FmapHeader, nextents) == 8);
static_assert(offsetof(FmapHeader, reserved0) == 12);
static_assert(offsetof(FmapHeader, file_size) == 16);
static_assert(offsetof(FmapHeader, reserved1) == 24);

enum class FileType : uint8_t { Regular = 0, Superblock = 1, Log = 2 };
enum class ExtType : uint32_t { Simple = 0, Interleaved = 1 };

struct SimpleExt {  // struct fuse_famfs_simple_ext
    uint32_t devindex;
    uint32_t reserved;
    uint64_t offset;  // bytes on the device
    uint64_t len;     // bytes
};
static_assert(sizeof(SimpleExt) == 24);
static_assert(offsetof(SimpleExt, reserved) == 4);
static_assert(offsetof(SimpleExt, offset) == 8);
static_assert(offsetof(SimpleExt, len) == 16);

// Followed on the wire by nstrips SimpleExt.
struct InterleavedExt {  // struct fuse_famfs_iext
    uint32_t nstrips;
    uint32_t chunk_size;
    uint64_t nbytes;  // bytes this extent covers, non-zero
    uint64_t reserved;
};
static_assert(sizeof(InterleavedExt) == 24);
static_assert(offsetof(InterleavedExt, chunk_size) == 4);
static_assert(offsetof(InterleavedExt, nbytes) == 8);
static_assert(offsetof(InterleavedExt, reserved) == 16);

// GET_DAXDEV reply. The request carries the device index in the header's
// nodeid and no body (V10 defines struct fuse_get_daxdev_in but never sends it).
inline constexpr size_t kDaxdevNameLen = 256;
struct DaxdevReply {  // struct fuse_daxdev_out
    uint16_t index;
    uint16_t reserved;
    uint32_t reserved2;
    uint64_t reserved3;
    uint64_t reserved4;
    char name[kDaxdevNameLen];  // NUL-terminated path, e.g. "/dev/dax0.0"
};
static_assert(sizeof(DaxdevReply) == 280);
static_assert(offsetof(DaxdevReply, reserved) == 2);
static_assert(offsetof(DaxdevReply, reserved2) == 4);
static_assert(offsetof(DaxdevReply, reserved3) == 8);
static_assert(offsetof(DaxdevReply, reserved4) == 16);
static_assert(offsetof(DaxdevReply, name) == 24);

// ---- one table per protocol revision ------------------------------------------

struct Revision {
    std::string_view name;
    // The protocol minor the famfs kernel speaks; the kernel's INIT must carry
    // at least this, and the INIT reply is raised to it when famfs is enabled.
    uint32_t minor;
    // A kernel speaking a later minor is not this revision (for V10: every
    // later mainline kernel has bit 43 as HAS_IO_URING_BUFPOOL).
    uint32_t max_minor;
    // FUSE_DAX_FMAP as a bit of the 64-bit flags (flags | flags2 << 32).
    uint64_t dax_fmap_flag;
    uint32_t op_get_fmap;
    uint32_t op_get_daxdev;
    uint16_t fmap_version;
    // Kernel-side limits: a map beyond them makes the kernel fail the open,
    // so the daemon refuses it first with a clear message.
    uint32_t max_extents;     // simple extents, or interleaved extents
    uint32_t max_strips;      // per interleaved extent
    uint32_t max_fmap_reply;  // the kernel's reply buffer: one page
    uint32_t max_devices;     // device indices per mount
    uint64_t align;           // offsets, lengths and chunk sizes
};

// V3..V10 of John Groves' series (V10 posted 2026-03-31 on 6.19/7.1, libfuse
// PR #1414): protocol 7.46, FUSE_DAX_FMAP = 1 << 43, GET_FMAP = 54,
// GET_DAXDEV = 55 (53 went to COPY_FILE_RANGE_64 upstream). Limits are the
// V10 kernel's checks: 32 extents, 32 strips, one 4 KiB page, 64 devices,
// 2 MiB alignment.
inline constexpr Revision kV10{
    .name = "V10",
    .minor = 46,
    .max_minor = 46,
    .dax_fmap_flag = 1ULL << 43,
    .op_get_fmap = 54,
    .op_get_daxdev = 55,
    .fmap_version = 1,
    .max_extents = 32,
    .max_strips = 32,
    .max_fmap_reply = 4096,
    .max_devices = 64,
    .align = 2ULL << 20,
};

// This project's series on Linux 7.3 (fuse-patches/): 7.3 mainline took minor
// 46 and flags2 bit 43 (HAS_IO_URING_BUFPOOL) and opcodes up to 53, so it uses
// the next free values: minor 47, FUSE_DAX_FMAP = 1 << 44, opcodes 54/55.
// Structs, semantics and limits are V10's.
inline constexpr Revision kProject73{
    .name = "7.3-project",
    .minor = 47,
    .max_minor = UINT32_MAX,
    .dax_fmap_flag = 1ULL << 44,
    .op_get_fmap = 54,
    .op_get_daxdev = 55,
    .fmap_version = 1,
    .max_extents = 32,
    .max_strips = 32,
    .max_fmap_reply = 4096,
    .max_devices = 64,
    .align = 2ULL << 20,
};

inline constexpr const Revision* kRevisions[] = {&kV10, &kProject73};

// The largest GET_FMAP reply the limits allow must fit the kernel's page:
// header + (interleaved header + 32 strips), or header + 32 simple extents.
static_assert(sizeof(FmapHeader) + sizeof(InterleavedExt) + 32 * sizeof(SimpleExt) <= 4096);
static_assert(kV10.dax_fmap_flag >> 32 == 1u << 11, "V10: flags2 bit 11");
static_assert(kProject73.dax_fmap_flag >> 32 == 1u << 12, "7.3-project: flags2 bit 12");

}  // namespace famfs::kernel_proto
