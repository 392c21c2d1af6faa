#include "famfs_io.h"

#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 14)
#include <fuse_lowlevel.h>
#include <linux/fuse.h>  // standard request sizes only; famfs numbers are in kernel_proto.h
#include <spdlog/spdlog.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>

#include "famfs/tree.h"

namespace famfs::fuse {

namespace p = proto;

// The standard offsets kernel_proto.h pins must match the kernel header.
static_assert(sizeof(fuse_in_header) == sizeof(p::InHeader));
static_assert(offsetof(fuse_in_header, nodeid) == offsetof(p::InHeader, nodeid));
static_assert(sizeof(fuse_out_header) == sizeof(p::OutHeader));
static_assert(offsetof(fuse_init_in, flags) == p::kInitInFlags);
static_assert(offsetof(fuse_init_in, flags2) == p::kInitInFlags2);
static_assert(offsetof(fuse_init_out, minor) == p::kInitOutMinor);
static_assert(offsetof(fuse_init_out, flags) == p::kInitOutFlags);
static_assert(offsetof(fuse_init_out, flags2) == p::kInitOutFlags2);
static_assert(sizeof(fuse_init_out) == p::kInitOutSize);
static_assert(FUSE_INIT_EXT == p::kFlagInitExt && FUSE_INIT == p::kOpInit);
static_assert(FUSE_READ == p::kOpRead && FUSE_WRITE == p::kOpWrite);

// ===== encoding ==================================================================

namespace {

template <typename T>
void put(std::vector<uint8_t>& out, const T& v) {
    const auto* b = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), b, b + sizeof(T));
}

p::SimpleExt wire_ext(const famfs::SimpleExtent& e) {
    return p::SimpleExt{static_cast<uint32_t>(e.devindex), 0, e.offset, e.len};
}

// Checks one extent against what the kernel accepts.
int check_ext(const p::Revision& rev, const famfs::SimpleExtent& e, std::string_view what,
              std::string& why) {
    if (e.devindex >= rev.max_devices) {
        why = fmt::format("{} device index {} exceeds the protocol's {} devices", what, e.devindex,
                          rev.max_devices);
        return -E2BIG;
    }
    if (e.len == 0 || e.offset % rev.align || e.len % rev.align) {
        why = fmt::format("{} 0x{:x}+0x{:x} is empty or not {} MiB aligned", what, e.offset, e.len,
                          rev.align >> 20);
        return -EINVAL;
    }
    return 0;
}

}  // namespace

int to_wire(const FmapInfo& info, WireMap& out, std::string& why) {
    const famfs::Fmap& m = info.fmap;
    out = WireMap{};
    out.file_type = info.file_type;
    out.file_size = info.file_size;
    if (m.ext_type == famfs::ExtentType::Simple) {
        if (m.count > famfs::kMaxSimpleExtents) {
            why = fmt::format("map has {} extents, the log format holds at most {}", m.count,
                              famfs::kMaxSimpleExtents);
            return -EINVAL;
        }
        out.simple.assign(m.se, m.se + m.count);
        return 0;
    }
    if (m.ext_type == famfs::ExtentType::Interleave) {
        if (m.count != 1 || m.ie[0].nstrips > famfs::kMaxStrips) {
            why = fmt::format("interleaved map with {} extents / {} strips is not a log map",
                              m.count, m.count ? m.ie[0].nstrips : 0);
            return -EINVAL;
        }
        out.interleaved = true;
        const famfs::InterleavedExtent& ie = m.ie[0];
        // nbytes = what the stripes address in whole rows (fmap_capacity).
        out.iext.push_back(
            {ie.chunk_size, famfs::fmap_capacity(m), {ie.strips, ie.strips + ie.nstrips}});
        return 0;
    }
    why = fmt::format("unknown extent type {}", static_cast<uint32_t>(m.ext_type));
    return -EINVAL;
}

namespace {

int encode_fmap_into(const p::Revision& rev, const WireMap& map, std::vector<uint8_t>& out,
                     std::string& why) {
    const size_t n = map.interleaved ? map.iext.size() : map.simple.size();
    if (n == 0) {
        why = "map has no extents";
        return -EINVAL;
    }
    if (n > rev.max_extents) {
        why = fmt::format("map has {} extents, the protocol allows {}", n, rev.max_extents);
        return -E2BIG;
    }
    p::FmapHeader h{};
    h.file_type = static_cast<uint8_t>(map.file_type);
    h.fmap_version = rev.fmap_version;
    h.ext_type =
        static_cast<uint32_t>(map.interleaved ? p::ExtType::Interleaved : p::ExtType::Simple);
    h.nextents = static_cast<uint32_t>(n);
    h.file_size = map.file_size;
    put(out, h);

    uint64_t covered = 0;
    if (!map.interleaved) {
        for (size_t i = 0; i < n; ++i) {
            const auto& e = map.simple[i];
            if (int rc = check_ext(rev, e, fmt::format("extent {}", i), why)) return rc;
            put(out, wire_ext(e));
            covered += e.len;
        }
    } else {
        for (size_t i = 0; i < n; ++i) {
            const auto& ie = map.iext[i];
            if (ie.strips.empty() || ie.strips.size() > rev.max_strips) {
                why = fmt::format("interleaved extent {} has {} strips, the protocol allows 1..{}",
                                  i, ie.strips.size(), rev.max_strips);
                return ie.strips.empty() ? -EINVAL : -E2BIG;
            }
            if (ie.chunk_size == 0 || ie.chunk_size % rev.align || ie.chunk_size > UINT32_MAX ||
                ie.nbytes == 0) {
                why = fmt::format("interleaved extent {}: chunk 0x{:x} / nbytes {} invalid", i,
                                  ie.chunk_size, ie.nbytes);
                return -EINVAL;
            }
            put(out, p::InterleavedExt{static_cast<uint32_t>(ie.strips.size()),
                                       static_cast<uint32_t>(ie.chunk_size), ie.nbytes, 0});
            for (size_t s = 0; s < ie.strips.size(); ++s) {
                if (int rc = check_ext(rev, ie.strips[s], fmt::format("strip {}.{}", i, s), why))
                    return rc;
                put(out, wire_ext(ie.strips[s]));
            }
            covered += ie.nbytes;
        }
    }
    if (out.size() > rev.max_fmap_reply) {
        why = fmt::format("map needs a {}-byte reply, the kernel takes {}", out.size(),
                          rev.max_fmap_reply);
        return -E2BIG;
    }
    if (covered < map.file_size) {
        why = fmt::format("extents cover {} bytes, short of the file size {}", covered,
                          map.file_size);
        return -EINVAL;
    }
    return 0;
}

}  // namespace

int encode_fmap(const p::Revision& rev, const WireMap& map, std::vector<uint8_t>& out,
                std::string& why) {
    out.clear();
    int rc = encode_fmap_into(rev, map, out, why);
    if (rc != 0) out.clear();  // all or nothing: never a truncated map
    return rc;
}

int encode_daxdev(uint32_t index, std::string_view path, std::vector<uint8_t>& out,
                  std::string& why) {
    out.clear();
    if (index > UINT16_MAX) {
        why = fmt::format("device index {} does not fit the reply", index);
        return -EINVAL;
    }
    if (path.empty() || path.size() >= p::kDaxdevNameLen) {
        why = fmt::format("device path '{}' must be 1..{} bytes", path, p::kDaxdevNameLen - 1);
        return -ENAMETOOLONG;
    }
    p::DaxdevReply r{};
    r.index = static_cast<uint16_t>(index);
    memcpy(r.name, path.data(), path.size());
    put(out, r);
    return 0;
}

// ===== revision rule =============================================================

KernelEvidence probe_kernel() {
    KernelEvidence ev;
    utsname u{};
    if (uname(&u) == 0) sscanf(u.release, "%d.%d", &ev.release_major, &ev.release_minor);
    // famfs-in-fuse functions (fs/fuse/famfs.c) are named famfs_*; they sit in
    // the kernel image or in the [fuse] module. The standalone famfs module
    // ([famfs]) does not count: it does not speak FUSE.
    std::ifstream syms("/proc/kallsyms");
    std::string line;
    while (std::getline(syms, line)) {
        auto name_at = line.find(' ', line.find(' ') + 1);
        if (name_at == std::string::npos) continue;
        std::string_view rest(line.c_str() + name_at + 1);
        if (!rest.starts_with("famfs_")) continue;
        auto mod = rest.find('[');
        if (mod == std::string_view::npos || rest.substr(mod).starts_with("[fuse]")) {
            ev.famfs_symbols = true;
            break;
        }
    }
    return ev;
}

namespace {

bool release_at_least(const KernelEvidence& ev, int major, int minor) {
    return ev.release_major > major || (ev.release_major == major && ev.release_minor >= minor);
}

// Does the kernel offer this revision's famfs bit at this revision's minor?
bool offers(const InitOffer& o, const p::Revision& r) {
    return (o.flags & p::kFlagInitExt) && (o.flags64() & r.dax_fmap_flag) && o.minor >= r.minor &&
           o.minor <= r.max_minor;
}

}  // namespace

RevisionDecision choose_revision(const InitOffer& o, RevisionChoice choice,
                                 const KernelEvidence& ev) {
    if (o.major != p::kKernelMajor)
        return {nullptr, fmt::format("kernel speaks FUSE {}.{}", o.major, o.minor)};
    if (!(o.flags & p::kFlagInitExt))
        return {nullptr, "kernel offered no extended INIT flags (no famfs support)"};
    if (choice != RevisionChoice::Auto) {
        const p::Revision& r = choice == RevisionChoice::V10 ? p::kV10 : p::kProject73;
        if (!offers(o, r))
            return {nullptr, fmt::format("kernel does not offer famfs revision {} (FUSE {}.{}, "
                                         "flags2 0x{:x}; needs 7.{}..7.{} and bit {})",
                                         r.name, o.major, o.minor, o.flags2, r.minor, r.max_minor,
                                         std::countr_zero(r.dax_fmap_flag))};
        return {&r, fmt::format("revision {} chosen by option, offered by the kernel", r.name)};
    }
    // Auto: a bit is only trusted when the kernel provably has famfs and its
    // release and minor fit exactly one revision.
    const bool any_bit = offers(o, p::kV10) || offers(o, p::kProject73);
    if (!ev.famfs_symbols)
        return {nullptr, any_bit ? "kernel has no famfs symbols in /proc/kallsyms: its flag bits "
                                   "are not famfs (choose a revision explicitly to override)"
                                 : "kernel does not offer FUSE_DAX_FMAP (no famfs support, or "
                                   "the daemon lacks CAP_SYS_RAWIO)"};
    const bool v10 = offers(o, p::kV10) && !release_at_least(ev, 7, 3);
    const bool p73 = offers(o, p::kProject73) && release_at_least(ev, 7, 3);
    if (v10 == p73)
        return {nullptr, fmt::format("cannot tell the famfs revision of kernel {}.{} speaking "
                                     "FUSE 7.{} with flags2 0x{:x}; choose one explicitly",
                                     ev.release_major, ev.release_minor, o.minor, o.flags2)};
    const p::Revision& r = v10 ? p::kV10 : p::kProject73;
    return {&r, fmt::format("famfs kernel {}.{}, FUSE 7.{}: revision {}", ev.release_major,
                            ev.release_minor, o.minor, r.name)};
}

// ===== request screening ============================================================

namespace {

// What libfuse 3.14 reads from each request body without checking its length:
// a fixed struct, then `strings` NUL-terminated names. Sizes are the current
// ones, which kernels send once the negotiated minor is >= 12 (libfuse says 38).
struct BodyShape {
    uint32_t fixed;
    uint32_t strings;
};

const std::map<uint32_t, BodyShape>& body_shapes() {
    static const std::map<uint32_t, BodyShape> shapes = {
        {FUSE_LOOKUP, {0, 1}},
        {FUSE_FORGET, {sizeof(fuse_forget_in), 0}},
        {FUSE_GETATTR, {sizeof(fuse_getattr_in), 0}},
        {FUSE_SETATTR, {sizeof(fuse_setattr_in), 0}},
        {FUSE_SYMLINK, {0, 2}},
        {FUSE_MKNOD, {sizeof(fuse_mknod_in), 1}},
        {FUSE_MKDIR, {sizeof(fuse_mkdir_in), 1}},
        {FUSE_UNLINK, {0, 1}},
        {FUSE_RMDIR, {0, 1}},
        {FUSE_RENAME, {sizeof(fuse_rename_in), 2}},
        {FUSE_LINK, {sizeof(fuse_link_in), 1}},
        {FUSE_OPEN, {sizeof(fuse_open_in), 0}},
        {FUSE_READ, {sizeof(fuse_read_in), 0}},
        {FUSE_WRITE, {sizeof(fuse_write_in), 0}},
        {FUSE_RELEASE, {sizeof(fuse_release_in), 0}},
        {FUSE_FSYNC, {sizeof(fuse_fsync_in), 0}},
        {FUSE_GETXATTR, {sizeof(fuse_getxattr_in), 1}},
        {FUSE_LISTXATTR, {sizeof(fuse_getxattr_in), 0}},
        {FUSE_REMOVEXATTR, {0, 1}},
        {FUSE_FLUSH, {sizeof(fuse_flush_in), 0}},
        {FUSE_INIT, {p::kInitInCompatSize, 0}},
        {FUSE_OPENDIR, {sizeof(fuse_open_in), 0}},
        {FUSE_READDIR, {sizeof(fuse_read_in), 0}},
        {FUSE_RELEASEDIR, {sizeof(fuse_release_in), 0}},
        {FUSE_FSYNCDIR, {sizeof(fuse_fsync_in), 0}},
        {FUSE_GETLK, {sizeof(fuse_lk_in), 0}},
        {FUSE_SETLK, {sizeof(fuse_lk_in), 0}},
        {FUSE_SETLKW, {sizeof(fuse_lk_in), 0}},
        {FUSE_ACCESS, {sizeof(fuse_access_in), 0}},
        {FUSE_CREATE, {sizeof(fuse_create_in), 1}},
        {FUSE_INTERRUPT, {sizeof(fuse_interrupt_in), 0}},
        {FUSE_BMAP, {sizeof(fuse_bmap_in), 0}},
        {FUSE_IOCTL, {sizeof(fuse_ioctl_in), 0}},
        {FUSE_POLL, {sizeof(fuse_poll_in), 0}},
        {FUSE_BATCH_FORGET, {sizeof(fuse_batch_forget_in), 0}},
        {FUSE_FALLOCATE, {sizeof(fuse_fallocate_in), 0}},
        {FUSE_READDIRPLUS, {sizeof(fuse_read_in), 0}},
        {FUSE_RENAME2, {sizeof(fuse_rename2_in), 2}},
        {FUSE_LSEEK, {sizeof(fuse_lseek_in), 0}},
        {FUSE_COPY_FILE_RANGE, {sizeof(fuse_copy_file_range_in), 0}},
    };
    return shapes;
}

// Empty if libfuse can parse the body safely, else why not.
std::string check_body(uint32_t opcode, const uint8_t* body, size_t len) {
    auto it = body_shapes().find(opcode);
    if (it == body_shapes().end()) return {};  // libfuse answers ENOSYS or reads nothing
    const BodyShape s = it->second;
    if (len < s.fixed) return fmt::format("body of {} bytes, needs {}", len, s.fixed);
    size_t at = s.fixed;
    for (uint32_t i = 0; i < s.strings; ++i) {
        const void* nul = memchr(body + at, '\0', len - at);
        if (!nul) return fmt::format("name {} is not NUL-terminated", i + 1);
        at = static_cast<const uint8_t*>(nul) - body + 1;
    }
    if (opcode == FUSE_BATCH_FORGET) {
        fuse_batch_forget_in b;
        memcpy(&b, body, sizeof b);
        if ((len - sizeof b) / sizeof(fuse_forget_one) < b.count)
            return fmt::format("batch of {} forgets in {} bytes", b.count, len);
    }
    return {};
}

// ===== hook registry =================================================================
// libfuse passes its own session userdata (the daemon's) to the hooks, not
// ours, so instances are found by fd. With clone_fd a worker reads from a
// cloned fd we never saw; it belongs to the same (only) connection.

std::mutex g_registry_mu;
std::map<int, KernelIo*> g_registry;

KernelIo* instance_for(int fd) {
    std::lock_guard lock(g_registry_mu);
    if (auto it = g_registry.find(fd); it != g_registry.end()) return it->second;
    return g_registry.size() == 1 ? g_registry.begin()->second : nullptr;
}

ssize_t hook_read(int fd, void* buf, size_t len, void*) {
    if (KernelIo* k = instance_for(fd)) return k->on_read(fd, buf, len);
    return ::read(fd, buf, len);
}

ssize_t hook_writev(int fd, struct iovec* iov, int count, void*) {
    if (KernelIo* k = instance_for(fd)) return k->on_writev(fd, iov, count);
    return ::writev(fd, iov, count);
}

}  // namespace

// ===== KernelIo ========================================================================

KernelIo::KernelIo(Config config, FmapSource& source)
    : config_(std::move(config)), source_(source) {
    reason_ = "no INIT from the kernel yet";
}

KernelIo::~KernelIo() {
    std::lock_guard lock(g_registry_mu);
    for (auto it = g_registry.begin(); it != g_registry.end();)
        it = it->second == this ? g_registry.erase(it) : std::next(it);
}

std::string KernelIo::precheck(const Config& c, const KernelEvidence& ev) {
    if (c.want_famfs && c.force_compat)
        return "famfs mode and compat mode both requested: choose one";
    if (!c.want_famfs) return {};
    if (!c.device_is_dax)
        return fmt::format("famfs mode needs a DAX device; '{}' is not one (use compat mode)",
                           c.device_path);
    if (c.revision == RevisionChoice::Auto && !ev.famfs_symbols)
        return fmt::format(
            "famfs mode requested but kernel {}.{} has no famfs support "
            "(no famfs symbols in /proc/kallsyms); use compat mode",
            ev.release_major, ev.release_minor);
    return {};
}

int KernelIo::attach(fuse_session* se, int fd) {
    static const fuse_custom_io io = {hook_writev, hook_read, nullptr, nullptr};
    {
        std::lock_guard lock(g_registry_mu);
        g_registry[fd] = this;
    }
    se_ = se;
    fd_ = fd;
    int rc = fuse_session_custom_io(se, &io, fd);
    if (rc != 0) {
        std::lock_guard lock(g_registry_mu);
        g_registry.erase(fd);
    }
    return rc;
}

std::string KernelIo::mode_reason() const {
    std::lock_guard lock(mu_);
    return reason_;
}

std::string_view KernelIo::revision_name() const {
    std::lock_guard lock(mu_);
    return famfs_ && rev_ ? rev_->name : std::string_view{};
}

InitOffer KernelIo::init_offer() const {
    std::lock_guard lock(mu_);
    return offer_;
}

KernelIo::Counters KernelIo::counters() const {
    return {fmap_served_, fmap_failed_, daxdev_served_, daxdev_failed_, stray_, malformed_};
}

bool KernelIo::refuse_data_io() {
    if (!famfs_) return false;
    uint64_t n = ++stray_;
    if (n == 1 || n % 1000 == 0)
        spdlog::warn("kernel sent READ/WRITE on a famfs connection ({} so far); refused", n);
    return true;
}

ssize_t KernelIo::on_read(int fd, void* buf, size_t len) {
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

KernelIo::Verdict KernelIo::screen(int fd, uint8_t* buf, size_t n) {
    if (n < offsetof(p::InHeader, nodeid)) {  // not even a unique to answer
        ++malformed_;
        spdlog::error("dropped a {}-byte request: too short to answer", n);
        return Verdict::Consumed;
    }
    p::InHeader h{};
    memcpy(&h, buf, std::min(n, sizeof h));
    if (n < sizeof h) {
        ++malformed_;
        spdlog::error("request {} is {} bytes, shorter than its header: EIO", h.unique, n);
        reply(fd, h.unique, -EIO, nullptr, 0);
        return Verdict::Consumed;
    }
    const uint8_t* body = buf + sizeof h;
    const size_t body_len = n - sizeof h;
    std::string why;
    if (h.len != n)
        why = fmt::format("header says {} bytes, {} arrived", h.len, n);
    else
        why = check_body(h.opcode, body, body_len);
    if (!why.empty()) {
        ++malformed_;
        spdlog::error("request {} opcode {} malformed ({}): EINVAL", h.unique, h.opcode, why);
        reply(fd, h.unique, -EINVAL, nullptr, 0);
        return Verdict::Consumed;
    }
    if (h.opcode == p::kOpInit && !init_decided_) {
        note_init(fd, h, body, body_len);
        return init_failed_ ? Verdict::Consumed : Verdict::Pass;
    }
    if (famfs_) {
        const p::Revision* rev;
        {
            std::lock_guard lock(mu_);
            rev = rev_;
        }
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

void KernelIo::note_init(int fd, const p::InHeader& h, const uint8_t* body, size_t body_len) {
    InitOffer o;
    memcpy(&o.major, body + p::kInitInMajor, 4);
    memcpy(&o.minor, body + p::kInitInMinor, 4);
    memcpy(&o.flags, body + p::kInitInFlags, 4);
    if ((o.flags & p::kFlagInitExt) && body_len >= p::kInitInExtSize)
        memcpy(&o.flags2, body + p::kInitInFlags2, 4);

    RevisionDecision d;
    if (config_.force_compat) {
        d.reason = "compat mode forced by option";
    } else if (o.major > p::kKernelMajor) {
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
    const std::string reason = fmt::format("{} mode: {}", famfs ? "famfs" : "compat", d.reason);
    {
        std::lock_guard lock(mu_);
        offer_ = o;
        rev_ = d.revision;
        reason_ = reason;
    }
    famfs_ = famfs;
    init_decided_ = o.major == p::kKernelMajor;
    init_unique_ = h.unique;
    init_pending_ = famfs;
    spdlog::info("{}", reason);

    if (!famfs && config_.want_famfs && o.major <= p::kKernelMajor) {
        // Explicitly requested famfs cannot run: fail the mount now rather
        // than serve it in a mode nobody asked for.
        init_failed_ = true;
        spdlog::error("famfs mode was requested but is not available: {}", d.reason);
        reply(fd, h.unique, -EPROTO, nullptr, 0);
        if (se_) fuse_session_exit(se_);
    }
    if (config_.on_mode && o.major <= p::kKernelMajor) config_.on_mode(famfs, reason);
}

void KernelIo::serve_get_fmap(int fd, const p::InHeader& h) {
    const p::Revision* rev;
    {
        std::lock_guard lock(mu_);
        rev = rev_;
    }
    FmapInfo info;
    WireMap wire;
    std::vector<uint8_t> payload;
    std::string why;
    int rc = source_.fmap_for(h.nodeid, info);
    if (rc != 0)
        why = fmt::format("no map ({})", strerror(-rc));
    else if (!info.regular)
        why = "not a regular file", rc = -EINVAL;
    else if ((rc = to_wire(info, wire, why)) == 0)
        rc = encode_fmap(*rev, wire, payload, why);
    if (rc != 0) {
        ++fmap_failed_;
        spdlog::error("GET_FMAP inode {}: {}; the open fails with {}", h.nodeid, why,
                      strerrorname_np(-rc) ? strerrorname_np(-rc) : "?");
        reply(fd, h.unique, rc, nullptr, 0);
        return;
    }
    ++fmap_served_;
    reply(fd, h.unique, 0, payload.data(), payload.size());
}

void KernelIo::serve_get_daxdev(int fd, const p::InHeader& h) {
    std::string path, why;
    std::vector<uint8_t> payload;
    int rc = h.nodeid > UINT32_MAX ? -EINVAL : 0;  // the index travels in nodeid
    if (rc == 0) rc = source_.daxdev_path(static_cast<uint32_t>(h.nodeid), path);
    if (rc != 0)
        why = fmt::format("no such device ({})", strerror(-rc));
    else
        rc = encode_daxdev(static_cast<uint32_t>(h.nodeid), path, payload, why);
    if (rc != 0) {
        ++daxdev_failed_;
        spdlog::error("GET_DAXDEV index {}: {}", h.nodeid, why);
        reply(fd, h.unique, rc, nullptr, 0);
        return;
    }
    ++daxdev_served_;
    reply(fd, h.unique, 0, payload.data(), payload.size());
}

void KernelIo::reply(int fd, uint64_t unique, int error, const void* payload, size_t len) {
    p::OutHeader out{static_cast<uint32_t>(sizeof(p::OutHeader) + len), error, unique};
    iovec iov[2] = {{&out, sizeof out}, {const_cast<void*>(payload), len}};
    if (::writev(fd, iov, len ? 2 : 1) < 0 && errno != ENOENT)  // ENOENT: request interrupted
        spdlog::error("writing reply {} to the FUSE device: {}", unique, strerror(errno));
}

ssize_t KernelIo::on_writev(int fd, struct iovec* iov, int count) {
    if (init_pending_ && count >= 1 && iov[0].iov_len >= sizeof(p::OutHeader)) {
        p::OutHeader out;
        memcpy(&out, iov[0].iov_base, sizeof out);
        if (out.unique == init_unique_ && out.unique != 0) return patch_init_reply(fd, iov, count);
    }
    return ::writev(fd, iov, count);
}

// libfuse's INIT reply, with FUSE_DAX_FMAP added to flags2 (INIT_EXT set so
// flags2 is read) and the minor raised to the revision's. Every other byte is
// libfuse's.
ssize_t KernelIo::patch_init_reply(int fd, struct iovec* iov, int count) {
    init_pending_ = false;
    std::vector<uint8_t> msg;
    for (int i = 0; i < count; ++i) {
        const auto* b = static_cast<const uint8_t*>(iov[i].iov_base);
        msg.insert(msg.end(), b, b + iov[i].iov_len);
    }
    p::OutHeader out;
    memcpy(&out, msg.data(), sizeof out);
    const size_t body = sizeof out;
    if (out.error != 0 || msg.size() < body + p::kInitOutFlags2 + 4) {
        std::lock_guard lock(mu_);
        famfs_ = false;
        reason_ = "compat mode: libfuse did not accept the INIT";
        return ::writev(fd, iov, count);
    }
    const p::Revision* rev;
    {
        std::lock_guard lock(mu_);
        rev = rev_;
    }
    uint32_t minor, flags, flags2;
    memcpy(&minor, &msg[body + p::kInitOutMinor], 4);
    memcpy(&flags, &msg[body + p::kInitOutFlags], 4);
    memcpy(&flags2, &msg[body + p::kInitOutFlags2], 4);
    flags |= p::kFlagInitExt;
    flags2 |= static_cast<uint32_t>(rev->dax_fmap_flag >> 32);
    minor = std::max(minor, rev->minor);
    memcpy(&msg[body + p::kInitOutMinor], &minor, 4);
    memcpy(&msg[body + p::kInitOutFlags], &flags, 4);
    memcpy(&msg[body + p::kInitOutFlags2], &flags2, 4);
    ssize_t rc = ::write(fd, msg.data(), msg.size());
    if (rc < 0) return rc;
    // libfuse checks for failure only; report its own byte count.
    return static_cast<ssize_t>(msg.size());
}

}  // namespace famfs::fuse
