// famfs mount / famfs umount: start famfs-fused on a device and wait until the
// mount answers; unmount and wait for the daemon to go.
//
// Owned by the daemon side (daemon/, docs/daemon.md). famfs-fused does the
// checks (mount point, superblock) before it mounts and, without -f, returns
// only once the mount answers, so this command only adds: finding the daemon,
// a bounded wait, and one line saying what was mounted.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli.h"

namespace famfs::cli {

namespace {

namespace fsys = std::filesystem;
using Clock = std::chrono::steady_clock;

struct MountArgs {
    std::string device;
    std::string mountpoint;
    std::vector<std::string> options;  // -o lists
    unsigned timeout_s = 30;
    bool foreground = false;
    bool fuse = false;    // upstream's -f/--fuse: famfs-fused is always FUSE
    bool nofuse = false;  // upstream's -F/--nofuse: the standalone kernel module
};

// $FAMFS_FUSED, beside this program (installed), the build tree's daemon/,
// then the usual sbin directories and $PATH.
std::string find_daemon() {
    if (const char* env = getenv("FAMFS_FUSED"); env && *env) return env;
    std::error_code ec;
    const fsys::path self = fsys::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const fsys::path dir = self.parent_path();
        for (const fsys::path& p :
             {dir / "famfs-fused", dir / "../sbin/famfs-fused", dir / "../daemon/famfs-fused"})
            if (access(p.c_str(), X_OK) == 0) return p.lexically_normal().string();
    }
    for (const char* p : {"/usr/sbin/famfs-fused", "/usr/local/sbin/famfs-fused"})
        if (access(p, X_OK) == 0) return p;
    return "famfs-fused";  // execvp searches $PATH
}

std::optional<nlohmann::json> daemon_stats(const std::string& mountpoint) {
    char buf[16384];
    ssize_t n = getxattr(mountpoint.c_str(), "user.famfs.stats", buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    try {
        return nlohmann::json::parse(std::string(buf, static_cast<size_t>(n)));
    } catch (...) {
        return std::nullopt;
    }
}

int run_mount(const GlobalOptions& g, const MountArgs& a) {
    if (a.nofuse)
        usage_error(
            "-F/--nofuse (upstream's standalone famfs v1 kernel module) is not supported: no "
            "standalone module here; famfs-fused is FUSE (drop -F)");
    const std::string daemon = find_daemon();
    std::vector<std::string> args = {daemon, a.device, a.mountpoint};
    // Global options first: an explicit -o given later wins.
    std::string opts;
    if (!g.system_uuid_file.empty()) opts = "uuid_file=" + g.system_uuid_file;
    if (g.coherent) opts += (opts.empty() ? "" : ",") + std::string("coherent");
    for (const auto& o : a.options) opts += (opts.empty() ? "" : ",") + o;
    if (!opts.empty()) {
        args.push_back("-o");
        args.push_back(opts);
    }
    if (a.foreground) args.push_back("-f");

    const pid_t pid = fork();
    if (pid < 0) command_error("fork: {}", std::strerror(errno));
    if (pid == 0) {
        std::vector<char*> argv;
        for (auto& s : args) argv.push_back(s.data());
        argv.push_back(nullptr);
        execvp(argv[0], argv.data());
        std::fprintf(stderr, "famfs mount: cannot run %s: %s (set FAMFS_FUSED to its path)\n",
                     argv[0], std::strerror(errno));
        _exit(127);
    }
    if (a.foreground) {
        int status = 0;
        waitpid(pid, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : kExitFailure;
    }
    // The daemon (without -f) exits once the mount answers or it failed; it
    // printed the reason on failure. Bound the wait anyway.
    const auto deadline = Clock::now() + std::chrono::seconds(a.timeout_s);
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (Clock::now() > deadline) {
            kill(pid, SIGTERM);
            waitpid(pid, &status, 0);
            command_error("famfs-fused did not report within {} s; nothing is mounted on {}",
                          a.timeout_s, a.mountpoint);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return kExitFailure;  // already said why

    auto stats = daemon_stats(a.mountpoint);
    if (!stats) command_error("{} was mounted but does not answer famfs requests", a.mountpoint);
    // One line: the mode and its reason (which usually names the mode).
    const std::string mode = (*stats).value("mode", std::string("?")) + " mode";
    const std::string why = (*stats).value("mode_reason", std::string());
    std::printf("famfs: mounted %s on %s (%s, %s)\n", (*stats).value("device", a.device).c_str(),
                a.mountpoint.c_str(), (*stats).value("role", std::string("?")).c_str(),
                why.empty()               ? mode.c_str()
                : why.rfind(mode, 0) == 0 ? why.c_str()
                                          : (mode + ": " + why).c_str());
    return kExitOk;
}

struct UmountArgs {
    std::string mountpoint;
    bool lazy = false;
    unsigned timeout_s = 10;
};

bool pid_alive(int pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

int run_umount(const UmountArgs& a) {
    std::error_code ec;
    std::string mp = fsys::absolute(a.mountpoint, ec).lexically_normal().string();
    while (mp.size() > 1 && mp.back() == '/') mp.pop_back();
    bool mounted = false;
    for (const MountEntry& m : famfs_mounts())
        if (m.mountpoint == mp) mounted = true;
    if (!mounted) command_error("{} is not a famfs mount point", mp);

    int daemon_pid = 0;
    if (auto stats = daemon_stats(mp)) daemon_pid = (*stats).value("pid", 0);

    if (umount2(mp.c_str(), a.lazy ? MNT_DETACH : 0) != 0) {
        const int e = errno;
        if (e == EBUSY)
            command_error(
                "{} is busy (files open, or a process has its cwd there); close them, "
                "or use famfs umount --lazy {}",
                mp, mp);
        if (e == EPERM) {
            // Not root: the setuid helper unmounts FUSE mounts its user owns.
            std::string cmd =
                std::string("fusermount3 -u ") + (a.lazy ? "-z " : "") + "'" + mp + "'";
            if (std::system(cmd.c_str()) != 0) return kExitFailure;
        } else {
            command_error("cannot unmount {}: {}", mp, std::strerror(e));
        }
    }
    // Wait for the daemon to finish, so the mount point can be reused at once
    // (a lazily unmounted mount keeps its daemon while files are open).
    if (!a.lazy && daemon_pid > 0) {
        const auto deadline = Clock::now() + std::chrono::seconds(a.timeout_s);
        while (pid_alive(daemon_pid) && Clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return kExitOk;
}

}  // namespace

void add_mount_commands(CLI::App& app, GlobalOptions& g) {
    auto m = std::make_shared<MountArgs>();
    CLI::App* mount = add_command(
        app,
        {.name = "mount",
         .summary = "mount a famfs device with the famfs-fused daemon",
         .synopsis = "mount [-o OPTIONS] [--timeout S] [--foreground] [-f] DEVICE MOUNTPOINT",
         .description =
             "Starts famfs-fused serving DEVICE at MOUNTPOINT and returns once the mount\n"
             "answers (or with the daemon's one-line error). Prints the device, mount point,\n"
             "this host's role (owner or client) and the mode (compat: the daemon serves\n"
             "file data; famfs: the kernel maps it). Options are famfs-fused's -o options:\n"
             "ro, refresh_ms=N, attr_timeout=S, entry_timeout=S, loglevel=L, max_threads=N,\n"
             "uuid_file=PATH, noallow_other, famfs=auto|off|on (see famfs-fused --help).\n"
             "The daemon is found via $FAMFS_FUSED, beside this program, or in $PATH.\n"
             "Upstream's -f/--fuse is accepted (famfs-fused is always FUSE; add\n"
             "-o famfs=on to fail without kernel famfs support); -F/--nofuse (the\n"
             "standalone kernel module) is refused. --foreground keeps the daemon\n"
             "attached, as famfs-fused -f does.",
         .examples = "famfs mount /dev/dax0.0 /mnt/famfs\n"
                     "famfs mount -o ro,refresh_ms=50 /dev/shm/famfs0 /mnt/famfs",
         .exit_status = ""},
        [&g, m]() -> int { return run_mount(g, *m); });
    mount->add_option("DEVICE", m->device, "famfs device (devdax or emulated file)")
        ->required()
        ->type_name("");
    mount->add_option("MOUNTPOINT", m->mountpoint, "directory to mount on")
        ->required()
        ->type_name("");
    mount->add_option("-o,--options", m->options, "famfs-fused mount options (comma-separated)")
        ->type_name("OPTIONS");
    mount->add_option("--timeout", m->timeout_s, "seconds to wait for the mount (default 30)")
        ->type_name("S");
    mount->add_flag("--foreground", m->foreground, "run the daemon in the foreground");
    mount->add_flag("-f,--fuse", m->fuse, "upstream's: mount through FUSE (always the case)");
    mount->add_flag("-F,--nofuse", m->nofuse, "upstream's standalone module: not supported");

    auto u = std::make_shared<UmountArgs>();
    CLI::App* umount = add_command(
        app,
        {.name = "umount",
         .summary = "unmount a famfs mount point",
         .synopsis = "umount [--lazy] MOUNTPOINT",
         .description = "Unmounts a famfs-fused mount and waits (bounded) for its daemon to exit.\n"
                        "A mount with open files is busy: close them or use --lazy, which\n"
                        "detaches it now and lets the daemon serve the open files until closed.",
         .examples = "famfs umount /mnt/famfs",
         .exit_status = ""},
        [u]() -> int { return run_umount(*u); });
    umount->add_option("MOUNTPOINT", u->mountpoint, "famfs mount point")->required()->type_name("");
    umount->add_flag("-l,--lazy", u->lazy, "detach now even if files are open");
    umount->add_option("--timeout", u->timeout_s, "seconds to wait for the daemon (default 10)")
        ->type_name("S");
}

}  // namespace famfs::cli
