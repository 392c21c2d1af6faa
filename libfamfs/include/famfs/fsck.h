// fsck: a read-only check of a famfs device that never throws on damage.
// It reports the superblock, the log header, every published log entry (crc,
// seqnum, type), the tree those entries build (paths, duplicates, maps) and
// the allocation scan (extents that overlap each other or the metadata
// regions), with the space and object counts. The CLI prints the report; the
// daemon can run the same check before it mounts.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "famfs/device.h"
#include "famfs/format.h"
#include "famfs/tree.h"

namespace famfs {

struct FsckOptions {
    // The last published entry may still be in flight on memory that is not
    // coherent (the header can become visible before the entry): re-read it
    // this many times, this far apart, before calling it damage.
    int torn_tail_retries = 3;
    std::chrono::milliseconds torn_tail_delay{20};
};

struct FsckProblem {
    std::string where;             // "superblock", "log header" or "entry N"
    uint64_t index = kNoLogIndex;  // the log index for entry problems
    std::string kind;              // superblock, log-header, corrupt, rejected, collision
    std::string field;             // e.g. "crc", "magic", "relpath", "fmap"
    std::string reason;
};
// "superblock crc: stored 0x.. computed 0x..", "entry 3: crc: ...".
std::string describe(const FsckProblem& p);

struct FsckEntry {
    uint64_t index = 0;
    uint64_t seqnum = 0;
    uint32_t type = 0;
    uint32_t stored_crc = 0;
    uint32_t computed_crc = 0;
    bool valid = false;  // crc, seqnum and type all good
    std::string path;    // relpath of FILE/MKDIR entries (as stored, bounded)
};

struct FsckReport {
    std::string device;
    uint64_t device_size = 0;

    Superblock superblock{};  // as read, valid or not
    bool superblock_valid = false;
    LogHeader log_header{};  // as read (if the log could be located)
    bool log_located = false;
    bool log_header_valid = false;
    uint64_t log_len = 0;  // the geometry that was used for the scan
    uint64_t log_capacity = 0;
    uint64_t published = 0;  // entries [0, published) were checked
    uint32_t tail_retries = 0;

    std::vector<FsckEntry> entries;
    std::vector<FsckProblem> problems;  // superblock, log header, then by entry index

    bool scanned = false;  // tree and allocation were checked
    uint64_t files = 0;
    uint64_t dirs = 0;  // excluding the root
    uint64_t total_bytes = 0;
    uint64_t metadata_bytes = 0;  // superblock + log regions
    uint64_t data_used_bytes = 0;
    uint64_t free_bytes = 0;

    bool clean() const { return problems.empty(); }
};

// Checks a mapped device (read-only is enough). Never throws on damage.
FsckReport fsck(const Device& dev, const FsckOptions& opt = {});

}  // namespace famfs
