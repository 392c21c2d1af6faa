#include "options.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "famfs/error.h"

namespace famfs::daemon {

namespace {

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        size_t comma = s.find(',', start);
        if (comma == std::string::npos) comma = s.size();
        if (comma > start) out.push_back(s.substr(start, comma - start));
        start = comma + 1;
    }
    return out;
}

unsigned parse_unsigned(std::string_view key, std::string_view v) {
    unsigned n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size())
        fail(EINVAL, "mount option {}={}: expected a non-negative integer", key, v);
    return n;
}

double parse_seconds(std::string_view key, std::string_view v) {
    std::string s(v);
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (s.empty() || *end || d < 0)
        fail(EINVAL, "mount option {}={}: expected seconds (e.g. 1 or 0.5)", key, v);
    return d;
}

std::string absolute(const std::string& p, const char* what) {
    std::error_code ec;
    auto abs = std::filesystem::absolute(p, ec);
    if (ec) fail(EINVAL, "{} '{}': {}", what, p, ec.message());
    return abs.lexically_normal().string();
}

void set_positional(DaemonOptions& o, std::vector<std::string>& pos) {
    if (pos.size() != 2)
        fail(EINVAL, "expected DEVICE and MOUNTPOINT (got {} arguments); see --help", pos.size());
    o.device = absolute(pos[0], "device");
    o.mountpoint = absolute(pos[1], "mount point");
    while (o.mountpoint.size() > 1 && o.mountpoint.back() == '/') o.mountpoint.pop_back();
}

}  // namespace

std::string usage() {
    return R"(usage: famfs-fused DEVICE MOUNTPOINT [-o opt[,opt...]] [-f] [-d] [-s]

Serves the famfs filesystem on DEVICE (a /dev/dax device or an emulated
device file) at MOUNTPOINT. Without -f it returns once the mount answers.

  -f            stay in the foreground (log to stderr)
  -d            debug: foreground, loglevel=debug and libfuse request tracing
  -s            single-threaded session loop
  -o ro         read-only: no data writes
  -o refresh_ms=N      poll the log for new entries every N ms (100; 0: off)
  -o attr_timeout=S    seconds the kernel caches attributes (3600; a
                       directory's are dropped whenever it gains entries)
  -o entry_timeout=S   seconds the kernel caches names (3600; misses never)
  -o loglevel=L        trace|debug|info|warn|error (info)
  -o max_threads=N     session loop threads (8)
  -o loop=libfuse|reader  libfuse's multi-threaded loop (default), or one
                       reader thread answering short requests itself (faster
                       cold stat on a busy machine, slower on an idle VM:
                       docs/metadata.md)
  -o read_ahead_kb=N   the mount's readahead (1024: 1 MiB requests; 0 keeps
                       the kernel's 128)
  -o uuid_file=PATH    this host's system uuid file (default
                       $FAMFS_SYSTEM_UUID_FILE or /opt/famfs/system_uuid)
  -o coherent / nocoherent   skip / do CPU cache maintenance on data
                       (default: coherent for emulated devices only)
  -o zerocopy / nozerocopy   answer reads with iovecs into the device mapping /
                       copy into a buffer first (default: zerocopy for
                       emulated devices only: some kernels, e.g. Debian's
                       6.1, oops pinning devdax pages a FUSE reply points at)
  -o famfs=auto|off|on kernel famfs mode (auto: when the kernel offers it)
  -o noallow_other, nodefault_permissions, readdirplus=no
  -o nosuid,nodev,noexec,suid,dev,exec   passed to the kernel
  -o defaults,auto,noauto,nofail,_netdev,x-*   accepted (fstab)
)";
}

void apply_mount_options(DaemonOptions& o, const std::string& list, bool sloppy) {
    for (const std::string& opt : split_commas(list)) {
        const size_t eq = opt.find('=');
        const std::string key = opt.substr(0, eq);
        const std::string val = eq == std::string::npos ? "" : opt.substr(eq + 1);
        if (key == "ro") {
            o.state.read_only = true;
            o.kernel_opts.push_back("ro");
        } else if (key == "rw") {
            o.state.read_only = false;
        } else if (key == "refresh_ms" || key == "refresh") {
            o.refresh_ms = parse_unsigned(key, val);
        } else if (key == "attr_timeout") {
            o.state.attr_timeout = parse_seconds(key, val);
        } else if (key == "entry_timeout") {
            o.state.entry_timeout = parse_seconds(key, val);
        } else if (key == "debug") {
            o.log_level = "debug";
        } else if (key == "loglevel" || key == "log_level") {
            o.log_level = val;
        } else if (key == "read_ahead_kb") {
            o.read_ahead_kb = parse_unsigned(key, val);
        } else if (key == "loop") {
            if (val != "libfuse" && val != "reader")
                fail(EINVAL, "mount option loop={}: expected libfuse or reader", val);
            o.reader_loop = val == "reader";
        } else if (key == "max_threads") {
            o.max_threads = std::max(1u, parse_unsigned(key, val));
        } else if (key == "uuid_file") {
            o.state.system_uuid_file = val;
        } else if (key == "coherent") {
            o.state.coherent = true;
        } else if (key == "nocoherent") {
            o.state.coherent = false;
        } else if (key == "zerocopy") {
            o.state.zero_copy_reads = true;
        } else if (key == "nozerocopy") {
            o.state.zero_copy_reads = false;
        } else if (key == "famfs") {
            if (val != "auto" && val != "off" && val != "on")
                fail(EINVAL, "mount option famfs={}: expected auto, off or on", val);
            o.famfs_mode = val;
        } else if (key == "allow_other") {
            o.allow_other = true;
        } else if (key == "noallow_other") {
            o.allow_other = false;
        } else if (key == "default_permissions") {
            o.default_permissions = true;
        } else if (key == "nodefault_permissions") {
            o.default_permissions = false;
        } else if (key == "readdirplus") {
            o.readdirplus = val != "no" && val != "0";
        } else if (key == "nosuid" || key == "nodev" || key == "noexec" || key == "suid" ||
                   key == "dev" || key == "exec" || key == "noatime" || key == "relatime" ||
                   key == "atime" || key == "sync" || key == "async" || key == "dirsync") {
            o.kernel_opts.push_back(key);
        } else if (key == "defaults" || key == "auto" || key == "noauto" || key == "nofail" ||
                   key == "_netdev" || key == "user" || key == "users" || key == "nouser" ||
                   key == "owner" || key == "group" || key == "comment" ||
                   key.rfind("x-", 0) == 0 || key == "fsname" || key == "subtype") {
            // fstab-only, or set by us (fsname, subtype): nothing to do
        } else if (!sloppy) {
            fail(EINVAL, "unknown mount option '{}'; see famfs-fused --help", opt);
        }
    }
    static const char* levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    bool ok = false;
    for (const char* l : levels) ok |= o.log_level == l;
    if (!ok)
        fail(EINVAL, "loglevel={}: expected trace, debug, info, warn, error, critical or off",
             o.log_level);
}

DaemonOptions parse_daemon_args(int argc, char** argv, bool& exit_now) {
    DaemonOptions o;
    exit_now = false;
    std::vector<std::string> pos;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(usage().c_str(), stdout);
            exit_now = true;
            return o;
        } else if (a == "-V" || a == "--version") {
            std::puts("famfs-fused " FAMFS_VERSION);
            exit_now = true;
            return o;
        } else if (a == "-f") {
            o.foreground = true;
        } else if (a == "-d") {
            o.foreground = true;
            o.fuse_debug = true;
            o.log_level = "debug";
        } else if (a == "-s") {
            o.single_thread = true;
        } else if (a == "-o") {
            if (++i >= argc) fail(EINVAL, "-o needs an option list");
            apply_mount_options(o, argv[i], false);
        } else if (a.rfind("-o", 0) == 0 && a.size() > 2) {
            apply_mount_options(o, std::string(a.substr(2)), false);
        } else if (!a.empty() && a[0] == '-') {
            fail(EINVAL, "unknown option '{}'; see --help", a);
        } else {
            pos.emplace_back(a);
        }
    }
    set_positional(o, pos);
    return o;
}

DaemonOptions parse_mount_helper_args(int argc, char** argv) {
    // mount(8): mount.famfs SPEC DIR [-sfnv] [-N ns] [-o options] [-t type.subtype]
    DaemonOptions o;
    std::vector<std::string> pos;
    bool sloppy = false;
    std::vector<std::string> lists;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-o" || a == "-t" || a == "-N") {
            if (++i >= argc) fail(EINVAL, "{} needs an argument", a);
            if (a == "-o") lists.emplace_back(argv[i]);
        } else if (!a.empty() && a[0] == '-' && a.size() > 1) {
            for (char c : a.substr(1)) {
                if (c == 's')
                    sloppy = true;
                else if (c == 'f')
                    o.fake = true;
                else if (c == 'n' || c == 'v' || c == 'r' || c == 'w') {
                    if (c == 'r') apply_mount_options(o, "ro", false);
                } else
                    fail(EINVAL, "unknown option -{}", c);
            }
        } else {
            pos.emplace_back(a);
        }
    }
    for (const auto& l : lists) apply_mount_options(o, l, sloppy);
    set_positional(o, pos);
    return o;
}

}  // namespace famfs::daemon
