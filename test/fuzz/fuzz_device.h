// A famfs device for fuzz targets: one emulated device file on tmpfs, mapped
// once per process, formatted by our own mkfs. Targets overwrite the bytes
// they fuzz and restore them afterwards, so each input starts from the same
// image.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "famfs/crc.h"
#include "famfs/device.h"
#include "famfs/fs.h"

namespace famfs::fuzz {

inline constexpr uint64_t kFuzzDeviceSize = 64ULL << 20;

class FuzzDevice {
public:
    FuzzDevice() {
        char tmpl[] = "/dev/shm/famfs-fuzz-XXXXXX";
        const int fd = mkstemp(tmpl);
        if (fd < 0) abort();
        close(fd);
        path_ = tmpl;
        unlink(path_.c_str());
        Device::create_emulated(path_, kFuzzDeviceSize, true);
        dev_ = std::make_unique<Device>(Device::open(path_, Device::Access::ReadWrite));
        unlink(path_.c_str());  // the mapping keeps it alive
        MkfsOptions o;
        mkfs(*dev_, o);
        std::memcpy(pristine_, dev_->base(), sizeof pristine_);
        std::memcpy(pristine_hdr_, dev_->base() + kLogOffset, sizeof pristine_hdr_);
    }
    Device& dev() { return *dev_; }
    // Puts the superblock and log header back; zeroes `entries` log slots.
    void reset(uint64_t entries) {
        std::memcpy(dev_->base(), pristine_, sizeof pristine_);
        std::memcpy(dev_->base() + kLogOffset, pristine_hdr_, sizeof pristine_hdr_);
        std::memset(dev_->base() + kLogOffset + entry_offset(0), 0, entries * sizeof(LogEntry));
    }

private:
    std::string path_;
    std::unique_ptr<Device> dev_;
    uint8_t pristine_[sizeof(Superblock)];
    uint8_t pristine_hdr_[sizeof(LogHeader)];
};

inline FuzzDevice& device() {
    static FuzzDevice d;
    return d;
}

// Writes the input as up to 64 log entries after the (valid) header and
// publishes them; with fix_crcs, each entry's seqnum and crc are made valid
// so replay's checks beyond the crc are reached. Returns the entry count.
inline uint64_t write_log_entries(Device& dev, const uint8_t* data, size_t size, bool fix_crcs) {
    const uint64_t n = std::min<uint64_t>((size + sizeof(LogEntry) - 1) / sizeof(LogEntry), 64);
    auto* log = dev.at<Log>(kLogOffset);
    for (uint64_t i = 0; i < n; ++i) {
        auto* e = reinterpret_cast<uint8_t*>(&log->entries[i]);
        const size_t off = i * sizeof(LogEntry);
        std::memcpy(e, data + off, std::min<size_t>(sizeof(LogEntry), size - off));
        if (fix_crcs) {
            log->entries[i].seqnum = i;
            log->entries[i].crc = entry_crc(log->entries[i]);
        }
    }
    log->header.next_index = n;
    log->header.next_seqnum = n;
    return n;
}

}  // namespace famfs::fuzz
