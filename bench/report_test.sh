#!/bin/bash
# The ratio table of bench/run (bench/report.py) on a made-up results.json
# whose ratios, spreads and goals are known: rates and times, best and median,
# peers, the p99 goal, a partial series and the famfs-mode counts.
# No timing: the benchmark itself is not run. ctest label unit.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../test/lib/check.sh"
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

cat >"$W/results.json" <<'JSON'
{"machine": {"nproc": 2, "cpu": "test", "mem_gib": 1, "kernel": "k", "quick": true,
             "rounds": 3, "load_before": "1", "load_after": "2"},
 "figures": [
  {"id": "data/1t/read-1m", "group": "data", "metric": "read-1m", "threads": 1,
   "size_mib": 64, "label": "read() 1 MiB, 1T", "unit": "GB/s", "limit": "raw",
   "goals": [{"name": "memory speed (>= 0.9 raw)", "ratio": 0.9},
             {"name": ">= tmpfs", "peer": "tmpfs"},
             {"name": ">= passthrough_ll", "peer": "passthrough"}],
   "paths": {"raw": [10, 8, 9], "tmpfs": [3, 3, 3], "passthrough": [1, 1, 1],
             "compat": [1, 2, 3], "direct": [9, 9.5, 8.5]}},
  {"id": "data/1t/steady", "group": "data", "metric": "steady", "threads": 1,
   "size_mib": 64, "label": "mmap steady state, 1T", "unit": "GB/s", "limit": "raw",
   "goals": [{"name": "memory speed (>= 0.9 raw)", "ratio": 0.9},
             {"name": ">= tmpfs", "peer": "tmpfs"}],
   "paths": {"raw": [10, 10, 10], "tmpfs": [5, 5, 5], "compat": [6, 6, 6],
             "direct": [8, 8, 8]}},
  {"id": "meta/ls", "group": "meta", "label": "ls -l of 10,000 entries", "unit": "s",
   "limit": "tmpfs", "goals": [{"name": "tmpfs speed (>= 0.9)", "ratio": 0.9},
                               {"name": ">= passthrough_ll", "peer": "passthrough"}],
   "paths": {"tmpfs": [0.1, 0.2, 0.3], "famfs": [0.4, 0.5, 0.6], "passthrough": [1, 1, 1]}},
  {"id": "meta/creat-proc/10000", "group": "meta", "label": "creat 10,000 files",
   "unit": "files/s", "limit": "tmpfs", "partial": {"famfs": 123},
   "goals": [{"name": "tmpfs speed (>= 0.9)", "ratio": 0.9}],
   "paths": {"tmpfs": [100], "famfs": [95]}},
  {"id": "meta/vis-fast", "group": "meta", "label": "visible fast", "unit": "ms",
   "limit": "owner", "goals": [{"name": "p99 < 100 ms", "max": 100, "stat": "p99"}],
   "paths": {"owner": [10, 10], "clients": RANGE100}},
  {"id": "meta/vis-slow", "group": "meta", "label": "visible slow", "unit": "ms",
   "limit": "owner", "goals": [{"name": "p99 < 100 ms", "max": 100, "stat": "p99"}],
   "paths": {"owner": [10, 10], "clients": RANGE100SLOW}}],
 "famfs_mode": {"run": "run-x", "modes": {
   "famfs": {"minflt_per_gib": 512, "daemon_requests_per_gib": 0},
   "compat": {"minflt_per_gib": 15360, "daemon_requests_per_gib": 1024}}},
 "skipped": ["hugetlbfs: none here"]}
JSON
# clients: 1..100 ms (p99 = 99 ms) and the same with the last two at 150 ms.
r=$(seq -s, 1 100)
rs=$(seq -s, 1 98),150,150
sed -i "s/RANGE100SLOW/[$rs]/; s/RANGE100/[$r]/" "$W/results.json"

out=$($PY "$here/report.py" table "$W/results.json")
echo "$out"
has() { grep -qF -- "$1" <<<"$out"; }
row() { grep -F -- "$1" <<<"$out"; }

check "rate: median ratio 9/9, best ratio 9.5/10, spread 1/9" has "1.00 (0.950) ±11%"
check "rate: compat 2/9 (best 3/10), spread 2/2" has "0.222 (0.300) ±100%"
check "rate: tmpfs 3/9 (best 3/10), no spread" has "0.333 (0.300) ±0%"
check "goals: famfs run meets memory speed, compat only the passthrough peer" \
    grep -qF "compat: >= passthrough_ll; run: memory speed (>= 0.9 raw)" <<<"$(row 'read() 1 MiB, 1T')"
check "goals: 0.8 of raw is not memory speed but beats tmpfs" \
    grep -qF "run: >= tmpfs" <<<"$(row 'mmap steady state, 1T')"
check "goals: compat above tmpfs" grep -qF "compat: >= tmpfs" <<<"$(row 'mmap steady state, 1T')"
check "time: ratio is limit/figure (0.2/0.5, best 0.1/0.4)" has "0.400 (0.250) ±40%"
check "time: beats the passthrough peer" grep -qF "famfs: >= passthrough_ll" <<<"$(row 'ls -l of 10,000')"
check "time: the limit's median is shown with its unit" has "tmpfs: 0.200 s"
check "partial series named" has "creat 10,000 files (time budget: famfs did 123)"
check "ratio goal met at 0.95" grep -qF "famfs: tmpfs speed (>= 0.9)" <<<"$(row 'creat 10,000')"
check "p99 goal met at p99 99 ms" grep -qF "clients: p99 < 100 ms" <<<"$(row 'visible fast')"
check "p99 goal missed at p99 150 ms" grep -qF "clients: none" <<<"$(row 'visible slow')"
check "famfs-mode counts line" has "famfs: 512 page faults/GiB, 0 daemon requests/GiB"
check "skipped reasons printed" has "skipped: hugetlbfs: none here"
check_fails "a missing results file is an error" $PY "$here/report.py" table "$W/nope.json"
summary
