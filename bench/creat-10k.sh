#!/usr/bin/env bash
# Benchmark: 10,000 files with one `famfs creat --list` (one lock, one log
# catch-up) against separate `famfs creat` processes, extrapolated per file.
#
#   bench/creat-10k.sh [FAMFS_BINARY] [NFILES] [NPROC]
#
# Runs on emulated devices (sparse files on /dev/shm, or $FAMFS_BENCH_DIR);
# files are 2 MiB and unseeded, so only metadata is written.
set -euo pipefail

FAMFS=${1:-${FAMFS:-famfs}}
NFILES=${2:-10000}
NPROC=${3:-200}
base=${FAMFS_BENCH_DIR:-/dev/shm}
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
T=$(mktemp -d "$base/famfs-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
export FAMFS_SYSTEM_UUID_FILE=$T/system_uuid
# Enough room for NFILES 2 MiB allocation units plus metadata, in GiB.
GIB=$(((NFILES * 2 + 1023) / 1024 + 2))

now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.3f}')"; }

echo "famfs: $FAMFS"
echo "devices: $T (${GIB} GiB, emulated), $(nproc) CPUs"

# --- one command for NFILES files
"$FAMFS" mkfs --emulate "${GIB}G" "$T/multi" >/dev/null
"$FAMFS" --device "$T/multi" mkdir bench
for i in $(seq -w 1 "$NFILES"); do echo "bench/f$i,2M"; done >"$T/list"
t0=$(now)
"$FAMFS" --device "$T/multi" creat --list "$T/list" >/dev/null
t1=$(now)
multi=$(secs "$t0" "$t1")
"$FAMFS" fsck "$T/multi" >/dev/null || { echo "fsck after --multi failed"; exit 1; }

# --- NPROC separate processes, on a fresh filesystem (the best case for them:
# each process replays a short log)
"$FAMFS" mkfs --emulate "${GIB}G" "$T/single" >/dev/null
"$FAMFS" --device "$T/single" mkdir bench
t0=$(now)
for i in $(seq 1 "$NPROC"); do "$FAMFS" --device "$T/single" creat -s 2M "bench/f$i"; done
t1=$(now)
single=$(secs "$t0" "$t1")
"$FAMFS" fsck "$T/single" >/dev/null || { echo "fsck after single creats failed"; exit 1; }

python3 - "$NFILES" "$multi" "$NPROC" "$single" <<'PY'
import sys
n, multi, p, single = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
per = single / p
print(f"creat --list, {n} files, one process: {multi:.3f} s  ({n / multi:,.0f} files/s, {multi / n * 1e6:.1f} us/file)")
print(f"creat, {p} separate processes:        {single:.3f} s  ({per * 1e3:.2f} ms/file)")
print(f"  extrapolated to {n} files:           {per * n:.1f} s")
print(f"ratio (separate / --multi):            {per * n / multi:.0f}x")
PY
