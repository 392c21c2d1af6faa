// Finding famfs mounts in /proc/self/mountinfo, so CLI paths can name files
// under a mount point.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace famfs {

inline constexpr const char* kFuseFsType = "fuse.famfs";

struct MountEntry {
    std::string mountpoint;
    std::string source;  // the device the daemon serves
    std::string fstype;
    std::string options;
};

std::vector<MountEntry> famfs_mounts(const std::string& mountinfo = "/proc/self/mountinfo");

// Where a CLI path lands: a device and a path relative to the fs root.
struct Target {
    std::string device;
    std::string mountpoint;  // empty with --device
    std::string relpath;     // "" is the root
};

// With `device` set, `path` is relative to the filesystem root (a leading '/'
// is allowed). Otherwise `path` must lie under a famfs mount; it need not
// exist yet (its parent must). Throws Error when neither holds.
Target resolve_target(const std::string& path, const std::string& device);

}  // namespace famfs
