// famfs-direct-check: exercises the paths libfamfs-direct.so serves, for
// test/direct/direct_test.sh (run under `famfs run`). Each subcommand checks
// real bytes against the seeded pattern of `famfs creat -S SEED` and exits 0,
// or prints one line saying what went wrong and exits 1.
//   read FILE SEED           read() in odd-sized pieces; offset after each; EOF
//   pread FILE SEED          pread/readv/preadv/preadv2 at scattered offsets
//   mmap FILE SEED           MAP_SHARED maps at offsets inside the file, with
//                            munmap/mprotect/madvise/msync on the result
//   private FILE SEED        MAP_PRIVATE: right bytes, stores stay private
//   dup FILE SEED            dup/dup2/dup3/F_DUPFD(_CLOEXEC) share the offset; close
//   fork FILE SEED           a child reads through the parent's mapping and fd
//   threads FILE SEED        8 threads pread and map at once
//   write FILE               pwrite through the mount (O_RDWR); direct pread and a
//                            direct mapping see the new bytes at once
//   store FILE OFF BYTE      map O_RDWR, store BYTE at OFF, msync (another host's writer)
//   watch FILE OFF BYTE SEC  map once; wait up to SEC s until OFF holds BYTE
//   no-device-fd DEV FILE    while a direct mapping is live, no fd names DEV
//   pipe FILE SEED           write(fd, mapped_ptr, n) into a pipe and a file
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "famfs/pattern.h"

namespace {

[[noreturn]] void die(const char* fmt, const std::string& a = "", long long b = 0) {
    std::fprintf(stderr, "famfs-direct-check: ");
    std::fprintf(stderr, fmt, a.c_str(), b);
    std::fprintf(stderr, " (%s)\n", errno ? std::strerror(errno) : "-");
    std::exit(1);
}

uint64_t g_seed = 0;
std::string g_file;

uint64_t size_of(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) die("fstat %s", g_file);
    return static_cast<uint64_t>(st.st_size);
}

int open_file(int flags = O_RDONLY) {
    int fd = open(g_file.c_str(), flags);
    if (fd < 0) die("open %s", g_file);
    return fd;
}

void expect_pattern(const void* p, uint64_t off, size_t n, const char* what) {
    if (auto bad = famfs::check_pattern(static_cast<const uint8_t*>(p), off, n, g_seed)) {
        errno = 0;
        die("%s: pattern mismatch at file offset %lld", what, static_cast<long long>(*bad));
    }
}

int cmd_read() {
    int fd = open_file();
    const uint64_t size = size_of(fd);
    std::vector<uint8_t> buf((1 << 20) + 7);
    uint64_t off = 0;
    for (;;) {
        ssize_t n = read(fd, buf.data(), buf.size());
        if (n < 0) die("read %s", g_file);
        if (n == 0) break;
        expect_pattern(buf.data(), off, static_cast<size_t>(n), "read");
        off += static_cast<uint64_t>(n);
        if (lseek(fd, 0, SEEK_CUR) != static_cast<off_t>(off))
            die("offset after read: %s", "", off);
    }
    if (off != size) die("read %s bytes in total", std::to_string(off), 0);
    if (read(fd, buf.data(), 1) != 0) die("read at EOF did not return 0%s");
    // A seek back then a read continues from there.
    if (size > 3) {
        lseek(fd, 3, SEEK_SET);
        if (read(fd, buf.data(), 1) != 1) die("read after lseek%s");
        expect_pattern(buf.data(), 3, 1, "read after lseek");
        if (lseek(fd, 0, SEEK_CUR) != 4) die("offset after lseek+read%s");
    }
    close(fd);
    // An O_PATH fd was opened without a read permission check: never served.
    int opath = open(g_file.c_str(), O_PATH);
    if (opath < 0) die("open O_PATH %s", g_file);
    errno = 0;
    if (read(opath, buf.data(), 1) != -1 || errno != EBADF)
        die("read of an O_PATH fd was not EBADF%s");
    errno = 0;
    if (mmap(nullptr, 4096, PROT_READ, MAP_SHARED, opath, 0) != MAP_FAILED || errno != EBADF)
        die("mmap of an O_PATH fd was not EBADF%s");
    close(opath);
    return 0;
}

int cmd_pread() {
    int fd = open_file();
    const uint64_t size = size_of(fd);
    std::vector<uint8_t> buf(3 << 20);
    const uint64_t offs[] = {0,
                             1,
                             4095,
                             4096,
                             (2 << 20) - 1,
                             2 << 20,
                             (2 << 20) + 12345,
                             size / 2,
                             size > 5 ? size - 5 : 0,
                             size};
    for (uint64_t o : offs) {
        if (o > size) continue;
        const size_t want = std::min<uint64_t>(buf.size(), size - o);
        ssize_t n = pread(fd, buf.data(), buf.size(), static_cast<off_t>(o));
        if (n != static_cast<ssize_t>(want)) die("pread at %s returned %lld", std::to_string(o), n);
        expect_pattern(buf.data(), o, want, "pread");
    }
    if (lseek(fd, 0, SEEK_CUR) != 0) die("pread moved the file offset%s");
    // Vectors: three pieces across a 2 MiB boundary.
    if (size > (2 << 20) + 100) {
        uint8_t a[100], b[5000], c[1];
        struct iovec iov[3] = {{a, sizeof a}, {b, sizeof b}, {c, sizeof c}};
        const off_t base = (2 << 20) - 2000;
        ssize_t n = preadv(fd, iov, 3, base);
        if (n != 5101) die("preadv returned %lld%s", "", n);
        expect_pattern(a, base, sizeof a, "preadv[0]");
        expect_pattern(b, base + 100, sizeof b, "preadv[1]");
        expect_pattern(c, base + 5100, 1, "preadv[2]");
        n = preadv2(fd, iov, 3, base, 0);
        if (n != 5101) die("preadv2 returned %lld%s", "", n);
        expect_pattern(b, base + 100, sizeof b, "preadv2[1]");
        lseek(fd, base, SEEK_SET);
        n = readv(fd, iov, 3);
        if (n != 5101) die("readv returned %lld%s", "", n);
        expect_pattern(c, base + 5100, 1, "readv[2]");
        if (lseek(fd, 0, SEEK_CUR) != base + 5101) die("offset after readv%s");
    }
    close(fd);
    return 0;
}

int cmd_mmap() {
    int fd = open_file();
    const uint64_t size = size_of(fd);
    const long pg = sysconf(_SC_PAGESIZE);
    // Whole file, then windows at offsets inside it (page and 2 MiB aligned).
    std::vector<std::pair<uint64_t, uint64_t>> ranges = {{0, size}};
    if (size > 3 * 4096) ranges.push_back({4096, size - 4096});
    if (size > (4 << 20)) ranges.push_back({2 << 20, 2 << 20});
    if (size > (4 << 20) + 3 * 4096) ranges.push_back({(2 << 20) + 8192, (2 << 20) + 123});
    for (auto [off, len] : ranges) {
        void* p = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(off));
        if (p == MAP_FAILED) die("mmap at %s", std::to_string(off));
        expect_pattern(p, off, static_cast<size_t>(std::min(len, size - off)), "mmap");
        if (madvise(p, len, MADV_WILLNEED) != 0) die("madvise%s");
        if (msync(p, len, MS_SYNC) != 0) die("msync%s");
        if (mprotect(p, len, PROT_NONE) != 0) die("mprotect PROT_NONE%s");
        if (mprotect(p, len, PROT_READ) != 0) die("mprotect PROT_READ%s");
        expect_pattern(p, off, 1, "mmap after mprotect");
        if (munmap(p, len) != 0) die("munmap%s");
    }
    // Beyond the file's extents: the normal path answers (and its error stays).
    void* p = mmap(nullptr, pg, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(64ULL << 40));
    if (p != MAP_FAILED) munmap(p, pg);
    // PROT_WRITE on a read-only fd: refused as always.
    errno = 0;
    p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED || errno != EACCES) die("PROT_WRITE on an O_RDONLY fd was not EACCES%s");
    close(fd);
    return 0;
}

int cmd_private() {
    int fd = open_file();
    const uint64_t size = size_of(fd);
    auto* p =
        static_cast<uint8_t*>(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
    if (p == MAP_FAILED) die("mmap MAP_PRIVATE%s");
    expect_pattern(p, 0, size, "MAP_PRIVATE");
    p[0] ^= 0xff;  // copy-on-write: the file must not change
    uint8_t b;
    if (pread(fd, &b, 1, 0) != 1) die("pread%s");
    expect_pattern(&b, 0, 1, "file after a private store");
    munmap(p, size);
    close(fd);
    return 0;
}

int cmd_dup() {
    int fd = open_file();
    const uint64_t size = size_of(fd);
    if (size < 64) die("file too small for the dup test%s");
    int d1 = dup(fd);
    int d2 = dup2(fd, 40);
    int d3 = dup3(fd, 41, O_CLOEXEC);
    int d4 = fcntl(fd, F_DUPFD, 50);
    int d5 = fcntl(fd, F_DUPFD_CLOEXEC, 60);
    if (d1 < 0 || d2 != 40 || d3 != 41 || d4 < 50 || d5 < 60) die("dup family failed%s");
    uint8_t b[8];
    // All share one offset: 8 bytes through each advance it for all.
    int fds[] = {fd, d1, d2, d3, d4, d5};
    uint64_t off = 0;
    for (int f : fds) {
        if (read(f, b, 8) != 8) die("read via dup%s");
        expect_pattern(b, off, 8, "read via dup");
        off += 8;
    }
    close(fd);
    if (pread(d1, b, 8, 16) != 8) die("pread after closing the original%s");
    expect_pattern(b, 16, 8, "pread after close");
    // Reuse a closed number for another (non-famfs) file: it must read as that file.
    int devnull = open("/dev/zero", O_RDONLY);
    if (dup2(devnull, 40) != 40) die("dup2 over a famfs fd%s");
    if (read(40, b, 8) != 8 || b[0] != 0 || b[7] != 0) die("fd 40 still reads the famfs file%s");
    for (int f : {d1, d3, d4, d5, devnull, 40}) close(f);
    return 0;
}

int cmd_fork() {
    int fd = open_file();
    const uint64_t size = size_of(fd);
    auto* p = static_cast<uint8_t*>(mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0));
    if (p == MAP_FAILED) die("mmap%s");
    uint8_t b[16];
    if (read(fd, b, 16) != static_cast<ssize_t>(std::min<uint64_t>(16, size))) die("read%s");
    pid_t pid = fork();
    if (pid == 0) {
        expect_pattern(p, 0, size, "child: inherited mapping");
        ssize_t n = read(fd, b, 16);  // continues at the shared offset
        if (size > 32 && n != 16) die("child read%s");
        if (n > 0) expect_pattern(b, 16, static_cast<size_t>(n), "child read");
        auto* q = static_cast<uint8_t*>(mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0));
        if (q == MAP_FAILED) die("child mmap%s");
        expect_pattern(q, 0, size, "child: own mapping");
        munmap(q, size);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("child failed%s");
    if (size > 32 && lseek(fd, 0, SEEK_CUR) != 32) die("parent offset after the child's read%s");
    munmap(p, size);
    close(fd);
    return 0;
}

int cmd_threads() {
    const int kThreads = 8;
    std::vector<std::thread> ts;
    std::atomic<int> bad{0};
    int shared = open_file();
    const uint64_t size = size_of(shared);
    for (int t = 0; t < kThreads; ++t) {
        ts.emplace_back([&, t] {
            std::vector<uint8_t> buf(1 << 16);
            uint64_t x = 0x9e3779b97f4a7c15ULL * (t + 1);
            for (int i = 0; i < 200; ++i) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                const uint64_t off = size ? x % size : 0;
                ssize_t n = pread(shared, buf.data(), buf.size(), static_cast<off_t>(off));
                if (n < 0 || famfs::check_pattern(buf.data(), off, static_cast<size_t>(n), g_seed))
                    ++bad;
                if (i % 20 == 0) {
                    int fd = open(g_file.c_str(), O_RDONLY);
                    void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
                    if (p == MAP_FAILED ||
                        famfs::check_pattern(static_cast<uint8_t*>(p), 0, size, g_seed))
                        ++bad;
                    if (p != MAP_FAILED) munmap(p, size);
                    close(fd);
                }
            }
        });
    }
    for (auto& th : ts) th.join();
    close(shared);
    if (bad) die("%s%lld thread checks failed", "", bad.load());
    return 0;
}

int cmd_write() {
    int fd = open_file(O_RDWR);
    const uint64_t size = size_of(fd);
    const uint64_t off = size / 3;
    auto* p = static_cast<uint8_t*>(mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0));
    if (p == MAP_FAILED) die("mmap%s");
    const char msg[] = "written through the mount";
    const size_t n = std::min<uint64_t>(sizeof msg, size - off);
    if (pwrite(fd, msg, n, static_cast<off_t>(off)) != static_cast<ssize_t>(n)) die("pwrite%s");
    char back[sizeof msg] = {};
    if (pread(fd, back, n, static_cast<off_t>(off)) != static_cast<ssize_t>(n) ||
        std::memcmp(back, msg, n) != 0)
        die("pread does not see the bytes written through the mount%s");
    if (std::memcmp(p + off, msg, n) != 0)
        die("the direct mapping does not see the bytes written through the mount%s");
    munmap(p, size);
    close(fd);
    return 0;
}

int cmd_store(uint64_t off, int byte) {
    int fd = open_file(O_RDWR);
    const uint64_t size = size_of(fd);
    auto* p = static_cast<uint8_t*>(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    if (p == MAP_FAILED) die("mmap rw%s");
    p[off] = static_cast<uint8_t>(byte);
    if (msync(p, size, MS_SYNC) != 0) die("msync%s");
    munmap(p, size);
    close(fd);
    return 0;
}

int cmd_watch(uint64_t off, int byte, int secs) {
    int fd = open_file();
    const uint64_t size = size_of(fd);
    auto* p = static_cast<volatile uint8_t*>(mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0));
    if (p == MAP_FAILED) die("mmap%s");
    std::printf("mapped\n");
    std::fflush(stdout);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(secs);
    while (std::chrono::steady_clock::now() < end) {
        if (p[off] == byte) {
            std::printf("saw %d\n", byte);
            return 0;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    errno = 0;
    die("byte at %s never became the new value (still %lld)", std::to_string(off), p[off]);
}

int cmd_no_device_fd(const std::string& dev) {
    int fd = open_file();
    const uint64_t size = size_of(fd);
    void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) die("mmap%s");
    uint8_t b;
    if (pread(fd, &b, 1, 0) != 1) die("pread%s");
    DIR* d = opendir("/proc/self/fd");
    while (dirent* e = readdir(d)) {
        char link[300], target[512];
        std::snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = '\0';
        if (dev == target) {
            errno = 0;
            die("fd %s is open on the device while a mapping is live%s", e->d_name);
        }
    }
    closedir(d);
    munmap(p, size);
    close(fd);
    return 0;
}

int cmd_pipe() {
    int fd = open_file();
    const uint64_t size = size_of(fd);
    auto* p = static_cast<uint8_t*>(mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0));
    if (p == MAP_FAILED) die("mmap%s");
    const size_t n = std::min<uint64_t>(size, 8 << 20);
    // Into a pipe, drained by a thread.
    int pfd[2];
    if (pipe(pfd) != 0) die("pipe%s");
    std::vector<uint8_t> got;
    std::thread drain([&] {
        uint8_t buf[65536];
        ssize_t r;
        while ((r = read(pfd[0], buf, sizeof buf)) > 0) got.insert(got.end(), buf, buf + r);
    });
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(pfd[1], p + done, n - done);
        if (w <= 0) die("write(pipe, mapped_ptr)%s");
        done += static_cast<size_t>(w);
    }
    close(pfd[1]);
    drain.join();
    close(pfd[0]);
    if (got.size() != n) die("pipe carried %s bytes", std::to_string(got.size()));
    expect_pattern(got.data(), 0, n, "write(pipe, mapped_ptr)");
    // Into a file on tmpfs.
    char tmpl[] = "/tmp/famfs-direct-pipe.XXXXXX";
    int out = mkstemp(tmpl);
    if (out < 0) die("mkstemp%s");
    unlink(tmpl);
    if (write(out, p, n) != static_cast<ssize_t>(n)) die("write(file, mapped_ptr)%s");
    std::vector<uint8_t> back(n);
    if (pread(out, back.data(), n, 0) != static_cast<ssize_t>(n)) die("read back%s");
    expect_pattern(back.data(), 0, n, "write(file, mapped_ptr)");
    close(out);
    munmap(p, size);
    close(fd);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: famfs-direct-check CMD FILE [ARGS] (see the source)\n");
        return 2;
    }
    const std::string cmd = argv[1];
    if (cmd == "no-device-fd") {
        if (argc != 4) return 2;
        g_file = argv[3];
        return cmd_no_device_fd(argv[2]);
    }
    g_file = argv[2];
    if (argc > 3) g_seed = std::strtoull(argv[3], nullptr, 0);
    if (cmd == "read") return cmd_read();
    if (cmd == "pread") return cmd_pread();
    if (cmd == "mmap") return cmd_mmap();
    if (cmd == "private") return cmd_private();
    if (cmd == "dup") return cmd_dup();
    if (cmd == "fork") return cmd_fork();
    if (cmd == "threads") return cmd_threads();
    if (cmd == "write") return cmd_write();
    if (cmd == "pipe") return cmd_pipe();
    if (cmd == "store" && argc == 5)
        return cmd_store(std::strtoull(argv[3], nullptr, 0), std::atoi(argv[4]));
    if (cmd == "watch" && argc == 6)
        return cmd_watch(std::strtoull(argv[3], nullptr, 0), std::atoi(argv[4]),
                         std::atoi(argv[5]));
    std::fprintf(stderr, "famfs-direct-check: unknown command %s\n", cmd.c_str());
    return 2;
}
