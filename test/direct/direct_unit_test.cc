// The direct-access core without a mount: parsing the daemon's fmap xattr
// (as FsState::getxattr writes it), resolving file offsets, and mapping an
// emulated device's extents into one 2 MiB-aligned range.
#define CATCH_CONFIG_MAIN
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <string>

#include "famfs/direct.h"

namespace {
constexpr uint64_t M2 = 2u << 20;

famfs_direct_file parse_ok(const std::string& j) {
    famfs_direct_file f;
    REQUIRE(famfs_direct_parse_fmap(j.data(), j.size(), &f) == FAMFS_DIRECT_OK);
    return f;
}
int parse(const std::string& j) {
    famfs_direct_file f;
    return famfs_direct_parse_fmap(j.data(), j.size(), &f);
}
}  // namespace

TEST_CASE("fmap JSON: simple file, the daemon's exact form") {
    auto f = parse_ok(
        R"({"ext_type":"simple","extents":[{"len":4194304,"offset":8388608},{"len":2097152,"offset":2097152}],"log_index":3,"path":"a/b","size":5000000})");
    CHECK(f.size == 5000000);
    CHECK(f.interleaved == 0);
    CHECK(f.nextents == 2);
    CHECK(f.capacity == 3 * M2);
    uint64_t dev = 0, contig = 0;
    REQUIRE(famfs_direct_resolve(&f, 0, &dev, &contig) == 0);
    CHECK(dev == 8388608);
    CHECK(contig == 2 * M2);
    REQUIRE(famfs_direct_resolve(&f, 2 * M2 + 5, &dev, &contig) == 0);
    CHECK(dev == M2 + 5);
    CHECK(contig == M2 - 5);
    CHECK(famfs_direct_resolve(&f, 3 * M2, &dev, &contig) == FAMFS_DIRECT_RANGE);
}

TEST_CASE("fmap JSON: striped file resolves chunk by chunk") {
    auto f = parse_ok(R"( { "size" : 16777216, "ext_type": "interleave", "nstrips": 2,
        "chunk_size": 2097152, "path": "we\"ird \\ \"size\":1",
        "extents": [ {"offset": 1073741824, "len": 8388608}, {"offset": 2147483648, "len": 8388608} ] } )");
    CHECK(f.interleaved == 1);
    CHECK(f.capacity == 16 * (1u << 20));
    uint64_t dev = 0, contig = 0;
    REQUIRE(famfs_direct_resolve(&f, M2 + 7, &dev, &contig) == 0);  // chunk 1: strip 1, row 0
    CHECK(dev == 2147483648ULL + 7);
    REQUIRE(famfs_direct_resolve(&f, 2 * M2, &dev, &contig) == 0);  // chunk 2: strip 0, row 1
    CHECK(dev == 1073741824ULL + M2);
    CHECK(contig == M2);
}

TEST_CASE("fmap JSON: what cannot be served is refused") {
    CHECK(parse("") == FAMFS_DIRECT_BAD_FMAP);
    CHECK(parse("{") == FAMFS_DIRECT_BAD_FMAP);
    CHECK(parse(R"({"ext_type":"simple","extents":[],"size":1})") == FAMFS_DIRECT_BAD_FMAP);
    // unaligned extent
    CHECK(parse(R"({"ext_type":"simple","extents":[{"len":4096,"offset":0}],"size":1})") ==
          FAMFS_DIRECT_BAD_FMAP);
    // size beyond the extents
    CHECK(parse(R"({"ext_type":"simple","extents":[{"len":2097152,"offset":0}],"size":2097153})") ==
          FAMFS_DIRECT_BAD_FMAP);
    // unknown type, chunk not 2 MiB multiple
    CHECK(parse(R"({"ext_type":"other","extents":[{"len":2097152,"offset":0}],"size":1})") ==
          FAMFS_DIRECT_BAD_FMAP);
    CHECK(
        parse(
            R"({"ext_type":"interleave","chunk_size":4096,"extents":[{"len":2097152,"offset":0}],"size":1})") ==
        FAMFS_DIRECT_BAD_FMAP);
    // negative and fractional numbers
    CHECK(parse(R"({"ext_type":"simple","extents":[{"len":2097152,"offset":0}],"size":-1})") ==
          FAMFS_DIRECT_BAD_FMAP);
    CHECK(parse(R"({"ext_type":"simple","extents":[{"len":2097152,"offset":0}],"size":1.5})") ==
          FAMFS_DIRECT_BAD_FMAP);
    // 17 extents
    std::string many = R"({"ext_type":"simple","size":1,"extents":[)";
    for (int i = 0; i < 17; ++i)
        many += std::string(i ? "," : "") + R"({"len":2097152,"offset":0})";
    CHECK(parse(many + "]}") == FAMFS_DIRECT_BAD_FMAP);
}

TEST_CASE("map_fd lays scattered extents into one aligned range") {
    char path[] = "/tmp/famfs-direct-unit.XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    unlink(path);
    REQUIRE(ftruncate(fd, 8 * M2) == 0);
    // Each 2 MiB unit of the "device" starts with its unit number.
    for (uint64_t u = 0; u < 8; ++u) REQUIRE(pwrite(fd, &u, sizeof u, u * M2) == sizeof u);
    auto f = parse_ok(
        R"({"ext_type":"simple","extents":[{"len":4194304,"offset":10485760},{"len":2097152,"offset":2097152}],"size":6291456})");
    famfs_direct_mapping m;
    REQUIRE(famfs_direct_map_fd(&f, fd, 4096, 3 * M2 - 8192, PROT_READ, MAP_SHARED, 0, nullptr,
                                &m) == FAMFS_DIRECT_OK);
    CHECK(reinterpret_cast<uintptr_t>(m.base) % M2 == 0);
    CHECK(m.base_len == 3 * M2);
    CHECK(static_cast<char*>(m.addr) == static_cast<char*>(m.base) + 4096);
    const auto* b = static_cast<const uint64_t*>(m.base);
    CHECK(b[0] == 5);
    CHECK(b[M2 / 8] == 6);
    CHECK(b[2 * M2 / 8] == 1);
    CHECK(famfs_direct_unmap(&m) == 0);
    // Past the extents: refused, nothing mapped.
    CHECK(famfs_direct_map_fd(&f, fd, 2 * M2, 2 * M2, PROT_READ, MAP_SHARED, 0, nullptr, &m) ==
          FAMFS_DIRECT_RANGE);
    CHECK(famfs_direct_map_fd(&f, fd, 100, 4096, PROT_READ, MAP_SHARED, 0, nullptr, &m) ==
          FAMFS_DIRECT_RANGE);
    close(fd);
}

TEST_CASE("probe says why an ordinary file is not served") {
    int fd = open("/proc/self/exe", O_RDONLY);
    famfs_direct_file f;
    int why = famfs_direct_probe(fd, &f, nullptr);
    CHECK((why == FAMFS_DIRECT_NOT_FAMFS || why == FAMFS_DIRECT_NOT_REGULAR));
    close(fd);
    CHECK(std::string(famfs_direct_why_str(FAMFS_DIRECT_PRIVATE)) == "MAP_PRIVATE");
}

TEST_CASE("mount mode comes from the stats xattr: famfs mode is declined") {
    // tmpfs keeps user xattrs (Linux >= 6.6): a stand-in for a mount root.
    char dir[] = "/dev/shm/famfs-direct-mode.XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    famfs_direct_mount m{};
    std::snprintf(m.mountpoint, sizeof m.mountpoint, "%s", dir);
    const std::string famfs = R"({"coherent":true,"mode":"famfs","requests":{"read":0}})";
    if (setxattr(dir, "user.famfs.stats", famfs.data(), famfs.size(), 0) != 0) {
        WARN("SKIP: this tmpfs keeps no user xattrs");
        rmdir(dir);
        return;
    }
    famfs_direct_mount_mode(&m);
    CHECK(m.famfs_mode == 1);
    CHECK(m.coherent == 1);
    const std::string compat = R"({"coherent":false,"mode":"compat","mode_reason":"famfs"})";
    REQUIRE(setxattr(dir, "user.famfs.stats", compat.data(), compat.size(), 0) == 0);
    famfs_direct_mount_mode(&m);
    CHECK(m.famfs_mode == 0);
    CHECK(m.coherent == 0);
    removexattr(dir, "user.famfs.stats");
    famfs_direct_mount_mode(&m);  // no xattr: compat, not coherent (reads invalidate)
    CHECK(m.famfs_mode == 0);
    rmdir(dir);
}
