#include "famfs/log.h"

#include <cerrno>

#include "famfs/cache.h"
#include "famfs/crc.h"
#include "famfs/error.h"

namespace famfs {

namespace {

bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

template <typename... Args>
std::optional<FieldProblem> problem(std::string field, fmt::format_string<Args...> f,
                                    Args&&... args) {
    return FieldProblem{std::move(field), fmt::format(f, std::forward<Args>(args)...)};
}

}  // namespace

std::optional<FieldProblem> check_superblock(const Superblock& sb, uint64_t device_size) {
    if (sb.magic != kSuperblockMagic)
        return problem("magic", "0x{:x}, expected 0x{:x} (not a famfs device, or not formatted)",
                       sb.magic, kSuperblockMagic);
    const uint32_t crc = superblock_crc(sb);
    if (sb.crc != crc) return problem("crc", "stored 0x{:08x}, computed 0x{:08x}", sb.crc, crc);
    if (sb.version != kSuperblockVersion)
        return problem("version", "{}, this build reads version {}", sb.version,
                       kSuperblockVersion);
    if (sb.omf_ver_major != kOmfMajor)
        return problem("omf_ver_major", "{}.{}, this build reads {}.x", sb.omf_ver_major,
                       sb.omf_ver_minor, kOmfMajor);
    if (sb.alloc_unit != kAllocUnit)
        return problem("alloc_unit", "0x{:x}, expected 0x{:x}", sb.alloc_unit, kAllocUnit);
    if (sb.log_offset != kLogOffset)
        return problem("log_offset", "0x{:x}, expected 0x{:x}", sb.log_offset, kLogOffset);
    if (sb.log_len < kMinLogLen || !is_pow2(sb.log_len))
        return problem("log_len", "0x{:x} is not a power of two >= 0x{:x}", sb.log_len, kMinLogLen);
    if (data_offset(sb.log_len) >= sb.daxdev.size)
        return problem("daxdev.size", "{} leaves no room for data after the log", sb.daxdev.size);
    if (sb.daxdev.size > device_size)
        return problem("daxdev.size", "{} bytes, but the device has only {}", sb.daxdev.size,
                       device_size);
    return std::nullopt;
}

std::optional<FieldProblem> check_log_header(const LogHeader& h, const Superblock& sb) {
    if (h.magic != kLogMagic)
        return problem("magic", "0x{:x}, expected 0x{:x}", h.magic, kLogMagic);
    const uint32_t crc = log_header_crc(h);
    if (h.crc != crc) return problem("crc", "stored 0x{:08x}, computed 0x{:08x}", h.crc, crc);
    if (h.log_len != sb.log_len)
        return problem("log_len", "0x{:x}, superblock says 0x{:x}", h.log_len, sb.log_len);
    if (h.last_index != log_last_index(h.log_len))
        return problem("last_index", "{}, expected {}", h.last_index, log_last_index(h.log_len));
    if (h.next_index > h.last_index + 1)
        return problem("next_index", "{} is past the end of the log ({} slots)", h.next_index,
                       h.last_index + 1);
    return std::nullopt;
}

std::optional<FieldProblem> check_entry(const LogEntry& e, uint64_t index) {
    const uint32_t crc = entry_crc(e);
    if (e.crc != crc) return problem("crc", "stored 0x{:08x}, computed 0x{:08x}", e.crc, crc);
    if (e.seqnum != index) return problem("seqnum", "{}, expected {}", e.seqnum, index);
    switch (e.type) {
        case EntryType::File:
        case EntryType::Mkdir:
        case EntryType::AddDaxdev:
            return std::nullopt;
        case EntryType::Delete:
            return problem("type", "DELETE entries are not supported by famfs");
        default:
            return problem("type", "{} is not a valid entry type", static_cast<uint32_t>(e.type));
    }
}

namespace {

bool all_zero(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i)
        if (b[i]) return false;
    return true;
}

void check_path_tail(const char (&path)[kMaxPathLen], std::vector<FieldProblem>& out) {
    const size_t len = strnlen(path, kMaxPathLen);
    if (len < kMaxPathLen && !all_zero(path + len, kMaxPathLen - len))
        out.push_back({"relpath", fmt::format("'{}' is followed by non-zero bytes after its NUL "
                                              "(ignored)",
                                              std::string_view(path, len))});
}

}  // namespace

std::vector<FieldProblem> check_entry_unused_bytes(const LogEntry& e) {
    std::vector<FieldProblem> out;
    if (e.pad0) out.push_back({"pad0", fmt::format("0x{:x}, famfs writes 0", e.pad0)});
    const auto* body = reinterpret_cast<const uint8_t*>(&e.raw);
    if (e.type == EntryType::File) {
        const FileEntry& f = e.file;
        if (f.flags & ~(kFileFlagAllHostsRo | kFileFlagAllHostsRw))
            out.push_back({"flags", fmt::format("0x{:x} has unknown bits 0x{:x}", f.flags,
                                                f.flags & ~(kFileFlagAllHostsRo |
                                                            kFileFlagAllHostsRw))});
        check_path_tail(f.relpath, out);
        const Fmap& m = f.fmap;
        if (m.pad0) out.push_back({"fmap.pad0", fmt::format("0x{:x}, famfs writes 0", m.pad0)});
        if (m.pad1) out.push_back({"fmap.pad1", fmt::format("0x{:x}, famfs writes 0", m.pad1)});
        const auto* u = reinterpret_cast<const uint8_t*>(&m.se);
        constexpr size_t kUnion = sizeof(Fmap) - offsetof(Fmap, se);
        if (m.ext_type == ExtentType::Simple && m.count <= kMaxSimpleExtents) {
            for (size_t i = m.count; i * sizeof(SimpleExtent) < kUnion; ++i) {
                const size_t off = i * sizeof(SimpleExtent);
                if (!all_zero(u + off, std::min(sizeof(SimpleExtent), kUnion - off))) {
                    out.push_back({fmt::format("fmap.se[{}]", i),
                                   fmt::format("non-zero, past nextents {} (ignored)", m.count)});
                    break;
                }
            }
        } else if (m.ext_type == ExtentType::Interleave && m.ie[0].nstrips <= kMaxStrips) {
            const uint64_t n = m.ie[0].nstrips;
            if (!all_zero(&m.ie[0].strips[n], (kMaxStrips - n) * sizeof(SimpleExtent)))
                out.push_back({fmt::format("fmap.strips[{}]", n),
                               fmt::format("non-zero, past nstrips {} (ignored)", n)});
        }
    } else if (e.type == EntryType::Mkdir) {
        check_path_tail(e.mkdir.relpath, out);
        if (!all_zero(body + sizeof(MkdirEntry), sizeof e.raw - sizeof(MkdirEntry)))
            out.push_back({"unused", "bytes past the MKDIR entry are not zero (ignored)"});
    } else if (e.type == EntryType::AddDaxdev) {
        const size_t used = offsetof(AddDaxdevEntry, index) + sizeof(uint32_t);
        if (!all_zero(body + used, sizeof e.raw - used))
            out.push_back({"unused", "bytes past the ADD_DAXDEV entry are not zero (ignored)"});
    }
    return out;
}

std::vector<FieldProblem> check_superblock_unused_bytes(const Superblock& sb) {
    std::vector<FieldProblem> out;
    if (sb.sb_flags & ~(kSbFlagPrimary | kSbFlagSecondary))
        out.push_back({"sb_flags", fmt::format("0x{:x} has unknown bits", sb.sb_flags)});
    if (sb.pad0) out.push_back({"pad0", fmt::format("0x{:x}, famfs writes 0", sb.pad0)});
    const size_t len = strnlen(sb.daxdev.name, kDevNameLen);
    if (len < kDevNameLen && !all_zero(sb.daxdev.name + len, kDevNameLen - len))
        out.push_back({"daxdev.name", "non-zero bytes after the name's NUL (ignored)"});
    return out;
}

HeaderState header_state(const LogHeader& h, const LogEntry* at_next_index) {
    if (h.next_seqnum == h.next_index) return HeaderState::Consistent;
    if (h.next_seqnum + 1 == h.next_index) return HeaderState::SeqnumBehind;
    if (h.next_seqnum == h.next_index + 1) {
        if (at_next_index && !check_entry(*at_next_index, h.next_index))
            return HeaderState::UnpublishedEntry;
        return HeaderState::SeqnumAhead;
    }
    return HeaderState::Inconsistent;
}

std::string_view to_string(HeaderState s) {
    switch (s) {
        case HeaderState::Consistent:
            return "consistent";
        case HeaderState::SeqnumBehind:
            return "next_seqnum one behind next_index (an append was interrupted; harmless)";
        case HeaderState::UnpublishedEntry:
            return "a valid entry at next_index with next_seqnum one ahead (next_index is "
                   "damaged, or an upstream writer stopped between its two stores)";
        case HeaderState::SeqnumAhead:
            return "next_seqnum one ahead of next_index with no valid entry there";
        case HeaderState::Inconsistent:
            return "next_seqnum and next_index disagree by more than an interrupted append";
    }
    return "?";
}

LogView::LogView(const Device& dev) {
    if (dev.size() < kLogOffset + kMinLogLen)
        fail(EINVAL, "{}: device is too small ({} bytes) to hold famfs", dev.path(), dev.size());
    sb_ = dev.at<Superblock>(0);
    invalidate(sb_, sizeof *sb_);
    if (auto p = check_superblock(*sb_, dev.size()))
        fail(EUCLEAN, "{}: superblock {}: {}", dev.path(), p->field, p->detail);
    log_ = dev.at<Log>(sb_->log_offset);
    hdr_ = &log_->header;
    invalidate(hdr_, sizeof *hdr_);
    if (auto p = check_log_header(*hdr_, *sb_))
        fail(EUCLEAN, "{}: log header {}: {}", dev.path(), p->field, p->detail);
}

uint64_t LogView::published_count() const {
    invalidate(&hdr_->next_index, sizeof hdr_->next_index);
    const uint64_t n = __atomic_load_n(&hdr_->next_index, __ATOMIC_ACQUIRE);
    return std::min(n, capacity());
}

std::string repair_header_locked(const LogView& log) {
    LogHeader& h = log.header();
    invalidate(&h, sizeof h);
    const uint64_t index = h.next_index;
    const LogEntry* next = nullptr;
    if (index < log.capacity()) {
        next = &log.entry(index);
        invalidate(next, sizeof *next);
    }
    const HeaderState st = header_state(h, next);
    switch (st) {
        case HeaderState::Consistent:
            return {};
        case HeaderState::SeqnumBehind:
        case HeaderState::SeqnumAhead:
            // Nothing committed is at stake: the next append sets both.
            __atomic_store_n(&h.next_seqnum, index, __ATOMIC_RELAXED);
            flush(&h, sizeof h);
            return fmt::format("log header: {}; next_seqnum set to {}", to_string(st), index);
        case HeaderState::UnpublishedEntry:
            // Keep the entry: publish it, exactly as its append would have.
            __atomic_store_n(&h.next_index, index + 1, __ATOMIC_RELEASE);
            flush(&h, sizeof h);
            return fmt::format("log header: {}; entry {} kept and published (next_index {})",
                               to_string(st), index, index + 1);
        case HeaderState::Inconsistent:
            break;
    }
    fail(EUCLEAN,
         "the famfs log header is damaged: next_index {} but next_seqnum {}; appending could "
         "overwrite committed entries, so nothing was written. Run famfs fsck",
         h.next_index, h.next_seqnum);
}

uint64_t append_entry(const LogView& log, LogEntry entry) {
    LogHeader& h = log.header();
    invalidate(&h, sizeof h);
    const uint64_t index = h.next_index;
    if (h.next_seqnum != index)
        fail(EUCLEAN,
             "the famfs log header says next_index {} but next_seqnum {}; nothing was written. "
             "Run famfs fsck",
             index, h.next_seqnum);
    if (index >= log.capacity())
        fail(ENOSPC,
             "the famfs log is full ({} entries); no more files or directories can be "
             "created on this filesystem",
             log.capacity());
    entry.seqnum = index;
    entry.crc = entry_crc(entry);

    LogEntry& slot = log.mutable_entry(index);
    std::memcpy(&slot, &entry, sizeof entry);
    flush(&slot, sizeof slot);  // the entry is durable/visible before it is published

    // Publish. Readers read next_index and then the entries below it, so
    // next_index is stored with release ordering after the entry. next_seqnum
    // follows it: a crash between the two leaves next_seqnum one *behind*,
    // which repair_header_locked() puts right, so next_seqnum one *ahead*
    // can only mean a damaged next_index (header_state()).
    __atomic_store_n(&h.next_index, index + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&h.next_seqnum, index + 1, __ATOMIC_RELEASE);
    flush(&h, sizeof h);
    return index;
}

}  // namespace famfs
