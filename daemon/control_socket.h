// The owner's creation channel, server side (see famfs/control.h and
// docs/metadata.md): a thread that accepts `famfs` CLI sessions on a local
// socket and runs each as a Filesystem::Batch on the daemon's own replayed
// tree and allocator, so a creation costs what is new in the log, not the
// whole log. Sessions run one at a time, under the same device lock and with
// the same append order as the CLI's own path; only root and the daemon's
// own user may connect (SO_PEERCRED).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace famfs::daemon {

class FsState;

class ControlServer {
public:
    // Listens on control_socket_path(mountpoint, device identity). Never
    // throws: when the socket cannot be made (no /run/famfs, not root, a live
    // daemon already there) it logs why and serves nothing; the CLI then
    // works on the device itself.
    ControlServer(FsState& state, const std::string& mountpoint, const std::string& device);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    bool listening() const { return lfd_ >= 0; }
    const std::string& path() const { return path_; }
    uint64_t sessions() const { return sessions_.load(); }
    // Stops accepting, ends the thread and removes the socket (idempotent).
    void stop();

private:
    void run();
    void serve(int fd);

    FsState& state_;
    std::string path_;
    int lfd_ = -1;
    int stop_pipe_[2] = {-1, -1};
    dev_t sock_dev_ = 0;
    ino_t sock_ino_ = 0;
    std::thread thread_;
    std::atomic<uint64_t> sessions_{0};
};

}  // namespace famfs::daemon
