// Free space: a bitmap of 2 MiB allocation units rebuilt from the tree (the
// superblock and log regions are marked first). Nothing about free space is
// stored on the device.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "famfs/format.h"
#include "famfs/tree.h"

namespace famfs {

struct InterleaveParams {
    uint64_t nstrips = 0;     // strips per file (<= 16)
    uint64_t nbuckets = 0;    // device split into this many buckets (<= 64)
    uint64_t chunk_size = 0;  // power of two, multiple of 2 MiB
};

// Checks the params against a device; returns the reason they are invalid.
std::string check_interleave(const InterleaveParams& p, uint64_t device_size, uint64_t log_len);

class Allocator {
public:
    Allocator(uint64_t device_size, uint64_t log_len);

    // Marks every extent of every file in `tree`; returns collisions found
    // (an allocation unit claimed twice, or by the superblock/log region).
    std::vector<Issue> mark_tree(const MetaTree& tree);
    // Marks one file's extents; appends collisions to `out`.
    void mark(const Node& file, std::vector<Issue>* out);

    // Contiguous first-fit. Returns a map of one simple extent, or nullopt when
    // no run of free units is long enough.
    std::optional<Fmap> allocate(uint64_t size);
    // Striped: nstrips contiguous strips, each in a different bucket. Files
    // smaller than one chunk fall back to allocate().
    std::optional<Fmap> allocate_interleaved(uint64_t size, const InterleaveParams& p);

    uint64_t total_units() const { return bits_.size(); }
    uint64_t used_units() const { return used_; }
    uint64_t free_bytes() const { return (total_units() - used_) * kAllocUnit; }
    uint64_t reserved_units() const { return reserved_; }
    bool is_used(uint64_t unit) const { return bits_[unit]; }

private:
    std::optional<uint64_t> find_run(uint64_t first, uint64_t last, uint64_t nunits) const;
    void set_range(uint64_t first, uint64_t nunits);

    std::vector<bool> bits_;
    uint64_t used_ = 0;
    uint64_t reserved_ = 0;
    uint64_t hint_ = 0;  // every unit in [reserved_, hint_) is in use
};

}  // namespace famfs
