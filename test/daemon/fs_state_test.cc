// The daemon's op layer without a mount: FsState over an emulated device,
// called the way ops.cc calls it.
#define CATCH_CONFIG_MAIN
#include "fs_state.h"

#include <fcntl.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "famfs/error.h"
#include "famfs/pattern.h"
#include "famfs/uuid.h"
#include "test_util.h"

using famfs::daemon::DirEntry;
using famfs::daemon::FsState;
using famfs::daemon::StateOptions;

namespace {

// libfamfs's unit-test device (test/unit/test_util.h), formatted by the owner.
struct Fixture : famfs::test::TempDevice {
    const std::string& dev = path;
    const std::string& owner_uuid = owner_uuid_file;
    const std::string& client_uuid = client_uuid_file;
    Fixture() { format(); }

    std::unique_ptr<famfs::Filesystem> owner_fs() { return open_owner(); }
    std::unique_ptr<FsState> state(bool client = false, bool ro = false) {
        StateOptions o;
        o.system_uuid_file = client ? client_uuid : owner_uuid;
        o.read_only = ro;
        return std::make_unique<FsState>(dev, o);
    }
    void creat(const std::string& path, uint64_t size, uint64_t seed) {
        auto fs = owner_fs();
        famfs::FileSpec spec;
        spec.relpath = path;
        spec.size = size;
        const famfs::Node& n = fs->create_file(spec);
        std::vector<uint8_t> buf(size);
        famfs::fill_pattern(buf.data(), 0, size, seed);
        fs->write_data(n, 0, buf.data(), size);
    }
    void mkdir(const std::string& path) {
        famfs::DirSpec spec;
        spec.relpath = path;
        owner_fs()->mkdir_p(spec);
    }
};

std::vector<std::string> list(FsState& s, uint64_t ino, bool plus, uint64_t off = 0,
                              size_t max = 1000, std::vector<uint64_t>* cookies = nullptr) {
    std::vector<std::string> names;
    REQUIRE(s.readdir(ino, off, plus, [&](const DirEntry& de) {
        if (names.size() >= max) return false;
        names.emplace_back(de.name);
        if (cookies) cookies->push_back(de.next_offset);
        return true;
    }).err() == 0);
    return names;
}

// FsState::write as the byte count or -errno the assertions compare with.
ssize_t write_result(FsState& s, uint64_t ino, uint64_t off, const void* buf, size_t len) {
    size_t written = 0;
    const famfs::Status st = s.write(ino, off, buf, len, written);
    return st.ok() ? static_cast<ssize_t>(written) : -static_cast<ssize_t>(st.err());
}

}  // namespace

TEST_CASE("not a famfs device: one-line error, errno set") {
    char tmpl[] = "/tmp/famfs-daemon-unit-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    famfs::Device::create_emulated(dir + "/zero", 16ULL << 20, false);
    try {
        FsState s(dir + "/zero", {});
        FAIL("opened a zeroed device");
    } catch (const famfs::Error& e) {
        CHECK(std::string(e.what()).find('\n') == std::string::npos);
        CHECK(std::string(e.what()).find("not a famfs device") != std::string::npos);
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("lookup, getattr and exact nlookup counting") {
    Fixture f;
    f.mkdir("d");
    f.creat("d/file", 5000, 1);
    auto s = f.state();
    fuse_entry_param e;
    REQUIRE(s->lookup(famfs::kRootIno, "d", e).err() == 0);
    const uint64_t dino = e.ino;
    CHECK(S_ISDIR(e.attr.st_mode));
    CHECK(e.attr.st_nlink == 2);
    REQUIRE(s->lookup(dino, "file", e).err() == 0);
    const uint64_t fino = e.ino;
    CHECK(S_ISREG(e.attr.st_mode));
    CHECK(e.attr.st_size == 5000);
    CHECK((e.attr.st_mode & 07777) == 0644);
    CHECK(s->lookup(dino, "missing", e).err() == ENOENT);
    CHECK(s->lookup(fino, "x", e).err() == ENOTDIR);

    REQUIRE(s->lookup(dino, "file", e).err() == 0);
    CHECK(s->nlookup(fino) == 2);
    CHECK(s->referenced_inodes() == 2);
    s->forget(fino, 1);
    CHECK(s->nlookup(fino) == 1);
    s->forget(fino, 1);
    s->forget(dino, 1);
    CHECK(s->referenced_inodes() == 0);
    s->forget(fino, 5);  // a stray forget does not underflow
    CHECK(s->nlookup(fino) == 0);

    struct stat st;
    CHECK(s->getattr(fino, st).err() == 0);
    CHECK(st.st_ino == fino);
    CHECK(s->getattr(999999, st).err() == ENOENT);
}

TEST_CASE("readdir: stable cookies in log order; readdirplus counts lookups") {
    Fixture f;
    for (int i = 0; i < 5; ++i) f.creat("f" + std::to_string(i), 100, i);
    auto s = f.state();
    std::vector<uint64_t> cookies;
    auto all = list(*s, famfs::kRootIno, false, 0, 1000, &cookies);
    REQUIRE(all == std::vector<std::string>{".", "..", ".meta", "f0", "f1", "f2", "f3", "f4"});
    // Resume from the cookie after f1: the rest, in order.
    auto rest = list(*s, famfs::kRootIno, false, cookies[4]);
    CHECK(rest == std::vector<std::string>{"f2", "f3", "f4"});
    CHECK(s->referenced_inodes() == 0);

    // readdirplus: every emitted log entry is one lookup; a refused one is
    // not (.meta is synthesized and not counted).
    auto some = list(*s, famfs::kRootIno, true, 0, 5);  // ".", "..", .meta, f0, f1
    CHECK(some.size() == 5);
    CHECK(s->referenced_inodes() == 2);
    fuse_entry_param e;
    REQUIRE(s->lookup(famfs::kRootIno, "f0", e).err() == 0);
    CHECK(s->nlookup(e.ino) == 2);
}

TEST_CASE("read returns device ranges holding the file's bytes; clipped at EOF") {
    Fixture f;
    f.creat("a", 3 * 1024 * 1024 + 17, 42);
    auto s = f.state();
    fuse_entry_param e;
    REQUIRE(s->lookup(famfs::kRootIno, "a", e).err() == 0);
    std::vector<iovec> iov;
    REQUIRE(s->read(e.ino, 1 << 20, 4 << 20, iov).err() == 0);
    size_t total = 0;
    for (auto& v : iov) {
        CHECK(!famfs::check_pattern(static_cast<uint8_t*>(v.iov_base), (1 << 20) + total, v.iov_len,
                                    42));
        total += v.iov_len;
    }
    CHECK(total == 2 * 1024 * 1024 + 17);
    REQUIRE(s->read(e.ino, 10 << 20, 4096, iov).err() == 0);
    CHECK(iov.empty());
}

TEST_CASE("write stays within the pre-allocated size") {
    Fixture f;
    f.creat("a", 10000, 1);
    auto s = f.state();
    fuse_entry_param e;
    REQUIRE(s->lookup(famfs::kRootIno, "a", e).err() == 0);
    std::vector<uint8_t> buf(8192, 0xab);
    CHECK(write_result(*s, e.ino, 0, buf.data(), 4096) == 4096);
    CHECK(write_result(*s, e.ino, 8000, buf.data(), 8192) == 2000);  // short at EOF
    CHECK(write_result(*s, e.ino, 10000, buf.data(), 1) == -EFBIG);
    struct stat st;
    REQUIRE(s->getattr(e.ino, st).err() == 0);
    CHECK(st.st_size == 10000);

    auto ro = f.state(false, true);
    CHECK(write_result(*ro, e.ino, 0, buf.data(), 1) == -EROFS);
    CHECK(ro->open(e.ino, O_RDWR).err() == EROFS);
    CHECK(ro->open(e.ino, O_RDONLY).err() == 0);
}

TEST_CASE("setattr: mode/uid/gid/times in memory; size changes refused") {
    Fixture f;
    f.creat("a", 4096, 1);
    auto s = f.state();
    fuse_entry_param e;
    REQUIRE(s->lookup(famfs::kRootIno, "a", e).err() == 0);
    struct stat in {
    }, out;
    in.st_mode = 0600;
    in.st_uid = 1000;
    in.st_mtim = {1234, 5};
    REQUIRE(s->setattr(e.ino, in, FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_MTIME,
                       out).err() == 0);
    CHECK((out.st_mode & 07777) == 0600);
    CHECK(S_ISREG(out.st_mode));
    CHECK(out.st_uid == 1000);
    CHECK(out.st_mtim.tv_sec == 1234);
    REQUIRE(s->getattr(e.ino, out).err() == 0);
    CHECK((out.st_mode & 07777) == 0600);

    in.st_size = 0;
    CHECK(s->setattr(e.ino, in, FUSE_SET_ATTR_SIZE, out).err() == EPERM);
    in.st_size = 4096;
    CHECK(s->setattr(e.ino, in, FUSE_SET_ATTR_SIZE, out).err() == 0);  // same size: no-op
    CHECK(s->open(e.ino, O_WRONLY | O_TRUNC).err() == EPERM);
}

TEST_CASE("log growth: a miss replays new entries; refresh is cheap when idle") {
    Fixture f;
    auto s = f.state(/*client=*/true);
    CHECK(s->role() == famfs::Role::Client);
    fuse_entry_param e;
    CHECK(s->lookup(famfs::kRootIno, "later", e).err() == ENOENT);
    const uint64_t before = s->log_index();
    f.creat("later", 4096, 9);
    // No refresh thread here: the miss itself finds the new entry.
    REQUIRE(s->lookup(famfs::kRootIno, "later", e).err() == 0);
    CHECK(s->log_index() == before + 1);
    CHECK(s->refresh_if_needed() == 0);

    f.mkdir("newdir");
    auto names = list(*s, famfs::kRootIno, false);  // readdir from 0 refreshes
    CHECK(std::find(names.begin(), names.end(), "newdir") != names.end());

    auto stats = nlohmann::json::parse(s->stats_json());
    CHECK(stats["role"] == "client");
    CHECK(stats["mode"] == "compat");
    CHECK(stats["refresh_count"].get<uint64_t>() == 2);
    CHECK(stats["log_index"].get<uint64_t>() == 2);
}

TEST_CASE("xattrs: stats on the root, fmap on files") {
    Fixture f;
    f.creat("a", 3 << 20, 1);
    auto s = f.state();
    std::string v;
    REQUIRE(s->getxattr(famfs::kRootIno, "user.famfs.stats", v).err() == 0);
    CHECK(nlohmann::json::parse(v).contains("requests"));
    fuse_entry_param e;
    REQUIRE(s->lookup(famfs::kRootIno, "a", e).err() == 0);
    REQUIRE(s->getxattr(e.ino, "user.famfs.fmap", v).err() == 0);
    auto m = nlohmann::json::parse(v);
    CHECK(m["size"] == 3 << 20);
    CHECK(m["extents"].size() == 1);
    CHECK(s->getxattr(e.ino, "user.other", v).err() == ENODATA);
    std::string names;
    REQUIRE(s->listxattr(e.ino, names).err() == 0);
    CHECK(names == std::string("user.famfs.fmap\0", 16));
}

TEST_CASE("statfs reports allocation units and log slots") {
    Fixture f;
    f.creat("a", 3 << 20, 1);
    auto s = f.state();
    struct statvfs st;
    REQUIRE(s->statfs(st).err() == 0);
    CHECK(st.f_bsize == famfs::kAllocUnit);
    CHECK(st.f_blocks == (64ULL << 20) / famfs::kAllocUnit);
    // superblock + 8 MiB log + 2 units of file
    CHECK(st.f_blocks - st.f_bfree == 1 + 4 + 2);
    CHECK(st.f_namemax == famfs::kMaxNameLen);
}

TEST_CASE("xattrs: a non-UTF-8 file name renders (issue 11 item 2)") {
    Fixture f;
    f.creat("bad\xff\xfe", 2 << 20, 1);  // the owner may write any bytes but '/' and NUL
    auto s = f.state();
    fuse_entry_param e;
    REQUIRE(s->lookup(famfs::kRootIno, "bad\xff\xfe", e).err() == 0);
    std::string v;
    // Before: nlohmann::json::dump() threw type_error 316 and the daemon died.
    REQUIRE(s->getxattr(e.ino, "user.famfs.fmap", v).err() == 0);
    CHECK(nlohmann::json::parse(v)["path"] == "bad\\xff\\xfe");
}
