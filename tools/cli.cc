#include "cli.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <map>
#include <sstream>

#include "famfs/error.h"

namespace famfs::cli {

namespace {

struct Registered {
    CommandHelp help;
    RunFn run;
};

std::map<const CLI::App*, Registered>& registry() {
    static std::map<const CLI::App*, Registered> r;
    return r;
}

std::string indent(const std::string& text, const std::string& pad = "    ") {
    std::string out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) out += line.empty() ? "\n" : pad + line + "\n";
    return out;
}

const char* kStandardExit =
    "0  success\n"
    "1  the command failed (the reason is printed on stderr as one line)\n"
    "2  usage error: bad arguments, or the device or path cannot be opened";

// A man page: NAME, SYNOPSIS, DESCRIPTION, OPTIONS (CLI11's list), EXAMPLES,
// EXIT STATUS. The top-level listing shows only each command's summary.
class ManFormatter : public CLI::Formatter {
public:
    std::string make_help(const CLI::App* app, std::string name,
                          CLI::AppFormatMode mode) const override {
        auto it = registry().find(app);
        if (it == registry().end() || mode == CLI::AppFormatMode::Sub)
            return CLI::Formatter::make_help(app, std::move(name), mode);
        const CommandHelp& h = it->second.help;
        std::string out;
        out += "NAME\n" + indent("famfs " + h.name + " - " + h.summary) + "\n";
        out += "SYNOPSIS\n";
        std::istringstream syn(h.synopsis);
        for (std::string line; std::getline(syn, line);) {
            // An indented line continues the previous one: align it under
            // the previous line's arguments instead of repeating "famfs".
            const size_t lead = line.find_first_not_of(' ');
            if (lead != 0 && lead != std::string::npos)
                out += std::string(11 + h.name.size(), ' ') + line.substr(lead) + "\n";
            else
                out += "    famfs " + line + "\n";
        }
        out += "\nDESCRIPTION\n" + indent(h.description) + "\n";
        std::string opts = make_positionals(app) + make_groups(app, mode);
        out += opts;
        if (!h.examples.empty()) out += "\nEXAMPLES\n" + indent(h.examples);
        out += "\nEXIT STATUS\n" + indent(h.exit_status.empty() ? kStandardExit : h.exit_status);
        return out;
    }
};

}  // namespace

CLI::App* add_command(CLI::App& app, const CommandHelp& help, RunFn run) {
    CLI::App* sub = app.add_subcommand(help.name, help.summary);
    sub->formatter(std::make_shared<ManFormatter>());
    registry()[sub] = Registered{help, std::move(run)};
    return sub;
}

const RunFn* find_run(const CLI::App* sub) {
    auto it = registry().find(sub);
    return it == registry().end() ? nullptr : &it->second.run;
}

std::shared_ptr<CLI::FormatterBase> top_formatter() {
    auto f = std::make_shared<CLI::Formatter>();
    f->column_width(22);
    return f;
}

uint64_t parse_u64(const std::string& text, const std::string& what) {
    if (text.empty() || text[0] == '-' || text[0] == '+')
        usage_error("invalid {} '{}': expected a non-negative number", what, text);
    size_t pos = 0;
    uint64_t v = 0;
    try {
        v = std::stoull(text, &pos, 0);
    } catch (const std::exception&) {
        usage_error("invalid {} '{}': expected a number", what, text);
    }
    if (pos != text.size()) usage_error("invalid {} '{}': expected a number", what, text);
    return v;
}

uint64_t parse_size(const std::string& text, const std::string& what) {
    size_t end = text.size();
    // Optional "B" / "iB" after the unit letter.
    std::string s = text;
    if (s.size() >= 3 && (s.ends_with("iB") || s.ends_with("ib")))
        s.resize(s.size() - 2);
    else if (s.size() >= 2 && (s.back() == 'B' || s.back() == 'b') &&
             std::isalpha(static_cast<unsigned char>(s[s.size() - 2])))
        s.pop_back();
    end = s.size();
    unsigned shift = 0;
    if (end > 0) {
        switch (s[end - 1]) {
            case 'k':
            case 'K':
                shift = 10;
                break;
            case 'm':
            case 'M':
                shift = 20;
                break;
            case 'g':
            case 'G':
                shift = 30;
                break;
            case 't':
            case 'T':
                shift = 40;
                break;
            default:
                break;
        }
    }
    if (shift) s.pop_back();
    const bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    if (s.empty() || s[0] == '-' || s[0] == '+' ||
        (!hex && s.find_first_not_of("0123456789") != std::string::npos))
        usage_error("invalid {} '{}': expected a number with an optional k/m/g suffix (e.g. 4G)",
                    what, text);
    uint64_t v = parse_u64(s, what);
    if (shift && v > (~0ULL >> shift)) usage_error("invalid {} '{}': too large", what, text);
    return v << shift;
}

uint32_t parse_mode(const std::string& text, const std::string& what) {
    if (text.empty() || text.size() > 5 || text.find_first_not_of("01234567") != std::string::npos)
        usage_error("invalid {} '{}': expected octal permission bits such as 0644", what, text);
    return static_cast<uint32_t>(std::stoul(text, nullptr, 8)) & 07777;
}

Target resolve(const GlobalOptions& g, const std::string& path) {
    try {
        return resolve_target(path, g.device);
    } catch (const Error& e) {
        throw CommandError(kExitUsage, e.what());
    }
}

Ownership parse_ownership(const std::string& mode, int64_t uid, int64_t gid) {
    if (uid < -1 || uid > UINT32_MAX || gid < -1 || gid > UINT32_MAX)
        usage_error("uid and gid must be between 0 and {}", UINT32_MAX);
    return {parse_mode(mode, "mode"), uid >= 0 ? static_cast<uint32_t>(uid) : getuid(),
            gid >= 0 ? static_cast<uint32_t>(gid) : getgid()};
}

Device open_device(const std::string& device, Device::Access access) {
    try {
        return Device::open(device, access);
    } catch (const Error& e) {
        throw CommandError(kExitUsage, e.what());
    }
}

void settle_mount(const Target& t, const std::string& relpath) {
    if (t.mountpoint.empty()) return;
    // A lookup miss makes the daemon recheck the log (negative entries are
    // never cached); the result itself does not matter.
    struct stat st;
    (void)::stat((t.mountpoint + "/" + relpath).c_str(), &st);
}

std::string device_of(const GlobalOptions& g, const std::string& arg) {
    if (arg.empty()) {
        if (g.device.empty()) usage_error("name a DEVICE or MOUNTPOINT (or give --device DEV)");
        return g.device;
    }
    std::error_code ec;
    auto canon = std::filesystem::weakly_canonical(arg, ec);
    for (const MountEntry& m : famfs_mounts())
        if (!ec && canon == std::filesystem::path(m.mountpoint)) return m.source;
    return arg;
}

std::unique_ptr<Filesystem> open_fs(const GlobalOptions& g, const std::string& device,
                                    bool writable) {
    Filesystem::Options opt;
    opt.access = writable ? Device::Access::ReadWrite : Device::Access::ReadOnly;
    opt.system_uuid_file = g.system_uuid_file;
    try {
        return Filesystem::open(device, opt);
    } catch (const Error& e) {
        throw CommandError(kExitUsage, e.what());
    }
}

const Node& file_node(const Filesystem& fs, const std::string& relpath, const std::string& shown) {
    const Node* n = fs.tree().resolve(relpath);
    if (!n) command_error("{}: no such file in famfs", shown);
    if (n->is_dir()) command_error("{}: is a directory", shown);
    return *n;
}

std::string format_size(uint64_t bytes) {
    static const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    uint64_t v = bytes;
    while (u < 4 && v >= 1024 && v % 1024 == 0) {
        v /= 1024;
        ++u;
    }
    if (u == 0 && bytes >= 1024 * 1024)
        return fmt::format("{} bytes ({:.1f} MiB)", bytes, bytes / 1048576.0);
    return fmt::format("{} {}", v, units[u]);
}

std::string format_mode(uint32_t mode) { return fmt::format("0{:o}", mode & 07777); }

}  // namespace famfs::cli
