// The scripted-kernel harness: a famfs test image, a minimal lowlevel FUSE
// server over it (MiniFs, which is also the kernel protocol layer's FmapSource), and a Session
// that runs libfuse + a kernel_proto::Connection on one end of a SOCK_SEQPACKET socketpair while
// the test plays the kernel on the other end.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "famfs/fs.h"
#include "kernel_proto_session.h"
#include "wire.h"

struct fuse_session;
struct fuse_lowlevel_ops;

namespace famfs::ktest {

// A famfs device file in a temp dir: upstream's golden populated image when
// it is available ($FAMFS_GOLDEN_DIR, or CMake's FAMFS_GOLDEN_DIR), else an
// equivalent one made here with libfamfs (same paths, sizes and map shapes).
// Expected maps are always read back from the raw log bytes.
class TestImage {
public:
    TestImage();
    ~TestImage();
    TestImage(const TestImage&) = delete;
    TestImage& operator=(const TestImage&) = delete;

    std::string dir, path, uuid_file;
    bool golden = false;

    // Raw log entry `index` (544 bytes) read with pread at the documented offset.
    Bytes entry(uint64_t index) const;
    // Index of the FILE entry whose relpath is `relpath`; throws if none.
    uint64_t file_index(std::string_view relpath) const;
    // The GET_FMAP payload the log entry implies, built with wire.h.
    Bytes expected_fmap(uint64_t index) const;
    Bytes read_device(uint64_t off, size_t len) const;
    uint64_t next_index() const;
};

// A tiny lowlevel server: lookup (refreshing from the log on a miss, as the
// daemon does), getattr, open, read, release, forget, destroy. Data READs in
// famfs mode are refused through Connection::refuse_data_io().
class MiniFs : public famfs::kernel_proto::FmapSource {
public:
    MiniFs(const std::string& device, const std::string& uuid_file, std::string daxdev_path);

    famfs::Status fmap_for(uint64_t nodeid, famfs::kernel_proto::FmapInfo& out) override;
    famfs::Status daxdev_path(uint32_t index, std::string& out) override;

    void inject(uint64_t nodeid, famfs::kernel_proto::FmapInfo info);
    uint64_t nlookup(uint64_t ino);
    bool destroyed() const { return destroyed_; }

    // Callbacks from the C ops table.
    void op_lookup(void* req, uint64_t parent, const char* name);
    void op_getattr(void* req, uint64_t ino);
    void op_open(void* req, uint64_t ino, void* fi);
    void op_read(void* req, uint64_t ino, size_t size, off_t off);
    void op_forget(void* req, uint64_t ino, uint64_t n);
    void op_destroy() { destroyed_ = true; }
    static const fuse_lowlevel_ops& ops();

    famfs::kernel_proto::Connection* io = nullptr;  // set by Session

private:
    const famfs::Node* find_locked(uint64_t ino);

    std::mutex mu_;
    std::unique_ptr<famfs::Filesystem> fs_;
    std::string daxdev_;
    std::map<uint64_t, uint64_t> nlookup_;
    std::map<uint64_t, famfs::kernel_proto::FmapInfo> injected_;
    std::atomic<bool> destroyed_{false};
};

// libfuse + a kernel_proto::Connection on a socketpair, run in a thread.
class Session {
public:
    // Any lowlevel ops table (the daemon's own, or MiniFs's) with its userdata.
    Session(const fuse_lowlevel_ops& ops, void* userdata, famfs::kernel_proto::FmapSource& source,
            famfs::kernel_proto::Connection::Config config);
    Session(MiniFs& fs, famfs::kernel_proto::Connection::Config config);
    ~Session();

    void send(const Bytes& msg);
    // Next reply; fails the test (throws) after `timeout_ms`.
    Bytes recv(int timeout_ms = 5000);
    // True if nothing arrives within `ms`.
    bool silent(int ms = 200);
    Bytes call(const Bytes& msg) {
        send(msg);
        return recv();
    }
    // True once the session loop has returned (within `ms`).
    bool ended(int ms);
    famfs::kernel_proto::Connection& io() { return *io_; }

private:
    MiniFs* mini_ = nullptr;
    int kernel_fd_ = -1;
    fuse_session* se_ = nullptr;
    std::unique_ptr<famfs::kernel_proto::Connection> io_;
    std::thread loop_;
    std::atomic<bool> ended_{false};
};

}  // namespace famfs::ktest
