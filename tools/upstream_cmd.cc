// Upstream famfs commands that have no work to do here, each answered with
// one line naming what to use instead, so that upstream scripts fail clearly.
#include <string>
#include <vector>

#include "cli.h"

namespace famfs::cli {

namespace {

struct Redirect {
    const char* name;
    const char* summary;
    const char* message;
};

constexpr Redirect kRedirects[] = {
    {"check", "upstream's check of a standalone-module mount (use fsck)",
     "not needed here: famfs-fused serves every file straight from the log, so no file can be "
     "left unmapped; 'famfs fsck MOUNTPOINT' checks the log, every file's map and collisions"},
    {"clone", "upstream's test-only cross-linking of two files (not supported)",
     "not supported: it damages the filesystem on purpose (two files on one extent); to test "
     "fsck, inject a collision into a copy of the device as test/cli/cli_test.sh does"},
    {"mkmeta", "upstream's meta-file setup for standalone mounts (not needed)",
     "not needed here: 'famfs mount DEVICE DIR' does everything a mount needs"},
};

}  // namespace

void add_upstream_only(CLI::App& app) {
    for (const Redirect& r : kRedirects) {
        CLI::App* cmd =
            add_command(app,
                        {.name = r.name,
                         .summary = r.summary,
                         .synopsis = std::string(r.name) + " ...",
                         .description = std::string("Upstream famfs's '") + r.name +
                                        "' command: " + r.message + ".",
                         .examples = "",
                         .exit_status = "2  always (with the one line above)"},
                        [msg = r.message]() -> int { throw CommandError(kExitUsage, msg); });
        cmd->allow_extras();
        cmd->group("Upstream commands answered with a pointer");
    }
}

}  // namespace famfs::cli
