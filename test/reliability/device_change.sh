#!/bin/bash
# Issue 11 items 4 and 5 under a real mount: a device re-formatted
# (mkfs --force) or shrunk (truncate of the emulated device) under a mounted
# client. The daemon must stop serving (EIO), say why in one log line and
# in the stats, keep running, and never serve the new filesystem's bytes or
# memory past the device's end. Needs FAMFS, FAMFS_FUSED, IOCHECK (ctest
# sets them).
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../integration/lib.sh"

it_workdir
"$FAMFS" mkfs --emulate 16M "$W/probe" >/dev/null 2>&1  # creates the owner uuid
FAMFS_SYSTEM_UUID_FILE=$CLIENT_UUID "$FAMFS" mkfs --emulate 16M "$W/probe2" >/dev/null 2>&1

# start_client DEV MNT LOG [-o opts]: a client daemon in the foreground, its
# log in LOG, its pid in CLIENT_PID; waits until the mount answers.
start_client() {
    local dev=$1 mp=$2 log=$3
    shift 3
    mkdir -p "$mp"
    MOUNTS+=("$mp")
    "$FAMFS_FUSED" "$dev" "$mp" -f -o "uuid_file=$CLIENT_UUID${1:+,$1}" >/dev/null 2>"$log" &
    CLIENT_PID=$!
    PIDS+=("$CLIENT_PID")
    local i
    for i in $(seq 200); do
        stat_field "$mp" pid >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}
# reads_eio FILE: a read of FILE fails with EIO.
reads_eio() { local e; e=$(cat "$1" 2>&1 >/dev/null); [[ $e == *"Input/output error"* ]]; }
# until_true SECONDS CMD...: CMD succeeds within SECONDS.
until_true() {
    local deadline=$(( $(date +%s) + $1 )); shift
    until "$@"; do [ "$(date +%s)" -ge "$deadline" ] && return 1; sleep 0.05; done
}

# ---- item 4: mkfs --force under a client ------------------------------------------
DEV=$W/dev0
M=$W/m0
"$FAMFS" mkfs --emulate 64M "$DEV" >/dev/null || { echo "FAIL: mkfs"; exit 1; }
"$FAMFS" --device "$DEV" creat -s 3M -S 1 old >/dev/null
"$FAMFS" --device "$DEV" creat -s 2M idle >/dev/null
start_client "$DEV" "$M" "$W/log0" || { echo "FAIL: client mount"; cat "$W/log0"; exit 1; }
check "client serves the old file" "$IOCHECK" read "$M/old" 1
check "a stat of another name (its attributes now cached by the kernel)" stat "$M/idle"
check "stats: serving before the re-format" [ "$(stat_field "$M" serving)" = True ]
# Another host's mkfs --force (this host's mkfs refuses a device mounted
# here): the new filesystem, with a file of the same name at the same
# offset, lands on the device under the mount.
"$FAMFS" mkfs --emulate 64M "$W/other" >/dev/null
"$FAMFS" mkfs --force "$W/other" >/dev/null
"$FAMFS" --device "$W/other" creat -s 3M -S 2 old >/dev/null
"$FAMFS" --device "$W/other" creat -s 3M -S 3 new >/dev/null
dd if="$W/other" of="$DEV" bs=1M conv=notrunc status=none
check "a read of the old name fails with EIO" until_true 5 reads_eio "$M/old"
check "the new filesystem's bytes are never served under the old name" \
    bash -c "! '$IOCHECK' read '$M/old' 2 2>/dev/null"
check "the new file is not served either" bash -c "! cat '$M/new' >/dev/null 2>&1"
check "ls of the root fails with EIO" bash -c "ls '$M' 2>&1 | grep -q 'Input/output error'"
check "stats: serving false" [ "$(stat_field "$M" serving)" = False ]
# Attributes are cached for an hour (names and files never change): the stop
# drops what the kernel holds, so a stat asks the daemon and fails too. (A
# read already drops a file's cached atime, hence a name never read.)
check "a stat of a name never read fails too (nothing answered from the cache)" \
    bash -c "! stat '$M/idle' >/dev/null 2>&1"
why=$(stat_field "$M" stopped)
check "stats: stopped says re-formatted ($why)" bash -c "[[ '$why' == *re-formatted* ]]"
check "one log line says why" [ "$(grep -c 'stopped serving' "$W/log0")" -eq 1 ]
check "the daemon is still running" kill -0 "$CLIENT_PID"
check "unmount works" umount "$M"
wait "$CLIENT_PID" 2>/dev/null

# ---- item 5: the device shrinks under a client -------------------------------------
# With -o nozerocopy the daemon copies file data itself: before the fix the
# first read after the truncate killed it with SIGBUS.
DEV=$W/dev1
M=$W/m1
"$FAMFS" mkfs --emulate 64M "$DEV" >/dev/null
"$FAMFS" --device "$DEV" creat -s 32M -S 4 big >/dev/null
start_client "$DEV" "$M" "$W/log1" nozerocopy || { echo "FAIL: client mount"; cat "$W/log1"; exit 1; }
check "client serves the file" "$IOCHECK" read "$M/big" 4
# Readers copy while the device shrinks under them.
for r in 1 2; do
    ( for _ in $(seq 40); do dd if="$M/big" of=/dev/null bs=1M 2>/dev/null || true; done ) &
    READERS+=($!)
done
sleep 0.2
truncate -s 4M "$DEV"
wait "${READERS[@]}" 2>/dev/null
check "a read past the new end fails with EIO" reads_eio "$M/big"
check "the daemon survived the shrink (no SIGBUS)" kill -0 "$CLIENT_PID"
why=$(stat_field "$M" stopped)
check "stats: stopped says the device shrank ($why)" bash -c "[[ '$why' == *shrank* ]]"
check "one log line says why" [ "$(grep -c 'stopped serving' "$W/log1")" -eq 1 ]
check "unmount works" umount "$M"
wait "$CLIENT_PID" 2>/dev/null
summary
