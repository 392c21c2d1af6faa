// famfs direct access (famfs/direct.h): identify files of famfs-fused mounts,
// read their extent lists, and map those extents of the device.
//
// This file is also compiled into libfamfs-direct.so (the LD_PRELOAD
// library), so it follows that library's rules: no exceptions, no heap, no
// static constructors, and every system call through syscall(2) so that the
// preload's own wrappers (open, read, mmap, ...) are never re-entered.
#include "famfs/direct.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/stat.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

namespace {

constexpr uint64_t kAlign = FAMFS_DIRECT_ALIGN;
constexpr char kFmapXattr[] = "user.famfs.fmap";
constexpr char kStatsXattr[] = "user.famfs.stats";

uint64_t round_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

// ---- raw system calls (errno set, -1 on failure) --------------------------------

int sys_open(const char* path, int flags) {
    return static_cast<int>(syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, 0));
}
void sys_close(int fd) {
    const int saved = errno;
    syscall(SYS_close, fd);
    errno = saved;
}
ssize_t sys_read(int fd, void* buf, size_t n) { return syscall(SYS_read, fd, buf, n); }
void* sys_mmap(void* addr, size_t len, int prot, int flags, int fd, uint64_t off) {
    long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
    return r == -1 ? MAP_FAILED : reinterpret_cast<void*>(r);
}
int sys_munmap(void* addr, size_t len) { return static_cast<int>(syscall(SYS_munmap, addr, len)); }

// ---- a minimal JSON reader for the daemon's two xattrs ------------------------------
// The daemon writes them with nlohmann::json::dump(): compact, keys sorted. We
// still accept any whitespace and key order, and skip keys we do not know.

struct Cursor {
    const char* p;
    const char* end;
    bool ok = true;

    void ws() {
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')) ++p;
    }
    bool eat(char c) {
        ws();
        if (p < end && *p == c) {
            ++p;
            return true;
        }
        return false;
    }
    bool peek(char c) {
        ws();
        return p < end && *p == c;
    }
    // A string's raw bytes (escapes left as they are; only compared with plain words).
    bool string(const char** s, size_t* n) {
        if (!eat('"')) return ok = false;
        const char* start = p;
        while (p < end && *p != '"') p += (*p == '\\' && p + 1 < end) ? 2 : 1;
        if (p >= end) return ok = false;
        *s = start;
        *n = static_cast<size_t>(p - start);
        ++p;
        return true;
    }
    bool number(uint64_t* v) {
        ws();
        if (p >= end || *p < '0' || *p > '9') return ok = false;
        uint64_t x = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            const uint64_t d = static_cast<uint64_t>(*p - '0');
            if (x > (~0ULL - d) / 10) return ok = false;
            x = x * 10 + d;
            ++p;
        }
        if (p < end && (*p == '.' || *p == 'e' || *p == 'E')) return ok = false;
        *v = x;
        return true;
    }
    bool word(const char* w) {
        ws();
        const size_t n = std::strlen(w);
        if (static_cast<size_t>(end - p) < n || std::memcmp(p, w, n) != 0) return false;
        p += n;
        return true;
    }
    bool skip(int depth = 0) {
        if (depth > 16) return ok = false;
        ws();
        if (p >= end) return ok = false;
        const char* s;
        size_t n;
        uint64_t v;
        switch (*p) {
            case '"':
                return string(&s, &n);
            case '{':
                return members([&](const char*, size_t, Cursor& c) { return c.skip(depth + 1); });
            case '[':
                return elements([&](Cursor& c) { return c.skip(depth + 1); });
            case 't':
                return word("true") || (ok = false);
            case 'f':
                return word("false") || (ok = false);
            case 'n':
                return word("null") || (ok = false);
            case '-':
                ++p;
                return number(&v);
            default:
                return number(&v);
        }
    }
    // {"key": value, ...}: f(key, len, cursor) consumes each value.
    template <typename F>
    bool members(F f) {
        if (!eat('{')) return ok = false;
        if (eat('}')) return true;
        do {
            const char* k;
            size_t kn;
            if (!string(&k, &kn) || !eat(':') || !f(k, kn, *this)) return ok = false;
        } while (eat(','));
        return eat('}') || (ok = false);
    }
    template <typename F>
    bool elements(F f) {
        if (!eat('[')) return ok = false;
        if (eat(']')) return true;
        do {
            if (!f(*this)) return ok = false;
        } while (eat(','));
        return eat(']') || (ok = false);
    }
};

bool key_is(const char* k, size_t n, const char* want) {
    return std::strlen(want) == n && std::memcmp(k, want, n) == 0;
}

uint64_t capacity_of(const famfs_direct_file& f) {
    if (f.interleaved) {
        uint64_t min_len = ~0ULL;
        for (uint32_t i = 0; i < f.nextents; ++i)
            if (f.ext[i].len < min_len) min_len = f.ext[i].len;
        return min_len / f.chunk_size * f.chunk_size * f.nextents;
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < f.nextents; ++i) total += f.ext[i].len;
    return total;
}

// mountinfo escapes space, tab, newline and backslash (and, with newer
// daemons, commas) as \ooo.
void unescape_into(const char* s, size_t n, char* out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; ++i) {
        if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
            s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
            out[o++] =
                static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
}

// Splits a mountinfo line into whitespace-separated fields (in place, no copy).
struct Field {
    const char* s;
    size_t n;
};
size_t split_fields(const char* line, size_t len, Field* f, size_t max) {
    size_t nf = 0, i = 0;
    while (i < len && nf < max) {
        while (i < len && line[i] == ' ') ++i;
        if (i >= len) break;
        const size_t start = i;
        while (i < len && line[i] != ' ') ++i;
        f[nf++] = {line + start, i - start};
    }
    return nf;
}

// One mountinfo line: does it describe a fuse.famfs mount of `dev`?
bool match_line(const char* line, size_t len, uint64_t dev, famfs_direct_mount* out) {
    Field f[32];
    const size_t nf = split_fields(line, len, f, 32);
    if (nf < 10) return false;
    // id parent maj:min root mountpoint opts [optional...] - fstype source superopts
    char majmin[32];
    if (f[2].n >= sizeof majmin) return false;
    std::memcpy(majmin, f[2].s, f[2].n);
    majmin[f[2].n] = '\0';
    unsigned maj = 0, min = 0;
    const char* colon = std::strchr(majmin, ':');
    if (!colon) return false;
    for (const char* p = majmin; p < colon; ++p) maj = maj * 10 + static_cast<unsigned>(*p - '0');
    for (const char* p = colon + 1; *p; ++p) min = min * 10 + static_cast<unsigned>(*p - '0');
    if (maj != major(dev) || min != minor(dev)) return false;
    size_t sep = 6;
    while (sep < nf && !(f[sep].n == 1 && f[sep].s[0] == '-')) ++sep;
    if (sep + 2 >= nf) return false;
    if (!(f[sep + 1].n == 10 && std::memcmp(f[sep + 1].s, "fuse.famfs", 10) == 0)) return false;
    unsigned id = 0;
    for (size_t i = 0; i < f[0].n; ++i) id = id * 10 + static_cast<unsigned>(f[0].s[i] - '0');
    out->dev = dev;
    out->mount_id = static_cast<int>(id);
    out->famfs_mode = 0;
    out->coherent = 0;
    unescape_into(f[sep + 2].s, f[sep + 2].n, out->device, sizeof out->device);
    unescape_into(f[4].s, f[4].n, out->mountpoint, sizeof out->mountpoint);
    return true;
}

}  // namespace

extern "C" {

const char* famfs_direct_why_str(int why) {
    switch (why) {
        case FAMFS_DIRECT_OK:
            return "direct";
        case FAMFS_DIRECT_NOT_REGULAR:
            return "not a regular file";
        case FAMFS_DIRECT_NOT_FAMFS:
            return "not on a fuse.famfs mount";
        case FAMFS_DIRECT_FAMFS_MODE:
            return "mount is in famfs mode (the kernel maps the device)";
        case FAMFS_DIRECT_NO_FMAP:
            return "no user.famfs.fmap xattr";
        case FAMFS_DIRECT_BAD_FMAP:
            return "file map unusable";
        case FAMFS_DIRECT_ACCESS_MODE:
            return "file not open with the needed access mode";
        case FAMFS_DIRECT_DEVICE_ACCESS:
            return "device cannot be opened with the needed mode";
        case FAMFS_DIRECT_PRIVATE:
            return "MAP_PRIVATE";
        case FAMFS_DIRECT_FLAGS:
            return "unsupported mmap flags or PROT_EXEC";
        case FAMFS_DIRECT_RANGE:
            return "offset/length outside the file's extents";
        case FAMFS_DIRECT_MAP_FAILED:
            return "device mmap failed";
        default:
            return "unknown";
    }
}

int famfs_direct_parse_fmap(const char* json, size_t len, famfs_direct_file* out) {
    famfs_direct_file f;
    std::memset(&f, 0, sizeof f);
    bool have_size = false, have_type = false, too_many = false;
    Cursor c{json, json + len};
    c.members([&](const char* k, size_t kn, Cursor& v) {
        if (key_is(k, kn, "size")) return have_size = v.number(&f.size);
        if (key_is(k, kn, "chunk_size")) return v.number(&f.chunk_size);
        if (key_is(k, kn, "ext_type")) {
            const char* s;
            size_t n;
            if (!v.string(&s, &n)) return false;
            have_type = true;
            if (key_is(s, n, "interleave"))
                f.interleaved = 1;
            else if (!key_is(s, n, "simple"))
                return false;
            return true;
        }
        if (key_is(k, kn, "extents")) {
            return v.elements([&](Cursor& e) {
                famfs_direct_extent x{~0ULL, ~0ULL};
                if (!e.members([&](const char* ek, size_t ekn, Cursor& ev) {
                        if (key_is(ek, ekn, "offset")) return ev.number(&x.offset);
                        if (key_is(ek, ekn, "len")) return ev.number(&x.len);
                        return ev.skip();
                    }))
                    return false;
                if (f.nextents == FAMFS_DIRECT_MAX_EXTENTS) {
                    too_many = true;
                    return true;
                }
                f.ext[f.nextents++] = x;
                return true;
            });
        }
        return v.skip();
    });
    if (!c.ok || !have_size || !have_type || too_many || f.nextents == 0)
        return FAMFS_DIRECT_BAD_FMAP;
    for (uint32_t i = 0; i < f.nextents; ++i) {
        const famfs_direct_extent& e = f.ext[i];
        if (e.len == 0 || e.offset % kAlign || e.len % kAlign || e.offset + e.len < e.offset)
            return FAMFS_DIRECT_BAD_FMAP;
    }
    if (f.interleaved && (f.chunk_size == 0 || f.chunk_size % kAlign)) return FAMFS_DIRECT_BAD_FMAP;
    f.capacity = capacity_of(f);
    if (f.capacity < f.size) return FAMFS_DIRECT_BAD_FMAP;
    *out = f;
    return FAMFS_DIRECT_OK;
}

int famfs_direct_resolve(const famfs_direct_file* f, uint64_t off, uint64_t* dev_off,
                         uint64_t* contiguous) {
    if (off >= f->capacity) return FAMFS_DIRECT_RANGE;
    if (!f->interleaved) {
        uint64_t base = 0;
        for (uint32_t i = 0; i < f->nextents; ++i) {
            const famfs_direct_extent& e = f->ext[i];
            if (off < base + e.len) {
                *dev_off = e.offset + (off - base);
                *contiguous = e.len - (off - base);
                return FAMFS_DIRECT_OK;
            }
            base += e.len;
        }
        return FAMFS_DIRECT_RANGE;
    }
    const uint64_t chunk = off / f->chunk_size;
    const uint64_t strip = chunk % f->nextents;
    const uint64_t row = chunk / f->nextents;
    const uint64_t within = off % f->chunk_size;
    *dev_off = f->ext[strip].offset + row * f->chunk_size + within;
    *contiguous = f->chunk_size - within;
    return FAMFS_DIRECT_OK;
}

int famfs_direct_identify(int fd, uint64_t* dev, uint64_t* ino) {
    struct statx stx;
    // DONT_SYNC: FUSE answers from its attribute cache, no request to the daemon.
    if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO,
                &stx) != 0)
        return FAMFS_DIRECT_NOT_REGULAR;
    if ((stx.stx_mode & S_IFMT) != S_IFREG) return FAMFS_DIRECT_NOT_REGULAR;
    // FUSE superblocks get anonymous device numbers (major 0).
    if (stx.stx_dev_major != 0) return FAMFS_DIRECT_NOT_FAMFS;
    *dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
    *ino = stx.stx_ino;
    return FAMFS_DIRECT_OK;
}

int famfs_direct_read_fmap(int fd, famfs_direct_file* out) {
    char buf[4096];  // 16 extents and an 80-byte path fit with room to spare
    const long n = syscall(SYS_fgetxattr, fd, kFmapXattr, buf, sizeof buf);
    if (n <= 0) return FAMFS_DIRECT_NO_FMAP;
    return famfs_direct_parse_fmap(buf, static_cast<size_t>(n), out);
}

int famfs_direct_find_mount(uint64_t dev, famfs_direct_mount* out) {
    const int fd = sys_open("/proc/self/mountinfo", O_RDONLY);
    if (fd < 0) return FAMFS_DIRECT_NOT_FAMFS;
    // Line by line through a fixed buffer; a line longer than it is skipped.
    char buf[4096];  // small: this may run on a signal handler's stack
    size_t have = 0;
    bool found = false, skipping = false, eof = false;
    while (!found && !eof) {
        ssize_t r = sys_read(fd, buf + have, sizeof buf - have);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            eof = true;
            if (have == 0 || have == sizeof buf) break;
            buf[have++] = '\n';  // a last line without newline
        } else {
            have += static_cast<size_t>(r);
        }
        size_t start = 0;
        for (size_t i = 0; i < have && !found; ++i) {
            if (buf[i] != '\n') continue;
            if (!skipping) found = match_line(buf + start, i - start, dev, out);
            skipping = false;
            start = i + 1;
        }
        if (found) break;
        if (start == 0 && have == sizeof buf) {  // one overlong line: drop it
            skipping = true;
            have = 0;
        } else {
            std::memmove(buf, buf + start, have - start);
            have -= start;
        }
    }
    sys_close(fd);
    return found ? FAMFS_DIRECT_OK : FAMFS_DIRECT_NOT_FAMFS;
}

void famfs_direct_mount_mode(famfs_direct_mount* m) {
    m->famfs_mode = 0;
    m->coherent = 0;
    char buf[4096];
    const long n = syscall(SYS_getxattr, m->mountpoint, kStatsXattr, buf, sizeof buf);
    if (n <= 0) return;
    Cursor c{buf, buf + n};
    c.members([&](const char* k, size_t kn, Cursor& v) {
        if (key_is(k, kn, "mode")) {
            const char* s;
            size_t sn;
            if (!v.string(&s, &sn)) return false;
            m->famfs_mode = key_is(s, sn, "famfs");
            return true;
        }
        if (key_is(k, kn, "coherent")) {
            if (v.word("true"))
                m->coherent = 1;
            else if (!v.word("false"))
                return false;
            return true;
        }
        return v.skip();
    });
}

int famfs_direct_probe(int fd, famfs_direct_file* file, famfs_direct_mount* mount) {
    uint64_t dev = 0, ino = 0;
    if (int why = famfs_direct_identify(fd, &dev, &ino)) return why;
    famfs_direct_mount m;
    if (int why = famfs_direct_find_mount(dev, &m)) return why;
    famfs_direct_mount_mode(&m);
    if (m.famfs_mode) return FAMFS_DIRECT_FAMFS_MODE;
    if (int why = famfs_direct_read_fmap(fd, file)) return why;
    file->dev = dev;
    file->ino = ino;
    if (mount) *mount = m;
    return FAMFS_DIRECT_OK;
}

int famfs_direct_open_device(const char* device, int writable) {
    return sys_open(device, writable ? O_RDWR : O_RDONLY);
}

int famfs_direct_map_fd(const famfs_direct_file* f, int devfd, uint64_t off, size_t len, int prot,
                        int map_type, int extra_flags, void* fixed, famfs_direct_mapping* out) {
    std::memset(out, 0, sizeof *out);
    const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    if (len == 0 || off % page || off + len < off) return FAMFS_DIRECT_RANGE;
    uint64_t fstart, fend;
    uint8_t* base;
    if (fixed) {
        if (reinterpret_cast<uintptr_t>(fixed) % page) return FAMFS_DIRECT_RANGE;
        fstart = off;
        fend = round_up(off + len, page);
        if (fend > f->capacity) return FAMFS_DIRECT_RANGE;
        base = static_cast<uint8_t*>(fixed);
    } else {
        // Whole 2 MiB units, at a 2 MiB-aligned address: the device offset of
        // every piece is then congruent to its address modulo 2 MiB, which
        // devdax requires and which lets tmpfs/hugetlbfs use PMD mappings.
        fstart = round_down(off, kAlign);
        fend = round_up(off + len, kAlign);
        if (fend > f->capacity) return FAMFS_DIRECT_RANGE;
        const size_t span = fend - fstart;
        void* r = sys_mmap(nullptr, span + kAlign, PROT_NONE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (r == MAP_FAILED) {
            out->err = errno;
            return FAMFS_DIRECT_MAP_FAILED;
        }
        const uintptr_t raw = reinterpret_cast<uintptr_t>(r);
        const uintptr_t aligned = round_up(raw, kAlign);
        if (aligned > raw) sys_munmap(r, aligned - raw);
        const uintptr_t tail = raw + span + kAlign - (aligned + span);
        if (tail) sys_munmap(reinterpret_cast<void*>(aligned + span), tail);
        base = reinterpret_cast<uint8_t*>(aligned);
    }
    const int flags = map_type | MAP_FIXED | extra_flags;
    for (uint64_t pos = fstart; pos < fend;) {
        uint64_t dev_off = 0, contiguous = 0;
        if (famfs_direct_resolve(f, pos, &dev_off, &contiguous) != FAMFS_DIRECT_OK) {
            if (!fixed) sys_munmap(base, fend - fstart);
            return FAMFS_DIRECT_RANGE;
        }
        const uint64_t n = contiguous < fend - pos ? contiguous : fend - pos;
        if (sys_mmap(base + (pos - fstart), n, prot, flags, devfd, dev_off) == MAP_FAILED) {
            out->err = errno;
            if (!fixed) sys_munmap(base, fend - fstart);
            return FAMFS_DIRECT_MAP_FAILED;
        }
        pos += n;
    }
    out->addr = base + (off - fstart);
    out->len = len;
    out->base = base;
    out->base_len = fend - fstart;
    return FAMFS_DIRECT_OK;
}

int famfs_direct_unmap(const famfs_direct_mapping* m) {
    if (!m->base) return 0;
    return sys_munmap(m->base, m->base_len) == 0 ? 0 : -1;
}

int famfs_direct_map_path(const char* path, int prot, famfs_direct_mapping* out) {
    std::memset(out, 0, sizeof *out);
    const bool writable = prot & PROT_WRITE;
    if (prot & PROT_EXEC) return FAMFS_DIRECT_FLAGS;
    const int fd = sys_open(path, writable ? O_RDWR : O_RDONLY);
    if (fd < 0) {
        out->err = errno;
        return FAMFS_DIRECT_ACCESS_MODE;
    }
    famfs_direct_file f;
    famfs_direct_mount m;
    int why = famfs_direct_probe(fd, &f, &m);
    sys_close(fd);
    if (why) return why;
    if (f.size == 0) return FAMFS_DIRECT_RANGE;
    const int devfd = famfs_direct_open_device(m.device, writable);
    if (devfd < 0) {
        out->err = errno;
        return FAMFS_DIRECT_DEVICE_ACCESS;
    }
    why = famfs_direct_map_fd(&f, devfd, 0, f.size, prot, MAP_SHARED, 0, nullptr, out);
    sys_close(devfd);
    return why;
}

}  // extern "C"
