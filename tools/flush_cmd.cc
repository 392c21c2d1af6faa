// famfs flush: write a file's bytes back from this host's CPU caches.
#include <cstdio>

#include "cli.h"
#include "famfs/cache.h"

namespace famfs::cli {

namespace {

struct FlushArgs {
    std::vector<std::string> paths;
    bool verbose = false;
};

int run_flush(const GlobalOptions& g, const FlushArgs& a) {
    for (const std::string& p : a.paths) {
        Target t = resolve(g, p);
        auto fs = open_fs(g, t.device, /*writable=*/false);
        const Node& f = file_node(*fs, t.relpath, p);
        fs->for_each_range(f, 0, f.size, [](uint8_t* ptr, uint64_t n) { flush(ptr, n); });
        if (a.verbose)
            std::printf("%s: %llu bytes flushed%s\n", p.c_str(),
                        static_cast<unsigned long long>(f.size),
                        is_coherent() ? " (coherent: nothing to do)" : "");
    }
    return kExitOk;
}

}  // namespace

void add_flush(CLI::App& app, GlobalOptions& g) {
    auto a = std::make_shared<FlushArgs>();
    CLI::App* cmd = add_command(
        app,
        {.name = "flush",
         .summary = "write files' data back from the CPU caches to the shared memory",
         .synopsis = "flush [-v] PATH...",
         .description =
             "On memory that is not cache-coherent between hosts, data written through\n"
             "a mapping can sit in this host's CPU caches where other hosts cannot see\n"
             "it. flush writes back every cache line of each file's extents (clwb or\n"
             "clflushopt, then a fence). famfs creat -S and famfs cp already flush what\n"
             "they write; use this after writing through your own mmap. With --coherent\n"
             "(or FAMFS_COHERENT=1) it does nothing.",
         .examples = "famfs flush /mnt/famfs/results/*.dat",
         .exit_status = ""},
        [&g, a] { return run_flush(g, *a); });
    cmd->add_option("PATH", a->paths, "famfs file(s)")->required();
    cmd->add_flag("-v,--verbose", a->verbose, "print each file flushed");
}

}  // namespace famfs::cli
