// Fuzz target: GET_FMAP reply building (daemon/kernel_proto_fmap.*) from a
// replayed tree. The input is replay_fuzz's (a crc-fixing flag byte, then log
// entries written after a valid superblock and header); every node of the
// replayed tree is answered through fmap_reply() for each protocol revision,
// as the daemon answers GET_FMAP. With bit 1 of the flag byte the rest of the
// input is also taken as a raw famfs::Fmap and file size (a hostile map the
// tree would refuse), encoded directly. Invariants: an error leaves no reply;
// a reply fits the kernel's page, carries the file's size and type, and
// every extent it names is one of the file's own, 2 MiB aligned, inside the
// device's data region for maps from the tree.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "famfs/crc.h"
#include "famfs/error.h"
#include "famfs/replay.h"
#include "fuzz_device.h"
#include "kernel_proto_fmap.h"

using namespace famfs;
using namespace famfs::kernel_proto;

namespace {

[[noreturn]] void bug(const char* what) {
    fprintf(stderr, "fmap_fuzz: %s\n", what);
    abort();
}

// The daemon's FmapSource (FsState::fmap_for) over a plain tree.
class TreeSource : public FmapSource {
public:
    explicit TreeSource(const MetaTree& t) : t_(t) {}
    Status fmap_for(uint64_t ino, FmapInfo& out) override {
        const Node* n = t_.get(ino);
        if (!n) return Status::Error(ENOENT);
        out.regular = !n->is_dir();
        if (out.regular) {
            out.file_size = n->size;
            out.fmap = n->fmap;
        }
        return Status::OK();
    }
    Status daxdev_path(uint32_t index, std::string& out) override {
        if (index != 0) return Status::Error(ENODEV);
        out = "/dev/dax0.0";
        return Status::OK();
    }

private:
    const MetaTree& t_;
};

// Checks a reply against the map it was built from.
void check_reply(const Revision& rev, const std::vector<uint8_t>& r, uint64_t size,
                 const Fmap& fmap, bool from_tree, uint64_t reserved, uint64_t dev_size) {
    if (r.size() < sizeof(FmapHeader)) bug("reply shorter than its header");
    if (r.size() > rev.max_fmap_reply) bug("reply larger than the kernel's page");
    FmapHeader h;
    std::memcpy(&h, r.data(), sizeof h);
    if (h.file_size != size) bug("reply carries another size");
    if (h.file_type != static_cast<uint8_t>(FileType::Regular)) bug("reply carries another type");
    if (h.fmap_version != rev.fmap_version) bug("reply carries another version");
    // Every extent offset named in the reply must be one of the map's own.
    std::vector<SimpleExtent> own;  // with their device index
    if (fmap.ext_type == ExtentType::Simple)
        own.assign(fmap.se, fmap.se + std::min<uint32_t>(fmap.count, kMaxSimpleExtents));
    else
        own.assign(fmap.ie[0].strips,
                   fmap.ie[0].strips + std::min<uint64_t>(fmap.ie[0].nstrips, kMaxStrips));
    // Decode the reply: simple extents follow the header, or one interleaved
    // extent header followed by its strips.
    const uint8_t* p = r.data() + sizeof h;
    const uint8_t* end = r.data() + r.size();
    uint32_t count = h.nextents;
    if (h.ext_type == static_cast<uint32_t>(ExtType::Interleaved)) {
        if (h.nextents != 1 || end - p < static_cast<ptrdiff_t>(sizeof(InterleavedExt)))
            bug("interleaved reply without its extent header");
        InterleavedExt ie;
        std::memcpy(&ie, p, sizeof ie);
        p += sizeof ie;
        count = ie.nstrips;
    }
    if (static_cast<size_t>(end - p) != size_t{count} * sizeof(SimpleExt))
        bug("reply length does not match its extent count");
    for (uint32_t i = 0; i < count; ++i, p += sizeof(SimpleExt)) {
        SimpleExt se;
        std::memcpy(&se, p, sizeof se);
        bool found = false;
        for (const SimpleExtent& e : own)
            found |= e.offset == se.offset && e.len == se.len && e.devindex == se.devindex;
        if (!found) bug("the reply names an extent that is not the file's");
        if (from_tree && se.devindex != 0) bug("a map from the tree names another device");
    }
    for (const SimpleExtent& e : own) {
        const uint64_t o = e.offset, l = e.len;
        if (o % rev.align || l % rev.align) bug("an unaligned extent was encoded");
        if (from_tree && (o < reserved || o > dev_size || l > dev_size - o))
            bug("an extent outside the data region was encoded");
    }
}

void encode_one(const MetaTree* tree, uint64_t ino, const FmapInfo& info, uint64_t reserved,
                uint64_t dev_size) {
    for (const Revision* rev : kRevisions) {
        WireMap w;
        std::vector<uint8_t> out = {1, 2, 3};
        Status st = to_wire(info, w);
        if (st.ok()) st = encode_fmap(*rev, w, out);
        if (!st.ok()) {
            if (!out.empty() && out != std::vector<uint8_t>{1, 2, 3}) bug("an error left a reply");
            continue;
        }
        check_reply(*rev, out, info.file_size, info.fmap, tree != nullptr, reserved, dev_size);
        if (tree) {
            TreeSource src(*tree);
            std::vector<uint8_t> whole;
            if (!fmap_reply(*rev, src, ino, whole).ok()) bug("fmap_reply refused what encode_fmap took");
            if (whole != out) bug("fmap_reply differs from encode_fmap");
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    auto& fd = fuzz::device();
    Device& dev = fd.dev();
    const uint8_t flags = data[0];
    ++data;
    --size;
    if ((flags & 2) && size >= sizeof(Fmap) + 8) {
        FmapInfo info;
        info.regular = true;
        std::memcpy(&info.fmap, data, sizeof(Fmap));
        std::memcpy(&info.file_size, data + sizeof(Fmap), 8);
        encode_one(nullptr, 0, info, 0, 0);
    }
    const uint64_t n = fuzz::write_log_entries(dev, data, size, flags & 1);
    try {
        LogView view(dev);
        MetaTree tree(view.superblock().daxdev.size, view.superblock().log_len);
        replay(view, tree);
        const uint64_t reserved = data_offset(tree.log_len());
        TreeSource src(tree);
        // Every inode replay could have made, plus a few it cannot have.
        for (uint64_t ino = 0; ino < kFirstEntryIno + n + 2; ++ino) {
            FmapInfo info;
            if (!src.fmap_for(ino, info).ok()) {
                std::vector<uint8_t> out;
                if (fmap_reply(kV10, src, ino, out).ok()) bug("GET_FMAP answered a missing inode");
                continue;
            }
            if (!info.regular) {
                std::vector<uint8_t> out;
                if (fmap_reply(kV10, src, ino, out).ok()) bug("GET_FMAP answered a directory");
                continue;
            }
            encode_one(&tree, ino, info, reserved, tree.device_size());
        }
        std::vector<uint8_t> dx;
        (void)daxdev_reply(src, 0, dx);
        (void)daxdev_reply(src, 1, dx);
    } catch (const Error&) {
        bug("a valid superblock and header were refused");
    }
    fd.reset(n);
    return 0;
}
