// famfs verify: check a file against the seeded pattern of `famfs creat -S`.
#include <cstdio>

#include "cli.h"
#include "famfs/cache.h"
#include "famfs/pattern.h"

namespace famfs::cli {

namespace {

struct VerifyArgs {
    std::vector<std::string> paths;
    std::string seed;
    bool verbose = false;
};

// The first file offset that differs from the pattern, if any.
std::optional<uint64_t> first_mismatch(const Filesystem& fs, const Node& f, uint64_t seed) {
    std::optional<uint64_t> bad;
    uint64_t off = 0;
    fs.for_each_range(f, 0, f.size, [&](uint8_t* p, uint64_t n) {
        constexpr uint64_t kStep = 16ULL << 20;
        for (uint64_t done = 0; done < n && !bad; done += kStep) {
            const uint64_t len = std::min(kStep, n - done);
            invalidate(p + done, len);  // another host may have written it
            bad = check_pattern(p + done, off + done, len, seed);
        }
        off += n;
    });
    if (!bad && off < f.size) bad = off;  // the map ends before the file does
    return bad;
}

int run_verify(const GlobalOptions& g, const VerifyArgs& a) {
    const uint64_t seed = parse_u64(a.seed, "seed");
    std::string device;
    std::vector<Target> targets;
    for (const std::string& p : a.paths) {
        targets.push_back(resolve(g, p));
        if (device.empty())
            device = targets.back().device;
        else if (targets.back().device != device)
            usage_error("{} is on {}, the others on {}; one command works on one device", p,
                        targets.back().device, device);
    }
    auto fs = open_fs(g, device, /*writable=*/false);
    int rc = kExitOk;
    for (size_t i = 0; i < targets.size(); ++i) {
        const Node& f = file_node(*fs, targets[i].relpath, a.paths[i]);
        if (auto bad = first_mismatch(*fs, f, seed)) {
            // One line per bad file; the first bad offset is what a user needs.
            std::fprintf(
                stderr,
                "famfs verify: %s: mismatch at offset %llu (0x%llx) of %llu bytes (seed %llu)\n",
                a.paths[i].c_str(), static_cast<unsigned long long>(*bad),
                static_cast<unsigned long long>(*bad), static_cast<unsigned long long>(f.size),
                static_cast<unsigned long long>(seed));
            rc = kExitFailure;
        } else if (a.verbose) {
            std::printf("%s: ok (%llu bytes, seed %llu)\n", a.paths[i].c_str(),
                        static_cast<unsigned long long>(f.size),
                        static_cast<unsigned long long>(seed));
        }
    }
    return rc;
}

}  // namespace

void add_verify(CLI::App& app, GlobalOptions& g) {
    auto a = std::make_shared<VerifyArgs>();
    CLI::App* cmd = add_command(
        app,
        {.name = "verify",
         .summary = "check that a file holds the pattern of a seed",
         .synopsis = "verify -S SEED [-v] PATH...",
         .description =
             "Reads every byte of each file through the device mapping (dropping stale\n"
             "cache lines first) and compares it with the deterministic pattern that\n"
             "`famfs creat -S SEED` writes. Prints nothing for a good file (unless -v)\n"
             "and one line naming the first bad offset for a bad one. Works on a client\n"
             "host as well: the device is opened read-only.",
         .examples = "famfs creat -s 256M -S 7 /mnt/famfs/f && famfs verify -S 7 /mnt/famfs/f\n"
                     "famfs --device /dev/dax0.0 verify -S 7 f",
         .exit_status = "0  every file matches the pattern\n"
                        "1  a file differs (the first bad offset is printed), or another failure\n"
                        "2  usage error, or the device or file cannot be opened"},
        [&g, a] { return run_verify(g, *a); });
    cmd->add_option("PATH", a->paths, "file(s) to check")->required();
    cmd->add_option("-S,--seed", a->seed, "the seed the file was filled with")
        ->required()
        ->type_name("N");
    cmd->add_flag("-v,--verbose", a->verbose, "print a line for each good file too");
}

}  // namespace famfs::cli
