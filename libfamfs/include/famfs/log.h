// The append-only metadata log: structural checks on the superblock, the log
// header and each entry (no tree needed), and the crash-safe append.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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
// Bytes a valid entry does not use but famfs always writes as zero: padding,
// unknown flag bits, bytes after a path's NUL, unused extents and union
// space. Replay ignores them; fsck names them (a hint of a foreign writer or
// of damage inside a crc the writer computed).
std::vector<FieldProblem> check_entry_unused_bytes(const LogEntry& e);
// The same for the superblock bytes the crc does not cover: sb_flags bits
// famfs does not define, pad0, bytes after daxdev.name's NUL.
std::vector<FieldProblem> check_superblock_unused_bytes(const Superblock& sb);

// The pair (next_index, next_seqnum) after an interrupted append or damage.
// Our append stores next_index and then next_seqnum, so a crash between the
// two leaves next_seqnum one *behind*. next_seqnum one *ahead* of next_index
// is never left by our writer: either next_index was damaged or an upstream
// writer (which stores next_seqnum first) stopped between its stores. When
// the entry at next_index is then valid with seqnum == next_index, it is a
// committed entry that must be kept.
enum class HeaderState {
    Consistent,       // next_seqnum == next_index
    SeqnumBehind,     // our append stopped between its stores: harmless
    UnpublishedEntry, // next_seqnum ahead and a valid entry at next_index
    SeqnumAhead,      // next_seqnum ahead, nothing valid at next_index
    Inconsistent,     // any other difference: damage
};
HeaderState header_state(const LogHeader& h, const LogEntry* at_next_index);
std::string_view to_string(HeaderState s);

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

// Under the device lock, before appending: publishes a committed entry that
// next_index hides (UnpublishedEntry), puts a lagging next_seqnum right
// (SeqnumBehind), and refuses (throws EUCLEAN, changing nothing) when the
// header is Inconsistent, so an append can never overwrite a committed entry.
// Returns a description of what it repaired, or "".
std::string repair_header_locked(const LogView& log);

// Appends one entry under the device lock, in the order that survives a crash
// or a torn read by another host: (1) entry body + crc, flushed; (2) then
// next_index, then next_seqnum, flushed. The caller holds the DeviceLock and
// has run repair_header_locked() and replayed up to header().next_index (see
// Filesystem). Refuses (EUCLEAN) when next_seqnum != next_index.
// Returns the index the entry was written at. Throws when the log is full.
uint64_t append_entry(const LogView& log, LogEntry entry);

}  // namespace famfs
