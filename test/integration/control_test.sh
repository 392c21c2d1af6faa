#!/bin/bash
# The owner's creation channel (docs/metadata.md): creat, mkdir and cp under a
# mount are done by the mount's daemon. Checks that it gives what the direct
# path gives (files, data, errors, nothing written on failure), that only
# root may use it and only the owner host creates, that an abandoned session
# writes nothing, that CLI processes on the channel and on the device at
# once lose and double nothing, and that killing the daemon in the middle
# leaves a clean log holding every creation that was reported done.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

it_workdir

DEV=$W/famfs0
M=$W/mnt
mkdir -p "$M"
"$FAMFS" mkfs --emulate 4G "$DEV" >/dev/null || { echo "FAIL: mkfs"; exit 1; }
"$FAMFS" --device "$DEV" mkdir pre >/dev/null
mount_famfs "$DEV" "$M" >/dev/null || { echo "FAIL: mount"; exit 1; }

entries() { "$FAMFS" log "$DEV" | grep -cE '^ *[0-9]+ +(FILE|MKDIR)'; }
# The paths in the log, one a line.
logged_paths() { "$FAMFS" log "$DEV" | awk '$2 == "FILE" {print $6} $2 == "MKDIR" {print $6}'; }
has() { [[ $1 == *"$2"* ]]; }
R() { FAMFS_CONTROL=require "$FAMFS" "$@"; }
# The channel's socket, as control_socket_path() names it.
SOCK=$(python3 - "$M" "$DEV" <<'PY'
import os, struct, sys
h = 0xcbf29ce484222325
st = os.stat(sys.argv[2])
for b in os.path.realpath(sys.argv[1]).encode() + struct.pack("<QQ", st.st_dev, st.st_ino):
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print(f"{os.environ.get('FAMFS_CONTROL_DIR') or '/run/famfs'}/ctl-{h:016x}.sock")
PY
)
check "the daemon listens on $SOCK" test -S "$SOCK"

# ---- the same results as the direct path ------------------------------------------
check "creat through the daemon" R creat -s 3M -S 5 "$M/pre/a"
check "  the file is there at once, with its size" [ "$(stat -c %s "$M/pre/a")" = 3145728 ]
check "  and its pattern (written into the device by the CLI)" "$FAMFS" verify -S 5 "$M/pre/a"
check "mkdir -p through the daemon" R mkdir -p "$M/x/y/z"
check "  the directory is there" test -d "$M/x/y/z"
head -c 100000 /dev/urandom >"$W/src"
check "cp through the daemon" R cp "$W/src" "$M/x/y/copy"
check "  same bytes" cmp "$W/src" "$M/x/y/copy"
check "creat --multi through the daemon" R creat --multi -s 2M "$M/x/m1" "$M/x/m2"
check "an existing file of the same size is a no-op" R creat -s 3M "$M/pre/a"
n0=$(entries)
out=$(R creat -s 4M "$M/pre/a" 2>&1); rc=$?
check "an existing file of another size: exit 1, one line ($out)" \
    [ $rc -eq 1 -a "$(echo "$out" | wc -l)" -eq 1 ]
out=$(R creat --multi -s 2M "$M/x/new1" "$M/nodir/f" 2>&1); rc=$?
check "a batch with one bad path fails ($out)" [ $rc -ne 0 ]
out=$(R creat -s 1T "$M/x/huge" 2>&1); rc=$?
check "no room: exit 1 with the free space ($out)" has "$rc:$out" "1:" && has "$out" free
check "  and none of the failures wrote anything" [ "$(entries)" = "$n0" ]
check "  nor left x/new1 visible" test ! -e "$M/x/new1"

# ---- who may use it ---------------------------------------------------------------------
chmod o+x "$W"  # another user may find the device (the socket's name needs its inode)
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups env FAMFS_CONTROL=require \
    FAMFS_SYSTEM_UUID_FILE="$FAMFS_SYSTEM_UUID_FILE" "$FAMFS" creat -s 2M "$M/x/nobody" 2>&1)
check "another user is refused by the daemon ($out)" has "$out" "only root"
chmod o-x "$W"
"$FAMFS" mkfs --emulate 1G "$W/other" >/dev/null 2>&1  # a uuid file for a second host
out=$(FAMFS_SYSTEM_UUID_FILE=$CLIENT_UUID "$FAMFS" creat -s 2M "$M/x/fromclient" 2>&1); rc=$?
check "a client host is refused ($out)" has "$rc $out" client
check "  with an error exit" [ $rc -ne 0 ]
check "  and nothing was written" [ "$(entries)" = "$n0" ]

# ---- an abandoned session writes nothing ----------------------------------------------
python3 - "$SOCK" "$FAMFS_SYSTEM_UUID_FILE" <<'PY'
import socket, struct, sys, uuid
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
host = uuid.UUID(open(sys.argv[2]).read().split()[0]).bytes
s.send(bytes([1]) + struct.pack("<I", 1) + host)
assert s.recv(4096)[0] == 0, "begin"
p = b"x/abandoned"
s.send(bytes([3]) + struct.pack("<I", len(p)) + p + struct.pack("<QIIIB", 2 << 20, 0o644, 0, 0, 0))
assert s.recv(4096)[0] == 0, "create"
s.close()  # no commit
PY
check "a session closed before commit: nothing written" [ "$(entries)" = "$n0" ]
check "  and the next creation works (lock and allocator released)" R creat -s 2M "$M/x/after"

# ---- CLI processes on the channel and on the device at once -----------------------------
"$FAMFS" --device "$DEV" mkdir c >/dev/null
for i in $(seq 1 300); do echo "c/list$i,2M"; done >"$W/list"
(for i in $(seq 1 60); do R creat -s 2M "$M/c/a$i" || echo "a$i failed"; done) >"$W/a.out" 2>&1 &
pa=$!
(for i in $(seq 1 60); do R mkdir "$M/c/d$i" || echo "d$i failed"; done) >"$W/b.out" 2>&1 &
pb=$!
(for i in $(seq 1 60); do "$FAMFS" --device "$DEV" creat -s 2M "c/v$i" || echo "v$i failed"; done
 "$FAMFS" --device "$DEV" creat --list "$W/list" >/dev/null || echo "list failed") >"$W/c.out" 2>&1 &
pc=$!
wait $pa $pb $pc
check "no command failed ($(cat "$W"/[abc].out | head -3 | tr '\n' ' '))" \
    bash -c "! grep -q . $W/a.out $W/b.out $W/c.out"
names=$(logged_paths | grep '^c/')
if [ "$(echo "$names" | grep -c .)" = 480 ]; then pass "all 480 entries logged"; else
    fail "all 480 entries logged (got $(echo "$names" | grep -c .))"; fi
check "none twice" [ -z "$(echo "$names" | sort | uniq -d)" ]
check "fsck: clean (no overlap, no damage)" "$FAMFS" fsck "$DEV"
check "all visible through the mount" [ "$(ls "$M/c" | wc -l)" = 480 ]

# ---- creat --list through the mount: each directory resolved once -----------------------
# Resolving every path walked it through the mount (a lookup miss for the new
# name) and statvfs'd the mount: 10,000 files took ~50x as long as --device.
reqs() {
    python3 -c 'import json,os,sys; r=json.loads(os.getxattr(sys.argv[1],"user.famfs.stats"))["requests"]; print(r["lookup"]+r["statfs"])' "$M"
}
R mkdir "$M/l1" "$M/l2"
for i in $(seq 1 150); do echo "$M/l1/f$i,2M"; done >"$W/l1"
for i in $(seq 1 300); do echo "$M/l2/f$i,2M"; done >"$W/l2"
r0=$(reqs)
check "creat --list of 150 files through the channel" R creat --list "$W/l1"
r1=$(reqs)
check "creat --list of 300 files (over the channel's 256: on the device)" "$FAMFS" creat --list "$W/l2"
r2=$(reqs)
check "  all there" [ "$(ls "$M/l1" | wc -l):$(ls "$M/l2" | wc -l)" = 150:300 ]
check "  lookups+statfs per command: $((r1 - r0)) and $((r2 - r1)), not one per file (< 40)" \
    [ $((r1 - r0)) -lt 40 -a $((r2 - r1)) -lt 40 ]

# ---- the daemon killed in the middle of creations -----------------------------------------
(for i in $(seq 1 400); do R creat -s 2M "$M/c/k$i" 2>/dev/null && echo "k$i"; done) >"$W/done" &
pk=$!
sleep 0.5
kill -9 "$(daemon_pid "$M")"
wait $pk
umount -l "$M" 2>/dev/null
logged=$(logged_paths)
missing=0
while read -r k; do grep -qx "c/$k" <<<"$logged" || missing=$((missing + 1)); done <"$W/done"
check "daemon killed after $(wc -l <"$W/done") creations: none reported done is missing" \
    [ $missing -eq 0 ]
check "  fsck clean" "$FAMFS" fsck "$DEV"
check "  the socket is replaced by the next mount" mount_famfs "$DEV" "$M"
check "  which creates through the channel" R creat -s 2M "$M/c/afterkill"

summary
