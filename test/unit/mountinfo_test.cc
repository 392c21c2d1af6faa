#include "famfs/mountinfo.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "famfs/error.h"
#include "test_util.h"

using namespace famfs;

TEST_CASE("famfs mounts are found in mountinfo, with escapes undone") {
    famfs::test::TempDevice t;
    const std::string mi = t.dir + "/mountinfo";
    std::ofstream(mi)
        << "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
           "90 1 0:50 / /mnt/fam\\040fs rw,nosuid shared:7 - fuse.famfs /dev/dax0.0 rw,user_id=0\n"
           "91 1 0:51 / /mnt/other rw - fuse.sshfs host:/ rw\n";
    auto m = famfs_mounts(mi);
    REQUIRE(m.size() == 1);
    CHECK(m[0].mountpoint == "/mnt/fam fs");
    CHECK(m[0].source == "/dev/dax0.0");
}

TEST_CASE("--device paths are relative to the filesystem root") {
    auto t = resolve_target("/a/b/", "/dev/dax0.0");
    CHECK(t.device == "/dev/dax0.0");
    CHECK(t.relpath == "a/b");
    CHECK(resolve_target("/", "/dev/x").relpath == "");
    CHECK_THROWS_AS(resolve_target("/definitely/not/famfs", ""), famfs::Error);
}
