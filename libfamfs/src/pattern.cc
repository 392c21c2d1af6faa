#include "famfs/pattern.h"

#include <algorithm>
#include <cstring>

namespace famfs {

namespace {

// splitmix64's finalizer: cheap, and every word differs from its neighbours.
inline uint64_t word(uint64_t seed, uint64_t word_index) {
    uint64_t z = seed * 0x9e3779b97f4a7c15ULL + word_index;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

template <typename F>
void each_word(uint64_t file_off, size_t len, uint64_t seed, F f) {
    uint64_t off = file_off;
    const uint64_t end = file_off + len;
    while (off < end) {
        const uint64_t w = off / 8;
        const uint64_t v = word(seed, w);
        const size_t skip = off % 8;
        const size_t n = std::min<uint64_t>(8 - skip, end - off);
        if (!f(off - file_off, reinterpret_cast<const uint8_t*>(&v) + skip, n)) return;
        off += n;
    }
}

}  // namespace

void fill_pattern(uint8_t* dst, uint64_t file_off, size_t len, uint64_t seed) {
    each_word(file_off, len, seed, [&](size_t pos, const uint8_t* bytes, size_t n) {
        std::memcpy(dst + pos, bytes, n);
        return true;
    });
}

std::optional<uint64_t> check_pattern(const uint8_t* src, uint64_t file_off, size_t len,
                                      uint64_t seed) {
    std::optional<uint64_t> bad;
    each_word(file_off, len, seed, [&](size_t pos, const uint8_t* bytes, size_t n) {
        if (std::memcmp(src + pos, bytes, n) == 0) return true;
        for (size_t i = 0; i < n; ++i)
            if (src[pos + i] != bytes[i]) {
                bad = file_off + pos + i;
                break;
            }
        return false;
    });
    return bad;
}

}  // namespace famfs
