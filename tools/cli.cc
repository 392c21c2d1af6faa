#include "cli.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include "famfs/error.h"
#include "famfs/pattern.h"

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

    // CLI11 would print "PATH PATH ..." and "TEXT ... REQUIRED" after a
    // positional: its name already says what it is. Options show their
    // value's name only ("-s,--size SIZE").
    std::string make_option_opts(const CLI::Option* opt) const override {
        if (opt->get_positional()) return {};
        if (opt->get_type_size() == 0) return {};
        const std::string type = opt->get_type_name();
        return type.empty() ? std::string() : " " + type;
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

namespace {

// A uid/gid given as a number: none of the reserved -1.
std::optional<uint32_t> numeric_id(const std::string& text) {
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    if (text.size() > 10 || std::stoull(text) >= UINT32_MAX)
        usage_error("id {} is too large: ids go up to {}", text, UINT32_MAX - 1);
    return static_cast<uint32_t>(std::stoul(text));
}

}  // namespace

uint32_t parse_user(const std::string& text) {
    if (auto id = numeric_id(text)) return *id;
    if (const struct passwd* pw = text.empty() ? nullptr : getpwnam(text.c_str()))
        return pw->pw_uid;
    usage_error("unknown user '{}': give a user name known to this host or a numeric uid", text);
}

uint32_t parse_group(const std::string& text) {
    if (auto id = numeric_id(text)) return *id;
    if (const struct group* gr = text.empty() ? nullptr : getgrnam(text.c_str())) return gr->gr_gid;
    usage_error("unknown group '{}': give a group name known to this host or a numeric gid", text);
}

Ownership parse_ownership(const std::string& mode, const std::string& user,
                          const std::string& group) {
    return {parse_mode(mode, "mode"), user.empty() ? getuid() : parse_user(user),
            group.empty() ? getgid() : parse_group(group)};
}

FileSpec parse_file_spec(const std::string& mode, const std::string& user,
                         const std::string& group, const std::string& nstrips,
                         const std::string& nbuckets, const std::string& chunk) {
    FileSpec spec;
    const Ownership own = parse_ownership(mode, user, group);
    spec.mode = own.mode;
    spec.uid = own.uid;
    spec.gid = own.gid;
    const int given = !nstrips.empty() + !nbuckets.empty() + !chunk.empty();
    if (given != 0 && given != 3)
        usage_error("interleaving needs all of -N NSTRIPS, -B NBUCKETS and -C CHUNKSIZE");
    if (given == 3)
        spec.interleave = InterleaveParams{parse_u64(nstrips, "nstrips"),
                                           parse_u64(nbuckets, "nbuckets"),
                                           parse_size(chunk, "chunk size")};
    return spec;
}

void add_file_spec_options(CLI::App* cmd, std::string& user, std::string& group,
                           std::string& nstrips, std::string& nbuckets, std::string& chunk) {
    cmd->add_option("-u,--uid", user, "owner: user name or uid (default: the caller)")
        ->type_name("USER");
    cmd->add_option("-g,--gid", group, "group: group name or gid (default: the caller's)")
        ->type_name("GROUP");
    cmd->add_option("-N,--nstrips", nstrips, "strips per file (1..16)")->type_name("NSTRIPS");
    cmd->add_option("-B,--nbuckets", nbuckets, "buckets the device is split into (<= 64)")
        ->type_name("NBUCKETS");
    cmd->add_option("-C,--chunksize", chunk, "interleave chunk size (e.g. 2M)")
        ->type_name("CHUNKSIZE");
}

uint64_t parse_seed(const std::string& text) {
    const uint64_t seed = parse_u64(text, "seed");
    if (seed == 0 || seed > kMaxPatternSeed)
        usage_error(
            "invalid seed '{}': give 1 to {} (upstream famfs reads 32 bits, and 0 means no "
            "pattern)",
            text, kMaxPatternSeed);
    return seed;
}

size_t utf8_sequence(std::string_view s, size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 1;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 2;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + n >= s.size()) return 0;  // truncated
    for (size_t k = 1; k <= n; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (cc & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n + 1;
}

bool valid_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        const size_t n = utf8_sequence(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

void require_utf8_path(const std::string& relpath, const std::string& shown) {
    if (valid_utf8(relpath)) return;
    std::string printable;
    for (unsigned char c : shown)
        printable += c < 0x80 && c >= 0x20 ? std::string(1, static_cast<char>(c))
                                           : fmt::format("\\x{:02x}", c);
    usage_error(
        "'{}': the name is not valid UTF-8; famfs names must be UTF-8 so that every host "
        "and upstream famfs can replay the log (rename it)",
        printable);
}

Target TargetResolver::operator()(const std::string& path) {
    if (!g_.device.empty()) return resolve(g_, path);
    const size_t slash = path.rfind('/');
    const std::string dir =
        slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    if (base.empty() || base == "." || base == "..") return resolve(g_, path);
    auto it = dirs_.find(dir);
    if (it == dirs_.end()) {
        Target d;
        try {
            d = resolve(g_, dir);
        } catch (const CommandError&) {
            return resolve(g_, path);  // the error (or answer) for the path itself
        }
        it = dirs_.emplace(dir, std::move(d)).first;
    }
    const Target& d = it->second;
    if (d.mountpoint.empty()) return resolve(g_, path);
    std::string full = d.mountpoint == "/" ? "" : d.mountpoint;
    if (!d.relpath.empty()) full += "/" + d.relpath;
    full += "/" + base;
    if (!mounts_) mounts_ = famfs_mounts();
    for (const MountEntry& m : *mounts_)
        if (m.mountpoint == full) return resolve(g_, path);  // a mount on top: its root
    Target t = d;
    t.relpath = d.relpath.empty() ? base : d.relpath + "/" + base;
    return t;
}

void require_writable_mount(const Target& t) {
    if (t.mountpoint.empty()) return;
    struct statvfs sv;
    if (statvfs(t.mountpoint.c_str(), &sv) == 0 && (sv.f_flag & ST_RDONLY))
        command_error(
            "{} is mounted read-only (-o ro): nothing was created; remount it without ro to "
            "create files",
            t.mountpoint);
}

std::vector<std::string> mounts_of_device(const std::string& device) {
    struct stat dst;
    if (::stat(device.c_str(), &dst) != 0) return {};
    std::vector<std::string> out;
    for (const char* info : {"/proc/self/mountinfo", "/proc/1/mountinfo"})
        for (const MountEntry& m : famfs_mounts(info)) {
            struct stat mst;
            if (::stat(m.source.c_str(), &mst) != 0 || mst.st_dev != dst.st_dev ||
                mst.st_ino != dst.st_ino)
                continue;
            if (std::find(out.begin(), out.end(), m.mountpoint) == out.end())
                out.push_back(m.mountpoint);
        }
    return out;
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
    opt.identify_host = writable;
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

std::string human_size(uint64_t bytes) {
    static const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < 1024) return fmt::format("{} bytes", bytes);
    double v = static_cast<double>(bytes);
    int u = 0;
    while (u < 5 && v >= 1024) {
        v /= 1024;
        ++u;
    }
    // Whole numbers stay whole ("512 MiB"); others get one decimal, rounded
    // down so that free space is never overstated ("2.9 GiB", not "3.0 GiB").
    if (v == static_cast<double>(static_cast<uint64_t>(v)))
        return fmt::format("{} {}", static_cast<uint64_t>(v), units[u]);
    return fmt::format("{:.1f} {}", std::floor(v * 10) / 10, units[u]);
}

std::string plural(uint64_t n, const std::string& one, const std::string& many) {
    return fmt::format("{} {}", n, n == 1 ? one : (many.empty() ? one + "s" : many));
}

void no_room(uint64_t free_bytes, const std::string& device, uint64_t needed_bytes, size_t nfiles,
             const std::string& first_failed) {
    command_error(
        "no room for {}: {} needed{}, {} free on {}; nothing was created",
        nfiles == 1 ? "'" + first_failed + "'"
                    : fmt::format("{} files (first to fail: '{}')", nfiles, first_failed),
        human_size(needed_bytes),
        needed_bytes <= free_bytes ? " (free space is fragmented or striping needs more)" : "",
        human_size(free_bytes), device);
}

std::string format_mode(uint32_t mode) { return fmt::format("0{:o}", mode & 07777); }

}  // namespace famfs::cli
