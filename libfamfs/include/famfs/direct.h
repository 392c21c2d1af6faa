/*
 * famfs direct access: read and map files of a famfs-fused mount straight from
 * the device, without the daemon on the data path (docs/direct-access.md).
 *
 * A famfs file is a fixed list of 2 MiB-aligned extents of one device. On a
 * compat-mode mount (every stock kernel) the daemon serves its data through
 * FUSE and the page cache; a program that may open the device itself can
 * instead map those extents directly: memory speed, no copy, and the same
 * bytes every host sees. libfamfs-direct.so (`famfs run CMD`) does this for
 * unmodified programs; this header is the same machinery for programs that
 * want it without preloading.
 *
 * Plain C, no exceptions, no allocation: every call is a few system calls
 * (issued with syscall(2), so an LD_PRELOAD wrapper never sees them).
 * Functions return 0 or a positive famfs_direct_why; never -1/errno.
 */
#ifndef FAMFS_DIRECT_H
#define FAMFS_DIRECT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FAMFS_DIRECT_MAX_EXTENTS 16 /* simple extents, or strips of a striped file */
#define FAMFS_DIRECT_ALIGN (2u << 20)
#define FAMFS_DIRECT_PATH_MAX 512

/* Why a file cannot be served directly (0: it can). */
enum famfs_direct_why {
    FAMFS_DIRECT_OK = 0,
    FAMFS_DIRECT_NOT_REGULAR,   /* not a regular file (or fstat failed) */
    FAMFS_DIRECT_NOT_FAMFS,     /* not on a fuse.famfs mount */
    FAMFS_DIRECT_FAMFS_MODE,    /* the mount is in famfs mode: the kernel maps the device itself */
    FAMFS_DIRECT_NO_FMAP,       /* the daemon gave no user.famfs.fmap for the file */
    FAMFS_DIRECT_BAD_FMAP,      /* the map does not parse or is not 2 MiB aligned */
    FAMFS_DIRECT_ACCESS_MODE,   /* the file is not open with the access mode the request needs */
    FAMFS_DIRECT_DEVICE_ACCESS, /* the device cannot be opened with the needed mode */
    FAMFS_DIRECT_PRIVATE,       /* MAP_PRIVATE (copy-on-write needs the page cache) */
    FAMFS_DIRECT_FLAGS,         /* mmap flags or PROT_EXEC this path does not handle */
    FAMFS_DIRECT_RANGE,         /* offset/length outside the file's extents, or unaligned */
    FAMFS_DIRECT_MAP_FAILED,    /* the device refused the mapping (errno kept in the mapping) */
    FAMFS_DIRECT_WHY_COUNT
};
const char* famfs_direct_why_str(int why);

struct famfs_direct_extent {
    uint64_t offset; /* bytes from the start of the device */
    uint64_t len;    /* bytes */
};

/* What the daemon's user.famfs.fmap xattr says about an open file, plus its mount. */
struct famfs_direct_file {
    uint64_t size;        /* file size in bytes */
    uint64_t capacity;    /* bytes the extents cover (>= size, a 2 MiB multiple) */
    uint64_t dev;         /* st_dev of the mount */
    uint64_t ino;         /* st_ino */
    uint32_t interleaved; /* 0: ext[] are the file's extents in order; 1: ext[] are strips */
    uint32_t nextents;
    uint64_t chunk_size; /* striped files: bytes per chunk (a 2 MiB multiple) */
    struct famfs_direct_extent ext[FAMFS_DIRECT_MAX_EXTENTS];
};

/* A famfs-fused mount (from /proc/self/mountinfo and its stats xattr). */
struct famfs_direct_mount {
    uint64_t dev;
    int mount_id;
    int famfs_mode; /* 1: the kernel maps the device itself (stats "mode": "famfs") */
    int coherent;   /* 1: the daemon treats the memory as coherent between hosts */
    char device[FAMFS_DIRECT_PATH_MAX];     /* the mount's source: the device path */
    char mountpoint[FAMFS_DIRECT_PATH_MAX]; /* as seen by this process */
};

/* A mapping made by famfs_direct_map_fd: addr/len is what the caller asked
 * for; base/base_len is what was really mapped (whole 2 MiB units, as devdax
 * requires). Release it with famfs_direct_unmap. */
struct famfs_direct_mapping {
    void* addr;
    size_t len;
    void* base;
    size_t base_len;
    int err; /* errno of a failed mmap (FAMFS_DIRECT_MAP_FAILED) */
};

/* Lower level, the steps of famfs_direct_probe. famfs_direct_identify: st_dev
 * and st_ino of a regular file on an anonymous-device filesystem (FUSE's),
 * without asking the daemon (AT_STATX_DONT_SYNC). */
int famfs_direct_identify(int fd, uint64_t* dev, uint64_t* ino);
/* fgetxattr(fd, "user.famfs.fmap") and parse it (the kernel checks that the
 * caller may read the file). */
int famfs_direct_read_fmap(int fd, struct famfs_direct_file* out);
/* The famfs mount whose st_dev is `dev` (mountinfo only; mode
 * and coherence are filled by famfs_direct_mount_mode). */
int famfs_direct_find_mount(uint64_t dev, struct famfs_direct_mount* out);
/* Reads the stats xattr of the mount root. Unknown (no xattr): compat, not coherent. */
void famfs_direct_mount_mode(struct famfs_direct_mount* m);
/* Identifies an open fd: regular file on a compat-mode famfs mount, with its map.
 * `mount` may be NULL. */
int famfs_direct_probe(int fd, struct famfs_direct_file* file, struct famfs_direct_mount* mount);
/* Parses the JSON of user.famfs.fmap (exposed for tests). */
int famfs_direct_parse_fmap(const char* json, size_t len, struct famfs_direct_file* out);

/* Device offset of file offset `off` and how many bytes stay contiguous
 * there; 0 on success, FAMFS_DIRECT_RANGE past the extents. */
int famfs_direct_resolve(const struct famfs_direct_file* f, uint64_t off, uint64_t* dev_off,
                         uint64_t* contiguous);

/* Opens the device (O_CLOEXEC) for reading, or reading and writing. Returns
 * the fd, or -1 with errno (the process's own permission on the device). */
int famfs_direct_open_device(const char* device, int writable);

/* Maps file bytes [off, off+len) of `f` from `devfd` with MAP_SHARED. `off`
 * must be page aligned. The range is widened to whole 2 MiB units and laid
 * into one reserved, 2 MiB-aligned address range (one piece per extent or
 * chunk, MAP_FIXED), so huge pages stay possible. `fixed` non-NULL maps
 * exactly [fixed, fixed+len) with MAP_FIXED instead (no widening).
 * `extra_flags`: MAP_POPULATE, MAP_LOCKED, MAP_NORESERVE, MAP_SYNC (with
 * MAP_SHARED_VALIDATE in `map_type`). */
int famfs_direct_map_fd(const struct famfs_direct_file* f, int devfd, uint64_t off, size_t len,
                        int prot, int map_type, int extra_flags, void* fixed,
                        struct famfs_direct_mapping* out);
int famfs_direct_unmap(const struct famfs_direct_mapping* m);

/* The whole file by path: opens it (read-only, or read-write with PROT_WRITE),
 * checks it, opens the device, maps [0, size). Returns 0 or a why; on
 * success *out describes the mapping (out->len = file size). */
int famfs_direct_map_path(const char* path, int prot, struct famfs_direct_mapping* out);

#ifdef __cplusplus
}
#endif

#endif /* FAMFS_DIRECT_H */
