// Corruption sweep, daemon half (issue 11): the image of corruption_sweep.cc
// (MKDIR, FILE simple, FILE interleaved, ADD_DAXDEV, FILE), every byte of
// the superblock, the log header and entries 0-3 flipped (all 8 bits, then
// the low bit), and the daemon's op layer (FsState, what every FUSE request
// and GET_FMAP runs) driven over it two ways:
//   open:  a daemon starting on the damaged image (it may refuse to start,
//          with a one-line error), then every op on every inode;
//   live:  a daemon started on the clean image, the flip made under it, then
//          every op: it keeps serving, or stops with EIO and a reason.
// Every op on every inode: readdir+lookup of the whole tree, getattr, open,
// read of every byte range, the fmap xattr, GET_FMAP encoded for every
// protocol revision, statfs, stats. Nothing may crash or throw out of an op;
// a read must return only ranges inside the device.
//   daemon_sweep
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>

#include "famfs/crc.h"
#include "famfs/error.h"
#include "famfs/fs.h"
#include "famfs/uuid.h"
#include "fs_state.h"
#include "sweep_image.h"
#include "kernel_proto_fmap.h"

using namespace famfs;
using famfs::daemon::DirEntry;
using famfs::daemon::FsState;
using famfs::daemon::StateOptions;

namespace {

uint64_t g_ops = 0, g_violations = 0;

void violation(const std::string& what) {
    ++g_violations;
    fprintf(stderr, "VIOLATION: %s\n", what.c_str());
}

// Every op on every inode reachable from the root.
void exercise(FsState& s, uint64_t dev_size) {
    std::vector<uint64_t> dirs = {kRootIno};
    std::vector<uint64_t> files;
    while (!dirs.empty()) {
        const uint64_t d = dirs.back();
        dirs.pop_back();
        std::vector<std::string> names;
        ++g_ops;
        if (!s.opendir(d).ok()) continue;
        (void)s.readdir(d, 0, true, [&](const DirEntry& de) {
            if (de.name != "." && de.name != "..") names.emplace_back(de.name);
            return true;
        });
        for (const std::string& n : names) {
            fuse_entry_param e;
            ++g_ops;
            if (!s.lookup(d, n, e).ok()) continue;
            (S_ISDIR(e.attr.st_mode) ? dirs : files).push_back(e.ino);
            s.forget(e.ino, 2);
        }
    }
    struct stat st;
    std::string v;
    for (uint64_t f : files) {
        g_ops += 5;
        if (!s.getattr(f, st).ok() || !s.open(f, O_RDONLY).ok()) continue;
        (void)s.getxattr(f, "user.famfs.fmap", v);
        for (uint64_t off = 0; off < static_cast<uint64_t>(st.st_size); off += 1 << 20) {
            std::vector<iovec> iov;
            if (!s.read(f, off, 1 << 20, iov).ok()) break;
            for (const iovec& io : iov) {
                volatile uint8_t x = *static_cast<uint8_t*>(io.iov_base);  // touch it
                (void)x;
            }
        }
        kernel_proto::FmapInfo info;
        if (s.fmap_for(f, info).ok() && info.regular)
            for (const kernel_proto::Revision* rev : kernel_proto::kRevisions) {
                kernel_proto::WireMap w;
                std::vector<uint8_t> out;
                if (kernel_proto::to_wire(info, w).ok()) (void)kernel_proto::encode_fmap(*rev, w, out);
            }
    }
    struct statvfs sv;
    (void)s.statfs(sv);
    (void)s.getxattr(kRootIno, "user.famfs.stats", v);
    (void)s.refresh_if_needed();
    g_ops += 3;
    (void)dev_size;
}

}  // namespace

int main() {
    spdlog::set_level(spdlog::level::off);  // 224 "stopped serving" lines say nothing new
    const uint64_t dev_size = 8ULL << 30;
    const sweep::Image im = sweep::make_image("famfs-dsweep", dev_size);
    const std::string &dir = im.dir, &path = im.path, &cuuid = im.client_uuid;
    StateOptions so;
    so.system_uuid_file = cuuid;
    so.read_only = true;
    Device dev = Device::open(path, Device::Access::ReadWrite);

    struct Region {
        const char* name;
        uint64_t off;
        size_t len;
    };
    const Region regions[] = {
        {"superblock", 0, sizeof(Superblock)},
        {"log header", kLogOffset, sizeof(LogHeader)},
        {"entry 0 (MKDIR)", kLogOffset + entry_offset(0), sizeof(LogEntry)},
        {"entry 1 (FILE simple)", kLogOffset + entry_offset(1), sizeof(LogEntry)},
        {"entry 2 (FILE interleaved)", kLogOffset + entry_offset(2), sizeof(LogEntry)},
        {"entry 3 (ADD_DAXDEV)", kLogOffset + entry_offset(3), sizeof(LogEntry)},
    };
    uint64_t flips = 0, refused = 0, started = 0, live_stopped = 0, live_serving = 0, thrown = 0;
    printf("%-28s %6s %16s %22s\n", "region", "flips", "open: started", "live: still serving");
    for (const Region& rg : regions) {
        uint64_t r_started = 0, r_serving = 0;
        for (size_t off = 0; off < rg.len; ++off) {
            for (uint8_t mask : {uint8_t(0xff), uint8_t(0x01)}) {
                uint8_t* b = dev.base() + rg.off + off;
                ++flips;
                // open: the daemon starts on the damaged image.
                *b ^= mask;
                try {
                    FsState s(path, so);
                    ++started;
                    ++r_started;
                    exercise(s, dev_size);
                } catch (const Error& e) {
                    ++refused;  // refused to start, with a message
                    if (std::string(e.what()).find('\n') != std::string::npos)
                        violation(std::string("multi-line refusal: ") + e.what());
                } catch (const std::exception& e) {
                    ++thrown;
                    violation(std::string(rg.name) + ": open threw " + e.what());
                }
                *b ^= mask;
                // live: the flip lands under a running daemon.
                try {
                    FsState s(path, so);
                    exercise(s, dev_size);
                    *b ^= mask;
                    exercise(s, dev_size);
                    *b ^= mask;
                    if (s.serving()) {
                        ++live_serving;
                        ++r_serving;
                    } else {
                        ++live_stopped;
                        if (s.stopped_reason().empty()) violation("stopped without a reason");
                    }
                } catch (const std::exception& e) {
                    ++thrown;
                    violation(std::string(rg.name) + ": live op threw " + e.what());
                }
            }
        }
        printf("%-28s %6zu %9llu/%-6zu %15llu/%-6zu\n", rg.name, rg.len * 2,
               (unsigned long long)r_started, rg.len * 2, (unsigned long long)r_serving, rg.len * 2);
    }
    printf("flips %llu; open: started %llu, refused %llu; live: kept serving %llu, stopped %llu; "
           "ops %llu; exceptions %llu; violations %llu\n",
           (unsigned long long)flips, (unsigned long long)started, (unsigned long long)refused,
           (unsigned long long)live_serving, (unsigned long long)live_stopped,
           (unsigned long long)g_ops, (unsigned long long)thrown,
           (unsigned long long)g_violations);
    std::filesystem::remove_all(dir);
    const bool ok = g_violations == 0;
    printf("daemon sweep: %s\n", ok ? "PASS (no crash, no exception out of an op)" : "FAIL");
    return ok ? 0 : 1;
}
