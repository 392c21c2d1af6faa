// The seeded data pattern of `famfs creat -S SEED` and `famfs verify -S SEED`.
//
// It is upstream famfs's pattern (its randomize_buffer()), so a file filled
// by either implementation verifies on the other: the low 32 bits of the seed
// initialise xoroshiro128+ through splitmix64, and each 4-byte little-endian
// word of the file, from offset 0, is the low half of the next 64-bit output.
// A last partial word takes the leading bytes of the next value. Seed 0 means
// "no pattern" upstream, so callers refuse it.
//
// The pattern is a stream: byte N depends on every output before it. Calls
// that continue where the previous call on the same thread stopped (file
// order) cost nothing extra; any other offset is reached by stepping the
// generator forward from the start (about 1 s per 4 GiB skipped).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace famfs {

// The largest seed that means what it says: upstream keeps only 32 bits.
inline constexpr uint64_t kMaxPatternSeed = 0xffffffffULL;

// Writes the pattern for file bytes [file_off, file_off + len) into dst.
void fill_pattern(uint8_t* dst, uint64_t file_off, size_t len, uint64_t seed);
// Returns the file offset of the first byte that differs, if any.
std::optional<uint64_t> check_pattern(const uint8_t* src, uint64_t file_off, size_t len,
                                      uint64_t seed);

}  // namespace famfs
