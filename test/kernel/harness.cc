#include "harness.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "famfs/error.h"
#include "famfs/uuid.h"

namespace famfs::ktest {

namespace {

// Documented offsets (docs/on-media-format.md).
constexpr uint64_t kLogOff = 0x200000;
constexpr uint64_t kEntryBase = kLogOff + 48;
constexpr uint64_t kEntrySize = 544;
constexpr uint64_t kGoldenSize = 8ULL << 30;
constexpr const char* kOwnerUuid = "5ca1ab1e-f00d-4a11-9e57-00000000c0de";  // golden owner

std::string golden_dir() {
    const char* env = getenv("FAMFS_GOLDEN_DIR");
    return env ? env : FAMFS_GOLDEN_DIR;
}

void run(const std::string& cmd) {
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
}

// The golden image's contents, made with libfamfs when the image is absent.
void make_equivalent(const std::string& path, const std::string& uuid_file) {
    famfs::Device::create_emulated(path, kGoldenSize, false);
    {
        famfs::Device d = famfs::Device::open(path, famfs::Device::Access::ReadWrite);
        famfs::MkfsOptions o;
        o.system_uuid = famfs::load_system_uuid(uuid_file);
        famfs::mkfs(d, o);
    }
    auto fs = famfs::Filesystem::open(path, {famfs::Device::Access::ReadWrite, uuid_file});
    fs->mkdir({"dir1", 0755, 1000, 1001});
    fs->mkdir({"dir1/sub", 0755, 1000, 1001});
    fs->create_file({"dir1/f1", 3145728, 0644, 1002, 1003, {}});
    fs->create_file({"dir1/sub/f2", 67108864, 0644, 1002, 1003, {}});
    fs->create_file({"tiny", 1, 0600, 1002, 1003, {}});
    fs->create_file(
        {"striped", 536870912, 0644, 1002, 1003, famfs::InterleaveParams{4, 8, 0x200000}});
}

}  // namespace

// ===== TestImage =================================================================

TestImage::TestImage() {
    char tmpl[] = "/tmp/famfs-ktest-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
    path = dir + "/dev";
    uuid_file = dir + "/system_uuid";
    std::ofstream(uuid_file) << kOwnerUuid << "\n";
    const std::string xz = golden_dir() + "/upstream-populated.img.xz";
    if (std::filesystem::exists(xz)) {
        run("xz -dc '" + xz + "' > '" + path + "'");
        std::filesystem::resize_file(path, kGoldenSize);
        golden = true;
    } else {
        make_equivalent(path, uuid_file);
    }
}

TestImage::~TestImage() { std::filesystem::remove_all(dir); }

Bytes TestImage::read_device(uint64_t off, size_t len) const {
    Bytes b(len);
    int fd = ::open(path.c_str(), O_RDONLY);
    ssize_t n = pread(fd, b.data(), len, static_cast<off_t>(off));
    ::close(fd);
    if (n != static_cast<ssize_t>(len)) throw std::runtime_error("short pread of the image");
    return b;
}

Bytes TestImage::entry(uint64_t index) const {
    return read_device(kEntryBase + index * kEntrySize, kEntrySize);
}

uint64_t TestImage::next_index() const { return get_u64(read_device(kLogOff, 48), 40); }

uint64_t TestImage::file_index(std::string_view relpath) const {
    for (uint64_t i = 0; i < next_index(); ++i) {
        Bytes e = entry(i);
        // type@8 (0 = FILE); FILE body@16: relpath@24 (80 bytes).
        if (get_u32(e, 8) != 0) continue;
        std::string_view name(reinterpret_cast<const char*>(&e[16 + 24]));
        if (name == relpath) return i;
    }
    throw std::runtime_error("no FILE entry for " + std::string(relpath));
}

Bytes TestImage::expected_fmap(uint64_t index) const {
    Bytes e = entry(index);
    const size_t body = 16, fmap = body + 104;
    const uint64_t size = get_u64(e, body + 0);
    const uint32_t ext_type = get_u32(e, fmap + 0);
    const uint32_t count = get_u32(e, fmap + 8);
    const size_t ext0 = fmap + 16;
    auto ext_at = [&](size_t off) {
        return Ext{static_cast<uint32_t>(get_u64(e, off)), get_u64(e, off + 8),
                   get_u64(e, off + 16)};
    };
    if (ext_type == 0) {
        std::vector<Ext> v;
        for (uint32_t i = 0; i < count; ++i) v.push_back(ext_at(ext0 + 24 * i));
        return simple_fmap(size, v);
    }
    // INTERLEAVE: nstrips@0 chunk_size@8 strips@16 (within the fmap union).
    const uint64_t nstrips = get_u64(e, ext0);
    const uint64_t chunk = get_u64(e, ext0 + 8);
    std::vector<Ext> v;
    uint64_t min_len = ~0ULL;
    for (uint64_t i = 0; i < nstrips; ++i) {
        v.push_back(ext_at(ext0 + 16 + 24 * i));
        min_len = std::min(min_len, v.back().len);
    }
    // nbytes: what the strips address in whole rows.
    const uint64_t nbytes = min_len / chunk * chunk * nstrips;
    return interleaved_fmap(size, static_cast<uint32_t>(chunk), nbytes, v);
}

// ===== MiniFs =====================================================================

MiniFs::MiniFs(const std::string& device, const std::string& uuid_file, std::string daxdev)
    : fs_(famfs::Filesystem::open(device, {famfs::Device::Access::ReadWrite, uuid_file})),
      daxdev_(std::move(daxdev)) {}

const famfs::Node* MiniFs::find_locked(uint64_t ino) {
    const famfs::Node* n = fs_->tree().get(ino);
    if (!n) {
        fs_->refresh();
        n = fs_->tree().get(ino);
    }
    return n;
}

famfs::Status MiniFs::fmap_for(uint64_t nodeid, famfs::kernel_proto::FmapInfo& out) {
    std::lock_guard lock(mu_);
    if (auto it = injected_.find(nodeid); it != injected_.end()) {
        out = it->second;
        return famfs::Status::OK();
    }
    const famfs::Node* n = find_locked(nodeid);
    if (!n) return famfs::Status::Error(ENOENT);
    out.regular = !n->is_dir();
    out.file_size = n->size;
    out.fmap = n->fmap;
    return famfs::Status::OK();
}

famfs::Status MiniFs::daxdev_path(uint32_t index, std::string& out) {
    if (index != 0) return famfs::Status::Error(ENODEV);
    out = daxdev_;
    return famfs::Status::OK();
}

void MiniFs::inject(uint64_t nodeid, famfs::kernel_proto::FmapInfo info) {
    std::lock_guard lock(mu_);
    injected_[nodeid] = info;
}

uint64_t MiniFs::nlookup(uint64_t ino) {
    std::lock_guard lock(mu_);
    return nlookup_.count(ino) ? nlookup_[ino] : 0;
}

namespace {

// Deterministic attributes, so the tests can compute the reply bytes.
struct stat stat_of(const famfs::Node& n) {
    struct stat st {};
    st.st_ino = n.ino;
    st.st_mode = n.st_mode();
    st.st_nlink = n.is_dir() ? 2 : 1;
    st.st_uid = n.uid;
    st.st_gid = n.gid;
    st.st_size = static_cast<off_t>(n.size);
    st.st_blocks = static_cast<blkcnt_t>((n.size + 511) / 512);
    return st;
}

MiniFs* self(fuse_req_t req) { return static_cast<MiniFs*>(fuse_req_userdata(req)); }

}  // namespace

void MiniFs::op_lookup(void* r, uint64_t parent, const char* name) {
    auto req = static_cast<fuse_req_t>(r);
    fuse_entry_param e{};
    {
        std::lock_guard lock(mu_);
        const famfs::Node* n = fs_->tree().lookup(parent, name);
        if (!n) {  // another host (or the CLI) may have appended since
            fs_->refresh();
            n = fs_->tree().lookup(parent, name);
        }
        if (!n) {
            fuse_reply_err(req, ENOENT);
            return;
        }
        e.ino = n->ino;
        e.attr = stat_of(*n);
        e.attr_timeout = e.entry_timeout = 1.0;
        ++nlookup_[n->ino];
    }
    fuse_reply_entry(req, &e);
}

void MiniFs::op_getattr(void* r, uint64_t ino) {
    auto req = static_cast<fuse_req_t>(r);
    struct stat st {};
    {
        std::lock_guard lock(mu_);
        const famfs::Node* n = find_locked(ino);
        if (!n) {
            fuse_reply_err(req, ENOENT);
            return;
        }
        st = stat_of(*n);
    }
    fuse_reply_attr(req, &st, 1.0);
}

void MiniFs::op_open(void* r, uint64_t ino, void* f) {
    auto req = static_cast<fuse_req_t>(r);
    auto* fi = static_cast<fuse_file_info*>(f);
    fi->fh = ino;
    fuse_reply_open(req, fi);
}

void MiniFs::op_read(void* r, uint64_t ino, size_t size, off_t off) {
    auto req = static_cast<fuse_req_t>(r);
    if (io && io->refuse_data_io()) {
        fuse_reply_err(req, EIO);
        return;
    }
    std::vector<char> buf(size);
    size_t n = 0;
    {
        std::lock_guard lock(mu_);
        const famfs::Node* node = find_locked(ino);
        if (!node || node->is_dir()) {
            fuse_reply_err(req, node ? EISDIR : ENOENT);
            return;
        }
        n = fs_->read_data(*node, static_cast<uint64_t>(off), buf.data(), size);
    }
    fuse_reply_buf(req, buf.data(), n);
}

void MiniFs::op_forget(void* r, uint64_t ino, uint64_t n) {
    {
        std::lock_guard lock(mu_);
        auto& c = nlookup_[ino];
        c = c > n ? c - n : 0;
    }
    fuse_reply_none(static_cast<fuse_req_t>(r));
}

namespace {

const fuse_lowlevel_ops kOps = [] {
    fuse_lowlevel_ops ops{};
    ops.destroy = [](void* ud) { static_cast<MiniFs*>(ud)->op_destroy(); };
    ops.lookup = [](fuse_req_t req, fuse_ino_t parent, const char* name) {
        self(req)->op_lookup(req, parent, name);
    };
    ops.forget = [](fuse_req_t req, fuse_ino_t ino, uint64_t n) {
        self(req)->op_forget(req, ino, n);
    };
    ops.getattr = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
        self(req)->op_getattr(req, ino);
    };
    ops.open = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
        self(req)->op_open(req, ino, fi);
    };
    ops.read = [](fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
        self(req)->op_read(req, ino, size, off);
    };
    ops.release = [](fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); };
    return ops;
}();

}  // namespace

const fuse_lowlevel_ops& MiniFs::ops() { return kOps; }

// ===== Session ====================================================================

Session::Session(MiniFs& fs, famfs::kernel_proto::Connection::Config config)
    : Session(MiniFs::ops(), &fs, fs, std::move(config)) {
    mini_ = &fs;
    fs.io = io_.get();
}

Session::Session(const fuse_lowlevel_ops& ops, void* userdata, famfs::kernel_proto::FmapSource& source,
                 famfs::kernel_proto::Connection::Config config) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        throw std::runtime_error("socketpair failed");
    kernel_fd_ = sv[0];
    char arg0[] = "famfs-ktest";
    char* argv[] = {arg0, nullptr};
    fuse_args args = FUSE_ARGS_INIT(1, argv);
    se_ = fuse_session_new(&args, &ops, sizeof ops, userdata);
    if (!se_) throw std::runtime_error("fuse_session_new failed");
    io_ = std::make_unique<famfs::kernel_proto::Connection>(std::move(config), source);
    if (famfs::Status st = io_->attach(se_, sv[1]); !st.ok()) throw std::runtime_error(st.message());
    loop_ = std::thread([this] {
        fuse_session_loop(se_);
        ended_ = true;
    });
}

Session::~Session() {
    ::close(kernel_fd_);  // the daemon reads EOF and leaves its loop
    loop_.join();
    fuse_session_destroy(se_);  // closes the daemon's end
    if (mini_) mini_->io = nullptr;
}

void Session::send(const Bytes& msg) {
    if (::send(kernel_fd_, msg.data(), msg.size(), 0) != static_cast<ssize_t>(msg.size()))
        throw std::runtime_error("send to the daemon failed");
}

Bytes Session::recv(int timeout_ms) {
    pollfd p{kernel_fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) throw std::runtime_error("no reply from the daemon");
    Bytes b(1 << 20);
    ssize_t n = ::recv(kernel_fd_, b.data(), b.size(), 0);
    if (n <= 0) throw std::runtime_error("daemon closed the channel");
    b.resize(static_cast<size_t>(n));
    return b;
}

bool Session::silent(int ms) {
    pollfd p{kernel_fd_, POLLIN, 0};
    return poll(&p, 1, ms) == 0;
}

bool Session::ended(int ms) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!ended_ && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return ended_;
}

}  // namespace famfs::ktest
