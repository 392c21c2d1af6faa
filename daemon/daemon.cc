#include "daemon.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <thread>

#include "famfs/error.h"
#include "control_socket.h"
#include "famfs/mountinfo.h"
#include "kernel_proto_session.h"
#include "mount_lock.h"
#include "ops.h"
#include "session_loop.h"

namespace famfs::daemon {

namespace {

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

constexpr auto kReadyTimeout = std::chrono::seconds(15);

void setup_logging(const DaemonOptions& opt) {
    std::vector<spdlog::sink_ptr> sinks;
    auto err = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    // Under systemd stderr is the journal, which stamps time and pid itself.
    err->set_pattern(getenv("JOURNAL_STREAM") ? "%l: %v" : "famfs-fused: %l: %v");
    sinks.push_back(err);
    if (!opt.foreground) {
        // Backgrounded, the terminal only hears about failures; the rest goes
        // to syslog (the journal).
        err->set_level(spdlog::level::warn);
        // A daemon's stderr goes to /dev/null once the mount answers.
        auto sys = std::make_shared<spdlog::sinks::syslog_sink_mt>("famfs-fused", LOG_PID,
                                                                   LOG_DAEMON, true);
        sys->set_pattern("%v");
        sinks.push_back(sys);
    }
    auto logger = std::make_shared<spdlog::logger>("famfs-fused", sinks.begin(), sinks.end());
    logger->set_level(spdlog::level::from_str(opt.log_level));
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
}

// OK, or one line saying why the mount point cannot be used.
Status check_mountpoint(const std::string& mp) {
    struct stat st;
    if (::stat(mp.c_str(), &st) != 0) {
        const int e = errno;
        if (e == ENOENT)
            return Status::Error(e, fmt::format("mount point {} does not exist; create it first", mp));
        if (e == ENOTCONN)
            return Status::Error(
                e, fmt::format("mount point {} is a dead FUSE mount; clean it up with umount -l {}",
                               mp, mp));
        return Status::Error(e, fmt::format("mount point {}: {}", mp, std::strerror(e)));
    }
    if (!S_ISDIR(st.st_mode))
        return Status::Error(ENOTDIR, fmt::format("mount point {} is not a directory", mp));
    for (const MountEntry& m : famfs_mounts())
        if (m.mountpoint == mp)
            return Status::Error(EBUSY, fmt::format("mount point {} is busy: famfs on {} is "
                                                    "already mounted there; unmount it first "
                                                    "(famfs umount {})",
                                                    mp, m.source, mp));
    return Status::OK();
}

// The kernel protocol layer's settings, from the famfs=auto|on|off option.
kernel_proto::Connection::Config kernel_config(const DaemonOptions& opt, const FsState& state) {
    kernel_proto::Connection::Config c;
    c.force_compat = opt.famfs_mode == "off";
    c.want_famfs = opt.famfs_mode == "on";
    c.revision = kernel_proto::RevisionChoice::Auto;
    c.device_is_dax = state.device_is_dax();
    c.device_path = state.device_path();
    return c;
}

// The parent of a backgrounded daemon: wait for the child's "ready" line.
int wait_for_child(int fd, pid_t child) {
    pollfd p{fd, POLLIN, 0};
    const int timeout_ms = static_cast<int>(
        std::chrono::milliseconds(kReadyTimeout + std::chrono::seconds(5)).count());
    int r;
    do {
        r = poll(&p, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
        spdlog::error("the daemon did not answer within {} s; stopped it", timeout_ms / 1000);
        kill(child, SIGTERM);
        return 1;
    }
    char buf[64] = {};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n > 0 && std::strncmp(buf, "ready", 5) == 0) return 0;
    // The child printed why; reap it if it already exited.
    int status = 0;
    waitpid(child, &status, WNOHANG);
    return 1;
}

// Tells whoever waits (the backgrounding parent, systemd) that the mount
// answers: statfs on it goes through our own session loop.
bool mount_answers(const std::string& mp) {
    const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
        struct statfs sf;
        if (::statfs(mp.c_str(), &sf) == 0 &&
            (sf.f_type == FUSE_SUPER_MAGIC || sf.f_type == kStatfsTypeFuse))
            return true;
        if (errno == ENOTCONN) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
}

// FUSE mounts get the kernel's default readahead (128 KiB) whatever INIT
// says; raising the mount's bdi lets page-cache reads and mmap faults
// arrive as max_pages (1 MiB) requests. Best effort.
void set_read_ahead(const std::string& mp, unsigned kb) {
    struct stat st;
    if (kb == 0 || ::stat(mp.c_str(), &st) != 0) return;
    const std::string path =
        fmt::format("/sys/class/bdi/{}:{}/read_ahead_kb", major(st.st_dev), minor(st.st_dev));
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        spdlog::debug("cannot open {}: {}", path, std::strerror(errno));
        return;
    }
    const std::string v = std::to_string(kb);
    if (::write(fd, v.data(), v.size()) < 0)
        spdlog::debug("cannot write {}: {}", path, std::strerror(errno));
    close(fd);
}

void detach_stdio() {
    int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0) return;
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
}

// Threads we start take no signals: libfuse's handlers must run on the
// session's threads so the loop sees fuse_session_exit.
template <typename F>
std::thread start_quiet_thread(F f) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    std::thread t(std::move(f));
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return t;
}

class Refresher {
public:
    Refresher(FsState& s, unsigned period_ms) : s_(s), period_(period_ms) {
        if (period_ms == 0) return;
        t_ = start_quiet_thread([this] { run(); });
    }
    ~Refresher() { stop(); }
    void stop() {
        {
            std::lock_guard g(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        if (t_.joinable()) t_.join();
    }

private:
    void run() {
        std::unique_lock g(mu_);
        while (!cv_.wait_for(g, period_, [this] { return stop_; })) {
            g.unlock();
            try {
                if (uint64_t n = s_.refresh_if_needed())
                    spdlog::debug("refresh: replayed {} new log entries (log index {})", n,
                                  s_.log_index());
            } catch (const std::exception& e) {
                spdlog::warn("refresh failed: {}", e.what());
            }
            g.lock();
        }
    }
    FsState& s_;
    std::chrono::milliseconds period_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread t_;
};

struct ArgvBuilder {
    std::vector<std::string> args;
    std::vector<char*> ptrs;
    fuse_args make() {
        ptrs.clear();
        for (auto& a : args) ptrs.push_back(a.data());
        return FUSE_ARGS_INIT(static_cast<int>(ptrs.size()), ptrs.data());
    }
};

}  // namespace

int run_daemon(const DaemonOptions& opt) {
    setup_logging(opt);

    // Everything that can be wrong with the request is checked before the
    // mount exists, so a failure never leaves a mount behind. The lock makes
    // the check and the mount one step for concurrent mounts of one point.
    MountPointLock mount_lock;
    if (Status st = mount_lock.acquire(opt.mountpoint, kReadyTimeout + std::chrono::seconds(10));
        !st.ok()) {
        spdlog::error("{}", st.message());
        return 1;
    }
    if (Status st = check_mountpoint(opt.mountpoint); !st.ok()) {
        spdlog::error("{}", st.message());
        return 1;
    }
    std::unique_ptr<FsState> state;
    // A device bound to fsdev_dax refuses raw mmap: the daemon reads it
    // through its own mount's .meta files (meta_bootstrap.cc), which needs
    // famfs mode (compat mode would need the daemon to reach file data).
    const bool through_mount = dax_driver(opt.device) == "fsdev_dax";
    if (through_mount && opt.famfs_mode == "off") {
        spdlog::error("{} is bound to fsdev_dax, which only famfs mode can serve; drop famfs=off, "
                      "or rebind it for compat mode: daxctl reconfigure-device --mode=devdax",
                      opt.device);
        return 1;
    }
    try {
        state = through_mount
                    ? std::make_unique<FsState>(opt.device, opt.state, FsState::ThroughMount{})
                    : std::make_unique<FsState>(opt.device, opt.state);
    } catch (const famfs::Error& e) {
        spdlog::error("{}", e.what());
        return 1;
    }
    kernel_proto::Connection::Config kconfig = kernel_config(opt, *state);
    if (through_mount) kconfig.want_famfs = true;
    // Only famfs=on is judged before mounting; scanning /proc/kallsyms costs
    // ~40 ms, and INIT scans it again anyway when the mode is decided.
    if (Status st = kernel_proto::Connection::precheck(
            kconfig, kconfig.want_famfs ? kernel_proto::probe_kernel() : kernel_proto::KernelEvidence{});
        !st.ok()) {
        spdlog::error("{}", st.message());
        return 1;
    }
    if (opt.fake) return 0;

    int ready_fd = -1;
    if (!opt.foreground) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) {
            spdlog::error("pipe: {}", std::strerror(errno));
            return 1;
        }
        const pid_t pid = fork();
        if (pid < 0) {
            spdlog::error("fork: {}", std::strerror(errno));
            return 1;
        }
        if (pid > 0) {
            close(p[1]);
            // Exit without unwinding: tearing down the replayed tree (shared
            // copy-on-write with the child) only delays `famfs mount`, which
            // waits for this process.
            const int rc = wait_for_child(p[0], pid);
            spdlog::shutdown();
            std::fflush(nullptr);
            _exit(rc);
        }
        close(p[0]);
        ready_fd = p[1];
        setsid();
        if (chdir("/") != 0) { /* nothing relative is used after this */
        }
    }

    OpsContext ctx;
    ctx.state = state.get();
    ctx.readdirplus = opt.readdirplus;

    // The device path is any bytes: libfuse splits options on ',' unless it
    // is escaped with '\', so a path like "/x,suid,dev" must not become
    // options of its own (issue 11 item 6).
    std::string fsname;
    for (char c : opt.device) {
        if (c == ',' || c == '\\') fsname += '\\';
        fsname += c;
    }
    std::string mount_opts = "fsname=" + fsname + ",subtype=famfs";
    if (opt.allow_other) mount_opts += ",allow_other";
    if (opt.default_permissions) mount_opts += ",default_permissions";
    bool exec = false;
    for (const auto& k : opt.kernel_opts) {
        if (k == "suid" || k == "dev") {
            spdlog::warn("mount option '{}' ignored: famfs mounts are always nosuid,nodev", k);
            continue;
        }
        if (k == "exec") exec = true;
        if (k == "noexec") exec = false;
        mount_opts += "," + k;
    }
    // Last, so nothing before can undo them: files come from another host's log.
    mount_opts += exec ? ",nosuid,nodev" : ",nosuid,nodev,noexec";
    ArgvBuilder argv;
    argv.args = {"famfs-fused", "-o", mount_opts};
    if (opt.fuse_debug) argv.args.push_back("-d");
    fuse_args args = argv.make();

    const fuse_lowlevel_ops& ops = lowlevel_ops();
    fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, &ctx);
    // fuse_session_new re-parses the arguments into a vector it allocates
    // (args.allocated); the session keeps nothing of it. Found by the mount
    // tests under ASan: 28 bytes leaked per daemon.
    fuse_opt_free_args(&args);
    if (!se) {
        spdlog::error("cannot create the FUSE session (options: {})", mount_opts);
        return 1;
    }
    if (fuse_set_signal_handlers(se) != 0) {
        spdlog::error("cannot install signal handlers");
        fuse_session_destroy(se);
        return 1;
    }
    if (fuse_session_mount(se, opt.mountpoint.c_str()) != 0) {
        spdlog::error("cannot mount on {} (is /dev/fuse available, and are you root?)",
                      opt.mountpoint);
        fuse_remove_signal_handlers(se);
        fuse_session_destroy(se);
        return 1;
    }

    // Every request and reply now passes through the kernel protocol layer,
    // which decides the mode at INIT; the stats and the ops read it there.
    auto kernel = std::make_unique<kernel_proto::Connection>(kconfig, *state);
    if (Status st = kernel->attach(se, fuse_session_fd(se)); !st.ok()) {
        spdlog::error("{}", st.message());
        fuse_session_unmount(se);
        fuse_remove_signal_handlers(se);
        fuse_session_destroy(se);
        return 1;
    }
    state->set_connection(kernel.get());
    ctx.kernel = kernel.get();

    // Directories that gain entries on refresh: drop the kernel's cached
    // attributes (size, nlink). Attributes only (offset -1), which takes no
    // lock a pending request could hold, so it is safe from inside lookup.
    state->set_dir_invalidator([se](uint64_t ino) {
        const int rc = fuse_lowlevel_notify_inval_inode(se, ino, -1, 0);
        if (rc != 0 && rc != -ENOENT)  // ENOENT: the kernel has no such inode cached
            spdlog::debug("invalidating inode {}: {}", ino, strerror(-rc));
    });

    Refresher refresher(*state, opt.refresh_ms);
    // The owner's creation channel for the CLI (control_socket.h).
    ControlServer control(*state, opt.mountpoint, opt.device);
    std::thread ready = start_quiet_thread([&] {
        if (state->through_mount()) {
            try {
                state->bootstrap(opt.mountpoint);
            } catch (const std::exception& e) {
                spdlog::error("{}; unmounting {}", e.what(), opt.mountpoint);
                if (ready_fd >= 0) close(ready_fd);
                fuse_session_exit(se);
                // The loop waits in read(): wake it with a request of our own.
                struct stat st;
                (void)::stat(opt.mountpoint.c_str(), &st);
                return;
            }
        }
        const std::string summary = fmt::format(
            "{} on {}: role {}, mode {}, log index {}, {} files, {} directories{}", opt.device,
            opt.mountpoint, to_string(state->role()), state->mode(), state->log_index(),
            state->file_count(), state->dir_count(),
            state->through_mount() ? ", metadata through .meta (fsdev_dax)" : "");
        if (!mount_answers(opt.mountpoint)) {
            spdlog::error("the mount on {} did not answer within {} s", opt.mountpoint,
                          kReadyTimeout.count());
            if (ready_fd >= 0) close(ready_fd);
            fuse_session_exit(se);
            return;
        }
        set_read_ahead(opt.mountpoint, opt.read_ahead_kb);
        mount_lock.release();  // the mount table now answers the next check
        spdlog::info("serving {}", summary);
        sd_notifyf(0, "READY=1\nSTATUS=serving %s", summary.c_str());
        if (ready_fd >= 0) {
            // The parent exits on this line; stdio is nobody's from now on.
            const char msg[] = "ready\n";
            ssize_t w = write(ready_fd, msg, sizeof msg - 1);
            (void)w;
            close(ready_fd);
            detach_stdio();
        }
        // Through-mount serving keeps mappings of the mount (a detached
        // clone): once the user unmounts it, drop them so the connection ends.
        while (state->through_mount() && !fuse_session_exited(se)) {
            if (!state->mount_still_there(opt.mountpoint)) {
                spdlog::info("{} was unmounted; releasing the daemon's .meta mappings",
                             opt.mountpoint);
                state->release_mount();
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    });

    int rc;
    if (opt.single_thread) {
        rc = fuse_session_loop(se);
    } else if (opt.reader_loop) {
        // Short requests are answered by the thread that read them
        // (session_loop.h says why); until the tree is there (a bootstrap
        // through the mount) every request may wait, so none is.
        FsState* st = state.get();
        rc = run_session_loop(se, opt.max_threads, [st](const fuse_in_header& h) {
            return st->tree_ready() && is_short_request(h.opcode);
        });
    } else {
        fuse_loop_config* cfg = fuse_loop_cfg_create();
        fuse_loop_cfg_set_clone_fd(cfg, 0);
        fuse_loop_cfg_set_max_threads(cfg, opt.max_threads);
        rc = fuse_session_loop_mt(se, cfg);
        fuse_loop_cfg_destroy(cfg);
    }
    // The loop's result is the signal that stopped it (libfuse's handler
    // stores it): SIGTERM/SIGINT/SIGHUP are a clean stop, negative is an error.
    const bool clean = rc == 0 || rc == SIGTERM || rc == SIGINT || rc == SIGHUP;
    sd_notify(0, "STOPPING=1");
    if (rc > 0)
        spdlog::info("stopping on signal {}; unmounting {}", rc, opt.mountpoint);
    else if (rc == 0)
        spdlog::info("unmounted from {}; stopping", opt.mountpoint);
    else
        spdlog::error("session loop failed: {}; unmounting {}", std::strerror(-rc), opt.mountpoint);
    refresher.stop();
    control.stop();
    // Unmount before joining: a readiness probe still waiting on the mount
    // is released by the unmount.
    fuse_session_unmount(se);
    ready.join();
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    spdlog::info("stopped: {}", state->stats_json());
    state->set_connection(nullptr);
    kernel.reset();
    return clean ? 0 : 1;
}

}  // namespace famfs::daemon
