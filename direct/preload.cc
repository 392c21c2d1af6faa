// libfamfs-direct.so: loaded with LD_PRELOAD (`famfs run CMD`), it serves
// files of compat-mode famfs-fused mounts from the device itself:
// mmap(MAP_SHARED) maps the file's extents of the device, and the read family
// copies from a mapping of them. Everything it cannot serve goes down the
// normal path unchanged. See docs/direct-access.md.
//
// Rules this file keeps, because it runs inside arbitrary programs:
// - no C++ objects with constructors at namespace scope, no exceptions, no
//   heap: state is POD, memory comes from mmap(2) via syscall(2);
// - the library's own system calls go through syscall(2) (in
//   libfamfs/src/direct.cc too), so they never re-enter these wrappers;
// - the real functions come from dlsym(RTLD_NEXT); if a wrapper runs before
//   they are resolved (or while resolving), it issues the system call itself;
// - the read path takes no lock a signal handler could deadlock on: fd slots
//   are atomics, retired state is freed only when no reader is inside;
// - nothing the library opens survives a call (the device fd is closed after
//   mmap), so nothing leaks into exec; atfork resets the locks in the child.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "famfs/cache.h"
#include "famfs/direct.h"

#define EXPORT extern "C" __attribute__((visibility("default")))

namespace {

// ---- the real functions ----------------------------------------------------------

struct Real {
    int (*open)(const char*, int, ...);
    int (*open64)(const char*, int, ...);
    int (*openat)(int, const char*, int, ...);
    int (*openat64)(int, const char*, int, ...);
    int (*open_2)(const char*, int);
    int (*open64_2)(const char*, int);
    int (*openat_2)(int, const char*, int);
    int (*openat64_2)(int, const char*, int);
    int (*close)(int);
    int (*close_range)(unsigned, unsigned, int);
    void (*closefrom)(int);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    int (*fcntl)(int, int, ...);
    int (*fcntl64)(int, int, ...);
    ssize_t (*read)(int, void*, size_t);
    ssize_t (*read_chk)(int, void*, size_t, size_t);
    ssize_t (*pread)(int, void*, size_t, off_t);
    ssize_t (*pread64)(int, void*, size_t, off_t);
    ssize_t (*pread_chk)(int, void*, size_t, off_t, size_t);
    ssize_t (*pread64_chk)(int, void*, size_t, off_t, size_t);
    ssize_t (*readv)(int, const struct iovec*, int);
    ssize_t (*preadv)(int, const struct iovec*, int, off_t);
    ssize_t (*preadv64)(int, const struct iovec*, int, off_t);
    ssize_t (*preadv2)(int, const struct iovec*, int, off_t, int);
    ssize_t (*preadv64v2)(int, const struct iovec*, int, off_t, int);
    void* (*mmap)(void*, size_t, int, int, int, off_t);
    void* (*mmap64)(void*, size_t, int, int, int, off_t);
    int (*munmap)(void*, size_t);
    int (*mprotect)(void*, size_t, int);
    int (*madvise)(void*, size_t, int);
};

Real g_real;
std::atomic<int> g_resolved{0};  // 0 no, 1 resolving, 2 done
thread_local int t_resolving = 0;

template <typename T>
void sym(T& slot, const char* name) {
    slot = reinterpret_cast<T>(dlsym(RTLD_NEXT, name));
}

void resolve() {
    if (g_resolved.load(std::memory_order_acquire) == 2 || t_resolving) return;
    t_resolving = 1;  // dlsym may itself read or map: those calls go raw
    Real r{};
    sym(r.open, "open");
    sym(r.open64, "open64");
    sym(r.openat, "openat");
    sym(r.openat64, "openat64");
    sym(r.open_2, "__open_2");
    sym(r.open64_2, "__open64_2");
    sym(r.openat_2, "__openat_2");
    sym(r.openat64_2, "__openat64_2");
    sym(r.close, "close");
    sym(r.close_range, "close_range");
    sym(r.closefrom, "closefrom");
    sym(r.dup, "dup");
    sym(r.dup2, "dup2");
    sym(r.dup3, "dup3");
    sym(r.fcntl, "fcntl");
    sym(r.fcntl64, "fcntl64");
    sym(r.read, "read");
    sym(r.read_chk, "__read_chk");
    sym(r.pread, "pread");
    sym(r.pread64, "pread64");
    sym(r.pread_chk, "__pread_chk");
    sym(r.pread64_chk, "__pread64_chk");
    sym(r.readv, "readv");
    sym(r.preadv, "preadv");
    sym(r.preadv64, "preadv64");
    sym(r.preadv2, "preadv2");
    sym(r.preadv64v2, "preadv64v2");
    sym(r.mmap, "mmap");
    sym(r.mmap64, "mmap64");
    sym(r.munmap, "munmap");
    sym(r.mprotect, "mprotect");
    sym(r.madvise, "madvise");
    g_real = r;
    g_resolved.store(2, std::memory_order_release);
    t_resolving = 0;
}

bool ready() {
    if (g_resolved.load(std::memory_order_acquire) != 2) resolve();
    return g_resolved.load(std::memory_order_acquire) == 2 && !t_resolving;
}

// ---- configuration, statistics, log ----------------------------------------------

struct Config {
    int log;               // FAMFS_DIRECT_LOG: 0 off, 1 on
    char log_path[512];    // FAMFS_DIRECT_LOG=/path: append there instead of stderr
    char stats_path[512];  // FAMFS_DIRECT_STATS=/path: one JSON line per process at exit
    int disabled;          // FAMFS_DIRECT=0: pass everything through
};
Config g_cfg;

struct Stats {
    std::atomic<uint64_t> maps_direct, maps_fallback, reads_direct, read_bytes_direct,
        reads_fallback, files_direct;
    std::atomic<uint64_t> why[FAMFS_DIRECT_WHY_COUNT + 2];
};
Stats g_stats;
constexpr int kWhyNoReadMap = FAMFS_DIRECT_WHY_COUNT;  // extra reasons, read path only
constexpr int kWhyReentered = FAMFS_DIRECT_WHY_COUNT + 1;

const char* why_str(int why) {
    if (why == kWhyNoReadMap) return "device cannot be mapped for reading";
    if (why == kWhyReentered) return "re-entered from a signal handler";
    return famfs_direct_why_str(why);
}

void log_line(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void log_line(const char* fmt, ...) {
    if (!g_cfg.log) return;
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "famfs-direct[%d]: ", static_cast<int>(getpid()));
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof buf - static_cast<size_t>(n) - 1, fmt, ap);
    va_end(ap);
    if (m < 0) return;
    size_t len = static_cast<size_t>(n) + static_cast<size_t>(m);
    if (len > sizeof buf - 2) len = sizeof buf - 2;
    buf[len++] = '\n';
    const int saved = errno;
    if (g_cfg.log_path[0]) {
        int fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, g_cfg.log_path,
                                          O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
        if (fd >= 0) {
            syscall(SYS_write, fd, buf, len);
            syscall(SYS_close, fd);
        }
    } else {
        syscall(SYS_write, 2, buf, len);
    }
    errno = saved;
}

// The path behind an fd, for log lines only.
const char* fd_path(int fd, char* buf, size_t cap) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    long n = syscall(SYS_readlinkat, AT_FDCWD, link, buf, cap - 1);
    if (n < 0) n = 0;
    buf[n] = '\0';
    return buf;
}

void count_fallback(int why) { g_stats.why[why].fetch_add(1, std::memory_order_relaxed); }

// ---- small helpers ------------------------------------------------------------------

void* raw_mmap(size_t len) {
    long r =
        syscall(SYS_mmap, nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return r == -1 ? nullptr : reinterpret_cast<void*>(r);
}

thread_local pid_t t_tid = 0;
pid_t my_tid() {
    if (!t_tid) t_tid = static_cast<pid_t>(syscall(SYS_gettid));
    return t_tid;
}

// A spin lock for the mapping table and the mount cache (not on the read path).
struct SpinLock {
    std::atomic<int> v;
    bool try_lock() { return v.exchange(1, std::memory_order_acquire) == 0; }
    void lock() {
        while (!try_lock()) sched_yield();
    }
    void unlock() { v.store(0, std::memory_order_release); }
};

// ---- per-fd state --------------------------------------------------------------------

// One per fd we serve. Owned by its slot; replaced when the fd is closed or
// reused. Lives in its own anonymous pages (no heap).
struct FileState {
    famfs_direct_file f;
    char device[FAMFS_DIRECT_PATH_MAX];
    int coherent;
    int logged_read;
    std::atomic<uint8_t*> rmap;  // read-only mapping of the whole file, made on first read
    famfs_direct_mapping rmapping;
    std::atomic<int> rmap_failed;
    std::atomic<pid_t> pos_owner;  // serialises read()'s offset update within this process
    FileState* next_retired;
};

constexpr int kMaxFd = 1 << 16;
constexpr uintptr_t kNotServed = 1;  // probed: not a file we serve
std::atomic<std::atomic<uintptr_t>*> g_slots{nullptr};
std::atomic<int> g_inflight{0};              // readers that may hold a FileState*
std::atomic<FileState*> g_retired{nullptr};  // dropped states waiting for no readers

std::atomic<uintptr_t>* slots() {
    std::atomic<uintptr_t>* s = g_slots.load(std::memory_order_acquire);
    if (s) return s;
    auto* fresh = static_cast<std::atomic<uintptr_t>*>(raw_mmap(kMaxFd * sizeof(uintptr_t)));
    if (!fresh) return nullptr;
    std::atomic<uintptr_t>* expected = nullptr;
    if (!g_slots.compare_exchange_strong(expected, fresh)) {
        syscall(SYS_munmap, fresh, kMaxFd * sizeof(uintptr_t));
        return expected;
    }
    return fresh;
}

void free_state(FileState* st) {
    if (uint8_t* m = st->rmap.load()) {
        (void)m;
        famfs_direct_unmap(&st->rmapping);
    }
    syscall(SYS_munmap, st, sizeof(FileState));
}

// Frees retired states if no reader is inside (checked after taking the list,
// so a reader that loaded a state before it was dropped keeps it alive).
void reclaim() {
    FileState* list = g_retired.exchange(nullptr);
    if (!list) return;
    if (g_inflight.load() != 0) {
        FileState* last = list;
        while (last->next_retired) last = last->next_retired;
        FileState* head = g_retired.load();
        do {
            last->next_retired = head;
        } while (!g_retired.compare_exchange_weak(head, list));
        return;
    }
    while (list) {
        FileState* next = list->next_retired;
        free_state(list);
        list = next;
    }
}

// The fd now names something new (or nothing): forget what we knew.
void drop_fd(int fd) {
    if (fd < 0 || fd >= kMaxFd) return;
    std::atomic<uintptr_t>* s = g_slots.load(std::memory_order_acquire);
    if (!s) return;
    const uintptr_t old = s[fd].exchange(0);
    if (old > kNotServed) {
        FileState* st = reinterpret_cast<FileState*>(old);
        FileState* head = g_retired.load();
        do {
            st->next_retired = head;
        } while (!g_retired.compare_exchange_weak(head, st));
    }
    reclaim();
}

// ---- the mount cache -----------------------------------------------------------------
// st_dev -> famfs mount. A positive entry is re-checked against mountinfo at
// each probe (a st_dev can be reused by a later mount); a negative one is
// trusted for a second, so programs reading many files of other anonymous-dev
// filesystems (tmpfs, overlay) do not parse mountinfo for each.

struct MountEntry {
    uint64_t dev;
    int64_t checked_ns;
    int valid, famfs;
    famfs_direct_mount m;
};
constexpr int kMountCache = 8;
MountEntry g_mounts[kMountCache];
SpinLock g_mount_lock;

int64_t now_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Fills `out` for the famfs mount of `dev`; returns 0 or a why.
int lookup_mount(uint64_t dev, famfs_direct_mount* out) {
    const bool locked = g_mount_lock.try_lock();  // never wait: we may be in a signal handler
    MountEntry* e = nullptr;
    if (locked) {
        for (auto& c : g_mounts)
            if (c.valid && c.dev == dev) e = &c;
        if (e && !e->famfs && now_ns() - e->checked_ns < 1000000000) {
            g_mount_lock.unlock();
            return FAMFS_DIRECT_NOT_FAMFS;
        }
    }
    famfs_direct_mount m;
    int why = famfs_direct_find_mount(dev, &m);
    if (why == FAMFS_DIRECT_OK) {
        if (e && e->famfs && e->m.mount_id == m.mount_id && strcmp(e->m.device, m.device) == 0)
            m = e->m;  // same mount as before: its mode is known
        else
            famfs_direct_mount_mode(&m);
        *out = m;
    }
    if (locked) {
        if (!e) {
            e = &g_mounts[0];
            for (auto& c : g_mounts)
                if (!c.valid || c.checked_ns < e->checked_ns) e = &c;
        }
        e->dev = dev;
        e->checked_ns = now_ns();
        e->valid = 1;
        e->famfs = why == FAMFS_DIRECT_OK;
        if (e->famfs) e->m = m;
        g_mount_lock.unlock();
    }
    if (why == FAMFS_DIRECT_OK && m.famfs_mode) return FAMFS_DIRECT_FAMFS_MODE;
    return why;
}

int access_mode(int fd);

// Probes fd and fills its slot. Returns the state, or null (not served; *why
// says why when it is a famfs file we decline, 0 for anything else).
FileState* probe(int fd, int* why_out) {
    *why_out = 0;
    std::atomic<uintptr_t>* s = slots();
    if (!s) return nullptr;
    uint64_t dev = 0, ino = 0;
    int why = famfs_direct_identify(fd, &dev, &ino);
    famfs_direct_mount m{};
    if (why == FAMFS_DIRECT_OK) why = lookup_mount(dev, &m);
    // O_PATH fds (no permission check at open) are never served, nor counted.
    if (why == FAMFS_DIRECT_NOT_REGULAR || why == FAMFS_DIRECT_NOT_FAMFS || access_mode(fd) < 0) {
        s[fd].store(kNotServed);
        return nullptr;
    }
    FileState* st = nullptr;
    if (why == FAMFS_DIRECT_OK) {
        st = static_cast<FileState*>(raw_mmap(sizeof(FileState)));
        if (!st) return nullptr;
        why = famfs_direct_read_fmap(fd, &st->f);
    }
    if (why != FAMFS_DIRECT_OK) {
        if (st) syscall(SYS_munmap, st, sizeof(FileState));
        char p[256];
        log_line("fd %d %s: not served: %s", fd, fd_path(fd, p, sizeof p), why_str(why));
        s[fd].store(kNotServed);
        *why_out = why;
        return nullptr;
    }
    st->f.dev = dev;
    st->f.ino = ino;
    memcpy(st->device, m.device, sizeof st->device);
    st->coherent = m.coherent;
    uintptr_t expected = 0;
    if (!s[fd].compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(st))) {
        syscall(SYS_munmap, st, sizeof(FileState));  // another thread probed it first
        return expected > kNotServed ? reinterpret_cast<FileState*>(expected) : nullptr;
    }
    g_stats.files_direct.fetch_add(1, std::memory_order_relaxed);
    return st;
}

// Does fd still name the file st describes? (The fd may have been closed and
// reused behind our back, e.g. by stdio's internal close.)
bool still_same(int fd, const FileState* st) {
    uint64_t dev = 0, ino = 0;
    return famfs_direct_identify(fd, &dev, &ino) == FAMFS_DIRECT_OK && dev == st->f.dev &&
           ino == st->f.ino;
}

// O_RDONLY/O_RDWR/O_WRONLY, or -1 for an O_PATH fd (opened without a
// permission check: never served).
int access_mode(int fd) {
    long fl = syscall(SYS_fcntl, fd, F_GETFL);
    if (fl < 0 || (fl & O_PATH)) return -1;
    return static_cast<int>(fl & O_ACCMODE);
}

// The state of fd for a read or map, probing it if needed. Call inside an
// Inflight scope. Null: not served (*why set for famfs files we decline).
FileState* state_for(int fd, int* why) {
    *why = 0;
    if (g_cfg.disabled || fd < 0 || fd >= kMaxFd) return nullptr;
    std::atomic<uintptr_t>* s = slots();
    if (!s) return nullptr;
    uintptr_t v = s[fd].load();
    if (v == kNotServed) return nullptr;
    if (v > kNotServed) {
        FileState* st = reinterpret_cast<FileState*>(v);
        if (still_same(fd, st)) return st;
        drop_fd(fd);  // stale: probe again
    }
    return probe(fd, why);
}

struct Inflight {
    Inflight() { g_inflight.fetch_add(1); }
    ~Inflight() { g_inflight.fetch_sub(1); }
};

// ---- reading --------------------------------------------------------------------------

// The read-only mapping of the whole file, made on first use.
uint8_t* read_map(FileState* st) {
    uint8_t* m = st->rmap.load(std::memory_order_acquire);
    if (m || st->rmap_failed.load()) return m;
    int devfd = famfs_direct_open_device(st->device, 0);
    if (devfd < 0) {
        st->rmap_failed.store(1);
        return nullptr;
    }
    famfs_direct_mapping mp;
    int why = famfs_direct_map_fd(&st->f, devfd, 0, st->f.capacity, PROT_READ, MAP_SHARED, 0,
                                  nullptr, &mp);
    syscall(SYS_close, devfd);
    if (why != FAMFS_DIRECT_OK) {
        st->rmap_failed.store(1);
        return nullptr;
    }
    uint8_t* expected = nullptr;
    st->rmapping = mp;
    if (!st->rmap.compare_exchange_strong(expected, static_cast<uint8_t*>(mp.addr))) {
        famfs_direct_unmap(&mp);
        return expected;
    }
    return static_cast<uint8_t*>(mp.addr);
}

// Copies file bytes [off, off + sum(iov)) out of the device; returns bytes copied.
size_t copy_out(FileState* st, uint8_t* map, const struct iovec* iov, int iovcnt, uint64_t off) {
    size_t done = 0;
    for (int i = 0; i < iovcnt && off < st->f.size; ++i) {
        size_t n = iov[i].iov_len;
        if (n > st->f.size - off) n = static_cast<size_t>(st->f.size - off);
        if (!st->coherent) famfs::invalidate(map + off, n);
        memcpy(iov[i].iov_base, map + off, n);
        off += n;
        done += n;
    }
    return done;
}

enum class Pos { Explicit, Current };

// Serves a read if it can: returns true with *result set, or false to let the
// caller take the normal path.
bool direct_read(int fd, const struct iovec* iov, int iovcnt, off_t offset, Pos pos,
                 ssize_t* result) {
    if (!ready() || g_cfg.disabled) return false;
    Inflight in;
    int why = 0;
    FileState* st = state_for(fd, &why);
    if (!st) {
        if (why) {
            g_stats.reads_fallback.fetch_add(1, std::memory_order_relaxed);
            count_fallback(why);
        }
        return false;
    }
    const int acc = access_mode(fd);
    if (acc != O_RDONLY && acc != O_RDWR) {  // O_WRONLY: the normal path says EBADF
        g_stats.reads_fallback.fetch_add(1, std::memory_order_relaxed);
        count_fallback(FAMFS_DIRECT_ACCESS_MODE);
        return false;
    }
    uint8_t* map = read_map(st);
    if (!map) {
        g_stats.reads_fallback.fetch_add(1, std::memory_order_relaxed);
        count_fallback(kWhyNoReadMap);
        if (!st->logged_read) {
            st->logged_read = 1;
            log_line("fd %d: reads fall back: %s (%s)", fd, why_str(kWhyNoReadMap), st->device);
        }
        return false;
    }
    for (int i = 0; i < iovcnt; ++i)
        if (static_cast<ssize_t>(iov[i].iov_len) < 0) return false;  // the kernel says EINVAL
    if (pos == Pos::Explicit) {
        if (offset < 0) return false;  // EINVAL from the normal path
        *result = static_cast<ssize_t>(copy_out(st, map, iov, iovcnt, offset));
    } else {
        // read()/readv(): the fd's offset, updated as the kernel would.
        const pid_t me = my_tid();
        if (st->pos_owner.load() == me) {  // a signal handler inside our own read
            count_fallback(kWhyReentered);
            return false;
        }
        pid_t expected = 0;
        while (!st->pos_owner.compare_exchange_weak(expected, me)) {
            expected = 0;
            sched_yield();
        }
        long cur = syscall(SYS_lseek, fd, 0, SEEK_CUR);
        if (cur < 0) {
            st->pos_owner.store(0);
            return false;
        }
        size_t n = copy_out(st, map, iov, iovcnt, static_cast<uint64_t>(cur));
        syscall(SYS_lseek, fd, cur + static_cast<long>(n), SEEK_SET);
        st->pos_owner.store(0);
        *result = static_cast<ssize_t>(n);
    }
    g_stats.reads_direct.fetch_add(1, std::memory_order_relaxed);
    g_stats.read_bytes_direct.fetch_add(static_cast<uint64_t>(*result), std::memory_order_relaxed);
    if (!st->logged_read) {
        st->logged_read = 1;
        char p[256];
        log_line("read fd %d %s: direct from %s (%u %s)", fd, fd_path(fd, p, sizeof p), st->device,
                 st->f.nextents, st->f.interleaved ? "strips" : "extents");
    }
    return true;
}

// ---- mapping ----------------------------------------------------------------------------
// Direct mappings are widened to whole 2 MiB units; the table lets munmap,
// mprotect and madvise of exactly what the caller got act on all of it
// (devdax cannot split a mapping inside a 2 MiB unit).

struct MapRecord {
    uintptr_t addr, len, base, base_len;
};
constexpr int kMaxMaps = 16384;
MapRecord* g_maps;                // kMaxMaps entries, addr 0 = free
std::atomic<int> g_maps_used{0};  // entries [0, used) may be in use: scans stop there
SpinLock g_map_lock;

bool record_map(const famfs_direct_mapping& m) {
    g_map_lock.lock();
    if (!g_maps) g_maps = static_cast<MapRecord*>(raw_mmap(kMaxMaps * sizeof(MapRecord)));
    bool ok = false;
    for (int i = 0; g_maps && i < kMaxMaps && !ok; ++i) {
        if (g_maps[i].addr) continue;
        g_maps[i] = {reinterpret_cast<uintptr_t>(m.addr), m.len,
                     reinterpret_cast<uintptr_t>(m.base), m.base_len};
        if (i >= g_maps_used.load()) g_maps_used.store(i + 1);
        ok = true;
    }
    g_map_lock.unlock();
    return ok;
}

uintptr_t page_up(uintptr_t v) {
    const uintptr_t pg = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    return (v + pg - 1) & ~(pg - 1);
}

void* direct_mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off, bool* served) {
    *served = false;
    if (!ready() || g_cfg.disabled || (flags & MAP_ANONYMOUS) || fd < 0) return nullptr;
    Inflight in;
    int why = 0;
    FileState* st = state_for(fd, &why);
    if (!st && !why) return nullptr;  // not a famfs file: not our business
    char p[256];
    if (!st) {
        g_stats.maps_fallback.fetch_add(1, std::memory_order_relaxed);
        count_fallback(why);
        return nullptr;  // already logged by the probe
    }
    const int type = flags & MAP_TYPE;
    const int extra = flags & (MAP_POPULATE | MAP_NONBLOCK | MAP_NORESERVE | MAP_LOCKED | MAP_SYNC);
    const int acc = access_mode(fd);
    if (type == MAP_PRIVATE)
        why = FAMFS_DIRECT_PRIVATE;
    else if (type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
        why = FAMFS_DIRECT_FLAGS;
    else if (flags & ~(MAP_TYPE | MAP_FIXED | extra))
        why = FAMFS_DIRECT_FLAGS;
    else if (prot & ~(PROT_READ | PROT_WRITE))
        why = FAMFS_DIRECT_FLAGS;
    else if (acc != O_RDONLY && acc != O_RDWR)
        why = FAMFS_DIRECT_ACCESS_MODE;
    else if ((prot & PROT_WRITE) && acc != O_RDWR)
        why = FAMFS_DIRECT_ACCESS_MODE;
    else if (len == 0 || off < 0 || static_cast<uint64_t>(off) % sysconf(_SC_PAGESIZE) ||
             static_cast<uint64_t>(off) + len > st->f.capacity)
        why = FAMFS_DIRECT_RANGE;
    famfs_direct_mapping m{};
    if (!why) {
        const int devfd = famfs_direct_open_device(st->device, (prot & PROT_WRITE) != 0);
        if (devfd < 0) {
            why = FAMFS_DIRECT_DEVICE_ACCESS;
        } else {
            why = famfs_direct_map_fd(&st->f, devfd, static_cast<uint64_t>(off), len, prot, type,
                                      extra, (flags & MAP_FIXED) ? addr : nullptr, &m);
            syscall(SYS_close, devfd);
        }
    }
    if (!why && !(flags & MAP_FIXED) && !record_map(m)) {
        famfs_direct_unmap(&m);
        why = FAMFS_DIRECT_MAP_FAILED;
    }
    if (why) {
        g_stats.maps_fallback.fetch_add(1, std::memory_order_relaxed);
        count_fallback(why);
        log_line("mmap fd %d %s off %lld len %zu: fallback: %s%s%s", fd, fd_path(fd, p, sizeof p),
                 static_cast<long long>(off), len, why_str(why), m.err ? ": " : "",
                 m.err ? strerror(m.err) : "");
        return nullptr;
    }
    g_stats.maps_direct.fetch_add(1, std::memory_order_relaxed);
    log_line("mmap fd %d %s off %lld len %zu prot %s: direct from %s (%u %s)", fd,
             fd_path(fd, p, sizeof p), static_cast<long long>(off), len,
             (prot & PROT_WRITE) ? "rw" : "r", st->device, st->f.nextents,
             st->f.interleaved ? "strips" : "extents");
    *served = true;
    return m.addr;
}

// Finds the record whose caller-visible range is exactly [addr, addr+len)
// (len rounded to pages), removing it if `take`.
bool find_exact(void* addr, size_t len, bool take, MapRecord* out) {
    if (g_maps_used.load(std::memory_order_relaxed) == 0) return false;
    const uintptr_t a = reinterpret_cast<uintptr_t>(addr);
    bool found = false;
    g_map_lock.lock();
    const int used = g_maps_used.load();
    for (int i = 0; g_maps && i < used && !found; ++i) {
        MapRecord& r = g_maps[i];
        if (r.addr == a && page_up(r.len) == page_up(len)) {
            *out = r;
            if (take) r = {};
            found = true;
        }
    }
    g_map_lock.unlock();
    return found;
}

// Drops records overlapping [a, a+len) that were not matched exactly (the
// caller unmapped part of one: what stays mapped is ordinary memory now).
void forget_overlapping(uintptr_t a, size_t len) {
    if (g_maps_used.load(std::memory_order_relaxed) == 0) return;
    g_map_lock.lock();
    const int used = g_maps_used.load();
    for (int i = 0; g_maps && i < used; ++i) {
        MapRecord& r = g_maps[i];
        if (r.addr && r.base < a + len && a < r.base + r.base_len) {
            // Unmap the widening margins we added; the caller's own range is theirs.
            if (r.addr > r.base) syscall(SYS_munmap, r.base, r.addr - r.base);
            const uintptr_t end = page_up(r.addr + r.len);
            if (r.base + r.base_len > end) syscall(SYS_munmap, end, r.base + r.base_len - end);
            r = {};
        }
    }
    g_map_lock.unlock();
}

void atfork_child() {
    t_tid = 0;
    g_map_lock.v.store(0);
    g_mount_lock.v.store(0);
    g_inflight.store(0);
    std::atomic<uintptr_t>* s = g_slots.load();
    if (!s) return;
    for (int fd = 0; fd < kMaxFd; ++fd) {
        uintptr_t v = s[fd].load(std::memory_order_relaxed);
        if (v > kNotServed) reinterpret_cast<FileState*>(v)->pos_owner.store(0);
    }
}

__attribute__((constructor)) void init() {
    const char* d = getenv("FAMFS_DIRECT");
    g_cfg.disabled = d && strcmp(d, "0") == 0;
    const char* l = getenv("FAMFS_DIRECT_LOG");
    if (l && *l && strcmp(l, "0") != 0) {
        g_cfg.log = 1;
        if (l[0] == '/') snprintf(g_cfg.log_path, sizeof g_cfg.log_path, "%s", l);
    }
    const char* s = getenv("FAMFS_DIRECT_STATS");
    if (s && s[0] == '/') snprintf(g_cfg.stats_path, sizeof g_cfg.stats_path, "%s", s);
    famfs::set_coherent(false);  // invalidate() works; used only for non-coherent mounts
    resolve();
    pthread_atfork(nullptr, nullptr, atfork_child);
}

__attribute__((destructor)) void fini() {
    if (!g_cfg.log && !g_cfg.stats_path[0]) return;
    char comm[64] = "?";
    int fd =
        static_cast<int>(syscall(SYS_openat, AT_FDCWD, "/proc/self/comm", O_RDONLY | O_CLOEXEC));
    if (fd >= 0) {
        long n = syscall(SYS_read, fd, comm, sizeof comm - 1);
        comm[n > 0 ? n : 0] = '\0';
        if (n > 0 && comm[n - 1] == '\n') comm[n - 1] = '\0';
        syscall(SYS_close, fd);
    }
    char why[512] = "";
    size_t w = 0;
    for (int i = 1; i < FAMFS_DIRECT_WHY_COUNT + 2; ++i) {
        uint64_t c = g_stats.why[i].load();
        if (c && w < sizeof why)
            w += static_cast<size_t>(snprintf(why + w, sizeof why - w, "%s\"%s\": %llu",
                                              w ? ", " : "", why_str(i),
                                              static_cast<unsigned long long>(c)));
    }
    auto u = [](const std::atomic<uint64_t>& a) {
        return static_cast<unsigned long long>(a.load());
    };
    log_line(
        "exit (%s): files %llu, mmap direct %llu fallback %llu, read direct %llu (%llu bytes) "
        "fallback %llu; fallback reasons {%s}",
        comm, u(g_stats.files_direct), u(g_stats.maps_direct), u(g_stats.maps_fallback),
        u(g_stats.reads_direct), u(g_stats.read_bytes_direct), u(g_stats.reads_fallback), why);
    if (g_cfg.stats_path[0]) {
        char buf[1024];
        int n = snprintf(buf, sizeof buf,
                         "{\"pid\": %d, \"comm\": \"%s\", \"files_direct\": %llu, "
                         "\"maps_direct\": %llu, \"maps_fallback\": %llu, \"reads_direct\": %llu, "
                         "\"read_bytes_direct\": %llu, \"reads_fallback\": %llu, "
                         "\"fallback_reasons\": {%s}}\n",
                         static_cast<int>(getpid()), comm, u(g_stats.files_direct),
                         u(g_stats.maps_direct), u(g_stats.maps_fallback), u(g_stats.reads_direct),
                         u(g_stats.read_bytes_direct), u(g_stats.reads_fallback), why);
        int sfd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, g_cfg.stats_path,
                                           O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
        if (sfd >= 0 && n > 0) {
            syscall(SYS_write, sfd, buf, static_cast<size_t>(n) < sizeof buf ? n : sizeof buf - 1);
            syscall(SYS_close, sfd);
        }
    }
}

// The real function once resolved; null makes the wrapper issue the system call.
#define REAL(fn) (ready() && g_real.fn ? g_real.fn : nullptr)

int after_open(int fd) {
    if (fd >= 0) drop_fd(fd);
    return fd;
}

bool needs_mode(int flags) { return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE; }

ssize_t read_via(const struct iovec* iov, int cnt, int fd, off_t off, Pos pos, bool* served) {
    ssize_t r = 0;
    *served = direct_read(fd, iov, cnt, off, pos, &r);
    return r;
}

}  // namespace

// ---- the wrappers ---------------------------------------------------------------------

#define OPEN_WRAPPER(name, field)                                                              \
    EXPORT int name(const char* path, int flags, ...) {                                        \
        mode_t mode = 0;                                                                       \
        if (needs_mode(flags)) {                                                               \
            va_list ap;                                                                        \
            va_start(ap, flags);                                                               \
            mode = static_cast<mode_t>(va_arg(ap, int));                                       \
            va_end(ap);                                                                        \
        }                                                                                      \
        if (auto f = REAL(field)) return after_open(f(path, flags, mode));                     \
        return after_open(static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, flags, mode))); \
    }
OPEN_WRAPPER(open, open)
OPEN_WRAPPER(open64, open64)

#define OPENAT_WRAPPER(name, field)                                                         \
    EXPORT int name(int dirfd, const char* path, int flags, ...) {                          \
        mode_t mode = 0;                                                                    \
        if (needs_mode(flags)) {                                                            \
            va_list ap;                                                                     \
            va_start(ap, flags);                                                            \
            mode = static_cast<mode_t>(va_arg(ap, int));                                    \
            va_end(ap);                                                                     \
        }                                                                                   \
        if (auto f = REAL(field)) return after_open(f(dirfd, path, flags, mode));           \
        return after_open(static_cast<int>(syscall(SYS_openat, dirfd, path, flags, mode))); \
    }
OPENAT_WRAPPER(openat, openat)
OPENAT_WRAPPER(openat64, openat64)

EXPORT int __open_2(const char* path, int flags) {
    if (auto f = REAL(open_2)) return after_open(f(path, flags));
    return after_open(static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, flags, 0)));
}
EXPORT int __open64_2(const char* path, int flags) {
    if (auto f = REAL(open64_2)) return after_open(f(path, flags));
    return after_open(static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, flags, 0)));
}
EXPORT int __openat_2(int dirfd, const char* path, int flags) {
    if (auto f = REAL(openat_2)) return after_open(f(dirfd, path, flags));
    return after_open(static_cast<int>(syscall(SYS_openat, dirfd, path, flags, 0)));
}
EXPORT int __openat64_2(int dirfd, const char* path, int flags) {
    if (auto f = REAL(openat64_2)) return after_open(f(dirfd, path, flags));
    return after_open(static_cast<int>(syscall(SYS_openat, dirfd, path, flags, 0)));
}

EXPORT int close(int fd) {
    drop_fd(fd);
    if (auto f = REAL(close)) return f(fd);
    return static_cast<int>(syscall(SYS_close, fd));
}

EXPORT int close_range(unsigned first, unsigned last, int flags) {
    int r;
    if (auto f = REAL(close_range))
        r = f(first, last, flags);
    else
        r = static_cast<int>(syscall(SYS_close_range, first, last, flags));
    if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
        for (unsigned fd = first; fd <= last && fd < static_cast<unsigned>(kMaxFd); ++fd)
            drop_fd(static_cast<int>(fd));
    return r;
}

EXPORT void closefrom(int lowfd) {
    if (auto f = REAL(closefrom))
        f(lowfd);
    else
        syscall(SYS_close_range, lowfd, ~0U, 0);
    for (int fd = lowfd < 0 ? 0 : lowfd; fd < kMaxFd; ++fd) drop_fd(fd);
}

EXPORT int dup(int fd) {
    int r;
    if (auto f = REAL(dup))
        r = f(fd);
    else
        r = static_cast<int>(syscall(SYS_dup, fd));
    return after_open(r);
}

EXPORT int dup2(int oldfd, int newfd) {
    int r;
    if (auto f = REAL(dup2))
        r = f(oldfd, newfd);
    else
        r = static_cast<int>(oldfd == newfd ? syscall(SYS_fcntl, oldfd, F_GETFD) < 0 ? -1 : oldfd
                                            : syscall(SYS_dup3, oldfd, newfd, 0));
    if (r >= 0 && oldfd != newfd) drop_fd(r);
    return r;
}

EXPORT int dup3(int oldfd, int newfd, int flags) {
    int r;
    if (auto f = REAL(dup3))
        r = f(oldfd, newfd, flags);
    else
        r = static_cast<int>(syscall(SYS_dup3, oldfd, newfd, flags));
    return after_open(r);
}

namespace {
int fcntl_common(int (*real)(int, int, ...), int fd, int cmd, void* arg) {
    int r;
    if (real)
        r = real(fd, cmd, arg);
    else
        r = static_cast<int>(syscall(SYS_fcntl, fd, cmd, arg));
    if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && r >= 0) drop_fd(r);
    return r;
}
}  // namespace

EXPORT int fcntl(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return fcntl_common(REAL(fcntl), fd, cmd, arg);
}
EXPORT int fcntl64(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return fcntl_common(REAL(fcntl64), fd, cmd, arg);
}

EXPORT ssize_t read(int fd, void* buf, size_t n) {
    struct iovec iov {
        buf, n
    };
    bool served;
    ssize_t r = read_via(&iov, 1, fd, 0, Pos::Current, &served);
    if (served) return r;
    if (auto f = REAL(read)) return f(fd, buf, n);
    return syscall(SYS_read, fd, buf, n);
}
EXPORT ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen) {
    if (n > buflen) {
        if (auto f = REAL(read_chk)) return f(fd, buf, n, buflen);  // it aborts
        abort();
    }
    return read(fd, buf, n);
}

#define PREAD_WRAPPER(name, field)                                      \
    EXPORT ssize_t name(int fd, void* buf, size_t n, off_t off) {       \
        struct iovec iov {                                              \
            buf, n                                                      \
        };                                                              \
        bool served;                                                    \
        ssize_t r = read_via(&iov, 1, fd, off, Pos::Explicit, &served); \
        if (served) return r;                                           \
        if (auto f = REAL(field)) return f(fd, buf, n, off);            \
        return syscall(SYS_pread64, fd, buf, n, off);                   \
    }
PREAD_WRAPPER(pread, pread)
PREAD_WRAPPER(pread64, pread64)

EXPORT ssize_t __pread_chk(int fd, void* buf, size_t n, off_t off, size_t buflen) {
    if (n > buflen) {
        if (auto f = REAL(pread_chk)) return f(fd, buf, n, off, buflen);
        abort();
    }
    return pread(fd, buf, n, off);
}
EXPORT ssize_t __pread64_chk(int fd, void* buf, size_t n, off_t off, size_t buflen) {
    if (n > buflen) {
        if (auto f = REAL(pread64_chk)) return f(fd, buf, n, off, buflen);
        abort();
    }
    return pread64(fd, buf, n, off);
}

EXPORT ssize_t readv(int fd, const struct iovec* iov, int cnt) {
    bool served;
    ssize_t r = cnt > 0 && cnt <= IOV_MAX ? read_via(iov, cnt, fd, 0, Pos::Current, &served)
                                          : (served = false, 0);
    if (served) return r;
    if (auto f = REAL(readv)) return f(fd, iov, cnt);
    return syscall(SYS_readv, fd, iov, cnt);
}

#define PREADV_WRAPPER(name, field)                                            \
    EXPORT ssize_t name(int fd, const struct iovec* iov, int cnt, off_t off) { \
        bool served;                                                           \
        ssize_t r = cnt > 0 && cnt <= IOV_MAX                                  \
                        ? read_via(iov, cnt, fd, off, Pos::Explicit, &served)  \
                        : (served = false, 0);                                 \
        if (served) return r;                                                  \
        if (auto f = REAL(field)) return f(fd, iov, cnt, off);                 \
        return syscall(SYS_preadv, fd, iov, cnt, off, 0);                      \
    }
PREADV_WRAPPER(preadv, preadv)
PREADV_WRAPPER(preadv64, preadv64)

#define PREADV2_WRAPPER(name, field)                                                            \
    EXPORT ssize_t name(int fd, const struct iovec* iov, int cnt, off_t off, int flags) {       \
        bool served = false;                                                                    \
        ssize_t r = 0;                                                                          \
        if (flags == 0 && cnt > 0 && cnt <= IOV_MAX)                                            \
            r = read_via(iov, cnt, fd, off, off == -1 ? Pos::Current : Pos::Explicit, &served); \
        if (served) return r;                                                                   \
        if (auto f = REAL(field)) return f(fd, iov, cnt, off, flags);                           \
        return syscall(SYS_preadv2, fd, iov, cnt, off, 0, flags);                               \
    }
PREADV2_WRAPPER(preadv2, preadv2)
PREADV2_WRAPPER(preadv64v2, preadv64v2)

#define MMAP_WRAPPER(name, field)                                                       \
    EXPORT void* name(void* addr, size_t len, int prot, int flags, int fd, off_t off) { \
        bool served;                                                                    \
        void* p = direct_mmap(addr, len, prot, flags, fd, off, &served);                \
        if (served) return p;                                                           \
        if (auto f = REAL(field)) return f(addr, len, prot, flags, fd, off);            \
        long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);                    \
        return r == -1 ? MAP_FAILED : reinterpret_cast<void*>(r);                       \
    }
MMAP_WRAPPER(mmap, mmap)
MMAP_WRAPPER(mmap64, mmap64)

EXPORT int munmap(void* addr, size_t len) {
    MapRecord r;
    if (find_exact(addr, len, /*take=*/true, &r))
        return static_cast<int>(syscall(SYS_munmap, r.base, r.base_len));
    int rc;
    if (auto f = REAL(munmap))
        rc = f(addr, len);
    else
        rc = static_cast<int>(syscall(SYS_munmap, addr, len));
    if (rc == 0) forget_overlapping(reinterpret_cast<uintptr_t>(addr), len);
    return rc;
}

EXPORT int mprotect(void* addr, size_t len, int prot) {
    MapRecord r;
    if (find_exact(addr, len, /*take=*/false, &r))
        return static_cast<int>(syscall(SYS_mprotect, r.base, r.base_len, prot));
    if (auto f = REAL(mprotect)) return f(addr, len, prot);
    return static_cast<int>(syscall(SYS_mprotect, addr, len, prot));
}

EXPORT int madvise(void* addr, size_t len, int advice) {
    MapRecord r;
    if (find_exact(addr, len, /*take=*/false, &r))
        return static_cast<int>(syscall(SYS_madvise, r.base, r.base_len, advice));
    if (auto f = REAL(madvise)) return f(addr, len, advice);
    return static_cast<int>(syscall(SYS_madvise, addr, len, advice));
}
