#!/bin/bash
# Corruption sweep, mounted sample (issue 11): a real famfs-fused mount of a
# device with one byte flipped (all 8 bits), every STRIDE-th byte of the
# superblock, the log header and one FILE entry. For each: the daemon
# either refuses to start (exit 1, one line) or mounts, serves ls -lR, a
# read of every listed file and the stats, and exits 0 on unmount: never
# a signal. famfs_daemon_sweep drives every flip through the op layer; this
# is the same through FUSE, sampled to keep it short.
#   mounted_sweep.sh [STRIDE=16]
# Needs FAMFS, FAMFS_FUSED, IOCHECK (ctest sets them).
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../integration/lib.sh"
STRIDE=${1:-16}

it_workdir
FAMFS_SYSTEM_UUID_FILE=$CLIENT_UUID "$FAMFS" mkfs --emulate 16M "$W/probe" >/dev/null 2>&1
DEV=$W/dev
"$FAMFS" mkfs --emulate 64M "$DEV" >/dev/null || { echo "FAIL: mkfs"; exit 1; }
"$FAMFS" --device "$DEV" mkdir d >/dev/null
"$FAMFS" --device "$DEV" creat -s 3M -S 1 d/f >/dev/null
"$FAMFS" --device "$DEV" creat -s 4096 -S 2 g >/dev/null
M=$W/m
mkdir -p "$M"
MOUNTS+=("$M")
LOG=$((0x200000))
flip() {  # flip OFFSET: xor the byte at OFFSET with 0xff, in place
    python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xff]))' "$DEV" "$1"
}
mounted=0 refused=0 bad=0
one() {  # one OFFSET LABEL
    local off=$1 label=$2 pid rc up=0
    flip "$off"
    "$FAMFS_FUSED" "$DEV" "$M" -f -o "uuid_file=$CLIENT_UUID" >/dev/null 2>"$W/err" &
    pid=$!
    for _ in $(seq 100); do
        if stat_field "$M" pid >/dev/null 2>&1; then up=1; break; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if [ $up = 1 ]; then
        mounted=$((mounted + 1))
        ls -lR "$M" >/dev/null 2>&1
        find "$M" -type f -exec cat {} + >/dev/null 2>&1
        stat_field "$M" serving >/dev/null 2>&1 || { bad=$((bad + 1)); echo "  $label: stats unreadable"; }
        umount "$M"
        wait "$pid"; rc=$?
        [ $rc -eq 0 ] || { bad=$((bad + 1)); echo "  $label: daemon exit $rc after unmount"; }
    else
        wait "$pid"; rc=$?
        if [ $rc -eq 1 ] && [ "$(wc -l <"$W/err")" -eq 1 ]; then
            refused=$((refused + 1))
        else
            bad=$((bad + 1))
            echo "  $label: daemon exit $rc: $(head -3 "$W/err")"
            grep -q " $M " /proc/self/mountinfo && umount -l "$M"
        fi
    fi
    flip "$off"
}
n=0
for o in $(seq 0 "$STRIDE" 199); do one "$o" "superblock+$o"; n=$((n + 1)); done
for o in $(seq 0 "$STRIDE" 47); do one $((LOG + o)) "log header+$o"; n=$((n + 1)); done
for o in $(seq 0 "$STRIDE" 543); do one $((LOG + 48 + 544 + o)) "entry 1+$o"; n=$((n + 1)); done
echo "  mounted sweep: $n flips (every ${STRIDE}th byte): $mounted mounted and served, $refused refused with one line, $bad bad"
check "no daemon died of a signal or failed to unmount on a flipped image" [ $bad -eq 0 ]
check "every flip either mounted or was refused with one line" [ $((mounted + refused)) -eq $n ]
summary
