#!/bin/bash
# One "host" of the multi-host harness, run as pid 1 of its own mount and pid
# namespaces (hosts_test.sh starts it with unshare). Usage:
#   host.sh INDEX NHOSTS SYNC_DIR DEVICE MOUNTPOINT
# Host 0 is the owner (its uuid is the superblock's); the others are clients.
# Hosts coordinate through marker files in SYNC_DIR; each writes its
# PASS/FAIL lines to SYNC_DIR/hostINDEX.log and "done" to hostINDEX.done.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../integration/lib.sh"

IDX=$1 N=$2 S=$3 DEV=$4 MP=$5
export FAMFS_SYSTEM_UUID_FILE=$S/host$IDX.uuid
exec >"$S/host$IDX.log" 2>&1
echo "host $IDX: pid namespace pid $$, uuid file $FAMFS_SYSTEM_UUID_FILE"

wait_marker() {  # wait_marker NAME [SECONDS]
    local i
    for ((i = 0; i < ${2:-30} * 100; i++)); do
        [ -e "$S/$1" ] && return 0
        sleep 0.01
    done
    echo "timed out waiting for $1"
    return 1
}
finish() {
    if grep -q " $MP " /proc/self/mountinfo; then "$FAMFS" umount --lazy "$MP" >/dev/null 2>&1; fi
    summary >"$S/host$IDX.summary"
    cat "$S/host$IDX.summary"
    touch "$S/host$IDX.done"
}
trap finish EXIT

check "host $IDX: mount on $MP" mount_famfs "$DEV" "$MP" -o refresh_ms=100
role=$(stat_field "$MP" role)
if [ "$IDX" -eq 0 ]; then want=owner; else want=client; fi
check "host $IDX: role is $want" [ "$role" = "$want" ]
touch "$S/host$IDX.mounted"

if [ "$IDX" -eq 0 ]; then
    # ---- the owner: create a tree once every host is mounted --------------------
    for ((h = 1; h < N; h++)); do wait_marker "host$h.mounted" 60 || exit 1; done
    check "owner: mkdir -p a tree" "$FAMFS" mkdir -p "$MP/proj/data/raw" "$MP/proj/docs"
    check "owner: creat files with patterns" bash -c "
        '$FAMFS' creat -s 8M -S 101 '$MP/proj/data/raw/sample0' &&
        '$FAMFS' creat -s 3000 -S 102 '$MP/proj/docs/readme' &&
        '$FAMFS' creat -s 64M -S 103 '$MP/proj/data/big' >/dev/null"
    (cd "$MP" && find . -path ./.meta -prune -o -printf '%p %y %s %m\n' | sort) >"$S/owner.listing"
    date +%s%N >"$S/created"
    # Second round: one more file while the clients are mounted and reading.
    wait_marker round1.ready.all 60 || exit 1
    date +%s%N >"$S/round2.t0"
    check "owner: creat a file while clients read" "$FAMFS" creat -s 2M -S 104 "$MP/proj/late"
    for ((h = 1; h < N; h++)); do wait_marker "host$h.round2" 30; done
else
    # ---- a client: see the owner's files appear, read them, fail to create ---------
    wait_marker created 60 || exit 1
    check "host $IDX: tree appears without manual steps" wait_for_path "$MP/proj/data/big" 2
    (cd "$MP" && find . -path ./.meta -prune -o -printf '%p %y %s %m\n' | sort) >"$S/host$IDX.listing"
    check "host $IDX: listing identical to the owner's" cmp -s "$S/owner.listing" "$S/host$IDX.listing"
    diff "$S/owner.listing" "$S/host$IDX.listing" | sed 's/^/    /'
    check "host $IDX: read() sample0" "$IOCHECK" read "$MP/proj/data/raw/sample0" 101
    check "host $IDX: read() readme" "$IOCHECK" read "$MP/proj/docs/readme" 102
    check "host $IDX: read() 64 MiB big" "$IOCHECK" read "$MP/proj/data/big" 103
    check "host $IDX: mmap big" "$IOCHECK" mmap-read "$MP/proj/data/big" 103
    check "host $IDX: mmap readme" "$IOCHECK" mmap-read "$MP/proj/docs/readme" 102
    check_fails "host $IDX: touch refused" touch "$MP/proj/mine"
    check_fails "host $IDX: mkdir refused" mkdir "$MP/proj/mydir"
    check_fails "host $IDX: famfs creat refused" "$FAMFS" creat -s 2M "$MP/proj/mine"
    check_fails "host $IDX: famfs mkdir refused" "$FAMFS" mkdir "$MP/proj/mydir"
    touch "$S/host$IDX.round1"
    wait_marker round2.t0 60 || exit 1
    if wait_for_path "$MP/proj/late" 1; then
        ms=$(( ($(date +%s%N) - $(cat "$S/round2.t0")) / 1000000 ))
        pass "host $IDX: file created while mounted appeared within 1 s (${ms} ms after the creat started)"
    else
        fail "host $IDX: file created while mounted did not appear within 1 s"
    fi
    check "host $IDX: late file bytes" "$IOCHECK" mmap-read "$MP/proj/late" 104
    check "host $IDX: stats show refreshes" [ "$(stat_field "$MP" refresh_count)" -gt 0 ]
    touch "$S/host$IDX.round2"
fi
check "host $IDX: unmount" "$FAMFS" umount "$MP"
