#!/bin/bash
# Bounded resources (issue 11 campaign): a client daemon on a device whose
# log is full (every slot of the default 8 MiB log used), its RSS after the
# mount, after a stat of every file and while 100 files are held open; then
# fd and memory growth over CYCLES open/read/close cycles. Fails if the
# daemon's fd count grows at all, or its anonymous (private) memory by more
# than 8 MiB over the cycles (a leak of even 1 KiB per cycle would show as
# 10 MiB). Device pages the reads touch count in RSS as shared memory
# (RssShmem on a tmpfs device): reported, but they are the device, not a leak.
#   resources.sh [CYCLES=10000]
# Needs FAMFS, FAMFS_FUSED, IOCHECK (ctest sets them).
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../integration/lib.sh"
CYCLES=${1:-10000}

it_workdir
FAMFS_SYSTEM_UUID_FILE=$CLIENT_UUID "$FAMFS" mkfs --emulate 16M "$W/probe" >/dev/null 2>&1
DEV=$W/dev
"$FAMFS" mkfs --emulate 32000M "$DEV" >/dev/null || { echo "FAIL: mkfs"; exit 1; }
slots=$("$FAMFS" fsck "$DEV" | sed -n 's/.*log 8 MiB, \([0-9]*\) slots.*/\1/p')
"$FAMFS" --device "$DEV" mkdir d >/dev/null
# Fill every remaining slot: one directory entry used, the rest files.
python3 -c "
import sys
for i in range(int(sys.argv[1]) - 1): print(f'd/f{i:05d},4096')" "$slots" |
    "$FAMFS" --device "$DEV" creat --list - >/dev/null || { echo "FAIL: filling the log"; exit 1; }
published=$("$FAMFS" fsck "$DEV" | sed -n 's/.* \([0-9]*\) entries published.*/\1/p')
check "the log is full ($published of $slots slots)" [ "$published" = "$slots" ]

M=$W/m
mkdir -p "$M"
MOUNTS+=("$M")
"$FAMFS_FUSED" "$DEV" "$M" -f -o "uuid_file=$CLIENT_UUID" >/dev/null 2>"$W/daemon.log" &
pid=$!
PIDS+=("$pid")
for _ in $(seq 400); do stat_field "$M" pid >/dev/null 2>&1 && break; sleep 0.05; done
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }  # KiB
fds() { ls "/proc/$pid/fd" | wc -l; }
r_mount=$(rss)
files=$(find "$M/d" -type f | wc -l)
ls -l "$M/d" >/dev/null
r_stat=$(rss)
check "all $files files listed through the mount" [ "$files" -eq $((slots - 1)) ]
# 100 files held open, then CYCLES open/read/close cycles.
out=$(python3 - "$M" "$pid" "$CYCLES" <<'PY'
import os, sys
mp, pid, cycles = sys.argv[1], sys.argv[2], int(sys.argv[3])
def rss(key="RssAnon"):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith(key + ":"): return int(l.split()[1])
def fds(): return len(os.listdir(f"/proc/{pid}/fd"))
held = [os.open(f"{mp}/d/f{i:05d}", os.O_RDONLY) for i in range(100)]
for fd in held: os.read(fd, 4096)
r_open = rss("VmRSS")
for fd in held: os.close(fd)
# Warm-up cycles first, so buffers the session threads keep are counted once.
def cycle(n):
    for i in range(n):
        fd = os.open(f"{mp}/d/f{i % 15000:05d}", os.O_RDONLY)
        os.read(fd, 4096)
        os.close(fd)
cycle(500)
r0, s0, f0 = rss(), rss("RssShmem"), fds()
cycle(cycles)
r1, s1, f1 = rss(), rss("RssShmem"), fds()
print(r_open, r0, r1, s0, s1, f0, f1)
PY
)
read -r r_open r0 r1 s0 s1 f0 f1 <<<"$out"
echo "  daemon RSS: $((r_mount / 1024)) MiB after mounting a full log ($slots entries), $((r_stat / 1024)) MiB after a stat of every file, $((r_open / 1024)) MiB with 100 files open"
echo "  $CYCLES open/read/close cycles: anonymous memory $r0 -> $r1 KiB ($(( r1 - r0 )) KiB), device pages mapped (RssShmem) $s0 -> $s1 KiB, fds $f0 -> $f1"
check "no fd growth over $CYCLES open/close cycles ($f0 -> $f1)" [ "$f1" -le "$f0" ]
check "anonymous memory growth over $CYCLES cycles under 8 MiB ($(( (r1 - r0) )) KiB)" [ $(( r1 - r0 )) -lt 8192 ]
check "daemon still serving" [ "$(stat_field "$M" serving)" = True ]
summary
