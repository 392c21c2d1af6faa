// Regression tests for issue 11: logs written by a hostile or broken host,
// size arithmetic at the edges, and a damaged next_index. Every byte on the
// device comes from another host, so each case is built byte by byte with
// valid crcs (test_util.h) and must be refused or neutralised by replay and
// named by fsck.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "famfs/crc.h"
#include "famfs/error.h"
#include "famfs/fsck.h"
#include "famfs/json.h"
#include "famfs/replay.h"
#include "test_util.h"

using namespace famfs;
using namespace famfs::test;

namespace {

bool fsck_reports(const FsckReport& r, uint64_t index, const std::string& field) {
    for (const FsckProblem& p : r.problems)
        if (p.index == index && p.field == field) return true;
    return false;
}

FsckReport fsck_of(const std::string& path) {
    Device d = Device::open(path, Device::Access::ReadOnly);
    return fsck(d, {0, std::chrono::milliseconds(0)});
}

void seal_all(std::vector<RawEntry>& log) {
    for (size_t i = 0; i < log.size(); ++i) log[i].seal(i);
}

}  // namespace

// ---- item 1: a file map over the superblock, the log or another file --------

TEST_CASE("replay never serves an extent over the superblock or the log") {
    TempDevice t;
    t.format();
    std::vector<RawEntry> log = {
        raw_file("sb", 4096, {{0, 0x200000}}, 0666),             // the superblock
        raw_file("log", 4096, {{0x200000, 0x200000}}, 0666),     // the log header
        raw_file("logtail", 4096, {{0x800000, 0x200000}}, 0666), // the last log unit
        raw_file("span", 0x400000, {{0x800000, 0x400000}}),      // log tail + first data unit
        raw_file("good", 4096, {{0xa00000, 0x200000}}),
    };
    seal_all(log);
    write_raw_log(t.path, log);
    Replayed r(t.path);
    for (uint64_t i : {0, 1, 2, 3}) CHECK(has_issue(r.tree, IssueKind::Collision, i, "fmap"));
    CHECK_FALSE(r.tree.resolve("sb"));
    CHECK_FALSE(r.tree.resolve("log"));
    CHECK_FALSE(r.tree.resolve("logtail"));
    CHECK_FALSE(r.tree.resolve("span"));
    CHECK(r.tree.resolve("good"));  // the valid file is still served
    CHECK(r.tree.file_count() == 1);

    FsckReport f = fsck_of(t.path);
    for (uint64_t i : {0, 1, 2, 3}) CHECK(fsck_reports(f, i, "fmap"));
    CHECK_FALSE(fsck_reports(f, 4, "fmap"));
}

TEST_CASE("replay: the first owner of an extent wins; later overlaps are not served") {
    TempDevice t;
    t.format();
    std::vector<RawEntry> log = {
        raw_file("first", 0x400000, {{0xa00000, 0x400000}}),
        raw_file("thief", 4096, {{0xc00000, 0x200000}}),  // inside first's extent
        raw_file("self", 0x400000, {{0x1000000, 0x200000}, {0x1000000, 0x200000}}),  // twice
        raw_striped("stripes", 0x800000, 0x200000,
                    {{0x1400000, 0x400000}, {0x1400000, 0x400000}}),  // strips on one range
        raw_file("after", 4096, {{0xe00000, 0x200000}}),
    };
    seal_all(log);
    write_raw_log(t.path, log);
    Replayed r(t.path);
    CHECK(r.tree.resolve("first"));
    CHECK_FALSE(r.tree.resolve("thief"));
    CHECK_FALSE(r.tree.resolve("self"));
    CHECK_FALSE(r.tree.resolve("stripes"));
    CHECK(r.tree.resolve("after"));
    for (uint64_t i : {1, 2, 3}) CHECK(has_issue(r.tree, IssueKind::Collision, i, "fmap"));

    // The units a refused entry named stay free for the owner's allocator:
    // only served files own space.
    auto fs = t.open_owner();
    CHECK_FALSE(fs->tree().resolve("thief"));
    const Node& n = fs->create_file({"new", 0x200000});
    CHECK(n.fmap.se[0].offset == 0x1000000);  // first free unit after first/after
    FsckReport f = fsck_of(t.path);
    for (uint64_t i : {1, 2, 3}) CHECK(fsck_reports(f, i, "fmap"));
    CHECK_FALSE(fsck_reports(f, 5, "fmap"));
}

// ---- item 11: mode bits, padding, bytes after the NUL ---------------------

TEST_CASE("replay strips setuid/setgid and file-type bits from the log's modes") {
    TempDevice t;
    t.format();
    std::vector<RawEntry> log = {
        raw_file("suid", 4096, {{0xa00000, 0x200000}}, 04755),
        raw_file("sgid", 4096, {{0xc00000, 0x200000}}, 02755),
        raw_file("chr", 4096, {{0xe00000, 0x200000}}, S_IFCHR | 0666),
        raw_mkdir("d", 06777),
        raw_file("plain", 4096, {{0x1000000, 0x200000}}, S_IFREG | 0644),  // upstream-style
    };
    seal_all(log);
    write_raw_log(t.path, log);
    Replayed r(t.path);
    CHECK(r.tree.resolve("suid")->st_mode() == (S_IFREG | 0755));
    CHECK(r.tree.resolve("sgid")->st_mode() == (S_IFREG | 0755));
    CHECK(r.tree.resolve("chr")->st_mode() == (S_IFREG | 0666));
    CHECK(r.tree.resolve("d")->st_mode() == (S_IFDIR | 0777));
    CHECK(r.tree.resolve("plain")->st_mode() == (S_IFREG | 0644));
    FsckReport f = fsck_of(t.path);
    for (uint64_t i : {0, 1, 2, 3}) CHECK(fsck_reports(f, i, "mode"));
    CHECK_FALSE(fsck_reports(f, 4, "mode"));
}

TEST_CASE("fsck names non-zero padding, unknown flags and bytes after a path's NUL") {
    TempDevice t;
    t.format();
    std::vector<RawEntry> log = {
        raw_mkdir("clean"),
        raw_mkdir("pad"),
        raw_file("flags", 4096, {{0xa00000, 0x200000}}),
        raw_mkdir("nul"),
        raw_file("fmappad", 4096, {{0xc00000, 0x200000}}),
        raw_file("unused", 4096, {{0xe00000, 0x200000}}),
        raw_mkdir("tail"),
    };
    put_u32(log[1].b, 12, 7);                  // LogEntry.pad0
    put_u32(log[2].b, 16 + 8, 0x80000002);     // FileEntry.flags: an unknown bit
    std::memcpy(log[3].b + 16 + 12 + 4, "\0../../etc", 10);  // "nul\0../../etc"
    put_u32(log[4].b, 16 + 104 + 4, 1);        // Fmap.pad0
    put_u64(log[5].b, 16 + 104 + 16 + 24 + 8, 0xa00000);  // se[1] with nextents 1
    log[6].b[16 + 100] = 1;                    // past MkdirEntry, inside the union
    seal_all(log);
    write_raw_log(t.path, log);
    FsckReport f = fsck_of(t.path);
    CHECK_FALSE(fsck_reports(f, 0, "pad0"));
    CHECK(fsck_reports(f, 1, "pad0"));
    CHECK(fsck_reports(f, 2, "flags"));
    CHECK(fsck_reports(f, 3, "relpath"));
    CHECK(fsck_reports(f, 4, "fmap.pad0"));
    CHECK(fsck_reports(f, 5, "fmap.se[1]"));
    CHECK(fsck_reports(f, 6, "unused"));
    // Replay still serves them (the bytes are ignored, not trusted).
    Replayed r(t.path);
    CHECK(r.tree.resolve("nul"));
    CHECK_FALSE(r.tree.resolve("nul/../../etc"));
}

TEST_CASE("the golden upstream images have no padding or mode findings") {
    for (const char* name : {"upstream-mkfs-only", "upstream-populated"}) {
        std::string img = golden_image(name);
        FsckReport f = fsck_of(img);
        for (const FsckProblem& p : f.problems) INFO(describe(p));
        CHECK(f.clean());
        std::filesystem::remove_all(std::filesystem::path(img).parent_path());
    }
}

// ---- item 8: sizes that do not fit ----------------------------------------

TEST_CASE("creat: a size that does not fit is refused before anything is appended") {
    TempDevice t(8ULL << 30);  // sparse; big enough for 8 buckets of 1 GiB
    t.format();
    auto fs = t.open_owner();
    const uint64_t before = fs->log().published_count();
    for (uint64_t size : {~0ULL, ~0ULL - 0x1fffff, 1ULL << 63, (1ULL << 63) + 1, 9ULL << 30}) {
        INFO(size);
        CHECK_THROWS_AS(fs->create_file({"big", size}), Error);
        for (uint64_t n : {1, 2, 4, 8}) {
            FileSpec s{"bigs", size};
            s.interleave = InterleaveParams{n, n, 0x200000};
            CHECK_THROWS_AS(fs->create_file(s), Error);
            s.interleave = InterleaveParams{n, n, 1ULL << 63};
            CHECK_THROWS_AS(fs->create_file(s), Error);
        }
    }
    CHECK(fs->log().published_count() == before);
    CHECK(fsck_of(t.path).clean());
    fs->create_file({"fits", 2 << 20});  // the device is still usable
}

TEST_CASE("allocator arithmetic never wraps") {
    Allocator a(64ULL << 30, kDefaultLogLen);
    for (uint64_t size : {~0ULL, ~0ULL - 0x1fffff, 1ULL << 63, (65ULL << 30)}) {
        CHECK_FALSE(a.allocate(size));
        for (uint64_t n : {1, 3, 16})
            for (uint64_t chunk : {0x200000ULL, 1ULL << 62, 1ULL << 63})
                CHECK_FALSE(a.allocate_interleaved(size, {n, n, chunk}));
    }
    CHECK(a.used_units() == a.reserved_units());
}

// ---- item 9: next_index one lower than next_seqnum ------------------------

TEST_CASE("a next_index flipped one lower is reported and never loses the entry") {
    TempDevice t;
    t.format();
    {
        auto fs = t.open_owner();
        fs->mkdir({"a"});
        fs->mkdir({"b"});
        fs->mkdir({"c"});  // entry 2, committed
    }
    {
        Device d = Device::open(t.path, Device::Access::ReadWrite);
        d.at<LogHeader>(kLogOffset)->next_index = 2;  // damage: 3 -> 2, next_seqnum stays 3
    }
    FsckReport f = fsck_of(t.path);
    CHECK_FALSE(f.clean());
    bool named = false;
    for (const FsckProblem& p : f.problems)
        named |= p.where == "log header" && p.field == "next_index";
    CHECK(named);

    // The owner's next command keeps entry 2 and appends after it.
    auto fs = t.open_owner();
    fs->mkdir({"d"});
    CHECK(fs->tree().resolve("c"));
    CHECK(fs->tree().resolve("d"));
    CHECK(fs->tree().resolve("d")->log_index == 3);
    CHECK(fs->log().header().next_index == 4);
    CHECK(fs->log().header().next_seqnum == 4);
    CHECK(fsck_of(t.path).clean());
}

TEST_CASE("an append interrupted between its header stores is a crash, not damage") {
    TempDevice t;
    t.format();
    {
        auto fs = t.open_owner();
        fs->mkdir({"a"});
        fs->mkdir({"b"});
    }
    SECTION("entry written, nothing published: the slot is free") {
        RawEntry e = raw_mkdir("ghost");
        e.seal(2);
        Device d = Device::open(t.path, Device::Access::ReadWrite);
        std::memcpy(d.base() + kLogOffset + entry_offset(2), e.b, sizeof e.b);
        CHECK(fsck_of(t.path).clean());
    }
    SECTION("next_index published, next_seqnum not yet") {
        Device d = Device::open(t.path, Device::Access::ReadWrite);
        d.at<LogHeader>(kLogOffset)->next_seqnum = 1;
        CHECK(fsck_of(t.path).clean());
    }
    auto fs = t.open_owner();
    fs->mkdir({"c"});
    CHECK(fs->tree().resolve("b"));
    CHECK(fs->tree().resolve("c")->log_index == 2);
    CHECK(fs->log().header().next_seqnum == 3);
    CHECK(fsck_of(t.path).clean());
}

TEST_CASE("an append never overwrites a committed entry past a damaged next_index") {
    TempDevice t;
    t.format();
    {
        auto fs = t.open_owner();
        for (const char* n : {"a", "b", "c", "d"}) fs->mkdir({n});
    }
    {
        Device d = Device::open(t.path, Device::Access::ReadWrite);
        d.at<LogHeader>(kLogOffset)->next_index = 1;  // 4 -> 1: far more than a crash
    }
    auto fs = t.open_owner();
    CHECK_THROWS_AS(fs->mkdir({"e"}), Error);
    Device d = Device::open(t.path, Device::Access::ReadOnly);
    CHECK(std::string(d.at<Log>(kLogOffset)->entries[1].mkdir.relpath) == "b");
}

// ---- item 2 (JSON half): any byte string renders -------------------------

TEST_CASE("json_safe keeps valid UTF-8 and names every other byte") {
    CHECK(json_safe("dir1/f1") == "dir1/f1");
    CHECK(json_safe("caf\xc3\xa9") == "caf\xc3\xa9");
    CHECK(json_safe("bad\xff" "x") == "bad\\xffx");
    CHECK(json_safe("\xed\xa0\x80") == "\\xed\\xa0\\x80");      // a surrogate
    CHECK(json_safe("\xc0\xaf") == "\\xc0\\xaf");              // overlong '/'
    CHECK(json_safe("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // > U+10FFFF
    CHECK(json_safe("\xe2\x82") == "\\xe2\\x82");              // truncated
    CHECK(is_valid_utf8(json_safe("\x80\xbf\xfe")));
    CHECK(json_quote("a\"b\\c\n\x01\xff") == "\"a\\\"b\\\\c\\n\\u0001\\\\xff\"");
}

TEST_CASE("fsck names superblock bytes outside the crc that famfs writes as zero") {
    TempDevice t;
    t.format();
    {
        Device d = Device::open(t.path, Device::Access::ReadWrite);
        auto* sb = d.at<Superblock>(0);
        sb->pad0 = 1;
        sb->sb_flags = 0x100;
        sb->daxdev.name[kDevNameLen - 1] = 'x';
    }
    FsckReport f = fsck_of(t.path);
    for (const char* field : {"pad0", "sb_flags", "daxdev.name"}) {
        bool named = false;
        for (const FsckProblem& p : f.problems) named |= p.where == "superblock" && p.field == field;
        CHECK(named);
    }
}

// ---- items 4 and 5 (library half): re-format, damage, shrink --------------

TEST_CASE("check_identity notices a re-format, a broken superblock and a shrink") {
    TempDevice t;
    t.format();
    auto client = t.open_client();
    CHECK(client->check_identity().empty());
    SECTION("mkfs --force under the client") {
        Device d = Device::open(t.path, Device::Access::ReadWrite);
        MkfsOptions o;
        o.force = true;
        mkfs(d, o);
        CHECK(client->check_identity().find("re-formatted") != std::string::npos);
    }
    SECTION("a superblock that became invalid") {
        Device d = Device::open(t.path, Device::Access::ReadWrite);
        d.at<Superblock>(0)->magic ^= 1;
        CHECK(client->check_identity().find("no longer valid") != std::string::npos);
    }
    SECTION("the device shrinks") {
        REQUIRE(truncate(t.path.c_str(), 8 << 20) == 0);
        CHECK(client->check_identity().find("shrank") != std::string::npos);
    }
}
