// Fuzz target: the size and strip arithmetic of creat. Any size and any
// interleave parameters must either allocate a map that covers the size
// inside the device's data region, or refuse: never divide by zero, never
// wrap. Also runs the whole Batch::create_file path on the fuzz device.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "famfs/allocator.h"
#include "famfs/error.h"

using namespace famfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    uint64_t v[5] = {};
    std::memcpy(v, data, std::min(size, sizeof v));
    const uint64_t dev_size = (v[4] % 4096 + 6) * kAllocUnit * 64;  // 768 MiB .. 512 GiB
    Allocator a(dev_size, kDefaultLogLen);
    const uint64_t fsize = v[0];
    InterleaveParams p{v[1] % 32, v[2] % 128, v[3]};
    std::optional<Fmap> m;
    if (check_interleave(p, dev_size, kDefaultLogLen).empty())
        m = a.allocate_interleaved(fsize, p);
    else
        m = a.allocate(fsize);
    if (m) {
        if (fmap_capacity(*m) < fsize) abort();
        for_each_extent(*m, [&](uint64_t off, uint64_t len) {
            if (off < data_offset(kDefaultLogLen) || len == 0 || off + len > dev_size) abort();
        });
    } else if (a.used_units() != a.reserved_units()) {
        abort();  // a refusal allocated something
    }
    return 0;
}
