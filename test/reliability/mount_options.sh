#!/usr/bin/env bash
# Issue 11 item 6: a device path with commas must not add mount options, and
# every famfs mount carries nosuid,nodev (and noexec unless asked).
#   mount_options.sh [FAMFS_BINARY]
set -u
FAMFS=${1:-${FAMFS:-famfs}}
FAMFS=$(command -v "$FAMFS" || echo "$FAMFS")
T=$(mktemp -d /dev/shm/famfs-mopts.XXXXXX)
M=$T/mnt
mkdir -p "$M" "$T/x,suid,dev"
cleanup() {
  if grep -q " $M fuse" /proc/mounts; then "$FAMFS" umount "$M" >/dev/null 2>&1 || umount -l "$M"; fi
  rm -rf "$T"
}
trap cleanup EXIT
export FAMFS_SYSTEM_UUID_FILE=$T/uuid
# shellcheck source=../lib/check.sh
source "$(dirname "$0")/../lib/check.sh"
DEV="$T/x,suid,dev/dev0"
"$FAMFS" mkfs --emulate 64M "$DEV" >/dev/null || { echo "FAIL: mkfs"; exit 1; }
if timeout 40 "$FAMFS" mount "$DEV" "$M" >"$T/out" 2>&1; then
  line=$(awk -v m="$M" '$2 == m' /proc/mounts)
  echo "  /proc/mounts: $line"
  opts=$(awk '{print $4}' <<<"$line")
  check "nosuid despite ',suid' in the device path" grep -qw nosuid <<<"$opts"
  check "nodev despite ',dev' in the device path" grep -qw nodev <<<"$opts"
  check "noexec by default" grep -qw noexec <<<"$opts"
  check "the source is the whole device path" grep -q 'x\\054suid\\054dev/dev0\|x,suid,dev/dev0' <<<"$(awk '{print $1}' <<<"$line")"
  "$FAMFS" umount "$M" >/dev/null 2>&1
else
  check "mount of a device path with commas: $(cat "$T/out")" false
fi
summary
