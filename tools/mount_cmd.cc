// HOOK for the daemon side: `famfs mount` and `famfs umount`.
//
// This file is owned by the famfs-fused daemon work (daemon/); the CLI only
// calls add_mount_commands() from main.cc. Fill the two run functions in with
// the real mount (start famfs-fused on DEVICE at MOUNTPOINT) and umount.
#include "cli.h"

namespace famfs::cli {

void add_mount_commands(CLI::App& app, GlobalOptions& g) {
    (void)g;
    auto device = std::make_shared<std::string>();
    auto mountpoint = std::make_shared<std::string>();
    CLI::App* mount = add_command(
        app,
        {.name = "mount",
         .summary = "mount a famfs device with the famfs-fused daemon",
         .synopsis = "mount [OPTIONS] DEVICE MOUNTPOINT",
         .description = "Starts the famfs-fused FUSE daemon serving DEVICE at MOUNTPOINT.\n"
                        "(Not yet implemented in this build.)",
         .examples = "famfs mount /dev/dax0.0 /mnt/famfs",
         .exit_status = ""},
        [] () -> int { command_error("not yet implemented"); });
    mount->add_option("DEVICE", *device, "famfs device (devdax or emulated file)")->required();
    mount->add_option("MOUNTPOINT", *mountpoint, "directory to mount on")->required();

    auto umount_target = std::make_shared<std::string>();
    CLI::App* umount = add_command(
        app,
        {.name = "umount",
         .summary = "unmount a famfs mount point",
         .synopsis = "umount MOUNTPOINT",
         .description = "Unmounts a famfs-fused mount.\n(Not yet implemented in this build.)",
         .examples = "famfs umount /mnt/famfs",
         .exit_status = ""},
        [] () -> int { command_error("not yet implemented"); });
    umount->add_option("MOUNTPOINT", *umount_target, "famfs mount point")->required();
}

}  // namespace famfs::cli
