#!/usr/bin/env bash
# Issue 11 item 6: a device path with commas must not add mount options, and
# every famfs mount carries nosuid,nodev (and noexec unless asked).
#   mount_options.sh (env: FAMFS, FAMFS_FUSED, IOCHECK)
set -u
# FAMFS, FAMFS_FUSED, IOCHECK from the environment (ctest sets them); the work
# dir and its mounts go on exit (it_workdir, test/integration/lib.sh).
source "$(dirname "$0")/../integration/lib.sh"
it_workdir
T=$W
M=$T/mnt
MOUNTS+=("$M")
mkdir -p "$M" "$T/x,suid,dev"
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
