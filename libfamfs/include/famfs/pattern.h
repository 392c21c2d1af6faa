// The deterministic data pattern of `famfs creat --seed` and `famfs verify`:
// every 8-byte word is a function of (seed, file offset), so any byte of any
// file can be checked without storing anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace famfs {

// Writes the pattern for file bytes [file_off, file_off + len) into dst.
void fill_pattern(uint8_t* dst, uint64_t file_off, size_t len, uint64_t seed);
// Returns the file offset of the first byte that differs, if any.
std::optional<uint64_t> check_pattern(const uint8_t* src, uint64_t file_off, size_t len,
                                      uint64_t seed);

}  // namespace famfs
