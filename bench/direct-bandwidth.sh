#!/bin/bash
# Benchmark (not a test): direct access (`famfs run`) against the raw device
# mapping (the limit), tmpfs, and compat mode, in one run. Root.
#   bench/direct-bandwidth.sh [BUILD_DIR] [SIZE_MIB]
# The emulated device lives on a huge=always tmpfs (2 MiB pages, as a DAX
# device maps); the tmpfs comparison file on plain tmpfs. Each figure is the
# best of PASSES passes (default 3), and the whole set runs ROUNDS times
# (default 2, interleaved) keeping the best, so a noisy moment on a shared
# machine hits every path alike. Ratios are against the raw mapping measured
# in this same run.
set -eu
B=${1:-$(cd "$(dirname "$0")/.." && pwd)/build}
SIZE=${2:-1024}
PASSES=${PASSES:-3}
ROUNDS=${ROUNDS:-2}
BENCH=$B/bench/famfs-bench-direct
FAMFS=$B/tools/famfs
W=$(mktemp -d /tmp/famfs-bench-direct.XXXXXX)
cleanup() {
    set +e
    grep -q " $W/mnt " /proc/self/mountinfo && "$FAMFS" umount "$W/mnt"
    for d in huge tmp; do grep -q " $W/$d " /proc/self/mountinfo && umount "$W/$d"; done
    rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W/huge" "$W/tmp" "$W/mnt"
mount -t tmpfs -o huge=always,size=$((SIZE + 64))M none "$W/huge"
mount -t tmpfs -o size=$((SIZE + 16))M none "$W/tmp"
export FAMFS_SYSTEM_UUID_FILE=$W/uuid
"$FAMFS" mkfs --emulate $((SIZE + 32))M "$W/huge/famfs0" >/dev/null
"$FAMFS" --device "$W/huge/famfs0" creat -s "${SIZE}M" -S 1 bench >/dev/null
head -c "${SIZE}M" /dev/urandom >"$W/tmp/bench"
"$FAMFS" mount "$W/huge/famfs0" "$W/mnt" >/dev/null
F=$W/mnt/bench
reads() { python3 -c 'import json,os,sys; print(json.loads(os.getxattr(sys.argv[1],"user.famfs.stats"))["requests"]["read"])' "$W/mnt"; }

declare -A best
measure() {  # measure PATH-NAME CMD...: keeps the best figure per metric
    local name=$1 metric v k
    shift
    while read -r metric v; do
        case $metric in
            raw-*) k="raw/${metric#raw-}" ;;
            file-*) k="$name/${metric#file-}" ;;
            *) k="$name/$metric" ;;
        esac
        if [ -z "${best[$k]:-}" ] || awk -v a="$v" -v b="${best[$k]}" 'BEGIN{exit !(a>b)}'; then
            best[$k]=$v
        fi
    done < <("$@" --passes "$PASSES")
}
r0=$(reads)
# The raw mapping and `famfs run` share one process, passes interleaved.
for ((r = 0; r < ROUNDS; r++)); do
    measure direct "$FAMFS" run --stats "$W/direct.stats" -- "$BENCH" both "$F"
    measure tmpfs "$BENCH" file "$W/tmp/bench"
done
r1=$(reads)
for ((r = 0; r < ROUNDS; r++)); do measure compat "$BENCH" file "$F"; done
r2=$(reads)

echo "kernel $(uname -r), $(nproc) cores; ${SIZE} MiB file; device on tmpfs huge=always;" \
     "best of $PASSES passes x $ROUNDS rounds"
echo "daemon READ requests: $((r1 - r0)) during the raw/direct/tmpfs runs, $((r2 - r1)) during compat"
python3 - "$W/direct.stats" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("famfs run: %d maps and %d reads served directly, %d fallbacks" % (
    sum(r["maps_direct"] for r in rows), sum(r["reads_direct"] for r in rows),
    sum(sum(r["fallback_reasons"].values()) for r in rows)))
EOF
g() { echo "${best[$1/$2]:-0}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
printf '\n| %-46s | %8s | %8s | %8s | %8s | %s |\n' "metric (GB/s)" raw "famfs run" compat tmpfs "famfs run / raw (goal)"
printf "|%s|%s|%s|%s|%s|%s|\n" "------------------------------------------------" ---------- ---------- ---------- ---------- ------------------------
for row in "first-touch:mmap first touch (open, map, read all, unmap):first-touch:0.9" \
           "steady:mmap steady-state read:steady:0.9" \
           "copy-1m:memcpy out of a mapping, 1 MiB pieces:copy-1m:" \
           "pread-1m:pread 1 MiB (vs raw memcpy 1 MiB):copy-1m:0.8"; do
    IFS=: read -r metric label base goal <<<"$row"
    raw=$(g raw "$base")
    d=$(g direct "$metric") c=$(g compat "$metric") t=$(g tmpfs "$metric")
    printf '| %-46s | %8.2f | %8.2f | %8.2f | %8.2f | %s |\n' "$label" "$raw" "$d" "$c" "$t" \
        "$(ratio "$d" "$raw")${goal:+ (>= $goal)}; compat $(ratio "$c" "$raw")"
done
