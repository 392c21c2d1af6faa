// Shared plumbing of the `famfs` command-line tool: global options, the
// man-page help of each subcommand, errors and small helpers. Each subcommand
// lives in its own <name>_cmd.cc and registers itself with add_command().
#pragma once

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "famfs/fs.h"
#include "famfs/mountinfo.h"

namespace famfs::cli {

// Options that come before (or after) any subcommand.
struct GlobalOptions {
    std::string device;            // --device DEV: paths are relative to that fs root
    std::string system_uuid_file;  // --system-uuid-file / $FAMFS_SYSTEM_UUID_FILE
    bool coherent = false;         // --coherent / $FAMFS_COHERENT=1: skip cache flushes
};

// Exit codes shared by all subcommands (fsck documents the same three).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command failed, or fsck/verify found damage
inline constexpr int kExitUsage = 2;    // bad arguments, or the device cannot be opened

// Thrown by a subcommand to stop with `code`; main prints
// "famfs <subcmd>: <message>" on stderr (one line).
class CommandError : public std::runtime_error {
public:
    CommandError(int code, const std::string& msg) : std::runtime_error(msg), code_(code) {}
    int code() const { return code_; }

private:
    int code_;
};

template <typename... Args>
[[noreturn]] void usage_error(fmt::format_string<Args...> f, Args&&... args) {
    throw CommandError(kExitUsage, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
[[noreturn]] void command_error(fmt::format_string<Args...> f, Args&&... args) {
    throw CommandError(kExitFailure, fmt::format(f, std::forward<Args>(args)...));
}

// The man page of one subcommand. `summary` is the one line that
// `famfs --help` lists; the rest is shown by `famfs <name> --help` around
// CLI11's option list. Multi-line fields are plain text, indented by us.
struct CommandHelp {
    std::string name;
    std::string summary;
    std::string synopsis;  // one usage line per line, without the leading "famfs "
    std::string description;
    std::string examples;
    std::string exit_status;  // empty: the standard 0/1/2 text
};

// Runs the subcommand after parsing; returns its exit code.
using RunFn = std::function<int()>;

// Adds subcommand `help.name` to `app` with the man-page formatter, and
// remembers `run` for main() to call when it is selected.
CLI::App* add_command(CLI::App& app, const CommandHelp& help, RunFn run);
// The run function of a subcommand added by add_command (null if none).
const RunFn* find_run(const CLI::App* sub);
// The formatter for the top-level `famfs --help`.
std::shared_ptr<CLI::FormatterBase> top_formatter();

// Each file registers its subcommand(s).
void add_mkfs(CLI::App& app, GlobalOptions& g);
void add_creat(CLI::App& app, GlobalOptions& g);
void add_verify(CLI::App& app, GlobalOptions& g);
void add_mkdir(CLI::App& app, GlobalOptions& g);
void add_cp(CLI::App& app, GlobalOptions& g);
void add_getmap(CLI::App& app, GlobalOptions& g);
void add_log(CLI::App& app, GlobalOptions& g);
void add_fsck(CLI::App& app, GlobalOptions& g);
void add_flush(CLI::App& app, GlobalOptions& g);
// tools/mount_cmd.cc: `famfs mount`, `famfs umount`.
void add_mount_commands(CLI::App& app, GlobalOptions& g);
// tools/run_cmd.cc: `famfs run`, a command with libfamfs-direct.so preloaded.
void add_run(CLI::App& app, GlobalOptions& g);
// tools/upstream_cmd.cc: upstream's check, clone, mkmeta, answered with a pointer.
void add_upstream_only(CLI::App& app);

// ---- helpers --------------------------------------------------------------

// "4G", "512k", "2097152", "0x200000": binary suffixes k/m/g/t (either case,
// optional "iB"/"B"). Throws CommandError(usage) naming `what` on bad input.
uint64_t parse_size(const std::string& text, const std::string& what);
// "0644", "755": octal permission bits.
uint32_t parse_mode(const std::string& text, const std::string& what);
// The -m/-u/-g options of creat, mkdir and cp: octal permission bits, and a
// user and group by number or name, where "" means the caller's.
struct Ownership {
    uint32_t mode, uid, gid;
};
Ownership parse_ownership(const std::string& mode, const std::string& user,
                          const std::string& group);
// The new files' attributes that creat and cp share: -m/-u/-g as above, and
// striping -N NSTRIPS -B NBUCKETS -C CHUNKSIZE (all three or none).
FileSpec parse_file_spec(const std::string& mode, const std::string& user,
                         const std::string& group, const std::string& nstrips,
                         const std::string& nbuckets, const std::string& chunk);
// Registers -u/--uid, -g/--gid, -N/--nstrips, -B/--nbuckets, -C/--chunksize
// (the text parse_file_spec takes) on a subcommand; -m stays per command,
// whose default differs.
void add_file_spec_options(CLI::App* cmd, std::string& user, std::string& group,
                           std::string& nstrips, std::string& nbuckets, std::string& chunk);
uint32_t parse_user(const std::string& text);   // "1001" or "bob"
uint32_t parse_group(const std::string& text);  // "1002" or "staff"
// A plain unsigned number (decimal or 0x hex).
uint64_t parse_u64(const std::string& text, const std::string& what);
// A pattern seed for -S: 1 .. 2^32-1, as upstream famfs reads it.
uint64_t parse_seed(const std::string& text);

// A name famfs may log: valid UTF-8, so every famfs (upstream's log play
// included) and every JSON consumer can read it. Fails naming `shown`.
void require_utf8_path(const std::string& relpath, const std::string& shown);
bool valid_utf8(std::string_view s);
// Length of the valid UTF-8 sequence that starts at s[i], or 0 if none does.
size_t utf8_sequence(std::string_view s, size_t i);

// Before appending through a mount point: refuses one mounted read-only
// (-o ro). A no-op with --device.
void require_writable_mount(const Target& t);

// The famfs mount points of `device` on this host (same file, whatever the
// path spelling), from this process's and init's mountinfo.
std::vector<std::string> mounts_of_device(const std::string& device);

// Where a CLI path lands (mount point or --device), see famfs::resolve_target.
Target resolve(const GlobalOptions& g, const std::string& path);

// resolve() for many paths of one command (creat --list): each distinct
// parent directory is resolved once, and the name appended (famfs has no
// symlinks, so a name inside a famfs directory is not followed further);
// anything else (no parent under a famfs mount, a name that is itself a
// famfs mount point, ".", "..") goes through resolve(). resolve() walks the
// path through the mount (a lookup per component, a miss for a new name)
// and reads mountinfo: per path it made `creat --list` of 10,000 files
// through a mount ~50x slower than with --device.
class TargetResolver {
public:
    explicit TargetResolver(const GlobalOptions& g) : g_(g) {}
    Target operator()(const std::string& path);

private:
    const GlobalOptions& g_;
    std::map<std::string, Target> dirs_;
    std::optional<std::vector<MountEntry>> mounts_;
};

// A DEVICE|MOUNTPOINT argument (log, fsck): a famfs mount point names its
// device; anything else is taken as the device itself; empty means --device.
std::string device_of(const GlobalOptions& g, const std::string& arg);

// Opens and maps `device`; a failure is a usage error (exit 2), as for a
// device that does not exist or is not famfs-capable.
Device open_device(const std::string& device, Device::Access access);

// After appending to the log under a mount point: looks up `relpath` (a new
// name) through the mount, so this host's daemon replays the new entries and
// drops the kernel's stale directory attributes before the command returns.
// A no-op with --device.
void settle_mount(const Target& t, const std::string& relpath);

// Opens the filesystem on `device` for reading or for appending. Read-only
// opens never touch this host's identity (no system uuid file needed).
std::unique_ptr<Filesystem> open_fs(const GlobalOptions& g, const std::string& device,
                                    bool writable);

// Re-raises the allocator's "no room" error of a batch with the figures a
// user needs: what the whole command needed and what the device has free.
// `free_bytes`: what the device has free (Stager::free_bytes()).
[[noreturn]] void no_room(uint64_t free_bytes, const std::string& device, uint64_t needed_bytes,
                          size_t nfiles, const std::string& first_failed);

// The file node at `relpath`; fails with a one-line message if missing or a directory.
const Node& file_node(const Filesystem& fs, const std::string& relpath, const std::string& shown);

std::string format_size(uint64_t bytes);  // "8 GiB", "3 MiB", "123 bytes"
std::string human_size(uint64_t bytes);   // "4.9 GiB", "512 MiB", "12 KiB", "100 bytes"
// "1 file", "2 files": counts in messages.
std::string plural(uint64_t n, const std::string& one, const std::string& many = {});
std::string format_mode(uint32_t mode);  // "0644"

}  // namespace famfs::cli
