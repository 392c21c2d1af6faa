// famfs: the command-line tool. Also installed as mkfs.famfs, which behaves
// as `famfs mkfs`.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"
#include "famfs/cache.h"
#include "famfs/error.h"
#include "famfs/uuid.h"

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

// Global options that take a value in the next word.
bool takes_value(const std::string& a) { return a == "--device" || a == "--system-uuid-file"; }

// The index of the first word that is not a global option or its value: the
// subcommand, if the command line has one (args.size() if it has none).
size_t first_word(const std::vector<std::string>& args) {
    for (size_t i = 0; i < args.size(); ++i) {
        if (takes_value(args[i])) {
            ++i;  // skip the option's value
            continue;
        }
        if (!args[i].empty() && args[i][0] != '-') return i;
    }
    return args.size();
}

// The subcommand a command line names, for the "famfs <subcmd>: " prefix of
// errors (also when parsing itself failed).
const CLI::App* subcommand_of(const CLI::App& app, const std::vector<std::string>& args) {
    const size_t i = first_word(args);
    if (i == args.size()) return nullptr;
    for (const CLI::App* sub : app.get_subcommands({}))
        if (sub->check_name(args[i])) return sub;
    return nullptr;
}

// The first word after the subcommand that looks like an option neither the
// subcommand nor the global options know, e.g. "--frob" in
// "famfs mkfs --frob 16m dev0": CLI11 would blame "dev0 --frob".
std::optional<std::string> unknown_option(const CLI::App& app, const CLI::App& sub,
                                          const std::vector<std::string>& args) {
    for (size_t i = first_word(args) + 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") break;
        if (a.size() < 2 || a[0] != '-') continue;
        if (a[1] == '-') {
            const std::string name = a.substr(0, a.find('='));
            if (!sub.get_option_no_throw(name) && !app.get_option_no_throw(name) &&
                name != "--help")
                return name;
        } else if (!std::isdigit(static_cast<unsigned char>(a[1]))) {
            const std::string name = a.substr(0, 2);  // "-rv": -r, then values or flags
            if (!sub.get_option_no_throw(name) && name != "-h") return name;
        }
    }
    return std::nullopt;
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
    famfs::cli::add_run(app, g);
    famfs::cli::add_upstream_only(app);

    const CLI::App* named = subcommand_of(app, args);
    const std::string sub_name = named ? named->get_name() : std::string();
    const bool wants_help = std::find_if(args.begin(), args.end(), [](const std::string& a) {
                                return a == "--help" || a == "-h";
                            }) != args.end();
    if (named && named->get_allow_extras() && !wants_help) {
        // Upstream-only commands (check, clone, mkmeta) take any arguments
        // and answer with one line naming what to use instead.
        try {
            return (*famfs::cli::find_run(named))();
        } catch (const famfs::cli::CommandError& e) {
            print_error(sub_name, e.what());
            return e.code();
        }
    }
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
        if (!named) {
            const size_t i = first_word(args);
            msg = i < args.size() ? "unknown command '" + args[i] + "'" : "no command given";
        } else if (auto bad = unknown_option(app, *named, args)) {
            msg = "unknown option '" + *bad + "'";
        } else if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
            // CLI11 lists the extra words last to first; name them in order.
            const std::string head = ": ";
            const size_t colon = msg.find(head);
            if (colon != std::string::npos) {
                std::istringstream words(msg.substr(colon + head.size()));
                std::vector<std::string> extra;
                for (std::string w; words >> w;) extra.push_back(w);
                msg = "unexpected argument";
                msg += extra.size() == 1 ? " '" : "s '";
                for (auto it = extra.rbegin(); it != extra.rend(); ++it)
                    msg += (it == extra.rbegin() ? "" : " ") + *it;
                msg += "'";
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
