// famfs cp: copy files and trees from the local filesystem into famfs.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cli.h"
#include "famfs/cache.h"

namespace famfs::cli {

namespace {

struct CpArgs {
    std::vector<std::string> paths;  // SRC... DEST
    bool recursive = false;
    bool verbose = false;
};

// One step of the copy, decided before anything is written.
struct Op {
    enum class Kind { Mkdir, Create, Skip } kind;
    std::string src;
    std::string relpath;
    uint64_t size = 0;
    uint32_t mode = 0;
};

std::string join(const std::string& dir, const std::string& name) {
    return dir.empty() ? name : dir + "/" + name;
}

std::string shown(const Target& dest, const std::string& rel) {
    return dest.mountpoint.empty() ? "/" + rel : join(dest.mountpoint, rel);
}

class Copier {
public:
    using Kind = Filesystem::Batch::Kind;
    Copier(const CpArgs& a, const Target& dest, Filesystem::Batch& batch)
        : a_(a), dest_(dest), batch_(batch) {}

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

private:
    void plan_file(const std::string& src, const std::string& rel, const struct stat& st) {
        const uint64_t size = static_cast<uint64_t>(st.st_size);
        switch (batch_.kind(rel)) {
            case Kind::Dir:
                command_error("cannot overwrite directory '{}' with non-directory '{}'",
                              shown(dest_, rel), src);
            case Kind::File:
                // Restartable: a destination of the right size is taken as done.
                if (batch_.file_size(rel) != size)
                    command_error(
                        "'{}' already exists with size {}, but '{}' has {} bytes; famfs "
                        "files cannot be resized or replaced",
                        shown(dest_, rel), batch_.file_size(rel), src, size);
                ops_.push_back({Op::Kind::Skip, src, rel, size, 0});
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
        FileSpec spec;
        spec.relpath = rel;
        spec.size = size;
        spec.mode = st.st_mode & 07777;
        spec.uid = getuid();
        spec.gid = getgid();
        batch_.create_file(spec);
        ops_.push_back({Op::Kind::Create, src, rel, size, spec.mode});
    }

    void plan_dir(const std::string& src, const std::string& rel, const struct stat& st) {
        switch (batch_.kind(rel)) {
            case Kind::File:
                command_error("cannot overwrite non-directory '{}' with directory '{}'",
                              shown(dest_, rel), src);
            case Kind::Dir:
                break;  // merge into it (a rerun, or cp -r into an existing tree)
            case Kind::None:
                batch_.mkdir({rel, st.st_mode & 07777, getuid(), getgid()});
                ops_.push_back({Op::Kind::Mkdir, src, rel, 0, st.st_mode & 07777});
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
            if (S_ISDIR(cst.st_mode))
                plan_dir(child, join(rel, name), cst);
            else if (S_ISREG(cst.st_mode))
                plan_file(child, join(rel, name), cst);
            else
                warnings_.push_back(
                    fmt::format("skipping '{}': not a regular file or directory", child));
        }
    }

    const CpArgs& a_;
    const Target& dest_;
    Filesystem::Batch& batch_;
    std::vector<Op> ops_;
    std::vector<std::string> warnings_;
};

// Reads `src` straight into the file's device ranges, then flushes them.
void copy_data(const Filesystem& fs, const Node& f, const std::string& src) {
    const int fd = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) command_error("cannot open '{}': {}", src, std::strerror(errno));
    std::string err;
    fs.for_each_range(f, 0, f.size, [&](uint8_t* p, uint64_t n) {
        uint64_t done = 0;
        while (err.empty() && done < n) {
            const ssize_t got = ::read(fd, p + done, std::min<uint64_t>(n - done, 1ULL << 30));
            if (got < 0 && errno == EINTR) continue;
            if (got < 0)
                err = std::strerror(errno);
            else if (got == 0)
                err = "the file shrank while it was copied";
            else
                done += static_cast<uint64_t>(got);
        }
        flush(p, done);
    });
    ::close(fd);
    if (!err.empty())
        command_error(
            "reading '{}': {}; the famfs file exists now with the full size, so "
            "rerunning cp will skip it: check it",
            src, err);
}

int run_cp(const GlobalOptions& g, const CpArgs& a) {
    if (a.paths.size() < 2) usage_error("give at least one SRC and a DEST");
    const std::vector<std::string> srcs(a.paths.begin(), a.paths.end() - 1);
    const Target dest = resolve(g, a.paths.back());
    auto fs = open_fs(g, dest.device, /*writable=*/true);

    std::vector<Op> ops;
    std::vector<const Node*> nodes;
    {
        // Every file and directory is checked and allocated (staged) before
        // the first entry is appended: cp either copies all or changes nothing.
        auto batch = fs->batch();
        const auto dest_kind = batch.kind(dest.relpath);
        if (srcs.size() > 1 && dest_kind != Copier::Kind::Dir)
            usage_error("target '{}' is not a directory", a.paths.back());
        Copier copier(a, dest, batch);
        for (const std::string& src : srcs) {
            std::string s = src;
            while (s.size() > 1 && s.back() == '/') s.pop_back();
            const std::string name = std::filesystem::path(s).filename().string();
            copier.plan_source(
                s, dest_kind == Copier::Kind::Dir ? join(dest.relpath, name) : dest.relpath);
        }
        ops = copier.ops();
        batch.commit();
        // Only now that the whole copy holds, so a failing cp stays one line.
        for (const std::string& w : copier.warnings())
            std::fprintf(stderr, "famfs cp: warning: %s\n", w.c_str());
    }
    for (const Op& op : ops)
        nodes.push_back(op.kind == Op::Kind::Create ? fs->tree().resolve(op.relpath) : nullptr);
    uint64_t files = 0, dirs = 0, skipped = 0, bytes = 0;
    for (size_t i = 0; i < ops.size(); ++i) {
        const Op& op = ops[i];
        if (op.kind == Op::Kind::Mkdir) {
            ++dirs;
        } else if (op.kind == Op::Kind::Skip) {
            ++skipped;
            if (a.verbose)
                std::printf("skipped %s (exists with the same size)\n",
                            shown(dest, op.relpath).c_str());
        } else {
            copy_data(*fs, *nodes[i], op.src);
            ++files;
            bytes += op.size;
            if (a.verbose)
                std::printf("'%s' -> '%s'\n", op.src.c_str(), shown(dest, op.relpath).c_str());
        }
    }
    if (a.verbose)
        std::printf("copied %llu files (%llu bytes), created %llu directories, skipped %llu\n",
                    static_cast<unsigned long long>(files), static_cast<unsigned long long>(bytes),
                    static_cast<unsigned long long>(dirs),
                    static_cast<unsigned long long>(skipped));
    for (auto it = ops.rbegin(); it != ops.rend(); ++it)
        if (it->kind != Op::Kind::Skip) {
            settle_mount(dest, it->relpath);
            break;
        }
    return kExitOk;
}

}  // namespace

void add_cp(CLI::App& app, GlobalOptions& g) {
    auto a = std::make_shared<CpArgs>();
    CLI::App* cmd = add_command(
        app,
        {.name = "cp",
         .summary = "copy local files and directory trees into famfs",
         .synopsis = "cp [-v] SRC DEST\n"
                     "cp [-r] [-v] SRC... DIR",
         .description = "Copies files from the local filesystem into famfs. Each famfs file is\n"
                        "created with the size and permission bits of its source (owned by the\n"
                        "caller) and the data is read straight into the device mapping and\n"
                        "flushed. As with cp(1): with one SRC, DEST is the new file (or, with -r,\n"
                        "the new directory) unless it is an existing directory, in which case\n"
                        "SRC is copied into it; with several SRCs, DEST must be a directory.\n"
                        "Copying a directory needs -r.\n"
                        "\n"
                        "Restartable: a destination file that already exists with the source's\n"
                        "size is skipped, one with another size is an error (famfs files cannot\n"
                        "be resized or replaced), and existing directories are merged into.\n"
                        "Empty source files are skipped with a warning (famfs files cannot be\n"
                        "empty); symlinks and special files inside a tree are skipped too.\n"
                        "Everything is checked and allocated before the first file is created.",
         .examples = "famfs cp model.bin /mnt/famfs/\n"
                     "famfs cp -r dataset /mnt/famfs/     # interrupted? rerun it to resume\n"
                     "famfs --device /dev/dax0.0 cp -rv ./tree /",
         .exit_status = ""},
        [&g, a] { return run_cp(g, *a); });
    cmd->add_option("SRC... DEST", a->paths, "local sources, then the famfs destination")
        ->required()
        ->expected(2, -1);
    cmd->add_flag("-r,-R,--recursive", a->recursive, "copy directories recursively");
    cmd->add_flag("-v,--verbose", a->verbose, "print each file copied and a summary");
}

}  // namespace famfs::cli
