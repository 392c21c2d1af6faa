#!/bin/bash
# Several hosts on one machine: NHOSTS (default 3) mount + pid namespaces,
# each with its own system uuid and its own famfs-fused on the same mount
# path, over one shared emulated device. Host 0 owns the filesystem and
# creates a tree; the clients see it appear, read identical bytes through
# read() and mmap, and are refused when they try to create.
# Run as root: ctest -L hosts (or NHOSTS=5 test/hosts/hosts_test.sh).
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../integration/lib.sh"
N=${NHOSTS:-3}

W=$(make_workdir)
S=$W/sync
MP=$W/mnt   # the same path in every host's namespace
mkdir -p "$S" "$MP"
HOSTS=()
cleanup() {
    local p
    # Killing a host's pid 1 takes its daemon and its mount namespace (and so
    # its mounts) with it.
    for p in "${HOSTS[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT

# Each host's uuid; the device belongs to host 0.
for ((h = 0; h < N; h++)); do
    python3 -c 'import uuid; print(uuid.uuid4())' >"$S/host$h.uuid"
done
FAMFS_SYSTEM_UUID_FILE=$S/host0.uuid "$FAMFS" mkfs --emulate 512M "$W/famfs0" >/dev/null ||
    { echo "FAIL: mkfs"; exit 1; }

for ((h = 0; h < N; h++)); do
    unshare --mount --propagation private --pid --fork --mount-proc \
        bash "$here/host.sh" "$h" "$N" "$S" "$W/famfs0" "$MP" &
    HOSTS+=($!)
done

# Round 1 ends when every client has checked the tree.
deadline=$((SECONDS + 120))
for ((h = 1; h < N; h++)); do
    while [ ! -e "$S/host$h.round1" ] && [ ! -e "$S/host$h.done" ] && [ $SECONDS -lt $deadline ]; do
        sleep 0.05
    done
done
touch "$S/round1.ready.all"
for ((h = 0; h < N; h++)); do
    while [ ! -e "$S/host$h.done" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
done

total_pass=0
total_fail=0
for ((h = 0; h < N; h++)); do
    echo "---- host $h"
    grep -E '^(PASS|FAIL|SKIP)|timed out' "$S/host$h.log" 2>/dev/null
    if [ -e "$S/host$h.summary" ]; then
        read -r p _ f _ <"$S/host$h.summary"
        total_pass=$((total_pass + p))
        total_fail=$((total_fail + f))
    else
        echo "FAIL: host $h did not finish"
        tail -5 "$S/host$h.log" 2>/dev/null
        total_fail=$((total_fail + 1))
    fi
done
check_outside() { ! grep -q " $MP " /proc/self/mountinfo; }
if check_outside; then total_pass=$((total_pass + 1)); echo "PASS: no host's mount leaked into the harness namespace"
else total_fail=$((total_fail + 1)); echo "FAIL: a host's mount is visible outside its namespace"; fi
echo "$N hosts: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
