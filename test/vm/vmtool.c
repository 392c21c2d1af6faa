/*
 * vmtool: small helper for the famfs VM harness, compiled on the host at
 * run time and used both on the host and (through the read-only 9p view of
 * the host root) inside the guests.
 *
 *   vmtool sum FILE...               mmap each file read-only, print
 *                                    "<fnv1a64-hex> <size> <path>"
 *   vmtool poke DEV OFFSET STRING    mmap DEV (e.g. /dev/dax0.0) shared and
 *                                    store STRING at OFFSET
 *   vmtool peek DEV OFFSET LEN       mmap DEV and print LEN bytes at OFFSET
 *   vmtool findsb FILE               print the byte offset of the famfs
 *                                    superblock (magic 0x87b282ff at a 2 MiB
 *                                    aligned offset) in FILE, exit 1 if none
 *   vmtool flip FILE OFFSET          xor the byte at OFFSET of FILE with 0xff
 *                                    (through a shared mapping, so running
 *                                    guests that share FILE see it at once)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ALIGN_2M (2ULL << 20)
#define FAMFS_SUPER_MAGIC 0x87b282ffULL

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "vmtool: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

/* Map [off, off+len) of fd, honouring devdax's 2 MiB alignment. */
static unsigned char *map_range(int fd, uint64_t off, uint64_t len, int prot,
				void **base, size_t *maplen)
{
	uint64_t start = off & ~(ALIGN_2M - 1);
	uint64_t end = (off + len + ALIGN_2M - 1) & ~(ALIGN_2M - 1);
	void *p = mmap(NULL, end - start, prot, MAP_SHARED, fd, (off_t)start);
	if (p == MAP_FAILED)
		return NULL;
	*base = p;
	*maplen = end - start;
	return (unsigned char *)p + (off - start);
}

static int cmd_sum(int argc, char **argv)
{
	int rc = 0;
	for (int i = 0; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);
		struct stat st;
		uint64_t h = 0xcbf29ce484222325ULL;
		if (fd < 0 || fstat(fd, &st) < 0) {
			rc |= fail("open", argv[i]);
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (st.st_size > 0) {
			const unsigned char *p =
				mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
			if (p == MAP_FAILED) {
				rc |= fail("mmap", argv[i]);
				close(fd);
				continue;
			}
			for (off_t k = 0; k < st.st_size; k++) {
				h ^= p[k];
				h *= 0x100000001b3ULL;
			}
			munmap((void *)p, (size_t)st.st_size);
		}
		close(fd);
		printf("%016" PRIx64 " %lld %s\n", h, (long long)st.st_size, argv[i]);
	}
	return rc;
}

static int cmd_poke_peek(int poke, char **argv)
{
	uint64_t off = strtoull(argv[1], NULL, 0);
	uint64_t len = poke ? strlen(argv[2]) : strtoull(argv[2], NULL, 0);
	void *base;
	size_t maplen;
	int fd = open(argv[0], poke ? O_RDWR : O_RDONLY);
	if (fd < 0)
		return fail("open", argv[0]);
	unsigned char *p = map_range(fd, off, len, poke ? PROT_READ | PROT_WRITE : PROT_READ,
				     &base, &maplen);
	if (!p)
		return fail("mmap", argv[0]);
	if (poke) {
		memcpy(p, argv[2], len);
		msync(base, maplen, MS_SYNC);
	} else {
		fwrite(p, 1, len, stdout);
		putchar('\n');
	}
	munmap(base, maplen);
	close(fd);
	return 0;
}

static int cmd_findsb(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return fail("open", path);
	for (uint64_t off = 0; off + 8 <= (uint64_t)st.st_size; off += ALIGN_2M) {
		uint64_t magic;
		if (pread(fd, &magic, sizeof(magic), (off_t)off) != sizeof(magic))
			break;
		if (magic == FAMFS_SUPER_MAGIC) {
			printf("%" PRIu64 "\n", off);
			close(fd);
			return 0;
		}
	}
	close(fd);
	fprintf(stderr, "vmtool: no famfs superblock in %s\n", path);
	return 1;
}

static int cmd_flip(const char *path, const char *offs)
{
	uint64_t off = strtoull(offs, NULL, 0);
	void *base;
	size_t maplen;
	int fd = open(path, O_RDWR);
	if (fd < 0)
		return fail("open", path);
	unsigned char *p = map_range(fd, off, 1, PROT_READ | PROT_WRITE, &base, &maplen);
	if (!p)
		return fail("mmap", path);
	printf("byte at %" PRIu64 ": 0x%02x -> 0x%02x\n", off, *p, *p ^ 0xff);
	*p ^= 0xff;
	msync(base, maplen, MS_SYNC);
	munmap(base, maplen);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "sum"))
		return cmd_sum(argc - 2, argv + 2);
	if (argc == 5 && !strcmp(argv[1], "poke"))
		return cmd_poke_peek(1, argv + 2);
	if (argc == 5 && !strcmp(argv[1], "peek"))
		return cmd_poke_peek(0, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "findsb"))
		return cmd_findsb(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "flip"))
		return cmd_flip(argv[2], argv[3]);
	fprintf(stderr, "usage: vmtool sum FILE... | poke DEV OFF STR | peek DEV OFF LEN |"
			" findsb FILE | flip FILE OFF\n");
	return 2;
}
