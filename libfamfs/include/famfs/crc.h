// zlib crc32 (seed 0) over the regions famfs covers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "famfs/format.h"

namespace famfs {

// With PCLMULQDQ where the CPU has it (a log entry in ~1/8 of zlib's time).
uint32_t crc32(const void* data, size_t len);

uint32_t superblock_crc(const Superblock& sb);  // bytes [0, 96)
uint32_t log_header_crc(const LogHeader& h);    // magic, log_len, last_index
uint32_t entry_crc(const LogEntry& e);          // bytes [0, 536)

}  // namespace famfs
