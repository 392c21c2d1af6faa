// famfs creat: pre-allocate files, optionally filled with the seeded pattern.
// --multi creates any number of files under one lock and one log catch-up.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "famfs/cache.h"
#include "famfs/pattern.h"

namespace famfs::cli {

namespace {

struct CreatArgs {
    std::vector<std::string> paths;
    std::string size;
    std::string seed;
    std::string mode = "0644";
    int64_t uid = -1;
    int64_t gid = -1;
    std::string nstrips, nbuckets, chunk;
    bool multi = false;
    std::string list;
    bool verbose = false;
};

struct Item {
    std::string shown;  // as the user wrote it
    std::string relpath;
    uint64_t size = 0;
    std::optional<uint64_t> seed;
};

// "path,size[,seed]" lines; blank lines and '#' comments are skipped.
std::vector<Item> read_list(const std::string& file, std::optional<uint64_t> default_seed) {
    std::ifstream f;
    std::istream* in = &std::cin;
    if (file != "-") {
        f.open(file);
        if (!f) usage_error("cannot read list file {}: {}", file, std::strerror(errno));
        in = &f;
    }
    std::vector<Item> items;
    std::string line;
    for (size_t lineno = 1; std::getline(*in, line); ++lineno) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> fields;
        std::istringstream ss(line);
        for (std::string fld; std::getline(ss, fld, ',');) fields.push_back(fld);
        if (fields.size() < 2 || fields.size() > 3)
            usage_error("{} line {}: expected 'path,size[,seed]', got '{}'", file, lineno, line);
        const std::string where = fmt::format("size on {} line {}", file, lineno);
        Item it{fields[0], {}, parse_size(fields[1], where), default_seed};
        if (fields.size() == 3)
            it.seed = parse_u64(fields[2], fmt::format("seed on {} line {}", file, lineno));
        items.push_back(std::move(it));
    }
    if (items.empty()) usage_error("list file {} names no files", file);
    return items;
}

// Writes the pattern straight into the device mapping, then flushes it.
void fill(const Filesystem& fs, const Node& f, uint64_t seed) {
    uint64_t off = 0;
    fs.for_each_range(f, 0, f.size, [&](uint8_t* p, uint64_t n) {
        constexpr uint64_t kStep = 64ULL << 20;  // bound each flush to a cache-friendly piece
        for (uint64_t done = 0; done < n; done += kStep) {
            const uint64_t len = std::min(kStep, n - done);
            fill_pattern(p + done, off + done, len, seed);
            flush(p + done, len);
        }
        off += n;
    });
}

int run_creat(const GlobalOptions& g, const CreatArgs& a) {
    std::optional<uint64_t> seed;
    if (!a.seed.empty()) seed = parse_u64(a.seed, "seed");
    const bool multi = a.multi || !a.list.empty();

    std::vector<Item> items;
    if (!a.list.empty()) {
        if (!a.paths.empty()) usage_error("give either --list FILE or PATHs, not both");
        items = read_list(a.list, seed);
    } else {
        if (a.paths.empty()) usage_error("name a PATH to create");
        if (a.paths.size() > 1 && !multi)
            usage_error("{} paths given; use --multi to create several files at once",
                        a.paths.size());
        if (a.size.empty()) usage_error("give the file size with -s SIZE");
        const uint64_t size = parse_size(a.size, "size");
        for (const std::string& p : a.paths) items.push_back({p, {}, size, seed});
    }

    FileSpec base;
    const Ownership own = parse_ownership(a.mode, a.uid, a.gid);
    base.mode = own.mode;
    base.uid = own.uid;
    base.gid = own.gid;
    const int nil = !a.nstrips.empty() + !a.nbuckets.empty() + !a.chunk.empty();
    if (nil != 0 && nil != 3)
        usage_error("interleaving needs all of -N NSTRIPS, -B NBUCKETS and -C CHUNKSIZE");
    if (nil == 3)
        base.interleave =
            InterleaveParams{parse_u64(a.nstrips, "nstrips"), parse_u64(a.nbuckets, "nbuckets"),
                             parse_size(a.chunk, "chunk size")};

    // Every path must land on one device.
    std::string device;
    Target where;  // the first path's target: its mount point, if any
    for (Item& it : items) {
        Target t = resolve(g, it.shown);
        if (device.empty()) {
            device = t.device;
            where = t;
        } else if (t.device != device)
            usage_error("{} is on {}, the others on {}; one command works on one device", it.shown,
                        t.device, device);
        if (t.relpath.empty()) usage_error("{}: is the root directory", it.shown);
        it.relpath = std::move(t.relpath);
    }

    auto fs = open_fs(g, device, /*writable=*/true);
    {
        // One lock and one catch-up for the whole command; every file is
        // checked and allocated before the first entry is appended.
        auto batch = fs->batch();
        for (const Item& it : items) {
            FileSpec spec = base;
            spec.relpath = it.relpath;
            spec.size = it.size;
            batch.create_file(spec);
        }
        batch.commit();
    }
    for (size_t i = 0; i < items.size(); ++i) {
        if (items[i].seed) fill(*fs, *fs->tree().resolve(items[i].relpath), *items[i].seed);
        if (a.verbose)
            std::printf("%s: %llu bytes%s\n", items[i].shown.c_str(),
                        static_cast<unsigned long long>(items[i].size),
                        items[i].seed ? fmt::format(", seed {}", *items[i].seed).c_str() : "");
    }
    if (multi) std::printf("created %zu files\n", items.size());
    settle_mount(where, items.back().relpath);
    return kExitOk;
}

}  // namespace

void add_creat(CLI::App& app, GlobalOptions& g) {
    auto a = std::make_shared<CreatArgs>();
    CLI::App* cmd = add_command(
        app,
        {.name = "creat",
         .summary = "create pre-allocated files, optionally filled with a seeded pattern",
         .synopsis = "creat -s SIZE [-S SEED] [-m MODE] [-u UID] [-g GID]\n"
                     "      [-N NSTRIPS -B NBUCKETS -C CHUNKSIZE] PATH\n"
                     "creat --multi -s SIZE [-S SEED] [OPTIONS] PATH...\n"
                     "creat --list FILE [-S SEED] [OPTIONS]",
         .description =
             "Creates a famfs file of SIZE bytes. famfs files are allocated when they are\n"
             "created and never grow, so the size is required. The parent directory must\n"
             "exist. Only the owner host of the filesystem can create files.\n"
             "\n"
             "With --seed SEED the file is filled with a deterministic pattern (every\n"
             "8-byte word is a function of SEED and its offset) written straight into the\n"
             "device mapping and flushed from the CPU caches; `famfs verify -S SEED`\n"
             "checks it. Without a seed the file's bytes are whatever the device held.\n"
             "\n"
             "Striping: -N NSTRIPS -B NBUCKETS -C CHUNKSIZE splits the device into\n"
             "NBUCKETS buckets (each >= 1 GiB) and places NSTRIPS strips in distinct\n"
             "buckets, interleaved every CHUNKSIZE bytes (a power of two, multiple of\n"
             "2 MiB). Files smaller than one chunk get a simple extent.\n"
             "\n"
             "Many files: --multi creates every PATH (all of size SIZE) and --list FILE\n"
             "creates the files listed one per line as 'path,size[,seed]' (size with an\n"
             "optional k/m/g suffix, seed defaulting to -S; '#' lines are comments;\n"
             "FILE '-' is stdin). All files are checked and allocated under one lock\n"
             "and one log replay before anything is written: if any file cannot be\n"
             "created (exists, no parent, no space, log full) nothing is created.",
         .examples = "famfs creat -s 1G /mnt/famfs/data0\n"
                     "famfs creat -s 64M -S 42 /mnt/famfs/test/f1 && famfs verify -S 42 "
                     "/mnt/famfs/test/f1\n"
                     "famfs creat -s 1G -N 4 -B 8 -C 2M /mnt/famfs/striped\n"
                     "famfs --device /dev/dax0.0 creat --multi -s 2M a b c\n"
                     "famfs --device /dev/dax0.0 creat --list files.csv   # lines: dir/f1,4M,7",
         .exit_status = ""},
        [&g, a] { return run_creat(g, *a); });
    cmd->add_option("PATH", a->paths, "file(s) to create")->type_name("PATH");
    cmd->add_option("-s,--size", a->size, "file size (k/m/g suffixes)")->type_name("SIZE");
    cmd->add_option("-S,--seed", a->seed, "fill with the pattern of this seed")->type_name("N");
    cmd->add_option("-m,--mode", a->mode, "permission bits, octal (default 0644)")
        ->type_name("MODE");
    cmd->add_option("-u,--uid", a->uid, "owner uid (default: the caller's)")->type_name("UID");
    cmd->add_option("-g,--gid", a->gid, "group gid (default: the caller's)")->type_name("GID");
    cmd->add_option("-N,--nstrips", a->nstrips, "strips per file (1..16)")->type_name("NSTRIPS");
    cmd->add_option("-B,--nbuckets", a->nbuckets, "buckets the device is split into (<= 64)")
        ->type_name("NBUCKETS");
    cmd->add_option("-C,--chunksize", a->chunk, "interleave chunk size (e.g. 2M)")
        ->type_name("CHUNKSIZE");
    cmd->add_flag("--multi", a->multi, "create every PATH (all of SIZE) in one batch");
    cmd->add_option("--list", a->list, "create the 'path,size[,seed]' lines of FILE ('-': stdin)")
        ->type_name("FILE");
    cmd->add_flag("-v,--verbose", a->verbose, "print each file created");
}

}  // namespace famfs::cli
