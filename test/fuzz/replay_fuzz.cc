// Fuzz target: whole-log replay into the tree. The input is a run of log
// entries (544 bytes each, the last one padded with zeros) written after a
// valid superblock and header and published. Half the inputs get every crc
// and seqnum fixed up so the fuzzer reaches the tree's checks rather than
// stopping at the crc. Replay, fsck, the allocator scan and every read path
// of every served file must stay inside the device and inside the file's own
// extents (the tree refuses any other map).
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <map>

#include "famfs/allocator.h"
#include "famfs/crc.h"
#include "famfs/error.h"
#include "famfs/fsck.h"
#include "famfs/replay.h"
#include "fuzz_device.h"

using namespace famfs;

namespace {

[[noreturn]] void bug(const char* what) {
    fprintf(stderr, "replay_fuzz: %s\n", what);
    abort();
}

void check_served(const MetaTree& tree) {
    const uint64_t reserved = data_offset(tree.log_len());
    // Every served extent: inside the device, above the metadata, disjoint.
    std::map<uint64_t, uint64_t> claimed;  // start -> end
    tree.for_each_file([&](const Node& f) {
        if (f.mode & 06000) bug("setuid/setgid bit served");
        if ((f.st_mode() & S_IFMT) != S_IFREG) bug("file type bits served");
        for_each_extent(f.fmap, [&](uint64_t off, uint64_t len) {
            if (off < reserved) bug("extent inside the superblock/log");
            if (off > tree.device_size() || len > tree.device_size() - off)
                bug("extent past the device");
            auto next = claimed.lower_bound(off);
            if (next != claimed.end() && next->first < off + len) bug("overlapping extents");
            if (next != claimed.begin() && std::prev(next)->second > off)
                bug("overlapping extents");
            claimed.emplace(off, off + len);
        });
        // Every byte of the file resolves inside one of its own extents.
        for (uint64_t off = 0; off < f.size;) {
            uint64_t dev_off = 0, contig = 0;
            if (!fmap_resolve(f.fmap, off, dev_off, contig)) bug("size larger than the map");
            if (contig == 0) bug("zero-length range");
            if (dev_off < reserved || dev_off + std::min(contig, f.size - off) > tree.device_size())
                bug("resolved outside the device");
            off += contig;
        }
    });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    auto& fd = fuzz::device();
    Device& dev = fd.dev();
    const bool fix_crcs = data[0] & 1;
    ++data;
    --size;
    const uint64_t n = fuzz::write_log_entries(dev, data, size, fix_crcs);
    try {
        LogView view(dev);
        MetaTree tree(view.superblock().daxdev.size, view.superblock().log_len);
        replay(view, tree);
        check_served(tree);
        Allocator a(tree.device_size(), tree.log_len());
        if (!a.mark_tree(tree).empty()) bug("the allocator found a collision replay allowed");
        for (const Issue& i : tree.issues()) (void)describe(i);
    } catch (const Error&) {
        bug("a valid superblock and header were refused");
    }
    FsckOptions o;
    o.torn_tail_retries = 0;
    FsckReport r = fsck(dev, o);
    for (const FsckProblem& p : r.problems) (void)describe(p);
    fd.reset(n);
    return 0;
}
