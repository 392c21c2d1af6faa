// Where creat, mkdir and cp stage their creations: a Filesystem::Batch in
// this process (the direct path: open the device, replay the whole log, lock,
// append), or the same batch run by the mounted owner daemon over its
// creation channel (famfs/control.h), which already holds the replayed tree
// and allocator, so one small command costs a few round trips whatever the
// log's length. Both give the same answers and the same errors; see
// docs/metadata.md for when each is used.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "cli.h"
#include "famfs/tree.h"

namespace famfs::cli {

// A node already in the log (committed).
struct NodeInfo {
    bool dir = false;
    uint32_t mode = 0, uid = 0, gid = 0;
    uint64_t size = 0;
    Fmap fmap{};
    uint64_t ino = 0;  // in the stager's own tree (local), 0 when remote
};

struct PathInfo {
    Filesystem::Batch::Kind kind = Filesystem::Batch::Kind::None;  // staged or committed
    uint64_t file_size = 0;                                      // of a staged or committed file
    std::optional<NodeInfo> committed;                           // in the log already
};

class Stager {
public:
    using Kind = Filesystem::Batch::Kind;
    virtual ~Stager() = default;

    // What `relpath` is, counting what this command staged.
    virtual PathInfo query(const std::string& relpath) = 0;
    Kind kind(const std::string& relpath) { return query(relpath).kind; }
    // As Filesystem::Batch (throw famfs::Error, staging nothing, on failure).
    virtual void create_file(const FileSpec& spec) = 0;
    virtual bool mkdir(const DirSpec& spec, bool parents = false, bool exist_ok = false) = 0;
    // Appends everything staged and releases the device lock. Afterwards
    // query() answers from the log as it now is.
    virtual void commit() = 0;
    virtual uint64_t free_bytes() = 0;
    // True when the owner daemon does the work.
    virtual bool remote() const = 0;

    // The device mapping, for file data (opened on first use when remote).
    // Calls fn(ptr, len) for each device range of [off, off+len) of `f`.
    template <typename Fn>
    void for_each_range(const NodeInfo& f, uint64_t off, uint64_t len, Fn fn);

protected:
    virtual uint8_t* data_base(uint64_t& device_size) = 0;
    // Makes f's data reachable at data_base() + device offset: a device
    // opened through its famfs mount (fsdev_dax) maps the file's extents
    // through the file on the mount first.
    virtual void map_data(const NodeInfo& f) { (void)f; }
};

// How many items a command may send through the daemon; bigger commands
// replay the log themselves (their own work dominates either way).
inline constexpr size_t kMaxRemoteItems = 256;

// The stager for a command that creates `nitems` things at target `t`: the
// daemon's channel when `t` is under a famfs mount whose daemon offers one
// and this host is the owner, else the local batch (which gives the usual
// errors: client host, read-only device, ...). $FAMFS_CONTROL=off always
// works locally; =require fails (exit 1) rather than falling back.
std::unique_ptr<Stager> open_stager(const GlobalOptions& g, const Target& t, size_t nitems);

template <typename Fn>
void Stager::for_each_range(const NodeInfo& f, uint64_t off, uint64_t len, Fn fn) {
    uint64_t dev_size = 0;
    uint8_t* base = data_base(dev_size);
    const uint64_t end = std::min<uint64_t>(off + len, f.size);
    if (off < end) map_data(f);
    while (off < end) {
        uint64_t dev_off = 0, contig = 0;
        if (!fmap_resolve(f.fmap, off, dev_off, contig)) break;
        const uint64_t n = std::min(contig, end - off);
        if (dev_off > dev_size || n > dev_size - dev_off)
            command_error("a file's extent 0x{:x}+0x{:x} lies outside the device; nothing written",
                          dev_off, n);
        fn(base + dev_off, n);
        off += n;
    }
}

}  // namespace famfs::cli
