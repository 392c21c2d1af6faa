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

uint64_t append_entry(const LogView& log, LogEntry entry) {
    LogHeader& h = log.header();
    invalidate(&h, sizeof h);
    const uint64_t index = h.next_index;
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
    // next_index is stored last, with release ordering.
    // next_seqnum is derived from the index (seqnum == index), not
    // incremented: a crash between these two stores leaves it one ahead, and
    // the next append puts it right again.
    __atomic_store_n(&h.next_seqnum, index + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&h.next_index, index + 1, __ATOMIC_RELEASE);
    flush(&h, sizeof h);
    return index;
}

}  // namespace famfs
