// famfs mkfs (also mkfs.famfs): format a device, optionally creating an
// emulated one first.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cli.h"
#include "famfs/cache.h"
#include "famfs/device.h"
#include "famfs/error.h"
#include "famfs/uuid.h"

namespace famfs::cli {

namespace {

struct MkfsArgs {
    std::string device;
    bool force = false;
    bool kill = false;
    std::string log_len;
    std::string emulate;
};

// A mounted device keeps serving its old tree: formatting it under the mount
// would show new files' bytes under old names. Refused even with --force.
void refuse_if_mounted(const std::string& device, const char* what) {
    const auto mounts = mounts_of_device(device);
    if (mounts.empty()) return;
    std::string where;
    for (const std::string& m : mounts) where += (where.empty() ? "" : ", ") + m;
    command_error(
        "{} is mounted on {}: unmount it first (famfs umount {}); {} refused, even "
        "with --force",
        device, where, mounts.front(), what);
}

// A device bound to fsdev_dax (kernel famfs mode) cannot be mapped raw, and
// there is no filesystem to mount yet: it is formatted in devdax mode.
void refuse_if_fsdev(const std::string& device) {
    if (dax_driver(device) != "fsdev_dax") return;
    const std::string name = std::filesystem::path(device).filename().string();
    command_error(
        "{} is bound to fsdev_dax, which refuses raw mmap; format it in devdax mode, then bind "
        "it back: daxctl reconfigure-device --mode=devdax --force {}; famfs mkfs {}; echo {} > "
        "/sys/bus/dax/drivers/device_dax/unbind; echo {} > /sys/bus/dax/drivers/fsdev_dax/bind",
        device, name, device, name, name);
}

// Upstream's mkfs -k -f: invalidates the superblock, so the device is no
// longer a famfs filesystem.
int kill_superblock(const MkfsArgs& a) {
    if (!a.force) usage_error("-k (kill the superblock) also needs -f, as upstream");
    refuse_if_mounted(a.device, "killing its superblock");
    refuse_if_fsdev(a.device);
    Device dev = open_device(a.device, Device::Access::ReadWrite);
    if (!has_valid_superblock(dev)) command_error("{} holds no valid famfs superblock", a.device);
    auto* sb = dev.at<Superblock>(0);
    std::memset(sb, 0, sizeof *sb);
    flush(sb, sizeof *sb);
    std::printf("%s: famfs superblock killed\n", a.device.c_str());
    return kExitOk;
}

int run_mkfs(const GlobalOptions& g, const MkfsArgs& a) {
    if (a.kill) return kill_superblock(a);
    MkfsOptions opt;
    opt.force = a.force;
    if (!a.log_len.empty()) {
        opt.log_len = parse_size(a.log_len, "log length");
        if (opt.log_len < kMinLogLen || (opt.log_len & (opt.log_len - 1)))
            usage_error("log length {} must be a power of two of at least 8 MiB", a.log_len);
    }
    refuse_if_mounted(a.device, "formatting it");
    const Uuid host = load_system_uuid(g.system_uuid_file);
    opt.system_uuid = host;

    // With --emulate, a device file this command created is removed again if
    // anything fails: a failed command leaves nothing behind.
    bool created = false;
    struct RemoveOnFailure {
        const std::string& path;
        bool& armed;
        ~RemoveOnFailure() {
            if (armed) ::unlink(path.c_str());
        }
    } cleanup{a.device, created};
    if (!a.emulate.empty()) {
        const uint64_t size = parse_size(a.emulate, "emulated device size");
        const uint64_t need = data_offset(opt.log_len) + kAllocUnit;
        if (size < need)
            usage_error("emulated device size {} is too small: a {} MiB log needs at least {}",
                        a.emulate, opt.log_len >> 20, format_size(need));
        struct stat st;
        created = ::stat(a.device.c_str(), &st) != 0 && errno == ENOENT;
        Device::create_emulated(a.device, size, a.force);
    }

    refuse_if_fsdev(a.device);
    Device dev = open_device(a.device, Device::Access::ReadWrite);
    const Uuid fs_uuid = mkfs(dev, opt);
    created = false;  // done: keep it
    const Superblock* sb = dev.at<Superblock>(0);
    const uint64_t entries = log_last_index(sb->log_len) + 1;
    std::printf("%s: famfs created: %s, log %s (%s), owner %s\n", a.device.c_str(),
                format_size(sb->daxdev.size).c_str(), format_size(sb->log_len).c_str(),
                plural(entries, "entry", "entries").c_str(), to_string(host).c_str());
    std::printf("fs uuid: %s\n", to_string(fs_uuid).c_str());
    return kExitOk;
}

}  // namespace

void add_mkfs(CLI::App& app, GlobalOptions& g) {
    auto a = std::make_shared<MkfsArgs>();
    CLI::App* cmd = add_command(
        app,
        {.name = "mkfs",
         .summary = "format a device (or an emulated device file) as famfs",
         .synopsis = "mkfs [-f] [-l|--loglen N] [--emulate SIZE] DEVICE\n"
                     "mkfs -k -f DEVICE",
         .description = "(Also installed as mkfs.famfs, which takes the same options.)\n"
                        "Writes an empty famfs filesystem on DEVICE: a superblock at offset 0 and\n"
                        "an empty metadata log at 2 MiB. The log is written first and the\n"
                        "superblock last, so an interrupted mkfs leaves no valid filesystem.\n"
                        "\n"
                        "This host becomes the owner of the filesystem: its system uuid (from\n"
                        "--system-uuid-file, $FAMFS_SYSTEM_UUID_FILE or /opt/famfs/system_uuid,\n"
                        "created if missing) is stored in the superblock. Only the owner can\n"
                        "create files and directories; other hosts are read-only clients.\n"
                        "\n"
                        "DEVICE is a devdax character device (/dev/daxX.Y) or a regular file\n"
                        "(an emulated device). mkfs refuses to overwrite a valid famfs superblock\n"
                        "unless --force is given, and refuses a device mounted on this host even\n"
                        "with --force (naming the mount point). The new filesystem's uuid is\n"
                        "printed. -k -f (upstream's --kill) only invalidates the superblock.\n"
                        "\n"
                        "Running without CXL memory: --emulate SIZE first creates DEVICE as a\n"
                        "regular file of SIZE bytes (sparse; put it on /dev/hugepages, a huge\n"
                        "tmpfs or /dev/shm so that it is memory), then formats it. If that fails,\n"
                        "a file it created is removed again.",
         .examples = "famfs mkfs /dev/dax0.0\n"
                     "famfs mkfs --force --loglen 64M /dev/dax0.0\n"
                     "famfs mkfs --emulate 8G /dev/shm/famfs0      # no CXL memory needed\n"
                     "mkfs.famfs -f /dev/dax1.0",
         .exit_status = ""},
        [&g, a] { return run_mkfs(g, *a); });
    cmd->add_option("DEVICE", a->device, "device to format (devdax or emulated file)")
        ->required()
        ->type_name("");
    cmd->add_flag("-f,--force", a->force,
                  "overwrite an existing famfs filesystem (and, with --emulate, resize an "
                  "existing device file)");
    cmd->add_flag("-k,--kill", a->kill, "with -f: invalidate the superblock (upstream's -k)");
    cmd->add_option("-l,--loglen,--log-len", a->log_len,
                    "log size: a power of two >= 8M (default 8M = 15420 entries)")
        ->type_name("N");
    cmd->add_option("--emulate", a->emulate,
                    "create DEVICE as an emulated device file of SIZE bytes first")
        ->type_name("SIZE");
}

}  // namespace famfs::cli
