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
    contains "$T/out" "^  $c[ ,]" "famfs --help lists $c"
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
contains "$T/out" "copied 3 files .*created 3 directories, skipped 0" "cp -r copied 3 files and 3 directories"
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
contains "$T/out" "copied 0 files .*skipped 3" "rerun skips the 3 existing files"
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
step "paths under a famfs mount point (famfs mount, when the daemon is built)"
skip() { echo "SKIP: $*"; }
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
        expect 0 "famfs umount" timeout 60 "$FAMFS" umount "$MNT"
    else
        fail "famfs mount did not mount $MNT: $(head -c 300 "$T/err")"
    fi
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
