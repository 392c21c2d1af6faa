#!/bin/bash
# Issue 11 item 7: concurrent `famfs mount` of one mount point must leave one
# mount; every other one fails with one line saying it is already mounted.
# Item 11: a non-UTF-8 device path mounts, reports success and unmounts
# (it once reported failure and left a dead mount behind).
# Needs FAMFS, FAMFS_FUSED, IOCHECK (ctest sets them).
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../integration/lib.sh"

it_workdir
export FAMFS_SYSTEM_UUID_FILE=$W/uuid
N=${MOUNT_RACERS:-8}

count_mounts() { awk -v m="$1" '$5 == m' /proc/self/mountinfo | wc -l; }

# ---- item 7: N concurrent mounts of one mount point --------------------------------
DEV=$W/dev0
M=$W/m
mkdir -p "$M"
"$FAMFS" mkfs --emulate 64M "$DEV" >/dev/null || { echo "FAIL: mkfs"; exit 1; }
MOUNTS+=("$M")
for i in $(seq "$N"); do
    timeout 60 "$FAMFS" mount "$DEV" "$M" >"$W/out$i" 2>&1 &
    racers+=($!)
done
ok=0 refused=0 other=0
for i in $(seq "$N"); do
    if wait "${racers[$((i - 1))]}"; then
        ok=$((ok + 1))
    elif [ "$(wc -l <"$W/out$i")" -eq 1 ] && grep -q "already mounted" "$W/out$i"; then
        refused=$((refused + 1))
    else
        other=$((other + 1))
        echo "  mount $i: $(cat "$W/out$i")"
    fi
done
echo "  $N concurrent mounts: $ok mounted, $refused refused (already mounted), $other other"
check "exactly one of $N concurrent mounts succeeded" [ "$ok" -eq 1 ]
check "the other $((N - 1)) failed with one line: already mounted" [ "$refused" -eq $((N - 1)) ]
check "one mount on the mount point ($(count_mounts "$M"))" [ "$(count_mounts "$M")" -eq 1 ]
pid=$(daemon_pid "$M") && PIDS+=("$pid")
check "the mount serves" ls "$M"
sed -n 1p "$W/out1"
check "famfs umount" "$FAMFS" umount "$M"
check "nothing left on the mount point" [ "$(count_mounts "$M")" -eq 0 ]

# ---- item 11: a device path that is not UTF-8 -------------------------------------
D=$W/$'dev\xff\xfe'
M2=$W/m2
mkdir -p "$M2"
"$FAMFS" mkfs --emulate 64M "$D" >/dev/null
MOUNTS+=("$M2")
out=$(timeout 60 "$FAMFS" mount "$D" "$M2" 2>&1); rc=$?
check "mount of a non-UTF-8 device path reports success ($out)" [ $rc -eq 0 ]
check "exactly one mount, and it answers" bash -c "[ $(count_mounts "$M2") -eq 1 ] && ls '$M2' >/dev/null"
check "the stats name the path with \\xHH escapes" \
    bash -c "[[ \"\$(python3 -c 'import json,os,sys; print(json.loads(os.getxattr(sys.argv[1],\"user.famfs.stats\"))[\"device\"])' '$M2')\" == *'dev\\xff\\xfe' ]]"
pid=$(daemon_pid "$M2") && PIDS+=("$pid")
check "famfs umount" "$FAMFS" umount "$M2"
check "no dead mount left behind" [ "$(count_mounts "$M2")" -eq 0 ]
out=$(timeout 60 "$FAMFS" mount "$D" "$W/missing" 2>&1); rc=$?
check "a failed mount of it reports failure ($out)" [ $rc -ne 0 ]
check "and leaves no mount" [ "$(count_mounts "$W/missing")" -eq 0 ]
summary
