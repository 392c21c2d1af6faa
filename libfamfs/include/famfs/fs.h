// A famfs filesystem on a device: the superblock, the log, the tree replayed
// from it and this host's role. The CLI and the daemon both work through this.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "famfs/allocator.h"
#include "famfs/device.h"
#include "famfs/log.h"
#include "famfs/replay.h"
#include "famfs/tree.h"

namespace famfs {

enum class Role { Owner, Client };
std::string_view to_string(Role r);

struct MkfsOptions {
    uint64_t log_len = kDefaultLogLen;
    bool force = false;  // overwrite a valid famfs superblock
    Uuid system_uuid{};  // the owner: this host
};

// Formats `dev`. Writes the log first and the superblock last, so an
// interrupted mkfs leaves no valid superblock. Returns the new fs uuid.
Uuid mkfs(Device& dev, const MkfsOptions& opt);

// True when the device already holds a valid famfs superblock.
bool has_valid_superblock(const Device& dev);

struct FileSpec {
    std::string relpath;
    uint64_t size = 0;
    uint32_t mode = 0644;
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::optional<InterleaveParams> interleave;
};

struct DirSpec {
    std::string relpath;
    uint32_t mode = 0755;
    uint32_t uid = 0;
    uint32_t gid = 0;
};

class Filesystem {
public:
    struct Options {
        Device::Access access = Device::Access::ReadOnly;
        std::string system_uuid_file;  // empty: $FAMFS_SYSTEM_UUID_FILE or the default
        // false: a reader that never appends (getmap, verify): the host's
        // uuid file is neither read nor created and role() is Client.
        bool identify_host = true;
        // Non-empty: map the device through this famfs mount's .meta files
        // (Device::open_through_mount) instead of opening it raw.
        std::string through_mount;
    };

    // Opens the device, validates superblock and log header, replays the log.
    static std::unique_ptr<Filesystem> open(const std::string& device_path, const Options& opt);

    Device& device() { return dev_; }
    const LogView& log() const { return log_; }
    const Superblock& superblock() const { return log_.superblock(); }
    const MetaTree& tree() const { return tree_; }
    Role role() const { return role_; }
    const Uuid& host_uuid() const { return host_uuid_; }
    const std::string& host_uuid_file() const { return host_uuid_file_; }

    // Replays entries appended since the last call (by this or another host).
    ReplayResult refresh();

    // Whether this is still the filesystem open() found: "" when it is, else
    // one line saying why not (the device shrank below what was mapped or
    // what the superblock claims; the superblock is no longer valid; the
    // device was re-formatted: another fs uuid). Reads only the superblock,
    // and only after checking the device still holds it. A server calls this
    // before each refresh and stops serving on any answer but "".
    std::string check_identity() const;

    // Owner-only mutations, one at a time: each is a Batch of one. Errors
    // leave the device unchanged. Return the new node (owned by tree()).
    const Node& create_file(const FileSpec& spec);
    const Node& mkdir(const DirSpec& spec);
    // mkdir -p: creates missing components (with spec's attributes); returns
    // the last one. An existing directory is fine; an existing file is not.
    const Node& mkdir_p(const DirSpec& spec);

    // Many creations that succeed or fail together (famfs creat --multi,
    // mkdir, cp -r): staged and checked first, appended by commit().
    class Batch;
    Batch batch();

    // File data through the device mapping. Bounds are the file's size.
    size_t write_data(const Node& f, uint64_t off, const void* src, size_t len);
    size_t read_data(const Node& f, uint64_t off, void* dst, size_t len) const;
    // Calls fn(ptr, len) for each contiguous device range of [off, off+len).
    template <typename Fn>
    void for_each_range(const Node& f, uint64_t off, uint64_t len, Fn fn) const;

    // On a device opened through a mount (device().mountpoint() non-empty),
    // maps `f`'s data ranges at their device offsets by mapping the file on
    // the mount (fs_mount.cc), once per file; for_each_range calls it. A raw
    // device needs nothing. Throws Error if the file cannot be opened there.
    void map_file_through_mount(const Node& f) const;

    // Free-space view (rebuilt on demand).
    Allocator allocator_snapshot() const;

private:
    Filesystem(Device dev, std::string uuid_file);
    void require_owner(std::string_view what) const;
    void catch_up_locked();
    void sync_allocator();

    Device dev_;
    Superblock opened_sb_{};  // as open() validated it
    LogView log_;
    MetaTree tree_;
    Role role_ = Role::Client;
    Uuid host_uuid_{};
    std::string host_uuid_file_;
    std::optional<Allocator> alloc_;
    size_t alloc_synced_files_ = 0;  // tree_.files_in_log_order() prefix already marked
    mutable std::mutex mount_map_mu_;  // mount_mapped_
    mutable std::unordered_set<uint64_t> mount_mapped_;  // inodes map_file_through_mount mapped
};

// Owner-only. Holds the device lock from construction (which also catches up
// with the log) to destruction. Each create_file/mkdir is checked against the
// tree *and* what the batch already staged, and allocated, but nothing is
// written until commit(), which first checks that the log has a slot for
// every staged entry. A batch that throws or is destroyed without commit()
// leaves the device as it was.
class Filesystem::Batch {
public:
    explicit Batch(Filesystem& fs);
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;

    enum class Kind { None, Dir, File };
    // What `relpath` is, or will be once committed. "" is the root.
    Kind kind(std::string_view relpath) const;
    // Size of an existing or staged file (0 if none).
    uint64_t file_size(std::string_view relpath) const;

    // Stages one file: the path must be free and its parent a directory;
    // allocates its extents. Throws Error, staging nothing, when it cannot.
    void create_file(const FileSpec& spec);
    // Stages one directory. With `parents`, missing ancestors are staged too
    // (with spec's attributes). An existing directory is an error unless
    // `exist_ok` (or `parents`). Returns false when nothing needed staging.
    bool mkdir(const DirSpec& spec, bool parents = false, bool exist_ok = false);

    size_t staged() const { return staged_.size(); }
    // Appends the staged entries in order and replays them. Throws (writing
    // nothing) when the log lacks room for all of them.
    void commit();

private:
    void stage(const LogEntry& e, std::string relpath, Kind kind, uint64_t size);

    Filesystem& fs_;
    DeviceLock lock_;
    std::vector<LogEntry> staged_;
    std::unordered_map<std::string, Kind> staged_kind_;
    std::unordered_map<std::string, uint64_t> staged_size_;
    bool committed_ = false;
};

template <typename Fn>
void Filesystem::for_each_range(const Node& f, uint64_t off, uint64_t len, Fn fn) const {
    const uint64_t end = std::min<uint64_t>(off + len, f.size);
    if (!dev_.mountpoint().empty() && off < end) map_file_through_mount(f);
    while (off < end) {
        uint64_t dev_off = 0, contig = 0;
        if (!fmap_resolve(f.fmap, off, dev_off, contig)) break;
        const uint64_t n = std::min(contig, end - off);
        fn(dev_.base() + dev_off, n);
        off += n;
    }
}

}  // namespace famfs
