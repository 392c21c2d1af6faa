#!/usr/bin/env python3
"""Writes the issue-11 list of hostile log entries, each with a valid crc and
seqnum, interleaved with valid files, into a freshly formatted famfs device,
from the documented byte layout only:

  hostile_log.py DEV    prints "INDEX KIND NAME" for each entry written

KIND is "valid" (must be served, with its bytes), "refused" (must not be
served; fsck must list its index) or "neutralised" (served with the unsafe
part removed; fsck lists it). Valid files hold 0xA5-filled data."""
import mmap
import stat
import struct
import sys
import zlib

LOG = 0x200000
MB2 = 0x200000


def entry(index, typ, body):
    e = bytearray(544)
    struct.pack_into("<QI", e, 0, index, typ)
    e[16:16 + len(body)] = body
    struct.pack_into("<Q", e, 536, zlib.crc32(bytes(e[:536])))
    return e


def mkdir_body(path, mode=0o755):
    b = bytearray(92)
    struct.pack_into("<III", b, 0, 0, 0, mode)
    b[12:12 + len(path)] = path
    return b


def file_body(path, size, extents, mode=0o644, interleave=None):
    b = bytearray(520)
    struct.pack_into("<QIIII", b, 0, size, 2, 0, 0, mode)
    b[24:24 + len(path)] = path
    fm = 104
    if interleave is None:
        struct.pack_into("<III", b, fm, 0, 0, len(extents))
        for k, (off, ln) in enumerate(extents):
            struct.pack_into("<QQQ", b, fm + 16 + 24 * k, 0, off, ln)
    else:
        nstrips, chunk = interleave
        struct.pack_into("<III", b, fm, 1, 0, 1)
        struct.pack_into("<QQ", b, fm + 16, nstrips, chunk)
        for k, (off, ln) in enumerate(extents):
            struct.pack_into("<QQQ", b, fm + 32 + 24 * k, 0, off, ln)
    return b


def main():
    dev = sys.argv[1]
    f = open(dev, "r+b")
    m = mmap.mmap(f.fileno(), 0)
    size = len(m)
    data0 = 0xa00000  # 8 MiB log
    nxt = [data0]

    def alloc(n=1):
        off = nxt[0]
        nxt[0] += n * MB2
        m[off:off + n * MB2] = b"\xa5" * (n * MB2)
        return off

    ents = []  # (kind, name, typ, body)
    def valid_file(name):
        ents.append(("valid", name, 0, file_body(name.encode(), 4096, [(alloc(), MB2)])))
    valid_file("ok0")
    ents.append(("valid", "okdir", 1, mkdir_body(b"okdir")))
    hostile = [
        ("absolute", 1, mkdir_body(b"/abs")),
        ("dotdot", 1, mkdir_body(b"okdir/../../etc")),
        ("empty-component", 1, mkdir_body(b"okdir//x")),
        ("nul-inside", 1, mkdir_body(b"n\0ul")),  # served as "n"? -> neutralised below
        ("name-80", 1, mkdir_body(b"x" * 80)),
        ("file-under-file", 0, file_body(b"ok0/under", 4096, [(alloc(), MB2)])),
        ("duplicate", 0, file_body(b"ok0", 4096, [(alloc(), MB2)])),
        ("17-extents", 0, None),
        ("past-device", 0, file_body(b"past", 4096, [(size, MB2)])),
        ("zero-length", 0, file_body(b"zero", 4096, [(alloc(), 0)])),
        ("in-superblock", 0, file_body(b"sbfile", 4096, [(0, MB2)], 0o666)),
        ("in-log", 0, file_body(b"logfile", 4096, [(LOG, MB2)], 0o666)),
        ("overlap", 0, file_body(b"thief", 4096, [(data0, MB2)], 0o666)),
        ("0-strips", 0, file_body(b"s0", 4096, [], interleave=(0, MB2))),
        ("chunk-not-2M", 0, file_body(b"s1", 8 * MB2, [(alloc(4), 4 * MB2), (alloc(4), 4 * MB2)],
                                      interleave=(2, MB2 + 4096))),
        ("size-over-extents", 0, file_body(b"big", 3 * MB2, [(alloc(), MB2)])),
    ]
    b = file_body(b"ext17", 4096, [])
    struct.pack_into("<I", b, 104 + 8, 17)
    hostile[7] = ("17-extents", 0, b)
    for name, typ, body in hostile:
        kind = "refused"
        ents.append((kind, name, typ, body))
        valid_file("ok%d" % len(ents))
    ents.append(("valid", "name-79", 1, mkdir_body(b"y" * 79)))
    ents.append(("neutralised", "setuid", 0,
                 file_body(b"setuid", 4096, [(alloc(), MB2)], stat.S_ISUID | stat.S_ISGID | 0o755)))
    ents.append(("neutralised", "chardev", 0,
                 file_body(b"chardev", 4096, [(alloc(), MB2)], stat.S_IFCHR | 0o666)))
    valid_file("oklast")
    for i, (kind, name, typ, body) in enumerate(ents):
        if name == "nul-inside":
            kind = "valid-as-n"  # the bytes after the NUL are ignored: served as "n"
        o = LOG + 48 + 544 * i
        m[o:o + 544] = entry(i, typ, body)
        print(i, kind, name)
    struct.pack_into("<QQ", m, LOG + 32, len(ents), len(ents))
    m.flush()


if __name__ == "__main__":
    main()
