// famfs mkdir: create directories (one log entry each).
#include <unistd.h>

#include <cstdio>

#include "cli.h"
#include "stager.h"

namespace famfs::cli {

namespace {

struct MkdirArgs {
    std::vector<std::string> paths;
    bool parents = false;
    std::string mode = "0755";
    std::string user, group;
    bool verbose = false;
};

int run_mkdir(const GlobalOptions& g, const MkdirArgs& a) {
    DirSpec base;
    const Ownership own = parse_ownership(a.mode, a.user, a.group);
    base.mode = own.mode;
    base.uid = own.uid;
    base.gid = own.gid;

    std::string device;
    std::vector<std::string> rel;
    Target where;  // the first path's target: its mount point, if any
    for (const std::string& p : a.paths) {
        Target t = resolve(g, p);
        if (device.empty()) {
            device = t.device;
            where = t;
        } else if (t.device != device)
            usage_error("{} is on {}, the others on {}; one command works on one device", p,
                        t.device, device);
        require_utf8_path(t.relpath, p);
        require_writable_mount(t);
        rel.push_back(t.relpath);
    }
    auto st = open_stager(g, where, rel.size());
    std::vector<bool> needed;
    {
        // all paths are checked before any is created
        for (const std::string& r : rel) {
            DirSpec spec = base;
            spec.relpath = r;
            needed.push_back(st->mkdir(spec, a.parents, a.parents));
        }
        st->commit();
    }
    std::string last_new;
    for (size_t i = 0; i < rel.size(); ++i) {
        if (!needed[i]) continue;
        last_new = rel[i];
        if (a.verbose) std::printf("%s\n", a.paths[i].c_str());
    }
    if (!last_new.empty()) settle_mount(where, last_new);
    return kExitOk;
}

}  // namespace

void add_mkdir(CLI::App& app, GlobalOptions& g) {
    auto a = std::make_shared<MkdirArgs>();
    CLI::App* cmd = add_command(
        app,
        {.name = "mkdir",
         .summary = "create directories",
         .synopsis = "mkdir [-p] [-m MODE] [-u USER] [-g GROUP] PATH...",
         .description =
             "Creates each directory with one log entry. Without -p the parent must\n"
             "exist and the directory must not; with -p missing parents are created too\n"
             "(with the same mode and owner) and existing directories are accepted.\n"
             "All PATHs are checked before the first one is created. Only the owner\n"
             "host can create directories.\n"
             "\n"
             "Under a famfs mount on the owner host, a command of up to 256 items is\n"
             "carried out by the mount's daemon, which holds the replayed log already, so\n"
             "it costs a few milliseconds whatever the log's length (docs/metadata.md).\n"
             "FAMFS_CONTROL=off makes the command work on the device itself (replaying\n"
             "the log); FAMFS_CONTROL=require fails instead of doing so.",
         .examples = "famfs mkdir /mnt/famfs/results\n"
                     "famfs mkdir -p -m 0700 /mnt/famfs/a/b/c\n"
                     "famfs --device /dev/dax0.0 mkdir -p dir1/sub",
         .exit_status = ""},
        [&g, a] { return run_mkdir(g, *a); });
    cmd->add_option("PATH", a->paths, "directory to create")->required()->type_name("PATH...");
    cmd->add_flag("-p,--parents", a->parents, "create missing parents; no error if it exists");
    cmd->add_option("-m,--mode", a->mode, "permission bits, octal (default 0755)")
        ->type_name("MODE");
    cmd->add_option("-u,--uid", a->user, "owner: user name or uid (default: the caller)")
        ->type_name("USER");
    cmd->add_option("-g,--gid", a->group, "group: group name or gid (default: the caller's)")
        ->type_name("GROUP");
    cmd->add_flag("-v,--verbose", a->verbose, "print each directory created");
}

}  // namespace famfs::cli
