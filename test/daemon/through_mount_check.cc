// famfs-through-mount-check DEVICE MOUNTPOINT RELPATH SEED
// Opens the filesystem on DEVICE through MOUNTPOINT's .meta files
// (Filesystem::Options::through_mount, as the CLI does for an fsdev_dax
// device) and checks it against a raw open of DEVICE: same fs uuid, same log
// index and files, and RELPATH's bytes, reached through the file mapped at
// its device offsets (map_file_through_mount), hold the pattern of
// `famfs creat -S SEED`. Exit 0 when all hold; else one line on stderr.
//
// famfs-through-mount-check --write DEVICE MOUNTPOINT
// Opens it through MOUNTPOINT for appending (Device::Access::ReadWrite, as
// `famfs creat` does) and prints this host's role; on failure the error's
// one line on stderr, exit 1.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "famfs/error.h"
#include "famfs/fs.h"
#include "famfs/pattern.h"

int main(int argc, char** argv) {
    if (argc == 4 && std::string(argv[1]) == "--write") {
        try {
            famfs::Filesystem::Options opt;
            opt.access = famfs::Device::Access::ReadWrite;
            opt.through_mount = argv[3];
            auto fs = famfs::Filesystem::open(argv[2], opt);
            std::printf("%s through %s opened for writing: %s\n", argv[2], argv[3],
                        fs->role() == famfs::Role::Owner ? "owner" : "client");
            return 0;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "famfs-through-mount-check: %s\n", e.what());
            return 1;
        }
    }
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s DEVICE MOUNTPOINT RELPATH SEED | --write DEVICE MOUNTPOINT\n", argv[0]);
        return 2;
    }
    try {
        famfs::Filesystem::Options raw_opt;
        raw_opt.identify_host = false;
        auto raw = famfs::Filesystem::open(argv[1], raw_opt);
        famfs::Filesystem::Options opt = raw_opt;
        opt.through_mount = argv[2];
        auto fs = famfs::Filesystem::open(argv[1], opt);
        if (fs->device().mountpoint() != argv[2]) throw std::runtime_error("not opened through the mount");
        if (!(fs->superblock().fs_uuid == raw->superblock().fs_uuid))
            throw std::runtime_error("fs uuid differs from the raw device's");
        if (fs->tree().next_index() != raw->tree().next_index() ||
            fs->tree().file_count() != raw->tree().file_count())
            throw std::runtime_error("the log replayed through the mount differs");
        const famfs::Node* n = fs->tree().resolve(argv[3]);
        if (!n || n->is_dir()) throw std::runtime_error(std::string("no file ") + argv[3]);
        const uint64_t seed = std::strtoull(argv[4], nullptr, 0);
        uint64_t off = 0;
        bool ok = true;
        fs->for_each_range(*n, 0, n->size, [&](uint8_t* p, uint64_t len) {
            if (famfs::check_pattern(p, off, len, seed)) ok = false;
            off += len;
        });
        if (!ok || off != n->size) throw std::runtime_error("pattern mismatch through the mount");
        std::printf("%s through %s: %zu files, log index %llu, %s verified (%llu bytes)\n",
                    argv[1], argv[2], fs->tree().file_count(),
                    static_cast<unsigned long long>(fs->tree().next_index()), argv[3],
                    static_cast<unsigned long long>(off));
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "famfs-through-mount-check: %s\n", e.what());
        return 1;
    }
}
