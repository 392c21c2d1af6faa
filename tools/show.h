// Human and JSON renderings of on-media structures, shared by getmap, log
// and fsck.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "famfs/format.h"

namespace famfs::cli {

std::string entry_type_name(uint32_t type);  // FILE, MKDIR, DELETE, ADD_DAXDEV, INVALID, ?N
std::string ext_type_name(ExtentType t);     // simple, interleave

// {"ext_type": "simple", "extents": [{devindex, offset, len}...]} or
// {"ext_type": "interleave", "interleave": {nstrips, chunk_size, strips: [...]}}
nlohmann::json fmap_json(const Fmap& m);
// "simple: 0xa00000+0x400000" / "interleave 4 strips, chunk 0x200000: 0x..+0x.., ..."
std::string fmap_line(const Fmap& m);
// Multi-line, indented by `pad`.
std::string fmap_lines(const Fmap& m, const std::string& pad);

nlohmann::json superblock_json(const Superblock& sb);
nlohmann::json log_header_json(const LogHeader& h);

std::string hex(uint64_t v);  // "0x1a"

}  // namespace famfs::cli
