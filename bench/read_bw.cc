// famfs-bench-read: read bandwidth through a famfs mount, as ratios against
// the raw device mapping and tmpfs measured in the same run (absolute numbers
// on a shared VM are noise; ratios inside one run are not).
//
//   famfs-bench-read MOUNTED_FILE TMPFS_FILE [--passes N] [--bs BYTES]
//
// MOUNTED_FILE is a file under a famfs mount; TMPFS_FILE a file of the same
// size on tmpfs. Each pass opens the file afresh (famfs-fused sets no
// keep_cache, so every open starts with an empty page cache: the pass goes
// through the daemon). Best of N passes is reported.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "famfs/error.h"
#include "famfs/fs.h"
#include "famfs/mountinfo.h"

namespace {

using Clock = std::chrono::steady_clock;

double best_gbps(int passes, uint64_t bytes, const std::function<void()>& fn) {
    double best = 0;
    for (int i = 0; i < passes; ++i) {
        auto t0 = Clock::now();
        fn();
        double s = std::chrono::duration<double>(Clock::now() - t0).count();
        best = std::max(best, bytes / s / 1e9);
    }
    return best;
}

void die(const std::string& what) {
    std::fprintf(stderr, "famfs-bench-read: %s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(1);
}

uint64_t file_size(const std::string& path) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) die("stat " + path);
    return static_cast<uint64_t>(st.st_size);
}

// read() the whole file in `bs` requests, from a fresh open.
void read_file(const std::string& path, std::vector<char>& buf) {
    int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) die("open " + path);
    ssize_t n;
    while ((n = read(fd, buf.data(), buf.size())) > 0) {
    }
    if (n < 0) die("read " + path);
    close(fd);
}

// mmap the whole file and copy it out in `bs` pieces, from a fresh open.
void mmap_file(const std::string& path, std::vector<char>& buf) {
    int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) die("open " + path);
    const uint64_t size = file_size(path);
    void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) die("mmap " + path);
    const char* src = static_cast<const char*>(p);
    for (uint64_t off = 0; off < size; off += buf.size())
        std::memcpy(buf.data(), src + off, std::min<uint64_t>(buf.size(), size - off));
    munmap(p, size);
    close(fd);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> pos;
    int passes = 3;
    size_t bs = 1 << 20;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--passes" && i + 1 < argc)
            passes = std::atoi(argv[++i]);
        else if (a == "--bs" && i + 1 < argc)
            bs = std::strtoull(argv[++i], nullptr, 0);
        else
            pos.push_back(a);
    }
    if (pos.size() != 2) {
        std::fprintf(stderr,
                     "usage: famfs-bench-read MOUNTED_FILE TMPFS_FILE [--passes N] [--bs B]\n");
        return 2;
    }
    const std::string famfs_file = pos[0], tmpfs_file = pos[1];
    try {
        famfs::Target t = famfs::resolve_target(famfs_file, "");
        auto fs = famfs::Filesystem::open(t.device, {famfs::Device::Access::ReadOnly, {}});
        const famfs::Node* n = fs->tree().resolve(t.relpath);
        if (!n || n->is_dir()) famfs::fail(ENOENT, "{} is not a famfs file", famfs_file);
        const uint64_t size = n->size;
        if (file_size(tmpfs_file) != size)
            famfs::fail(EINVAL, "{} must have the famfs file's size ({})", tmpfs_file, size);
        std::vector<char> buf(bs);
        // Fault the raw mapping in once so the baseline is the memory, not first-touch.
        fs->for_each_range(*n, 0, size, [&](uint8_t* p, uint64_t len) {
            for (uint64_t o = 0; o < len; o += 4096) buf[0] ^= static_cast<char>(p[o]);
        });
        const double raw = best_gbps(passes, size, [&] {
            fs->for_each_range(*n, 0, size, [&](uint8_t* p, uint64_t len) {
                for (uint64_t o = 0; o < len; o += bs)
                    std::memcpy(buf.data(), p + o, std::min<uint64_t>(bs, len - o));
            });
        });
        const double mnt_read = best_gbps(passes, size, [&] { read_file(famfs_file, buf); });
        const double mnt_mmap = best_gbps(passes, size, [&] { mmap_file(famfs_file, buf); });
        read_file(tmpfs_file, buf);  // tmpfs pages exist from here on
        const double tmp_read = best_gbps(passes, size, [&] { read_file(tmpfs_file, buf); });
        const double tmp_mmap = best_gbps(passes, size, [&] { mmap_file(tmpfs_file, buf); });

        std::printf("file: %s (%.0f MiB), request size %zu KiB, best of %d passes\n",
                    famfs_file.c_str(), size / 1048576.0, bs >> 10, passes);
        std::printf("  %-34s %8.2f GB/s\n", "raw device mapping (memcpy)", raw);
        std::printf("  %-34s %8.2f GB/s\n", "famfs mount, read()", mnt_read);
        std::printf("  %-34s %8.2f GB/s\n", "famfs mount, mmap", mnt_mmap);
        std::printf("  %-34s %8.2f GB/s\n", "tmpfs, read()", tmp_read);
        std::printf("  %-34s %8.2f GB/s\n", "tmpfs, mmap", tmp_mmap);
        std::printf(
            "ratios: read()/raw %.2f  read()/tmpfs-read %.2f  mmap/raw %.2f  "
            "mmap/tmpfs-mmap %.2f\n",
            mnt_read / raw, mnt_read / tmp_read, mnt_mmap / raw, mnt_mmap / tmp_mmap);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "famfs-bench-read: %s\n", e.what());
        return 1;
    }
    return 0;
}
