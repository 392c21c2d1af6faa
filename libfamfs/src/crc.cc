#include "famfs/crc.h"

#include <zlib.h>

namespace famfs {

uint32_t crc32(const void* data, size_t len) {
    return static_cast<uint32_t>(::crc32_z(0L, static_cast<const Bytef*>(data), len));
}

uint32_t superblock_crc(const Superblock& sb) { return crc32(&sb, offsetof(Superblock, crc)); }

uint32_t log_header_crc(const LogHeader& h) { return crc32(&h, offsetof(LogHeader, crc)); }

uint32_t entry_crc(const LogEntry& e) { return crc32(&e, offsetof(LogEntry, crc)); }

}  // namespace famfs
