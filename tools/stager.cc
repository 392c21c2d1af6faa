#include "stager.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "famfs/control.h"
#include "famfs/error.h"
#include "famfs/uuid.h"

namespace famfs::cli {

namespace {

NodeInfo info_of(const Node& n) {
    return {n.is_dir(), n.mode, n.uid, n.gid, n.size, n.fmap, n.ino};
}

// The direct path: this process replays the log and appends itself.
class LocalStager : public Stager {
public:
    LocalStager(const GlobalOptions& g, const std::string& device)
        : fs_(open_fs(g, device, /*writable=*/true)) {
        batch_.emplace(*fs_);
    }
    PathInfo query(const std::string& rel) override {
        PathInfo p;
        const Node* n = fs_->tree().resolve(rel);
        if (n) p.committed = info_of(*n);
        if (batch_) {
            p.kind = batch_->kind(rel);
            p.file_size = batch_->file_size(rel);
        } else if (n) {
            p.kind = n->is_dir() ? Kind::Dir : Kind::File;
            p.file_size = n->is_dir() ? 0 : n->size;
        }
        return p;
    }
    void create_file(const FileSpec& spec) override { batch_->create_file(spec); }
    bool mkdir(const DirSpec& spec, bool parents, bool exist_ok) override {
        return batch_->mkdir(spec, parents, exist_ok);
    }
    void commit() override {
        batch_->commit();
        batch_.reset();
    }
    uint64_t free_bytes() override { return fs_->allocator_snapshot().free_bytes(); }
    bool remote() const override { return false; }

protected:
    uint8_t* data_base(uint64_t& size) override {
        size = fs_->device().size();
        return fs_->device().base();
    }
    void map_data(const NodeInfo& f) override {
        if (fs_->device().mountpoint().empty()) return;
        const Node* n = f.ino ? fs_->tree().get(f.ino) : nullptr;
        if (!n) command_error("a file to write is not in the replayed log; nothing written");
        fs_->map_file_through_mount(*n);
    }

private:
    std::unique_ptr<Filesystem> fs_;
    std::optional<Filesystem::Batch> batch_;
};

// The owner daemon's channel.
class RemoteStager : public Stager {
public:
    RemoteStager(int fd, std::string device) : fd_(fd), device_(std::move(device)) {}
    ~RemoteStager() override { ::close(fd_); }

    // Begin: Ok, or the daemon's reason it cannot serve this caller.
    std::optional<std::string> begin(const Uuid& host) {
        WireWriter w;
        w.u8(static_cast<uint8_t>(ControlOp::Begin)).u32(kControlVersion).raw(&host, sizeof host);
        call(w.data(), /*unavailable_ok=*/true);
        if (unavailable_) return reason_;
        return std::nullopt;
    }

    PathInfo query(const std::string& rel) override {
        WireWriter w;
        w.u8(static_cast<uint8_t>(ControlOp::Query)).str(rel);
        std::string reply;
        WireReader r = call(w.data(), false, &reply);
        PathInfo p;
        p.kind = static_cast<Kind>(r.u8());
        p.file_size = r.u64();
        if (r.u8()) {
            NodeInfo n;
            n.dir = r.u8() != 0;
            n.mode = r.u32();
            n.uid = r.u32();
            n.gid = r.u32();
            n.size = r.u64();
            r.raw(&n.fmap, sizeof n.fmap);
            p.committed = n;
        }
        return p;
    }
    void create_file(const FileSpec& s) override {
        WireWriter w;
        w.u8(static_cast<uint8_t>(ControlOp::CreateFile))
            .str(s.relpath)
            .u64(s.size)
            .u32(s.mode)
            .u32(s.uid)
            .u32(s.gid)
            .u8(s.interleave ? 1 : 0);
        if (s.interleave)
            w.u64(s.interleave->nstrips).u64(s.interleave->nbuckets).u64(s.interleave->chunk_size);
        call(w.data());
    }
    bool mkdir(const DirSpec& s, bool parents, bool exist_ok) override {
        WireWriter w;
        w.u8(static_cast<uint8_t>(ControlOp::Mkdir))
            .str(s.relpath)
            .u32(s.mode)
            .u32(s.uid)
            .u32(s.gid)
            .u8(parents)
            .u8(exist_ok);
        std::string reply;
        return call(w.data(), false, &reply).u8() != 0;
    }
    void commit() override { call(WireWriter().u8(static_cast<uint8_t>(ControlOp::Commit)).data()); }
    uint64_t free_bytes() override {
        std::string reply;
        return call(WireWriter().u8(static_cast<uint8_t>(ControlOp::FreeBytes)).data(), false,
                    &reply)
            .u64();
    }
    bool remote() const override { return true; }

protected:
    uint8_t* data_base(uint64_t& size) override {
        if (!dev_) dev_.emplace(open_device(device_, Device::Access::ReadWrite));
        size = dev_->size();
        return dev_->base();
    }

private:
    // Sends one request; returns a reader past the Ok status (the reply is
    // kept in *keep). An Error reply is thrown as the famfs::Error it was.
    WireReader call(const std::string& req, bool unavailable_ok = false,
                    std::string* keep = nullptr) {
        std::string local;
        std::string& reply = keep ? *keep : local;
        try {
            send_msg(fd_, req);
            auto m = recv_msg(fd_);
            if (!m) fail(ECONNRESET, "the daemon closed the connection");
            reply = std::move(*m);
        } catch (const Error& e) {
            command_error("the mount's daemon stopped answering ({}); check the log: famfs log",
                          e.what());
        }
        WireReader r(reply);
        const auto st = static_cast<ControlStatus>(r.u8());
        if (st == ControlStatus::Ok) return r;
        if (st == ControlStatus::Unavailable && unavailable_ok) {
            unavailable_ = true;
            reason_ = r.str();
            return r;
        }
        if (st == ControlStatus::Error) {
            const int err = r.i32();
            throw Error(err, r.str());
        }
        command_error("the mount's daemon sent an unexpected reply");
    }

    int fd_;
    std::string device_;
    std::optional<Device> dev_;
    bool unavailable_ = false;
    std::string reason_;
};

// A connected socket to the daemon serving `t`, or -1 (with the reason).
int connect_daemon(const Target& t, std::string& why) {
    struct stat st;
    if (::stat(t.device.c_str(), &st) != 0) {
        why = fmt::format("cannot stat {}", t.device);
        return -1;
    }
    const std::string path = control_socket_path(t.mountpoint, st.st_dev, st.st_ino);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) {
        why = "socket path too long";
        return -1;
    }
    std::memcpy(a.sun_path, path.data(), path.size());
    const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        why = std::strerror(errno);
        return -1;
    }
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
        why = fmt::format("{}: {}", path, std::strerror(errno));
        ::close(fd);
        return -1;
    }
    return fd;
}

}  // namespace

std::unique_ptr<Stager> open_stager(const GlobalOptions& g, const Target& t, size_t nitems) {
    const char* env = std::getenv("FAMFS_CONTROL");
    const std::string mode = env ? env : "";
    const bool require = mode == "require";
    // A device bound to fsdev_dax has no raw mapping for the channel's data
    // writes (the daemon allocates, this process writes the bytes): the local
    // batch reaches file data through the files on the mount instead.
    const bool fsdev = !t.mountpoint.empty() && dax_driver(t.device) == "fsdev_dax";
    if (mode != "off" && !fsdev && !t.mountpoint.empty() && g.device.empty() &&
        (nitems <= kMaxRemoteItems || require)) {
        std::string why;
        const int fd = connect_daemon(t, why);
        if (fd >= 0) {
            Uuid host;
            try {
                host = load_system_uuid(g.system_uuid_file);
            } catch (const Error& e) {
                ::close(fd);
                throw CommandError(kExitUsage, e.what());
            }
            auto r = std::make_unique<RemoteStager>(fd, t.device);
            auto refused = r->begin(host);
            if (!refused) return r;
            why = *refused;
        }
        if (require)
            command_error("FAMFS_CONTROL=require: the daemon of {} cannot create for us ({})",
                          t.mountpoint, why);
    } else if (require && fsdev) {
        command_error("FAMFS_CONTROL=require: {} is bound to fsdev_dax; the creation channel "
                      "needs a raw-mappable device",
                      t.device);
    } else if (require) {
        command_error("FAMFS_CONTROL=require: {} is not a path under a famfs mount{}",
                      t.mountpoint.empty() ? t.device : t.mountpoint,
                      nitems > kMaxRemoteItems ? " (or too many items)" : "");
    }
    return std::make_unique<LocalStager>(g, t.device);
}

}  // namespace famfs::cli
