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

// Bytes from the device (names, a device path) as JSON-safe text: valid UTF-8
// as it is, every other byte as the four characters \xNN, so that no log, old
// or hostile, can make --json output fail.
std::string json_text(std::string_view bytes);
// j.dump(2) that replaces, never throws on, anything json_text missed.
std::string dump_json(const nlohmann::json& j);

}  // namespace famfs::cli
