// famfs-bench-nullfs: the floor for metadata through FUSE on this machine.
// A trivial libfuse lowlevel server (in the manner of libfuse's hello_ll)
// that answers LOOKUP and GETATTR from a table computed before it mounts and
// does nothing else: what a FUSE round trip costs with no filesystem behind
// it. bench/metadata-scale runs the same stat loop on it and on famfs-fused
// in the same run and reports famfs-fused as a ratio of this floor.
//
//   famfs-bench-nullfs MOUNTPOINT DIRS FILES [-s] [-o max_threads=N]
//                      [-o attr_timeout=S] [-o entry_timeout=S]
//
// The tree: the root holds directories d0..d{DIRS-1}, each holding files
// f0..f{FILES-1} (2 MiB each), the names famfs-metadata-scale creates.
// Readdir(plus) is served too (`ls -l` floor). Runs in the foreground until
// unmounted; the session loop is configured as famfs-fused's (multi-threaded,
// max_threads 8, no clone_fd; -s: single-threaded).
#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Table {
    uint64_t dirs = 1;
    uint64_t files = 0;
    double attr_timeout = 1.0;
    double entry_timeout = 1.0;
    // Attributes precomputed: ino 1 is the root, 2..dirs+1 the directories,
    // then dirs * files files.
    std::vector<struct stat> attrs;
    std::vector<std::string> file_names;  // "f0", "f1", ...

    uint64_t dir_ino(uint64_t d) const { return 2 + d; }
    uint64_t file_ino(uint64_t d, uint64_t f) const { return 2 + dirs + d * files + f; }

    void build() {
        attrs.resize(2 + dirs + dirs * files);
        auto fill = [&](uint64_t ino, mode_t mode, off_t size) {
            struct stat& st = attrs[ino];
            std::memset(&st, 0, sizeof st);
            st.st_ino = ino;
            st.st_mode = mode;
            st.st_nlink = S_ISDIR(mode) ? 2 : 1;
            st.st_size = size;
            st.st_blksize = 2 << 20;
            st.st_blocks = S_ISDIR(mode) ? 0 : size / 512;
        };
        fill(1, S_IFDIR | 0755, static_cast<off_t>(dirs));
        for (uint64_t d = 0; d < dirs; ++d) {
            fill(dir_ino(d), S_IFDIR | 0755, static_cast<off_t>(files));
            for (uint64_t f = 0; f < files; ++f) fill(file_ino(d, f), S_IFREG | 0644, 2 << 20);
        }
        file_names.reserve(files);
        for (uint64_t f = 0; f < files; ++f) file_names.push_back("f" + std::to_string(f));
    }
};

Table g;

// "<prefix><decimal>" below `limit`, or false.
bool parse_name(std::string_view name, char prefix, uint64_t limit, uint64_t& out) {
    if (name.size() < 2 || name[0] != prefix) return false;
    auto [p, ec] = std::from_chars(name.data() + 1, name.data() + name.size(), out);
    return ec == std::errc() && p == name.data() + name.size() && out < limit &&
           (name.size() == 2 || name[1] != '0');
}

void entry_for(uint64_t ino, fuse_entry_param& e) {
    std::memset(&e, 0, sizeof e);
    e.ino = ino;
    e.generation = 1;
    e.attr = g.attrs[ino];
    e.attr_timeout = g.attr_timeout;
    e.entry_timeout = g.entry_timeout;
}

void nl_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    uint64_t i;
    fuse_entry_param e;
    if (parent == 1 && parse_name(name, 'd', g.dirs, i)) {
        entry_for(g.dir_ino(i), e);
        fuse_reply_entry(req, &e);
    } else if (parent >= 2 && parent < 2 + g.dirs && parse_name(name, 'f', g.files, i)) {
        entry_for(g.file_ino(parent - 2, i), e);
        fuse_reply_entry(req, &e);
    } else {
        fuse_reply_err(req, ENOENT);
    }
}

void nl_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    if (ino == 0 || ino >= g.attrs.size()) return (void)fuse_reply_err(req, ENOENT);
    fuse_reply_attr(req, &g.attrs[ino], g.attr_timeout);
}

void nl_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    if (ino != 1 && (ino < 2 || ino >= 2 + g.dirs)) return (void)fuse_reply_err(req, ENOTDIR);
    fuse_reply_open(req, fi);
}

// Cookie i + 1 follows child i; "." and ".." are left out (the kernel does
// not need them for ls).
void nl_readdir_any(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus) {
    std::vector<char> buf(size);
    size_t used = 0;
    const uint64_t n = ino == 1 ? g.dirs : g.files;
    for (uint64_t i = static_cast<uint64_t>(off); i < n; ++i) {
        const std::string name = ino == 1 ? "d" + std::to_string(i) : g.file_names[i];
        const uint64_t child = ino == 1 ? g.dir_ino(i) : g.file_ino(ino - 2, i);
        size_t need;
        if (plus) {
            fuse_entry_param e;
            entry_for(child, e);
            need = fuse_add_direntry_plus(req, buf.data() + used, size - used, name.c_str(), &e,
                                          static_cast<off_t>(i + 1));
        } else {
            need = fuse_add_direntry(req, buf.data() + used, size - used, name.c_str(),
                                     &g.attrs[child], static_cast<off_t>(i + 1));
        }
        if (need > size - used) break;
        used += need;
    }
    fuse_reply_buf(req, buf.data(), used);
}

void nl_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
    nl_readdir_any(req, ino, size, off, false);
}
void nl_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
    nl_readdir_any(req, ino, size, off, true);
}

void nl_getxattr(fuse_req_t req, fuse_ino_t, const char*, size_t) { fuse_reply_err(req, ENODATA); }

void nl_init(void*, fuse_conn_info* conn) {
    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
}

[[noreturn]] void usage() {
    std::fprintf(stderr,
                 "usage: famfs-bench-nullfs MOUNTPOINT DIRS FILES [-s] [-o max_threads=N] "
                 "[-o attr_timeout=S] [-o entry_timeout=S]\n");
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) usage();
    const char* mountpoint = argv[1];
    g.dirs = std::strtoull(argv[2], nullptr, 10);
    g.files = std::strtoull(argv[3], nullptr, 10);
    bool single = false;
    unsigned max_threads = 8;
    for (int i = 4; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-s") {
            single = true;
        } else if (a == "-o" && i + 1 < argc) {
            std::string_view o = argv[++i];
            auto val = [&](std::string_view key) { return std::string(o.substr(key.size())); };
            if (o.starts_with("max_threads="))
                max_threads = static_cast<unsigned>(std::stoul(val("max_threads=")));
            else if (o.starts_with("attr_timeout="))
                g.attr_timeout = std::stod(val("attr_timeout="));
            else if (o.starts_with("entry_timeout="))
                g.entry_timeout = std::stod(val("entry_timeout="));
            else
                usage();
        } else {
            usage();
        }
    }
    g.build();

    fuse_lowlevel_ops ops{};
    ops.init = nl_init;
    ops.lookup = nl_lookup;
    ops.getattr = nl_getattr;
    ops.opendir = nl_opendir;
    ops.readdir = nl_readdir;
    ops.readdirplus = nl_readdirplus;
    ops.getxattr = nl_getxattr;
    char arg0[] = "famfs-bench-nullfs", arg1[] = "-o", arg2[] = "fsname=nullfs,subtype=nullfs";
    char* args_v[] = {arg0, arg1, arg2};
    fuse_args args = FUSE_ARGS_INIT(3, args_v);
    fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, nullptr);
    fuse_opt_free_args(&args);
    if (!se) return 1;
    if (fuse_set_signal_handlers(se) != 0 || fuse_session_mount(se, mountpoint) != 0) {
        std::fprintf(stderr, "famfs-bench-nullfs: cannot mount on %s\n", mountpoint);
        fuse_session_destroy(se);
        return 1;
    }
    int rc;
    if (single) {
        rc = fuse_session_loop(se);
    } else {
        fuse_loop_config* cfg = fuse_loop_cfg_create();
        fuse_loop_cfg_set_clone_fd(cfg, 0);
        fuse_loop_cfg_set_max_threads(cfg, max_threads);
        rc = fuse_session_loop_mt(se, cfg);
        fuse_loop_cfg_destroy(cfg);
    }
    fuse_session_unmount(se);
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    return rc < 0 ? 1 : 0;
}
