// famfs: the command-line tool. Also installed as mkfs.famfs, which behaves
// as `famfs mkfs`.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli.h"
#include "famfs/cache.h"
#include "famfs/error.h"
#include "famfs/uuid.h"

namespace famfs::cli {
void add_run(CLI::App& app, GlobalOptions& g);  // tools/run_cmd.cc
}

#ifndef FAMFS_VERSION
#define FAMFS_VERSION "0.0.0"
#endif

namespace {

using famfs::cli::kExitFailure;
using famfs::cli::kExitUsage;

std::string basename_of(const char* argv0) {
    const char* slash = std::strrchr(argv0, '/');
    return slash ? slash + 1 : argv0;
}

// The subcommand a command line names, for the "famfs <subcmd>: " prefix of
// errors (also when parsing itself failed).
std::string subcommand_name(const CLI::App& app, const std::vector<std::string>& args) {
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--device" || a == "--system-uuid-file") {
            ++i;  // skip the option's value
            continue;
        }
        if (a.empty() || a[0] == '-') continue;
        for (const CLI::App* sub : app.get_subcommands({}))
            if (sub->check_name(a)) return sub->get_name();
        return {};  // the first word is not a command
    }
    return {};
}

void print_error(const std::string& sub, const std::string& msg) {
    std::string line = msg;
    for (char& c : line)
        if (c == '\n') c = ' ';
    std::fprintf(stderr, "famfs%s%s: %s\n", sub.empty() ? "" : " ", sub.c_str(), line.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (argc > 0 && basename_of(argv[0]) == "mkfs.famfs") args.insert(args.begin(), "mkfs");

    famfs::cli::GlobalOptions g;
    CLI::App app{"famfs: create and inspect famfs filesystems on shared memory (CXL/DAX) devices",
                 "famfs"};
    app.formatter(famfs::cli::top_formatter());
    app.set_version_flag("--version", std::string("famfs (famfs-fused) ") + FAMFS_VERSION);
    app.require_subcommand(1);
    app.fallthrough();  // global options may also follow the subcommand
    app.add_option("--device", g.device,
                   "work on this unmounted device; PATHs are relative to its root")
        ->type_name("DEV");
    app.add_option("--system-uuid-file", g.system_uuid_file,
                   "this host's uuid file (default /opt/famfs/system_uuid)")
        ->envname(famfs::kSystemUuidEnv)
        ->type_name("PATH");
    app.add_flag("--coherent", g.coherent,
                 "memory is cache-coherent between hosts: skip CPU cache flushes")
        ->envname("FAMFS_COHERENT");
    app.footer(
        "PATH arguments name files under a famfs mount point (fuse.famfs in\n"
        "/proc/self/mountinfo), or, with --device DEV, paths relative to the root of\n"
        "the filesystem on an unmounted device. Sizes take k/m/g/t suffixes (binary).\n"
        "Without CXL memory: famfs mkfs --emulate 8G /dev/shm/famfs0 makes a device.\n"
        "Run 'famfs COMMAND --help' for the manual of each command.\n"
        "Environment: FAMFS_SYSTEM_UUID_FILE, FAMFS_COHERENT=1.");

    famfs::cli::add_mkfs(app, g);
    famfs::cli::add_creat(app, g);
    famfs::cli::add_verify(app, g);
    famfs::cli::add_mkdir(app, g);
    famfs::cli::add_cp(app, g);
    famfs::cli::add_getmap(app, g);
    famfs::cli::add_log(app, g);
    famfs::cli::add_fsck(app, g);
    famfs::cli::add_flush(app, g);
    famfs::cli::add_mount_commands(app, g);
    famfs::cli::add_run(app, g);  // tools/run_cmd.cc

    const std::string sub_name = subcommand_name(app, args);
    try {
        std::vector<std::string> rev(args.rbegin(), args.rend());  // CLI11 wants them reversed
        app.parse(rev);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::string msg = e.what();
        if (sub_name.empty()) {
            msg = "no command given";
            for (size_t i = 0; i < args.size(); ++i) {
                if (args[i] == "--device" || args[i] == "--system-uuid-file") {
                    ++i;
                    continue;
                }
                if (!args[i].empty() && args[i][0] != '-') {
                    msg = "unknown command '" + args[i] + "'";
                    break;
                }
            }
        }
        print_error(sub_name,
                    msg + " (see famfs " + (sub_name.empty() ? "" : sub_name + " ") + "--help)");
        return kExitUsage;
    }

    const char* env_coherent = std::getenv("FAMFS_COHERENT");
    if (g.coherent || (env_coherent && std::strcmp(env_coherent, "1") == 0))
        famfs::set_coherent(true);

    for (const CLI::App* sub : app.get_subcommands()) {
        const famfs::cli::RunFn* run = famfs::cli::find_run(sub);
        if (!run) continue;
        try {
            return (*run)();
        } catch (const famfs::cli::CommandError& e) {
            print_error(sub->get_name(), e.what());
            return e.code();
        } catch (const famfs::Error& e) {
            print_error(sub->get_name(), e.what());
            return kExitFailure;
        } catch (const std::exception& e) {
            print_error(sub->get_name(), e.what());
            return kExitFailure;
        }
    }
    print_error("", "no command given (see famfs --help)");
    return kExitUsage;
}
