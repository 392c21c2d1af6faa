// fsck reports: clean, and each kind of damage named by its place and field.
#include "famfs/fsck.h"

#include <catch2/catch.hpp>

#include "famfs/crc.h"
#include "test_util.h"

using namespace famfs;
using namespace famfs::test;

namespace {

FsckReport check(const TempDevice& t) {
    Device d = Device::open(t.path, Device::Access::ReadOnly);
    FsckOptions o;
    o.torn_tail_delay = std::chrono::milliseconds(1);
    return fsck(d, o);
}

bool reports(const FsckReport& r, const std::string& where, const std::string& field) {
    for (const FsckProblem& p : r.problems)
        if (p.where == where && p.field == field) return true;
    return false;
}

// A small filesystem: a directory and two files, written by our own encoder.
void populate(TempDevice& t) {
    t.format();
    auto fs = t.open_owner();
    fs->mkdir({"d"});
    fs->create_file({"d/a", 4 << 20});
    fs->create_file({"b", 2 << 20});
}

void poke(const TempDevice& t, uint64_t offset, uint8_t xor_mask) {
    Device d = Device::open(t.path, Device::Access::ReadWrite);
    d.base()[offset] ^= xor_mask;
}

}  // namespace

TEST_CASE("fsck: a fresh and a populated filesystem are clean, with counts") {
    TempDevice fresh;
    fresh.format();
    FsckReport empty = check(fresh);
    CHECK(empty.clean());
    CHECK(empty.files == 0);
    TempDevice t;
    populate(t);
    FsckReport r = check(t);
    INFO((r.problems.empty() ? std::string() : describe(r.problems[0])));
    CHECK(r.clean());
    CHECK(r.superblock_valid);
    CHECK(r.log_header_valid);
    CHECK(r.published == 3);
    CHECK(r.files == 2);
    CHECK(r.dirs == 1);
    CHECK(r.metadata_bytes == 10ULL << 20);
    CHECK(r.data_used_bytes == 6ULL << 20);
    CHECK(r.free_bytes == r.total_bytes - r.metadata_bytes - r.data_used_bytes);
}

TEST_CASE("fsck: a flipped superblock bit is damage in the superblock crc") {
    TempDevice t;
    populate(t);
    poke(t, 50, 0x01);  // inside the fs uuid, covered by the crc
    FsckReport r = check(t);
    CHECK_FALSE(r.clean());
    CHECK(reports(r, "superblock", "crc"));
}

TEST_CASE("fsck: a flipped log header bit is damage in the log header") {
    TempDevice t;
    populate(t);
    poke(t, kLogOffset + 9, 0x10);  // log_len
    FsckReport r = check(t);
    CHECK_FALSE(r.clean());
    bool named = false;
    for (const FsckProblem& p : r.problems) named |= p.where == "log header";
    CHECK(named);
}

TEST_CASE("fsck: a bad crc in the middle names the entry; at the tail it is retried first") {
    TempDevice t;
    populate(t);
    SECTION("middle") {
        poke(t, kLogOffset + entry_offset(1) + 536, 0xff);  // entry 1's stored crc
        FsckReport r = check(t);
        CHECK(reports(r, "entry 1", "crc"));
        CHECK(r.tail_retries == 0);
    }
    SECTION("tail") {
        poke(t, kLogOffset + entry_offset(2) + 40, 0x01);  // entry 2's path
        FsckReport r = check(t);
        CHECK(reports(r, "entry 2", "crc"));
        CHECK(r.tail_retries == 3);
    }
}

TEST_CASE("fsck: an extent that overlaps another file is a collision, with a valid crc") {
    TempDevice t;
    populate(t);
    {
        Device d = Device::open(t.path, Device::Access::ReadWrite);
        LogEntry& b = d.at<Log>(kLogOffset)->entries[2];
        b.file.fmap.se[0].offset = 0xa00000;  // d/a's first unit
        b.crc = entry_crc(b);
    }
    FsckReport r = check(t);
    CHECK_FALSE(r.clean());
    CHECK(reports(r, "entry 2", "fmap"));
    bool collision = false;
    for (const FsckProblem& p : r.problems) collision |= p.kind == "collision";
    CHECK(collision);
}

TEST_CASE("fsck: next_seqnum must match next_index (one ahead is a harmless torn publish)") {
    TempDevice t;
    populate(t);
    auto set_seqnum = [&](uint64_t v) {
        Device d = Device::open(t.path, Device::Access::ReadWrite);
        d.at<LogHeader>(kLogOffset)->next_seqnum = v;
    };
    set_seqnum(4);  // next_index is 3: a crash between the two header stores
    CHECK(check(t).clean());
    {
        // The next append puts both right again.
        auto fs = t.open_owner();
        fs->mkdir({"after-crash"});
        CHECK(fs->log().header().next_seqnum == 4);
        CHECK(fs->log().header().next_index == 4);
    }
    set_seqnum(9);
    FsckReport r = check(t);
    CHECK_FALSE(r.clean());
    CHECK(reports(r, "log header", "next_seqnum"));
}
