// famfs-iocheck: file I/O through a mount, checked against the seeded pattern
// of `famfs creat -S SEED` (famfs/pattern.h), for the mount tests and demos.
//   famfs-iocheck read FILE SEED [BUFSIZE]   read() the file, check every byte
//   famfs-iocheck mmap-read FILE SEED        mmap(MAP_SHARED) it, check every byte
//   famfs-iocheck write FILE SEED            pwrite() the pattern over the whole file
//   famfs-iocheck mmap-write FILE SEED       store the pattern through mmap, msync
//   famfs-iocheck mmap-cat FILE              copy the file to stdout through mmap
//   famfs-iocheck hold FILE GO_FILE          open+mmap, print "holding", wait until
//                                            GO_FILE exists, then read(): prints the
//                                            errno it gets (the daemon was killed)
// Exit 0 on success, 1 on a mismatch or I/O error (one line on stderr).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "famfs/pattern.h"

namespace {

int fail(const char* what, const std::string& file) {
    std::fprintf(stderr, "famfs-iocheck: %s %s: %s\n", what, file.c_str(), std::strerror(errno));
    return 1;
}

int mismatch(const std::string& file, uint64_t off) {
    std::fprintf(stderr, "famfs-iocheck: %s: pattern mismatch at offset %llu\n", file.c_str(),
                 static_cast<unsigned long long>(off));
    return 1;
}

struct Mapped {
    int fd = -1;
    uint8_t* p = nullptr;
    size_t len = 0;
    ~Mapped() {
        if (p) munmap(p, len);
        if (fd >= 0) close(fd);
    }
};

int open_map(const std::string& f, bool writable, Mapped& m) {
    m.fd = open(f.c_str(), writable ? O_RDWR : O_RDONLY);
    if (m.fd < 0) return fail("open", f);
    struct stat st;
    if (fstat(m.fd, &st) != 0) return fail("stat", f);
    m.len = static_cast<size_t>(st.st_size);
    void* p = mmap(nullptr, m.len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, m.fd, 0);
    if (p == MAP_FAILED) return fail("mmap", f);
    m.p = static_cast<uint8_t*>(p);
    return 0;
}

int run(int argc, char** argv) {
    if (argc < 3) return 2;
    const std::string cmd = argv[1], file = argv[2];
    const uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 0) : 0;
    if (cmd == "read") {
        const size_t bs = argc > 4 ? std::strtoull(argv[4], nullptr, 0) : (1u << 20);
        int fd = open(file.c_str(), O_RDONLY);
        if (fd < 0) return fail("open", file);
        std::vector<uint8_t> buf(bs);
        uint64_t off = 0;
        for (;;) {
            ssize_t n = read(fd, buf.data(), bs);
            if (n < 0) return fail("read", file);
            if (n == 0) break;
            if (auto bad = famfs::check_pattern(buf.data(), off, static_cast<size_t>(n), seed))
                return mismatch(file, *bad);
            off += static_cast<uint64_t>(n);
        }
        close(fd);
        return 0;
    }
    if (cmd == "mmap-read") {
        Mapped m;
        if (int r = open_map(file, false, m)) return r;
        if (auto bad = famfs::check_pattern(m.p, 0, m.len, seed)) return mismatch(file, *bad);
        return 0;
    }
    if (cmd == "write") {
        int fd = open(file.c_str(), O_WRONLY);
        if (fd < 0) return fail("open", file);
        struct stat st;
        fstat(fd, &st);
        std::vector<uint8_t> buf(1u << 20);
        for (uint64_t off = 0; off < static_cast<uint64_t>(st.st_size); off += buf.size()) {
            const size_t len = std::min<uint64_t>(buf.size(), st.st_size - off);
            famfs::fill_pattern(buf.data(), off, len, seed);
            if (pwrite(fd, buf.data(), len, static_cast<off_t>(off)) != static_cast<ssize_t>(len))
                return fail("write", file);
        }
        return close(fd) == 0 ? 0 : fail("close", file);
    }
    if (cmd == "mmap-write") {
        Mapped m;
        if (int r = open_map(file, true, m)) return r;
        famfs::fill_pattern(m.p, 0, m.len, seed);
        if (msync(m.p, m.len, MS_SYNC) != 0) return fail("msync", file);
        return 0;
    }
    if (cmd == "mmap-cat") {
        Mapped m;
        if (int r = open_map(file, false, m)) return r;
        for (size_t off = 0; off < m.len;) {
            ssize_t n = write(1, m.p + off, m.len - off);
            if (n <= 0) return fail("write stdout for", file);
            off += static_cast<size_t>(n);
        }
        return 0;
    }
    if (cmd == "hold" && argc > 3) {
        const std::string go = argv[3];
        int fd = open(file.c_str(), O_RDONLY);
        if (fd < 0) return fail("open", file);
        char c;
        if (pread(fd, &c, 1, 0) != 1) return fail("first read", file);
        std::printf("holding\n");
        std::fflush(stdout);
        while (access(go.c_str(), F_OK) != 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        // Beyond what the first read brought into the page cache.
        std::vector<char> buf(1 << 20);
        ssize_t n = pread(fd, buf.data(), buf.size(), 8 << 20);
        if (n < 0) {
            std::printf("read failed: %s\n", std::strerror(errno));
            return 0;
        }
        std::printf("read returned %zd\n", n);
        return 0;
    }
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    int r = run(argc, argv);
    if (r == 2)
        std::fprintf(stderr,
                     "usage: famfs-iocheck read|mmap-read|write|mmap-write FILE SEED | mmap-cat "
                     "FILE | hold FILE GO_FILE\n");
    return r;
}
