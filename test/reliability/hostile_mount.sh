#!/usr/bin/env bash
# Hostile logs through a real mount (issue 11): hostile_log.py writes every
# kind of hostile entry from the issue, with valid crcs, between valid files.
# fsck must list each hostile index; a mount must serve every valid file with
# its bytes, none of the refused ones, and no setuid/setgid or device node.
#   hostile_mount.sh (env: FAMFS, FAMFS_FUSED, IOCHECK)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# FAMFS, FAMFS_FUSED, IOCHECK from the environment (ctest sets them); the work
# dir and its mounts go on exit (it_workdir, test/integration/lib.sh).
source "$(dirname "$0")/../integration/lib.sh"
it_workdir
T=$W
M=$T/mnt
MOUNTS+=("$M")
mkdir -p "$M"

"$FAMFS" mkfs --emulate 256M "$T/dev" >/dev/null || { echo "FAIL: mkfs"; exit 1; }
python3 "$HERE/hostile_log.py" "$T/dev" >"$T/list" || { echo "FAIL: writing the log"; exit 1; }
"$FAMFS" fsck "$T/dev" >"$T/fsck" 2>&1
while read -r i kind name; do
  case $kind in
    refused | neutralised)
      grep -q "^entry $i: " "$T/fsck" && pass "fsck lists entry $i ($name, $kind)" ||
        fail "fsck does not list entry $i ($name)"
      ;;
    valid)
      grep -q "^entry $i: " "$T/fsck" && fail "fsck blames valid entry $i ($name)" || true
      ;;
  esac
done <"$T/list"

if ! timeout 40 "$FAMFS" mount "$T/dev" "$M" >"$T/mount" 2>&1; then
  fail "mount: $(cat "$T/mount")"
  summary
  exit 1
fi
while read -r i kind name; do
  case $kind in
    valid)
      if [[ $name == ok* && $name != okdir ]]; then
        [[ $(head -c 4096 "$M/$name" | tr -d '\245' | wc -c) == 0 && $(stat -c %s "$M/$name") == 4096 ]] &&
          pass "valid file $name served with its bytes" || fail "valid file $name not served"
      else
        d=$name
        [[ $name == name-79 ]] && d=$(printf 'y%.0s' $(seq 79))
        [[ -d $M/$d ]] && pass "valid directory $name served" || fail "directory $name missing"
      fi
      ;;
    refused)
      case $name in
        in-superblock) p=sbfile ;; in-log) p=logfile ;; overlap) p=thief ;; past-device) p=past ;;
        zero-length) p=zero ;; 0-strips) p=s0 ;; chunk-not-2M) p=s1 ;; size-over-extents) p=big ;;
        17-extents) p=ext17 ;; file-under-file) p=ok0/under ;; absolute) p=abs ;; dotdot) p=etc ;;
        name-80) p=$(printf 'x%.0s' $(seq 80)) ;; *) p= ;;
      esac
      if [[ -n $p ]]; then
        [[ -e $M/$p ]] && fail "refused entry $name served as $p" || pass "refused entry $name not served"
      fi
      ;;
    valid-as-n)
      [[ -d $M/n ]] && grep -q "^entry $i: relpath: .*after its NUL" "$T/fsck" &&
        pass "bytes after an embedded NUL: served as 'n', listed by fsck" ||
        fail "embedded NUL entry $i: not served as 'n' or not listed"
      ;;
    neutralised)
      mode=$(stat -c %f "$M/$name" 2>/dev/null || echo none)
      [[ $mode != none ]] && (((0x$mode & 0xf000) == 0x8000 && (0x$mode & 06000) == 0)) &&
        pass "$name served as a plain file without setuid/setgid (mode 0x$mode)" ||
        fail "$name served with mode 0x$mode"
      ;;
  esac
done <"$T/list"
[[ $(head -c 4096 "$M/ok0" | tr -d '\245' | wc -c) == 0 ]] && pass "first owner (ok0) keeps its bytes" ||
  fail "ok0's bytes changed"
grep -q " $M fuse" /proc/mounts && pass "the daemon is still serving" || fail "the mount died"
summary
