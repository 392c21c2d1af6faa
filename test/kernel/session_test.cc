// Scripted-kernel sessions: the test frames requests as a famfs kernel of each
// revision (or a kernel without famfs) would, and checks every reply byte for
// byte against layouts built from the documented offsets (wire.h).
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>

#include "harness.h"

using namespace famfs::ktest;
namespace kp = famfs::kernel_proto;

namespace {

constexpr uint64_t MiB = 1ULL << 20;
constexpr const char* kDaxdev = "/dev/dax0.0";

kp::Connection::Config famfs_config(kp::RevisionChoice rev) {
    kp::Connection::Config c;
    c.revision = rev;
    c.device_is_dax = true;  // the emulated image stands in for /dev/dax0.0
    c.device_path = kDaxdev;
    return c;
}

kp::Connection::Config compat_config() {
    kp::Connection::Config c;
    c.force_compat = true;
    return c;
}

// libfuse's own INIT reply to this kernel: what the daemon sent before this
// work, and what compat mode must still send byte for byte.
Bytes baseline_init_reply(MiniFs& fs, const KernelKind& k) {
    Session s(fs, compat_config());
    Bytes r = s.call(init_request(k));
    // fuse_out_header + fuse_init_out (64): major@0 minor@4 flags@12 flags2@32.
    REQUIRE(r.size() == 16 + 64);
    CHECK(get_u32(r, 0) == 80);
    CHECK(get_u32(r, 4) == 0);
    CHECK(get_u64(r, 8) == 1);
    CHECK(get_u32(r, 16 + 0) == 7);
    // libfuse's own minor: 38 upstream; Debian's 3.14.0-4 reverts its
    // fuse_kernel.h to one labelled 7.31 (which still has INIT_EXT/flags2).
    const uint32_t minor = get_u32(r, 16 + 4);
    CHECK((minor == 31 || minor == 38));
    CHECK((get_u32(r, 16 + 12) & 1u << 30) != 0);    // INIT_EXT echoed
    CHECK((get_u32(r, 16 + 32) & (3u << 11)) == 0);  // no famfs bit from libfuse
    return r;
}

// struct fuse_entry_out (128): nodeid@0 generation@8 entry_valid@16
// attr_valid@24 entry_valid_nsec@32 attr_valid_nsec@36 attr@40; fuse_attr
// (88): ino@0 size@8 blocks@16 a/m/ctime@24.. nsec@48.. mode@60 nlink@64
// uid@68 gid@72 rdev@76 blksize@80 flags@84.
Bytes entry_reply(uint64_t unique, uint64_t ino, uint64_t size, uint32_t mode, uint32_t nlink,
                  uint32_t uid, uint32_t gid) {
    Bytes e(128, 0);
    put_u64(e, 0, ino);
    put_u64(e, 16, 1);  // entry timeout 1 s
    put_u64(e, 24, 1);  // attr timeout 1 s
    put_u64(e, 40 + 0, ino);
    put_u64(e, 40 + 8, size);
    put_u64(e, 40 + 16, (size + 511) / 512);
    put_u32(e, 40 + 60, mode);
    put_u32(e, 40 + 64, nlink);
    put_u32(e, 40 + 68, uid);
    put_u32(e, 40 + 72, gid);
    return ok_reply(unique, e);
}

// struct fuse_open_out (16): fh@0 open_flags@8 padding@12.
Bytes open_reply(uint64_t unique, uint64_t fh) {
    Bytes o(16, 0);
    put_u64(o, 0, fh);
    return ok_reply(unique, o);
}

// Entry i of the log creates inode i + 2 (libfamfs tree.h).
uint64_t ino_of(const TestImage& img, std::string_view path) { return img.file_index(path) + 2; }

// Appends a FILE entry to the image's log with raw writes at the documented
// offsets: entry bytes + crc, then next_seqnum / next_index in the header.
void append_raw_file(const TestImage& img, const std::string& name, uint64_t size,
                     uint32_t ext_type, const std::vector<Ext>& exts, uint64_t chunk = 0) {
    const uint64_t index = img.next_index();
    Bytes e(544, 0);
    put_u64(e, 0, index);  // seqnum
    put_u32(e, 8, 0);      // FILE
    const size_t body = 16, fmap = body + 104;
    put_u64(e, body + 0, size);
    put_u32(e, body + 8, 2);  // all hosts rw
    put_u32(e, body + 20, 0644);
    std::memcpy(&e[body + 24], name.c_str(), name.size() + 1);
    put_u32(e, fmap + 0, ext_type);
    size_t at = fmap + 16;
    if (ext_type == 0) {
        put_u32(e, fmap + 8, static_cast<uint32_t>(exts.size()));
    } else {
        put_u32(e, fmap + 8, 1);
        put_u64(e, at, exts.size());
        put_u64(e, at + 8, chunk);
        at += 16;
    }
    for (const Ext& x : exts) {
        put_u64(e, at, x.devindex);
        put_u64(e, at + 8, x.offset);
        put_u64(e, at + 16, x.len);
        at += 24;
    }
    put_u64(e, 536, crc32(0, e.data(), 536));
    int fd = ::open(img.path.c_str(), O_RDWR);
    REQUIRE(pwrite(fd, e.data(), e.size(), 0x200000 + 48 + 544 * index) == 544);
    Bytes counters(16, 0);
    put_u64(counters, 0, index + 1);  // next_seqnum @32
    put_u64(counters, 8, index + 1);  // next_index @40
    REQUIRE(pwrite(fd, counters.data(), 16, 0x200000 + 32) == 16);
    ::close(fd);
}

// What every famfs-revision session must do after INIT.
void famfs_script(Session& s, TestImage& img, MiniFs& fs) {
    uint64_t u = 100;
    const uint64_t dir1 = 2;  // log entry 0 (MKDIR dir1) is inode 2 in both images
    ++u;
    REQUIRE(s.call(request(LOOKUP, u, 1, name_body("dir1"))) ==
            entry_reply(u, dir1, 0, 040755, 2, 1000, 1001));

    const uint64_t f1 = ino_of(img, "dir1/f1");
    ++u;
    REQUIRE(s.call(request(LOOKUP, u, dir1, name_body("f1"))) ==
            entry_reply(u, f1, 3145728, 0100644, 1, 1002, 1003));
    ++u;
    REQUIRE(s.call(request(OPEN, u, f1, open_body(0))) == open_reply(u, f1));

    // GET_FMAP: no body, the nodeid names the file.
    Bytes fmap_f1 = img.expected_fmap(img.file_index("dir1/f1"));
    ++u;
    CHECK(s.call(request(GET_FMAP, u, f1)) == ok_reply(u, fmap_f1));
    if (img.golden)  // the values upstream wrote (golden/README.md)
        CHECK(fmap_f1 == simple_fmap(3145728, {{0, 0xa00000, 0x400000}}));

    const uint64_t striped = ino_of(img, "striped");
    ++u;
    REQUIRE(s.call(request(LOOKUP, u, 1, name_body("striped"))) ==
            entry_reply(u, striped, 536870912, 0100644, 1, 1002, 1003));
    Bytes fmap_st = img.expected_fmap(img.file_index("striped"));
    ++u;
    CHECK(s.call(request(GET_FMAP, u, striped)) == ok_reply(u, fmap_st));
    if (img.golden)
        CHECK(fmap_st == interleaved_fmap(536870912, 0x200000, 0x20000000,
                                          {{0, 0x100000000, 0x8000000},
                                           {0, 0x40000000, 0x8000000},
                                           {0, 0x5000000, 0x8000000},
                                           {0, 0x1c0000000, 0x8000000}}));
    const uint64_t tiny = ino_of(img, "tiny");
    ++u;
    CHECK(s.call(request(GET_FMAP, u, tiny)) ==
          ok_reply(u, img.expected_fmap(img.file_index("tiny"))));

    // GET_DAXDEV: index in nodeid, no body; the reply names this host's path.
    ++u;
    CHECK(s.call(request(GET_DAXDEV, u, 0)) == ok_reply(u, daxdev_reply(0, kDaxdev)));
    ++u;
    CHECK(s.call(request(GET_DAXDEV, u, 1)) == error_reply(u, -ENODEV));

    // Maps the kernel cannot take: a directory, an unknown inode.
    ++u;
    CHECK(s.call(request(GET_FMAP, u, dir1)) == error_reply(u, -EINVAL));
    ++u;
    CHECK(s.call(request(GET_FMAP, u, 999999)) == error_reply(u, -ENOENT));

    // READ should never come on a famfs connection: refused and counted.
    ++u;
    CHECK(s.call(request(READ, u, f1, read_body(f1, 0, 4096))) == error_reply(u, -EIO));
    CHECK(s.io().counters().stray_data_io == 1);

    // FORGET has no reply; the next request is answered normally.
    CHECK(fs.nlookup(f1) == 1);
    ++u;
    s.send(request(FORGET, u, f1, forget_body(1)));
    CHECK(s.silent());
    ++u;
    CHECK(s.call(request(9999, u, 1)) == error_reply(u, -ENOSYS));  // unknown opcode
    CHECK(fs.nlookup(f1) == 0);

    auto c = s.io().counters();
    CHECK(c.get_fmap_served == 3);
    CHECK(c.get_fmap_failed == 2);
    CHECK(c.get_daxdev_served == 1);
    CHECK(c.get_daxdev_failed == 1);

    ++u;
    CHECK(s.call(request(DESTROY, u, 0)) == ok_reply(u, {}));
    CHECK(fs.destroyed());
}

}  // namespace

TEST_CASE("famfs mode, revision V10", "[kernel][session][V10]") {
    TestImage img;
    MiniFs fs(img.path, img.uuid_file, kDaxdev);
    Bytes base = baseline_init_reply(fs, kV10Kernel);

    Session s(fs, famfs_config(kp::RevisionChoice::V10));
    CHECK(s.call(init_request(kV10Kernel)) == famfs_init_reply(base, 46, 1u << 11));
    CHECK(s.io().famfs_mode());
    CHECK(s.io().revision_name() == "V10");
    // The connection owns the mode; what it reports is what the stats show.
    const std::string mode_seen = (s.io().famfs_mode() ? "famfs: " : "compat: ") + s.io().mode_reason();
    CHECK(mode_seen.rfind("famfs: famfs mode", 0) == 0);
    famfs_script(s, img, fs);
}

TEST_CASE("famfs mode, this project's 7.3 revision", "[kernel][session][P73]") {
    TestImage img;
    MiniFs fs(img.path, img.uuid_file, kDaxdev);
    Bytes base = baseline_init_reply(fs, kP73Kernel);
    Session s(fs, famfs_config(kp::RevisionChoice::Project73));
    // Bit 44 only: bit 43 on this kernel is HAS_IO_URING_BUFPOOL, never echoed.
    Bytes r = s.call(init_request(kP73Kernel));
    CHECK(r == famfs_init_reply(base, 47, 1u << 12));
    CHECK((get_u32(r, 16 + 32) & 1u << 11) == 0);
    CHECK(s.io().revision_name() == "7.3-project");
    famfs_script(s, img, fs);
}

TEST_CASE("kernels without famfs get libfuse's INIT reply untouched", "[kernel][session][compat]") {
    TestImage img;
    MiniFs fs(img.path, img.uuid_file, kDaxdev);
    struct Case {
        KernelKind kernel;
        kp::Connection::Config config;
        const char* reason;
    };
    auto dax = [](kp::RevisionChoice r) { return famfs_config(r); };
    auto not_dax = famfs_config(kp::RevisionChoice::V10);
    not_dax.device_is_dax = false;
    auto forced = famfs_config(kp::RevisionChoice::V10);
    forced.force_compat = true;
    const Case cases[] = {
        {kStock, dax(kp::RevisionChoice::Auto), "does not offer"},
        {kStock, dax(kp::RevisionChoice::V10), "does not offer"},
        {kMainline73, dax(kp::RevisionChoice::Project73), "does not offer"},
        {kMainline73, dax(kp::RevisionChoice::Auto), "kallsyms"},  // bit 43 is not famfs here
        {kP73Kernel, dax(kp::RevisionChoice::V10), "does not offer"},
        {kV10Kernel, not_dax, "not a DAX device"},
        {kV10Kernel, forced, "forced"},
    };
    for (const Case& c : cases) {
        INFO(c.kernel.name << " expecting " << c.reason);
        Bytes base = baseline_init_reply(fs, c.kernel);
        Session s(fs, c.config);
        CHECK(s.call(init_request(c.kernel)) == base);
        CHECK_FALSE(s.io().famfs_mode());
        CHECK(s.io().mode_reason().find(c.reason) != std::string::npos);
        // GET_FMAP is never served: libfuse does not know the opcode.
        CHECK(s.call(request(GET_FMAP, 2, 1)) == error_reply(2, -ENOSYS));
        CHECK(s.call(request(GET_DAXDEV, 3, 0)) == error_reply(3, -ENOSYS));
        CHECK(s.io().counters().get_fmap_served == 0);
        CHECK(s.io().counters().get_fmap_failed == 0);
    }
}

TEST_CASE("compat mode serves data as before", "[kernel][session][compat]") {
    TestImage img;
    MiniFs fs(img.path, img.uuid_file, kDaxdev);
    Session s(fs, compat_config());
    s.call(init_request(kStock));
    const uint64_t f1 = ino_of(img, "dir1/f1");
    const uint64_t dir1 = 2;  // log entry 0: MKDIR dir1
    REQUIRE(s.call(request(LOOKUP, 2, 1, name_body("dir1"))) ==
            entry_reply(2, dir1, 0, 040755, 2, 1000, 1001));
    REQUIRE(s.call(request(LOOKUP, 3, dir1, name_body("f1"))) ==
            entry_reply(3, f1, 3145728, 0100644, 1, 1002, 1003));
    REQUIRE(s.call(request(OPEN, 4, f1, open_body(0))) == open_reply(4, f1));
    // Data at file offset 1 MiB: the first extent's device offset + 1 MiB.
    const uint64_t dev = get_u64(img.expected_fmap(img.file_index("dir1/f1")), 32 + 8);
    CHECK(s.call(request(READ, 5, f1, read_body(f1, MiB, 4096))) ==
          ok_reply(5, img.read_device(dev + MiB, 4096)));
    CHECK(s.io().counters().stray_data_io == 0);
    CHECK(s.call(request(DESTROY, 6, 0)) == ok_reply(6, {}));
}

TEST_CASE("famfs requested on a kernel without it fails INIT, no hang", "[kernel][session]") {
    TestImage img;
    MiniFs fs(img.path, img.uuid_file, kDaxdev);
    auto cfg = famfs_config(kp::RevisionChoice::Auto);
    cfg.want_famfs = true;
    Session s(fs, cfg);
    CHECK(s.call(init_request(kStock)) == error_reply(1, -EPROTO));
    CHECK(s.ended(2000));
    CHECK(s.io().init_failed());
}

TEST_CASE("files created on the owner after INIT get maps", "[kernel][session]") {
    TestImage img;
    MiniFs fs(img.path, img.uuid_file, kDaxdev);
    Session s(fs, famfs_config(kp::RevisionChoice::V10));
    s.call(init_request(kV10Kernel));
    REQUIRE(s.io().famfs_mode());

    // The CLI on the owner appends to the log while the daemon runs.
    {
        auto cli =
            famfs::Filesystem::open(img.path, {famfs::Device::Access::ReadWrite, img.uuid_file});
        cli->create_file({"late", 5 * MiB, 0640, 7, 8, {}});
        cli->create_file(
            {"late-striped", 64 * MiB, 0644, 7, 8, famfs::InterleaveParams{4, 8, 2 * MiB}});
    }
    uint64_t u = 10;
    for (const char* name : {"late", "late-striped"}) {
        INFO(name);
        const uint64_t idx = img.file_index(name);
        ++u;
        Bytes r = s.call(request(LOOKUP, u, 1, name_body(name)));
        REQUIRE(get_u32(r, 4) == 0);
        CHECK(get_u64(r, 16) == idx + 2);
        ++u;
        CHECK(s.call(request(OPEN, u, idx + 2, open_body(0))) == open_reply(u, idx + 2));
        ++u;
        CHECK(s.call(request(GET_FMAP, u, idx + 2)) == ok_reply(u, img.expected_fmap(idx)));
    }
    // An inode the daemon has never looked up: GET_FMAP itself refreshes.
    append_raw_file(img, "raw", 2 * MiB, 0, {{0, 0x1e0000000, 2 * MiB}});
    const uint64_t raw = img.file_index("raw");
    ++u;
    CHECK(s.call(request(GET_FMAP, u, raw + 2)) == ok_reply(u, img.expected_fmap(raw)));
}

TEST_CASE("maps at the log's maximum: 16 extents, 16 strips", "[kernel][session]") {
    TestImage img;
    std::vector<Ext> sixteen;
    for (uint64_t i = 0; i < 16; ++i) sixteen.push_back({0, 0x180000000 + i * 4 * MiB, 2 * MiB});
    append_raw_file(img, "max-simple", 32 * MiB - 1, 0, sixteen);
    std::vector<Ext> strips;
    for (uint64_t i = 0; i < 16; ++i) strips.push_back({0, 0x190000000 + i * 4 * MiB, 2 * MiB});
    append_raw_file(img, "max-strips", 32 * MiB, 1, strips, 2 * MiB);

    MiniFs fs(img.path, img.uuid_file, kDaxdev);
    Session s(fs, famfs_config(kp::RevisionChoice::Project73));
    s.call(init_request(kP73Kernel));
    const uint64_t a = img.file_index("max-simple"), b = img.file_index("max-strips");
    Bytes ra = s.call(request(GET_FMAP, 2, a + 2));
    CHECK(ra == ok_reply(2, simple_fmap(32 * MiB - 1, sixteen)));
    CHECK(ra.size() == 16 + 32 + 16 * 24);
    Bytes rb = s.call(request(GET_FMAP, 3, b + 2));
    CHECK(rb == ok_reply(3, interleaved_fmap(32 * MiB, 2 * MiB, 32 * MiB, strips)));
}

TEST_CASE("maps the protocol cannot carry fail with an errno, never truncated",
          "[kernel][session]") {
    TestImage img;
    MiniFs fs(img.path, img.uuid_file, kDaxdev);
    kp::FmapInfo corrupt;  // 17 extents: no log entry holds that
    corrupt.regular = true;
    corrupt.file_size = 2 * MiB;
    corrupt.fmap.ext_type = famfs::ExtentType::Simple;
    corrupt.fmap.count = 17;
    fs.inject(5000, corrupt);
    kp::FmapInfo unaligned = corrupt;
    unaligned.fmap.count = 1;
    unaligned.fmap.se[0] = {0, 0x200000 + 4096, 2 * MiB};
    fs.inject(5001, unaligned);
    kp::FmapInfo second_device = unaligned;
    second_device.fmap.se[0] = {64, 0x200000, 2 * MiB};
    fs.inject(5002, second_device);

    Session s(fs, famfs_config(kp::RevisionChoice::V10));
    s.call(init_request(kV10Kernel));
    CHECK(s.call(request(GET_FMAP, 2, 5000)) == error_reply(2, -EINVAL));
    CHECK(s.call(request(GET_FMAP, 3, 5001)) == error_reply(3, -EINVAL));
    CHECK(s.call(request(GET_FMAP, 4, 5002)) == error_reply(4, -E2BIG));
    CHECK(s.io().counters().get_fmap_failed == 3);
}

TEST_CASE("short and malformed requests are answered and the daemon keeps running",
          "[kernel][session]") {
    TestImage img;
    MiniFs fs(img.path, img.uuid_file, kDaxdev);
    for (const KernelKind* k : {&kV10Kernel, &kStock}) {
        INFO(k->name);
        Session s(fs, k == &kStock ? compat_config() : famfs_config(kp::RevisionChoice::V10));
        // INIT with a 12-byte body: libfuse would read past it.
        Bytes bad_init = request(INIT, 1, 0, Bytes(12, 0));
        CHECK(s.call(bad_init) == error_reply(1, -EINVAL));
        s.call(init_request(*k, 2));

        // Too short to carry a unique: dropped.
        s.send(Bytes(10, 0xff));
        CHECK(s.silent());
        // Shorter than the 40-byte header but with a unique: EIO.
        Bytes shorty = request(GETATTR, 77, 1);
        shorty.resize(30);
        put_u32(shorty, 0, 30);
        CHECK(s.call(shorty) == error_reply(77, -EIO));
        // Header length disagrees with what arrived.
        Bytes liar = request(GETATTR, 78, 1, getattr_body());
        put_u32(liar, 0, 200);
        CHECK(s.call(liar) == error_reply(78, -EINVAL));
        // LOOKUP whose name has no NUL.
        Bytes unterminated = request(LOOKUP, 79, 1, Bytes{'d', 'i', 'r', '1'});
        CHECK(s.call(unterminated) == error_reply(79, -EINVAL));
        // READ with an 8-byte body.
        CHECK(s.call(request(READ, 80, 1, Bytes(8, 0))) == error_reply(80, -EINVAL));
        // Still serving: GETATTR of the root (fuse_attr_out, 104 bytes).
        Bytes ok = s.call(request(GETATTR, 81, 1, getattr_body()));
        CHECK(get_u32(ok, 0) == 16 + 104);
        CHECK(get_u32(ok, 4) == 0);
        CHECK(get_u64(ok, 8) == 81);
        CHECK(get_u64(ok, 16 + 16) == 1);            // attr.ino
        CHECK(get_u32(ok, 16 + 16 + 60) == 040755);  // attr.mode
        CHECK(s.io().counters().malformed == 6);
    }
}
