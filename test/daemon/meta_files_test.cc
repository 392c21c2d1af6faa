// .meta/.superblock and .meta/.log as FsState serves them (daemon/meta_files.h):
// names, modes, readdir, compat-mode reads and writes, GET_FMAP replies.
#include <fcntl.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "famfs/format.h"
#include "fs_state.h"
#include "kernel_proto_fmap.h"
#include "test_util.h"

using famfs::daemon::DirEntry;
using famfs::daemon::FsState;
using famfs::daemon::kMetaDirIno;
using famfs::daemon::kMetaLogIno;
using famfs::daemon::kMetaSuperblockIno;
using famfs::daemon::StateOptions;

namespace {

struct MetaFixture : famfs::test::TempDevice {
    MetaFixture() { format(8ULL << 20); }
    std::unique_ptr<FsState> state(bool client = false, bool ro = false) {
        StateOptions o;
        o.system_uuid_file = client ? client_uuid_file : owner_uuid_file;
        o.read_only = ro;
        return std::make_unique<FsState>(path, o);
    }
};

std::vector<std::string> names_of(FsState& s, uint64_t ino, bool plus, uint64_t off = 0) {
    std::vector<std::string> names;
    REQUIRE(s.readdir(ino, off, plus, [&](const DirEntry& de) {
        names.emplace_back(de.name);
        return true;
    }).ok());
    return names;
}

std::string bytes_at(const std::string& dev, uint64_t off, size_t len) {
    std::string out(len, '\0');
    const int fd = ::open(dev.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    REQUIRE(pread(fd, out.data(), len, static_cast<off_t>(off)) == static_cast<ssize_t>(len));
    ::close(fd);
    return out;
}

std::string read_all(FsState& s, uint64_t ino, uint64_t off, size_t len) {
    std::vector<iovec> iov;
    REQUIRE(s.read(ino, off, len, iov).ok());
    std::string out;
    for (const iovec& v : iov) out.append(static_cast<const char*>(v.iov_base), v.iov_len);
    return out;
}

}  // namespace

TEST_CASE(".meta: names, modes and sizes as upstream's mkmeta makes them") {
    MetaFixture f;
    auto s = f.state();
    fuse_entry_param e;
    REQUIRE(s->lookup(famfs::kRootIno, ".meta", e).ok());
    CHECK(e.ino == kMetaDirIno);
    CHECK(e.attr.st_mode == (S_IFDIR | 0700));
    CHECK(e.attr.st_uid == 0);
    REQUIRE(s->lookup(kMetaDirIno, ".superblock", e).ok());
    CHECK(e.ino == kMetaSuperblockIno);
    CHECK(e.attr.st_mode == (S_IFREG | 0444));
    CHECK(e.attr.st_size == static_cast<off_t>(famfs::kSuperblockRegion));
    REQUIRE(s->lookup(kMetaDirIno, ".log", e).ok());
    CHECK(e.ino == kMetaLogIno);
    CHECK(e.attr.st_mode == (S_IFREG | 0644));  // the owner appends
    CHECK(e.attr.st_size == static_cast<off_t>(8ULL << 20));
    CHECK(s->lookup(kMetaDirIno, "log", e).err() == ENOENT);
    struct stat st;
    REQUIRE(s->getattr(kMetaLogIno, st).ok());
    CHECK(st.st_ino == kMetaLogIno);

    auto c = f.state(/*client=*/true);
    REQUIRE(c->lookup(kMetaDirIno, ".log", e).ok());
    CHECK(e.attr.st_mode == (S_IFREG | 0444));  // clients never append
}

TEST_CASE(".meta: listed after \"..\" at the root; cookies still resume") {
    MetaFixture f;
    {
        auto fs = f.open_owner();
        for (int i = 0; i < 3; ++i) fs->create_file({"f" + std::to_string(i), 4096});
    }
    auto s = f.state();
    std::vector<uint64_t> cookies;
    std::vector<std::string> names;
    REQUIRE(s->readdir(famfs::kRootIno, 0, false, [&](const DirEntry& de) {
        names.emplace_back(de.name);
        cookies.push_back(de.next_offset);
        return true;
    }).ok());
    REQUIRE(names == std::vector<std::string>{".", "..", ".meta", "f0", "f1", "f2"});
    CHECK(names_of(*s, famfs::kRootIno, false, cookies[2]) ==
          std::vector<std::string>{"f0", "f1", "f2"});
    CHECK(names_of(*s, famfs::kRootIno, false, cookies[3]) ==
          std::vector<std::string>{"f1", "f2"});
    CHECK(names_of(*s, kMetaDirIno, true) ==
          std::vector<std::string>{".", "..", ".superblock", ".log"});
    CHECK(names_of(*s, kMetaDirIno, false, 3) == std::vector<std::string>{".log"});
    CHECK(s->opendir(kMetaDirIno).ok());
    CHECK(s->opendir(kMetaLogIno).err() == ENOTDIR);
}

TEST_CASE(".meta files read the device's superblock and log regions (compat mode)") {
    MetaFixture f;
    f.open_owner()->create_file({"a", 4096});
    auto s = f.state();
    CHECK(s->open(kMetaSuperblockIno, O_RDONLY).ok());
    CHECK(read_all(*s, kMetaSuperblockIno, 0, 4096) == bytes_at(f.path, 0, 4096));
    CHECK(read_all(*s, kMetaLogIno, 0, 8192) == bytes_at(f.path, famfs::kLogOffset, 8192));
    // Clipped at the file's size.
    CHECK(read_all(*s, kMetaSuperblockIno, famfs::kSuperblockRegion - 10, 100).size() == 10);
    CHECK(read_all(*s, kMetaSuperblockIno, famfs::kSuperblockRegion, 100).empty());
    CHECK(s->open(kMetaDirIno, O_RDONLY).err() == EISDIR);
}

TEST_CASE(".meta: only the owner may write the log; nobody writes the superblock") {
    MetaFixture f;
    auto owner = f.state();
    CHECK(owner->open(kMetaLogIno, O_RDWR).ok());
    CHECK(owner->open(kMetaSuperblockIno, O_RDWR).err() == EROFS);
    CHECK(owner->open(kMetaLogIno, O_RDWR | O_TRUNC).err() == EPERM);
    struct stat in {}, out;
    in.st_mode = 0666;
    CHECK(owner->setattr(kMetaLogIno, in, FUSE_SET_ATTR_MODE, out).err() == EPERM);

    // An owner write lands in the log region (as the CLI's append would).
    const uint64_t off = 4096 * 3;
    const char msg[] = "written through .meta/.log";
    size_t written = 0;
    REQUIRE(owner->write(kMetaLogIno, off, msg, sizeof msg, written).ok());
    CHECK(written == sizeof msg);
    CHECK(bytes_at(f.path, famfs::kLogOffset + off, sizeof msg) == std::string(msg, sizeof msg));
    CHECK(owner->write(kMetaLogIno, 8ULL << 20, msg, 1, written).err() == EFBIG);
    CHECK(owner->write(kMetaSuperblockIno, 0, msg, 1, written).err() == EROFS);

    auto client = f.state(/*client=*/true);
    CHECK(client->open(kMetaLogIno, O_WRONLY).err() == EROFS);
    CHECK(client->write(kMetaLogIno, off, msg, 1, written).err() == EROFS);
    auto ro = f.state(false, /*ro=*/true);
    CHECK(ro->open(kMetaLogIno, O_WRONLY).err() == EROFS);
}

TEST_CASE(".meta GET_FMAP: file_type 1 and 2 over the superblock and log regions") {
    MetaFixture f;
    auto s = f.state();
    for (const famfs::kernel_proto::Revision* rev : famfs::kernel_proto::kRevisions) {
        std::vector<uint8_t> reply;
        REQUIRE(famfs::kernel_proto::fmap_reply(*rev, *s, kMetaSuperblockIno, reply).ok());
        REQUIRE(reply.size() == 32 + 24);
        auto u64 = [&](size_t at) {
            uint64_t v;
            std::memcpy(&v, reply.data() + at, 8);
            return v;
        };
        auto u32 = [&](size_t at) {
            uint32_t v;
            std::memcpy(&v, reply.data() + at, 4);
            return v;
        };
        CHECK(reply[0] == 1);              // superblock
        CHECK(u32(4) == 0);                // simple
        CHECK(u32(8) == 1);                // one extent
        CHECK(u64(16) == 2ULL << 20);      // file_size
        CHECK(u32(32) == 0);               // devindex
        CHECK(u64(40) == 0);               // offset
        CHECK(u64(48) == 2ULL << 20);      // len

        REQUIRE(famfs::kernel_proto::fmap_reply(*rev, *s, kMetaLogIno, reply).ok());
        REQUIRE(reply.size() == 32 + 24);
        CHECK(reply[0] == 2);  // log
        CHECK(u64(16) == 8ULL << 20);
        CHECK(u64(40) == famfs::kLogOffset);
        CHECK(u64(48) == 8ULL << 20);

        // The directory is not mappable.
        CHECK(famfs::kernel_proto::fmap_reply(*rev, *s, kMetaDirIno, reply).err() == EINVAL);
    }
}

TEST_CASE("through-mount state before bootstrap: the root and .superblock only") {
    MetaFixture f;
    StateOptions o;
    o.system_uuid_file = f.owner_uuid_file;
    FsState s(f.path, o, FsState::ThroughMount{});
    CHECK(s.through_mount());
    CHECK(s.device_is_dax());
    struct stat st;
    REQUIRE(s.getattr(famfs::kRootIno, st).ok());
    CHECK(S_ISDIR(st.st_mode));
    fuse_entry_param e;
    REQUIRE(s.lookup(famfs::kRootIno, ".meta", e).ok());
    REQUIRE(s.lookup(kMetaDirIno, ".superblock", e).ok());
    // The log's length comes from the superblock: unknown until it is read.
    CHECK(s.lookup(kMetaDirIno, ".log", e).err() == ENOENT);
    famfs::kernel_proto::FmapInfo info;
    REQUIRE(s.fmap_for(kMetaSuperblockIno, info).ok());
    CHECK(info.file_type == famfs::kernel_proto::FileType::Superblock);
    CHECK(s.fmap_for(kMetaLogIno, info).err() == ENOENT);
    CHECK(s.refresh_if_needed() == 0);
}

TEST_CASE(".meta at the root is reserved: creations there are refused, old entries shadowed") {
    MetaFixture f;
    auto fs = f.open_owner();
    CHECK_THROWS_WITH(fs->create_file({".meta", 4096}), Catch::Contains("reserved"));
    CHECK_THROWS_WITH(fs->create_file({".meta/x", 4096}), Catch::Contains("reserved"));
    famfs::DirSpec d;
    d.relpath = ".meta/sub";
    CHECK_THROWS_WITH(fs->mkdir_p(d), Catch::Contains("reserved"));
    CHECK(fs->tree().next_index() == 0);  // nothing was appended
    d.relpath = "a";
    fs->mkdir_p(d);
    fs->create_file({"a/.meta", 4096});  // only the root's name is reserved
}
