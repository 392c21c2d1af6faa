// FsState as the kernel-protocol shim's FmapSource (famfs_io.h). GET_FMAP may
// name an inode this host has not replayed yet (created after the last
// refresh), so a miss refreshes once, as lookup does.
#pragma once

#include <cerrno>
#include <string>

#include "famfs_io.h"
#include "fs_state.h"

namespace famfs::daemon {

class StateFmapSource : public famfs::fuse::FmapSource {
public:
    explicit StateFmapSource(FsState& s) : s_(s) {}

    int fmap_for(uint64_t ino, famfs::fuse::FmapInfo& out) override {
        int err = s_.file_map(ino, out.file_size, out.fmap);
        if (err == ENOENT && s_.refresh_if_needed() > 0)
            err = s_.file_map(ino, out.file_size, out.fmap);
        if (err == EISDIR) {
            out.regular = false;
            return 0;
        }
        out.regular = err == 0;
        return -err;
    }

    int daxdev_path(uint32_t index, std::string& out) override {
        if (index != 0) return -ENODEV;  // single-device filesystems for now
        out = s_.device_path();
        return 0;
    }

private:
    FsState& s_;
};

}  // namespace famfs::daemon
