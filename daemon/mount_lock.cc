#include "mount_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace famfs::daemon {

Status MountPointLock::acquire(const std::string& mountpoint, std::chrono::milliseconds timeout) {
    release();
    // O_NONBLOCK: never wait on a dead FUSE mount here (open fails instead).
    fd_ = ::open(mountpoint.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
    if (fd_ < 0) return Status::OK();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            release();  // flock unsupported there: the check alone, as before
            return Status::OK();
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            release();
            return Status::Error(
                EBUSY, fmt::format("mount point {} is busy: another famfs mount of it is still "
                                   "in progress",
                                   mountpoint));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return Status::OK();
}

void MountPointLock::release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

}  // namespace famfs::daemon
