// famfs-bench-io: the data-path figures of bench/run for one way of reaching
// a file's bytes. One invocation measures each metric once and prints
// "METRIC GB/s" lines; bench/run calls it once per path and round, rounds
// interleaved across paths, and turns the figures into ratios against the raw
// device mapping measured in the same run.
//
//   famfs-bench-io [OPTIONS] FILE
//     --raw            measure the raw device mapping of FILE's extent (FILE is
//                      a file of a famfs-fused mount; its single extent is
//                      mapped from the device itself: the limit)
//     --threads N      N threads, each on its own contiguous 1/N of the file
//                      with its own fd and mapping (default 1)
//     --metrics LIST   comma-separated (default: all)
//     --min-time S     repeat a metric until it took at least S seconds
//                      (small files; default 0)
//     --rand-ops N     4 KiB random preads per measurement (default 32768)
//
// Metrics, each from a fresh open (so a FUSE mount sees the request):
//   read-1m      read() the part in 1 MiB requests
//                (raw: memcpy out of a faulted-in mapping in 1 MiB pieces)
//   pread-4k     pread() 4 KiB at random 4 KiB-aligned offsets
//                (raw: memcpy of 4 KiB at the same offsets)
//   first-touch  open, mmap(MAP_SHARED), read every byte, munmap
//   steady       read every byte of a mapping already faulted in
//   write-1m     write() the part in 1 MiB requests (raw: memcpy into the mapping)
//   store        open O_RDWR, mmap, store every byte, msync(MS_SYNC), munmap
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "famfs/direct.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kMiB = 1 << 20;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "famfs-bench-io: %s: %s\n", what.c_str(), std::strerror(errno));
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

void store_all(uint8_t* p, uint64_t n, uint64_t v) {
    uint64_t* w = reinterpret_cast<uint64_t*>(p);
    for (uint64_t i = 0; i < n / 8; ++i) w[i] = v + i;
}

struct Target {
    std::string path;    // the file
    std::string device;  // --raw: the device and the file's offset on it
    uint64_t dev_off = 0;
    uint64_t size = 0;
    bool raw = false;
};

// One thread's share: [off, off + len) of the file.
struct Part {
    uint64_t off, len;
};

// Maps [off, off+len) of the file (or of the device at the file's extent).
uint8_t* map_part(const Target& t, const Part& part, bool writable) {
    int fd = open(t.raw ? t.device.c_str() : t.path.c_str(),
                  (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) die("open " + (t.raw ? t.device : t.path));
    void* p = mmap(nullptr, part.len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd,
                   static_cast<off_t>((t.raw ? t.dev_off : 0) + part.off));
    if (p == MAP_FAILED) die("mmap " + t.path);
    close(fd);
    return static_cast<uint8_t*>(p);
}

uint64_t lcg(uint64_t& s) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return s >> 17;
}

// Runs `metric` on every part in its own thread; returns GB/s over the whole
// file (bytes of all parts / wall time from the first start to the last end).
double run_metric(const Target& t, const std::string& metric, int threads, uint64_t rand_ops,
                  int reps) {
    std::vector<Part> parts;
    // Parts are 2 MiB-aligned so every mapping can use huge pages.
    uint64_t per = (t.size / threads) & ~(2 * kMiB - 1);
    if (per == 0) per = t.size;
    for (int i = 0; i < threads; ++i) {
        uint64_t off = std::min<uint64_t>(i * per, t.size);
        uint64_t len = i == threads - 1 ? t.size - off : std::min(per, t.size - off);
        parts.push_back({off, len});
    }
    std::vector<Clock::time_point> t0(threads), t1(threads);
    std::vector<uint64_t> bytes(threads, 0);
    std::barrier sync(threads);
    auto work = [&](int i) {
        const Part& part = parts[i];
        std::vector<uint8_t> buf(kMiB);
        std::memset(buf.data(), i + 1, buf.size());
        uint8_t* pre = nullptr;  // a faulted-in mapping for the steady/raw figures
        const bool raw_copy = t.raw && (metric == "read-1m" || metric == "pread-4k" ||
                                        metric == "write-1m");
        if (metric == "steady" || raw_copy) {
            pre = map_part(t, part, metric == "write-1m");
            scan(pre, part.len);
        }
        uint64_t seed = 0x9e3779b97f4a7c15ULL * (i + 1);
        const uint64_t pages = std::max<uint64_t>(part.len / 4096, 1);
        const uint64_t ops = std::max<uint64_t>(rand_ops / threads, 1);
        sync.arrive_and_wait();
        t0[i] = Clock::now();
        for (int r = 0; r < reps; ++r) {
            if (metric == "steady") {
                scan(pre, part.len);
                bytes[i] += part.len;
            } else if (metric == "first-touch" || metric == "store") {
                const bool w = metric == "store";
                uint8_t* p = map_part(t, part, w);
                if (w) {
                    store_all(p, part.len, r);
                    if (msync(p, part.len, MS_SYNC) != 0) die("msync");
                } else {
                    scan(p, part.len);
                }
                munmap(p, part.len);
                bytes[i] += part.len;
            } else if (raw_copy && metric == "pread-4k") {
                for (uint64_t k = 0; k < ops; ++k)
                    std::memcpy(buf.data(), pre + (lcg(seed) % pages) * 4096,
                                std::min<uint64_t>(4096, part.len));
                bytes[i] += ops * std::min<uint64_t>(4096, part.len);
            } else if (raw_copy) {
                for (uint64_t o = 0; o < part.len; o += kMiB) {
                    uint64_t n = std::min(kMiB, part.len - o);
                    if (metric == "write-1m")
                        std::memcpy(pre + o, buf.data(), n);
                    else
                        std::memcpy(buf.data(), pre + o, n);
                }
                bytes[i] += part.len;
            } else {  // read-1m, pread-4k, write-1m through the file
                const bool w = metric == "write-1m";
                int fd = open(t.path.c_str(), (w ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
                if (fd < 0) die("open " + t.path);
                if (metric == "pread-4k") {
                    for (uint64_t k = 0; k < ops; ++k) {
                        off_t o = static_cast<off_t>(part.off + (lcg(seed) % pages) * 4096);
                        if (pread(fd, buf.data(), std::min<uint64_t>(4096, part.len), o) <= 0)
                            die("pread");
                    }
                    bytes[i] += ops * std::min<uint64_t>(4096, part.len);
                } else {
                    if (lseek(fd, static_cast<off_t>(part.off), SEEK_SET) < 0) die("lseek");
                    for (uint64_t o = 0; o < part.len; o += kMiB) {
                        size_t n = std::min(kMiB, part.len - o);
                        ssize_t got = w ? write(fd, buf.data(), n) : read(fd, buf.data(), n);
                        if (got != static_cast<ssize_t>(n)) die(w ? "write" : "read");
                    }
                    bytes[i] += part.len;
                }
                close(fd);
            }
        }
        t1[i] = Clock::now();
        if (pre) munmap(pre, part.len);
    };
    std::vector<std::thread> ts;
    for (int i = 0; i < threads; ++i) ts.emplace_back(work, i);
    for (auto& th : ts) th.join();
    auto start = *std::min_element(t0.begin(), t0.end());
    auto end = *std::max_element(t1.begin(), t1.end());
    uint64_t total = 0;
    for (uint64_t b : bytes) total += b;
    return total / std::chrono::duration<double>(end - start).count() / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
    Target t;
    int threads = 1;
    double min_time = 0;
    uint64_t rand_ops = 32768;
    std::vector<std::string> metrics = {"read-1m", "pread-4k", "first-touch",
                                        "steady",  "write-1m", "store"};
    std::vector<std::string> pos;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "famfs-bench-io: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--raw")
            t.raw = true;
        else if (a == "--threads")
            threads = std::max(1, std::atoi(next().c_str()));
        else if (a == "--min-time")
            min_time = std::atof(next().c_str());
        else if (a == "--rand-ops")
            rand_ops = std::strtoull(next().c_str(), nullptr, 0);
        else if (a == "--metrics") {
            metrics.clear();
            std::string l = next();
            for (size_t p = 0; p <= l.size();) {
                size_t q = l.find(',', p);
                if (q == std::string::npos) q = l.size();
                if (q > p) metrics.push_back(l.substr(p, q - p));
                p = q + 1;
            }
        } else
            pos.push_back(a);
    }
    if (pos.size() != 1) {
        std::fprintf(stderr,
                     "usage: famfs-bench-io [--raw] [--threads N] [--metrics LIST] "
                     "[--min-time S] [--rand-ops N] FILE\n");
        return 2;
    }
    for (const auto& m : metrics)
        if (m != "read-1m" && m != "pread-4k" && m != "first-touch" && m != "steady" &&
            m != "write-1m" && m != "store") {
            std::fprintf(stderr, "famfs-bench-io: unknown metric %s\n", m.c_str());
            return 2;
        }
    t.path = pos[0];
    int fd = open(t.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open " + t.path);
    struct stat st;
    if (fstat(fd, &st) != 0) die("stat " + t.path);
    t.size = static_cast<uint64_t>(st.st_size);
    if (t.raw) {
        famfs_direct_file f;
        famfs_direct_mount m;
        int why = famfs_direct_probe(fd, &f, &m);
        if (why) {
            std::fprintf(stderr, "famfs-bench-io: %s: %s\n", t.path.c_str(),
                         famfs_direct_why_str(why));
            return 1;
        }
        if (f.interleaved || f.nextents != 1) {
            std::fprintf(stderr, "famfs-bench-io: --raw needs a single-extent file\n");
            return 1;
        }
        t.device = m.device;
        t.dev_off = f.ext[0].offset;
    }
    close(fd);
    for (const auto& m : metrics) {
        int reps = 1;
        double v = 0;
        for (;;) {
            auto c0 = Clock::now();
            v = run_metric(t, m, threads, rand_ops, reps);
            double s = std::chrono::duration<double>(Clock::now() - c0).count();
            if (s >= min_time || reps >= 4096) break;
            reps *= std::max(2, static_cast<int>(min_time / std::max(s, 1e-6)));
            reps = std::min(reps, 4096);
        }
        std::printf("%s %.4f\n", m.c_str(), v);
        std::fflush(stdout);
    }
    return 0;
}
