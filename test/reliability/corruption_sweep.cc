// Corruption sweep (issue 11): every byte of the superblock, the log header
// and one log entry of each type, flipped (all 8 bits, then the low bit),
// checked with fsck and with a client replay + read of every file.
//
// For each byte it records whether the format covers it with a crc, and
// whether fsck names the damage at the right place (superblock / log header /
// entry N, with a field). It fails unless fsck detects 100% of crc-covered
// flips at the right place and nothing crashes. Uncovered bytes are listed
// with what (if anything) catches them. Prints a table for docs/reliability.md.
//   corruption_sweep [--verbose]
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>

#include "famfs/crc.h"
#include "famfs/error.h"
#include "famfs/fs.h"
#include "famfs/fsck.h"
#include "famfs/uuid.h"
#include "sweep_image.h"

using namespace famfs;

namespace {

struct Region {
    std::string name;
    uint64_t dev_off;  // where its bytes start on the device
    size_t len;
    size_t crc_covered;  // bytes [0, crc_covered) are under the crc
    size_t crc_end;      // [crc_covered, crc_end) is the crc itself
    uint64_t index;      // entry index, or kNoLogIndex
    std::string where;   // fsck's "where" for this region
};

// The field a byte belongs to, for the list of uncovered bytes.
std::string sb_field(size_t off) {
    if (off < 96) return "covered";
    if (off < 104) return "crc";
    if (off < 108) return "sb_flags";
    if (off < 112) return "pad0";
    if (off < 120) return "daxdev.size";
    if (off < 136) return "daxdev.uuid";
    return "daxdev.name";
}
std::string hdr_field(size_t off) {
    if (off < 24) return "covered";
    if (off < 32) return "crc";
    if (off < 40) return "next_seqnum";
    return "next_index";
}

struct Tally {
    uint64_t covered = 0, covered_detected = 0, covered_right_place = 0;
    uint64_t uncovered = 0, uncovered_detected = 0;
    std::map<std::string, std::pair<uint64_t, uint64_t>> uncovered_by_field;  // flips, detected
};

}  // namespace

int main(int argc, char** argv) {
    const bool verbose = argc > 1 && std::string(argv[1]) == "--verbose";
    // Entries 0 MKDIR, 1 FILE simple, 2 FILE interleaved, 3 ADD_DAXDEV, 4 FILE.
    const sweep::Image im = sweep::make_image("famfs-sweep", 8ULL << 30);  // 8 GiB for striping
    const std::string &dir = im.dir, &path = im.path, &cuuid = im.client_uuid;
    Device dev = Device::open(path, Device::Access::ReadWrite);
    {
        FsckReport r = fsck(dev, {0, std::chrono::milliseconds(0)});
        if (!r.clean()) {
            for (auto& p : r.problems) fprintf(stderr, "baseline: %s\n", describe(p).c_str());
            return 1;
        }
    }

    std::vector<Region> regions = {
        {"superblock", 0, sizeof(Superblock), 96, 104, kNoLogIndex, "superblock"},
        {"log header", kLogOffset, sizeof(LogHeader), 24, 32, kNoLogIndex, "log header"},
    };
    const char* names[] = {"entry 0 (MKDIR)", "entry 1 (FILE simple)", "entry 2 (FILE interleaved)",
                           "entry 3 (ADD_DAXDEV)"};
    for (uint64_t i = 0; i < 4; ++i)
        regions.push_back({names[i], kLogOffset + entry_offset(i), sizeof(LogEntry), 536, 544, i,
                           "entry " + std::to_string(i)});

    uint64_t crashes = 0, flips = 0, client_opens = 0, client_refusals = 0;
    printf("%-28s %8s %10s %10s %10s %10s\n", "region", "flips", "covered", "detected",
           "uncovered", "detected");
    bool ok = true;
    for (const Region& rg : regions) {
        Tally t;
        for (size_t off = 0; off < rg.len; ++off) {
            for (uint8_t mask : {uint8_t(0xff), uint8_t(0x01)}) {
                uint8_t* b = dev.base() + rg.dev_off + off;
                *b ^= mask;
                ++flips;
                FsckReport r;
                try {
                    r = fsck(dev, {0, std::chrono::milliseconds(0)});
                } catch (...) {
                    ++crashes;  // fsck must never throw on damage
                }
                // A client replays the damaged device and reads every file.
                try {
                    auto fs = Filesystem::open(path, {Device::Access::ReadOnly, cuuid});
                    ++client_opens;
                    char buf[4096];
                    fs->tree().for_each_file([&](const Node& f) {
                        for (uint64_t o = 0; o < f.size; o += 1 << 20) fs->read_data(f, o, buf, 8);
                    });
                } catch (const Error&) {
                    ++client_refusals;  // refused with a message: fine
                }
                *b ^= mask;

                bool detected = !r.problems.empty();
                bool right = false;
                for (const FsckProblem& p : r.problems)
                    right |= p.where == rg.where && !p.field.empty() &&
                             (rg.index == kNoLogIndex || p.index == rg.index);
                const bool covered = off < rg.crc_end;
                if (covered) {
                    ++t.covered;
                    t.covered_detected += detected;
                    t.covered_right_place += right;
                    if (!right) {
                        ok = false;
                        fprintf(stderr, "MISSED: %s byte %zu mask 0x%02x\n", rg.name.c_str(), off,
                                mask);
                    }
                } else {
                    ++t.uncovered;
                    t.uncovered_detected += detected;
                    std::string field = rg.index == kNoLogIndex
                                            ? (rg.dev_off == 0 ? sb_field(off) : hdr_field(off))
                                            : "?";
                    auto& [n, d] = t.uncovered_by_field[field];
                    ++n;
                    d += detected;
                }
                if (verbose)
                    for (const FsckProblem& p : r.problems)
                        printf("  %s+%zu^%02x: %s\n", rg.name.c_str(), off, mask,
                               describe(p).c_str());
            }
        }
        printf("%-28s %8zu %4llu/%-5llu %4llu/%-5llu %10llu %10llu\n", rg.name.c_str(), rg.len * 2,
               (unsigned long long)t.covered_right_place, (unsigned long long)t.covered,
               (unsigned long long)t.covered_detected, (unsigned long long)t.covered,
               (unsigned long long)t.uncovered, (unsigned long long)t.uncovered_detected);
        for (auto& [field, nd] : t.uncovered_by_field)
            printf("    not under a crc: %-14s %4llu flips, %4llu noticed by fsck\n", field.c_str(),
                   (unsigned long long)nd.first, (unsigned long long)nd.second);
    }
    printf("flips %llu; client opens %llu (refused %llu); crashes %llu\n",
           (unsigned long long)flips, (unsigned long long)client_opens,
           (unsigned long long)client_refusals, (unsigned long long)crashes);
    std::filesystem::remove_all(dir);
    if (crashes) ok = false;
    printf("%s\n", ok ? "sweep: PASS (every crc-covered flip named at its index and field)"
                      : "sweep: FAIL");
    return ok ? 0 : 1;
}
