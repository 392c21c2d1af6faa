// The GET_FMAP / GET_DAXDEV encoders and the revision rule, as pure functions.
// Expected bytes come from wire.h (documented offsets), not the daemon's structs.
#include <catch2/catch.hpp>

#include "kernel_proto_session.h"
#include "wire.h"

using namespace famfs::ktest;
namespace kp = famfs::kernel_proto;
namespace proto = famfs::kernel_proto;

namespace {

constexpr uint64_t MiB = 1ULL << 20;

famfs::SimpleExtent ext(uint64_t devindex, uint64_t off, uint64_t len) {
    return famfs::SimpleExtent{devindex, off, len};
}

kp::WireMap simple_map(size_t n, uint64_t file_size) {
    kp::WireMap m;
    m.file_size = file_size;
    for (size_t i = 0; i < n; ++i) m.simple.push_back(ext(0, (100 + 4 * i) * MiB, 2 * MiB));
    return m;
}

kp::WireMap interleaved_map(size_t niext, size_t nstrips) {
    kp::WireMap m;
    m.interleaved = true;
    for (size_t i = 0; i < niext; ++i) {
        kp::WireMap::Interleaved ie{2 * MiB, nstrips * 2 * MiB, {}};
        for (size_t s = 0; s < nstrips; ++s)
            ie.strips.push_back(ext(0, (1024 + 64 * i + 2 * s) * MiB, 2 * MiB));
        m.iext.push_back(ie);
        m.file_size += ie.nbytes;
    }
    return m;
}

Bytes encode(const proto::Revision& rev, const kp::WireMap& m, int expect_rc = 0) {
    Bytes out;
    const famfs::Status st = kp::encode_fmap(rev, m, out);
    const int rc = st.ok() ? 0 : -st.err();
    INFO(st.message());
    REQUIRE(rc == expect_rc);
    if (rc) {
        REQUIRE(out.empty());  // never a truncated map
        REQUIRE_FALSE(st.message().empty());
    }
    return out;
}

}  // namespace

TEST_CASE("GET_FMAP simple map at the protocol maximum of 32 extents", "[kernel][fmap]") {
    for (const auto* rev : proto::kRevisions) {
        kp::WireMap m = simple_map(32, 64 * MiB - 5);
        std::vector<Ext> exts;
        for (auto& e : m.simple) exts.push_back({0, e.offset, e.len});
        CHECK(encode(*rev, m) == simple_fmap(64 * MiB - 5, exts));
        CHECK(encode(*rev, m).size() == 32 + 32 * 24);
    }
}

TEST_CASE("GET_FMAP beyond the protocol limits fails whole", "[kernel][fmap]") {
    const auto& rev = proto::kV10;
    encode(rev, simple_map(33, 66 * MiB), -E2BIG);  // 33 extents
    encode(rev, interleaved_map(1, 33), -E2BIG);    // 33 strips
    encode(rev, interleaved_map(1, 32));            // 32 strips: fine
    encode(rev, interleaved_map(5, 32));            // 32 + 5 * 792 bytes: fits a page
    encode(rev, interleaved_map(6, 32), -E2BIG);    // 32 + 6 * 792 bytes: does not
    encode(rev, simple_map(0, 0), -EINVAL);         // no extents
    auto short_map = simple_map(2, 4 * MiB + 1);    // extents short of the file size
    encode(rev, short_map, -EINVAL);
    auto unaligned = simple_map(2, 4 * MiB);
    unaligned.simple[1].offset += 4096;
    encode(rev, unaligned, -EINVAL);
    auto far_device = simple_map(2, 4 * MiB);
    far_device.simple[0].devindex = 64;  // the protocol allows 64 devices
    encode(rev, far_device, -E2BIG);
    auto bad_chunk = interleaved_map(1, 4);
    bad_chunk.iext[0].chunk_size = 3 * MiB;
    encode(rev, bad_chunk, -EINVAL);
}

TEST_CASE("GET_FMAP interleaved map layout", "[kernel][fmap]") {
    kp::WireMap m = interleaved_map(1, 3);
    m.file_size = 5 * MiB;
    std::vector<Ext> strips;
    for (auto& e : m.iext[0].strips) strips.push_back({0, e.offset, e.len});
    CHECK(encode(proto::kProject73, m) == interleaved_fmap(5 * MiB, 2 * MiB, 6 * MiB, strips));
}

TEST_CASE("famfs::Fmap converts to the wire map, .meta file types kept", "[kernel][fmap]") {
    kp::FmapInfo info;
    info.regular = true;
    info.file_type = proto::FileType::Log;
    info.file_size = 8 * MiB;
    info.fmap.ext_type = famfs::ExtentType::Simple;
    info.fmap.count = 1;
    info.fmap.se[0] = ext(0, 2 * MiB, 8 * MiB);
    kp::WireMap w;
    REQUIRE(kp::to_wire(info, w).ok());
    Bytes expect = simple_fmap(8 * MiB, {{0, 2 * MiB, 8 * MiB}});
    expect[0] = 2;  // file_type log
    CHECK(encode(proto::kV10, w) == expect);

    info.fmap.count = 17;  // more than a log entry can hold: corrupt
    CHECK(kp::to_wire(info, w).err() == EINVAL);
}

TEST_CASE("GET_DAXDEV reply", "[kernel][daxdev]") {
    Bytes out;
    REQUIRE(kp::encode_daxdev(3, "/dev/dax1.0", out).ok());
    CHECK(out == daxdev_reply(3, "/dev/dax1.0"));
    CHECK(kp::encode_daxdev(0, std::string(256, 'x'), out).err() == ENAMETOOLONG);
    CHECK(kp::encode_daxdev(0, std::string(255, 'x'), out).ok());
}

TEST_CASE("revision rule: explicit choices", "[kernel][revision]") {
    const kp::KernelEvidence none{};
    kp::InitOffer v10{7, 46, kKernelFlags, kKernelFlags2 | 1u << 11};
    kp::InitOffer p73{7, 47, kKernelFlags, kKernelFlags2 | 1u << 11 | 1u << 12};
    kp::InitOffer mainline73{7, 46, kKernelFlags, kKernelFlags2 | 1u << 11};  // 43 = BUFPOOL
    kp::InitOffer stock{7, 45, kKernelFlags, kKernelFlags2};

    CHECK(kp::choose_revision(v10, kp::RevisionChoice::V10, none).revision == &proto::kV10);
    CHECK(kp::choose_revision(p73, kp::RevisionChoice::Project73, none).revision ==
          &proto::kProject73);
    // A 7.47 kernel's bit 43 is HAS_IO_URING_BUFPOOL: never V10's flag.
    CHECK(kp::choose_revision(p73, kp::RevisionChoice::V10, none).revision == nullptr);
    CHECK(kp::choose_revision(mainline73, kp::RevisionChoice::Project73, none).revision == nullptr);
    CHECK(kp::choose_revision(stock, kp::RevisionChoice::V10, none).revision == nullptr);
    kp::InitOffer no_ext = v10;
    no_ext.flags &= ~(1u << 30);
    CHECK(kp::choose_revision(no_ext, kp::RevisionChoice::V10, none).revision == nullptr);
}

TEST_CASE("revision rule: auto needs famfs symbols and an unambiguous kernel",
          "[kernel][revision]") {
    kp::InitOffer v10{7, 46, kKernelFlags, kKernelFlags2 | 1u << 11};
    kp::InitOffer p73{7, 47, kKernelFlags, kKernelFlags2 | 1u << 11 | 1u << 12};
    const auto A = kp::RevisionChoice::Auto;

    // No famfs in the kernel: bit 43 is someone else's (7.3 mainline).
    auto d = kp::choose_revision(v10, A, {false, 7, 3});
    CHECK(d.revision == nullptr);
    CHECK(d.reason.find("kallsyms") != std::string::npos);

    CHECK(kp::choose_revision(v10, A, {true, 6, 19}).revision == &proto::kV10);
    CHECK(kp::choose_revision(v10, A, {true, 7, 1}).revision == &proto::kV10);
    CHECK(kp::choose_revision(p73, A, {true, 7, 3}).revision == &proto::kProject73);
    // famfs symbols on 7.3 but only bit 43 at 7.46: ambiguous, so compat.
    CHECK(kp::choose_revision(v10, A, {true, 7, 3}).revision == nullptr);
    // This host's kernel (stock, no famfs) gives compat whatever it offers.
    auto here = kp::probe_kernel();
    CHECK_FALSE(here.famfs_symbols);
    CHECK(kp::choose_revision(v10, A, here).revision == nullptr);
}

TEST_CASE("precheck: famfs requested on a kernel without famfs fails in one line",
          "[kernel][revision]") {
    kp::Connection::Config c;
    c.want_famfs = true;
    c.device_is_dax = true;
    const std::string msg = kp::Connection::precheck(c, {false, 6, 18}).message();
    CHECK(msg.find("no famfs support") != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
    c.device_is_dax = false;
    CHECK_FALSE(kp::Connection::precheck(c, {true, 7, 3}).ok());
    c.want_famfs = false;
    CHECK(kp::Connection::precheck(c, {false, 6, 18}).ok());
}
