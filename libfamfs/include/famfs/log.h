// The append-only metadata log: structural checks on the superblock, the log
// header and each entry (no tree needed), and the crash-safe append.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "famfs/device.h"
#include "famfs/format.h"

namespace famfs {

// A problem with one named field: "entry 12: crc: stored 0x.. computed 0x..".
struct FieldProblem {
    std::string field;
    std::string detail;
};

// Superblock checks: magic, version, crc, log geometry, device size.
std::optional<FieldProblem> check_superblock(const Superblock& sb, uint64_t device_size);
// Log header checks: magic, log_len, last_index, crc, next_index bounds.
std::optional<FieldProblem> check_log_header(const LogHeader& h, const Superblock& sb);
// Entry checks that need no tree: crc, seqnum == index, known type.
std::optional<FieldProblem> check_entry(const LogEntry& e, uint64_t index);

// A validated view of a mapped device's superblock and log. Throws Error with
// a one-line message naming the damaged field when either is invalid.
class LogView {
public:
    explicit LogView(const Device& dev);

    const Superblock& superblock() const { return *sb_; }
    LogHeader& header() const { return *hdr_; }
    const LogEntry& entry(uint64_t index) const { return log_->entries[index]; }
    LogEntry& mutable_entry(uint64_t index) const { return log_->entries[index]; }
    uint64_t capacity() const { return hdr_->last_index + 1; }

    // The published number of entries, re-read from memory (another host may
    // have appended since last time). One 8-byte read after an invalidate.
    uint64_t published_count() const;

private:
    const Superblock* sb_;
    Log* log_;
    LogHeader* hdr_;
};

// Appends one entry under the device lock, in the order that survives a crash
// or a torn read by another host: (1) entry body + crc, flushed; (2) then
// next_index / next_seqnum, flushed. The caller holds the DeviceLock and has
// already replayed up to header().next_index (see Filesystem).
// Returns the index the entry was written at. Throws when the log is full.
uint64_t append_entry(const LogView& log, LogEntry entry);

}  // namespace famfs
