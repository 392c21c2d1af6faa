// Layout and crc: our structs against the documented byte offsets and against
// crc32 values computed by zlib directly.
#include "famfs/format.h"

#include <catch2/catch.hpp>

#include "famfs/crc.h"
#include "famfs/uuid.h"
#include "test_util.h"

using namespace famfs;
using namespace famfs::test;

TEST_CASE("crc32 matches zlib and the documented check value") {
    const char* s = "123456789";
    CHECK(famfs::crc32(s, 9) == 0xcbf43926u);  // the standard CRC-32 check value
    uint8_t buf[1000];
    for (int i = 0; i < 1000; ++i) buf[i] = static_cast<uint8_t>(i * 7);
    CHECK(famfs::crc32(buf, sizeof buf) == zcrc(buf, sizeof buf));
}

TEST_CASE("superblock crc covers bytes 0..95 only") {
    Superblock sb{};
    sb.magic = kSuperblockMagic;
    sb.version = 48;
    auto* b = reinterpret_cast<uint8_t*>(&sb);
    CHECK(superblock_crc(sb) == zcrc(b, 96));
    sb.sb_flags = 7;  // after the crc field: not covered
    CHECK(superblock_crc(sb) == zcrc(b, 96));
    sb.system_uuid.bytes[15] = 1;
    CHECK(superblock_crc(sb) == zcrc(b, 96));
}

TEST_CASE("log header crc covers magic, log_len, last_index but not next_index") {
    LogHeader h{};
    h.magic = kLogMagic;
    h.log_len = kDefaultLogLen;
    h.last_index = log_last_index(kDefaultLogLen);
    const uint32_t before = log_header_crc(h);
    CHECK(before == zcrc(reinterpret_cast<uint8_t*>(&h), 24));
    h.next_index = 99;
    h.next_seqnum = 99;
    CHECK(log_header_crc(h) == before);
    CHECK(h.last_index == 15419);
}

TEST_CASE("hand-built FILE entry decodes through our structs") {
    RawEntry r =
        raw_file("dir/f", 3 << 20, {{0xa00000, 0x200000}, {0xe00000, 0x200000}}, 0640, 1000, 1001);
    r.seal(7);
    LogEntry e;
    std::memcpy(&e, r.b, sizeof e);
    CHECK(e.seqnum == 7);
    CHECK(e.type == EntryType::File);
    CHECK(e.file.size == (3u << 20));
    CHECK(e.file.flags == kFileFlagAllHostsRw);
    CHECK(e.file.uid == 1000);
    CHECK(e.file.gid == 1001);
    CHECK(e.file.mode == 0640);
    CHECK(std::string(e.file.relpath) == "dir/f");
    CHECK(e.file.fmap.ext_type == ExtentType::Simple);
    CHECK(e.file.fmap.count == 2);
    CHECK(e.file.fmap.se[1].offset == 0xe00000);
    CHECK(e.file.fmap.se[1].len == 0x200000);
    CHECK(e.crc == entry_crc(e));
}

TEST_CASE("hand-built MKDIR, INTERLEAVE and ADD_DAXDEV entries decode") {
    RawEntry d = raw_mkdir("a/b", 0711, 5, 6);
    d.seal(1);
    LogEntry e;
    std::memcpy(&e, d.b, sizeof e);
    CHECK(e.type == EntryType::Mkdir);
    CHECK(e.mkdir.uid == 5);
    CHECK(e.mkdir.gid == 6);
    CHECK(e.mkdir.mode == 0711);
    CHECK(std::string(e.mkdir.relpath) == "a/b");

    RawEntry s =
        raw_striped("s", 64 << 20, 0x200000, {{0x40000000, 0x1000000}, {0x80000000, 0x1000000}});
    s.seal(2);
    std::memcpy(&e, s.b, sizeof e);
    CHECK(e.file.fmap.ext_type == ExtentType::Interleave);
    CHECK(e.file.fmap.count == 1);
    CHECK(e.file.fmap.ie[0].nstrips == 2);
    CHECK(e.file.fmap.ie[0].chunk_size == 0x200000);
    CHECK(e.file.fmap.ie[0].strips[1].offset == 0x80000000);

    RawEntry x;
    put_u32(x.b, 8, 3);
    put_u64(x.b, 16, 1ULL << 33);
    x.b[16 + 8] = 0xab;
    put_u32(x.b, 16 + 24, 4);
    x.seal(3);
    std::memcpy(&e, x.b, sizeof e);
    CHECK(e.type == EntryType::AddDaxdev);
    CHECK(e.daxdev.size == (1ULL << 33));
    CHECK(e.daxdev.uuid.bytes[0] == 0xab);
    CHECK(e.daxdev.index == 4);
}

TEST_CASE("our encoder writes the documented bytes") {
    TempDevice t;
    t.format();
    auto fs = t.open_owner();
    fs->mkdir({"d", 0750, 11, 12});
    fs->create_file({"d/f", 5000, 0604, 13, 14, std::nullopt});
    const uint8_t* log = fs->device().base() + 0x200000;
    CHECK(get_u64(log, 0) == 0x0badcafef00dULL);
    CHECK(get_u64(log, 40) == 2);  // next_index
    CHECK(get_u64(log, 32) == 2);  // next_seqnum
    const uint8_t* e0 = log + 48;
    CHECK(get_u64(e0, 0) == 0);
    CHECK(e0[8] == 1);  // MKDIR
    CHECK(std::string(reinterpret_cast<const char*>(e0 + 16 + 12)) == "d");
    CHECK(get_u64(e0, 536) == zcrc(e0, 536));
    const uint8_t* e1 = log + 48 + 544;
    CHECK(get_u64(e1, 0) == 1);
    CHECK(e1[8] == 0);
    CHECK(get_u64(e1, 16) == 5000);
    CHECK(std::string(reinterpret_cast<const char*>(e1 + 16 + 24)) == "d/f");
    CHECK(get_u64(e1, 16 + 104 + 16 + 16) == 0x200000);  // one 2 MiB extent
    CHECK(get_u64(e1, 16 + 104 + 16 + 8) == 0xa00000);   // first data unit after 8 MiB log
    CHECK(get_u64(e1, 536) == zcrc(e1, 536));
    const uint8_t* sb = fs->device().base();
    CHECK(get_u64(sb, 0) == 0x87b282ff);
    CHECK(get_u64(sb, 96) == zcrc(sb, 96));
}

TEST_CASE("uuids parse and print in famfs byte order") {
    auto u = parse_uuid("5ca1ab1e-f00d-4a11-9e57-00000000c0de");
    REQUIRE(u);
    CHECK(u->bytes[0] == 0x5c);
    CHECK(u->bytes[15] == 0xde);
    CHECK(to_string(*u) == "5ca1ab1e-f00d-4a11-9e57-00000000c0de");
    CHECK_FALSE(parse_uuid("5ca1ab1e-f00d-4a11-9e57-00000000c0d"));
    CHECK_FALSE(parse_uuid("5ca1ab1e+f00d-4a11-9e57-00000000c0de"));
    CHECK(random_uuid() != random_uuid());
}

TEST_CASE("crc32 with PCLMULQDQ equals zlib's for every length and alignment") {
    // The folded crc is used for lengths >= 64 (every log entry); check the
    // boundaries, odd tails and unaligned starts against zlib itself.
    std::vector<uint8_t> buf(4096 + 64);
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (auto& b : buf) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b = static_cast<uint8_t>(x);
    }
    for (size_t align = 0; align < 16; ++align)
        for (size_t len = 0; len <= 1100; ++len) {
            const uint8_t* p = buf.data() + align;
            INFO("align " << align << " len " << len);
            REQUIRE(famfs::crc32(p, len) == zcrc(p, len));
        }
    for (size_t len : {2048, 4095, 4096}) REQUIRE(famfs::crc32(buf.data(), len) == zcrc(buf.data(), len));
    std::vector<uint8_t> ones(600, 0xff), zeros(600, 0);
    CHECK(famfs::crc32(ones.data(), 536) == zcrc(ones.data(), 536));
    CHECK(famfs::crc32(zeros.data(), 536) == zcrc(zeros.data(), 536));
}
