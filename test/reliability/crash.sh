#!/usr/bin/env bash
# Crash consistency (issue 11): SIGKILL at a random point in `creat --multi`,
# `mkdir -p` and `cp -r`, TRIALS times (round robin), on an emulated device.
#   crash.sh TRIALS [FAMFS_BINARY]
# After each kill: fsck is clean (an interrupted append leaves at most an
# invisible tail), no extent overlaps another or the metadata (checked by an
# independent reader of the bytes, famfs_image.py), a command that returned
# success has all its entries (and for cp its bytes), and a cp run again
# completes the tree. Prints a summary; exits non-zero on any violation
set -u
trials=${1:?usage: crash.sh TRIALS [FAMFS]}
FAMFS=${2:-${FAMFS:-famfs}}
FAMFS=$(command -v "$FAMFS" || echo "$FAMFS")
HERE=$(cd "$(dirname "$0")" && pwd)
IMG="python3 $HERE/famfs_image.py"
base=/dev/shm
[[ -w $base ]] || base=${TMPDIR:-/tmp}
T=$(mktemp -d "$base/famfs-crash.XXXXXX")
trap 'rm -rf "$T"' EXIT
DEV=$T/dev
export FAMFS_SYSTEM_UUID_FILE=$T/uuid
F() { "$FAMFS" --device "$DEV" "$@"; }

# cp's source: 12 files, 4 KiB .. 3 MiB of random bytes, in subdirectories.
mkdir -p "$T/src/a/b" "$T/src/c"
for i in $(seq 1 12); do
  d=$T/src; ((i % 3 == 1)) && d=$T/src/a; ((i % 3 == 2)) && d=$T/src/a/b
  ((i == 12)) && d=$T/src/c
  head -c $(((i * 263) % 3072 * 1024 + 4096)) /dev/urandom >"$d/f$i"
done
multi=()
for i in $(seq 1 40); do multi+=("m/f$i"); done
deep=d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15/d16

"$FAMFS" mkfs --emulate 512M "$DEV" >/dev/null 2>&1 || { echo "crash: cannot make $DEV"; exit 1; }

cmd_of() {  # the command of trial kind $1, in cmd[]
  cmd=("$FAMFS" --device "$DEV")
  case $1 in
    creat) cmd+=(creat --multi -s 1M -S 7 "${multi[@]}") ;;
    mkdir) cmd+=(mkdir -p "$deep") ;;
    cp) cmd+=(cp -r "$T/src" dst) ;;
  esac
}
run_cmd() { cmd_of "$1"; "${cmd[@]}"; }
setup() {  # a fresh filesystem, and what each command needs first
  F mkfs --force "$DEV" >/dev/null 2>&1 || "$FAMFS" mkfs --force "$DEV" >/dev/null
  # cp copies into an existing directory, so the run and its restart both
  # name dst/src (into a missing dst, a rerun would nest: dst/src, as cp(1)).
  case $1 in creat) F mkdir m >/dev/null ;; cp) F mkdir dst >/dev/null ;; esac
}

# Median duration of each command, to spread the kills over its run.
declare -A dur
for k in creat mkdir cp; do
  setup $k
  s=$(date +%s%N); run_cmd $k >/dev/null 2>&1; e=$(date +%s%N)
  dur[$k]=$(((e - s) / 1000)) # microseconds
done
echo "crash: command durations (us): creat ${dur[creat]}, mkdir ${dur[mkdir]}, cp ${dur[cp]}"

declare -A killed completed
violations=0 restarts=0 restart_ok=0
bad() { echo "crash: trial $t ($k): $*"; violations=$((violations + 1)); }
for t in $(seq 1 "$trials"); do
  kinds=(creat mkdir cp)
  k=${kinds[$((t % 3))]}
  setup $k
  delay=$((RANDOM * 32768 + RANDOM))
  delay=$((delay % (dur[$k] * 12 / 10 + 1)))
  cmd_of $k
  "${cmd[@]}" >"$T/out" 2>&1 &  # $! is famfs itself, not a subshell
  pid=$!
  sleep "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))"
  kill -9 $pid 2>/dev/null
  { wait $pid; } 2>/dev/null
  rc=$?
  if ((rc == 0)); then completed[$k]=$((${completed[$k]:-0} + 1)); else killed[$k]=$((${killed[$k]:-0} + 1)); fi
  # 1. fsck: clean.
  if ! F fsck >"$T/fsck" 2>&1; then bad "fsck not clean: $(head -5 "$T/fsck" | tr '\n' ' ')"; fi
  # 2. no overlap, nothing in the metadata region (independent reader).
  $IMG "$DEV" overlap >"$T/ov" || bad "$(cat "$T/ov")"
  # 3. a command that returned success has everything.
  if ((rc == 0)); then
    case $k in
      creat) $IMG "$DEV" has "${multi[@]}" >"$T/has" || bad "creat returned 0: $(cat "$T/has")" ;;
      mkdir) $IMG "$DEV" has "$deep" >"$T/has" || bad "mkdir -p returned 0: $(cat "$T/has")" ;;
      cp) $IMG "$DEV" same "$T/src" dst/src >"$T/same" || bad "cp returned 0: $(cat "$T/same")" ;;
    esac
  elif [[ $k == cp ]]; then
    # 4. a killed cp, run again, completes the tree.
    restarts=$((restarts + 1))
    if F cp -r "$T/src" dst >"$T/out2" 2>&1 && $IMG "$DEV" same "$T/src" dst/src >"$T/same"; then
      restart_ok=$((restart_ok + 1))
    else
      msg="restarted cp did not complete the tree: $(cat "$T/out2" "$T/same" | head -4 | tr '\n' ' ')"
      bad "$msg"
    fi
  fi
  ((t % 50 == 0)) && echo "crash: $t/$trials trials, $violations violations"
done
echo "crash: $trials trials: creat killed ${killed[creat]:-0} / completed ${completed[creat]:-0}," \
  "mkdir killed ${killed[mkdir]:-0} / completed ${completed[mkdir]:-0}," \
  "cp killed ${killed[cp]:-0} / completed ${completed[cp]:-0}; cp restarts $restart_ok/$restarts" \
  "complete; violations $violations"
((violations == 0))
