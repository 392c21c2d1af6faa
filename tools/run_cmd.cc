// famfs run: run a command with libfamfs-direct.so preloaded, so its reads
// and shared mappings of famfs files go straight to the device
// (docs/direct-access.md).
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli.h"

#ifndef FAMFS_DIRECT_LIB_INSTALLED
#define FAMFS_DIRECT_LIB_INSTALLED "/usr/local/lib/libfamfs-direct.so"
#endif
#ifndef FAMFS_DIRECT_LIB_BUILD
#define FAMFS_DIRECT_LIB_BUILD ""
#endif
#ifndef FAMFS_CLI_BUILD
#define FAMFS_CLI_BUILD ""
#endif

namespace famfs::cli {

namespace {

struct RunArgs {
    std::vector<std::string> command;
    bool log = false;
    std::string log_file;
    std::string stats_file;
    std::string library;
};

std::string self_exe() {
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return {};
    buf[n] = '\0';
    return buf;
}

// $FAMFS_DIRECT_LIB or --library; the build tree's copy when this famfs is the
// build tree's; else the installed one.
std::string find_library(const RunArgs& a) {
    if (!a.library.empty()) return a.library;
    if (const char* env = std::getenv("FAMFS_DIRECT_LIB"); env && *env) return env;
    const std::string build = FAMFS_DIRECT_LIB_BUILD;
    if (!build.empty() && self_exe() == std::string(FAMFS_CLI_BUILD) &&
        access(build.c_str(), R_OK) == 0)
        return build;
    return FAMFS_DIRECT_LIB_INSTALLED;
}

std::string absolute(const std::string& p) {
    if (p.empty() || p[0] == '/') return p;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return p;
    return std::string(cwd) + "/" + p;
}

// CLI11 keeps the words after COMMAND, but not always in order (an option-like
// word such as "-c" is set aside), so run's own words are re-read from the
// command line itself: [global options] run [run options] [--] COMMAND ARGS...
std::vector<std::string> own_argv() {
    std::vector<std::string> out;
    FILE* f = std::fopen("/proc/self/cmdline", "re");
    if (!f) return out;
    std::string cur;
    for (int c; (c = std::fgetc(f)) != EOF;) {
        if (c == '\0') {
            out.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(static_cast<char>(c));
        }
    }
    std::fclose(f);
    return out;
}

std::vector<std::string> parse_run_words(RunArgs& a) {
    const std::vector<std::string> argv = own_argv();
    size_t i = 1;
    while (i < argv.size() && argv[i] != "run") {
        if (argv[i] == "--device" || argv[i] == "--system-uuid-file") ++i;  // takes a value
        ++i;
    }
    ++i;
    a.log = false;
    a.log_file.clear();
    a.stats_file.clear();
    a.library.clear();
    for (; i < argv.size(); ++i) {
        const std::string& w = argv[i];
        auto value = [&](std::string& dst) {
            if (i + 1 >= argv.size()) usage_error("{} needs a value", w);
            dst = argv[++i];
        };
        if (w == "--") {
            ++i;
            break;
        }
        if (w == "--log")
            a.log = true;
        else if (w == "--log-file")
            value(a.log_file);
        else if (w == "--stats")
            value(a.stats_file);
        else if (w == "--library")
            value(a.library);
        else if (w.rfind("--log-file=", 0) == 0)
            a.log_file = w.substr(11);
        else if (w.rfind("--stats=", 0) == 0)
            a.stats_file = w.substr(8);
        else if (w.rfind("--library=", 0) == 0)
            a.library = w.substr(10);
        else
            break;
    }
    return std::vector<std::string>(argv.begin() + static_cast<long>(std::min(i, argv.size())),
                                    argv.end());
}

int run_run(RunArgs& a) {
    std::vector<std::string> cmd = parse_run_words(a);
    if (cmd.empty()) usage_error("no command given (famfs run [--] CMD [ARGS...])");
    const std::string lib = find_library(a);
    if (access(lib.c_str(), R_OK) != 0)
        command_error("cannot find {} ({}); install famfs-fused or set FAMFS_DIRECT_LIB", lib,
                      std::strerror(errno));
    // The dynamic loader splits LD_PRELOAD on spaces and colons.
    if (lib.find_first_of(" :") != std::string::npos)
        usage_error(
            "the library path {} contains a space or colon, which LD_PRELOAD cannot "
            "carry; move it",
            lib);
    std::string preload = lib;
    if (const char* old = std::getenv("LD_PRELOAD"); old && *old) {
        if (std::string(old).find(lib) == std::string::npos)
            preload += std::string(" ") + old;
        else
            preload = old;
    }
    setenv("LD_PRELOAD", preload.c_str(), 1);
    if (!a.log_file.empty())
        setenv("FAMFS_DIRECT_LOG", absolute(a.log_file).c_str(), 1);
    else if (a.log)
        setenv("FAMFS_DIRECT_LOG", "1", 1);
    if (!a.stats_file.empty()) setenv("FAMFS_DIRECT_STATS", absolute(a.stats_file).c_str(), 1);

    std::vector<char*> argv;
    for (auto& s : cmd) argv.push_back(s.data());
    argv.push_back(nullptr);
    std::fflush(nullptr);
    execvp(argv[0], argv.data());
    const int e = errno;
    std::fprintf(stderr, "famfs run: cannot run %s: %s\n", argv[0], std::strerror(e));
    std::exit(e == ENOENT ? 127 : 126);
}

}  // namespace

void add_run(CLI::App& app, GlobalOptions&) {
    auto a = std::make_shared<RunArgs>();
    CLI::App* cmd = add_command(
        app,
        {.name = "run",
         .summary = "run a program with direct access to famfs files (no daemon on the data path)",
         .synopsis = "run [--log] [--log-file FILE] [--stats FILE] [--] COMMAND [ARGS...]",
         .description =
             "Runs COMMAND with libfamfs-direct.so in LD_PRELOAD. In COMMAND and the\n"
             "programs it starts, files of compat-mode famfs mounts are served from the\n"
             "device itself: mmap(MAP_SHARED) maps the file's extents of the device, and\n"
             "read, pread, readv and preadv copy from a mapping of them. No request\n"
             "reaches the daemon, nothing goes through the page cache, and every host\n"
             "that maps a file sees the same memory.\n"
             "\n"
             "The program needs what it would need to map the device itself: read\n"
             "permission on the device (read and write permission for PROT_WRITE\n"
             "mappings), and the file opened through the mount with the matching mode.\n"
             "Everything else takes the normal path, unchanged: MAP_PRIVATE, PROT_EXEC,\n"
             "a range outside the file's extents, a device the program may not open,\n"
             "a mount in famfs mode (the kernel maps the device already), files of other\n"
             "filesystems. Writes always go through the mount; their bytes land in the\n"
             "device, where direct readers see them.\n"
             "\n"
             "Not covered: statically linked programs, programs that issue system calls\n"
             "directly, and stdio's fread/fgets (glibc reads inside itself): these take\n"
             "the normal path.\n"
             "\n"
             "Environment read by the library: FAMFS_DIRECT_LOG=1 (or =/path/file) logs\n"
             "what was served directly, what fell back and why, and a summary at exit;\n"
             "FAMFS_DIRECT_STATS=/path/file appends one JSON line of counters per process\n"
             "at exit; FAMFS_DIRECT=0 turns the library off. FAMFS_DIRECT_LIB names the\n"
             "library to preload (default: the installed one).",
         .examples = "famfs run -- python3 train.py /mnt/famfs/data.npy\n"
                     "famfs run --log md5sum /mnt/famfs/frame.arrow\n"
                     "famfs run --stats /tmp/direct.json -- cat /mnt/famfs/big > /dev/null",
         .exit_status = "COMMAND's own exit status; 127 if COMMAND was not found, 126 if it\n"
                        "could not be run, 1 if the library is missing, 2 for a usage error."},
        [a]() -> int { return run_run(*a); });
    // Everything from the first word that is not one of run's options on is
    // the command line, untouched (its own options included).
    cmd->prefix_command();
    cmd->allow_extras();
    cmd->fallthrough(false);  // global options after "run" belong to COMMAND
    // A positional, so that CLI11 keeps "--" and what follows for this command.
    cmd->add_option("COMMAND", a->command, "the program to run, then its arguments");
    cmd->add_flag("--log", a->log,
                  "log direct and fallback decisions to stderr (FAMFS_DIRECT_LOG=1)");
    cmd->add_option("--log-file", a->log_file, "log to FILE instead of stderr")->type_name("FILE");
    cmd->add_option("--stats", a->stats_file, "append each process's counters (JSON) to FILE")
        ->type_name("FILE");
    cmd->add_option("--library", a->library, "preload this library instead of the installed one")
        ->type_name("PATH");
}

}  // namespace famfs::cli
