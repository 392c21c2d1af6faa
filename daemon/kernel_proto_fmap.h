// Kernel protocol layer: map encoding. Turns a file's famfs::Fmap into the
// GET_FMAP reply payload, and a device path into the GET_DAXDEV reply, with
// the limits of the negotiated revision (kernel_proto_format.h). Pure
// functions, apart from the FmapSource the daemon implements.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "famfs/format.h"
#include "kernel_proto_format.h"
#include "status.h"

namespace famfs::kernel_proto {

// What the daemon knows about one inode, for GET_FMAP.
struct FmapInfo {
    bool regular = false;  // GET_FMAP is only valid for regular files
    uint64_t file_size = 0;
    famfs::Fmap fmap{};
    // Regular for ordinary files; Superblock / Log for the .meta files a mount
    // exposes when the device refuses raw mmap.
    FileType file_type = FileType::Regular;
};

// Implemented by the daemon (FsState) and by the test harness. Called from
// libfuse worker threads, concurrently with the daemon's own ops:
// implementations must be thread-safe.
class FmapSource {
public:
    virtual ~FmapSource() = default;
    // nodeid == inode number == famfs::Node::ino (root is 1). Should refresh
    // from the log on a miss, as lookup does. A directory is OK with
    // out.regular false.
    virtual Status fmap_for(uint64_t nodeid, FmapInfo& out) = 0;
    // Device index -> the path the kernel should open on this host.
    virtual Status daxdev_path(uint32_t index, std::string& out) = 0;
};

// A map as the wire sees it; unlike famfs::Fmap it has no fixed capacity, so
// the protocol limits can be checked (and tested) on their own.
struct WireMap {
    struct Interleaved {
        uint64_t chunk_size = 0;
        uint64_t nbytes = 0;
        std::vector<famfs::SimpleExtent> strips;
    };
    FileType file_type = FileType::Regular;
    uint64_t file_size = 0;
    bool interleaved = false;
    std::vector<famfs::SimpleExtent> simple;
    std::vector<Interleaved> iext;
};

// famfs::Fmap -> WireMap. EINVAL for a map the log format itself cannot hold
// (more than 16 extents, unknown type).
Status to_wire(const FmapInfo& info, WireMap& out);
// WireMap -> GET_FMAP reply payload (no out header). E2BIG beyond the
// revision's limits (extents, strips, devices, reply size), EINVAL for maps
// the kernel would reject (alignment, zero lengths, coverage short of
// file_size). Never a truncated map: `out` is empty on error.
Status encode_fmap(const Revision& rev, const WireMap& map, std::vector<uint8_t>& out);
// GET_DAXDEV reply payload: 280 bytes. ENAMETOOLONG if the path does not fit.
Status encode_daxdev(uint32_t index, std::string_view path, std::vector<uint8_t>& out);

// The whole answer to GET_FMAP for `nodeid`: the source's map, encoded for
// `rev`. The message says why not, for the daemon's log.
Status fmap_reply(const Revision& rev, FmapSource& source, uint64_t nodeid,
                  std::vector<uint8_t>& out);
// The whole answer to GET_DAXDEV (the index travels in the header's nodeid).
Status daxdev_reply(FmapSource& source, uint64_t nodeid, std::vector<uint8_t>& out);

}  // namespace famfs::kernel_proto
