#!/bin/bash
# Concurrency at the daemon level (issue 11 campaign): W owner processes
# (famfs creat --list, in batches) create FILES files in total on one device
# while C client daemons (famfs-fused, each its own mount) replay the log and
# one reader per mount stats every new file as it appears. Checks: every
# reader sees every file with its size; each mount lists exactly FILES files,
# none doubled; the daemons never stop serving; fsck is clean.
#   daemon_concurrency.sh [FILES=10000] [WRITERS=4] [CLIENTS=3]
# Needs FAMFS, FAMFS_FUSED, IOCHECK (ctest sets them).
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../integration/lib.sh"
FILES=${1:-10000} WRITERS=${2:-4} CLIENTS=${3:-3}
BATCH=50
PER=$((FILES / WRITERS))

it_workdir
DEV=$W/dev
# 2 MiB per file, sparse on tmpfs: nothing is written but the metadata.
"$FAMFS" mkfs --emulate $(( (FILES * 2 + 1024) ))M "$DEV" >/dev/null || { echo "FAIL: mkfs"; exit 1; }
FAMFS_SYSTEM_UUID_FILE=$CLIENT_UUID "$FAMFS" mkfs --emulate 16M "$W/probe" >/dev/null 2>&1
for w in $(seq 0 $((WRITERS - 1))); do "$FAMFS" --device "$DEV" mkdir "w$w" >/dev/null; done

size_of() { echo $(( 1 + ($1 * 7919 + $2) % 4096 )); }
for c in $(seq 0 $((CLIENTS - 1))); do
    mp=$W/c$c
    mkdir -p "$mp"
    MOUNTS+=("$mp")
    "$FAMFS_FUSED" "$DEV" "$mp" -f -o "uuid_file=$CLIENT_UUID" >/dev/null 2>"$W/daemon$c.log" &
    PIDS+=($!)
done
for c in $(seq 0 $((CLIENTS - 1))); do
    until_ok=0
    for _ in $(seq 200); do stat_field "$W/c$c" pid >/dev/null 2>&1 && { until_ok=1; break; }; sleep 0.05; done
    [ $until_ok = 1 ] || { echo "FAIL: client $c did not mount"; exit 1; }
done

# Readers: stat each file of each writer in creation order as it appears.
reader() {
    python3 - "$1" "$WRITERS" "$PER" <<'PY'
import os, sys, time
mp, writers, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
bad = waited = 0
for k in range(per):
    for w in range(writers):
        p = f"{mp}/w{w}/f{k:05d}"
        deadline = time.time() + 120
        while True:
            try:
                st = os.stat(p)
                break
            except FileNotFoundError:
                waited += 1
                if time.time() > deadline:
                    print(f"reader {mp}: {p} never appeared"); sys.exit(1)
                time.sleep(0.002)
        if st.st_size != 1 + (w * 7919 + k) % 4096:
            bad += 1
            print(f"reader {mp}: {p} has size {st.st_size}")
names = [f"w{w}/{n}" for w in range(writers) for n in os.listdir(f"{mp}/w{w}")]
print(f"reader {mp}: saw all {writers * per} files ({waited} waits), listing {len(names)} names, "
      f"{len(names) - len(set(names))} doubled, {bad} wrong sizes")
sys.exit(0 if bad == 0 and len(names) == writers * per == len(set(names)) else 1)
PY
}
t0=$(date +%s%N)
for c in $(seq 0 $((CLIENTS - 1))); do reader "$W/c$c" >"$W/reader$c.out" 2>&1 & readers+=($!); done
for w in $(seq 0 $((WRITERS - 1))); do
    (
        for b in $(seq 0 $BATCH $((PER - 1))); do
            for k in $(seq "$b" $((b + BATCH - 1))); do
                [ "$k" -lt "$PER" ] && printf 'w%d/f%05d,%d\n' "$w" "$k" "$(size_of "$w" "$k")"
            done | "$FAMFS" --device "$DEV" creat --list - >/dev/null || exit 1
        done
    ) &
    writers+=($!)
done
wfail=0
for p in "${writers[@]}"; do wait "$p" || wfail=$((wfail + 1)); done
rfail=0
for p in "${readers[@]}"; do wait "$p" || rfail=$((rfail + 1)); done
secs=$(( ($(date +%s%N) - t0) / 1000000 ))
cat "$W"/reader*.out
check "$WRITERS owner processes created $FILES files (failed writers: $wfail)" [ $wfail -eq 0 ]
check "$CLIENTS readers saw every file with its size, none doubled (failed readers: $rfail)" [ $rfail -eq 0 ]
for c in $(seq 0 $((CLIENTS - 1))); do
    check "client daemon $c still serving" [ "$(stat_field "$W/c$c" serving)" = True ]
done
check "fsck clean" "$FAMFS" fsck "$DEV"
echo "daemon concurrency: $WRITERS writers, $CLIENTS client daemons, $FILES files in $((secs / 1000)).$(( (secs % 1000) / 100 )) s"
summary
