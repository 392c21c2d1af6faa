#include "famfs/fsck.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "famfs/allocator.h"
#include "famfs/cache.h"
#include "famfs/crc.h"
#include "famfs/log.h"

namespace famfs {

std::string describe(const FsckProblem& p) {
    if (p.index == kNoLogIndex) return fmt::format("{} {}: {}", p.where, p.field, p.reason);
    return fmt::format("{}: {}: {}", p.where, p.field, p.reason);
}

namespace {

bool plausible_log_len(uint64_t log_len, uint64_t device_size) {
    return log_len >= kMinLogLen && !(log_len & (log_len - 1)) && log_len <= device_size &&
           kLogOffset + log_len <= device_size;
}

template <typename T>
T read_copy(const Device& dev, uint64_t off) {
    T v;
    invalidate(dev.base() + off, sizeof v);
    std::memcpy(&v, dev.base() + off, sizeof v);
    return v;
}

std::string entry_path(const LogEntry& e) {
    if (e.type == EntryType::File) return std::string(fixed_str(e.file.relpath, kMaxPathLen));
    if (e.type == EntryType::Mkdir) return std::string(fixed_str(e.mkdir.relpath, kMaxPathLen));
    return {};
}

}  // namespace

FsckReport fsck(const Device& dev, const FsckOptions& opt) {
    FsckReport r;
    r.device = dev.path();
    r.device_size = dev.size();
    auto add = [&](std::string where, uint64_t index, std::string kind, std::string field,
                   std::string reason) {
        r.problems.push_back(
            {std::move(where), index, std::move(kind), std::move(field), std::move(reason)});
    };

    if (dev.size() < kLogOffset + kMinLogLen) {
        add("superblock", kNoLogIndex, "superblock", "size",
            fmt::format("the device has {} bytes, too small for famfs", dev.size()));
        return r;
    }

    // ---- superblock
    const Superblock sb = read_copy<Superblock>(dev, 0);
    r.superblock = sb;
    if (auto p = check_superblock(sb, dev.size()))
        add("superblock", kNoLogIndex, "superblock", p->field, p->detail);
    else
        r.superblock_valid = true;
    for (const FieldProblem& u : check_superblock_unused_bytes(sb))
        add("superblock", kNoLogIndex, "unused-bytes", u.field, u.detail);

    // ---- log geometry: the superblock's, or (when it is damaged) the log
    // header's own, so that a bad superblock still gets its log checked.
    const LogHeader hdr = read_copy<LogHeader>(dev, kLogOffset);
    r.log_header = hdr;
    uint64_t log_len = 0;
    if (sb.log_offset == kLogOffset && plausible_log_len(sb.log_len, dev.size()))
        log_len = sb.log_len;
    else if (hdr.magic == kLogMagic && plausible_log_len(hdr.log_len, dev.size()))
        log_len = hdr.log_len;
    if (!log_len) return r;  // no log to scan; the superblock problem says why
    r.log_located = true;
    r.log_len = log_len;

    uint64_t data_size = dev.size() / kAllocUnit * kAllocUnit;
    if (sb.daxdev.size > data_offset(log_len) && sb.daxdev.size <= dev.size())
        data_size = sb.daxdev.size;

    // ---- log header
    Superblock geometry = sb;
    geometry.log_len = log_len;
    if (auto p = check_log_header(hdr, geometry)) {
        add("log header", kNoLogIndex, "log-header", p->field, p->detail);
        // Without the magic this is not a famfs log; with a bad crc the counts
        // may still be right, so go on and check what they cover.
        if (p->field == "magic") return r;
    } else {
        r.log_header_valid = true;
    }
    r.log_capacity = log_last_index(log_len) + 1;
    // next_index is not covered by the header crc. Our append stores
    // next_index then next_seqnum, so one behind is an interrupted append
    // (harmless); one ahead with a valid entry at next_index is a committed
    // entry that a damaged next_index hides (or an upstream writer stopped
    // between its stores): say so, the owner's next command publishes it.
    {
        std::optional<LogEntry> at_next;
        if (hdr.next_index < r.log_capacity)
            at_next = read_copy<LogEntry>(dev, kLogOffset + entry_offset(hdr.next_index));
        const HeaderState st = header_state(hdr, at_next ? &*at_next : nullptr);
        if (st == HeaderState::UnpublishedEntry)
            add("log header", kNoLogIndex, "log-header", "next_index",
                fmt::format("{}: {}; the owner's next command keeps and publishes entry {}",
                            hdr.next_index, to_string(st), hdr.next_index));
        else if (st == HeaderState::Inconsistent)
            add("log header", kNoLogIndex, "log-header", "next_seqnum",
                fmt::format("{}, but next_index is {} (they must be equal)", hdr.next_seqnum,
                            hdr.next_index));
    }
    const auto* log = reinterpret_cast<const Log*>(dev.base() + kLogOffset);
    auto published_now = [&] {
        invalidate(&log->header.next_index, sizeof log->header.next_index);
        return std::min<uint64_t>(__atomic_load_n(&log->header.next_index, __ATOMIC_ACQUIRE),
                                  r.log_capacity);
    };
    r.published = published_now();

    // ---- entries, replayed into a tree
    MetaTree tree(data_size, log_len);
    std::vector<std::pair<uint64_t, FieldProblem>> unused;
    for (uint64_t i = 0; i < r.published; ++i) {
        LogEntry e = read_copy<LogEntry>(dev, kLogOffset + entry_offset(i));
        auto problem = check_entry(e, i);
        // A bad last entry may be an append still in flight: look again.
        while (problem && i + 1 == r.published &&
               r.tail_retries < static_cast<uint32_t>(std::max(0, opt.torn_tail_retries))) {
            ++r.tail_retries;
            std::this_thread::sleep_for(opt.torn_tail_delay);
            e = read_copy<LogEntry>(dev, kLogOffset + entry_offset(i));
            problem = check_entry(e, i);
            r.published = std::max(r.published, published_now());
        }
        FsckEntry fe;
        fe.index = i;
        fe.seqnum = e.seqnum;
        fe.type = static_cast<uint32_t>(e.type);
        fe.stored_crc = static_cast<uint32_t>(e.crc);
        fe.computed_crc = entry_crc(e);
        fe.valid = !problem;
        fe.path = entry_path(e);
        r.entries.push_back(std::move(fe));
        if (problem) {
            tree.skip(i, {IssueKind::Corrupt, i, problem->field, problem->detail});
        } else {
            for (FieldProblem& u : check_entry_unused_bytes(e))
                unused.push_back({i, std::move(u)});
            tree.apply(e, i);
        }
    }

    // ---- allocation scan
    Allocator alloc(data_size, log_len);
    struct Found {
        Issue issue;
        std::string kind;
    };
    std::vector<Found> issues;
    for (const Issue& i : tree.issues()) issues.push_back({i, std::string(to_string(i.kind))});
    for (Issue& c : alloc.mark_tree(tree))
        issues.push_back({std::move(c), std::string(to_string(IssueKind::Collision))});
    for (auto& [i, u] : unused)
        issues.push_back(
            {{IssueKind::Rejected, i, std::move(u.field), std::move(u.detail)}, "unused-bytes"});
    std::stable_sort(issues.begin(), issues.end(),
                     [](const Found& a, const Found& b) { return a.issue.index < b.issue.index; });
    for (const auto& [i, kind] : issues)
        add(i.index == kNoLogIndex ? std::string("log") : fmt::format("entry {}", i.index), i.index,
            kind, i.field, i.message);

    r.scanned = true;
    r.files = tree.file_count();
    r.dirs = tree.dir_count();
    r.total_bytes = alloc.total_units() * kAllocUnit;
    r.metadata_bytes = alloc.reserved_units() * kAllocUnit;
    r.data_used_bytes = (alloc.used_units() - alloc.reserved_units()) * kAllocUnit;
    r.free_bytes = alloc.free_bytes();
    return r;
}

}  // namespace famfs
