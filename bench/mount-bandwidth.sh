#!/bin/bash
# Benchmark (not a test): read() and mmap bandwidth through a famfs mount vs
# the raw device mapping and tmpfs, in one run. Root.
#   bench/mount-bandwidth.sh [BUILD_DIR] [SIZE_MIB]
# The emulated device lives on a huge-page tmpfs (2 MiB pages, as a DAX
# device maps), the comparison file on plain tmpfs.
set -eu
B=${1:-$(cd "$(dirname "$0")/../.." && pwd)/build}
SIZE=${2:-1024}
W=$(mktemp -d /tmp/famfs-bench.XXXXXX)
cleanup() {
    set +e
    grep -q " $W/mnt " /proc/self/mountinfo && "$B/tools/famfs" umount "$W/mnt"
    for d in huge tmp; do grep -q " $W/$d " /proc/self/mountinfo && umount "$W/$d"; done
    rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W/huge" "$W/tmp" "$W/mnt"
mount -t tmpfs -o huge=always,size=$((SIZE + 64))M none "$W/huge"
mount -t tmpfs -o size=$((SIZE + 16))M none "$W/tmp"
export FAMFS_SYSTEM_UUID_FILE=$W/uuid
"$B/tools/famfs" mkfs --emulate $((SIZE + 32))M "$W/huge/famfs0" >/dev/null
"$B/tools/famfs" --device "$W/huge/famfs0" creat -s "${SIZE}M" -S 1 bench >/dev/null
head -c "${SIZE}M" /dev/zero >"$W/tmp/bench"
echo "kernel $(uname -r), $(nproc) cores; device on tmpfs huge=always"
# Both read-reply modes of the daemon: zerocopy (iovecs into the device
# mapping; the default for emulated devices) and nozerocopy (a copy into a
# buffer first; the default for DAX devices, see docs/daemon.md).
for mode in zerocopy nozerocopy; do
    echo "---- famfs-fused -o $mode"
    "$B/tools/famfs" mount -o "$mode" "$W/huge/famfs0" "$W/mnt" >/dev/null
    "$B/bench/famfs-bench-read" "$W/mnt/bench" "$W/tmp/bench" --passes "${PASSES:-3}"
    python3 -c 'import json,os,sys; s=json.loads(os.getxattr(sys.argv[1],"user.famfs.stats")); print("daemon: %d read requests, %.0f MiB served, zero_copy_reads %s" % (s["requests"]["read"], s["bytes_read"]/1048576, s["zero_copy_reads"]))' "$W/mnt"
    "$B/tools/famfs" umount "$W/mnt"
done
