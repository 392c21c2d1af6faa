#!/usr/bin/env python3
"""Reads a famfs device image with nothing but the documented byte layout
(docs/on-media-format.md), independently of libfamfs, for the crash tests.

  famfs_image.py DEV has PATH...         exit 0 when every PATH is in the log
  famfs_image.py DEV same SRCDIR DEST    exit 0 when DEST (a famfs dir) holds
                                         every file of SRCDIR with its bytes;
                                         prints the paths that differ
  famfs_image.py DEV overlap             exit 0 when no two published file
                                         extents overlap and none is in the
                                         superblock/log region
"""
import mmap
import os
import struct
import sys

LOG = 0x200000


def entries(dev):
    with open(dev, "rb") as f:
        m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    log_len = struct.unpack_from("<Q", m, 24)[0]
    next_index = struct.unpack_from("<Q", m, LOG + 40)[0]
    out = []
    for i in range(next_index):
        o = LOG + 48 + 544 * i
        seq, typ = struct.unpack_from("<QI", m, o)
        body = o + 16
        if typ == 1:
            path = m[body + 12:body + 92].split(b"\0")[0]
            out.append(("dir", path.decode("utf-8", "surrogateescape"), 0, []))
        elif typ == 0:
            size = struct.unpack_from("<Q", m, body)[0]
            path = m[body + 24:body + 104].split(b"\0")[0]
            fm = body + 104
            et, _, count = struct.unpack_from("<III", m, fm)
            ext = []
            if et == 0:
                for k in range(min(count, 16)):
                    _, off, ln = struct.unpack_from("<QQQ", m, fm + 16 + 24 * k)
                    ext.append((off, ln))
                chunk = 0
            else:
                nstrips, chunk = struct.unpack_from("<QQ", m, fm + 16)
                for k in range(min(nstrips, 16)):
                    _, off, ln = struct.unpack_from("<QQQ", m, fm + 32 + 24 * k)
                    ext.append((off, ln))
            out.append(("file", path.decode("utf-8", "surrogateescape"), size, (et, chunk, ext)))
    return m, log_len, out


def read_file(m, size, fmap):
    et, chunk, ext = fmap
    data = bytearray()
    if et == 0:
        for off, ln in ext:
            data += m[off:off + ln]
    else:
        rows = min(ln for _, ln in ext) // chunk
        for r in range(rows):
            for off, _ in ext:
                data += m[off + r * chunk:off + (r + 1) * chunk]
    return bytes(data[:size])


def main():
    dev, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    m, log_len, ents = entries(dev)
    if cmd == "has":
        have = {p for _, p, _, _ in ents}
        missing = [p for p in args if p not in have]
        for p in missing:
            print("missing:", p)
        return 1 if missing else 0
    if cmd == "same":
        src, dest = args
        files = {p: (s, fm) for k, p, s, fm in ents if k == "file"}
        bad = 0
        for root, _, names in os.walk(src):
            for n in names:
                full = os.path.join(root, n)
                rel = os.path.join(dest, os.path.relpath(full, src))
                want = open(full, "rb").read()
                if rel not in files:
                    print("missing:", rel)
                    bad += 1
                elif read_file(m, *files[rel]) != want:
                    print("differs:", rel)
                    bad += 1
        return 1 if bad else 0
    if cmd == "overlap":
        reserved = (LOG + log_len + 0x1fffff) // 0x200000 * 0x200000
        spans = sorted((off, off + ln, p) for k, p, _, fm in ents if k == "file" for off, ln in fm[2])
        bad = 0
        for i, (a, b, p) in enumerate(spans):
            if a < reserved:
                print("in metadata:", p)
                bad += 1
            if i and spans[i - 1][1] > a:
                print("overlap:", spans[i - 1][2], p)
                bad += 1
        return 1 if bad else 0
    print("unknown command", cmd)
    return 2


if __name__ == "__main__":
    sys.exit(main())
