// famfs cp: copy files and trees from the local filesystem into famfs.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <vector>

#include "cli.h"
#include "famfs/cache.h"
#include "famfs/error.h"
#include "progress.h"
#include "stager.h"

namespace famfs::cli {

namespace {

struct CpArgs {
    std::vector<std::string> paths;  // SRC... DEST
    bool recursive = false;
    bool dereference = false;
    bool verbose = false;
    bool quiet = false;
    std::string mode, user, group;  // upstream's -m/-u/-g for created files
    std::string nstrips, nbuckets, chunk;
    std::string threads;
    bool compare = false;
};

// One step of the copy, decided before anything is written.
struct Op {
    enum class Kind { Mkdir, Create, Existing } kind;
    std::string src;
    std::string relpath;
    uint64_t size = 0;
};

std::string join(const std::string& dir, const std::string& name) {
    return dir.empty() ? name : dir + "/" + name;
}

std::string shown(const Target& dest, const std::string& rel) {
    return dest.mountpoint.empty() ? "/" + rel : join(dest.mountpoint, rel);
}

uint64_t units_of(uint64_t size) { return (size + kAllocUnit - 1) / kAllocUnit * kAllocUnit; }

class Copier {
public:
    using Kind = Filesystem::Batch::Kind;
    Copier(const CpArgs& a, const Target& dest, Stager& batch, const FileSpec& base)
        : a_(a), dest_(dest), batch_(batch), base_(base) {}

    void plan_source(const std::string& src, const std::string& rel) {
        struct stat st;
        if (stat(src.c_str(), &st) < 0)
            command_error("cannot stat '{}': {}", src, std::strerror(errno));
        if (S_ISDIR(st.st_mode)) {
            if (!a_.recursive) command_error("-r not specified; omitting directory '{}'", src);
            plan_dir(src, rel, st);
        } else if (S_ISREG(st.st_mode)) {
            plan_file(src, rel, st);
        } else {
            command_error("'{}' is not a regular file or directory", src);
        }
    }

    const std::vector<Op>& ops() const { return ops_; }
    // Printed only once the whole plan holds, so a failure stays one line.
    const std::vector<std::string>& warnings() const { return warnings_; }
    uint64_t symlinks_skipped() const { return symlinks_; }
    // After planning: the first file that did not fit, and what all new files need.
    const std::optional<std::string>& no_room_at() const { return no_room_at_; }
    uint64_t needed_bytes() const { return needed_; }
    size_t new_files() const { return new_files_; }

private:
    void plan_file(const std::string& src, const std::string& rel, const struct stat& st) {
        const uint64_t size = static_cast<uint64_t>(st.st_size);
        const PathInfo info = batch_.query(rel);
        switch (info.kind) {
            case Kind::Dir:
                command_error("cannot overwrite directory '{}' with non-directory '{}'",
                              shown(dest_, rel), src);
            case Kind::File:
                // Restartable: a destination of the right size is compared
                // with its source after planning, and rewritten if it differs.
                if (!info.committed)
                    command_error("'{}' is the destination of two sources ('{}' is one)",
                                  shown(dest_, rel), src);
                if (info.file_size != size)
                    command_error(
                        "'{}' already exists with size {}, but '{}' has {} bytes; famfs "
                        "files cannot be resized or replaced",
                        shown(dest_, rel), info.file_size, src, size);
                ops_.push_back({Op::Kind::Existing, src, rel, size});
                return;
            case Kind::None:
                break;
        }
        if (size == 0) {
            warnings_.push_back(
                fmt::format("skipping empty file '{}': famfs files are "
                            "pre-allocated and cannot be empty",
                            src));
            return;
        }
        require_utf8_path(rel, src);
        needed_ += units_of(size);
        ++new_files_;
        if (no_room_at_) return;  // only adding up what the whole copy needs now
        FileSpec spec = base_;
        spec.relpath = rel;
        spec.size = size;
        if (a_.mode.empty()) spec.mode = st.st_mode & 07777;
        try {
            batch_.create_file(spec);
        } catch (const Error& e) {
            if (e.err() != ENOSPC) throw;
            no_room_at_ = rel;
            return;
        }
        ops_.push_back({Op::Kind::Create, src, rel, size});
    }

    void plan_dir(const std::string& src, const std::string& rel, const struct stat& st) {
        switch (batch_.kind(rel)) {
            case Kind::File:
                command_error("cannot overwrite non-directory '{}' with directory '{}'",
                              shown(dest_, rel), src);
            case Kind::Dir:
                break;  // merge into it (a rerun, or cp -r into an existing tree)
            case Kind::None:
                require_utf8_path(rel, src);
                batch_.mkdir({rel, st.st_mode & 07777, base_.uid, base_.gid});
                ops_.push_back({Op::Kind::Mkdir, src, rel, 0});
                break;
        }
        std::vector<std::filesystem::directory_entry> children;
        std::error_code ec;
        for (const auto& de : std::filesystem::directory_iterator(src, ec)) children.push_back(de);
        if (ec) command_error("cannot read directory '{}': {}", src, ec.message());
        std::sort(children.begin(), children.end(), [](const auto& x, const auto& y) {
            return x.path().filename() < y.path().filename();
        });
        for (const auto& de : children) {
            const std::string child = de.path().string();
            const std::string name = de.path().filename().string();
            struct stat cst;
            if (lstat(child.c_str(), &cst) < 0)
                command_error("cannot stat '{}': {}", child, std::strerror(errno));
            if (S_ISLNK(cst.st_mode)) {
                if (!a_.dereference) {
                    ++symlinks_;
                    if (a_.verbose)
                        warnings_.push_back(
                            fmt::format("skipping symlink '{}' (-L follows it)", child));
                    continue;
                }
                if (stat(child.c_str(), &cst) < 0) {
                    warnings_.push_back(fmt::format("skipping dangling symlink '{}': {}", child,
                                                    std::strerror(errno)));
                    continue;
                }
                if (S_ISDIR(cst.st_mode) && !visiting_.insert({cst.st_dev, cst.st_ino}).second)
                    command_error("'{}' leads back into a directory being copied (a symlink loop)",
                                  child);
            }
            if (S_ISDIR(cst.st_mode)) {
                visiting_.insert({cst.st_dev, cst.st_ino});
                plan_dir(child, join(rel, name), cst);
                visiting_.erase({cst.st_dev, cst.st_ino});
            } else if (S_ISREG(cst.st_mode)) {
                plan_file(child, join(rel, name), cst);
            } else {
                warnings_.push_back(
                    fmt::format("skipping '{}': not a regular file or directory", child));
            }
        }
    }

    const CpArgs& a_;
    const Target& dest_;
    Stager& batch_;
    const FileSpec& base_;
    std::vector<Op> ops_;
    std::vector<std::string> warnings_;
    uint64_t symlinks_ = 0;
    std::set<std::pair<dev_t, ino_t>> visiting_;
    std::optional<std::string> no_room_at_;
    uint64_t needed_ = 0;
    size_t new_files_ = 0;
};

constexpr uint64_t kChunk = 64ULL << 20;  // read and compare in pieces this big

int open_source(const std::string& src) {
    const int fd = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) command_error("cannot open '{}': {}", src, std::strerror(errno));
    return fd;
}

// Reads exactly n bytes unless the file ends first; returns what it got.
uint64_t read_full(int fd, uint8_t* p, uint64_t n, std::string& err) {
    uint64_t done = 0;
    while (err.empty() && done < n) {
        const ssize_t got = ::read(fd, p + done, n - done);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0)
            err = std::strerror(errno);
        else if (got == 0)
            break;
        else
            done += static_cast<uint64_t>(got);
    }
    return done;
}

// True when the famfs file already holds exactly the source's bytes (a
// finished copy); false for anything else, e.g. a copy killed half way.
bool same_content(Stager& fs, const NodeInfo& f, const std::string& src, Progress& progress) {
    const int fd = open_source(src);
    std::vector<uint8_t> buf;
    bool same = true;
    std::string err;
    fs.for_each_range(f, 0, f.size, [&](uint8_t* p, uint64_t n) {
        for (uint64_t done = 0; same && done < n; done += kChunk) {
            const uint64_t len = std::min(kChunk, n - done);
            buf.resize(len);
            if (read_full(fd, buf.data(), len, err) != len) {
                same = false;
                break;
            }
            invalidate(p + done, len);  // another host may have written it
            same = std::memcmp(p + done, buf.data(), len) == 0;
            progress.add(len);
        }
    });
    ::close(fd);
    if (!err.empty()) command_error("reading '{}': {}", src, err);
    return same;
}

// Reads `src` straight into the file's device ranges, then flushes them.
void copy_data(Stager& fs, const NodeInfo& f, const std::string& src, Progress& progress) {
    const int fd = open_source(src);
    std::string err;
    fs.for_each_range(f, 0, f.size, [&](uint8_t* p, uint64_t n) {
        for (uint64_t done = 0; err.empty() && done < n; done += kChunk) {
            const uint64_t len = std::min(kChunk, n - done);
            if (read_full(fd, p + done, len, err) != len && err.empty())
                err = "the file shrank while it was copied";
            flush(p + done, len);
            progress.add(len);
        }
    });
    ::close(fd);
    if (!err.empty())
        command_error(
            "reading '{}': {}; the famfs file exists now with the full size: rerun cp to "
            "finish it",
            src, err);
}

int run_cp(const GlobalOptions& g, const CpArgs& a) {
    if (a.paths.size() < 2) usage_error("give at least one SRC and a DEST");
    if (!a.threads.empty()) parse_u64(a.threads, "thread count");
    const std::vector<std::string> srcs(a.paths.begin(), a.paths.end() - 1);
    const Target dest = resolve(g, a.paths.back());
    require_writable_mount(dest);

    const FileSpec base =
        parse_file_spec(a.mode.empty() ? "0644" : a.mode, a.user, a.group, a.nstrips, a.nbuckets, a.chunk);

    // Small copies of plain files go through the mount's daemon (stager.h);
    // -r copies replay the log here (their size is not known before planning).
    auto fs = open_stager(g, dest, a.recursive ? kMaxRemoteItems + 1 : srcs.size());

    std::vector<Op> ops;
    uint64_t symlinks = 0;
    {
        // Every file and directory is checked and allocated (staged) before
        // the first entry is appended: cp either copies all or changes nothing.
        auto& batch = *fs;
        const auto dest_kind = batch.kind(dest.relpath);
        if (srcs.size() > 1 && dest_kind != Copier::Kind::Dir)
            usage_error("target '{}' is not a directory", a.paths.back());
        Copier copier(a, dest, batch, base);
        for (const std::string& src : srcs) {
            std::string s = src;
            while (s.size() > 1 && s.back() == '/') s.pop_back();
            const std::string name = std::filesystem::path(s).filename().string();
            copier.plan_source(
                s, dest_kind == Copier::Kind::Dir ? join(dest.relpath, name) : dest.relpath);
        }
        if (copier.no_room_at())
            no_room(fs->free_bytes(), dest.device, copier.needed_bytes(), copier.new_files(),
                    *copier.no_room_at());
        ops = copier.ops();
        symlinks = copier.symlinks_skipped();
        batch.commit();
        // Only now that the whole copy holds, so a failing cp stays one line.
        for (const std::string& w : copier.warnings())
            std::fprintf(stderr, "famfs cp: warning: %s\n", w.c_str());
    }
    uint64_t total = 0, nfiles = 0;
    for (const Op& op : ops)
        if (op.kind != Op::Kind::Mkdir) {
            total += op.size;
            ++nfiles;
        }
    Progress progress("cp", total, nfiles, a.quiet);
    uint64_t files = 0, dirs = 0, skipped = 0, rewritten = 0, bytes = 0;
    std::string last_new;
    for (const Op& op : ops) {
        if (op.kind == Op::Kind::Mkdir) {
            ++dirs;
            last_new = op.relpath;
            continue;
        }
        const PathInfo info = fs->query(op.relpath);
        if (!info.committed) command_error("'{}' vanished after it was created", op.relpath);
        const NodeInfo& f = *info.committed;
        if (op.kind == Op::Kind::Existing) {
            if (same_content(*fs, f, op.src, progress)) {
                ++skipped;
                progress.add(0, 1);
                if (a.verbose) {
                    progress.finish();
                    std::printf("skipped %s (same size and content as '%s')\n",
                                shown(dest, op.relpath).c_str(), op.src.c_str());
                }
                continue;
            }
            // Allocated by an earlier cp that did not finish, or changed at
            // the source since: famfs cannot resize, but it can rewrite.
            copy_data(*fs, f, op.src, progress);
            progress.add(0, 1);
            ++rewritten;
            bytes += op.size;
            progress.finish();
            std::printf("rewrote %s: its content differed from '%s' (an interrupted copy?)\n",
                        shown(dest, op.relpath).c_str(), op.src.c_str());
            continue;
        }
        copy_data(*fs, f, op.src, progress);
        progress.add(0, 1);
        ++files;
        bytes += op.size;
        last_new = op.relpath;
        if (a.verbose) {
            progress.finish();
            std::printf("'%s' -> '%s'\n", op.src.c_str(), shown(dest, op.relpath).c_str());
        }
    }
    progress.finish();
    if (a.verbose || rewritten || symlinks)
        std::printf(
            "copied %s, rewrote %llu, skipped %llu unchanged (%s written), created %s%s\n",
            plural(files, "file").c_str(), static_cast<unsigned long long>(rewritten),
            static_cast<unsigned long long>(skipped), human_size(bytes).c_str(),
            plural(dirs, "directory", "directories").c_str(),
            symlinks ? fmt::format(", skipped {} (use -L to follow)", plural(symlinks, "symlink"))
                           .c_str()
                     : "");
    if (!last_new.empty()) settle_mount(dest, last_new);
    return kExitOk;
}

}  // namespace

void add_cp(CLI::App& app, GlobalOptions& g) {
    auto a = std::make_shared<CpArgs>();
    CLI::App* cmd = add_command(
        app,
        {.name = "cp",
         .summary = "copy local files and directory trees into famfs",
         .synopsis = "cp [-v] [-m MODE] [-u USER] [-g GROUP] SRC DEST\n"
                     "cp -r [-L] [-v] [OPTIONS] SRC... DIR\n"
                     "cp [-N NSTRIPS -B NBUCKETS -C CHUNKSIZE] SRC... DEST",
         .description =
             "Copies files from the local filesystem into famfs. Each famfs file is\n"
             "created with the size and permission bits of its source (or -m MODE),\n"
             "owned by the caller (or -u/-g), and the data is read straight into the\n"
             "device mapping and flushed. As with cp(1): with one SRC, DEST is the new\n"
             "file (or, with -r, the new directory) unless it is an existing directory,\n"
             "in which case SRC is copied into it; with several SRCs, DEST must be a\n"
             "directory. Copying a directory needs -r.\n"
             "\n"
             "Restartable: a destination file that already exists with the source's\n"
             "size is compared with the source; if the bytes differ (a copy that was\n"
             "interrupted, or a source that changed) it is rewritten and a line says\n"
             "so. One with another size is an error (famfs files cannot be resized or\n"
             "replaced), and existing directories are merged into. -v lists each file\n"
             "copied or skipped and why.\n"
             "\n"
             "Symlinks inside a tree are skipped and counted in the summary; -L follows\n"
             "them, as cp -L does. Empty files (famfs files cannot be empty) and\n"
             "special files are skipped with a warning. Everything is checked and\n"
             "allocated before the first file is created. On a terminal, progress is\n"
             "shown (bytes, files, rate, ETA); -q hides it.\n"
             "\n"
             "Under a famfs mount on the owner host, a copy of up to 256 files (not -r)\n"
             "is carried out by the mount's daemon, which holds the replayed log already, so\n"
             "it costs a few milliseconds whatever the log's length (docs/metadata.md).\n"
             "FAMFS_CONTROL=off makes the command work on the device itself (replaying\n"
             "the log); FAMFS_CONTROL=require fails instead of doing so.",
         .examples = "famfs cp model.bin /mnt/famfs/\n"
                     "famfs cp -r dataset /mnt/famfs/     # interrupted? rerun it to resume\n"
                     "famfs cp -r -L -m 0444 tree-with-links /mnt/famfs/\n"
                     "famfs --device /dev/dax0.0 cp -rv ./tree /",
         .exit_status = ""},
        [&g, a] { return run_cp(g, *a); });
    cmd->add_option("SRC... DEST", a->paths, "local sources, then the famfs destination")
        ->required()
        ->expected(2, -1)
        ->type_name("");
    cmd->add_flag("-r,-R,--recursive", a->recursive, "copy directories recursively");
    cmd->add_flag("-L,--dereference", a->dereference, "follow symlinks in trees (as cp -L)");
    cmd->add_option("-m,--mode", a->mode,
                    "permission bits of created files (default: the source's)")
        ->type_name("MODE");
    add_file_spec_options(cmd, a->user, a->group, a->nstrips, a->nbuckets, a->chunk);
    cmd->add_option("-t,--threadct", a->threads, "upstream's copy threads (accepted; one here)")
        ->type_name("N");
    cmd->add_flag("-c,--compare", a->compare,
                  "upstream's compare option (accepted: existing files are always compared)");
    cmd->add_flag("-v,--verbose", a->verbose, "print each file copied or skipped, and a summary");
    cmd->add_flag("-q,--quiet", a->quiet, "no progress display");
}

}  // namespace famfs::cli
