// famfs on-media format, OMF 2.2 (superblock version 48).
//
// This header owns the byte layout of a famfs device. Every struct mirrors the
// layout that upstream famfs writes, so a device formatted by either side
// mounts on the other. docs/on-media-format.md describes the same bytes in
// prose; the static_asserts at the bottom pin every offset and size to it.
//
// All integers are little-endian (we only build for x86_64 / little-endian
// hosts, asserted below). Padding bytes are explicit members and written as 0.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace famfs {

static_assert(std::endian::native == std::endian::little,
              "famfs media are little-endian; this code reads them natively");

inline constexpr uint64_t kSuperblockMagic = 0x87b282ff;
inline constexpr uint64_t kSuperblockVersion = 48;
inline constexpr uint32_t kOmfMajor = 2;
inline constexpr uint32_t kOmfMinor = 2;
inline constexpr uint64_t kLogMagic = 0x0badcafef00dULL;

inline constexpr uint64_t kAllocUnit = 2ULL << 20;         // 2 MiB
inline constexpr uint64_t kSuperblockRegion = 2ULL << 20;  // sb owns [0, 2 MiB)
inline constexpr uint64_t kLogOffset = 2ULL << 20;
inline constexpr uint64_t kDefaultLogLen = 8ULL << 20;
inline constexpr uint64_t kMinLogLen = 8ULL << 20;
inline constexpr uint64_t kMinDeviceSize = 4ULL << 30;  // upstream's minimum for real devices

inline constexpr uint32_t kSbFlagPrimary = 1u << 0;
inline constexpr uint32_t kSbFlagSecondary = 1u << 1;

inline constexpr uint32_t kStatfsTypeFuse = 0x87b282fd;  // f_type of a FUSE famfs mount
inline constexpr uint32_t kStatfsTypeKernel = 0x87b282fe;

inline constexpr size_t kMaxPathLen = 80;  // relpath buffer, NUL included
inline constexpr size_t kMaxNameLen = 79;  // so one component can fill it
inline constexpr size_t kMaxSimpleExtents = 16;
inline constexpr size_t kMaxStrips = 16;
inline constexpr size_t kDevNameLen = 64;

struct Uuid {
    uint8_t bytes[16];
    bool operator==(const Uuid&) const = default;
    bool is_null() const {
        for (uint8_t b : bytes)
            if (b) return false;
        return true;
    }
};

struct DaxDevInfo {
    uint64_t size;
    Uuid uuid;
    char name[kDevNameLen];
};

struct Superblock {
    uint64_t magic;
    uint64_t version;
    uint64_t log_offset;
    uint64_t log_len;
    uint64_t alloc_unit;
    uint32_t omf_ver_major;
    uint32_t omf_ver_minor;
    Uuid fs_uuid;
    Uuid device_uuid;
    Uuid system_uuid;  // the owner host
    uint64_t crc;      // crc32 over bytes [0, offsetof(crc))
    uint32_t sb_flags;
    uint32_t pad0;
    DaxDevInfo daxdev;
};

struct LogHeader {
    uint64_t magic;
    uint64_t log_len;
    uint64_t last_index;  // inclusive
    uint64_t crc;         // crc32 over magic, log_len, last_index
    uint64_t next_seqnum;
    uint64_t next_index;  // first free slot; not covered by crc
};

enum class EntryType : uint32_t {
    File = 0,
    Mkdir = 1,
    Delete = 2,  // defined upstream, never written
    AddDaxdev = 3,
    Invalid = 4,
};

enum class ExtentType : uint32_t {
    Simple = 0,
    Interleave = 1,
};

struct SimpleExtent {
    uint64_t devindex;
    uint64_t offset;  // byte offset on the device
    uint64_t len;     // bytes
};

struct InterleavedExtent {
    uint64_t nstrips;
    uint64_t chunk_size;
    SimpleExtent strips[kMaxStrips];
};

struct Fmap {
    ExtentType ext_type;
    uint32_t pad0;
    uint32_t count;  // Simple: nextents (<= 16); Interleave: niext (== 1)
    uint32_t pad1;
    union {
        SimpleExtent se[kMaxSimpleExtents];
        InterleavedExtent ie[1];
    };
};

inline constexpr uint32_t kFileFlagAllHostsRo = 1u << 0;
inline constexpr uint32_t kFileFlagAllHostsRw = 1u << 1;

struct FileEntry {
    uint64_t size;
    uint32_t flags;
    uint32_t uid;
    uint32_t gid;
    uint32_t mode;
    char relpath[kMaxPathLen];
    Fmap fmap;
};

struct MkdirEntry {
    uint32_t uid;
    uint32_t gid;
    uint32_t mode;
    char relpath[kMaxPathLen];
};

struct AddDaxdevEntry {
    uint64_t size;
    Uuid uuid;
    uint32_t index;
};

struct LogEntry {
    uint64_t seqnum;  // equals the entry's index
    EntryType type;
    uint32_t pad0;
    union {
        FileEntry file;
        MkdirEntry mkdir;
        AddDaxdevEntry daxdev;
        uint8_t raw[520];
    };
    uint64_t crc;  // crc32 over bytes [0, offsetof(crc))
};

struct Log {
    LogHeader header;
    LogEntry entries[];  // flexible: as many as log_len allows
};

// ---- layout pins: each matches docs/on-media-format.md ------------------------
static_assert(sizeof(Uuid) == 16);
static_assert(sizeof(DaxDevInfo) == 88);
static_assert(sizeof(Superblock) == 200);
static_assert(offsetof(Superblock, magic) == 0);
static_assert(offsetof(Superblock, version) == 8);
static_assert(offsetof(Superblock, log_offset) == 16);
static_assert(offsetof(Superblock, log_len) == 24);
static_assert(offsetof(Superblock, alloc_unit) == 32);
static_assert(offsetof(Superblock, omf_ver_major) == 40);
static_assert(offsetof(Superblock, omf_ver_minor) == 44);
static_assert(offsetof(Superblock, fs_uuid) == 48);
static_assert(offsetof(Superblock, device_uuid) == 64);
static_assert(offsetof(Superblock, system_uuid) == 80);
static_assert(offsetof(Superblock, crc) == 96);
static_assert(offsetof(Superblock, sb_flags) == 104);
static_assert(offsetof(Superblock, daxdev) == 112);
static_assert(offsetof(Superblock, daxdev) + offsetof(DaxDevInfo, uuid) == 120);
static_assert(offsetof(Superblock, daxdev) + offsetof(DaxDevInfo, name) == 136);

static_assert(sizeof(LogHeader) == 48);
static_assert(offsetof(LogHeader, log_len) == 8);
static_assert(offsetof(LogHeader, last_index) == 16);
static_assert(offsetof(LogHeader, crc) == 24);
static_assert(offsetof(LogHeader, next_seqnum) == 32);
static_assert(offsetof(LogHeader, next_index) == 40);

static_assert(sizeof(SimpleExtent) == 24);
static_assert(sizeof(InterleavedExtent) == 400);
static_assert(sizeof(Fmap) == 416);
static_assert(offsetof(Fmap, count) == 8);
static_assert(offsetof(Fmap, se) == 16);
static_assert(offsetof(Fmap, ie) == 16);

static_assert(sizeof(FileEntry) == 520);
static_assert(offsetof(FileEntry, flags) == 8);
static_assert(offsetof(FileEntry, uid) == 12);
static_assert(offsetof(FileEntry, gid) == 16);
static_assert(offsetof(FileEntry, mode) == 20);
static_assert(offsetof(FileEntry, relpath) == 24);
static_assert(offsetof(FileEntry, fmap) == 104);

static_assert(offsetof(MkdirEntry, mode) == 8);
static_assert(offsetof(MkdirEntry, relpath) == 12);
static_assert(offsetof(AddDaxdevEntry, uuid) == 8);
static_assert(offsetof(AddDaxdevEntry, index) == 24);

static_assert(sizeof(LogEntry) == 544);
static_assert(offsetof(LogEntry, type) == 8);
static_assert(offsetof(LogEntry, file) == 16);
static_assert(offsetof(LogEntry, crc) == 536);
static_assert(offsetof(Log, entries) == 48);

// ---- derived quantities ---------------------------------------------------------
constexpr uint64_t log_last_index(uint64_t log_len) {
    return (log_len - sizeof(LogHeader)) / sizeof(LogEntry) - 1;
}
static_assert(log_last_index(kDefaultLogLen) + 1 == 15420);

constexpr uint64_t entry_offset(uint64_t index) {
    return sizeof(LogHeader) + index * sizeof(LogEntry);
}

// First byte of the data region: superblock region + log, rounded up to the
// allocation unit.
constexpr uint64_t data_offset(uint64_t log_len) {
    return (kLogOffset + log_len + kAllocUnit - 1) / kAllocUnit * kAllocUnit;
}

// Bounded copy of a fixed NUL-terminated field (tolerates a missing NUL).
inline std::string_view fixed_str(const char* buf, size_t cap) {
    return std::string_view(buf, strnlen(buf, cap));
}

}  // namespace famfs
