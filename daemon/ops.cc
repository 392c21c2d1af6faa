#include "ops.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

namespace famfs::daemon {

namespace {

OpsContext& ctx(fuse_req_t req) { return *static_cast<OpsContext*>(fuse_req_userdata(req)); }
FsState& state(fuse_req_t req) { return *ctx(req).state; }

// No request may terminate the daemon (issue 11 item 2): an exception that
// escapes an op body (a bug, bad_alloc, a JSON encoder refusing bytes) is
// logged with the op's name and answered with EIO instead of reaching
// std::terminate. Op bodies reply last, so nothing has been replied yet.
template <auto Fn, bool kNoReply = false>
struct Guarded;
template <typename... A, void (*Fn)(fuse_req_t, A...), bool kNoReply>
struct Guarded<Fn, kNoReply> {
    static void call(fuse_req_t req, A... a) {
        try {
            Fn(req, a...);
            return;
        } catch (const std::exception& e) {
            spdlog::error("request failed: {}; answered {}", e.what(), kNoReply ? "nothing" : "EIO");
        } catch (...) {
            spdlog::error("request failed with an unknown exception; answered {}",
                          kNoReply ? "nothing" : "EIO");
        }
        if (kNoReply)
            fuse_reply_none(req);
        else
            fuse_reply_err(req, EIO);
    }
};

void reply_err(fuse_req_t req, int err) { fuse_reply_err(req, err); }
void reply_err(fuse_req_t req, const Status& st) { fuse_reply_err(req, st.err()); }

// ---- lifecycle ------------------------------------------------------------------

void famfs_init(void* userdata, fuse_conn_info* conn) {
    auto& c = *static_cast<OpsContext*>(userdata);
    c.state->count(Op::Init);
    // Large requests: libfuse 3.14 sizes its buffers for 256 pages and sets
    // max_pages from max_write, so 1 MiB is the most it can take.
    conn->max_write = c.max_write;
    conn->max_read = 0;  // no limit beyond max_pages
    if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
    // O_TRUNC must reach open() so it can be refused (files never shrink).
    conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
    // Writes go straight to the device: no writeback cache in compat mode.
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    if (!c.readdirplus) conn->want &= ~(FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO);
    spdlog::info("FUSE protocol {}.{}, max_write {} KiB, max_readahead {} KiB, mode {}",
                 conn->proto_major, conn->proto_minor, conn->max_write >> 10,
                 conn->max_readahead >> 10, c.state->mode());
}

void famfs_destroy(void* userdata) {
    auto& c = *static_cast<OpsContext*>(userdata);
    c.state->count(Op::Destroy);
    spdlog::info("session destroyed; {} inodes still referenced", c.state->referenced_inodes());
}

// ---- names ------------------------------------------------------------------------

void famfs_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    FsState& s = state(req);
    s.count(Op::Lookup);
    fuse_entry_param e;
    if (Status status = s.lookup(parent, name, e); !status.ok()) return reply_err(req, status);
    // If the reply cannot be delivered the kernel never saw the reference.
    if (fuse_reply_entry(req, &e) == -ENOENT) s.forget(e.ino, 1);
}

void famfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
    FsState& s = state(req);
    s.count(Op::Forget);
    s.forget(ino, nlookup);
    fuse_reply_none(req);
}

void famfs_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
    FsState& s = state(req);
    s.count(Op::Forget);
    for (size_t i = 0; i < count; ++i) s.forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

// ---- attributes -------------------------------------------------------------------

void famfs_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    FsState& s = state(req);
    s.count(Op::Getattr);
    struct stat st;
    if (Status status = s.getattr(ino, st); !status.ok()) return reply_err(req, status);
    fuse_reply_attr(req, &st, s.attr_timeout());
}

void famfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
    FsState& s = state(req);
    s.count(Op::Setattr);
    struct stat st;
    if (Status status = s.setattr(ino, *attr, to_set, st); !status.ok()) return reply_err(req, status);
    fuse_reply_attr(req, &st, s.attr_timeout());
}

void famfs_access(fuse_req_t req, fuse_ino_t ino, int mask) {
    FsState& s = state(req);
    s.count(Op::Access);
    reply_err(req, s.access(ino, mask));
}

// ---- directories ---------------------------------------------------------------------

void famfs_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    FsState& s = state(req);
    s.count(Op::Opendir);
    if (Status status = s.opendir(ino); !status.ok()) return reply_err(req, status);
    fi->cache_readdir = 0;  // listings must show what other hosts created
    fi->keep_cache = 0;
    fuse_reply_open(req, fi);
}

void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus) {
    FsState& s = state(req);
    s.count(plus ? Op::Readdirplus : Op::Readdir);
    std::vector<char> buf(size);
    size_t used = 0;
    Status status = s.readdir(ino, static_cast<uint64_t>(off), plus, [&](const DirEntry& de) {
        const std::string name(de.name);
        const size_t room = size - used;
        const size_t need =
            plus ? fuse_add_direntry_plus(req, buf.data() + used, room, name.c_str(), &de.entry,
                                          static_cast<off_t>(de.next_offset))
                 : fuse_add_direntry(req, buf.data() + used, room, name.c_str(), &de.attr,
                                     static_cast<off_t>(de.next_offset));
        if (need > room) return false;
        used += need;
        return true;
    });
    if (!status.ok()) return reply_err(req, status);
    fuse_reply_buf(req, buf.data(), used);
}

void famfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
    do_readdir(req, ino, size, off, false);
}

void famfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
    do_readdir(req, ino, size, off, true);
}

void famfs_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
    state(req).count(Op::Releasedir);
    reply_err(req, 0);
}

// ---- files ---------------------------------------------------------------------------

void famfs_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    FsState& s = state(req);
    s.count(Op::Open);
    if (Status status = s.open(ino, fi->flags); !status.ok()) return reply_err(req, status);
    // No keep_cache: every open drops this file's cached pages, so a reader
    // sees what another host wrote before the open (see docs/daemon.md).
    fi->keep_cache = 0;
    fi->direct_io = 0;
    fuse_reply_open(req, fi);
}

void famfs_release(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
    state(req).count(Op::Release);
    reply_err(req, 0);
}

void famfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
    OpsContext& c = ctx(req);
    c.state->count(Op::Read);
    if (c.kernel && c.kernel->refuse_data_io()) return reply_err(req, EIO);
    std::vector<iovec> iov;
    iov.reserve(4);
    if (Status status = c.state->read(ino, static_cast<uint64_t>(off), size, iov); !status.ok())
        return reply_err(req, status);
    if (iov.empty()) {
        fuse_reply_buf(req, nullptr, 0);
        return;
    }
    if (c.state->zero_copy_reads()) {
        // The kernel copies straight out of the device mapping: one copy.
        fuse_reply_iov(req, iov.data(), static_cast<int>(iov.size()));
        return;
    }
    // Copy out first, so the kernel never pins device pages (FsState's
    // zero_copy_reads explains why). One buffer per session thread.
    thread_local std::vector<char> buf;
    size_t total = 0;
    for (const iovec& v : iov) total += v.iov_len;
    if (buf.size() < total) buf.resize(total);
    size_t at = 0;
    for (const iovec& v : iov) {
        std::memcpy(buf.data() + at, v.iov_base, v.iov_len);
        at += v.iov_len;
    }
    // A device shrinking during the copy reads zeros (device_fault.h): never
    // hand those out as the file's bytes.
    if (!c.state->check_device().ok()) return reply_err(req, EIO);
    fuse_reply_buf(req, buf.data(), total);
}

void famfs_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
                 fuse_file_info*) {
    OpsContext& c = ctx(req);
    c.state->count(Op::Write);
    if (c.kernel && c.kernel->refuse_data_io()) return reply_err(req, EIO);
    size_t written = 0;
    if (Status status = c.state->write(ino, static_cast<uint64_t>(off), buf, size, written); !status.ok())
        return reply_err(req, status);
    fuse_reply_write(req, written);
}

void famfs_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) {
    state(req).count(Op::Flush);
    reply_err(req, 0);  // writes reach the device before they are answered
}

void famfs_fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) {
    state(req).count(Op::Fsync);
    reply_err(req, 0);
}

void famfs_statfs(fuse_req_t req, fuse_ino_t) {
    FsState& s = state(req);
    s.count(Op::Statfs);
    struct statvfs st;
    if (Status status = s.statfs(st); !status.ok()) return reply_err(req, status);
    fuse_reply_statfs(req, &st);
}

// ---- xattrs ----------------------------------------------------------------------------

void famfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
    FsState& s = state(req);
    s.count(Op::Getxattr);
    std::string value;
    if (Status status = s.getxattr(ino, name, value); !status.ok()) return reply_err(req, status);
    if (size == 0) return (void)fuse_reply_xattr(req, value.size());
    if (size < value.size()) return reply_err(req, ERANGE);
    fuse_reply_buf(req, value.data(), value.size());
}

void famfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
    FsState& s = state(req);
    s.count(Op::Listxattr);
    std::string names;
    if (Status status = s.listxattr(ino, names); !status.ok()) return reply_err(req, status);
    if (size == 0) return (void)fuse_reply_xattr(req, names.size());
    if (size < names.size()) return reply_err(req, ERANGE);
    fuse_reply_buf(req, names.data(), names.size());
}

void famfs_setxattr(fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) {
    state(req).count(Op::Refused);
    reply_err(req, ENOTSUP);
}

// ---- the namespace changes only the log can make ---------------------------------------

// Files and directories are created by `famfs creat` / `famfs mkdir` on the
// owner, through the log; the daemon never appends. Clients get EROFS (they
// can never create), the owner EPERM.
void refuse_namespace_change(fuse_req_t req, const char* what, const char* name) {
    FsState& s = state(req);
    s.count(Op::Refused);
    const bool owner = s.role() == Role::Owner;
    spdlog::debug("{} '{}' refused: famfs namespace changes go through the log ({})", what,
                  name ? name : "", owner ? "use the famfs CLI" : "this host is a client");
    reply_err(req, owner ? EPERM : EROFS);
}

void famfs_mknod(fuse_req_t req, fuse_ino_t, const char* name, mode_t, dev_t) {
    refuse_namespace_change(req, "mknod", name);
}
void famfs_mkdir(fuse_req_t req, fuse_ino_t, const char* name, mode_t) {
    refuse_namespace_change(req, "mkdir", name);
}
void famfs_unlink(fuse_req_t req, fuse_ino_t, const char* name) {
    refuse_namespace_change(req, "unlink", name);
}
void famfs_rmdir(fuse_req_t req, fuse_ino_t, const char* name) {
    refuse_namespace_change(req, "rmdir", name);
}
void famfs_symlink(fuse_req_t req, const char*, fuse_ino_t, const char* name) {
    refuse_namespace_change(req, "symlink", name);
}
void famfs_rename(fuse_req_t req, fuse_ino_t, const char* name, fuse_ino_t, const char*, unsigned) {
    refuse_namespace_change(req, "rename", name);
}
void famfs_link(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char* name) {
    refuse_namespace_change(req, "link", name);
}
void famfs_create(fuse_req_t req, fuse_ino_t, const char* name, mode_t, fuse_file_info*) {
    refuse_namespace_change(req, "create", name);
}

fuse_lowlevel_ops make_ops() {
    fuse_lowlevel_ops o{};
    o.init = famfs_init;
    o.destroy = famfs_destroy;
    o.lookup = Guarded<famfs_lookup>::call;
    o.forget = Guarded<famfs_forget, true>::call;
    o.forget_multi = Guarded<famfs_forget_multi, true>::call;
    o.getattr = Guarded<famfs_getattr>::call;
    o.setattr = Guarded<famfs_setattr>::call;
    o.access = Guarded<famfs_access>::call;
    o.opendir = Guarded<famfs_opendir>::call;
    o.readdir = Guarded<famfs_readdir>::call;
    o.readdirplus = Guarded<famfs_readdirplus>::call;
    o.releasedir = Guarded<famfs_releasedir>::call;
    o.open = Guarded<famfs_open>::call;
    o.release = Guarded<famfs_release>::call;
    o.read = Guarded<famfs_read>::call;
    o.write = Guarded<famfs_write>::call;
    o.flush = Guarded<famfs_flush>::call;
    o.fsync = Guarded<famfs_fsync>::call;
    o.statfs = Guarded<famfs_statfs>::call;
    o.getxattr = Guarded<famfs_getxattr>::call;
    o.listxattr = Guarded<famfs_listxattr>::call;
    o.setxattr = Guarded<famfs_setxattr>::call;
    o.mknod = Guarded<famfs_mknod>::call;
    o.mkdir = Guarded<famfs_mkdir>::call;
    o.unlink = Guarded<famfs_unlink>::call;
    o.rmdir = Guarded<famfs_rmdir>::call;
    o.symlink = Guarded<famfs_symlink>::call;
    o.rename = Guarded<famfs_rename>::call;
    o.link = Guarded<famfs_link>::call;
    o.create = Guarded<famfs_create>::call;
    return o;
}

}  // namespace

const fuse_lowlevel_ops& lowlevel_ops() {
    static const fuse_lowlevel_ops ops = make_ops();
    return ops;
}

}  // namespace famfs::daemon
