#include "show.h"

#include <fmt/format.h>

#include <algorithm>

#include "cli.h"
#include "famfs/uuid.h"

namespace famfs::cli {

std::string hex(uint64_t v) { return fmt::format("0x{:x}", v); }

std::string json_text(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    for (size_t i = 0; i < bytes.size();) {
        if (const size_t n = utf8_sequence(bytes, i)) {
            out.append(bytes.substr(i, n));
            i += n;
        } else {
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(bytes[i]));
            ++i;
        }
    }
    return out;
}

std::string dump_json(const nlohmann::json& j) {
    return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string entry_type_name(uint32_t type) {
    switch (static_cast<EntryType>(type)) {
        case EntryType::File:
            return "FILE";
        case EntryType::Mkdir:
            return "MKDIR";
        case EntryType::Delete:
            return "DELETE";
        case EntryType::AddDaxdev:
            return "ADD_DAXDEV";
        case EntryType::Invalid:
            return "INVALID";
    }
    return fmt::format("?{}", type);
}

std::string ext_type_name(ExtentType t) {
    switch (t) {
        case ExtentType::Simple:
            return "simple";
        case ExtentType::Interleave:
            return "interleave";
    }
    return fmt::format("?{}", static_cast<uint32_t>(t));
}

static nlohmann::json extent_json(const SimpleExtent& e) {
    return {{"devindex", e.devindex}, {"offset", e.offset}, {"len", e.len}};
}

nlohmann::json fmap_json(const Fmap& m) {
    nlohmann::json j;
    j["ext_type"] = ext_type_name(m.ext_type);
    if (m.ext_type == ExtentType::Interleave) {
        const InterleavedExtent& ie = m.ie[0];
        nlohmann::json strips = nlohmann::json::array();
        for (uint64_t i = 0; i < std::min<uint64_t>(ie.nstrips, kMaxStrips); ++i)
            strips.push_back(extent_json(ie.strips[i]));
        j["niext"] = m.count;
        j["interleave"] = {
            {"nstrips", ie.nstrips}, {"chunk_size", ie.chunk_size}, {"strips", strips}};
    } else {
        nlohmann::json ext = nlohmann::json::array();
        for (uint32_t i = 0; i < std::min<uint32_t>(m.count, kMaxSimpleExtents); ++i)
            ext.push_back(extent_json(m.se[i]));
        j["nextents"] = m.count;
        j["extents"] = ext;
    }
    return j;
}

std::string fmap_line(const Fmap& m) {
    std::string out;
    if (m.ext_type == ExtentType::Interleave) {
        const InterleavedExtent& ie = m.ie[0];
        out = fmt::format("interleave {} strips, chunk {}:", ie.nstrips, hex(ie.chunk_size));
        for (uint64_t i = 0; i < std::min<uint64_t>(ie.nstrips, kMaxStrips); ++i)
            out += fmt::format(" {}+{}", hex(ie.strips[i].offset), hex(ie.strips[i].len));
        return out;
    }
    out = "simple:";
    for (uint32_t i = 0; i < std::min<uint32_t>(m.count, kMaxSimpleExtents); ++i)
        out += fmt::format(" {}+{}", hex(m.se[i].offset), hex(m.se[i].len));
    return out;
}

std::string fmap_lines(const Fmap& m, const std::string& pad) {
    std::string out;
    auto ext = [&](const char* what, uint64_t i, const SimpleExtent& e) {
        out += fmt::format("{}{} {:>2}: devindex {} offset {:>12} len {:>12}\n", pad, what, i,
                           e.devindex, hex(e.offset), hex(e.len));
    };
    if (m.ext_type == ExtentType::Interleave) {
        const InterleavedExtent& ie = m.ie[0];
        out += fmt::format("{}interleaved: {} strips, chunk size {}\n", pad, ie.nstrips,
                           hex(ie.chunk_size));
        for (uint64_t i = 0; i < std::min<uint64_t>(ie.nstrips, kMaxStrips); ++i)
            ext("strip", i, ie.strips[i]);
    } else {
        out += fmt::format("{}simple: {} extent{}\n", pad, m.count, m.count == 1 ? "" : "s");
        for (uint32_t i = 0; i < std::min<uint32_t>(m.count, kMaxSimpleExtents); ++i)
            ext("extent", i, m.se[i]);
    }
    return out;
}

nlohmann::json superblock_json(const Superblock& sb) {
    return {{"magic", hex(sb.magic)},
            {"version", sb.version},
            {"log_offset", sb.log_offset},
            {"log_len", sb.log_len},
            {"alloc_unit", sb.alloc_unit},
            {"omf_version", fmt::format("{}.{}", sb.omf_ver_major, sb.omf_ver_minor)},
            {"fs_uuid", to_string(sb.fs_uuid)},
            {"device_uuid", to_string(sb.device_uuid)},
            {"system_uuid", to_string(sb.system_uuid)},
            {"crc", hex(sb.crc)},
            {"sb_flags", sb.sb_flags},
            {"device_size", sb.daxdev.size},
            {"device_name", json_text(fixed_str(sb.daxdev.name, kDevNameLen))}};
}

nlohmann::json log_header_json(const LogHeader& h) {
    return {{"magic", hex(h.magic)}, {"log_len", h.log_len},         {"last_index", h.last_index},
            {"crc", hex(h.crc)},     {"next_seqnum", h.next_seqnum}, {"next_index", h.next_index}};
}

}  // namespace famfs::cli
