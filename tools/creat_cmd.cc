// famfs creat: pre-allocate files, optionally filled with the seeded pattern.
// --multi creates any number of files under one lock and one log catch-up.
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "famfs/cache.h"
#include "famfs/error.h"
#include "famfs/pattern.h"
#include "progress.h"
#include "stager.h"

namespace famfs::cli {

namespace {

struct CreatArgs {
    std::vector<std::string> paths;
    std::string size;
    std::string seed;
    bool randomize = false;
    std::string mode = "0644";
    std::string user, group;
    std::string nstrips, nbuckets, chunk;
    std::vector<std::string> multi;  // -M/--multi: bare (our flag) or FILE,SIZE[,SEED] (upstream)
    bool multi_given = false;
    std::string list;
    std::string threads;  // upstream's -t: accepted, one thread fills here
    bool verbose = false;
    bool quiet = false;
};

struct Item {
    std::string shown;  // as the user wrote it
    std::string relpath;
    uint64_t size = 0;
    std::optional<uint64_t> seed;
    bool exists = false;  // an existing file of the same size and attributes: a no-op
};

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> fields;
    std::istringstream ss(s);
    for (std::string f; std::getline(ss, f, ',');) fields.push_back(f);
    if (!s.empty() && s.back() == ',') fields.push_back("");
    return fields;
}

bool looks_like_size(const std::string& s) {
    try {
        parse_size(s, "size");
        return true;
    } catch (const CommandError&) {
        return false;
    }
}

// Upstream's --multi FILE,SIZE[,SEED] (SEED 0: no pattern, as upstream).
Item parse_multi_spec(const std::string& spec, std::optional<uint64_t> default_seed) {
    const auto f = split_commas(spec);
    if (f.size() < 2 || f.size() > 3 || f[0].empty())
        usage_error("invalid --multi '{}': expected FILE,SIZE[,SEED] (e.g. --multi f1,256M,42)",
                    spec);
    Item it{f[0], {}, parse_size(f[1], fmt::format("size in --multi '{}'", spec)), default_seed};
    if (f.size() == 3) {
        const uint64_t seed = parse_u64(f[2], fmt::format("seed in --multi '{}'", spec));
        if (seed == 0)
            it.seed.reset();
        else
            it.seed = parse_seed(f[2]);
    }
    return it;
}

// A PATH like "z1,2M,5" can only be an upstream --multi spec typed without
// --multi in front: creating a file of that name would hide the mistake.
void reject_spec_like_path(const std::string& path) {
    const auto f = split_commas(path);
    if (f.size() < 2 || f.size() > 3 || !looks_like_size(f[1])) return;
    if (f.size() == 3 && f[2].find_first_not_of("0123456789xXabcdefABCDEF") != std::string::npos)
        return;
    usage_error(
        "'{}' looks like upstream's FILE,SIZE[,SEED]: write --multi {} to create {} (a famfs "
        "name of that form is refused as a likely mistake)",
        path, path, f[0]);
}

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
        const auto fields = split_commas(line);
        if (fields.size() < 2 || fields.size() > 3)
            usage_error("{} line {}: expected 'path,size[,seed]', got '{}'", file, lineno, line);
        const std::string where = fmt::format("size on {} line {}", file, lineno);
        Item it{fields[0], {}, parse_size(fields[1], where), default_seed};
        if (fields.size() == 3) it.seed = parse_seed(fields[2]);
        items.push_back(std::move(it));
    }
    if (items.empty()) usage_error("list file {} names no files", file);
    return items;
}

// Writes the pattern straight into the device mapping, then flushes it.
void fill(Stager& st, const NodeInfo& f, uint64_t seed, Progress& progress) {
    uint64_t off = 0;
    st.for_each_range(f, 0, f.size, [&](uint8_t* p, uint64_t n) {
        constexpr uint64_t kStep = 64ULL << 20;  // bound each flush to a cache-friendly piece
        for (uint64_t done = 0; done < n; done += kStep) {
            const uint64_t len = std::min(kStep, n - done);
            fill_pattern(p + done, off + done, len, seed);
            flush(p + done, len);
            progress.add(len);
        }
        off += n;
    });
    progress.add(0, 1);
}

bool same_interleave(const NodeInfo& n, const std::optional<InterleaveParams>& want) {
    if (!want) return true;  // no striping asked for: any existing layout is fine
    if (n.fmap.ext_type != ExtentType::Interleave) return n.size < want->chunk_size;
    return n.fmap.ie[0].nstrips == want->nstrips && n.fmap.ie[0].chunk_size == want->chunk_size;
}

int run_creat(const GlobalOptions& g, const CreatArgs& a) {
    std::optional<uint64_t> seed;
    if (!a.seed.empty()) seed = parse_seed(a.seed);
    if (a.randomize && !seed) {
        // Upstream's -r without -S randomizes nothing; a seed nobody knows
        // helps nobody either, so pick one and say which.
        uint32_t r = 0;
        while (r == 0)
            if (getrandom(&r, sizeof r, 0) != sizeof r) command_error("getrandom failed");
        seed = r;
        std::printf("seed %llu\n", static_cast<unsigned long long>(r));
    }
    if (!a.threads.empty()) parse_u64(a.threads, "thread count");

    // --multi values: upstream's FILE,SIZE[,SEED] specs, or (our form) the
    // first PATH, which CLI11 hands to the option.
    std::vector<Item> items;
    std::vector<std::string> paths;
    for (const std::string& m : a.multi) {
        if (m.empty()) continue;
        if (m.find(',') != std::string::npos)
            items.push_back(parse_multi_spec(m, seed));
        else
            paths.push_back(m);
    }
    const bool spec_form = !items.empty();
    paths.insert(paths.end(), a.paths.begin(), a.paths.end());
    const bool multi = a.multi_given || !a.list.empty();

    if (!a.list.empty()) {
        if (!paths.empty() || spec_form) usage_error("give either --list FILE or PATHs, not both");
        items = read_list(a.list, seed);
    } else {
        if (paths.empty() && !spec_form) usage_error("name a PATH to create");
        if (paths.size() > 1 && !multi)
            usage_error("{} paths given; use --multi to create several files at once",
                        paths.size());
        if (!paths.empty()) {
            if (a.size.empty()) usage_error("give the file size with -s SIZE");
            const uint64_t size = parse_size(a.size, "size");
            for (const std::string& p : paths) {
                reject_spec_like_path(p);
                items.push_back({p, {}, size, seed});
            }
        }
    }

    const FileSpec base =
        parse_file_spec(a.mode, a.user, a.group, a.nstrips, a.nbuckets, a.chunk);

    // Every path must land on one device.
    std::string device;
    Target where;  // the first path's target: its mount point, if any
    TargetResolver resolve_item(g);
    std::string checked_mount;
    for (Item& it : items) {
        Target t = resolve_item(it.shown);
        if (device.empty()) {
            device = t.device;
            where = t;
        } else if (t.device != device)
            usage_error("{} is on {}, the others on {}; one command works on one device", it.shown,
                        t.device, device);
        if (t.relpath.empty()) usage_error("{}: is the root directory", it.shown);
        require_utf8_path(t.relpath, it.shown);
        if (t.mountpoint != checked_mount) {  // one statvfs per mount, not per file
            require_writable_mount(t);
            checked_mount = t.mountpoint;
        }
        it.relpath = std::move(t.relpath);
    }

    auto st = open_stager(g, where, items.size());
    size_t created = 0;
    {
        // One lock and one catch-up for the whole command; every file is
        // checked and allocated before the first entry is appended.
        uint64_t needed = 0;
        for (const Item& it : items) needed += (it.size + kAllocUnit - 1) / kAllocUnit * kAllocUnit;
        for (Item& it : items) {
            const PathInfo info = st->query(it.relpath);
            if (info.kind == Stager::Kind::File) {
                // As upstream: an existing file of the same size is a no-op
                // (refilled if a seed is given); anything else is an error.
                if (!info.committed) usage_error("'{}' is named twice in this command", it.shown);
                const NodeInfo& n = *info.committed;
                if (n.size != it.size)
                    command_error(
                        "'{}' already exists with size {} (not {}); famfs files cannot be "
                        "resized or replaced",
                        it.relpath, n.size, it.size);
                if (n.mode != base.mode || n.uid != base.uid || n.gid != base.gid ||
                    !same_interleave(n, base.interleave))
                    command_error(
                        "'{}' already exists with mode {} uid {} gid {}{}; famfs files cannot be "
                        "changed",
                        it.relpath, format_mode(n.mode), n.uid, n.gid,
                        same_interleave(n, base.interleave) ? "" : " and another layout");
                it.exists = true;
                needed -= (it.size + kAllocUnit - 1) / kAllocUnit * kAllocUnit;
                continue;
            }
            FileSpec spec = base;
            spec.relpath = it.relpath;
            spec.size = it.size;
            try {
                st->create_file(spec);
            } catch (const Error& e) {
                if (e.err() == ENOSPC)
                    no_room(st->free_bytes(), device, needed,
                            std::count_if(items.begin(), items.end(),
                                          [](const Item& i) { return !i.exists; }),
                            it.relpath);
                throw;
            }
            ++created;
        }
        st->commit();
    }
    uint64_t fill_bytes = 0, fill_files = 0;
    for (const Item& it : items)
        if (it.seed) {
            fill_bytes += it.size;
            ++fill_files;
        }
    Progress progress("creat: filling", fill_bytes, fill_files, a.quiet);
    std::string last_new;
    for (const Item& it : items) {
        if (it.seed) {
            const PathInfo info = st->query(it.relpath);
            if (!info.committed) command_error("'{}' vanished after it was created", it.relpath);
            fill(*st, *info.committed, *it.seed, progress);
        }
        if (!it.exists) last_new = it.relpath;
        if (a.verbose) {
            progress.finish();
            std::printf("%s: %llu bytes%s%s\n", it.shown.c_str(),
                        static_cast<unsigned long long>(it.size),
                        it.seed ? fmt::format(", seed {}", *it.seed).c_str() : "",
                        it.exists ? " (existed with this size: left as it was)" : "");
        }
    }
    progress.finish();
    if (multi || spec_form)
        std::printf(
            "created %s%s\n", plural(created, "file").c_str(),
            created == items.size()
                ? ""
                : fmt::format(" ({} existed with the same size)", items.size() - created).c_str());
    if (!last_new.empty()) settle_mount(where, last_new);
    return kExitOk;
}

}  // namespace

void add_creat(CLI::App& app, GlobalOptions& g) {
    auto a = std::make_shared<CreatArgs>();
    CLI::App* cmd = add_command(
        app,
        {.name = "creat",
         .summary = "create pre-allocated files, optionally filled with a seeded pattern",
         .synopsis = "creat -s SIZE [-S SEED] [-m MODE] [-u USER] [-g GROUP]\n"
                     "      [-N NSTRIPS -B NBUCKETS -C CHUNKSIZE] PATH\n"
                     "creat --multi FILE,SIZE[,SEED] [--multi FILE,SIZE[,SEED]]... [OPTIONS]\n"
                     "creat --multi -s SIZE [-S SEED] [OPTIONS] PATH...\n"
                     "creat --list FILE [-S SEED] [OPTIONS]",
         .description =
             "Creates a famfs file of SIZE bytes. famfs files are allocated when they are\n"
             "created and never grow, so the size is required. The parent directory must\n"
             "exist. Only the owner host of the filesystem can create files. A file that\n"
             "already exists with the same size, mode and owner is left as it is (and\n"
             "refilled if a seed is given), as upstream famfs does; any other existing\n"
             "file is an error.\n"
             "\n"
             "With -S SEED the file is filled with upstream famfs's seeded pattern, so a\n"
             "file filled here verifies with upstream's `famfs verify` and the other way\n"
             "round. SEED is 1 to 4294967295. -r (upstream's --randomize) is accepted;\n"
             "without -S it picks a seed and prints it. The pattern is written straight\n"
             "into the device mapping and flushed from the CPU caches; `famfs verify -S\n"
             "SEED` checks it. Without a seed the file's bytes are whatever the device held.\n"
             "On a terminal, filling shows progress (bytes, rate, ETA); -q hides it.\n"
             "\n"
             "Striping: -N NSTRIPS -B NBUCKETS -C CHUNKSIZE splits the device into\n"
             "NBUCKETS buckets (each >= 1 GiB) and places NSTRIPS strips in distinct\n"
             "buckets, interleaved every CHUNKSIZE bytes (a power of two, multiple of\n"
             "2 MiB). Files smaller than one chunk get a simple extent.\n"
             "\n"
             "Many files: --multi FILE,SIZE[,SEED] (repeatable, upstream's form; SEED 0 or\n"
             "none: no pattern) creates each FILE with its own size and seed. A bare\n"
             "--multi creates every PATH with size SIZE. --list FILE creates the files\n"
             "listed one per line as 'path,size[,seed]' ('#' lines are comments; FILE '-'\n"
             "is stdin). All files are checked and allocated under one lock and one log\n"
             "replay before anything is written: if any file cannot be created (exists\n"
             "with another size, no parent, no space, log full) nothing is created.\n"
             "A PATH that looks like FILE,SIZE[,SEED] is refused (a missing --multi).\n"
             "\n"
             "Under a famfs mount on the owner host, a command of up to 256 items is\n"
             "carried out by the mount's daemon, which holds the replayed log already, so\n"
             "it costs a few milliseconds whatever the log's length (docs/metadata.md).\n"
             "FAMFS_CONTROL=off makes the command work on the device itself (replaying\n"
             "the log); FAMFS_CONTROL=require fails instead of doing so.",
         .examples = "famfs creat -s 1G /mnt/famfs/data0\n"
                     "famfs creat -s 64M -S 42 /mnt/famfs/test/f1 && famfs verify -S 42 "
                     "/mnt/famfs/test/f1\n"
                     "famfs creat -r -S 42 -s 64M /mnt/famfs/f2          # upstream's spelling\n"
                     "famfs creat --multi /mnt/famfs/a,256M,42 --multi /mnt/famfs/b,256M,43\n"
                     "famfs creat -s 1G -N 4 -B 8 -C 2M /mnt/famfs/striped\n"
                     "famfs --device /dev/dax0.0 creat --multi -s 2M a b c\n"
                     "famfs --device /dev/dax0.0 creat --list files.csv   # lines: dir/f1,4M,7",
         .exit_status = ""},
        [&g, a] { return run_creat(g, *a); });
    cmd->add_option("PATH", a->paths, "file(s) to create")->type_name("PATH...");
    cmd->add_option("-s,--size", a->size, "file size (k/m/g/t suffixes)")->type_name("SIZE");
    cmd->add_option("-S,--seed", a->seed, "fill with the pattern of this seed (1..2^32-1)")
        ->type_name("SEED");
    cmd->add_flag("-r,--randomize", a->randomize,
                  "upstream's spelling: fill with -S SEED's pattern (a new seed without -S)");
    cmd->add_option("-m,--mode", a->mode, "permission bits, octal (default 0644)")
        ->type_name("MODE");
    add_file_spec_options(cmd, a->user, a->group, a->nstrips, a->nbuckets, a->chunk);
    cmd->add_option_function<std::vector<std::string>>(
           "-M,--multi",
           [a](const std::vector<std::string>& v) {
               a->multi_given = true;
               a->multi.insert(a->multi.end(), v.begin(), v.end());
           },
           "FILE,SIZE[,SEED] to create (repeatable); bare: create every PATH of -s SIZE")
        ->expected(0, 1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->type_name("FILE,SIZE[,SEED]");
    cmd->add_option("--list", a->list, "create the 'path,size[,seed]' lines of FILE ('-': stdin)")
        ->type_name("FILE");
    cmd->add_option("-t,--threadct", a->threads, "upstream's fill threads (accepted; one here)")
        ->type_name("N");
    cmd->add_flag("-v,--verbose", a->verbose, "print each file created");
    cmd->add_flag("-q,--quiet", a->quiet, "no progress display");
}

}  // namespace famfs::cli
