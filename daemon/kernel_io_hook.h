// The one call that attaches the famfs kernel protocol shim (famfs_io.h) to
// a mounted session. In compat mode (no famfs in the kernel, or famfs=off)
// nothing changes; in famfs mode the kernel maps file data itself and the
// daemon only answers metadata and GET_FMAP / GET_DAXDEV.
#pragma once

#include <memory>

#include "ops.h"
#include "options.h"

namespace famfs::daemon {

class KernelIoHook {
public:
    virtual ~KernelIoHook() = default;
    // One line for the log ("compat: ..." / "famfs: ...").
    virtual std::string describe() const = 0;
};

// Checks before mounting (e.g. famfs=on on a kernel without famfs): returns
// an empty string, or one line saying what is wrong.
std::string kernel_io_precheck(const DaemonOptions& opt, FsState& state);

// Call right after fuse_session_mount(). Fills ctx.refuse_data_io when the
// shim is present. Returns nullptr plus `error` on failure.
std::unique_ptr<KernelIoHook> attach_kernel_io(fuse_session* se, const DaemonOptions& opt,
                                               FsState& state, OpsContext& ctx, std::string& error);

}  // namespace famfs::daemon
