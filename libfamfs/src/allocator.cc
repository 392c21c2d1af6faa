#include "famfs/allocator.h"

#include <fmt/format.h>

#include <algorithm>

namespace famfs {

namespace {
constexpr uint64_t kMinBucketSize = 1ULL << 30;
constexpr uint64_t kMaxBuckets = 64;
uint64_t units(uint64_t bytes) { return (bytes + kAllocUnit - 1) / kAllocUnit; }
}  // namespace

std::string check_interleave(const InterleaveParams& p, uint64_t device_size, uint64_t log_len) {
    if (p.nstrips < 1 || p.nstrips > kMaxStrips)
        return fmt::format("nstrips {} must be 1..{}", p.nstrips, kMaxStrips);
    if (p.nbuckets < p.nstrips || p.nbuckets > kMaxBuckets)
        return fmt::format("nbuckets {} must be between nstrips ({}) and {}", p.nbuckets, p.nstrips,
                           kMaxBuckets);
    if (p.chunk_size == 0 || p.chunk_size % kAllocUnit || (p.chunk_size & (p.chunk_size - 1)))
        return fmt::format("chunk size {} must be a power of two and a multiple of 2 MiB",
                           p.chunk_size);
    (void)log_len;  // buckets split the whole device, as upstream famfs does
    if (device_size / p.nbuckets < kMinBucketSize)
        return fmt::format(
            "{} buckets of {} MiB each: famfs buckets must be at least 1 GiB "
            "(use at most {} buckets on this device)",
            p.nbuckets, device_size / p.nbuckets >> 20, device_size / kMinBucketSize);
    return {};
}

Allocator::Allocator(uint64_t device_size, uint64_t log_len)
    : bits_(device_size / kAllocUnit, false) {
    reserved_ = std::min<uint64_t>(units(data_offset(log_len)), bits_.size());
    set_range(0, reserved_);
    hint_ = reserved_;
}

void Allocator::set_range(uint64_t first, uint64_t nunits) {
    for (uint64_t u = first; u < first + nunits; ++u) {
        if (!bits_[u]) ++used_;
        bits_[u] = true;
    }
}

void Allocator::mark(const Node& file, std::vector<Issue>* out) {
    for_each_extent(file.fmap, [&](uint64_t off, uint64_t len) {
        const uint64_t first = off / kAllocUnit;
        const uint64_t n = units(len);
        for (uint64_t u = first; u < first + n && u < bits_.size(); ++u) {
            if (bits_[u] && out) {
                const char* what = u < reserved_ ? "superblock/log region" : "another file";
                out->push_back({IssueKind::Collision, file.log_index, "fmap",
                                fmt::format("'{}' extent 0x{:x}+0x{:x} overlaps {} at 0x{:x}",
                                            file.name, off, len, what, u * kAllocUnit)});
                break;  // one report per extent
            }
        }
        for (uint64_t u = first; u < first + n && u < bits_.size(); ++u) {
            if (!bits_[u]) ++used_;
            bits_[u] = true;
        }
    });
}

std::vector<Issue> Allocator::mark_tree(const MetaTree& tree) {
    // Mark in log order so a collision is blamed on the later entry.
    std::vector<const Node*> files;
    tree.for_each_file([&](const Node& n) { files.push_back(&n); });
    std::sort(files.begin(), files.end(),
              [](const Node* a, const Node* b) { return a->log_index < b->log_index; });
    std::vector<Issue> out;
    for (const Node* f : files) mark(*f, &out);
    for (Issue& i : out)
        i.message.insert(0, tree.path_of(*tree.get(kFirstEntryIno + i.index)) + ": ");
    return out;
}

std::optional<uint64_t> Allocator::find_run(uint64_t first, uint64_t last, uint64_t nunits) const {
    uint64_t run = 0;
    for (uint64_t u = first; u < last; ++u) {
        run = bits_[u] ? 0 : run + 1;
        if (run == nunits) return u + 1 - nunits;
    }
    return std::nullopt;
}

std::optional<Fmap> Allocator::allocate(uint64_t size) {
    // Larger than the device: refuse before units() could wrap (a size near
    // 2^64 would round to a handful of units and under-allocate).
    if (size > total_units() * kAllocUnit) return std::nullopt;
    const uint64_t n = std::max<uint64_t>(units(size), 1);
    // Every unit below hint_ is in use (famfs never frees), so first fit
    // starts there: skipping the used prefix once keeps a long run of
    // allocations after mark()ing a big log linear instead of quadratic.
    while (hint_ < bits_.size() && bits_[hint_]) ++hint_;
    auto start = find_run(hint_, bits_.size(), n);
    if (!start) start = find_run(reserved_, bits_.size(), n);
    if (!start) return std::nullopt;
    set_range(*start, n);
    if (*start == hint_) hint_ = *start + n;
    Fmap m{};
    m.ext_type = ExtentType::Simple;
    m.count = 1;
    m.se[0] = {0, *start * kAllocUnit, n * kAllocUnit};
    return m;
}

std::optional<Fmap> Allocator::allocate_interleaved(uint64_t size, const InterleaveParams& p) {
    // Parameters that check_interleave() refuses are refused here too, so no
    // caller can reach a division by zero.
    if (p.nstrips == 0 || p.nstrips > kMaxStrips || p.nbuckets < p.nstrips ||
        p.chunk_size == 0 || p.chunk_size % kAllocUnit)
        return std::nullopt;
    const uint64_t device_bytes = total_units() * kAllocUnit;
    if (size > device_bytes) return std::nullopt;
    if (size <= p.chunk_size) return allocate(size);
    // chunk_size < size <= device_bytes, so none of this wraps; checked anyway.
    uint64_t row = 0, strip_bytes = 0;
    if (__builtin_mul_overflow(p.chunk_size, p.nstrips, &row)) return std::nullopt;
    const uint64_t rows = size / row + (size % row != 0);
    if (__builtin_mul_overflow(rows, p.chunk_size, &strip_bytes) || strip_bytes > device_bytes)
        return std::nullopt;
    const uint64_t strip_units = strip_bytes / kAllocUnit;
    // Buckets split the whole device from offset 0 (as upstream famfs does);
    // the reserved superblock/log units are simply already in use.
    const uint64_t bucket_units = bits_.size() / p.nbuckets;

    // Start at a bucket that rotates with usage so consecutive striped files
    // spread over the device rather than piling into the first buckets.
    const uint64_t start_bucket = used_ % p.nbuckets;
    std::vector<uint64_t> starts;
    for (uint64_t k = 0; k < p.nbuckets && starts.size() < p.nstrips; ++k) {
        const uint64_t b = (start_bucket + k) % p.nbuckets;
        const uint64_t first = b * bucket_units;
        const uint64_t last = b + 1 == p.nbuckets ? bits_.size() : first + bucket_units;
        if (auto s = find_run(first, last, strip_units)) starts.push_back(*s);
    }
    if (starts.size() < p.nstrips) return std::nullopt;

    Fmap m{};
    m.ext_type = ExtentType::Interleave;
    m.count = 1;
    m.ie[0].nstrips = p.nstrips;
    m.ie[0].chunk_size = p.chunk_size;
    for (uint64_t i = 0; i < p.nstrips; ++i) {
        set_range(starts[i], strip_units);
        m.ie[0].strips[i] = {0, starts[i] * kAllocUnit, strip_units * kAllocUnit};
    }
    return m;
}

}  // namespace famfs
