// famfs-direct-mkmulti: appends a file whose simple extents are deliberately
// scattered (in reverse device order, with gaps), which `famfs creat` never
// makes but the format and upstream famfs allow; fills it with the seeded
// pattern. For test/direct/direct_test.sh.
//   famfs-direct-mkmulti DEV RELPATH NEXTENTS EXTENT_MIB SIZE SEED
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "famfs/allocator.h"
#include "famfs/cache.h"
#include "famfs/device.h"
#include "famfs/error.h"
#include "famfs/fs.h"
#include "famfs/log.h"
#include "famfs/pattern.h"

int main(int argc, char** argv) {
    if (argc != 7) {
        std::fprintf(stderr,
                     "usage: famfs-direct-mkmulti DEV RELPATH NEXTENTS EXTENT_MIB SIZE SEED\n");
        return 2;
    }
    try {
        const std::string dev = argv[1], rel = argv[2];
        const uint32_t n = static_cast<uint32_t>(std::atoi(argv[3]));
        const uint64_t ext = std::strtoull(argv[4], nullptr, 0) << 20;
        const uint64_t size = std::strtoull(argv[5], nullptr, 0);
        const uint64_t seed = std::strtoull(argv[6], nullptr, 0);
        auto fs = famfs::Filesystem::open(dev, {famfs::Device::Access::ReadWrite, {}});
        famfs::LogEntry e{};
        {
            famfs::DeviceLock lock(fs->device());
            fs->refresh();
            famfs::Allocator a = fs->allocator_snapshot();
            std::vector<famfs::SimpleExtent> got;
            for (uint32_t i = 0; i < n; ++i) {
                auto m = a.allocate(ext);
                auto gap = a.allocate(famfs::kAllocUnit);  // keeps extents apart
                if (!m || !gap) famfs::fail(ENOSPC, "no space for extent {}", i);
                got.push_back(m->se[0]);
            }
            e.type = famfs::EntryType::File;
            e.file.size = size;
            e.file.flags = famfs::kFileFlagAllHostsRw;
            e.file.mode = 0644;
            std::memset(e.file.relpath, 0, sizeof e.file.relpath);
            std::memcpy(e.file.relpath, rel.data(), rel.size());
            e.file.fmap.ext_type = famfs::ExtentType::Simple;
            e.file.fmap.count = n;
            for (uint32_t i = 0; i < n; ++i) e.file.fmap.se[i] = got[n - 1 - i];  // reversed
            famfs::append_entry(fs->log(), e);
        }
        fs->refresh();
        const famfs::Node* node = fs->tree().resolve(rel);
        if (!node) famfs::fail(ENOENT, "{} did not appear after append", rel);
        std::vector<uint8_t> buf(1 << 20);
        for (uint64_t off = 0; off < size; off += buf.size()) {
            const size_t len = std::min<uint64_t>(buf.size(), size - off);
            famfs::fill_pattern(buf.data(), off, len, seed);
            fs->write_data(*node, off, buf.data(), len);
        }
        fs->for_each_range(*node, 0, size, [](uint8_t* p, uint64_t len) { famfs::flush(p, len); });
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "famfs-direct-mkmulti: %s\n", ex.what());
        return 1;
    }
    return 0;
}
