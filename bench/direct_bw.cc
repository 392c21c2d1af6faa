// famfs-bench-direct: the figures of bench/direct-bandwidth.sh for one way of
// reaching a file's bytes. Prints "METRIC GB/s" lines (best of N passes);
// the script runs it for each path in one run and prints ratios.
//
//   famfs-bench-direct raw FAMFS_FILE [--passes N]   mmap of the device itself
//                                                    (the file's single extent)
//   famfs-bench-direct file FILE [--passes N]        open/mmap/pread of FILE
//                                                    (under `famfs run`: direct)
//   famfs-bench-direct both FAMFS_FILE [--passes N]  both, passes interleaved in
//                                                    one process ("raw-"/"file-")
// Metrics: first-touch (open, mmap, read every byte, munmap), steady (read
// every byte of a mapping already faulted in), copy-1m (memcpy out of the
// mapping in 1 MiB pieces), pread-1m (pread in 1 MiB requests; file only).
// Every pass opens the file afresh, so a compat-mode mount goes to the daemon.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "famfs/direct.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kChunk = 1 << 20;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "famfs-bench-direct: %s: %s\n", what.c_str(), std::strerror(errno));
    std::exit(1);
}

volatile uint64_t g_sink;

// Reads every byte (as 64-bit words): what an application scanning a frame does.
void scan(const uint8_t* p, uint64_t n) {
    const uint64_t* w = reinterpret_cast<const uint64_t*>(p);
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (uint64_t i = 0; i + 4 <= n / 8; i += 4) {
        a += w[i];
        b += w[i + 1];
        c += w[i + 2];
        d += w[i + 3];
    }
    g_sink = a + b + c + d;
}

void copy_out(const uint8_t* p, uint64_t n, std::vector<uint8_t>& buf) {
    for (uint64_t o = 0; o < n; o += kChunk)
        std::memcpy(buf.data(), p + o, std::min<uint64_t>(kChunk, n - o));
}

// A mapping of the file's bytes: of the device (raw) or of the file.
struct Source {
    bool raw = false;
    std::string file, device;
    uint64_t size = 0, dev_off = 0;

    uint8_t* map(int* fd_out) const {
        int fd = open(raw ? device.c_str() : file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) die("open");
        void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, raw ? dev_off : 0);
        if (p == MAP_FAILED) die("mmap");
        *fd_out = fd;
        return static_cast<uint8_t*>(p);
    }
};

// The four measurements of one source; `best` holds the best GB/s so far.
struct Figures {
    double first = 0, steady = 0, copy = 0, pread = 0;
};

void keep(double& best, double v) { best = std::max(best, v); }

double gbps(uint64_t bytes, const std::function<void()>& fn) {
    auto t0 = Clock::now();
    fn();
    return bytes / std::chrono::duration<double>(Clock::now() - t0).count() / 1e9;
}

// One pass of every measurement of `src`.
void one_pass(const Source& src, std::vector<uint8_t>& buf, Figures& f) {
    const uint64_t n = src.size;
    keep(f.first, gbps(n, [&] {
             int fd;
             uint8_t* p = src.map(&fd);
             scan(p, n);
             munmap(p, n);
             close(fd);
         }));
    int fd;
    uint8_t* p = src.map(&fd);
    scan(p, n);  // fault it in
    keep(f.steady, gbps(n, [&] { scan(p, n); }));
    keep(f.copy, gbps(n, [&] { copy_out(p, n, buf); }));
    munmap(p, n);
    close(fd);
    if (!src.raw) {
        keep(f.pread, gbps(n, [&] {
                 int fd2 = open(src.file.c_str(), O_RDONLY | O_CLOEXEC);
                 if (fd2 < 0) die("open");
                 for (uint64_t o = 0; o < n; o += kChunk)
                     if (pread(fd2, buf.data(), std::min<uint64_t>(kChunk, n - o),
                               static_cast<off_t>(o)) <= 0)
                         die("pread");
                 close(fd2);
             }));
    }
}

void print(const char* prefix, const Figures& f) {
    std::printf("%sfirst-touch %.3f\n%ssteady %.3f\n%scopy-1m %.3f\n%spread-1m %.3f\n", prefix,
                f.first, prefix, f.steady, prefix, f.copy, prefix, f.pread);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> pos;
    int passes = 3;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--passes" && i + 1 < argc)
            passes = std::atoi(argv[++i]);
        else
            pos.push_back(a);
    }
    if (pos.size() != 2 || (pos[0] != "raw" && pos[0] != "file" && pos[0] != "both")) {
        std::fprintf(stderr, "usage: famfs-bench-direct raw|file|both FILE [--passes N]\n");
        return 2;
    }
    const std::string mode = pos[0];
    Source file, raw;
    file.file = raw.file = pos[1];
    raw.raw = true;
    {
        int fd = open(file.file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) die("open " + file.file);
        struct stat st;
        if (fstat(fd, &st) != 0) die("stat");
        file.size = raw.size = static_cast<uint64_t>(st.st_size);
        if (mode != "file") {
            // The device and offset of the file's single extent (the raw mapping's
            // own mmap goes to a tmpfs or devdax file: never served by the preload).
            famfs_direct_file f;
            famfs_direct_mount m;
            int why = famfs_direct_probe(fd, &f, &m);
            if (why) {
                std::fprintf(stderr, "famfs-bench-direct: %s: %s\n", file.file.c_str(),
                             famfs_direct_why_str(why));
                return 1;
            }
            if (f.interleaved || f.nextents != 1) {
                std::fprintf(stderr, "famfs-bench-direct: raw needs a single-extent file\n");
                return 1;
            }
            raw.device = m.device;
            raw.dev_off = f.ext[0].offset;
        }
        close(fd);
    }
    std::vector<uint8_t> buf(kChunk);
    Figures fr, ff;
    // Interleaved pass by pass, so that load on a shared machine hits both alike.
    for (int i = 0; i < passes; ++i) {
        if (mode != "file") one_pass(raw, buf, fr);
        if (mode != "raw") one_pass(file, buf, ff);
    }
    if (mode == "raw")
        print("", fr);
    else if (mode == "file")
        print("", ff);
    else {
        print("raw-", fr);
        print("file-", ff);
    }
    return 0;
}
