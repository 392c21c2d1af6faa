// One mount at a time per mount point (issue 11 item 7). Without it, several
// famfs mounts started together all pass the "already mounted?" check before
// any of them mounts, and stack on one mount point.
//
// The lock is flock(2) on the mount point directory itself (no lock files to
// leave behind). It is taken before the check and held until the mount
// answers; a backgrounding daemon's child inherits it (same open file), so
// it covers the whole check-and-mount. A second mount waits for it, then
// sees the first one in the mount table and fails with "already mounted".
#pragma once

#include <chrono>
#include <string>

#include "status.h"

namespace famfs::daemon {

class MountPointLock {
public:
    MountPointLock() = default;
    ~MountPointLock() { release(); }
    MountPointLock(const MountPointLock&) = delete;
    MountPointLock& operator=(const MountPointLock&) = delete;

    // Waits up to `timeout` for the lock. A mount point that cannot be opened
    // is not an error here (check_mountpoint says why, in its own words).
    Status acquire(const std::string& mountpoint, std::chrono::milliseconds timeout);
    void release();

private:
    int fd_ = -1;
};

}  // namespace famfs::daemon
