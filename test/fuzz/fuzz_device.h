// A famfs device for fuzz targets: one emulated device file on tmpfs, mapped
// once per process, formatted by our own mkfs. Targets overwrite the bytes
// they fuzz and restore them afterwards, so each input starts from the same
// image.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

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

}  // namespace famfs::fuzz
