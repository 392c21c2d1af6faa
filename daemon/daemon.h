// The daemon's life: check the device and mount point, mount, serve until
// unmounted or signalled, clean up.
#pragma once

#include "options.h"

namespace famfs::daemon {

// Returns the process exit code. Without `foreground`, the calling process
// returns (0 or 1) once the mount answers or fails, and a detached child keeps
// serving: `famfs-fused DEV DIR` is usable in scripts and by mount(8).
int run_daemon(const DaemonOptions& opt);

}  // namespace famfs::daemon
