#include "kernel_proto_session.h"

#include <fuse_lowlevel.h>
#include <linux/fuse.h>  // to cross-check kernel_proto_format.h's standard offsets
#include <spdlog/spdlog.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "kernel_proto_screen.h"

namespace famfs::kernel_proto {

// The standard offsets kernel_proto_format.h pins must match the kernel header.
static_assert(sizeof(fuse_in_header) == sizeof(InHeader));
static_assert(offsetof(fuse_in_header, nodeid) == offsetof(InHeader, nodeid));
static_assert(sizeof(fuse_out_header) == sizeof(OutHeader));
static_assert(offsetof(fuse_init_in, flags) == kInitInFlags);
static_assert(offsetof(fuse_init_in, flags2) == kInitInFlags2);
static_assert(offsetof(fuse_init_out, minor) == kInitOutMinor);
static_assert(offsetof(fuse_init_out, flags) == kInitOutFlags);
static_assert(offsetof(fuse_init_out, flags2) == kInitOutFlags2);
static_assert(sizeof(fuse_init_out) == kInitOutSize);
static_assert(FUSE_INIT_EXT == kFlagInitExt && FUSE_INIT == kOpInit);

namespace {

// ---- the hook registry ----
// libfuse passes its own session userdata (the daemon's) to the hooks, not
// ours, so instances are found by fd. With clone_fd a worker reads from a
// cloned fd we never saw; it belongs to the same (only) connection.

std::mutex g_registry_mu;
std::map<int, Connection*> g_registry;

Connection* instance_for(int fd) {
    std::lock_guard lock(g_registry_mu);
    if (auto it = g_registry.find(fd); it != g_registry.end()) return it->second;
    return g_registry.size() == 1 ? g_registry.begin()->second : nullptr;
}

ssize_t hook_read(int fd, void* buf, size_t len, void*) {
    if (Connection* k = instance_for(fd)) return k->on_read(fd, buf, len);
    return ::read(fd, buf, len);
}

ssize_t hook_writev(int fd, struct iovec* iov, int count, void*) {
    if (Connection* k = instance_for(fd)) return k->on_writev(fd, iov, count);
    return ::writev(fd, iov, count);
}

}  // namespace


Connection::Connection(Config config, FmapSource& source)
    : config_(std::move(config)), source_(source) {
    reason_ = "no INIT from the kernel yet";
}

Connection::~Connection() {
    std::lock_guard lock(g_registry_mu);
    for (auto it = g_registry.begin(); it != g_registry.end();)
        it = it->second == this ? g_registry.erase(it) : std::next(it);
}

Status Connection::precheck(const Config& c, const KernelEvidence& ev) {
    if (c.want_famfs && c.force_compat)
        return Status::Error(EINVAL, "famfs mode and compat mode both requested: choose one");
    if (!c.want_famfs) return Status::OK();
    if (!c.device_is_dax)
        return Status::Error(
            ENOTSUP, fmt::format("famfs mode needs a DAX device; '{}' is not one (use compat mode)",
                                 c.device_path));
    if (c.revision == RevisionChoice::Auto && !ev.famfs_symbols)
        return Status::Error(ENOTSUP,
                             fmt::format("famfs mode requested but kernel {}.{} has no famfs "
                                         "support (no famfs symbols in /proc/kallsyms); use "
                                         "compat mode",
                                         ev.release_major, ev.release_minor));
    return Status::OK();
}

Status Connection::attach(fuse_session* se, int fd) {
    static const fuse_custom_io io = {hook_writev, hook_read, nullptr, nullptr};
    {
        std::lock_guard lock(g_registry_mu);
        g_registry[fd] = this;
    }
    se_ = se;
    if (int rc = fuse_session_custom_io(se, &io, fd); rc != 0) {
        std::lock_guard lock(g_registry_mu);
        g_registry.erase(fd);
        return Status::Error(-rc, fmt::format("cannot attach the famfs kernel protocol layer: {}",
                                              strerror(-rc)));
    }
    return Status::OK();
}

std::string Connection::mode_reason() const {
    std::lock_guard lock(mu_);
    return reason_;
}

std::string_view Connection::revision_name() const {
    std::lock_guard lock(mu_);
    return famfs_ && rev_ ? rev_->name : std::string_view{};
}

Connection::Counters Connection::counters() const {
    return {fmap_served_, fmap_failed_, daxdev_served_, daxdev_failed_, stray_, malformed_};
}

bool Connection::refuse_data_io() {
    if (!famfs_) return false;
    uint64_t n = ++stray_;
    if (n == 1 || n % 1000 == 0)
        spdlog::warn("kernel sent READ/WRITE on a famfs connection ({} so far); refused", n);
    return true;
}

ssize_t Connection::on_read(int fd, void* buf, size_t len) {
    auto* bytes = static_cast<uint8_t*>(buf);
    for (;;) {
        ssize_t n = ::read(fd, buf, len);
        if (n < 0) return n;
        if (n == 0) {  // a socket peer hung up; /dev/fuse never returns 0
            errno = ENODEV;
            return -1;
        }
        if (screen(fd, bytes, static_cast<size_t>(n)) == Verdict::Pass) return n;
        if (init_failed_) {  // libfuse sees the session has exited and leaves its loop
            errno = ENODEV;
            return -1;
        }
    }
}

Connection::Verdict Connection::screen(int fd, uint8_t* buf, size_t n) {
    if (n < offsetof(InHeader, nodeid)) {  // not even a unique to answer
        ++malformed_;
        spdlog::error("dropped a {}-byte request: too short to answer", n);
        return Verdict::Consumed;
    }
    InHeader h;
    if (Status st = screen_request(buf, n, h); !st.ok()) {
        ++malformed_;
        if (st.err() == EIO)
            spdlog::error("{}: EIO", st.message());
        else
            spdlog::error("request {} opcode {} malformed ({}): EINVAL", h.unique, h.opcode,
                          st.message());
        reply(fd, h.unique, -st.err(), nullptr, 0);
        return Verdict::Consumed;
    }
    const uint8_t* body = buf + sizeof h;
    const size_t body_len = n - sizeof h;
    if (h.opcode == kOpInit && !init_decided_) {
        note_init(fd, h, body, body_len);
        return init_failed_ ? Verdict::Consumed : Verdict::Pass;
    }
    if (famfs_) {
        const Revision* rev = revision();
        if (h.opcode == rev->op_get_fmap) {
            serve_get_fmap(fd, h);
            return Verdict::Consumed;
        }
        if (h.opcode == rev->op_get_daxdev) {
            serve_get_daxdev(fd, h);
            return Verdict::Consumed;
        }
    }
    return Verdict::Pass;
}

void Connection::note_init(int fd, const InHeader& h, const uint8_t* body, size_t body_len) {
    InitOffer o;
    memcpy(&o.major, body + kInitInMajor, 4);
    memcpy(&o.minor, body + kInitInMinor, 4);
    memcpy(&o.flags, body + kInitInFlags, 4);
    if ((o.flags & kFlagInitExt) && body_len >= kInitInExtSize)
        memcpy(&o.flags2, body + kInitInFlags2, 4);

    RevisionDecision d;
    if (config_.force_compat) {
        d.reason = "compat mode forced by option";
    } else if (o.major > kKernelMajor) {
        // libfuse answers with 7.x and the kernel sends a second INIT.
        d.reason =
            fmt::format("kernel offered FUSE {}.{}; waiting for a 7.x INIT", o.major, o.minor);
    } else {
        const KernelEvidence ev =
            config_.revision == RevisionChoice::Auto ? probe_kernel() : KernelEvidence{};
        d = choose_revision(o, config_.revision, ev);
        if (d.revision && !config_.device_is_dax) {
            d.revision = nullptr;
            d.reason = fmt::format(
                "device '{}' is not a DAX device (an emulated file?); "
                "the kernel cannot map it",
                config_.device_path);
        }
    }
    const bool famfs = d.revision != nullptr;
    set_mode(d.revision, fmt::format("{} mode: {}", famfs ? "famfs" : "compat", d.reason));
    init_decided_ = o.major == kKernelMajor;
    init_unique_ = h.unique;
    init_pending_ = famfs;

    if (!famfs && config_.want_famfs && o.major <= kKernelMajor) {
        // Explicitly requested famfs cannot run: fail the mount now rather
        // than serve it in a mode nobody asked for.
        init_failed_ = true;
        spdlog::error("famfs mode was requested but is not available: {}", d.reason);
        reply(fd, h.unique, -EPROTO, nullptr, 0);
        if (se_) fuse_session_exit(se_);
    }
}

// The one place the mode changes: at INIT, and back to compat if libfuse
// refuses that INIT.
void Connection::set_mode(const Revision* rev, std::string reason) {
    spdlog::info("{}", reason);
    std::lock_guard lock(mu_);
    rev_ = rev;
    reason_ = std::move(reason);
    famfs_ = rev != nullptr;
}

const Revision* Connection::revision() const {
    std::lock_guard lock(mu_);
    return rev_;
}

void Connection::serve_get_fmap(int fd, const InHeader& h) {
    std::vector<uint8_t> payload;
    if (Status st = fmap_reply(*revision(), source_, h.nodeid, payload); !st.ok()) {
        ++fmap_failed_;
        spdlog::error("GET_FMAP inode {}: {}; the open fails with {}", h.nodeid, st.message(),
                      strerrorname_np(st.err()) ? strerrorname_np(st.err()) : "?");
        reply(fd, h.unique, -st.err(), nullptr, 0);
        return;
    }
    ++fmap_served_;
    reply(fd, h.unique, 0, payload.data(), payload.size());
}

void Connection::serve_get_daxdev(int fd, const InHeader& h) {
    std::vector<uint8_t> payload;
    if (Status st = daxdev_reply(source_, h.nodeid, payload); !st.ok()) {
        ++daxdev_failed_;
        spdlog::error("GET_DAXDEV index {}: {}", h.nodeid, st.message());
        reply(fd, h.unique, -st.err(), nullptr, 0);
        return;
    }
    ++daxdev_served_;
    reply(fd, h.unique, 0, payload.data(), payload.size());
}

void Connection::reply(int fd, uint64_t unique, int error, const void* payload, size_t len) {
    OutHeader out{static_cast<uint32_t>(sizeof(OutHeader) + len), error, unique};
    iovec iov[2] = {{&out, sizeof out}, {const_cast<void*>(payload), len}};
    if (::writev(fd, iov, len ? 2 : 1) < 0 && errno != ENOENT)  // ENOENT: request interrupted
        spdlog::error("writing reply {} to the FUSE device: {}", unique, strerror(errno));
}

ssize_t Connection::on_writev(int fd, struct iovec* iov, int count) {
    if (init_pending_ && count >= 1 && iov[0].iov_len >= sizeof(OutHeader)) {
        OutHeader out;
        memcpy(&out, iov[0].iov_base, sizeof out);
        if (out.unique == init_unique_ && out.unique != 0) return patch_init_reply(fd, iov, count);
    }
    return ::writev(fd, iov, count);
}

// libfuse's INIT reply, with FUSE_DAX_FMAP added to flags2 (INIT_EXT set so
// flags2 is read) and the minor raised to the revision's. Every other byte is
// libfuse's.
ssize_t Connection::patch_init_reply(int fd, struct iovec* iov, int count) {
    init_pending_ = false;
    std::vector<uint8_t> msg;
    for (int i = 0; i < count; ++i) {
        const auto* b = static_cast<const uint8_t*>(iov[i].iov_base);
        msg.insert(msg.end(), b, b + iov[i].iov_len);
    }
    OutHeader out;
    memcpy(&out, msg.data(), sizeof out);
    const size_t body = sizeof out;
    if (out.error != 0 || msg.size() < body + kInitOutFlags2 + 4) {
        set_mode(nullptr, "compat mode: libfuse did not accept the INIT");
        return ::writev(fd, iov, count);
    }
    const Revision* rev = revision();
    uint32_t minor, flags, flags2;
    memcpy(&minor, &msg[body + kInitOutMinor], 4);
    memcpy(&flags, &msg[body + kInitOutFlags], 4);
    memcpy(&flags2, &msg[body + kInitOutFlags2], 4);
    flags |= kFlagInitExt;
    flags2 |= static_cast<uint32_t>(rev->dax_fmap_flag >> 32);
    minor = std::max(minor, rev->minor);
    memcpy(&msg[body + kInitOutMinor], &minor, 4);
    memcpy(&msg[body + kInitOutFlags], &flags, 4);
    memcpy(&msg[body + kInitOutFlags2], &flags2, 4);
    ssize_t rc = ::write(fd, msg.data(), msg.size());
    if (rc < 0) return rc;
    // libfuse checks for failure only; report its own byte count.
    return static_cast<ssize_t>(msg.size());
}

}  // namespace famfs::kernel_proto
