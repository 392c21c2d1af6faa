#!/usr/bin/env bash
# Integration tests of the famfs CLI on an emulated device.
#
#   cli_test.sh [FAMFS_BINARY]
#
# Every step prints PASS/FAIL; the script ends with "N passed, M failed" and
# exits non-zero when anything failed. Needs bash, python3 and xz.
# Environment: FAMFS (the binary), FAMFS_GOLDEN_DIR (upstream images),
# FAMFS_TEST_DIR (where the 8 GiB sparse device goes; default /dev/shm).
set -u

FAMFS=${1:-${FAMFS:-famfs}}
FAMFS=$(command -v "$FAMFS" || echo "$FAMFS")
MKFS_FAMFS="$(dirname "$FAMFS")/mkfs.famfs"
HERE=$(cd "$(dirname "$0")" && pwd)
GOLDEN_DIR=${FAMFS_GOLDEN_DIR:-$HERE/../../../shared/golden}

base=${FAMFS_TEST_DIR:-}
if [ -z "$base" ]; then
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then base=/dev/shm; else base=${TMPDIR:-/tmp}; fi
fi
T=$(mktemp -d "$base/famfs-cli-test.XXXXXX")
MNT=$T/mnt
mounted() { awk -v m="$MNT" '$5 == m && / fuse\.famfs /' /proc/self/mountinfo | grep -q .; }
cleanup() {
    if mounted; then
        "$FAMFS" umount "$MNT" >/dev/null 2>&1 || umount -l "$MNT" 2>/dev/null
    fi
    # Whatever else a failed check left mounted under $T (read-only mount, script).
    awk -v t="$T/" 'index($5, t) == 1 && / fuse\.famfs /{print $5}' /proc/self/mountinfo |
        while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
DEV=$T/dev0
export FAMFS_SYSTEM_UUID_FILE=$T/system_uuid   # this "host" owns what it formats

# shellcheck source=../lib/check.sh
source "$HERE/../lib/check.sh"
step() { echo; echo "== $*"; }

# run CMD...: runs it, stdout in $T/out, stderr in $T/err, exit code in $rc.
run() { "$@" >"$T/out" 2>"$T/err"; rc=$?; }

# expect RC DESC CMD...: the command must exit with RC.
expect() {
    local want=$1 desc=$2
    shift 2
    run "$@"
    if [ "$rc" -eq "$want" ]; then
        pass "$desc (exit $rc)"
    else
        fail "$desc: exit $rc, expected $want; stderr: $(head -c 400 "$T/err")"
    fi
}

# expect_fail DESC PREFIX CMD...: non-zero exit, stderr is exactly one line
# starting with PREFIX.
expect_fail() {
    local desc=$1 prefix=$2
    shift 2
    run "$@"
    local lines
    lines=$(wc -l <"$T/err")
    if [ "$rc" -ne 0 ] && [ "$lines" -eq 1 ] && grep -q "^$prefix" "$T/err"; then
        pass "$desc (exit $rc: $(cat "$T/err"))"
    else
        fail "$desc: exit $rc, $lines stderr lines, expected one line '$prefix...': $(head -c 400 "$T/err")"
    fi
}

# contains FILE PATTERN DESC
contains() {
    if grep -qE -- "$2" "$1"; then pass "$3"; else fail "$3: no /$2/ in: $(head -c 600 "$1")"; fi
}

# Checksum of the metadata (superblock + log): to prove failed commands
# change nothing.
meta_sum() { head -c $((10 << 20)) "$1" | sha256sum | cut -d' ' -f1; }

# py EXPR < json: prints EXPR evaluated with d = the parsed JSON.
py() { python3 -c "import json,sys; d=json.load(sys.stdin); print(repr(($1)))"; }

F() { "$FAMFS" --device "$DEV" "$@"; }

echo "famfs binary: $FAMFS"
echo "work dir:     $T"

# ---------------------------------------------------------------------------
step "help and version"
expect 0 "famfs --version" "$FAMFS" --version
contains "$T/out" "famfs" "version names famfs"
expect 0 "famfs --help" "$FAMFS" --help
for c in mkfs creat verify mkdir cp getmap log fsck flush mount umount; do
    contains "$T/out" "^  ${c}[ ,]" "famfs --help lists $c"
done
for c in mkfs creat verify mkdir cp getmap log fsck flush; do
    run "$FAMFS" "$c" --help
    if [ "$rc" -eq 0 ] && grep -q '^SYNOPSIS' "$T/out" && grep -q '^DESCRIPTION' "$T/out" &&
        grep -q '^EXAMPLES' "$T/out" && grep -q '^EXIT STATUS' "$T/out" && grep -q 'Options:' "$T/out"; then
        pass "famfs $c --help is a man page (synopsis, description, options, examples, exit status)"
    else
        fail "famfs $c --help: exit $rc, sections missing"
    fi
done
expect_fail "unknown command" "famfs: unknown command 'frobnicate'" "$FAMFS" frobnicate
expect_fail "bad size suffix" "famfs creat: invalid size '12Q'" "$FAMFS" --device "$DEV" creat -s 12Q x

# ---------------------------------------------------------------------------
step "mkfs"
expect 0 "mkfs --emulate 8G creates and formats the device" "$FAMFS" mkfs --emulate 8G "$DEV"
contains "$T/out" "^fs uuid: [0-9a-f-]{36}$" "mkfs prints the fs uuid"
uuid1=$(sed -n 's/^fs uuid: //p' "$T/out")
[ "$(stat -c %s "$DEV")" -eq $((8 << 30)) ] && pass "device file is 8 GiB" || fail "device size $(stat -c %s "$DEV")"
sum=$(meta_sum "$DEV")
expect_fail "mkfs refuses to overwrite a valid superblock" "famfs mkfs: .*already holds a famfs" "$FAMFS" mkfs "$DEV"
[ "$(meta_sum "$DEV")" = "$sum" ] && pass "refused mkfs changed nothing" || fail "refused mkfs changed the device"
if [ -x "$MKFS_FAMFS" ]; then
    expect_fail "mkfs.famfs (argv[0]) refuses too" "famfs mkfs: .*use --force" "$MKFS_FAMFS" "$DEV"
fi
expect_fail "mkfs --log-len not a power of two" "famfs mkfs: log length" "$FAMFS" mkfs -f --log-len 12M "$DEV"
[ "$(meta_sum "$DEV")" = "$sum" ] && pass "failed mkfs changed nothing" || fail "failed mkfs changed the device"
expect 0 "mkfs --force reformats" "$FAMFS" mkfs --force --log-len 16m "$DEV"
uuid2=$(sed -n 's/^fs uuid: //p' "$T/out")
[ -n "$uuid2" ] && [ "$uuid1" != "$uuid2" ] && pass "new fs uuid after --force" || fail "fs uuid unchanged"
contains "$T/out" "log 16 MiB" "--log-len 16m honoured"
expect 0 "mkfs -f back to the default log" "$FAMFS" mkfs -f "$DEV"

# ---------------------------------------------------------------------------
step "creat, verify"
expect 0 "mkdir -p d1/d2/d3" F mkdir -p d1/d2/d3
expect 0 "mkdir -p again is fine" F mkdir -p d1/d2
expect_fail "mkdir of an existing dir without -p" "famfs mkdir: 'd1' already exists" F mkdir d1
expect_fail "mkdir without parent" "famfs mkdir: parent directory 'nope' does not exist" F mkdir nope/x
expect 0 "creat -s 3M -S 42 d1/f1" F creat -s 3M -S 42 d1/f1
expect 0 "verify -S 42 d1/f1" F verify -S 42 d1/f1
expect_fail "verify with the wrong seed fails" "famfs verify: d1/f1: mismatch at offset 0" F verify -S 43 d1/f1
expect 0 "creat an odd size, mode 0600, uid/gid" F creat -s 1234567 -S 7 -m 0600 -u 1001 -g 1002 d1/d2/odd
expect 0 "verify the odd size" F verify -S 7 d1/d2/odd
F getmap --json d1/d2/odd >"$T/j" 2>&1
[ "$(py 'd["size"], d["mode"], d["uid"], d["gid"]' <"$T/j")" = "(1234567, '0600', 1001, 1002)" ] &&
    pass "size, mode, uid, gid are stored" || fail "getmap says $(cat "$T/j")"
expect 0 "creat striped -N 4 -B 4 -C 2M" F creat -s 64M -S 9 -N 4 -B 4 -C 2M d1/striped
expect 0 "verify striped" F verify -S 9 d1/striped
sum=$(meta_sum "$DEV")
expect_fail "creat of an existing file" "famfs creat: 'd1/f1' already exists" F creat -s 2M d1/f1
expect_fail "creat without a parent" "famfs creat: parent directory 'zz' does not exist" F creat -s 2M zz/f
expect_fail "creat larger than the device" "famfs creat: no room for 'huge'" F creat -s 9G huge
expect_fail "creat --multi with one existing path creates nothing" "famfs creat: 'd1/f1' already exists" \
    F creat --multi -s 2M d1/new1 d1/f1
expect_fail "creat several paths without --multi" "famfs creat: 2 paths given" F creat -s 2M a b
expect_fail "interleave needs all three of -N -B -C" "famfs creat: interleaving needs" F creat -s 8M -N 2 s
[ "$(meta_sum "$DEV")" = "$sum" ] && pass "failed creats changed nothing on the device" || fail "a failed creat changed the device"
run F log --json
[ "$(py 'd["count"]' <"$T/out")" = 6 ] && pass "log holds 6 entries (3 mkdir, 3 creat)" || fail "log count $(py 'd["count"]' <"$T/out")"

expect 0 "mkdir multi" F mkdir multi
paths=()
for i in $(seq 1 100); do paths+=("multi/f$i"); done
expect 0 "creat --multi -s 2M -S 5 of 100 files" F creat --multi -s 2M -S 5 "${paths[@]}"
expect 0 "verify --multi files" F verify -S 5 multi/f1 multi/f50 multi/f100
printf 'multi/l1,4M,11\nmulti/l2,1k\n# comment\nmulti/l3,3m,13\n' >"$T/list"
expect 0 "creat --list path,size[,seed] with default seed 12" F creat --list "$T/list" -S 12
expect 0 "verify list files with their seeds" bash -c "'$FAMFS' --device '$DEV' verify -S 11 multi/l1 && '$FAMFS' --device '$DEV' verify -S 12 multi/l2 && '$FAMFS' --device '$DEV' verify -S 13 multi/l3"
expect_fail "verify with the wrong seed (list file)" "famfs verify: multi/l3: mismatch" F verify -S 11 multi/l3

# ---------------------------------------------------------------------------
step "cp"
SRC=$T/src
mkdir -p "$SRC/tree/sub/deeper"
head -c 5000000 /dev/urandom >"$SRC/tree/a.bin"
echo "hello famfs" >"$SRC/tree/sub/hello.txt"
head -c 3145728 /dev/urandom >"$SRC/tree/sub/deeper/c.bin"
chmod 0640 "$SRC/tree/sub/hello.txt"
: >"$SRC/tree/empty"
expect_fail "cp of a directory without -r" "famfs cp: -r not specified; omitting directory" F cp "$SRC/tree" /
expect 0 "cp -r tree / (into the root)" F cp -rv "$SRC/tree" /
contains "$T/out" "copied 3 files, rewrote 0, skipped 0 unchanged .*created 3 directories" "cp -r copied 3 files and 3 directories"
contains "$T/err" "skipping empty file" "empty source file skipped with a warning"
# Read back through the device mapping: extents from getmap, bytes with dd.
readback() { # famfs-path local-file
    F getmap --json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
dev, size, out = sys.argv[1], d["size"], bytearray()
with open(dev, "rb") as f:
    for e in d["extents"]:
        f.seek(e["offset"]); out += f.read(e["len"])
sys.exit(0 if bytes(out[:size]) == open(sys.argv[2], "rb").read() else 1)' "$DEV" "$2"
}
readback tree/a.bin "$SRC/tree/a.bin" && pass "tree/a.bin has the source bytes" || fail "tree/a.bin differs"
readback tree/sub/deeper/c.bin "$SRC/tree/sub/deeper/c.bin" && pass "tree/sub/deeper/c.bin has the source bytes" || fail "c.bin differs"
F getmap --json tree/sub/hello.txt >"$T/j"
[ "$(py 'd["size"], d["mode"]' <"$T/j")" = "(12, '0640')" ] && pass "cp keeps size and mode" || fail "hello.txt: $(cat "$T/j")"
expect 0 "cp -r rerun" F cp -rv "$SRC/tree" /
contains "$T/out" "copied 0 files, .*skipped 3 unchanged" "rerun skips the 3 existing files"
echo "more" >>"$SRC/tree/sub/hello.txt"
sum=$(meta_sum "$DEV")
expect_fail "cp onto a file of another size" "famfs cp: '/tree/sub/hello.txt' already exists with size 12" F cp -r "$SRC/tree" /
[ "$(meta_sum "$DEV")" = "$sum" ] && pass "failed cp changed nothing" || fail "failed cp changed the device"
expect 0 "cp a single file into a directory" F cp "$SRC/tree/a.bin" /d1
readback d1/a.bin "$SRC/tree/a.bin" && pass "d1/a.bin has the source bytes" || fail "d1/a.bin differs"
expect 0 "cp a file to a new name" F cp "$SRC/tree/a.bin" /d1/renamed.bin
expect_fail "cp several sources to a non-directory" "famfs cp: target" F cp "$SRC/tree/a.bin" "$SRC/tree/a.bin" /d1/f1

# ---------------------------------------------------------------------------
step "getmap, log, flush"
expect 0 "getmap (human)" F getmap d1/f1
contains "$T/out" "size: +3145728" "getmap shows the size"
contains "$T/out" "simple: 1 extent" "getmap shows a simple extent"
contains "$T/out" "extent +0: devindex 0 offset +0x[0-9a-f]+ len +0x400000" "getmap shows offset and 4 MiB length"
run F getmap --json d1/f1
[ "$(py 'd["ext_type"], len(d["extents"]), d["extents"][0]["len"]' <"$T/out")" = "('simple', 1, 4194304)" ] &&
    pass "getmap --json parses (simple, one 4 MiB extent)" || fail "getmap --json: $(head -c 300 "$T/out")"
run F getmap --json d1/striped
[ "$(py 'd["ext_type"], d["interleave"]["nstrips"], len(d["interleave"]["strips"]), d["interleave"]["chunk_size"]' <"$T/out")" = "('interleave', 4, 4, 2097152)" ] &&
    pass "getmap --json of a striped file: 4 strips, 2 MiB chunks" || fail "striped getmap: $(head -c 300 "$T/out")"
expect_fail "getmap of a directory" "famfs getmap: d1: is a directory" F getmap d1
expect_fail "getmap of a missing file" "famfs getmap: nope: no such file" F getmap nope
expect 0 "log (human)" F log
contains "$T/out" "FILE .* d1/f1 +simple: 0x" "log lists d1/f1 with its map"
contains "$T/out" "MKDIR .* d1/d2/d3" "log lists the mkdir -p directory"
expect 0 "log --json" "$FAMFS" log --json "$DEV"
n_json=$(py 'd["count"]' <"$T/out")
[ "$(py 'all(e["crc_ok"] and e["seqnum"] == e["index"] for e in d["entries"]) and len(d["entries"]) == d["count"]' <"$T/out")" = True ] &&
    pass "log --json: $n_json entries, all crc ok, seqnum == index" || fail "log --json entries"
expect 0 "logplay alias" "$FAMFS" logplay "$DEV"
expect 0 "flush d1/f1" F flush -v d1/f1
expect 0 "--coherent flush" "$FAMFS" --coherent --device "$DEV" flush -v d1/f1
contains "$T/out" "coherent: nothing to do" "--coherent skips flushes"
expect 0 "FAMFS_COHERENT=1 creat + verify" env FAMFS_COHERENT=1 "$FAMFS" --device "$DEV" creat -s 2M -S 3 coh
expect 0 "verify after coherent creat" F verify -S 3 coh

# ---------------------------------------------------------------------------
step "fsck"
n_json=$(F log --json | py 'd["count"]')
ndirs=$(F log --json | py 'sum(e["type"] == "MKDIR" for e in d["entries"])')
expect 0 "fsck of the populated device is clean" "$FAMFS" fsck "$DEV"
contains "$T/out" "^clean$" "fsck says clean"
nfiles=$(F log --json | py 'sum(e["type"] == "FILE" for e in d["entries"])')
contains "$T/out" "tree: +$nfiles files, $ndirs directories" "fsck counts $nfiles files and $ndirs directories"
expect 0 "fsck --json" "$FAMFS" fsck --json "$DEV"
[ "$(py 'd["clean"], d["problems"], d["summary"]["files"]' <"$T/out")" = "(True, [], $nfiles)" ] && pass "fsck --json: clean, no problems" || fail "fsck --json: $(head -c 300 "$T/out")"
expect 0 "fsck -v lists every entry" "$FAMFS" fsck -v "$DEV"
[ "$(grep -c '^  entry [0-9]*: seqnum' "$T/out")" = "$n_json" ] && pass "fsck -v shows $n_json entries" || fail "fsck -v entry lines"
expect 2 "fsck of a missing device: exit 2" "$FAMFS" fsck "$T/missing"

# Corruptions on copies of the metadata (superblock + log: first 10 MiB).
copy_dev() { head -c $((10 << 20)) "$DEV" >"$1" && truncate -s 8G "$1"; }
poke() { # file offset xor-byte
    python3 - "$@" <<'PY'
import sys
path, off, x = sys.argv[1], int(sys.argv[2], 0), int(sys.argv[3], 0)
with open(path, "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ x]))
PY
}
LOG=$((0x200000))
entry_off() { echo $((LOG + 48 + 544 * $1)); }
index_of() { F log --json | py "[e['index'] for e in d['entries'] if e.get('path') == '$1'][0]"; }

C=$T/bad-sb
copy_dev "$C"; poke "$C" 50 0x01
expect 1 "fsck: bit flip in the superblock -> exit 1" "$FAMFS" fsck "$C"
contains "$T/out" "^superblock crc: stored 0x[0-9a-f]+, computed 0x" "names 'superblock crc'"
contains "$T/out" "^entries: +$n_json checked" "still checks the log behind a damaged superblock"
expect_fail "log on a damaged superblock fails in one line" "famfs log: .*superblock crc" "$FAMFS" log "$C"
expect_fail "creat on a damaged superblock fails in one line" "famfs creat: .*superblock crc" "$FAMFS" --device "$C" creat -s 2M x

C=$T/bad-loghdr
copy_dev "$C"; poke "$C" $((LOG + 17)) 0x04
expect 1 "fsck: bit flip in the log header -> exit 1" "$FAMFS" fsck "$C"
contains "$T/out" "^log header crc: stored" "names 'log header crc'"

C=$T/bad-magic
copy_dev "$C"; poke "$C" 0 0xff
expect 1 "fsck: superblock magic destroyed -> exit 1, no crash" "$FAMFS" fsck --json "$C"
[ "$(py 'd["clean"], d["problems"][0]["where"], d["problems"][0]["field"]' <"$T/out")" = "(False, 'superblock', 'magic')" ] &&
    pass "fsck --json names superblock magic" || fail "fsck --json bad magic: $(head -c 300 "$T/out")"

C=$T/bad-entry
i=$(index_of d1/f1)
copy_dev "$C"; poke "$C" $(($(entry_off "$i") + 536)) 0x10
expect 1 "fsck: entry $i crc byte flipped -> exit 1" "$FAMFS" fsck "$C"
contains "$T/out" "^entry $i: crc: stored 0x[0-9a-f]+, computed" "names 'entry $i: crc'"
sum=$(meta_sum "$C")
expect_fail "creat refuses to append to a damaged log" "famfs creat: the log on .* is damaged" "$FAMFS" --device "$C" creat -s 2M x
[ "$(meta_sum "$C")" = "$sum" ] && pass "refused creat changed nothing" || fail "refused creat changed the device"

C=$T/bad-tail
last=$((n_json - 1))
copy_dev "$C"; poke "$C" $(($(entry_off "$last") + 536)) 0x10
run "$FAMFS" fsck -v "$C"
if [ "$rc" -eq 1 ] && grep -q "^entry $last: crc:" "$T/out" && grep -q "tail re-read 3 times" "$T/out"; then
    pass "torn last entry is re-read 3 times, then reported (entry $last)"
else
    fail "torn tail: exit $rc: $(tail -5 "$T/out")"
fi

C=$T/overlap
a=$(index_of d1/f1)
b=$(index_of d1/d2/odd)
copy_dev "$C"
python3 - "$C" "$(entry_off "$a")" "$(entry_off "$b")" <<'PY'
import struct, sys, zlib
path, ea, eb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
EXT0 = 16 + 104 + 16           # entry body + FileEntry.fmap + Fmap.se[0]
with open(path, "r+b") as f:
    f.seek(ea + EXT0 + 8); a_off = struct.unpack("<Q", f.read(8))[0]
    f.seek(eb); ent = bytearray(f.read(544))
    struct.pack_into("<Q", ent, EXT0 + 8, a_off)          # b's extent now starts on a's
    struct.pack_into("<Q", ent, 536, zlib.crc32(bytes(ent[:536])) & 0xffffffff)
    f.seek(eb); f.write(ent)
PY
expect 1 "fsck: overlapping extent (crc fixed) -> exit 1" "$FAMFS" fsck "$C"
contains "$T/out" "^entry $b: fmap: .*overlaps another file" "names 'entry $b: fmap: ... overlaps'"
if grep -q "crc" <(grep '^entry' "$T/out"); then fail "overlap was reported as a crc error"; else pass "overlap is a collision, not a crc error"; fi
run "$FAMFS" fsck --json "$C"
[ "$(py '[(p["index"], p["kind"]) for p in d["problems"]]' <"$T/out")" = "[($b, 'collision')]" ] &&
    pass "fsck --json: one collision at entry $b" || fail "fsck --json overlap: $(py 'd["problems"]' <"$T/out")"

# ---------------------------------------------------------------------------
step "client refusal"
echo "11111111-2222-4333-8444-555555555555" >"$T/other_uuid"
sum=$(meta_sum "$DEV")
expect_fail "creat from a client host" "famfs creat: cannot create files or directories: this host is a client" \
    env FAMFS_SYSTEM_UUID_FILE="$T/other_uuid" "$FAMFS" --device "$DEV" creat -s 2M client-file
expect_fail "mkdir from a client host (--system-uuid-file)" "famfs mkdir: cannot create files or directories: this host is a client" \
    "$FAMFS" --system-uuid-file "$T/other_uuid" --device "$DEV" mkdir client-dir
[ "$(meta_sum "$DEV")" = "$sum" ] && pass "client commands changed nothing" || fail "a client changed the device"
expect 0 "a client can still read (verify)" env FAMFS_SYSTEM_UUID_FILE="$T/other_uuid" "$FAMFS" --device "$DEV" verify -S 42 d1/f1
expect_fail "path outside any famfs mount without --device" "famfs creat: .* is not under a famfs mount" "$FAMFS" creat -s 2M "$T/notfamfs"

# ---------------------------------------------------------------------------
# Issue 12: the defects a new user and an upstream user hit (device level).
step "issue 12: cp compares content (1; and a restarted cp -r, issue 11.3)"
printf 'hello' >"$T/s1"
expect 0 "cp s1 /cmp1" F cp "$T/s1" /cmp1
printf 'other' >"$T/s1"
expect 0 "cp of a changed source of the same size" F cp "$T/s1" /cmp1
contains "$T/out" "^rewrote /cmp1: its content differed" "cp says it rewrote /cmp1"
readback cmp1 "$T/s1" && pass "/cmp1 now holds 'other' (no stale 'hello')" || fail "/cmp1 kept the old bytes"
expect 0 "cp -v rerun" F cp -v "$T/s1" /cmp1
contains "$T/out" "^skipped /cmp1 \(same size and content" "cp -v lists the skipped file and why"
# A cp killed after it allocated the files but before it copied them: the
# files exist with the right size and other bytes (creat stands in for it).
mkdir -p "$T/rs/sub"
head -c 5000000 /dev/urandom >"$T/rs/a.bin"
head -c 3000000 /dev/urandom >"$T/rs/sub/b.bin"
expect 0 "mkdir -p /rs/sub (as the killed cp left it)" F mkdir -p rs/sub
expect 0 "creat /rs/a.bin, allocated but not copied" F creat -s 5000000 -S 3 rs/a.bin
expect 0 "restarted cp -r finishes the tree" F cp -r "$T/rs" /
contains "$T/out" "^rewrote /rs/a.bin" "the restart reports what it re-copied"
readback rs/a.bin "$T/rs/a.bin" && readback rs/sub/b.bin "$T/rs/sub/b.bin" &&
    pass "every file holds its source's bytes after the restart" || fail "restart left stale bytes"
# A real SIGKILL mid-copy, then a rerun: every file must end up complete.
mkdir -p "$T/kill"
for i in 1 2 3 4; do head -c 33554432 /dev/urandom >"$T/kill/f$i"; done
F cp -r "$T/kill" / >/dev/null 2>&1 &
cppid=$!
for _ in $(seq 200); do F log 2>/dev/null | grep -q ' kill/f4 ' && break; sleep 0.01; done
kill -9 $cppid 2>/dev/null; wait $cppid 2>/dev/null
expect 0 "cp -r after a SIGKILL" F cp -r "$T/kill" /
ok=1
for i in 1 2 3 4; do readback kill/f$i "$T/kill/f$i" || ok=0; done
[ $ok = 1 ] && pass "after SIGKILL + rerun all 4 files hold their source's bytes" || fail "a file stayed incomplete after the rerun"

step "issue 12: upstream --multi FILE,SIZE[,SEED] (4), creat no-op (upstream), -r"
expect 0 "creat --multi m4a,2M,5 --multi m4b,4M --multi m4c,1M,0" F creat --multi m4a,2M,5 --multi m4b,4M --multi m4c,1M,0
[ "$(F log --json | py '[(e["path"], e["size"]) for e in d["entries"] if e.get("path", "").startswith("m4")]')" = "[('m4a', 2097152), ('m4b', 4194304), ('m4c', 1048576)]" ] &&
    pass "--multi specs: names m4a m4b m4c with their sizes" || fail "--multi created: $(F log | grep m4)"
expect 0 "verify the --multi seed" F verify -S 5 m4a
expect_fail "a spec-like name without --multi is refused" "famfs creat: 'z1,2M,5' looks like upstream's FILE,SIZE" F creat -s 2M z1,2M,5
F log | grep -q 'z1,' && fail "a name with a spec was logged" || pass "no name with a spec was logged"
expect 0 "creat of an existing file, same size: a no-op success (upstream)" F creat -s 2M m4a
expect_fail "creat of an existing file, other size: an error" "famfs creat: 'm4a' already exists with size" F creat -s 4M m4a
expect 0 "creat -r -S 9 (upstream's spelling)" F creat -r -S 9 -s 2M r9
expect 0 "verify -S 9 -f r9 (upstream's spelling)" F verify -S 9 -f r9
expect 0 "verify -m r9,9 -m m4a,5 (upstream's multi)" F verify -m r9,9 -m m4a,5
expect 0 "creat -r without -S picks a seed and prints it" F creat -r -s 2M rr
rseed=$(sed -n 's/^seed //p' "$T/out")
expect 0 "verify with the printed seed ($rseed)" F verify -S "$rseed" rr
expect_fail "seed 0 is refused (upstream: no pattern)" "famfs creat: invalid seed '0'" F creat -S 0 -s 2M s0

step "issue 12: the seeded pattern is upstream famfs's"
# An independent reading of upstream's randomize_buffer() (testlib/random_buffer.c
# with xoroshiro.h): 32-bit seed, xoroshiro128+ seeded by two splitmix64
# steps, the low 32 bits of each output as one little-endian 4-byte word.
cat >"$T/upstream_pattern.py" <<'PY'
import json, struct, sys
M = (1 << 64) - 1
def splitmix(x):
    x = (x + 0x9E3779B97F4A7C15) & M
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return x, z ^ (z >> 31)
def pattern(seed, n):
    x, s0 = splitmix(seed & 0xffffffff)
    x, s1 = splitmix(x)
    rotl = lambda v, k: ((v << k) | (v >> (64 - k))) & M
    out = bytearray()
    while len(out) < n:
        r = (s0 + s1) & M
        s1 ^= s0
        s0 = rotl(s0, 55) ^ s1 ^ ((s1 << 14) & M)
        s1 = rotl(s1, 36)
        out += struct.pack("<I", r & 0xffffffff)
    return bytes(out[:n])
assert splitmix(0)[1] == 0xe220a8397b1dcdaf   # Vigna's splitmix64 reference value
if sys.argv[1] == "check":   # check DEV SEED < getmap json
    d = json.load(sys.stdin)
    data = bytearray()
    with open(sys.argv[2], "rb") as f:
        for e in d["extents"]:
            f.seek(e["offset"]); data += f.read(e["len"])
    sys.exit(0 if bytes(data[:d["size"]]) == pattern(int(sys.argv[3]), d["size"]) else 1)
else:                        # write FILE SIZE SEED
    open(sys.argv[2], "wb").write(pattern(int(sys.argv[4]), int(sys.argv[3])))
PY
expect 0 "creat -s 1234567 -S 4242 pat (odd size: a partial last word)" F creat -s 1234567 -S 4242 pat
F getmap --json pat | python3 "$T/upstream_pattern.py" check "$DEV" 4242 &&
    pass "creat -S writes upstream's pattern byte for byte" || fail "creat -S differs from upstream's pattern"
python3 "$T/upstream_pattern.py" write "$T/upfile" 3000001 77
expect 0 "cp a file holding upstream's pattern for seed 77" F cp "$T/upfile" /upfile
expect 0 "verify -S 77 accepts upstream's pattern" F verify -S 77 upfile
expect_fail "verify -S 78 rejects it" "famfs verify: upfile: mismatch at offset 0" F verify -S 78 upfile

step "issue 12: names must be UTF-8 (5); --json survives any bytes"
bad=$(printf 'bad\377name')
sum=$(meta_sum "$DEV")
expect_fail "creat of a non-UTF-8 name" "famfs creat: 'bad\\\\xffname': the name is not valid UTF-8" F creat -s 2M "$bad"
expect_fail "mkdir of a non-UTF-8 name" "famfs mkdir: .*not valid UTF-8" F mkdir "$bad"
mkdir -p "$T/u8"; echo x >"$T/u8/$bad"
expect_fail "cp -r of a tree with a non-UTF-8 name" "famfs cp: .*not valid UTF-8" F cp -r "$T/u8" /
[ "$(meta_sum "$DEV")" = "$sum" ] && pass "refused names changed nothing" || fail "a refused name changed the device"
C=$T/bad-utf8
copy_dev "$C"
i=$(index_of cmp1)
python3 - "$C" "$(entry_off "$i")" <<'PY'
import struct, sys, zlib
path, e = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(e); ent = bytearray(f.read(544))
    name = 16 + 8 + 4 + 4 + 4 + 4          # entry body + size, flags, uid, gid, mode
    off = bytes(ent).find(b"cmp1", 16)
    ent[off:off + 4] = b"c\xff\xfe1"         # an older or hostile log's bytes
    struct.pack_into("<Q", ent, 536, zlib.crc32(bytes(ent[:536])) & 0xffffffff)
    f.seek(e); f.write(ent)
PY
for cmd in "log --json $C" "fsck --json $C"; do
    run "$FAMFS" $cmd
    if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" 2>/dev/null && ! grep -q type_error "$T/err"; then
        pass "famfs $cmd with a non-UTF-8 name: valid JSON"
    else
        fail "famfs $cmd: exit $rc, $(head -c 300 "$T/err")"
    fi
done
run "$FAMFS" log --json "$C"
[ "$(py '[e["path"] for e in d["entries"] if e.get("path", "").startswith("c\\")]' <"$T/out")" = "['c\\\\xff\\\\xfe1']" ] &&
    pass "the name's bytes are escaped as \\xNN" || fail "escaped name: $(py '[e.get("path") for e in d["entries"]]' <"$T/out")"

step "issue 12: read-only commands need no host identity (6)"
for cmd in "getmap d1/f1" "verify -S 42 d1/f1" "getmap --json d1/f1" "verify -S 42 -f d1/f1"; do
    expect 0 "$cmd with an uncreatable uuid file" env FAMFS_SYSTEM_UUID_FILE=/proc/nonexistent/uuid "$FAMFS" --device "$DEV" $cmd
done
for cmd in log fsck; do
    expect 0 "$cmd with an uncreatable uuid file" env FAMFS_SYSTEM_UUID_FILE=/proc/nonexistent/uuid "$FAMFS" $cmd "$DEV"
done
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
    chmod 0600 "$DEV"
    expect_fail "a device the user cannot read: the error says permission" "famfs getmap: .*Permission denied" \
        setpriv --reuid=nobody --regid=nogroup --clear-groups env -u FAMFS_SYSTEM_UUID_FILE "$FAMFS" --device "$DEV" getmap d1/f1
    chmod 0644 "$DEV"; chmod o+x "$T"
    expect 0 "getmap as nobody, no /opt/famfs needed" \
        setpriv --reuid=nobody --regid=nogroup --clear-groups env FAMFS_SYSTEM_UUID_FILE=/nonexistent/famfs/uuid "$FAMFS" --device "$DEV" getmap d1/f1
    chmod 0600 "$DEV"
else
    skip "permission checks need root and a user 'nobody'"
fi

step "issue 12: free space in errors (7)"
free=$("$FAMFS" fsck --json "$DEV" | py 'd["summary"]["free_bytes"]')
gib=$(python3 -c "import math; v=$free/2**30; print(int(v) if v==int(v) else '%.1f' % (math.floor(v*10)/10))")
expect_fail "creat larger than the free space" "famfs creat: no room for 'huge9': 9 GiB needed, $gib GiB free on " F creat -s 9G huge9
expect_fail "creat --multi -s 3G x3 y3 z3: what the command needs, what is free" \
    "famfs creat: no room for 3 files (first to fail: '[xyz]3'): 9 GiB needed, $gib GiB free" F creat --multi -s 3G x3 y3 z3
mkdir -p "$T/bigtree"; truncate -s 5G "$T/bigtree/b1" "$T/bigtree/b2"
expect_fail "cp -r of a tree larger than the free space" "famfs cp: no room for 2 files .*10 GiB needed, $gib GiB free" F cp -r "$T/bigtree" /
rm -rf "$T/bigtree"

step "issue 12: a failed mkfs --emulate leaves nothing behind (8)"
expect_fail "mkfs --emulate 99999T fails" "famfs mkfs: " "$FAMFS" mkfs --emulate 99999T "$T/x99"
[ ! -e "$T/x99" ] && pass "no file x99 left behind" || fail "mkfs left $(ls -la "$T/x99")"

step "issue 12: command-line details (9)"
expect_fail "an unknown option is named, not the device" "famfs mkfs: unknown option '--frob'" "$FAMFS" mkfs --frob 16m "$T/dev9"
expect_fail "an extra argument is named in order" "famfs mkfs: unexpected arguments 'a b'" "$FAMFS" mkfs "$T/dev9" a b
expect_fail "-u with an unknown user name" "famfs creat: unknown user 'no-such-user-i12'" F creat -s 2M -u no-such-user-i12 u1
if id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null; then
    expect 0 "-u nobody -g nogroup (names)" F creat -s 2M -u nobody -g nogroup u2
    [ "$(F getmap --json u2 | py 'd["uid"], d["gid"]')" = "($(id -u nobody), $(getent group nogroup | cut -d: -f3))" ] &&
        pass "user and group names resolved to their ids" || fail "u2 ids: $(F getmap --json u2)"
fi
for c in mkfs creat verify mkdir cp getmap log fsck flush mount umount; do
    "$FAMFS" "$c" --help >"$T/help" 2>&1
    if grep -qE 'PATH PATH|TEXT|\.\.\. REQUIRED|REQUIRED' "$T/help"; then
        fail "famfs $c --help has CLI11 artefacts: $(grep -E 'PATH PATH|TEXT|REQUIRED' "$T/help" | head -2)"
    else
        pass "famfs $c --help: no 'PATH PATH ...'/'TEXT ... REQUIRED' artefacts"
    fi
done
L=$T/logfull
"$FAMFS" mkfs --emulate 64M "$L" >"$T/out"
contains "$T/out" "\(15420 entries\)" "mkfs names the log's capacity"
dirs=(); for i in $(seq 1 15420); do dirs+=("d$i"); done
expect 0 "fill the log with 15420 directories" "$FAMFS" --device "$L" mkdir "${dirs[@]}"
expect_fail "a full log: '1 entry', not '1 entries'" "famfs mkdir: the famfs log is full: 1 entry needed, 0 slots left" "$FAMFS" --device "$L" mkdir one-more
rm -f "$L"

step "issue 12: cp -r -L and the symlink count (11)"
mkdir -p "$T/ln/sub"; echo "linked data" >"$T/ln/sub/real"
ln -s sub/real "$T/ln/tofile"; ln -s sub "$T/ln/todir"
expect 0 "cp -r of a tree with 2 symlinks" F cp -r "$T/ln" /ln1
contains "$T/out" "skipped 2 symlinks \(use -L to follow\)" "the summary counts the skipped symlinks"
expect 0 "cp -r -L follows them" F cp -r -L "$T/ln" /ln2
readback ln2/tofile "$T/ln/sub/real" && readback ln2/todir/real "$T/ln/sub/real" &&
    pass "-L copied what the symlinks point to" || fail "-L copies differ"
expect 0 "cp -r --dereference (long form) reruns clean" F cp -r --dereference "$T/ln" /ln2

step "issue 12: the systemd unit fails visibly without its config (12)"
UNIT_IN=$HERE/../../systemd/famfs-fused@.service.in
if [ -r "$UNIT_IN" ]; then
    if grep -q '^ConditionPathExists=' "$UNIT_IN"; then fail "the unit still skips silently (ConditionPathExists)"; else pass "no ConditionPathExists: a start is never a silent no-op"; fi
    grep -qx 'AssertPathExists=/etc/famfs/%i.env' "$UNIT_IN" && pass "AssertPathExists names /etc/famfs/%i.env" || fail "no AssertPathExists on the env file"
    pre=$(sed -n "s/^ExecStartPre=\/bin\/sh -c '\(.*\)'$/\1/p" "$UNIT_IN" | head -1 | sed 's/%i/mnt-x/g')
    run env -u FAMFS_DEVICE sh -c "$pre"
    [ "$rc" -ne 0 ] && grep -q '/etc/famfs/mnt-x.env' "$T/err" && pass "no FAMFS_DEVICE: ExecStartPre fails naming the file ($(cat "$T/err"))" ||
        fail "ExecStartPre without FAMFS_DEVICE: exit $rc: $(cat "$T/err")"
    if command -v systemd-analyze >/dev/null; then
        sed -e "s#@CMAKE_INSTALL_FULL_SBINDIR@/famfs-fused#/bin/true#" -e "s#@CMAKE_INSTALL_FULL_DOCDIR@#/usr/share/doc/famfs#" \
            "$UNIT_IN" >"$T/famfs-fused@mnt-x.service"
        run systemd-analyze verify "$T/famfs-fused@mnt-x.service"
        [ "$rc" -eq 0 ] && [ ! -s "$T/err" ] && pass "systemd-analyze verify: clean" || fail "systemd-analyze verify: $(cat "$T/err")"
    else
        skip "systemd-analyze not installed"
    fi
fi

step "issue 12: upstream-only commands and options"
expect_fail "famfs check names fsck" "famfs check: not needed here: .*famfs fsck MOUNTPOINT" "$FAMFS" check -v /mnt/x
expect_fail "famfs clone is refused in one line" "famfs clone: not supported" "$FAMFS" clone a b
expect 0 "getmap -q of a famfs file: 0" F getmap -q d1/f1
expect 9 "getmap -q of a missing file: EBADF (upstream)" F getmap -q nope
expect 21 "getmap -q of a directory: EISDIR (upstream)" F getmap -q d1
expect 1 "getmap -q outside famfs: 1 (upstream)" "$FAMFS" getmap -q /etc/passwd
expect 0 "cp -m 0600 -u 1001 -g 1002 (upstream's mode/uid/gid)" F cp -m 0600 -u 1001 -g 1002 "$T/s1" /cpm
[ "$(F getmap --json cpm | py 'd["mode"], d["uid"], d["gid"]')" = "('0600', 1001, 1002)" ] && pass "cp -m/-u/-g applied" || fail "cp -m: $(F getmap --json cpm)"
head -c 20000000 /dev/urandom >"$T/striped.src"
expect 0 "cp -N 2 -B 4 -C 2M (upstream's striping on cp)" F cp -N 2 -B 4 -C 2M "$T/striped.src" /cpstriped
[ "$(F getmap --json cpstriped | py 'd["ext_type"], d["interleave"]["nstrips"]')" = "('interleave', 2)" ] && pass "cp striped the file" || fail "cp striping: $(F getmap --json cpstriped | head -c 300)"
K=$T/killme
"$FAMFS" mkfs --emulate 64M "$K" >/dev/null
expect_fail "mkfs -k without -f (upstream needs both)" "famfs mkfs: -k .*needs -f" "$FAMFS" mkfs -k "$K"
expect 0 "mkfs -k -f kills the superblock" "$FAMFS" mkfs -k -f "$K"
expect 1 "fsck after -k: no famfs" "$FAMFS" fsck "$K"
expect 0 "mkfs -l 16m (upstream's --loglen)" "$FAMFS" mkfs -l 16m "$K"
contains "$T/out" "log 16 MiB" "-l 16m honoured"
expect 0 "mkfs --loglen 32m -f" "$FAMFS" mkfs --loglen 32m -f "$K"
contains "$T/out" "log 32 MiB" "--loglen 32m honoured"
rm -f "$K"

step "issue 12: progress on a terminal"
if command -v script >/dev/null; then
    script -qec "'$FAMFS' --device '$DEV' creat -s 1G -S 5 prog1" /dev/null >"$T/tty" 2>&1
    grep -q 'ETA' "$T/tty" && grep -q $'\r' "$T/tty" && pass "seeded creat on a tty: one redrawn line with ETA" || fail "no progress on a tty: $(head -c 200 "$T/tty" | od -c | head -3)"
    script -qec "'$FAMFS' --device '$DEV' verify -S 5 prog1" /dev/null >"$T/tty" 2>&1
    grep -q 'verify: .* of 1 GiB' "$T/tty" && pass "verify on a tty shows progress" || fail "verify: no progress on a tty"
    truncate -s 1G "$T/cpprog.src"
    script -qec "'$FAMFS' --device '$DEV' cp '$T/cpprog.src' /cpprog" /dev/null >"$T/tty" 2>&1
    grep -q 'cp: .* of 1 GiB' "$T/tty" && pass "cp on a tty shows progress" || fail "cp: no progress on a tty"
    rm -f "$T/cpprog.src"
    script -qec "'$FAMFS' --device '$DEV' verify -q -S 5 prog1" /dev/null >"$T/tty" 2>&1
    grep -q 'ETA' "$T/tty" && fail "-q still shows progress" || pass "-q hides progress"
    F verify -S 5 prog1 >"$T/out" 2>&1
    grep -q 'ETA' "$T/out" && fail "progress written to a non-tty" || pass "no progress when stdout is not a tty"
else
    skip "script(1) not installed: no pty for the progress checks"
fi

# ---------------------------------------------------------------------------
step "paths under a famfs mount point (famfs mount, when the daemon is built)"
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/fuse ]; then
    skip "mount tests need root and /dev/fuse"
elif ! "$FAMFS" mount --help 2>/dev/null | grep -q famfs-fused; then
    skip "famfs mount is not implemented in this build"
else
    MDEV=$T/mdev
    "$FAMFS" mkfs --emulate 8G "$MDEV" >/dev/null
    mkdir -p "$MNT"
    expect 0 "famfs mount DEV MNT" timeout 60 "$FAMFS" mount "$MDEV" "$MNT"
    if mounted; then
        expect 0 "mkdir -p under the mount point" timeout 20 "$FAMFS" mkdir -p "$MNT/m/n"
        expect 0 "creat -S under the mount point" timeout 20 "$FAMFS" creat -s 3M -S 77 "$MNT/m/n/f"
        expect 0 "verify under the mount point" timeout 20 "$FAMFS" verify -S 77 "$MNT/m/n/f"
        expect 0 "cp -r into the mount point" timeout 20 "$FAMFS" cp -r "$SRC/tree" "$MNT/"
        ok=1
        for f in a.bin sub/deeper/c.bin; do
            for _ in 1 2 3 4 5 6 7 8 9 10; do [ -e "$MNT/tree/$f" ] && break; sleep 0.1; done
            cmp -s "$SRC/tree/$f" "$MNT/tree/$f" || ok=0
        done
        [ $ok = 1 ] && pass "files copied by famfs cp read back through the mount (cmp)" || fail "cmp through the mount"
        [ "$(stat -c %s "$MNT/m/n/f")" = 3145728 ] && pass "the mount shows the creat'd file's size" || fail "size through the mount"
        run timeout 20 "$FAMFS" getmap --json "$MNT/m/n/f"
        [ "$(py 'd["path"], d["device"]' <"$T/out")" = "('m/n/f', '$MDEV')" ] &&
            pass "getmap resolves MNT/m/n/f to its device and relpath" || fail "getmap via mount: $(head -c 300 "$T/out")"
        expect 0 "fsck MOUNTPOINT" timeout 20 "$FAMFS" fsck "$MNT"
        contains "$T/out" "^clean$" "fsck of the mounted device is clean"
        expect 0 "log MOUNTPOINT" timeout 20 "$FAMFS" log "$MNT"
        contains "$T/out" "FILE .* m/n/f " "log via the mount point lists m/n/f"
        # Issue 12 under a mount: 2 (mkfs --force of a mounted device), 3 (-o ro), 9 (mount -f).
        sum=$(meta_sum "$MDEV")
        expect_fail "mkfs --force of a mounted device is refused, naming the mount point" \
            "famfs mkfs: .* is mounted on $MNT" "$FAMFS" mkfs --force "$MDEV"
        expect_fail "mkfs -k -f of a mounted device is refused too" "famfs mkfs: .* is mounted on $MNT" "$FAMFS" mkfs -k -f "$MDEV"
        [ "$(meta_sum "$MDEV")" = "$sum" ] && pass "the mounted device was not touched" || fail "mkfs changed a mounted device"
        RO=$T/ro
        mkdir -p "$RO"
        sleep 1.1   # the second daemon starts in another second than the first
        expect 0 "famfs mount -o ro (a second mount, read-only)" timeout 60 "$FAMFS" mount -o ro "$MDEV" "$RO"
        # 10: one time every host (every daemon) agrees on: the log index.
        t1=$(stat -c '%Y %Z %X' "$MNT/m/n/f"); t2=$(stat -c '%Y %Z %X' "$RO/m/n/f")
        li=$("$FAMFS" getmap --json "$MNT/m/n/f" | py 'd["log_index"]')
        [ "$t1" = "$t2" ] && [ "$t1" = "$li $li $li" ] &&
            pass "mtime/ctime/atime agree between two daemons: the log index ($t1)" ||
            fail "times differ between mounts: '$t1' vs '$t2' (log index $li)"
        expect_fail "creat under a read-only mount is refused" "famfs creat: $RO is mounted read-only" timeout 20 "$FAMFS" creat -s 2M "$RO/m/ro-file"
        expect_fail "mkdir under a read-only mount is refused" "famfs mkdir: $RO is mounted read-only" timeout 20 "$FAMFS" mkdir "$RO/ro-dir"
        expect_fail "cp into a read-only mount is refused" "famfs cp: $RO is mounted read-only" timeout 20 "$FAMFS" cp "$T/s1" "$RO/"
        [ "$(meta_sum "$MDEV")" = "$sum" ] && pass "refusals under -o ro changed nothing" || fail "a command appended through a ro mount"
        expect 0 "umount the read-only mount" timeout 60 "$FAMFS" umount "$RO"
        expect 0 "famfs mount -f (upstream's --fuse, not foreground) returns once mounted" timeout 30 "$FAMFS" mount -f "$MDEV" "$RO"
        [ "$(grep -c 'mode' "$T/out")" = 1 ] && pass "the mode is printed once: $(cat "$T/out")" || fail "mode lines: $(cat "$T/out")"
        timeout 60 "$FAMFS" umount "$RO" >/dev/null 2>&1
        expect_fail "mount -F (standalone module) is refused" "famfs mount: -F/--nofuse .*not supported: no standalone module" "$FAMFS" mount -F "$MDEV" "$RO"
        expect 0 "famfs umount" timeout 60 "$FAMFS" umount "$MNT"
    else
        fail "famfs mount did not mount $MNT: $(head -c 300 "$T/err")"
    fi
fi

step "an upstream famfs script runs unchanged (issue 12)"
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/fuse ]; then
    skip "the upstream script mounts: needs root and /dev/fuse"
else
    UDEV=$T/udev
    "$FAMFS" mkfs --emulate 8G "$UDEV" >/dev/null
    UMNT=$T/umnt
    mkdir -p "$UMNT" "$T/usrc"
    head -c 3000000 /dev/urandom >"$T/usrc/data.bin"
    mkdir -p "$T/fbin"
    ln -sf "$(readlink -f "$FAMFS")" "$T/fbin/famfs"
    ln -sf "$(readlink -f "$FAMFS")" "$T/fbin/mkfs.famfs"
    # famfs mount finds famfs-fused beside the real binary (or $FAMFS_FUSED).
    run env PATH="$T/fbin:$PATH" timeout 120 bash "$HERE/upstream_script.sh" "$UDEV" "$UMNT" "$T/usrc/data.bin"
    if [ "$rc" -eq 0 ] && [ "$(tail -1 "$T/out")" = 600 ]; then
        pass "upstream_script.sh: mkfs.famfs --loglen, creat -r -S / --multi, verify -f / -m, cp -m, getmap -q, fsck"
    else
        fail "upstream_script.sh: exit $rc: $(tail -3 "$T/err") $(tail -3 "$T/out")"
    fi
    awk -v m="$UMNT" '$5 == m' /proc/self/mountinfo | grep -q . && { umount -l "$UMNT"; fail "the script left $UMNT mounted"; }
fi

# ---------------------------------------------------------------------------
step "golden image written by upstream famfs"
G=$GOLDEN_DIR/upstream-populated.img.xz
if [ -r "$G" ]; then
    IMG=$T/golden.img
    xz -dc "$G" >"$IMG" && truncate -s 8G "$IMG"
    expect 0 "fsck of the upstream image is clean" "$FAMFS" fsck "$IMG"
    contains "$T/out" "tree: +4 files, 2 directories" "4 files, 2 directories"
    expect 0 "log of the upstream image" "$FAMFS" log --json "$IMG"
    [ "$(py 'd["count"], [e["path"] for e in d["entries"]]' <"$T/out")" = "(6, ['dir1', 'dir1/sub', 'dir1/f1', 'dir1/sub/f2', 'tiny', 'striped'])" ] &&
        pass "log shows the 6 upstream entries" || fail "golden log: $(py 'd["entries"]' <"$T/out")"
    expect 0 "getmap --device IMG striped" "$FAMFS" getmap --device "$IMG" striped
    [ "$(grep -c '^strip ' "$T/out")" = 4 ] && contains "$T/out" "4 strips, chunk size 0x200000" "striped has 4 strips of 2 MiB chunks" ||
        fail "golden striped: $(cat "$T/out")"
    run "$FAMFS" getmap --device "$IMG" --json tiny
    [ "$(py 'd["size"], d["mode"], d["extents"][0]["offset"]' <"$T/out")" = "(1, '0600', 81788928)" ] &&
        pass "tiny: 1 byte, 0600, at 0x4e00000" || fail "golden tiny: $(cat "$T/out")"
else
    fail "golden image $G not found (set FAMFS_GOLDEN_DIR)"
fi

echo
summary
