// Shared fixtures for the libfamfs unit tests: temporary emulated devices and
// a byte-level log writer that uses only the documented offsets.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "famfs/device.h"
#include "famfs/fs.h"
#include "famfs/replay.h"
#include "famfs/uuid.h"

namespace famfs::test {

// A temp directory with an emulated device file and two host uuid files.
class TempDevice {
public:
    explicit TempDevice(uint64_t size = 64ULL << 20) {
        char tmpl[] = "/tmp/famfs-unit-XXXXXX";
        dir = mkdtemp(tmpl);
        path = dir + "/dev";
        Device::create_emulated(path, size, false);
        owner_uuid_file = dir + "/owner_uuid";
        client_uuid_file = dir + "/client_uuid";
        load_system_uuid(owner_uuid_file);
        load_system_uuid(client_uuid_file);
    }
    ~TempDevice() { std::filesystem::remove_all(dir); }

    // mkfs with the owner's uuid.
    Uuid format(uint64_t log_len = kDefaultLogLen) {
        Device d = Device::open(path, Device::Access::ReadWrite);
        MkfsOptions o;
        o.log_len = log_len;
        o.system_uuid = load_system_uuid(owner_uuid_file);
        return mkfs(d, o);
    }
    std::unique_ptr<Filesystem> open_owner() const {
        return Filesystem::open(path, {Device::Access::ReadWrite, owner_uuid_file});
    }
    std::unique_ptr<Filesystem> open_client() const {
        return Filesystem::open(path, {Device::Access::ReadWrite, client_uuid_file});
    }

    std::string dir, path, owner_uuid_file, client_uuid_file;
};

// Little-endian byte poking at documented offsets.
inline void put_u32(uint8_t* b, size_t off, uint32_t v) { std::memcpy(b + off, &v, 4); }
inline void put_u64(uint8_t* b, size_t off, uint64_t v) { std::memcpy(b + off, &v, 8); }
inline uint64_t get_u64(const uint8_t* b, size_t off) {
    uint64_t v;
    std::memcpy(&v, b + off, 8);
    return v;
}
inline uint32_t zcrc(const uint8_t* b, size_t len) {
    return static_cast<uint32_t>(::crc32(0L, b, static_cast<uInt>(len)));
}

// Entry images built from the documented offsets (famfs-on-media-format.md),
// independent of famfs/format.h.
struct RawEntry {
    uint8_t b[544] = {};
    void seal(uint64_t index) {
        put_u64(b, 0, index);
        put_u64(b, 536, zcrc(b, 536));
    }
};

inline RawEntry raw_mkdir(const std::string& path, uint32_t mode = 0755, uint32_t uid = 0,
                          uint32_t gid = 0) {
    RawEntry e;
    put_u32(e.b, 8, 1);  // MKDIR
    put_u32(e.b, 16 + 0, uid);
    put_u32(e.b, 16 + 4, gid);
    put_u32(e.b, 16 + 8, mode);
    std::memcpy(e.b + 16 + 12, path.data(), path.size());
    return e;
}

struct RawExtent {
    uint64_t offset, len;
};

inline RawEntry raw_file(const std::string& path, uint64_t size, std::vector<RawExtent> ext,
                         uint32_t mode = 0644, uint32_t uid = 0, uint32_t gid = 0) {
    RawEntry e;
    put_u32(e.b, 8, 0);  // FILE
    uint8_t* body = e.b + 16;
    put_u64(body, 0, size);
    put_u32(body, 8, 2);  // ALL_HOSTS_RW
    put_u32(body, 12, uid);
    put_u32(body, 16, gid);
    put_u32(body, 20, mode);
    std::memcpy(body + 24, path.data(), path.size());
    uint8_t* fmap = body + 104;
    put_u32(fmap, 0, 0);  // SIMPLE
    put_u32(fmap, 8, static_cast<uint32_t>(ext.size()));
    for (size_t i = 0; i < ext.size(); ++i) {
        put_u64(fmap, 16 + 24 * i + 0, 0);
        put_u64(fmap, 16 + 24 * i + 8, ext[i].offset);
        put_u64(fmap, 16 + 24 * i + 16, ext[i].len);
    }
    return e;
}

inline RawEntry raw_striped(const std::string& path, uint64_t size, uint64_t chunk,
                            std::vector<RawExtent> strips) {
    RawEntry e;
    put_u32(e.b, 8, 0);
    uint8_t* body = e.b + 16;
    put_u64(body, 0, size);
    put_u32(body, 8, 2);
    put_u32(body, 20, 0644);
    std::memcpy(body + 24, path.data(), path.size());
    uint8_t* fmap = body + 104;
    put_u32(fmap, 0, 1);  // INTERLEAVE
    put_u32(fmap, 8, 1);  // niext
    put_u64(fmap, 16, strips.size());
    put_u64(fmap, 24, chunk);
    for (size_t i = 0; i < strips.size(); ++i) {
        put_u64(fmap, 32 + 24 * i + 8, strips[i].offset);
        put_u64(fmap, 32 + 24 * i + 16, strips[i].len);
    }
    return e;
}

// Writes raw entries into a formatted device's log and publishes them.
inline void write_raw_log(const std::string& dev_path, const std::vector<RawEntry>& entries,
                          uint64_t first_index = 0) {
    Device d = Device::open(dev_path, Device::Access::ReadWrite);
    uint8_t* log = d.base() + 0x200000;
    for (size_t i = 0; i < entries.size(); ++i)
        std::memcpy(log + 48 + 544 * (first_index + i), entries[i].b, 544);
    put_u64(log, 32, first_index + entries.size());  // next_seqnum
    put_u64(log, 40, first_index + entries.size());  // next_index
}

inline std::string golden_image(const std::string& name) {
    std::string src = std::string(FAMFS_GOLDEN_DIR) + "/" + name + ".img.xz";
    if (!std::filesystem::exists(src)) throw std::runtime_error("golden image missing: " + src);
    char tmpl[] = "/tmp/famfs-golden-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    std::string out = dir + "/" + name + ".img";
    std::string cmd = "xz -dc '" + src + "' > '" + out + "' && truncate -s 8G '" + out + "'";
    if (system(cmd.c_str()) != 0) throw std::runtime_error("cannot unpack " + src);
    return out;
}

// A device's log replayed into a fresh tree, as a client host would.
struct Replayed {
    Device dev;
    LogView log;
    MetaTree tree;
    ReplayResult result;
    explicit Replayed(const std::string& path)
        : dev(Device::open(path, Device::Access::ReadOnly)),
          log(dev),
          tree(log.superblock().daxdev.size, log.superblock().log_len),
          result(replay(log, tree)) {}
};

inline bool has_issue(const MetaTree& t, IssueKind k, uint64_t index, const std::string& field) {
    for (const Issue& i : t.issues())
        if (i.kind == k && i.index == index && i.field == field) return true;
    return false;
}

}  // namespace famfs::test
