// Compat-only build of the hook: used until the protocol shim (famfs_io.cc)
// is part of the build. kernel_io_hook_famfs.cc replaces this file then.
#include "kernel_io_hook.h"

namespace famfs::daemon {

namespace {

class CompatHook : public KernelIoHook {
public:
    std::string describe() const override {
        return "compat: the daemon serves file data from its own device mapping";
    }
};

}  // namespace

std::string kernel_io_precheck(const DaemonOptions& opt, FsState&) {
    if (opt.famfs_mode == "on")
        return "famfs=on: this famfs-fused was built without the famfs kernel protocol; mount "
               "with famfs=auto or famfs=off";
    return {};
}

std::unique_ptr<KernelIoHook> attach_kernel_io(fuse_session*, const DaemonOptions&, FsState& state,
                                               OpsContext&, std::string&) {
    state.set_famfs_mode(false);
    return std::make_unique<CompatHook>();
}

}  // namespace famfs::daemon
