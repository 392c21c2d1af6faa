// Replay of hand-built logs: good, torn tail, corrupt middle, hostile paths,
// incremental replay, and the golden images written by upstream famfs.
#include "famfs/replay.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "test_util.h"

using namespace famfs;
using namespace famfs::test;

TEST_CASE("a good log replays into the expected tree") {
    TempDevice t;
    t.format();
    std::vector<RawEntry> log = {raw_mkdir("a", 0750, 1, 2),
                                 raw_file("a/f", 100, {{0xa00000, 0x200000}}),
                                 raw_file("top", 3 << 20, {{0xc00000, 0x400000}}, 0600)};
    for (size_t i = 0; i < log.size(); ++i) log[i].seal(i);
    write_raw_log(t.path, log);
    Replayed r(t.path);
    CHECK(r.result.applied == 3);
    CHECK_FALSE(r.result.torn_tail);
    CHECK(r.tree.issues().empty());
    CHECK(r.tree.file_count() == 2);
    CHECK(r.tree.dir_count() == 1);
    const Node* a = r.tree.resolve("a");
    REQUIRE(a);
    CHECK(a->is_dir());
    CHECK(a->mode == 0750);
    CHECK(a->ino == 2);
    CHECK(r.tree.root().subdirs == 1);  // "a"; the files do not count
    CHECK(a->subdirs == 0);
    const Node* f = r.tree.resolve("a/f");
    REQUIRE(f);
    CHECK(f->size == 100);
    CHECK(f->parent == a->ino);
    CHECK(r.tree.path_of(*f) == "a/f");
    CHECK(r.tree.resolve("top")->mode == 0600);
}

TEST_CASE("a bad entry at the tail is not yet visible; in the middle it is corruption") {
    TempDevice t;
    t.format();
    std::vector<RawEntry> log = {raw_mkdir("a"), raw_mkdir("b"), raw_mkdir("c")};
    for (size_t i = 0; i < log.size(); ++i) log[i].seal(i);

    SECTION("torn tail") {
        log[2].b[100] ^= 0xff;  // body changed after the crc was computed
        write_raw_log(t.path, log);
        Replayed r(t.path);
        CHECK(r.result.torn_tail);
        CHECK(r.result.applied == 2);
        CHECK(r.tree.next_index() == 2);  // will retry entry 2
        CHECK_FALSE(r.tree.has_corruption());
        // The writer finishes: the entry becomes valid and a later replay picks it up.
        log[2].b[100] ^= 0xff;
        write_raw_log(t.path, log);
        auto again = replay(r.log, r.tree);
        CHECK(again.applied == 1);
        CHECK(r.tree.resolve("c"));
    }
    SECTION("torn tail is final under the writer's lock") {
        log[2].b[100] ^= 0xff;
        write_raw_log(t.path, log);
        Device dev = Device::open(t.path, Device::Access::ReadOnly);
        LogView lv(dev);
        MetaTree tree(lv.superblock().daxdev.size);
        replay(lv, tree, true);
        CHECK(has_issue(tree, IssueKind::Corrupt, 2, "crc"));
    }
    SECTION("corrupt middle entry: crc") {
        log[1].b[30] ^= 1;
        write_raw_log(t.path, log);
        Replayed r(t.path);
        CHECK_FALSE(r.result.torn_tail);
        CHECK(has_issue(r.tree, IssueKind::Corrupt, 1, "crc"));
        CHECK(r.tree.has_corruption());
        CHECK(r.tree.resolve("a"));
        CHECK_FALSE(r.tree.resolve("b"));
        CHECK(r.tree.resolve("c"));  // replay goes on past the damage
    }
    SECTION("corrupt middle entry: seqnum") {
        log[1].seal(5);
        write_raw_log(t.path, log);
        Replayed r(t.path);
        CHECK(has_issue(r.tree, IssueKind::Corrupt, 1, "seqnum"));
    }
    SECTION("corrupt middle entry: type") {
        put_u32(log[1].b, 8, 9);
        log[1].seal(1);
        write_raw_log(t.path, log);
        Replayed r(t.path);
        CHECK(has_issue(r.tree, IssueKind::Corrupt, 1, "type"));
    }
}

TEST_CASE("hostile paths are rejected by replay") {
    TempDevice t;
    t.format();
    const std::string long_name(80, 'x');
    std::vector<RawEntry> log = {
        raw_mkdir("/abs"),
        raw_mkdir("a/../../etc"),
        raw_mkdir("a//b"),
        raw_mkdir(""),
        raw_mkdir("."),
        raw_mkdir("ok/"),
        raw_file("f", 10, {{0xa00000, 0x200000}}),
        raw_file("f/under", 10, {{0xc00000, 0x200000}}),  // a file under a file
        raw_file("f", 10, {{0xe00000, 0x200000}}),        // duplicate: keep the first
        raw_file("past", 10, {{1ULL << 40, 0x200000}}),   // past the device
        raw_file("unaligned", 10, {{0xa00001, 0x200000}}),
        raw_file("short", 5 << 20, {{0x1000000, 0x200000}}),  // extents smaller than size
    };
    RawEntry unterminated = raw_mkdir("y");
    std::memset(unterminated.b + 16 + 12, 'y', 80);
    log.push_back(unterminated);
    for (size_t i = 0; i < log.size(); ++i) log[i].seal(i);
    write_raw_log(t.path, log);
    Replayed r(t.path);
    for (uint64_t i : {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12})
        CHECK(has_issue(r.tree, IssueKind::Rejected, i, i >= 9 && i <= 11 ? "fmap" : "relpath"));
    CHECK_FALSE(r.tree.has_corruption());  // well-formed entries, refused: not crc damage
    CHECK(r.tree.file_count() == 1);
    CHECK(r.tree.resolve("f")->fmap.se[0].offset == 0xa00000);
    CHECK(r.tree.dir_count() == 0);
    CHECK(r.tree.resolve("etc") == nullptr);
    CHECK(check_relpath(long_name.substr(0, 79)) == "");
    CHECK(check_relpath("a/" + long_name) != "");
}

TEST_CASE("implicit parents, then an explicit mkdir adopts them") {
    TempDevice t;
    t.format();
    std::vector<RawEntry> log = {raw_file("p/q/f", 1, {{0xa00000, 0x200000}}),
                                 raw_mkdir("p", 0700, 9, 9)};
    for (size_t i = 0; i < log.size(); ++i) log[i].seal(i);
    write_raw_log(t.path, log);
    Replayed r(t.path);
    CHECK(r.tree.issues().empty());
    const Node* p = r.tree.resolve("p");
    REQUIRE(p);
    CHECK(p->mode == 0700);
    CHECK(p->uid == 9);
    CHECK_FALSE(p->implicit);
    CHECK(r.tree.resolve("p/q")->implicit);
    CHECK(p->subdirs == 1);  // the implicit "q" counts; adopting "p" adds nothing
    CHECK(r.tree.resolve("p/q/f"));
}

TEST_CASE("incremental replay applies only new entries") {
    TempDevice t;
    t.format();
    auto owner = t.open_owner();
    auto client = t.open_client();
    CHECK(client->tree().next_index() == 0);
    owner->mkdir({"d"});
    owner->create_file({"d/x", 1 << 20});
    auto r1 = client->refresh();
    CHECK(r1.applied == 2);
    CHECK(client->tree().resolve("d/x"));
    const Node* before = client->tree().resolve("d/x");
    owner->create_file({"d/y", 1 << 20});
    auto r2 = client->refresh();
    CHECK(r2.applied == 1);
    CHECK(client->tree().resolve("d/x") == before);  // existing nodes untouched
    CHECK(client->refresh().applied == 0);
}

TEST_CASE("golden image after mkfs replays to an empty tree") {
    std::string img = golden_image("upstream-mkfs-only");
    Replayed r(img);
    CHECK(r.log.superblock().crc == 0x1ccebaee);
    CHECK(r.log.header().crc == 0xa5875078);
    CHECK(r.log.capacity() == 15420);
    CHECK(r.tree.next_index() == 0);
    CHECK(r.tree.file_count() == 0);
    std::filesystem::remove_all(std::filesystem::path(img).parent_path());
}

TEST_CASE("golden populated image replays exactly as upstream wrote it") {
    std::string img = golden_image("upstream-populated");
    Replayed r(img);
    const Superblock& sb = r.log.superblock();
    CHECK(to_string(sb.fs_uuid) == "6d6ef572-cd77-4f86-bd85-c4c032b8dbb3");
    CHECK(to_string(sb.device_uuid) == "178abb98-bfba-4c23-a87f-fc7deabe1fc6");
    CHECK(to_string(sb.system_uuid) == "5ca1ab1e-f00d-4a11-9e57-00000000c0de");
    CHECK(std::string(sb.daxdev.name) == "/dev/dax0.0");
    CHECK(sb.daxdev.size == 8589934592ULL);
    CHECK(r.tree.issues().empty());
    CHECK(r.tree.next_index() == 6);
    CHECK(r.tree.file_count() == 4);
    CHECK(r.tree.dir_count() == 2);
    const uint32_t crcs[] = {0x13478a66, 0x11a7ff44, 0x5c349025,
                             0x03e0de1b, 0xd95fa292, 0x13a8f920};
    for (int i = 0; i < 6; ++i) CHECK(r.log.entry(i).crc == crcs[i]);

    const Node* f1 = r.tree.resolve("dir1/f1");
    REQUIRE(f1);
    CHECK(f1->size == 3145728);
    CHECK(f1->uid == 1002);
    CHECK(f1->gid == 1003);
    CHECK(f1->st_mode() == (S_IFREG | 0644));
    CHECK(f1->fmap.se[0].offset == 0xa00000);
    CHECK(f1->fmap.se[0].len == 0x400000);
    CHECK(r.tree.resolve("dir1")->uid == 1000);
    CHECK(r.tree.resolve("tiny")->st_mode() == (S_IFREG | 0600));

    const Node* s = r.tree.resolve("striped");
    REQUIRE(s);
    CHECK(s->fmap.ext_type == ExtentType::Interleave);
    CHECK(s->fmap.ie[0].nstrips == 4);
    const uint64_t strips[] = {0x100000000, 0x40000000, 0x5000000, 0x1c0000000};
    for (int i = 0; i < 4; ++i) CHECK(s->fmap.ie[0].strips[i].offset == strips[i]);
    CHECK(fmap_capacity(s->fmap) == 4 * 0x8000000ULL);

    // File data: u64 at offset o is (index << 56) | (o ^ 0x00A5A5A5A5A5A5A5).
    auto fs = Filesystem::open(img, {Device::Access::ReadOnly,
                                     std::filesystem::path(img).parent_path().string() + "/uuid"});
    CHECK(fs->role() == Role::Client);
    for (uint64_t o : {0ULL, 8ULL, 0x1ffff8ULL, 0x2ffff8ULL}) {
        uint64_t v = 0;
        REQUIRE(fs->read_data(*f1, o, &v, 8) == 8);
        CHECK(v == ((2ULL << 56) | (o ^ 0x00A5A5A5A5A5A5A5ULL)));
    }
    // tiny's data lies past the stored 16 MiB; only the clipping is checkable.
    uint8_t tiny[4];
    CHECK(fs->read_data(*r.tree.resolve("tiny"), 0, tiny, 4) == 1);
    // Striped file: offset 10 MiB = chunk 5 -> strip 1, row 1.
    uint64_t dev_off = 0, contig = 0;
    REQUIRE(fmap_resolve(s->fmap, 10ULL << 20, dev_off, contig));
    CHECK(dev_off == 0x40000000 + 0x200000);
    CHECK(contig == 0x200000);

    Allocator a = fs->allocator_snapshot();
    CHECK(a.used_units() == 5 + 2 + 32 + 1 + 4 * 64);
    std::filesystem::remove_all(std::filesystem::path(img).parent_path());
}

TEST_CASE("replay serves the bytes it checked, not bytes changed on the device since") {
    // Another host (or damage) rewrites an entry while this one replays it:
    // A maps a valid extent, B one past the end of the device, each with its
    // own valid crc. Whatever replay catches, a served file must have A's
    // map: B fails the bounds check, and a mix fails the crc. Replay used to
    // check the entry in place and then copy the map again from the device.
    TempDevice t;
    t.format();
    RawEntry a = raw_file("f", 100, {{0xa00000, 0x200000}});
    RawEntry b = raw_file("f", 100, {{0x7fff00000000, 0x200000}});
    a.seal(0);
    b.seal(0);
    write_raw_log(t.path, {a});
    Device dev = Device::open(t.path, Device::Access::ReadWrite);
    LogView log(dev);
    auto* live = reinterpret_cast<uint8_t*>(&log.mutable_entry(0));
    constexpr size_t kOffset = 16 + 104 + 16 + 8;  // fmap.se[0].offset
    constexpr size_t kCrc = 536;
    std::atomic<bool> stop{false};
    std::thread flipper([&] {
        for (uint64_t k = 0; !stop.load(std::memory_order_relaxed); ++k) {
            const RawEntry& v = k & 1 ? b : a;
            __atomic_store_n(reinterpret_cast<uint64_t*>(live + kOffset), get_u64(v.b, kOffset),
                             __ATOMIC_RELAXED);
            __atomic_store_n(reinterpret_cast<uint64_t*>(live + kCrc), get_u64(v.b, kCrc),
                             __ATOMIC_RELAXED);
        }
    });
    uint64_t served = 0, bad = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    for (int i = 0; i < 200000 && std::chrono::steady_clock::now() < deadline; ++i) {
        MetaTree tree(log.superblock().daxdev.size, log.superblock().log_len);
        replay(log, tree, /*torn_tail_is_final=*/true);
        if (const Node* f = tree.resolve("f")) {
            ++served;
            if (f->fmap.se[0].offset != 0xa00000) ++bad;
        }
    }
    stop = true;
    flipper.join();
    INFO("served " << served << " times");
    CHECK(bad == 0);
}
