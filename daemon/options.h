// Command line and mount options of famfs-fused (and of mount.famfs, the
// helper mount(8) runs for `mount -t famfs` and fstab lines).
#pragma once

#include <string>
#include <vector>

#include "state_options.h"

namespace famfs::daemon {

struct DaemonOptions {
    std::string device;      // absolute path
    std::string mountpoint;  // absolute path
    bool foreground = false;
    bool fuse_debug = false;  // -d: libfuse traces every request
    std::string log_level = "info";
    unsigned refresh_ms = 100;  // 0: no background refresh (misses still recheck)
    unsigned max_threads = 8;
    bool single_thread = false;
    // -o loop=reader: the daemon's own loop (session_loop.h), one reader
    // answering short requests itself; default libfuse's multi-threaded loop.
    bool reader_loop = false;
    bool allow_other = true;
    bool default_permissions = true;
    bool readdirplus = true;
    unsigned read_ahead_kb = 1024;         // the mount's bdi readahead (kernel default 128)
    std::string famfs_mode = "auto";       // auto | off | on (the kernel protocol layer)
    bool fake = false;                     // mount.famfs -f: check everything, mount nothing
    std::vector<std::string> kernel_opts;  // passed through to the kernel mount
    StateOptions state;
};

// famfs-fused DEVICE MOUNTPOINT [-o opts] [-f] [-d] [-s]. Throws famfs::Error
// (one line) on bad usage. Sets `exit_now` for -h / -V after printing.
DaemonOptions parse_daemon_args(int argc, char** argv, bool& exit_now);
// mount.famfs DEVICE DIR [-sfnv] [-o opts], as mount(8) calls it.
DaemonOptions parse_mount_helper_args(int argc, char** argv);

// Applies one comma-separated -o list. `sloppy` ignores unknown options.
void apply_mount_options(DaemonOptions& o, const std::string& list, bool sloppy);

std::string usage();

}  // namespace famfs::daemon
