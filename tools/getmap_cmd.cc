// famfs getmap: where a file's bytes live on the device.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

#include "cli.h"
#include "show.h"

namespace famfs::cli {

namespace {

struct GetmapArgs {
    std::vector<std::string> paths;
    bool json = false;
    bool quiet = false;
};

// Upstream's getmap -q answers with its exit code only.
constexpr int kQuietNotFamfs = 1;   // the file is not in a famfs filesystem
constexpr int kQuietNotMapped = 2;  // famfs, but no map
constexpr int kQuietNotFound = EBADF;
constexpr int kQuietNotRegular = EISDIR;

int quiet_status(const GlobalOptions& g, const std::string& path) {
    struct stat st;
    if (g.device.empty() && ::stat(path.c_str(), &st) != 0) return kQuietNotFound;
    Target t;
    try {
        t = resolve(g, path);
    } catch (const CommandError&) {
        return kQuietNotFamfs;
    }
    auto fs = open_fs(g, t.device, /*writable=*/false);
    const Node* n = fs->tree().resolve(t.relpath);
    if (!n) return kQuietNotFound;
    if (n->is_dir()) return kQuietNotRegular;
    return n->fmap.count == 0 ? kQuietNotMapped : kExitOk;
}

void show(const GlobalOptions& g, const std::string& path, bool json) {
    Target t = resolve(g, path);
    auto fs = open_fs(g, t.device, /*writable=*/false);
    const Node& f = file_node(*fs, t.relpath, path);
    if (json) {
        nlohmann::json j = fmap_json(f.fmap);
        j["path"] = json_text(t.relpath);
        j["size"] = f.size;
        j["mode"] = format_mode(f.mode);
        j["uid"] = f.uid;
        j["gid"] = f.gid;
        j["flags"] = f.flags;
        j["log_index"] = f.log_index;
        j["device"] = json_text(t.device);
        std::printf("%s\n", dump_json(j).c_str());
        return;
    }
    std::printf("file:      %s\n", t.relpath.c_str());
    std::printf("device:    %s\n", t.device.c_str());
    std::printf("size:      %llu\n", static_cast<unsigned long long>(f.size));
    std::printf("mode:      %s  uid %u  gid %u\n", format_mode(f.mode).c_str(), f.uid, f.gid);
    std::printf("log index: %llu\n", static_cast<unsigned long long>(f.log_index));
    std::printf("%s", fmap_lines(f.fmap, "").c_str());
}

int run_getmap(const GlobalOptions& g, const GetmapArgs& a) {
    if (a.quiet) {
        for (const std::string& p : a.paths)
            if (const int rc = quiet_status(g, p); rc != kExitOk) return rc;
        return kExitOk;
    }
    if (a.json && a.paths.size() > 1) usage_error("--json shows one file: give one PATH");
    for (const std::string& p : a.paths) show(g, p, a.json);
    return kExitOk;
}

}  // namespace

void add_getmap(CLI::App& app, GlobalOptions& g) {
    auto a = std::make_shared<GetmapArgs>();
    CLI::App* cmd = add_command(
        app,
        {.name = "getmap",
         .summary = "show the extents a file occupies on the device",
         .synopsis = "getmap [--json] PATH\n"
                     "getmap -q PATH...",
         .description =
             "Prints the file's size, owner and mode and its map: either simple extents\n"
             "(devindex, device offset, length) or an interleaved extent (number of\n"
             "strips, chunk size and the strips). Offsets and lengths are in bytes.\n"
             "With --json the same is printed as one JSON object: path, size, mode,\n"
             "uid, gid, flags, log_index, device, ext_type, and either extents\n"
             "[{devindex, offset, len}] or interleave {nstrips, chunk_size, strips}.\n"
             "With -q (upstream's --quiet) nothing is printed and the exit status says\n"
             "what each PATH is, with upstream's codes (below). Read-only: this host's\n"
             "identity is not needed.",
         .examples = "famfs getmap /mnt/famfs/dir1/f1\n"
                     "famfs --device /dev/dax0.0 getmap --json striped",
         .exit_status = "0  success (-q: every PATH is a mapped famfs file)\n"
                        "1  the command failed (-q: a PATH is not in a famfs filesystem)\n"
                        "2  usage error, or the device cannot be opened (-q: a famfs file\n"
                        "   without a map)\n"
                        "9  (-q only, EBADF) a PATH does not exist\n"
                        "21 (-q only, EISDIR) a PATH is not a regular file"},
        [&g, a] { return run_getmap(g, *a); });
    cmd->add_option("PATH", a->paths, "famfs file(s)")->required()->type_name("PATH...");
    cmd->add_flag("--json", a->json, "print JSON");
    cmd->add_flag("-q,--quiet", a->quiet, "print nothing; the exit status says (upstream's codes)");
}

}  // namespace famfs::cli
