#include "fs_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "famfs/cache.h"
#include "famfs/error.h"
#include "famfs/json.h"
#include "famfs/uuid.h"
#include "kernel_proto_session.h"

namespace famfs::daemon {

namespace {

constexpr std::string_view kStatsXattr = "user.famfs.stats";
constexpr std::string_view kFmapXattr = "user.famfs.fmap";

// Cookies: 0 starts the stream, 1 follows ".", 2 follows "..", and the
// child at position i (log order, never reordered) is followed by i + 3.
constexpr uint64_t kFirstChildCookie = 2;

}  // namespace

std::string_view to_string(Op op) {
    static constexpr std::string_view names[] = {
        "init",    "destroy",     "lookup",     "forget",   "getattr",   "setattr", "opendir",
        "readdir", "readdirplus", "releasedir", "open",     "release",   "read",    "write",
        "statfs",  "flush",       "fsync",      "getxattr", "listxattr", "access",  "refused"};
    static_assert(std::size(names) == static_cast<size_t>(Op::kCount));
    return names[static_cast<unsigned>(op)];
}

FsState::FsState(const std::string& device, const StateOptions& opt)
    : device_path_(device), opt_(opt) {
    Filesystem::Options fo;
    // The daemon writes file data (compat mode) but never appends to the log.
    fo.access = opt.read_only ? Device::Access::ReadOnly : Device::Access::ReadWrite;
    fo.system_uuid_file = opt.system_uuid_file;
    // Decide cache maintenance before the first replay: on an emulated device
    // (coherent by default) invalidating every entry of a 490,000-entry log
    // took most of a second of the mount.
    struct stat dst;
    set_coherent(opt.coherent.value_or(::stat(device.c_str(), &dst) == 0 && S_ISREG(dst.st_mode)));
    publish(Filesystem::open(device, fo));
}

FsState::FsState(const std::string& device, const StateOptions& opt, ThroughMount)
    : device_path_(device), opt_(opt), through_mount_(true) {
    meta_.set_read_only(opt.read_only);
}

// ---- helpers (caller holds tree_mu_) ----------------------------------------

const Node* FsState::node_locked(uint64_t ino) const { return fs_->tree().get(ino); }

void FsState::fill_attr_locked(const Node& n, struct stat& st) const {
    std::memset(&st, 0, sizeof st);
    st.st_ino = n.ino;
    st.st_mode = n.st_mode();
    st.st_uid = n.uid;
    st.st_gid = n.gid;
    if (n.is_dir()) {
        st.st_nlink = 2 + n.subdirs;
        st.st_size = static_cast<off_t>(n.children.size());
    } else {
        st.st_nlink = 1;
        st.st_size = static_cast<off_t>(n.size);
        st.st_blocks = static_cast<blkcnt_t>(fmap_capacity(n.fmap) / 512);
    }
    st.st_blksize = static_cast<blksize_t>(kAllocUnit);
    // The log records no times. Every host shows the same one: the entry's
    // log index as seconds after the epoch (0 for the root and implicit
    // directories), so listings agree across hosts and ls -t is log order.
    const timespec logged{static_cast<time_t>(n.log_index == kNoLogIndex ? 0 : n.log_index), 0};
    st.st_atim = st.st_mtim = st.st_ctim = logged;
    if (auto it = overrides_.find(n.ino); it != overrides_.end()) {
        const AttrOverride& o = it->second;
        if (o.mode) st.st_mode = (st.st_mode & S_IFMT) | (*o.mode & 07777);
        if (o.uid) st.st_uid = *o.uid;
        if (o.gid) st.st_gid = *o.gid;
        if (o.atime) st.st_atim = *o.atime;
        if (o.mtime) st.st_mtim = *o.mtime;
        if (o.ctime) st.st_ctim = *o.ctime;
    }
}

void FsState::fill_entry_locked(const Node& n, fuse_entry_param& e) const {
    std::memset(&e, 0, sizeof e);
    e.ino = n.ino;
    e.generation = 1;
    fill_attr_locked(n, e.attr);
    e.attr_timeout = opt_.attr_timeout;
    e.entry_timeout = opt_.entry_timeout;
}

void FsState::ref_locked(uint64_t ino, uint64_t n) {
    if (ino == kRootIno) return;  // the kernel never forgets the root
    std::lock_guard g(lookup_mu_);
    nlookup_[ino] += n;
}

bool FsState::refresh_pending() const {
    // Lock-free: next_index() is only written under the exclusive lock, and a
    // stale read just means one more (cheap) check later.
    return fs_->log().published_count() > log_index();
}

uint64_t FsState::log_index() const {
    std::shared_lock g(tree_mu_);
    return fs_->tree().next_index();
}

// ---- ops -----------------------------------------------------------------------

Status FsState::lookup(uint64_t parent, std::string_view name, fuse_entry_param& out) {
    if (Status st = check_device(); !st.ok()) return st;
    if (name.size() > kMaxNameLen) return Status::Error(ENAMETOOLONG);
    // .meta shadows a log entry of that name at the root (upstream's
    // mkmeta creates it before the log is played).
    if (MetaFiles::is_meta_name(parent, name))
        return meta_.lookup(parent, name, out, opt_.attr_timeout, opt_.entry_timeout);
    if (Status st = wait_ready(); !st.ok()) return st;
    for (int attempt = 0; attempt < 2; ++attempt) {
        {
            std::shared_lock g(tree_mu_);
            const Node* p = node_locked(parent);
            if (!p) return Status::Error(ENOENT);
            if (!p->is_dir()) return Status::Error(ENOTDIR);
            if (const Node* n = fs_->tree().lookup(parent, name)) {
                fill_entry_locked(*n, out);
                ref_locked(n->ino);
                return Status::OK();
            }
        }
        // A miss is never cached by the kernel: recheck the log every time.
        if (attempt == 0 && refresh_if_needed() == 0) break;
    }
    return Status::Error(ENOENT);
}

void FsState::forget(uint64_t ino, uint64_t n) {
    if (ino == kRootIno) return;
    std::lock_guard g(lookup_mu_);
    auto it = nlookup_.find(ino);
    if (it == nlookup_.end()) return;  // a forget we did not count: ignore
    if (it->second <= n)
        nlookup_.erase(it);
    else
        it->second -= n;
}

Status FsState::getattr(uint64_t ino, struct stat& out) {
    if (MetaFiles::owns(ino)) return meta_.getattr(ino, out);
    if (!ready() && ino == kRootIno) {  // the kernel walks the root to reach .meta
        MetaFiles::bootstrap_root_attr(out);
        return Status::OK();
    }
    if (Status st = wait_ready(); !st.ok()) return st;
    if (ino != kRootIno)  // the mount point stays stat-able after a stop
        if (Status st = check_device(); !st.ok()) return st;
    std::shared_lock g(tree_mu_);
    const Node* n = node_locked(ino);
    if (!n) return Status::Error(ENOENT);
    fill_attr_locked(*n, out);
    return Status::OK();
}

Status FsState::setattr(uint64_t ino, const struct stat& in, int to_set, struct stat& out) {
    if (MetaFiles::owns(ino)) return Status::Error(EPERM);
    if (Status st = wait_ready(); !st.ok()) return st;
    if (Status st = check_device(); !st.ok()) return st;
    {
        std::shared_lock g(tree_mu_);
        const Node* n = node_locked(ino);
        if (!n) return Status::Error(ENOENT);
        if (to_set & FUSE_SET_ATTR_SIZE) {
            if (n->is_dir()) return Status::Error(EISDIR);
            // Same size is a no-op (cp over an existing file truncates to 0
            // first and gets EPERM: famfs files are never resized).
            if (static_cast<uint64_t>(in.st_size) != n->size) return Status::Error(EPERM);
        }
    }
    std::unique_lock g(tree_mu_);
    const Node* n = node_locked(ino);
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (to_set & ~FUSE_SET_ATTR_SIZE) {
        AttrOverride& o = overrides_[ino];
        if (to_set & FUSE_SET_ATTR_MODE) o.mode = in.st_mode & 07777;
        if (to_set & FUSE_SET_ATTR_UID) o.uid = in.st_uid;
        if (to_set & FUSE_SET_ATTR_GID) o.gid = in.st_gid;
        if (to_set & FUSE_SET_ATTR_ATIME_NOW)
            o.atime = now;
        else if (to_set & FUSE_SET_ATTR_ATIME)
            o.atime = in.st_atim;
        if (to_set & FUSE_SET_ATTR_MTIME_NOW)
            o.mtime = now;
        else if (to_set & FUSE_SET_ATTR_MTIME)
            o.mtime = in.st_mtim;
        if (to_set & FUSE_SET_ATTR_CTIME)
            o.ctime = in.st_ctim;
        else
            o.ctime = now;
    }
    fill_attr_locked(*n, out);
    return Status::OK();
}

Status FsState::opendir(uint64_t ino) {
    if (MetaFiles::owns(ino)) return ino == kMetaDirIno ? Status::OK() : Status::Error(ENOTDIR);
    if (Status st = wait_ready(); !st.ok()) return st;
    if (Status st = check_device(); !st.ok()) return st;
    std::shared_lock g(tree_mu_);
    const Node* n = node_locked(ino);
    if (!n) return Status::Error(ENOENT);
    return n->is_dir() ? Status::OK() : Status::Error(ENOTDIR);
}

Status FsState::readdir(uint64_t ino, uint64_t offset, bool plus,
                        const std::function<bool(const DirEntry&)>& emit) {
    if (MetaFiles::owns(ino)) {
        DirEntry de{};
        return meta_.readdir(ino, offset, [&](std::string_view name, const struct stat& st,
                                              uint64_t child, uint64_t next) {
            de.name = name;
            de.next_offset = next;
            de.attr = st;
            std::memset(&de.entry, 0, sizeof de.entry);
            de.entry.attr = st;
            const bool dot = name == "." || name == "..";
            if (plus && !dot) {
                de.entry.ino = child;
                de.entry.generation = 1;
                de.entry.attr_timeout = opt_.attr_timeout;
                de.entry.entry_timeout = opt_.entry_timeout;
            }
            return emit(de);
        });
    }
    if (Status st = wait_ready(); !st.ok()) return st;
    if (Status st = check_device(); !st.ok()) return st;
    // A listing from the start sees what the owner has appended meanwhile.
    if (offset == 0) refresh_if_needed();
    std::shared_lock g(tree_mu_);
    const Node* dir = node_locked(ino);
    if (!dir) return Status::Error(ENOENT);
    if (!dir->is_dir()) return Status::Error(ENOTDIR);

    DirEntry de{};
    auto emit_dot = [&](std::string_view name, const Node& n, uint64_t next) {
        de.name = name;
        de.next_offset = next;
        fill_attr_locked(n, de.attr);
        std::memset(&de.entry, 0, sizeof de.entry);
        de.entry.attr = de.attr;  // ino 0: the kernel takes no reference
        return emit(de);
    };
    if (offset < 1 && !emit_dot(".", *dir, 1)) return Status::OK();
    if (offset < 2) {
        const Node* parent = node_locked(dir->parent);
        if (!emit_dot("..", parent ? *parent : *dir, 2)) return Status::OK();
    }
    // The root lists .meta right after "..", so its children's cookies are
    // one higher than other directories'.
    const bool root = ino == kRootIno;
    const uint64_t first_child_cookie = kFirstChildCookie + (root ? 1 : 0);
    if (root && offset < 3) {
        de.name = kMetaDirName;
        de.next_offset = 3;
        (void)meta_.getattr(kMetaDirIno, de.attr);  // the directory always exists
        std::memset(&de.entry, 0, sizeof de.entry);
        if (plus)
            (void)meta_.lookup(kRootIno, kMetaDirName, de.entry, opt_.attr_timeout,
                               opt_.entry_timeout);
        de.entry.attr = de.attr;
        if (!emit(de)) return Status::OK();
    }
    for (uint64_t i = offset > first_child_cookie ? offset - first_child_cookie : 0;
         i < dir->children.size(); ++i) {
        const Node* c = node_locked(dir->children[i]);
        if (!c) continue;
        if (root && c->name == kMetaDirName) continue;  // shadowed by .meta
        de.name = c->name;
        de.next_offset = i + first_child_cookie + 1;
        if (plus) {
            fill_entry_locked(*c, de.entry);
            de.attr = de.entry.attr;
        } else {
            fill_attr_locked(*c, de.attr);
        }
        if (!emit(de)) break;
        if (plus) ref_locked(c->ino);  // replay never admits "." or ".." as a name
    }
    return Status::OK();
}

Status FsState::open(uint64_t ino, int flags) {
    if (MetaFiles::owns(ino)) return meta_.open(ino, flags);
    if (Status st = wait_ready(); !st.ok()) return st;
    if (Status st = check_device(); !st.ok()) return st;
    std::shared_lock g(tree_mu_);
    const Node* n = node_locked(ino);
    if (!n) return Status::Error(ENOENT);
    if (n->is_dir()) return Status::Error(EISDIR);
    const int acc = flags & O_ACCMODE;
    if (acc != O_RDONLY) {
        if (opt_.read_only) return Status::Error(EROFS);
        // ALL_HOSTS_RO files are writable only on the owner.
        if ((n->flags & kFileFlagAllHostsRo) && fs_->role() != Role::Owner) return Status::Error(EROFS);
    }
    if (flags & O_TRUNC) return Status::Error(EPERM);  // never reached with atomic_o_trunc off
    return Status::OK();
}

Status FsState::read(uint64_t ino, uint64_t off, size_t len, std::vector<iovec>& out) {
    if (Status st = check_device(); !st.ok()) return st;
    out.clear();
    if (Status st = wait_ready(); !st.ok()) return st;
    if (MetaFiles::owns(ino)) return meta_read(ino, off, len, out);
    std::shared_lock g(tree_mu_);
    const Node* n = node_locked(ino);
    if (!n) return Status::Error(ENOENT);
    if (n->is_dir()) return Status::Error(EISDIR);
    if (off >= n->size) return Status::OK();
    size_t total = 0;
    fs_->for_each_range(*n, off, len, [&](uint8_t* p, uint64_t cnt) {
        if (!coherent_) invalidate(p, cnt);
        out.push_back({p, cnt});
        total += cnt;
    });
    if (!coherent_ && !check_device().ok()) {  // the invalidate faulted
        out.clear();
        return Status::Error(EIO);
    }
    bytes_read_.fetch_add(total, std::memory_order_relaxed);
    return Status::OK();
}

Status FsState::write(uint64_t ino, uint64_t off, const void* buf, size_t len,
                      size_t& written) {
    if (Status st = check_device(); !st.ok()) return st;
    written = 0;
    if (opt_.read_only) return Status::Error(EROFS);
    if (Status st = wait_ready(); !st.ok()) return st;
    if (MetaFiles::owns(ino)) return meta_write(ino, off, buf, len, written);
    const Node* n;
    {
        std::shared_lock g(tree_mu_);
        n = node_locked(ino);
    }
    if (!n) return Status::Error(ENOENT);
    if (n->is_dir()) return Status::Error(EISDIR);
    if (len == 0) return Status::OK();
    // Files are pre-allocated: a write never extends one.
    if (off >= n->size) return Status::Error(EFBIG);
    written = fs_->write_data(*n, off, buf, len);
    if (!check_device().ok()) {  // a shrink during the copy: the bytes went nowhere
        written = 0;
        return Status::Error(EIO);
    }
    bytes_written_.fetch_add(written, std::memory_order_relaxed);
    return Status::OK();
}

Status FsState::statfs(struct statvfs& out) {
    if (Status st = check_device(); !st.ok()) return st;
    std::memset(&out, 0, sizeof out);
    if (Status st = wait_ready(); !st.ok()) return st;
    std::shared_lock g(tree_mu_);
    const MetaTree& t = fs_->tree();
    // Kept in step with the tree (files are only ever added): rebuilding it
    // per call cost O(files), ~150 ms on a 490,000-entry log, and every
    // `famfs creat` under a mount calls statvfs.
    std::lock_guard sg(statfs_mu_);
    if (!statfs_alloc_) statfs_alloc_.emplace(t.device_size(), t.log_len());
    const auto& files = t.files_in_log_order();
    for (; statfs_files_ < files.size(); ++statfs_files_)
        statfs_alloc_->mark(*t.get(files[statfs_files_]), nullptr);
    const Allocator& a = *statfs_alloc_;
    out.f_bsize = kAllocUnit;
    out.f_frsize = kAllocUnit;
    out.f_blocks = a.total_units();
    out.f_bfree = a.total_units() - a.used_units();
    out.f_bavail = out.f_bfree;
    const uint64_t entries = fs_->log().capacity();
    out.f_files = entries + 1;
    const uint64_t used = std::min<uint64_t>(t.next_index(), entries);
    out.f_ffree = entries - used;
    out.f_favail = out.f_ffree;
    out.f_namemax = kMaxNameLen;
    return Status::OK();
}

Status FsState::getxattr(uint64_t ino, std::string_view name, std::string& value) {
    // famfs keeps no extended attributes: the only ones are the daemon's own
    // user.famfs.*. Other namespaces (security.*, system.posix_acl_*,
    // trusted.*) are "not supported", which ls -l and cp -a remember per
    // filesystem; ENODATA made them ask again for every file (two requests
    // per entry of an `ls -l`).
    if (!name.starts_with("user.")) return Status::Error(EOPNOTSUPP);
    if (MetaFiles::owns(ino)) return Status::Error(ENODATA);
    if (Status st = wait_ready(); !st.ok()) return st;
    if (name == kStatsXattr && ino == kRootIno) {
        value = stats_json();  // also after a stop: it says why
        return Status::OK();
    }
    if (Status st = check_device(); !st.ok()) return st;
    std::shared_lock g(tree_mu_);
    const Node* n = node_locked(ino);
    if (!n) return Status::Error(ENOENT);
    if (name == kFmapXattr && !n->is_dir()) {
        nlohmann::json j;
        j["path"] = json_safe(fs_->tree().path_of(*n));  // names are any bytes
        j["size"] = n->size;
        j["log_index"] = n->log_index;
        j["ext_type"] = n->fmap.ext_type == ExtentType::Simple ? "simple" : "interleave";
        if (n->fmap.ext_type == ExtentType::Interleave) {
            const InterleavedExtent& ie = n->fmap.ie[0];
            j["nstrips"] = ie.nstrips;
            j["chunk_size"] = ie.chunk_size;
        }
        nlohmann::json ext = nlohmann::json::array();
        for_each_extent(n->fmap, [&](uint64_t o, uint64_t l) {
            ext.push_back({{"offset", o}, {"len", l}});
        });
        j["extents"] = std::move(ext);
        value = j.dump();
        return Status::OK();
    }
    return Status::Error(ENODATA);
}

Status FsState::listxattr(uint64_t ino, std::string& names) {
    names.clear();
    if (MetaFiles::owns(ino)) return Status::OK();
    if (Status st = wait_ready(); !st.ok()) return st;
    if (Status st = check_device(); !st.ok()) return st;
    std::shared_lock g(tree_mu_);
    const Node* n = node_locked(ino);
    if (!n) return Status::Error(ENOENT);
    names.clear();
    if (ino == kRootIno) names.append(kStatsXattr).push_back('\0');
    if (!n->is_dir()) names.append(kFmapXattr).push_back('\0');
    return Status::OK();
}

Status FsState::access(uint64_t ino, int mask) {
    if (MetaFiles::owns(ino)) {
        struct stat st;
        return meta_.getattr(ino, st);  // permission bits are the kernel's
    }
    if (Status st = wait_ready(); !st.ok()) return st;
    if (Status st = check_device(); !st.ok()) return st;
    std::shared_lock g(tree_mu_);
    const Node* n = node_locked(ino);
    if (!n) return Status::Error(ENOENT);
    if ((mask & W_OK) && opt_.read_only) return Status::Error(EROFS);
    return Status::OK();  // permission bits are checked by the kernel (default_permissions)
}

Status FsState::fmap_for(uint64_t ino, kernel_proto::FmapInfo& out) {
    if (MetaFiles::owns(ino)) return meta_.fmap(ino, out);
    if (Status st = wait_ready(); !st.ok()) return st;
    if (Status st = check_device(); !st.ok()) return st;
    for (int attempt = 0; attempt < 2; ++attempt) {
        {
            std::shared_lock g(tree_mu_);
            if (const Node* n = node_locked(ino)) {
                out.regular = !n->is_dir();
                if (out.regular) {
                    out.file_size = n->size;
                    out.fmap = n->fmap;
                }
                return Status::OK();
            }
        }
        if (attempt == 0 && refresh_if_needed() == 0) break;
    }
    return Status::Error(ENOENT);
}

Status FsState::daxdev_path(uint32_t index, std::string& out) {
    if (Status st = check_device(); !st.ok()) return st;
    if (index != 0) return Status::Error(ENODEV);  // single-device filesystems for now
    out = device_path_;
    return Status::OK();
}

// ---- introspection ----------------------------------------------------------------

size_t FsState::referenced_inodes() const {
    std::lock_guard g(lookup_mu_);
    return nlookup_.size();
}

uint64_t FsState::nlookup(uint64_t ino) const {
    std::lock_guard g(lookup_mu_);
    auto it = nlookup_.find(ino);
    return it == nlookup_.end() ? 0 : it->second;
}

std::string_view FsState::mode() const {
    return conn_ && conn_->famfs_mode() ? "famfs" : "compat";
}

std::string FsState::mode_reason() const { return conn_ ? conn_->mode_reason() : std::string(); }

size_t FsState::file_count() const {
    std::shared_lock g(tree_mu_);
    return fs_->tree().file_count();
}

size_t FsState::dir_count() const {
    std::shared_lock g(tree_mu_);
    return fs_->tree().dir_count();
}

bool FsState::device_is_dax() const {
    return through_mount_ || fs_->device().kind() == DeviceKind::DaxDevice;
}

// ---- .meta files in compat mode (meta_files.h) -------------------------------------

Status FsState::meta_read(uint64_t ino, uint64_t off, size_t len, std::vector<iovec>& out) {
    uint64_t base = 0, size = 0;
    if (Status st = meta_.region(ino, base, size); !st.ok()) return st;
    if (off >= size || len == 0) return Status::OK();
    const uint64_t n = std::min<uint64_t>(len, size - off);
    uint8_t* p = fs_->device().base() + base + off;
    if (!coherent_) invalidate(p, n);
    out.push_back({p, n});
    bytes_read_.fetch_add(n, std::memory_order_relaxed);
    return Status::OK();
}

Status FsState::meta_write(uint64_t ino, uint64_t off, const void* buf, size_t len,
                           size_t& written) {
    uint64_t base = 0, size = 0;
    if (Status st = meta_.region(ino, base, size); !st.ok()) return st;
    // Whoever holds it open for writing passed open(); check again anyway.
    if (Status st = meta_.open(ino, O_WRONLY); !st.ok()) return st;
    if (len == 0) return Status::OK();
    if (off >= size) return Status::Error(EFBIG);
    const uint64_t n = std::min<uint64_t>(len, size - off);
    uint8_t* p = fs_->device().base() + base + off;
    std::memcpy(p, buf, n);
    if (!coherent_) flush(p, n);
    written = n;
    bytes_written_.fetch_add(n, std::memory_order_relaxed);
    return Status::OK();
}

std::string FsState::stats_json() const {
    nlohmann::json j;
    nlohmann::json ops = nlohmann::json::object();
    for (unsigned i = 0; i < static_cast<unsigned>(Op::kCount); ++i)
        ops[std::string(to_string(static_cast<Op>(i)))] = counters_[i].load();
    j["requests"] = std::move(ops);
    j["log_index"] = log_index();
    // Stopped: the device's header may be another filesystem's, or gone.
    j["log_published"] = serving() ? fs_->log().published_count() : 0;
    j["serving"] = serving();
    j["stopped"] = json_safe(stopped_reason());
    j["refresh_checks"] = refresh_checks_.load();
    j["refresh_count"] = refresh_count_.load();
    j["bytes_read"] = bytes_read_.load();
    j["bytes_written"] = bytes_written_.load();
    j["referenced_inodes"] = referenced_inodes();
    j["mode"] = std::string(mode());
    j["mode_reason"] = mode_reason();
    if (conn_) {
        const kernel_proto::Connection::Counters k = conn_->counters();
        j["kernel_protocol"] = {{"revision", std::string(conn_->revision_name())},
                                {"get_fmap", k.get_fmap_served},
                                {"get_fmap_failed", k.get_fmap_failed},
                                {"get_daxdev", k.get_daxdev_served},
                                {"get_daxdev_failed", k.get_daxdev_failed},
                                {"stray_data_io", k.stray_data_io},
                                {"malformed", k.malformed}};
    }
    j["role"] = std::string(to_string(fs_->role()));
    j["device"] = json_safe(device_path_);
    j["pid"] = static_cast<int64_t>(getpid());
    j["coherent"] = coherent_;
    j["zero_copy_reads"] = zero_copy_reads_;
    j["read_only"] = opt_.read_only;
    {
        std::shared_lock g(tree_mu_);
        j["files"] = fs_->tree().file_count();
        j["directories"] = fs_->tree().dir_count();
        j["issues"] = fs_->tree().issues().size();
    }
    return j.dump();
}

}  // namespace famfs::daemon
