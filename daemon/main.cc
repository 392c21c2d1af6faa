// famfs-fused: the famfs FUSE daemon. Run as `mount.famfs` (a link to this
// binary) it takes mount(8)'s helper arguments instead.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <string_view>

#include "daemon.h"
#include "famfs/error.h"

int main(int argc, char** argv) {
    const char* slash = std::strrchr(argv[0], '/');
    const std::string_view prog = slash ? slash + 1 : argv[0];
    try {
        famfs::daemon::DaemonOptions opt;
        if (prog == "mount.famfs") {
            opt = famfs::daemon::parse_mount_helper_args(argc, argv);
        } else {
            bool exit_now = false;
            opt = famfs::daemon::parse_daemon_args(argc, argv, exit_now);
            if (exit_now) return 0;
        }
        return famfs::daemon::run_daemon(opt);
    } catch (const famfs::Error& e) {
        std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(prog.size()), prog.data(), e.what());
        return e.err() == EINVAL ? 2 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(prog.size()), prog.data(), e.what());
        return 1;
    }
}
