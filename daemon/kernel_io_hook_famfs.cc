// Attaches the famfs kernel protocol shim (famfs_io.h) to a mounted session.
#include <spdlog/spdlog.h>

#include <cstring>

#include "famfs/device.h"
#include "famfs_io.h"
#include "kernel_io_hook.h"
#include "state_fmap_source.h"

namespace famfs::daemon {
namespace {
namespace fu = famfs::fuse;

fu::KernelIo::Config make_config(const DaemonOptions& opt, FsState& state) {
    fu::KernelIo::Config c;
    c.force_compat = opt.famfs_mode == "off";
    c.want_famfs = opt.famfs_mode == "on";
    c.revision = fu::RevisionChoice::Auto;
    c.device_is_dax = state.filesystem().device().kind() == DeviceKind::DaxDevice;
    c.device_path = state.device_path();
    c.on_mode = [&state](bool famfs, const std::string& why) {
        state.set_famfs_mode(famfs, why);
        spdlog::info("{}", why);
    };
    return c;
}

class FamfsHook : public KernelIoHook {
public:
    FamfsHook(FsState& s, fu::KernelIo::Config c) : source(s), io(std::move(c), source) {}
    std::string describe() const override { return io.mode_reason(); }
    StateFmapSource source;
    fu::KernelIo io;
};

}  // namespace

std::string kernel_io_precheck(const DaemonOptions& opt, FsState& state) {
    const fu::KernelIo::Config config = make_config(opt, state);
    // Only famfs=on is judged before mounting; scanning /proc/kallsyms costs
    // ~40 ms, and INIT scans it again anyway when the mode is decided.
    return fu::KernelIo::precheck(config,
                                  config.want_famfs ? fu::probe_kernel() : fu::KernelEvidence{});
}

std::unique_ptr<KernelIoHook> attach_kernel_io(fuse_session* se, const DaemonOptions& opt,
                                               FsState& state, OpsContext& ctx,
                                               std::string& error) {
    auto hook = std::make_unique<FamfsHook>(state, make_config(opt, state));
    if (int rc = hook->io.attach(se, fuse_session_fd(se)); rc != 0) {
        error = std::string("cannot attach the famfs protocol shim: ") + std::strerror(-rc);
        return nullptr;
    }
    state.set_kernel_stats_source([io = &hook->io] {
        const auto c = io->counters();
        return FsState::KernelProtocolStats{std::string(io->revision_name()),
                                            c.get_fmap_served,
                                            c.get_fmap_failed,
                                            c.get_daxdev_served,
                                            c.get_daxdev_failed,
                                            c.stray_data_io,
                                            c.malformed};
    });
    ctx.refuse_data_io = [](void* io) { return static_cast<fu::KernelIo*>(io)->refuse_data_io(); };
    ctx.refuse_arg = &hook->io;
    return hook;
}

}  // namespace famfs::daemon
