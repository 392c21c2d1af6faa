// The daemon's real ops table (daemon/ops.cc over FsState) behind a
// kernel_proto::Connection, driven by the scripted kernel and wired as
// daemon.cc wires it (docs/kernel-protocol.md, "Wiring"): FsState is the
// connection's FmapSource, and reads the mode back from the connection.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "fs_state.h"
#include "harness.h"
#include "ops.h"

using namespace famfs::ktest;
namespace kp = famfs::kernel_proto;
namespace dm = famfs::daemon;

namespace {

constexpr uint64_t MiB = 1ULL << 20;

struct Daemon {
    explicit Daemon(const TestImage& img) : state(img.path, options(img)) { ctx.state = &state; }
    static dm::StateOptions options(const TestImage& img) {
        dm::StateOptions o;
        o.system_uuid_file = img.uuid_file;
        return o;
    }
    // A session over the daemon's ops (or `ops`), wired like daemon.cc.
    std::unique_ptr<Session> session(kp::Connection::Config cfg,
                                     const fuse_lowlevel_ops& ops = dm::lowlevel_ops()) {
        auto s = std::make_unique<Session>(ops, &ctx, state, std::move(cfg));
        state.set_connection(&s->io());
        ctx.kernel = &s->io();
        return s;
    }
    dm::FsState state;
    dm::OpsContext ctx;
};

uint32_t error_of(const Bytes& r) { return get_u32(r, 4); }

}  // namespace

TEST_CASE("daemon ops in famfs mode", "[kernel][daemon][V10]") {
    TestImage img;
    Daemon d(img);
    Bytes base;
    {
        kp::Connection::Config compat;
        compat.force_compat = true;
        base = d.session(compat)->call(init_request(kV10Kernel));
    }
    kp::Connection::Config cfg;
    cfg.revision = kp::RevisionChoice::V10;
    cfg.device_is_dax = true;
    auto s = d.session(cfg);
    CHECK(s->call(init_request(kV10Kernel)) == famfs_init_reply(base, 46, 1u << 11));
    CHECK(d.state.mode() == "famfs");

    const uint64_t f1 = img.file_index("dir1/f1") + 2;
    Bytes e = s->call(request(LOOKUP, 2, 2, name_body("f1")));
    REQUIRE(error_of(e) == 0);
    CHECK(get_u64(e, 16) == f1);
    CHECK(error_of(s->call(request(OPEN, 3, f1, open_body(0)))) == 0);
    CHECK(s->call(request(GET_FMAP, 4, f1)) ==
          ok_reply(4, img.expected_fmap(img.file_index("dir1/f1"))));
    const uint64_t st = img.file_index("striped") + 2;
    CHECK(s->call(request(GET_FMAP, 5, st)) ==
          ok_reply(5, img.expected_fmap(img.file_index("striped"))));
    // The device the daemon was started on is what the kernel should open.
    CHECK(s->call(request(GET_DAXDEV, 6, 0)) == ok_reply(6, daxdev_reply(0, img.path)));
    CHECK(s->call(request(READ, 7, f1, read_body(0, 0, 4096))) == error_reply(7, -EIO));
    CHECK(s->io().counters().stray_data_io == 1);

    // Created by the CLI after INIT: the daemon refreshes and serves its map.
    auto cli = famfs::Filesystem::open(img.path, {famfs::Device::Access::ReadWrite, img.uuid_file});
    cli->create_file({"late", 6 * MiB, 0644, 0, 0, {}});
    const uint64_t late = img.file_index("late");
    CHECK(s->call(request(GET_FMAP, 8, late + 2)) == ok_reply(8, img.expected_fmap(late)));
    CHECK(error_of(s->call(request(DESTROY, 9, 0))) == 0);
}

TEST_CASE("daemon ops in compat mode, as before", "[kernel][daemon][compat]") {
    TestImage img;
    Daemon d(img);
    kp::Connection::Config cfg;  // auto on this host: no famfs in the kernel
    cfg.device_is_dax = true;
    auto s = d.session(cfg);
    Bytes init = s->call(init_request(kV10Kernel));
    CHECK((get_u32(init, 16 + 32) & 1u << 11) == 0);
    CHECK(d.state.mode() == "compat");
    const uint64_t f1 = img.file_index("dir1/f1") + 2;
    REQUIRE(error_of(s->call(request(LOOKUP, 2, 2, name_body("f1")))) == 0);
    Bytes o = s->call(request(OPEN, 3, f1, open_body(0)));
    REQUIRE(error_of(o) == 0);
    const uint64_t fh = get_u64(o, 16);
    const uint64_t dev = get_u64(img.expected_fmap(img.file_index("dir1/f1")), 32 + 8);
    CHECK(s->call(request(READ, 4, f1, read_body(fh, MiB, 8192))) ==
          ok_reply(4, img.read_device(dev + MiB, 8192)));
    CHECK(s->call(request(GET_FMAP, 5, f1)) == error_reply(5, -ENOSYS));
    CHECK(s->io().counters().stray_data_io == 0);
}

namespace {

// The daemon's init, then a capability no kernel offers: libfuse answers the
// INIT with EPROTO, after the layer has chosen famfs for it.
void init_asking_too_much(void* userdata, fuse_conn_info* conn) {
    dm::lowlevel_ops().init(userdata, conn);
    conn->want |= 1u << 31;
}

}  // namespace

TEST_CASE("stats after libfuse refuses a famfs INIT say compat", "[kernel][daemon][V10]") {
    TestImage img;
    Daemon d(img);
    fuse_lowlevel_ops ops = dm::lowlevel_ops();
    ops.init = init_asking_too_much;
    kp::Connection::Config cfg;
    cfg.revision = kp::RevisionChoice::V10;
    cfg.device_is_dax = true;
    auto s = d.session(cfg, ops);
    Bytes r = s->call(init_request(kV10Kernel));
    CHECK(static_cast<int32_t>(error_of(r)) == -EPROTO);
    // One owner of the mode: the connection fell back, and the stats say so.
    CHECK_FALSE(s->io().famfs_mode());
    CHECK(d.state.mode() == "compat");
    const auto stats = nlohmann::json::parse(d.state.stats_json());
    CHECK(stats["mode"] == "compat");
    CHECK(stats["mode_reason"].get<std::string>().find("libfuse did not accept the INIT") !=
          std::string::npos);
    CHECK(stats["kernel_protocol"]["revision"] == "");
}
