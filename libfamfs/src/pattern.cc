#include "famfs/pattern.h"

#include <algorithm>
#include <cstring>

namespace famfs {

namespace {

// xoroshiro128+ seeded by two splitmix64 steps (Blackman and Vigna, public
// domain), as upstream famfs's testlib seeds it.
class Generator {
public:
    explicit Generator(uint64_t seed) {
        s_[0] = splitmix(seed);
        s_[1] = splitmix(seed);
    }
    uint64_t next() {
        const uint64_t s0 = s_[0];
        uint64_t s1 = s_[1];
        const uint64_t result = s0 + s1;
        s1 ^= s0;
        s_[0] = rotl(s0, 55) ^ s1 ^ (s1 << 14);
        s_[1] = rotl(s1, 36);
        return result;
    }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    static uint64_t splitmix(uint64_t& x) {
        uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    uint64_t s_[2];
};

// Where the last call on this thread stopped, so that filling or checking a
// file piece by piece, in order, never restarts the stream.
struct Cursor {
    uint32_t seed = 0;
    uint64_t word = 0;  // index of the next 4-byte word the generator yields
    Generator gen{0};
    bool valid = false;
};

Cursor& cursor_at(uint64_t seed64, uint64_t word) {
    thread_local Cursor c;
    const uint32_t seed = static_cast<uint32_t>(seed64);
    if (!c.valid || c.seed != seed || c.word > word) {
        c.gen = Generator(seed);
        c.seed = seed;
        c.word = 0;
        c.valid = true;
    }
    for (; c.word < word; ++c.word) c.gen.next();
    return c;
}

// The pattern's 4 bytes of one word, as upstream stores them (little-endian
// on the x86-64 and arm64 hosts famfs runs on).
inline uint32_t next_word(Cursor& c) {
    ++c.word;
    return static_cast<uint32_t>(c.gen.next());
}

}  // namespace

void fill_pattern(uint8_t* dst, uint64_t file_off, size_t len, uint64_t seed) {
    if (len == 0) return;
    Cursor& c = cursor_at(seed, file_off / 4);
    size_t pos = 0;
    if (const size_t skip = file_off % 4) {  // a word started before file_off
        const uint32_t v = next_word(c);
        const size_t n = std::min<size_t>(4 - skip, len);
        std::memcpy(dst, reinterpret_cast<const uint8_t*>(&v) + skip, n);
        pos = n;
    }
    for (; len - pos >= 4; pos += 4) {
        const uint32_t v = next_word(c);
        std::memcpy(dst + pos, &v, 4);
    }
    if (pos < len) {
        const uint32_t v = next_word(c);
        std::memcpy(dst + pos, &v, len - pos);
    }
}

std::optional<uint64_t> check_pattern(const uint8_t* src, uint64_t file_off, size_t len,
                                      uint64_t seed) {
    if (len == 0) return std::nullopt;
    Cursor& c = cursor_at(seed, file_off / 4);
    auto first_bad = [&](size_t pos, const uint8_t* want, size_t n) -> std::optional<uint64_t> {
        for (size_t i = 0; i < n; ++i)
            if (src[pos + i] != want[i]) return file_off + pos + i;
        return std::nullopt;
    };
    size_t pos = 0;
    if (const size_t skip = file_off % 4) {
        const uint32_t v = next_word(c);
        const size_t n = std::min<size_t>(4 - skip, len);
        if (auto bad = first_bad(0, reinterpret_cast<const uint8_t*>(&v) + skip, n)) return bad;
        pos = n;
    }
    for (; len - pos >= 4; pos += 4) {
        const uint32_t v = next_word(c);
        uint32_t got;
        std::memcpy(&got, src + pos, 4);
        if (got != v) return first_bad(pos, reinterpret_cast<const uint8_t*>(&v), 4);
    }
    if (pos < len) {
        const uint32_t v = next_word(c);
        return first_bad(pos, reinterpret_cast<const uint8_t*>(&v), len - pos);
    }
    return std::nullopt;
}

}  // namespace famfs
