#include "famfs/allocator.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <set>

#include "test_util.h"

using namespace famfs;
using namespace famfs::test;

namespace {
constexpr uint64_t GiB = 1ULL << 30;
constexpr uint64_t MiB = 1ULL << 20;

// Every extent of every map, checked for overlap with a shadow bitmap.
struct OverlapChecker {
    std::vector<bool> used;
    explicit OverlapChecker(uint64_t dev_size, uint64_t log_len)
        : used(dev_size / kAllocUnit, false) {
        for (uint64_t u = 0; u < data_offset(log_len) / kAllocUnit; ++u) used[u] = true;
    }
    bool add(const Fmap& m) {
        bool ok = true;
        for_each_extent(m, [&](uint64_t off, uint64_t len) {
            for (uint64_t u = off / kAllocUnit; u < (off + len) / kAllocUnit; ++u) {
                if (used[u]) ok = false;
                used[u] = true;
            }
        });
        return ok;
    }
};
}  // namespace

TEST_CASE("contiguous allocation is first fit and 2 MiB aligned") {
    Allocator a(1 * GiB, kDefaultLogLen);
    CHECK(a.reserved_units() == 5);
    auto m1 = a.allocate(1);
    REQUIRE(m1);
    CHECK(m1->se[0].offset == 10 * MiB);
    CHECK(m1->se[0].len == 2 * MiB);
    auto m2 = a.allocate(5 * MiB);
    REQUIRE(m2);
    CHECK(m2->se[0].offset == 12 * MiB);
    CHECK(m2->se[0].len == 6 * MiB);
}

TEST_CASE("a full device refuses, and nothing is half-allocated") {
    Allocator a(64 * MiB, kDefaultLogLen);  // 27 free units
    CHECK(a.allocate(54 * MiB));
    const uint64_t used = a.used_units();
    CHECK_FALSE(a.allocate(2 * MiB));
    CHECK(a.used_units() == used);
    CHECK(a.free_bytes() == 0);
}

TEST_CASE("striped allocation puts each strip in its own bucket") {
    Allocator a(8 * GiB, kDefaultLogLen);
    InterleaveParams p{4, 8, 2 * MiB};
    CHECK(check_interleave(p, 8 * GiB, kDefaultLogLen) == "");
    auto m = a.allocate_interleaved(64 * MiB, p);
    REQUIRE(m);
    REQUIRE(m->ext_type == ExtentType::Interleave);
    const auto& ie = m->ie[0];
    CHECK(ie.nstrips == 4);
    CHECK(ie.chunk_size == 2 * MiB);
    const uint64_t bucket = 8 * GiB / 8;
    std::set<uint64_t> buckets;
    for (int i = 0; i < 4; ++i) {
        CHECK(ie.strips[i].len == 16 * MiB);
        CHECK(ie.strips[i].offset % kAllocUnit == 0);
        buckets.insert(ie.strips[i].offset / bucket);
        CHECK((ie.strips[i].offset + ie.strips[i].len - 1) / bucket ==
              ie.strips[i].offset / bucket);
    }
    CHECK(buckets.size() == 4);
    CHECK(fmap_capacity(*m) >= 64 * MiB);
    // Smaller than a chunk: simple extent.
    auto small = a.allocate_interleaved(1 * MiB, p);
    REQUIRE(small);
    CHECK(small->ext_type == ExtentType::Simple);
}

TEST_CASE("invalid interleave parameters are explained") {
    CHECK(check_interleave({0, 8, 2 * MiB}, 8 * GiB, kDefaultLogLen) != "");
    CHECK(check_interleave({17, 32, 2 * MiB}, 64 * GiB, kDefaultLogLen) != "");
    CHECK(check_interleave({4, 8, 3 * MiB}, 8 * GiB, kDefaultLogLen) != "");
    CHECK(check_interleave({4, 16, 2 * MiB}, 8 * GiB, kDefaultLogLen).find("1 GiB") !=
          std::string::npos);
}

TEST_CASE("10,000 random allocations never overlap") {
    const uint64_t dev = 64 * GiB;
    Allocator a(dev, kDefaultLogLen);
    OverlapChecker shadow(dev, kDefaultLogLen);
    std::mt19937_64 rng(42);
    int ok = 0, full = 0;
    for (int i = 0; i < 10000; ++i) {
        std::optional<Fmap> m;
        if (i % 10 == 0)
            m = a.allocate_interleaved(rng() % (64 * MiB) + 1, {4, 32, 2 * MiB});
        else
            m = a.allocate(rng() % (8 * MiB) + 1);
        if (!m) {
            ++full;
            continue;
        }
        ++ok;
        REQUIRE(shadow.add(*m));
    }
    CHECK(ok > 5000);
    INFO("allocated " << ok << ", refused " << full);
    uint64_t shadow_used = std::count(shadow.used.begin(), shadow.used.end(), true);
    CHECK(shadow_used == a.used_units());
}

TEST_CASE("collisions are refused by replay; the allocator then finds none") {
    TempDevice t;
    t.format();
    std::vector<RawEntry> log = {raw_file("a", 4 << 20, {{0xa00000, 0x400000}}),
                                 raw_file("b", 2 << 20, {{0xc00000, 0x200000}}),
                                 raw_file("c", 2 << 20, {{0x200000, 0x200000}})};
    for (size_t i = 0; i < log.size(); ++i) log[i].seal(i);
    write_raw_log(t.path, log);
    auto fs = t.open_client();
    // Replay serves only the first owner of each unit (issue 11).
    const auto& issues = fs->tree().issues();
    REQUIRE(issues.size() == 2);
    CHECK(issues[0].kind == IssueKind::Collision);
    CHECK(issues[0].index == 1);
    CHECK(issues[0].message.find("of 'a' (entry 0)") != std::string::npos);
    CHECK(issues[1].index == 2);
    CHECK(issues[1].message.find("superblock/log") != std::string::npos);
    CHECK(fs->tree().file_count() == 1);
    Allocator a(fs->superblock().daxdev.size, fs->superblock().log_len);
    CHECK(a.mark_tree(fs->tree()).empty());
}

TEST_CASE("after marking a replayed log, allocation stays first fit past the used prefix") {
    // mark() (a replayed log) fills units 5..204 except a 2-unit hole at 100;
    // the next allocations take the hole, then the first unit after 204.
    Allocator a(1 * GiB, kDefaultLogLen);
    auto file_at = [](uint64_t unit, uint64_t n) {
        Node f;
        f.type = NodeType::File;
        f.fmap.ext_type = ExtentType::Simple;
        f.fmap.count = 1;
        f.fmap.se[0] = {0, unit * kAllocUnit, n * kAllocUnit};
        return f;
    };
    a.mark(file_at(5, 95), nullptr);
    a.mark(file_at(102, 103), nullptr);
    auto hole = a.allocate(4 * MiB);
    REQUIRE(hole);
    CHECK(hole->se[0].offset == 100 * kAllocUnit);
    auto next = a.allocate(2 * MiB);
    REQUIRE(next);
    CHECK(next->se[0].offset == 205 * kAllocUnit);
    a.mark(file_at(206, 10), nullptr);  // a file another writer logged meanwhile
    auto after = a.allocate(2 * MiB);
    REQUIRE(after);
    CHECK(after->se[0].offset == 216 * kAllocUnit);
}
