// famfs verify: check a file against the seeded pattern of `famfs creat -S`.
#include <cstdio>

#include "cli.h"
#include "famfs/cache.h"
#include "famfs/pattern.h"
#include "progress.h"

namespace famfs::cli {

namespace {

struct VerifyArgs {
    std::vector<std::string> paths;
    std::vector<std::string> files;  // upstream's -f FILE
    std::vector<std::string> multi;  // upstream's -m FILE,SEED
    std::string seed;
    std::string threads;
    bool verbose = false;
    bool quiet = false;
};

// The first file offset that differs from the pattern, if any.
std::optional<uint64_t> first_mismatch(const Filesystem& fs, const Node& f, uint64_t seed,
                                       Progress& progress) {
    std::optional<uint64_t> bad;
    uint64_t off = 0;
    fs.for_each_range(f, 0, f.size, [&](uint8_t* p, uint64_t n) {
        constexpr uint64_t kStep = 16ULL << 20;
        for (uint64_t done = 0; done < n && !bad; done += kStep) {
            const uint64_t len = std::min(kStep, n - done);
            invalidate(p + done, len);  // another host may have written it
            bad = check_pattern(p + done, off + done, len, seed);
            progress.add(len);
        }
        off += n;
    });
    if (!bad && off < f.size) bad = off;  // the map ends before the file does
    progress.add(0, 1);
    return bad;
}

int run_verify(const GlobalOptions& g, const VerifyArgs& a) {
    if (!a.threads.empty()) parse_u64(a.threads, "thread count");
    // (path, seed) pairs: PATHs and -f FILEs with -S SEED, then -m FILE,SEED.
    std::vector<std::pair<std::string, uint64_t>> work;
    std::vector<std::string> paths = a.files;
    paths.insert(paths.end(), a.paths.begin(), a.paths.end());
    if (!paths.empty()) {
        if (a.seed.empty()) usage_error("give the seed the files were filled with: -S SEED");
        const uint64_t seed = parse_seed(a.seed);
        for (const std::string& p : paths) work.emplace_back(p, seed);
    } else if (!a.seed.empty() && a.multi.empty()) {
        usage_error("name a file to verify: PATH or -f FILE");
    }
    for (const std::string& m : a.multi) {
        const size_t comma = m.rfind(',');
        if (comma == std::string::npos || comma == 0)
            usage_error("invalid --multi '{}': expected FILE,SEED", m);
        work.emplace_back(m.substr(0, comma), parse_seed(m.substr(comma + 1)));
    }
    if (work.empty()) usage_error("name a file to verify: -S SEED PATH, -f FILE or -m FILE,SEED");

    std::string device;
    std::vector<Target> targets;
    for (const auto& [p, seed] : work) {
        targets.push_back(resolve(g, p));
        if (device.empty())
            device = targets.back().device;
        else if (targets.back().device != device)
            usage_error("{} is on {}, the others on {}; one command works on one device", p,
                        targets.back().device, device);
    }
    auto fs = open_fs(g, device, /*writable=*/false);
    uint64_t total = 0;
    std::vector<const Node*> nodes;
    for (size_t i = 0; i < targets.size(); ++i) {
        nodes.push_back(&file_node(*fs, targets[i].relpath, work[i].first));
        total += nodes.back()->size;
    }
    Progress progress("verify", total, nodes.size(), a.quiet);
    int rc = kExitOk;
    for (size_t i = 0; i < targets.size(); ++i) {
        const Node& f = *nodes[i];
        const auto& [path, seed] = work[i];
        if (auto bad = first_mismatch(*fs, f, seed, progress)) {
            progress.finish();
            // One line per bad file; the first bad offset is what a user needs.
            std::fprintf(
                stderr,
                "famfs verify: %s: mismatch at offset %llu (0x%llx) of %llu bytes (seed %llu)\n",
                path.c_str(), static_cast<unsigned long long>(*bad),
                static_cast<unsigned long long>(*bad), static_cast<unsigned long long>(f.size),
                static_cast<unsigned long long>(seed));
            rc = kExitFailure;
        } else if (a.verbose) {
            progress.finish();
            std::printf("%s: ok (%llu bytes, seed %llu)\n", path.c_str(),
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
         .synopsis = "verify -S SEED [-v] [-q] PATH...\n"
                     "verify -S SEED -f FILE          (upstream's spelling)\n"
                     "verify -m FILE,SEED [-m FILE,SEED]...",
         .description =
             "Reads every byte of each file through the device mapping (dropping stale\n"
             "cache lines first) and compares it with the deterministic pattern that\n"
             "`famfs creat -S SEED` writes. Prints nothing for a good file (unless -v)\n"
             "and one line naming the first bad offset for a bad one. Works on a client\n"
             "host as well: the device is opened read-only, and this host's identity is\n"
             "not needed. The pattern is upstream famfs's, so files filled by either\n"
             "implementation verify on the other. On a terminal, progress is shown\n"
             "(bytes, rate, ETA); -q hides it.",
         .examples = "famfs creat -s 256M -S 7 /mnt/famfs/f && famfs verify -S 7 /mnt/famfs/f\n"
                     "famfs --device /dev/dax0.0 verify -S 7 f",
         .exit_status = "0  every file matches the pattern\n"
                        "1  a file differs (the first bad offset is printed), or another failure\n"
                        "2  usage error, or the device or file cannot be opened"},
        [&g, a] { return run_verify(g, *a); });
    cmd->add_option("PATH", a->paths, "file(s) to check")->type_name("PATH...");
    cmd->add_option("-S,--seed", a->seed, "the seed the file was filled with")->type_name("SEED");
    cmd->add_option("-f,--filename", a->files, "upstream's spelling of a PATH (repeatable)")
        ->type_name("FILE");
    cmd->add_option("-m,--multi", a->multi, "check FILE against SEED (repeatable; no -S needed)")
        ->type_name("FILE,SEED");
    cmd->add_option("-t,--threadct", a->threads, "upstream's verify threads (accepted; one here)")
        ->type_name("N");
    cmd->add_flag("-v,--verbose", a->verbose, "print a line for each good file too");
    cmd->add_flag("-q,--quiet", a->quiet, "no progress display");
}

}  // namespace famfs::cli
