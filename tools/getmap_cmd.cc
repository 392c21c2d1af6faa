// famfs getmap: where a file's bytes live on the device.
#include <cstdio>

#include "cli.h"
#include "show.h"

namespace famfs::cli {

namespace {

struct GetmapArgs {
    std::string path;
    bool json = false;
};

int run_getmap(const GlobalOptions& g, const GetmapArgs& a) {
    Target t = resolve(g, a.path);
    auto fs = open_fs(g, t.device, /*writable=*/false);
    const Node& f = file_node(*fs, t.relpath, a.path);
    if (a.json) {
        nlohmann::json j = fmap_json(f.fmap);
        j["path"] = t.relpath;
        j["size"] = f.size;
        j["mode"] = format_mode(f.mode);
        j["uid"] = f.uid;
        j["gid"] = f.gid;
        j["flags"] = f.flags;
        j["log_index"] = f.log_index;
        j["device"] = t.device;
        std::printf("%s\n", j.dump(2).c_str());
        return kExitOk;
    }
    std::printf("file:      %s\n", t.relpath.c_str());
    std::printf("device:    %s\n", t.device.c_str());
    std::printf("size:      %llu\n", static_cast<unsigned long long>(f.size));
    std::printf("mode:      %s  uid %u  gid %u\n", format_mode(f.mode).c_str(), f.uid, f.gid);
    std::printf("log index: %llu\n", static_cast<unsigned long long>(f.log_index));
    std::printf("%s", fmap_lines(f.fmap, "").c_str());
    return kExitOk;
}

}  // namespace

void add_getmap(CLI::App& app, GlobalOptions& g) {
    auto a = std::make_shared<GetmapArgs>();
    CLI::App* cmd = add_command(
        app,
        {.name = "getmap",
         .summary = "show the extents a file occupies on the device",
         .synopsis = "getmap [--json] PATH",
         .description =
             "Prints the file's size, owner and mode and its map: either simple extents\n"
             "(devindex, device offset, length) or an interleaved extent (number of\n"
             "strips, chunk size and the strips). Offsets and lengths are in bytes.\n"
             "With --json the same is printed as one JSON object: path, size, mode,\n"
             "uid, gid, flags, log_index, device, ext_type, and either extents\n"
             "[{devindex, offset, len}] or interleave {nstrips, chunk_size, strips}.",
         .examples = "famfs getmap /mnt/famfs/dir1/f1\n"
                     "famfs --device /dev/dax0.0 getmap --json striped",
         .exit_status = ""},
        [&g, a] { return run_getmap(g, *a); });
    cmd->add_option("PATH", a->path, "famfs file")->required();
    cmd->add_flag("--json", a->json, "print JSON");
}

}  // namespace famfs::cli
