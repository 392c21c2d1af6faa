// The Filesystem API: mkfs, roles, appends (including two processes racing),
// a full log, and data through the mapping.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>

#include "famfs/error.h"
#include "famfs/pattern.h"
#include "test_util.h"

using namespace famfs;
using namespace famfs::test;

namespace {
int error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.err();
    }
    return 0;
}
}  // namespace

TEST_CASE("mkfs refuses to overwrite a famfs without force") {
    TempDevice t;
    const Uuid first = t.format();
    Device d = Device::open(t.path, Device::Access::ReadWrite);
    CHECK(has_valid_superblock(d));
    MkfsOptions o;
    CHECK(error_of([&] { mkfs(d, o); }) == EEXIST);
    CHECK(d.at<Superblock>(0)->fs_uuid == first);  // untouched
    o.force = true;
    CHECK(mkfs(d, o) != first);
}

TEST_CASE("mkfs rejects bad log lengths and tiny devices") {
    TempDevice t(10ULL << 20);  // one unit short of sb + 8 MiB log + 2 MiB
    Device d = Device::open(t.path, Device::Access::ReadWrite);
    MkfsOptions o;
    CHECK(error_of([&] { mkfs(d, o); }) == ENOSPC);
    o.log_len = 3 << 20;
    CHECK(error_of([&] { mkfs(d, o); }) == EINVAL);
    CHECK_FALSE(has_valid_superblock(d));
}

TEST_CASE("a non-famfs device gives a one-line error naming the field") {
    TempDevice t;
    try {
        Filesystem::open(t.path, {Device::Access::ReadOnly, t.owner_uuid_file});
        FAIL("opened an unformatted device");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("superblock magic") != std::string::npos);
        CHECK(std::string(e.what()).find('\n') == std::string::npos);
    }
}

TEST_CASE("roles come from the system uuid file; clients cannot append") {
    TempDevice t;
    t.format();
    auto owner = t.open_owner();
    auto client = t.open_client();
    CHECK(owner->role() == Role::Owner);
    CHECK(client->role() == Role::Client);
    const uint64_t before = client->log().published_count();
    try {
        client->create_file({"x", 1 << 20});
        FAIL("client appended");
    } catch (const Error& e) {
        CHECK(e.err() == EPERM);
        CHECK(std::string(e.what()).find("client") != std::string::npos);
    }
    CHECK(error_of([&] { client->mkdir({"d"}); }) == EPERM);
    CHECK(client->log().published_count() == before);
}

TEST_CASE("creation errors leave the log unchanged") {
    TempDevice t;
    t.format();
    auto fs = t.open_owner();
    fs->create_file({"f", 1 << 20});
    const uint64_t n = fs->log().published_count();
    CHECK(error_of([&] { fs->create_file({"f", 1 << 20}); }) == EEXIST);
    CHECK(error_of([&] { fs->create_file({"nodir/f", 1 << 20}); }) == ENOENT);
    CHECK(error_of([&] { fs->create_file({"f/g", 1 << 20}); }) == ENOTDIR);
    CHECK(error_of([&] { fs->create_file({"../f", 1 << 20}); }) == EINVAL);
    CHECK(error_of([&] { fs->create_file({"big", 1ULL << 40}); }) == ENOSPC);
    CHECK(error_of([&] { fs->create_file({"zero", 0}); }) == EINVAL);
    CHECK(error_of([&] { fs->mkdir({"f"}); }) == ENOTDIR);
    CHECK(fs->log().published_count() == n);
    const Node* made = &fs->mkdir_p({"p/q/r"});
    CHECK(made == fs->tree().resolve("p/q/r"));
    CHECK(fs->log().published_count() == n + 3);
    fs->mkdir_p({"p/q/r"});  // exists: fine, nothing appended
    CHECK(fs->log().published_count() == n + 3);
}

TEST_CASE("a full log is a clear error and writes nothing") {
    TempDevice t;
    t.format();
    auto fs = t.open_owner();
    const uint64_t cap = fs->log().capacity();
    {
        auto b = fs->batch();
        for (uint64_t i = 0; i < cap; ++i) b.mkdir({"d" + std::to_string(i)});
        b.commit();
    }
    CHECK(fs->log().published_count() == cap);
    try {
        fs->mkdir({"one-too-many"});
        FAIL("appended past the end of the log");
    } catch (const Error& e) {
        CHECK(e.err() == ENOSPC);
        CHECK(std::string(e.what()).find("log is full") != std::string::npos);
    }
    CHECK(fs->log().published_count() == cap);
    CHECK(fs->tree().dir_count() == cap);
}

TEST_CASE("two processes appending 5,000 entries each lose and duplicate nothing") {
    TempDevice t(256ULL << 20);
    t.format();
    auto child = [&](char tag) {
        auto fs = t.open_owner();
        for (int i = 0; i < 5000; ++i) fs->mkdir({fmt::format("{}{}", tag, i)});
        _exit(0);
    };
    pid_t a = fork();
    if (a == 0) child('a');
    pid_t b = fork();
    if (b == 0) child('b');
    int sa = 0, sb = 0;
    waitpid(a, &sa, 0);
    waitpid(b, &sb, 0);
    REQUIRE(WIFEXITED(sa));
    REQUIRE(WEXITSTATUS(sa) == 0);
    REQUIRE(WIFEXITED(sb));
    REQUIRE(WEXITSTATUS(sb) == 0);

    auto fs = t.open_client();
    CHECK(fs->log().published_count() == 10000);
    CHECK(fs->tree().issues().empty());
    CHECK(fs->tree().dir_count() == 10000);
    std::set<std::string> names;
    for (uint64_t i = 0; i < 10000; ++i) {
        const LogEntry& e = fs->log().entry(i);
        CHECK(e.seqnum == i);
        names.insert(e.mkdir.relpath);
    }
    CHECK(names.size() == 10000);
    CHECK(fs->log().header().next_seqnum == 10000);
}

TEST_CASE("data written through the mapping reads back, clipped at the file size") {
    TempDevice t(128ULL << 20);
    t.format();
    auto fs = t.open_owner();
    const Node& f = fs->create_file({"f", 3 * 1024 * 1024 + 5});
    std::vector<uint8_t> buf(f.size);
    fill_pattern(buf.data(), 0, buf.size(), 77);
    CHECK(fs->write_data(f, 0, buf.data(), buf.size() + 100) == f.size);
    std::vector<uint8_t> back(f.size + 100, 0);
    CHECK(fs->read_data(f, 0, back.data(), back.size()) == f.size);
    CHECK_FALSE(check_pattern(back.data(), 0, f.size, 77));
    CHECK(check_pattern(back.data(), 0, f.size, 78).value() < 8);
    back[123456] ^= 1;
    CHECK(check_pattern(back.data(), 0, f.size, 77).value() == 123456);
    // Unaligned windows agree with whole-file fills.
    uint8_t part[13];
    fill_pattern(part, 1001, sizeof part, 77);
    CHECK(std::memcmp(part, buf.data() + 1001, sizeof part) == 0);
}

TEST_CASE("the system uuid file is created once and then reused") {
    TempDevice t;
    const std::string p = t.dir + "/new/dir/uuid";
    Uuid a = load_system_uuid(p);
    Uuid b = load_system_uuid(p);
    CHECK(a == b);
    std::ofstream(t.dir + "/garbage") << "not-a-uuid\n";
    CHECK(error_of([&] { load_system_uuid(t.dir + "/garbage"); }) == EINVAL);
}

TEST_CASE("a batch is all or nothing, and an uncommitted one leaves no trace") {
    TempDevice t(128ULL << 20);
    t.format();
    auto fs = t.open_owner();
    fs->mkdir({"d"});
    const uint64_t n = fs->log().published_count();
    {
        auto b = fs->batch();
        b.create_file({"d/a", 4 << 20});
        CHECK(b.kind("d/a") == Filesystem::Batch::Kind::File);
        CHECK(b.file_size("d/a") == (4u << 20));
        CHECK(b.mkdir({"e/f"}, /*parents=*/true));
        CHECK(b.kind("e") == Filesystem::Batch::Kind::Dir);
        b.create_file({"e/f/g", 1 << 20});                              // under a staged directory
        CHECK(error_of([&] { b.create_file({"d/a", 1}); }) == EEXIST);  // staged already
        CHECK(error_of([&] { b.create_file({"d/a/x", 1}); }) == ENOTDIR);  // under a staged file
        CHECK(error_of([&] { b.create_file({"big", 1ULL << 40}); }) == ENOSPC);
        CHECK(b.staged() == 4);
        // Destroyed without commit: nothing is written.
    }
    CHECK(fs->log().published_count() == n);
    CHECK_FALSE(fs->tree().resolve("d/a"));
    // ...and the staged allocations were rolled back: the first free unit is reused.
    const Node& a = fs->create_file({"d/a", 2 << 20});
    CHECK(a.fmap.se[0].offset == 0xa00000);
    {
        auto b = fs->batch();
        b.mkdir({"x"});
        b.create_file({"x/1", 2 << 20});
        b.commit();
    }
    CHECK(fs->tree().resolve("x/1"));
    CHECK(fs->log().published_count() == n + 3);
    // Files committed by a batch are not marked twice (no false collisions).
    CHECK(fs->tree().issues().empty());
    fs->create_file({"x/2", 2 << 20});
    CHECK(fs->tree().issues().empty());
    CHECK(fs->tree().resolve("x/2")->fmap.se[0].offset == 0xe00000);
}
