#include "kernel_proto_fmap.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "famfs/tree.h"

namespace famfs::kernel_proto {

namespace {

template <typename T>
void put(std::vector<uint8_t>& out, const T& v) {
    const auto* b = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), b, b + sizeof(T));
}

SimpleExt wire_ext(const famfs::SimpleExtent& e) {
    return SimpleExt{static_cast<uint32_t>(e.devindex), 0, e.offset, e.len};
}

// Checks one extent against what the kernel accepts.
Status check_ext(const Revision& rev, const famfs::SimpleExtent& e, std::string_view what) {
    if (e.devindex >= rev.max_devices)
        return Status::Error(E2BIG, fmt::format("{} device index {} exceeds the protocol's {} devices",
                                                what, e.devindex, rev.max_devices));
    if (e.len == 0 || e.offset % rev.align || e.len % rev.align)
        return Status::Error(EINVAL, fmt::format("{} 0x{:x}+0x{:x} is empty or not {} MiB aligned",
                                                 what, e.offset, e.len, rev.align >> 20));
    return Status::OK();
}

Status encode_fmap_into(const Revision& rev, const WireMap& map, std::vector<uint8_t>& out) {
    const size_t n = map.interleaved ? map.iext.size() : map.simple.size();
    if (n == 0) return Status::Error(EINVAL, "map has no extents");
    if (n > rev.max_extents)
        return Status::Error(
            E2BIG, fmt::format("map has {} extents, the protocol allows {}", n, rev.max_extents));
    FmapHeader h{};
    h.file_type = static_cast<uint8_t>(map.file_type);
    h.fmap_version = rev.fmap_version;
    h.ext_type = static_cast<uint32_t>(map.interleaved ? ExtType::Interleaved : ExtType::Simple);
    h.nextents = static_cast<uint32_t>(n);
    h.file_size = map.file_size;
    put(out, h);

    uint64_t covered = 0;
    if (!map.interleaved) {
        for (size_t i = 0; i < n; ++i) {
            const auto& e = map.simple[i];
            if (Status st = check_ext(rev, e, fmt::format("extent {}", i)); !st.ok()) return st;
            put(out, wire_ext(e));
            covered += e.len;
        }
    } else {
        for (size_t i = 0; i < n; ++i) {
            const auto& ie = map.iext[i];
            if (ie.strips.empty() || ie.strips.size() > rev.max_strips)
                return Status::Error(
                    ie.strips.empty() ? EINVAL : E2BIG,
                    fmt::format("interleaved extent {} has {} strips, the protocol allows 1..{}", i,
                                ie.strips.size(), rev.max_strips));
            if (ie.chunk_size == 0 || ie.chunk_size % rev.align || ie.chunk_size > UINT32_MAX ||
                ie.nbytes == 0)
                return Status::Error(
                    EINVAL, fmt::format("interleaved extent {}: chunk 0x{:x} / nbytes {} invalid",
                                        i, ie.chunk_size, ie.nbytes));
            put(out, InterleavedExt{static_cast<uint32_t>(ie.strips.size()),
                                    static_cast<uint32_t>(ie.chunk_size), ie.nbytes, 0});
            for (size_t s = 0; s < ie.strips.size(); ++s) {
                if (Status st = check_ext(rev, ie.strips[s], fmt::format("strip {}.{}", i, s));
                    !st.ok())
                    return st;
                put(out, wire_ext(ie.strips[s]));
            }
            covered += ie.nbytes;
        }
    }
    if (out.size() > rev.max_fmap_reply)
        return Status::Error(E2BIG, fmt::format("map needs a {}-byte reply, the kernel takes {}",
                                                out.size(), rev.max_fmap_reply));
    if (covered < map.file_size)
        return Status::Error(EINVAL, fmt::format("extents cover {} bytes, short of the file size {}",
                                                 covered, map.file_size));
    return Status::OK();
}

}  // namespace

Status to_wire(const FmapInfo& info, WireMap& out) {
    const famfs::Fmap& m = info.fmap;
    out = WireMap{};
    out.file_type = info.file_type;
    out.file_size = info.file_size;
    if (m.ext_type == famfs::ExtentType::Simple) {
        if (m.count > famfs::kMaxSimpleExtents)
            return Status::Error(EINVAL,
                                 fmt::format("map has {} extents, the log format holds at most {}",
                                             m.count, famfs::kMaxSimpleExtents));
        out.simple.assign(m.se, m.se + m.count);
        return Status::OK();
    }
    if (m.ext_type == famfs::ExtentType::Interleave) {
        if (m.count != 1 || m.ie[0].nstrips > famfs::kMaxStrips)
            return Status::Error(
                EINVAL, fmt::format("interleaved map with {} extents / {} strips is not a log map",
                                    m.count, m.count ? m.ie[0].nstrips : 0));
        out.interleaved = true;
        const famfs::InterleavedExtent& ie = m.ie[0];
        // nbytes = what the stripes address in whole rows (fmap_capacity).
        out.iext.push_back(
            {ie.chunk_size, famfs::fmap_capacity(m), {ie.strips, ie.strips + ie.nstrips}});
        return Status::OK();
    }
    return Status::Error(EINVAL,
                         fmt::format("unknown extent type {}", static_cast<uint32_t>(m.ext_type)));
}

Status encode_fmap(const Revision& rev, const WireMap& map, std::vector<uint8_t>& out) {
    out.clear();
    Status st = encode_fmap_into(rev, map, out);
    if (!st.ok()) out.clear();  // all or nothing: never a truncated map
    return st;
}

Status encode_daxdev(uint32_t index, std::string_view path, std::vector<uint8_t>& out) {
    out.clear();
    if (index > UINT16_MAX)
        return Status::Error(EINVAL, fmt::format("device index {} does not fit the reply", index));
    if (path.empty() || path.size() >= kDaxdevNameLen)
        return Status::Error(ENAMETOOLONG, fmt::format("device path '{}' must be 1..{} bytes", path,
                                                       kDaxdevNameLen - 1));
    DaxdevReply r{};
    r.index = static_cast<uint16_t>(index);
    memcpy(r.name, path.data(), path.size());
    put(out, r);
    return Status::OK();
}

Status fmap_reply(const Revision& rev, FmapSource& source, uint64_t nodeid,
                  std::vector<uint8_t>& out) {
    out.clear();
    FmapInfo info;
    if (Status st = source.fmap_for(nodeid, info); !st.ok())
        return Status::Error(st.err(), fmt::format("no map ({})", strerror(st.err())));
    if (!info.regular) return Status::Error(EINVAL, "not a regular file");
    WireMap wire;
    if (Status st = to_wire(info, wire); !st.ok()) return st;
    return encode_fmap(rev, wire, out);
}

Status daxdev_reply(FmapSource& source, uint64_t nodeid, std::vector<uint8_t>& out) {
    out.clear();
    std::string path;
    Status st = nodeid > UINT32_MAX ? Status::Error(EINVAL)  // the index travels in nodeid
                                    : source.daxdev_path(static_cast<uint32_t>(nodeid), path);
    if (!st.ok())
        return Status::Error(st.err(), fmt::format("no such device ({})", strerror(st.err())));
    return encode_daxdev(static_cast<uint32_t>(nodeid), path, out);
}

}  // namespace famfs::kernel_proto
