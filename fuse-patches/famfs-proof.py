#!/usr/bin/python3
"""Measure one mmap touch loop over a famfs file and print the proof line.

    famfs-proof.py MODE GUEST FILE [MOUNT]

Maps FILE (MAP_SHARED, read-only), reads every byte through the mapping
(sha256 over it), and prints exactly one line:

  famfs-proof mode=MODE guest=GUEST bytes=N minflt=N daemon_requests=N \
      addr_2m_aligned=0|1 sha256=HEX

minflt is getrusage(RUSAGE_SELF).ru_minflt across the loop only. With PMD
(2 MiB) faults a file of N bytes costs about N / 2 MiB faults; with 4 KiB
pages (and fault-around) it costs thousands. daemon_requests is the change
of famfs-fused's total request count (every opcode it counts, plus the
kernel-protocol requests) across the loop, read from the user.famfs.stats
xattr of MOUNT; the cost of reading the xattr itself is measured first and
subtracted. Without MOUNT it is -1.
"""
import hashlib
import json
import mmap
import os
import resource
import sys
import time

CHUNK = 4 << 20
IDLE = 2.5  # seconds: longer than famfs-fused's attribute timeout (1 s)


def total_requests(dirfd):
    # fgetxattr on a directory opened before the loop: no path walk. The
    # permission check still revalidates the root's attributes once they
    # are older than the attribute timeout (a GETATTR); main() makes the
    # calibration read and the final read equally stale.
    s = json.loads(os.getxattr(dirfd, "user.famfs.stats"))
    n = sum(int(v) for v in s.get("requests", {}).values())
    k = s.get("kernel_protocol", {})
    for key in ("get_fmap", "get_fmap_failed", "get_daxdev", "get_daxdev_failed", "malformed"):
        n += int(k.get(key, 0))
    return n


def mapping_address(path):
    real = os.path.realpath(path)
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 6 and fields[5] == real:
                return int(fields[0].split("-")[0], 16)
    return -1


def main():
    mode, guest, path = sys.argv[1:4]
    mount = sys.argv[4] if len(sys.argv) > 4 else None
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
    addr = mapping_address(path)
    mv = memoryview(m)
    h = hashlib.sha256()
    probe = 0
    if mount:
        dirfd = os.open(mount, os.O_RDONLY | os.O_DIRECTORY)
        a = total_requests(dirfd)
        time.sleep(IDLE)
        b = total_requests(dirfd)
        probe = b - a   # what one stats read after IDLE seconds adds
        before = total_requests(dirfd)
    flt0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for off in range(0, size, CHUNK):
        h.update(mv[off:off + CHUNK])
    flt1 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    reqs = -1
    if mount:
        time.sleep(IDLE)
        reqs = total_requests(dirfd) - before - probe
        os.close(dirfd)
    mv.release()
    m.close()
    os.close(fd)
    aligned = int(addr >= 0 and addr % (2 << 20) == 0)
    print(f"famfs-proof mode={mode} guest={guest} bytes={size} minflt={flt1 - flt0} "
          f"daemon_requests={reqs} addr_2m_aligned={aligned} sha256={h.hexdigest()}")


if __name__ == "__main__":
    main()
