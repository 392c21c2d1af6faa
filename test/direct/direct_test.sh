#!/bin/bash
# Direct access (libfamfs-direct.so under `famfs run`) on a real compat-mode
# mount of an emulated device: which path ran is read from the library's
# per-process counters (FAMFS_DIRECT_STATS) and the daemon's READ counter;
# every byte read is checked against the seeded pattern. Root.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../integration/lib.sh"
: "${DIRECT_CHECK:?}" "${DIRECT_MKMULTI:?}" "${FAMFS_DIRECT_LIB:?}"
export FAMFS_DIRECT_LIB

it_workdir
chmod 755 "$W"   # the permission checks run as nobody
DEV=$W/famfs0
M=$W/mnt
mkdir -p "$M" "$W/out"
chmod 777 "$W/out"

# ---- files of every shape --------------------------------------------------------
"$FAMFS" mkfs --emulate 4G "$DEV" >/dev/null || { echo "FAIL: mkfs"; exit 1; }
F() { "$FAMFS" --device "$DEV" "$@" >/dev/null || echo "FAIL: setup: famfs $*"; }
F mkdir -p dir/sub
F creat -s 64M -S 21 big
F creat -s 1 -S 22 one
F creat -s 5000013 -S 23 dir/sub/odd
F creat -s 32M -S 24 -N 4 -B 4 -C 2M striped
F creat -s 16M -S 26 -m 0666 scratch
F creat -s 8M -S 27 -m 0666 shared_rw
"$DIRECT_MKMULTI" "$DEV" multi 3 4 $((10 * 1048576 + 123)) 25 || echo "FAIL: setup: multi-extent file"
check "famfs mount" mount_famfs "$DEV" "$M"
fmap() { python3 -c 'import json,os,sys; j=json.loads(os.getxattr(sys.argv[1],"user.famfs.fmap")); print(j["ext_type"], len(j["extents"]))' "$1"; }
check "multi-extent file has 3 extents ($(fmap "$M/multi"))" [ "$(fmap "$M/multi")" = "simple 3" ]
check "striped file has 4 strips ($(fmap "$M/striped"))" [ "$(fmap "$M/striped")" = "interleave 4" ]

reads() { python3 -c 'import json,os,sys; print(json.loads(os.getxattr(sys.argv[1],"user.famfs.stats"))["requests"]["read"])' "$M"; }
# stat_sum FILE KEY [COMM]: the sum of KEY over the processes (optionally named COMM) in FILE.
stat_sum() {
    python3 - "$@" <<'EOF'
import json, sys
path, key = sys.argv[1], sys.argv[2]
comm = sys.argv[3] if len(sys.argv) > 3 else None
total = 0
try:
    for line in open(path):
        j = json.loads(line)
        if comm is None or j["comm"] == comm:
            total += j[key] if key != "fallbacks" else sum(j["fallback_reasons"].values())
except FileNotFoundError:
    pass
print(total)
EOF
}
reason() {  # reason FILE TEXT: count of fallbacks whose reason contains TEXT
    python3 -c 'import json,sys; print(sum(v for l in open(sys.argv[1]) for k,v in json.loads(l)["fallback_reasons"].items() if sys.argv[2] in k))' "$1" "$2"
}
N=0
newstats() { N=$((N + 1)); s=$W/out/stats.$N; }  # sets $s

# direct NAME CHECK-ARGS...: famfs-direct-check under famfs run; passes when the
# check passes, something was served directly and nothing fell back (or, with
# ALLOW=N, exactly the N fallbacks the check provokes on purpose).
direct() {
    local what=$1 s
    shift
    newstats
    if ! "$FAMFS" run --stats "$s" -- "$DIRECT_CHECK" "$@"; then fail "$what: check failed"; return; fi
    local d fb
    d=$(( $(stat_sum "$s" maps_direct) + $(stat_sum "$s" reads_direct) ))
    fb=$(stat_sum "$s" fallbacks)
    if [ "$d" -gt 0 ] && [ "$fb" -eq "${ALLOW:-0}" ]; then pass "$what (direct: $d, fallbacks: $fb)"
    else fail "$what (direct: $d, fallbacks: $fb: $(cat "$s"))"; fi
}

# ---- every shape, every read path ---------------------------------------------------
for spec in "big 21" "one 22" "dir/sub/odd 23" "striped 24" "multi 25"; do
    set -- $spec
    direct "read $1" read "$M/$1" "$2"
    direct "pread/readv/preadv $1" pread "$M/$1" "$2"
    # mmap provokes two fallbacks on purpose: PROT_WRITE on O_RDONLY, and a
    # map past the file's extents (checked by name below).
    ALLOW=2 direct "mmap $1 (whole, at offsets; munmap/mprotect/madvise/msync)" mmap "$M/$1" "$2"
done
direct "dup/dup2/dup3/F_DUPFD share the offset, close keeps the rest" dup "$M/big" 21
direct "fork: the child reads through inherited mapping and fd" fork "$M/striped" 24
direct "threads: 8 threads pread and map at once" threads "$M/multi" 25
newstats
check "famfs-iocheck read under famfs run" "$FAMFS" run --stats "$s" -- "$IOCHECK" read "$M/big" 21
check "famfs-iocheck mmap-read under famfs run" "$FAMFS" run --stats "$s" -- "$IOCHECK" mmap-read "$M/striped" 24
check "famfs-iocheck: served directly" [ "$(stat_sum "$s" reads_direct)" -gt 0 -a "$(stat_sum "$s" maps_direct)" -gt 0 ]

# ---- the daemon sees no READ while a direct mapping is read ----------------------------
r0=$(reads)
ALLOW=2 direct "mmap of 64 MiB" mmap "$M/big" 21
direct "pread of the striped file" pread "$M/striped" 24
r1=$(reads)
check "daemon READ counter did not move ($r0 -> $r1)" [ "$r0" -eq "$r1" ]
r0=$(reads)
"$IOCHECK" read "$M/big" 21 >/dev/null
check "control: without famfs run the same read reaches the daemon ($r0 -> $(reads))" [ "$(reads)" -gt "$r0" ]

# ---- writes through the mount are visible to direct readers -----------------------------
direct "pwrite through the mount: direct pread and mapping see it at once" write "$M/scratch" 26
direct "write(pipe|file, mapped_ptr, n) from a direct mapping" pipe "$M/big" 21

# ---- fallbacks --------------------------------------------------------------------------
newstats
check "MAP_PRIVATE: right bytes, stores stay private" "$FAMFS" run --stats "$s" -- "$DIRECT_CHECK" private "$M/big" 21
check "MAP_PRIVATE: fell back ($(reason "$s" MAP_PRIVATE))" [ "$(reason "$s" MAP_PRIVATE)" -eq 1 ]
check "MAP_PRIVATE: the same program's pread stayed direct" [ "$(stat_sum "$s" reads_direct)" -gt 0 ]

newstats
"$FAMFS" run --stats "$s" -- "$DIRECT_CHECK" mmap "$M/big" 21 >/dev/null
check "PROT_WRITE on an O_RDONLY fd falls back (EACCES kept)" [ "$(reason "$s" "access mode")" -eq 1 ]
check "a map past the file's extents falls back" [ "$(reason "$s" "outside the file")" -eq 1 ]

as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
chmod 0600 "$DEV"
newstats
check "nobody, device 0600: mmap read works (normal path)" as_nobody "$FAMFS" run --stats "$s" -- "$DIRECT_CHECK" mmap "$M/big" 21
check "nobody, device 0600: read works (normal path)" as_nobody "$FAMFS" run --stats "$s" -- "$DIRECT_CHECK" pread "$M/dir/sub/odd" 23
check "nobody, device 0600: nothing served directly" [ "$(stat_sum "$s" maps_direct)" -eq 0 -a "$(stat_sum "$s" reads_direct)" -eq 0 ]
check "nobody, device 0600: fallbacks name the device ($(reason "$s" device))" [ "$(reason "$s" device)" -gt 0 ]
chmod 0644 "$DEV"
newstats
check "nobody, device 0644: read-only maps are direct" as_nobody "$FAMFS" run --stats "$s" -- "$DIRECT_CHECK" mmap "$M/big" 21
check "nobody, device 0644: served directly" [ "$(stat_sum "$s" maps_direct)" -gt 0 ]
newstats
check "nobody, device 0644: a PROT_WRITE map of a 0666 file works" as_nobody "$FAMFS" run --stats "$s" -- "$DIRECT_CHECK" store "$M/shared_rw" 4096 171
check "nobody, device 0644: PROT_WRITE fell back (device not writable)" [ "$(reason "$s" device)" -eq 1 -a "$(stat_sum "$s" maps_direct)" -eq 0 ]
check "the store landed in the device (root reads it directly)" bash -c \
    "'$FAMFS' run -- python3 -c 'import sys; f=open(sys.argv[1],\"rb\"); f.seek(4096); sys.exit(0 if f.read(1)==bytes([171]) else 1)' '$M/shared_rw'"
chmod 0644 "$DEV"

newstats
check "a file not on famfs: read normally" bash -c "'$FAMFS' run --stats '$s' -- cat /etc/os-release | grep -q Debian"
check "a file not on famfs: nothing direct, no fallback counted" [ "$(stat_sum "$s" files_direct)" -eq 0 -a "$(stat_sum "$s" fallbacks)" -eq 0 ]
echo "SKIP: a real mount in famfs mode falls back: needs a famfs kernel (this stock kernel runs compat mode; direct_unit checks the decision from the stats xattr)"

# ---- exec of programs that know nothing about famfs ----------------------------------------
want=$(sha256sum <"$M/big" | cut -d' ' -f1)   # the compat path (the daemon)
check "famfs verify agrees with the compat view" "$FAMFS" verify -S 21 "$M/big"
newstats
got=$("$FAMFS" run --stats "$s" -- sh -c "cat '$M/big' | sha256sum" | cut -d' ' -f1)
check "sh -> cat (exec'd children): checksum equal to the compat view" [ "$got" = "$want" ]
check "sh -> cat: cat read directly ($(stat_sum "$s" read_bytes_direct cat) bytes)" \
    [ "$(stat_sum "$s" read_bytes_direct cat)" -eq $((64 << 20)) ]
direct "no device fd is open while a direct mapping is live" no-device-fd "$DEV" "$M/big"

# Debian's python3 (python3-numpy is installed for it), whatever python3 is first in PATH.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
newstats
got=$("$FAMFS" run --stats "$s" -- "$PY" -c '
import hashlib, mmap, sys
with open(sys.argv[1], "rb") as f:
    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    print(hashlib.sha256(m).hexdigest())
    m.close()' "$M/big")
check "python mmap: sha256 equal to the compat view" [ "$got" = "$want" ]
check "python mmap: mapped directly" [ "$(stat_sum "$s" maps_direct python3)" -ge 1 -a "$(stat_sum "$s" fallbacks python3)" -eq 0 ]
if "$PY" -c 'import numpy' 2>/dev/null; then
    for spec in "big 21" "striped 24" "multi 25"; do
        set -- $spec
        want=$(sha256sum <"$M/$1" | cut -d' ' -f1)
        "$FAMFS" verify -S "$2" "$M/$1" >/dev/null || fail "famfs verify $1"
        newstats
        got=$("$FAMFS" run --stats "$s" -- "$PY" -c '
import hashlib, sys, numpy as np
a = np.memmap(sys.argv[1], dtype=np.uint8, mode="r")
print(hashlib.sha256(a.tobytes()).hexdigest())' "$M/$1")
        check "numpy.memmap $1: sha256 equal to the compat view and famfs verify" [ "$got" = "$want" ]
        check "numpy.memmap $1: mapped directly" [ "$(stat_sum "$s" maps_direct python3)" -ge 1 -a "$(stat_sum "$s" fallbacks python3)" -eq 0 ]
    done
else
    echo "SKIP: numpy.memmap: python3-numpy is not installed (scripts/install-deps.sh installs it)"
fi

# ---- the log, the command line ---------------------------------------------------------------
out=$(FAMFS_DIRECT_LOG=1 LD_PRELOAD=$FAMFS_DIRECT_LIB "$DIRECT_CHECK" private "$M/big" 21 2>&1)
check "FAMFS_DIRECT_LOG=1: says what fell back and why" grep -q "fallback: MAP_PRIVATE" <<<"$out"
check "FAMFS_DIRECT_LOG=1: says what was read directly" grep -q "read fd .* direct from $DEV" <<<"$out"
check "FAMFS_DIRECT_LOG=1: a summary at exit" grep -q "exit (famfs-direct-c.*mmap direct 0 fallback 1" <<<"$out"
out=$("$FAMFS" run --log -- "$DIRECT_CHECK" mmap "$M/one" 22 2>&1)
check "famfs run --log: direct mmap logged" grep -q "mmap fd .*one off 0 len 1 prot r: direct" <<<"$out"
check "famfs run --help is a manual page" bash -c "'$FAMFS' run --help | grep -q LD_PRELOAD"
"$FAMFS" run >/dev/null 2>&1; rc=$?
check "famfs run without a command: usage error (2)" [ $rc -eq 2 ]
"$FAMFS" run -- /nonexistent/cmd 2>/dev/null; rc=$?
check "famfs run of a missing command: 127" [ $rc -eq 127 ]
"$FAMFS" run -- sh -c 'exit 7'; rc=$?
check "famfs run passes the command's exit status" [ $rc -eq 7 ]
out=$("$FAMFS" run sh -c 'echo "$1"' sh --log 2>&1)
check "famfs run: options after the command are the command's ($out)" [ "$out" = "--log" ]
out=$("$FAMFS" run -- sh -c 'echo "$1"' sh --stats 2>&1)
check "famfs run --: the same after --  ($out)" [ "$out" = "--stats" ]

summary
