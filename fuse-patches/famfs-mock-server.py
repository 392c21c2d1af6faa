#!/usr/bin/python3
"""A scriptable famfs FUSE server, for testing the kernel series only.

famfs-fused answers the kernel correctly; the kernel's checks are about
servers that do not.  This server speaks the raw /dev/fuse protocol of the
7.3-project revision (minor 47, FUSE_DAX_FMAP = 1 << 44, GET_FMAP = 54,
GET_DAXDEV = 55) and answers exactly what a JSON spec tells it to, including
wrong things: a GET_DAXDEV path that is not a dax device, maps with bad
fields, a size that changes after the map was served. It is not a
filesystem anyone should use.

    famfs-mock-server.py SPEC.json MOUNTPOINT

SPEC:
  {"daxdev": "/dev/dax0.0",             # GET_DAXDEV reply name
   "log": "/tmp/mock.log",              # one line per request: OPCODE nodeid name
   "ready": "/tmp/mock.ready",          # created once INIT is answered
   "files": {"NAME": FILE, ...},        # regular files in the root directory
   "create": FILE}                      # what CREATE / TMPFILE make (optional)
  FILE: {"size": N,                     # size LOOKUP/GETATTR report
         "size_after_map": N,           # size reported once the map was served
         "mode": 0o644,
         "fmap": {"file_size": N, "ext_type": 0|1,
                  "reserved": 0, "reserved0": 0, "reserved1": 0,
                  "extents": [{"dev": 0, "off": N, "len": N, "reserved": 0}],
                  "iext": [{"chunk": N, "nbytes": N, "reserved": 0,
                            "strips": [{"dev": 0, "off": N, "len": N}]}]}}
The server mounts MOUNTPOINT itself (it must run as root with
CAP_SYS_RAWIO, as the kernel requires for famfs) and exits when unmounted.
"""
import ctypes
import errno
import json
import os
import struct
import sys

FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR = 1, 2, 3
FUSE_OPEN, FUSE_READ, FUSE_WRITE, FUSE_RELEASE = 14, 15, 16, 18
FUSE_FLUSH, FUSE_INIT, FUSE_INTERRUPT = 25, 26, 36
FUSE_CREATE, FUSE_DESTROY, FUSE_BATCH_FORGET, FUSE_TMPFILE = 35, 38, 42, 51
FUSE_GET_FMAP, FUSE_GET_DAXDEV = 54, 55
FUSE_INIT_EXT = 1 << 30
FUSE_DAX_FMAP = 1 << 44
NAMES = {1: "LOOKUP", 2: "FORGET", 3: "GETATTR", 4: "SETATTR", 14: "OPEN", 15: "READ",
         16: "WRITE", 17: "STATFS", 18: "RELEASE", 22: "GETXATTR", 25: "FLUSH", 26: "INIT",
         27: "OPENDIR", 28: "READDIR", 29: "RELEASEDIR", 34: "ACCESS", 35: "CREATE",
         36: "INTERRUPT", 38: "DESTROY", 42: "BATCH_FORGET", 51: "TMPFILE",
         54: "GET_FMAP", 55: "GET_DAXDEV"}
NO_REPLY = {FUSE_FORGET, FUSE_BATCH_FORGET, FUSE_INTERRUPT}
IN_HDR = struct.Struct("<IIQQIIIHH")    # fuse_in_header, 40 bytes
OUT_HDR = struct.Struct("<IiQ")         # fuse_out_header, 16 bytes
ATTR = struct.Struct("<QQQQQQIIIIIIIIII")   # fuse_attr, 88 bytes
S_IFREG, S_IFDIR = 0o100000, 0o040000


class Mock:
    def __init__(self, spec, mnt):
        self.spec = spec
        self.mnt = mnt
        self.log = open(spec.get("log", "/dev/null"), "a", buffering=1)
        self.nodes = {1: ("", None)}        # nodeid -> (name, FILE)
        self.by_name = {}
        self.mapped = set()                 # nodeids whose map was served
        for name, f in spec.get("files", {}).items():
            self.add(name, f)

    def add(self, name, f):
        nodeid = len(self.nodes) + 1
        self.nodes[nodeid] = (name, f)
        self.by_name[name] = nodeid
        return nodeid

    def attr(self, nodeid):
        name, f = self.nodes[nodeid]
        if f is None:
            return ATTR.pack(1, 0, 0, 0, 0, 0, 0, 0, 0, S_IFDIR | 0o755, 2, 0, 0, 0, 4096, 0)
        size = f["size"]
        if nodeid in self.mapped and "size_after_map" in f:
            size = f["size_after_map"]
        mode = S_IFREG | f.get("mode", 0o644)
        return ATTR.pack(nodeid, size, (size + 511) // 512, 0, 0, 0, 0, 0, 0, mode, 1, 0, 0, 0,
                         4096, 0)

    def entry(self, nodeid):
        # entry valid 1 s, attr valid 0: every stat asks GETATTR
        return struct.pack("<QQQQII", nodeid, 1, 1, 0, 0, 0) + self.attr(nodeid)

    def fmap(self, nodeid):
        m = self.nodes[nodeid][1]["fmap"]
        out = bytearray()
        if m.get("ext_type", 0) == 0:
            n = len(m["extents"])
        else:
            n = len(m["iext"])
        out += struct.pack("<BBHIIIQQ", 0, m.get("reserved", 0), 1, m.get("ext_type", 0), n,
                           m.get("reserved0", 0), m["file_size"], m.get("reserved1", 0))

        def ext(e):
            return struct.pack("<IIQQ", e.get("dev", 0), e.get("reserved", 0), e["off"], e["len"])
        if m.get("ext_type", 0) == 0:
            for e in m["extents"]:
                out += ext(e)
        else:
            for ie in m["iext"]:
                out += struct.pack("<IIQQ", len(ie["strips"]), ie["chunk"], ie["nbytes"],
                                   ie.get("reserved", 0))
                for e in ie["strips"]:
                    out += ext(e)
        return bytes(out)

    def handle(self, op, nodeid, body):
        """Return (errno, payload)."""
        if op == FUSE_INIT:
            major, minor, ra, flags, flags2 = struct.unpack_from("<IIIII", body)
            offered = flags | (flags2 << 32 if flags & FUSE_INIT_EXT else 0)
            want = FUSE_INIT_EXT | (FUSE_DAX_FMAP if offered & FUSE_DAX_FMAP else 0)
            self.log.write(f"INIT offered_dax_fmap={int(bool(offered & FUSE_DAX_FMAP))}\n")
            out = struct.pack("<IIIIHHIIHHIIH22x", 7, 47, ra, want & 0xffffffff, 16, 12,
                              128 * 1024, 1, 32, 0, want >> 32, 0, 0)
            return 0, out
        if op == FUSE_LOOKUP:
            name = body.split(b"\0")[0].decode()
            if nodeid != 1 or name not in self.by_name:
                return errno.ENOENT, b""
            return 0, self.entry(self.by_name[name])
        if op == FUSE_GETATTR:
            return 0, struct.pack("<QII", 0, 0, 0) + self.attr(nodeid)
        if op == FUSE_OPEN:
            return 0, struct.pack("<QIi", nodeid, 0, 0)     # no FOPEN_KEEP_CACHE
        if op in (FUSE_RELEASE, FUSE_FLUSH, FUSE_DESTROY):
            return 0, b""
        if op in (FUSE_CREATE, FUSE_TMPFILE):
            if "create" not in self.spec:
                return errno.EROFS, b""
            name = body[16:].split(b"\0")[0].decode() or f"tmpfile{len(self.nodes)}"
            n = self.add(name, dict(self.spec["create"]))
            return 0, self.entry(n) + struct.pack("<QIi", n, 0, 0)
        if op == FUSE_GET_FMAP:
            if nodeid not in self.nodes or self.nodes[nodeid][1] is None:
                return errno.EINVAL, b""
            self.mapped.add(nodeid)
            return 0, self.fmap(nodeid)
        if op == FUSE_GET_DAXDEV:
            name = self.spec["daxdev"].encode()
            return 0, struct.pack("<HHIQQ", nodeid, 0, 0, 0, 0) + name.ljust(256, b"\0")
        return errno.ENOSYS, b""

    def run(self, fd):
        while True:
            try:
                buf = os.read(fd, 256 * 1024 + 4096)
            except OSError as e:
                if e.errno in (errno.EINTR, errno.EAGAIN, errno.ENOENT):
                    continue
                return          # ENODEV: unmounted
            _, op, unique, nodeid, uid, _, _, _, _ = IN_HDR.unpack_from(buf)
            body = buf[IN_HDR.size:]
            name = self.nodes.get(nodeid, ("?", None))[0]
            self.log.write(f"{NAMES.get(op, op)} {nodeid} {name} uid={uid}\n")
            if op in NO_REPLY:
                continue
            err, payload = self.handle(op, nodeid, body)
            if op == FUSE_INIT and "ready" in self.spec:
                open(self.spec["ready"], "w").close()
            try:
                os.write(fd, OUT_HDR.pack(OUT_HDR.size + len(payload), -err, unique) + payload)
            except OSError as e:
                self.log.write(f"reply to {NAMES.get(op, op)} failed: {e}\n")
            if op == FUSE_DESTROY:
                return


def main():
    spec = json.load(open(sys.argv[1]))
    mnt = sys.argv[2]
    fd = os.open("/dev/fuse", os.O_RDWR)
    libc = ctypes.CDLL(None, use_errno=True)
    opts = f"fd={fd},rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions"
    if libc.mount(b"famfs-mock", mnt.encode(), b"fuse.famfs-mock", 0, opts.encode()) != 0:
        e = ctypes.get_errno()
        sys.exit(f"famfs-mock-server: mount {mnt}: {os.strerror(e)}")
    Mock(spec, mnt).run(fd)


if __name__ == "__main__":
    main()
