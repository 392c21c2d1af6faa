// Issue 11 items 4 and 5: a device re-formatted, damaged or shrunk under a
// running daemon. FsState must stop serving (EIO on every op, GET_FMAP
// included; the root's getattr and the stats xattr still answer and say
// why) and never hand out bytes from past the device's end; a SIGBUS from
// a shrink during a copy must not kill the process.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <nlohmann/json.hpp>

#include "device_fault.h"
#include "famfs/pattern.h"
#include "fs_state.h"
#include "test_util.h"

using famfs::daemon::DeviceFaultGuard;
using famfs::daemon::FsState;
using famfs::daemon::StateOptions;

namespace {

struct ChangeFixture : famfs::test::TempDevice {
    uint64_t fino = 0;
    ChangeFixture() {
        format();
        auto fs = open_owner();
        famfs::FileSpec spec;
        spec.relpath = "f";
        spec.size = 3 << 20;  // two allocation units
        const famfs::Node& n = fs->create_file(spec);
        std::vector<uint8_t> buf(spec.size);
        famfs::fill_pattern(buf.data(), 0, spec.size, 7);
        fs->write_data(n, 0, buf.data(), spec.size);
        fino = n.ino;
    }
    std::unique_ptr<FsState> client() {
        StateOptions o;
        o.system_uuid_file = client_uuid_file;
        return std::make_unique<FsState>(path, o);
    }
    void reformat() {
        famfs::Device d = famfs::Device::open(path, famfs::Device::Access::ReadWrite);
        famfs::MkfsOptions o;
        o.force = true;
        o.system_uuid = famfs::load_system_uuid(owner_uuid_file);
        famfs::mkfs(d, o);
    }
    void shrink(uint64_t size) { REQUIRE(truncate(path.c_str(), static_cast<off_t>(size)) == 0); }
};

nlohmann::json stats(FsState& s) {
    std::string v;
    REQUIRE(s.getxattr(famfs::kRootIno, "user.famfs.stats", v).err() == 0);
    return nlohmann::json::parse(v);
}

// Every op a stopped daemon must refuse, and the two it still answers.
void require_stopped(FsState& s, uint64_t fino, const std::string& why) {
    fuse_entry_param e;
    struct stat st;
    std::vector<iovec> iov;
    std::string v;
    famfs::kernel_proto::FmapInfo fi;
    size_t written = 0;
    struct statvfs sv;
    CHECK(s.lookup(famfs::kRootIno, "f", e).err() == EIO);
    CHECK(s.getattr(fino, st).err() == EIO);
    CHECK(s.open(fino, O_RDONLY).err() == EIO);
    CHECK(s.read(fino, 0, 4096, iov).err() == EIO);
    CHECK(iov.empty());
    CHECK(s.write(fino, 0, "x", 1, written).err() == EIO);
    CHECK(s.fmap_for(fino, fi).err() == EIO);  // GET_FMAP refused
    CHECK(s.opendir(famfs::kRootIno).err() == EIO);
    CHECK(s.readdir(famfs::kRootIno, 0, false, [](const auto&) { return true; }).err() == EIO);
    CHECK(s.getxattr(fino, "user.famfs.fmap", v).err() == EIO);
    CHECK(s.statfs(sv).err() == EIO);
    CHECK(s.refresh_if_needed() == 0);
    CHECK(s.getattr(famfs::kRootIno, st).err() == 0);
    CHECK_FALSE(s.serving());
    const nlohmann::json j = stats(s);
    CHECK(j["serving"] == false);
    INFO(j["stopped"].get<std::string>());
    CHECK(j["stopped"].get<std::string>().find(why) != std::string::npos);
}

}  // namespace

TEST_CASE("mkfs --force under a client: it stops serving, old names never reach new bytes") {
    ChangeFixture f;
    auto s = f.client();
    fuse_entry_param e;
    REQUIRE(s->lookup(famfs::kRootIno, "f", e).err() == 0);
    CHECK(s->serving());
    CHECK(stats(*s)["stopped"] == "");
    f.reformat();
    require_stopped(*s, f.fino, "re-formatted");
}

TEST_CASE("a superblock that becomes invalid stops serving") {
    ChangeFixture f;
    auto s = f.client();
    {
        famfs::Device d = famfs::Device::open(f.path, famfs::Device::Access::ReadWrite);
        d.base()[40] ^= 0x01;  // inside the crc-covered part
    }
    require_stopped(*s, f.fino, "no longer valid");
}

TEST_CASE("a device that shrinks under a client: EIO, never memory past the end") {
    ChangeFixture f;
    auto s = f.client();
    std::vector<iovec> iov;
    REQUIRE(s->read(f.fino, 0, 4096, iov).err() == 0);
    f.shrink(4 << 20);  // the file's data starts past here
    require_stopped(*s, f.fino, "shrank");
}

TEST_CASE("a shrink during a copy is survived: zeros are never served (SIGBUS before)") {
    ChangeFixture f;
    auto s = f.client();
    std::vector<iovec> iov;
    REQUIRE(s->read(f.fino, 0, 3 << 20, iov).err() == 0);  // the gate passed
    REQUIRE(!iov.empty());
    f.shrink(0);  // now, as ops.cc copies out
    std::vector<uint8_t> buf(3 << 20);
    size_t at = 0;
    for (const iovec& v : iov) {  // before the guard: SIGBUS, the daemon died here
        std::memcpy(buf.data() + at, v.iov_base, v.iov_len);
        at += v.iov_len;
    }
    CHECK(at == buf.size());
    // What ops.cc asks after the copy: the daemon refuses the bytes.
    CHECK(s->check_device().err() == EIO);
    require_stopped(*s, f.fino, "shrank");
}

TEST_CASE("DeviceFaultGuard: a SIGBUS outside a registered mapping is not absorbed") {
    famfs::test::TempDevice t(4 << 20);
    const int fd = open(t.path.c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    void* p = mmap(nullptr, 4 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    REQUIRE(p != MAP_FAILED);
    {
        DeviceFaultGuard g(p, 4 << 20);
        REQUIRE(ftruncate(fd, 1 << 20) == 0);
        volatile uint8_t* b = static_cast<uint8_t*>(p);
        const uint64_t before = DeviceFaultGuard::total_faults();
        CHECK(b[2 << 20] == 0);  // past the end: zeros instead of SIGBUS
        CHECK(g.faulted());
        CHECK(DeviceFaultGuard::total_faults() == before + 1);
        b[3 << 20] = 1;  // the rest of the mapping was replaced too: no second fault
        CHECK(DeviceFaultGuard::total_faults() == before + 1);
    }
    // Unregistered: the default action is back (checked in a child).
    const pid_t pid = fork();
    if (pid == 0) {
        REQUIRE(ftruncate(fd, 0) == 0);
        volatile uint8_t* b = static_cast<uint8_t*>(p);
        (void)b[0];
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGBUS);
    munmap(p, 4 << 20);
    close(fd);
}
