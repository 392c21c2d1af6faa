#!/bin/bash
# Per-guest scenario script of the famfs VM harness.
#
# Runs inside a guest (chrooted into the host root, seen read-only over 9p)
# as `guest.sh a` (owner) or `guest.sh b` (client). The run's writable share
# is /mnt/scratch:
#   /mnt/scratch/env            settings written by the host (sourced here)
#   /mnt/scratch/<role>/        this guest's results, system uuid, logs
#   /mnt/scratch/sync/          flag files both guests (and the host) poll
# Every check appends "S<n>|PASS|text", "S<n>|FAIL|text" or "S<n>|SKIP|text"
# to /mnt/scratch/<role>/results; the host prints and counts them.
set -uo pipefail

ROLE=${1:?role}
SCRATCH=/mnt/scratch
SYNC=$SCRATCH/sync
OUT=$SCRATCH/$ROLE
MNT=/mnt/famfs
DEV=/dev/dax0.0
ROLE_UC=${ROLE^^}

# shellcheck source=/dev/null
source "$SCRATCH/env"
: "${VMTOOL:?}" "${FAMFS_BIN:=}" "${WAIT_S:=300}" "${REFRESH_MS:=1000}"
: "${PLUMB_OFFSET:=4294971392}" "${CMD_TIMEOUT:=120}" "${DEVDAX_MAP:=dev}"
export FAMFS_SYSTEM_UUID_FILE=$OUT/system_uuid
[[ -n ${FAMFS_LD_LIBRARY_PATH:-} ]] && export LD_LIBRARY_PATH=$FAMFS_LD_LIBRARY_PATH
mkdir -p "$OUT"

# ---------------------------------------------------------------- reporting
# The checks come from test/lib/check.sh (the same library as the host
# suites); each result also goes to the results file, tagged with the
# scenario the current step belongs to (SCENARIO, set by each step).
# (test/vm/run stages test/lib/check.sh beside this script)
# shellcheck source=../../lib/check.sh
source "$(dirname "$0")/check.sh"
SCENARIO=S0
CHECK_TAG="[$ROLE_UC]"
CHECK_WRAP=T
CHECK_LOG=$OUT/commands.log
check_record() { printf '%s|%s|%s\n' "$SCENARIO" "$1" "$2" >>"$OUT/results"; }
# One line from (possibly long) command output, for FAIL details.
oneline() { tr '\n' ' ' <<<"$1" | cut -c1-300; }

# T CMD...: run CMD with the per-command time limit (a hung FUSE mount must
# fail the check, not the whole run).
T() {
    local c=$1
    shift
    case $c in
    famfs) c=$FAMFS_BIN ;;
    vmtool) c=$VMTOOL ;;
    esac
    timeout -k 5 "$CMD_TIMEOUT" "$c" "$@"
}

# run CMD...: echo it and its output to the console (and commands.log).
run() {
    echo "+ $*"
    "$@" 2>&1 | tee -a "$OUT/commands.log"
    return "${PIPESTATUS[0]}"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_flag NAME [SECONDS]: wait for $SYNC/NAME; 1 on timeout.
wait_flag() {
    local name=$1 limit=${2:-$WAIT_S} t0
    t0=$SECONDS
    while [[ ! -e $SYNC/$name ]]; do
        if ((SECONDS - t0 > limit)); then
            echo "timed out after ${limit}s waiting for sync/$name"
            return 1
        fi
        [[ -e $SYNC/abort ]] && { echo "abort flag seen"; return 1; }
        sleep 0.2
    done
}
flag() { echo "${2:-}" >"$SYNC/$1.tmp" && mv "$SYNC/$1.tmp" "$SYNC/$1"; }

finish() {
    dmesg >"$OUT/dmesg.log" 2>&1
    grep -iE 'segfault|trap|killed process' "$OUT/dmesg.log"
    echo "guest $ROLE_UC finished"
    flag "done-$ROLE"
    touch "$OUT/done"
    exit 0
}

# abort_all "why": record a failure, tell the other guest, stop.
abort_all() {
    fail "$1"
    flag abort "$ROLE_UC: $1"
    finish
}

famfs() { T famfs "$@"; }
vmtool() { T vmtool "$@"; }

# ------------------------------------------------------------ S0: plumbing
s0_owner() {
    SCENARIO=S0
    local token
    run ndctl list -N -R
    # --map: where the struct pages of the device live ("mem": guest RAM,
    # "dev": on the device itself).
    if ! run ndctl create-namespace -f -e namespace0.0 -m devdax -M "$DEVDAX_MAP"; then
        abort_all "ndctl create-namespace -m devdax failed"
    fi
    [[ -c $DEV ]] || abort_all "$DEV missing after create-namespace"
    run daxctl list -D -R
    check "ndctl turned the shared nvdimm into $DEV (devdax, $(daxctl list -d dax0.0 | grep -o '"size":[0-9]*'))" \
        test "$(daxctl list -d dax0.0 | grep -c '"mode":"devdax"')" = 1
    token="famfs-vm-$(cat /proc/sys/kernel/random/uuid)"
    check "wrote token through an mmap of $DEV at offset $PLUMB_OFFSET" \
        vmtool poke "$DEV" "$PLUMB_OFFSET" "$token"
    flag devdax-ready "$token"
}

s0_client() {
    SCENARIO=S0
    local token got
    token=$(cat "$SYNC/devdax-ready")
    run daxctl list -D -R
    run ndctl list -N
    if [[ ! -c $DEV ]]; then
        abort_all "$DEV did not appear from the existing devdax info block"
    fi
    check "$DEV appeared from the devdax info block written by A (no ndctl create here)" \
        test "$(daxctl list -d dax0.0 | grep -c '"mode":"devdax"')" = 1
    got=$(vmtool peek "$DEV" "$PLUMB_OFFSET" "${#token}" 2>&1)
    if [[ $got == "$token" ]]; then
        pass "read A's token back through an mmap of $DEV: shared memory works"
    else
        fail "token mismatch at $PLUMB_OFFSET (want $token, got $(oneline "$got"))"
    fi
}

# ----------------------------------------------------------- famfs helpers
# S1 layout: relpath size seed [striping]
DIRS1=(dir1)
FILES1=(
    "small.bin 4k 11"
    "one-meg.bin 1m 12"
    "three-meg.bin 3m 13"
    "dir1/nine-meg.bin 9m 14"
    "striped.bin 16m 15 -N 2 -B 4 -C 2m"
)
FILES3=(
    "later/late1.bin 2m 21"
    "later/late2.bin 5m 22"
    "late-top.bin 1m 23"
)

# The daemons run from the project's systemd unit when systemd is PID 1 and
# the host handed us the unit, else `famfs mount` starts them directly.
USE_SYSTEMD=0
[[ $(cat /proc/1/comm) == systemd && -n ${FAMFS_UNIT:-} ]] && USE_SYSTEMD=1
UNIT_INSTANCE=$(systemd-escape --path "$MNT" 2>/dev/null || echo mnt-famfs)
UNIT=famfs-fused@$UNIT_INSTANCE.service

mount_famfs() { # [OPTS]
    local opts=${1:-} t0 args=() ok=1
    mkdir -p "$MNT"
    t0=$(now_ms)
    if ((USE_SYSTEMD)); then
        cp "$FAMFS_UNIT" /etc/systemd/system/
        mkdir -p /etc/famfs
        printf 'FAMFS_DEVICE=%s\nFAMFS_OPTIONS=%s\n' "$DEV" \
            "uuid_file=$FAMFS_SYSTEM_UUID_FILE${opts:+,$opts}" >"/etc/famfs/$UNIT_INSTANCE.env"
        run cat "/etc/famfs/$UNIT_INSTANCE.env"
        T systemctl daemon-reload
        check "systemctl start $UNIT (the project's famfs-fused@ unit, options ${opts:-none})" \
            systemctl start "$UNIT" || ok=0
        run systemctl status --no-pager "$UNIT" | head -12
    else
        [[ -n $opts ]] && args=(-o "$opts")
        check "famfs mount ${args[*]} $DEV $MNT" famfs mount "${args[@]}" "$DEV" "$MNT" || ok=0
    fi
    ((ok)) || return 1
    echo "mount took $(($(now_ms) - t0)) ms"
    run grep " $MNT " /proc/mounts
    check "$MNT is a FUSE mount (fuse.famfs) in /proc/mounts" \
        grep -q " $MNT fuse.famfs " /proc/mounts
    # On a real DAX device the daemon copies read data out of its mapping
    # rather than letting the kernel pin devdax pages (see README).
    local stats
    stats=$(T getfattr --absolute-names --only-values -n user.famfs.stats "$MNT" 2>&1)
    if [[ $stats == *'"mode":"compat"'* && $stats == *'"zero_copy_reads":false'* ]]; then
        pass "stats: compat mode (stock 6.1 kernel), reads copied out of the devdax mapping"
    else
        fail "stats: expected compat mode and zero_copy_reads false: $(oneline "$stats")"
    fi
}

# Append "relpath seed sum size" for every file of the mount to $1
# (seed '-' for files without a seed pattern). Sum = fnv1a64 over mmap.
manifest() {
    local out=$1 f rel sum size
    : >"$out"
    while IFS= read -r f; do
        rel=${f#"$MNT"/}
        read -r sum size _ < <(vmtool sum "$f") || sum=ERROR
        echo "$rel ${SEEDS[$rel]:--} $sum ${size:-0}" >>"$out"
    done < <(T find "$MNT" -path "$MNT/.meta" -prune -o -type f -print | LC_ALL=C sort)  # .meta: the log itself
}
declare -A SEEDS

create_files() { # ENTRY...
    local e rel size seed extra
    for e in "$@"; do
        read -r rel size seed extra <<<"$e"
        # shellcheck disable=SC2086 # extra holds the striping options
        if check "famfs creat -s $size --seed $seed ${extra:+$extra }$rel" \
            famfs creat -s "$size" --seed "$seed" $extra "$MNT/$rel"; then
            SEEDS[$rel]=$seed
        fi
    done
}

verify_seeds() { # MANIFEST
    local rel seed sum size n=0 bad=() out first=''
    while read -r rel seed sum size; do
        [[ $seed == - ]] && continue
        n=$((n + 1))
        if ! out=$(famfs verify -S "$seed" "$MNT/$rel" 2>&1); then
            bad+=("$rel")
            [[ -n $first ]] || first="$rel: $(oneline "$out")"
        fi
        printf '%s\n' "$out" >>"$OUT/commands.log"
    done <"$1"
    if [[ ${#bad[@]} -eq 0 && $n -gt 0 ]]; then
        pass "famfs verify --seed matches for all $n seeded files"
    else
        fail "famfs verify failed for ${bad[*]:-<no seeded files>} ($n checked; first: ${first:-none})"
    fi
}

compare_sums() { # MANIFEST: mmap checksum of every listed file
    local rel seed sum size n=0 got gsize bad=()
    while read -r rel seed sum size; do
        n=$((n + 1))
        read -r got gsize _ < <(vmtool sum "$MNT/$rel" 2>&1) || got=ERROR
        [[ $got == "$sum" && $gsize == "$size" ]] || bad+=("$rel(want $sum/$size got $got/${gsize:-?})")
    done <"$1"
    if [[ ${#bad[@]} -eq 0 && $n -gt 0 ]]; then
        pass "mmap checksum of all $n files matches what A wrote"
    else
        fail "mmap checksum mismatch: ${bad[*]:-<empty manifest>}"
    fi
}

# ------------------------------------------------------------- S1: owner
s1_owner() {
    SCENARIO=S1
    local out src
    out=$(famfs mkfs "$DEV" 2>&1)
    local rc=$?
    echo "$out" | tee -a "$OUT/commands.log"
    if [[ $rc -ne 0 ]]; then
        abort_all "famfs mkfs $DEV failed (exit $rc: $(oneline "$out"))"
    fi
    pass "famfs mkfs $DEV (owner uuid $(cat "$FAMFS_SYSTEM_UUID_FILE"))"
    mount_famfs || abort_all "cannot mount on the owner"
    s5_daemon

    check "famfs mkdir ${DIRS1[*]}" famfs mkdir "${DIRS1[@]/#/$MNT/}"
    create_files "${FILES1[@]}"
    run famfs getmap "$MNT/striped.bin"
    out=$(famfs getmap --json "$MNT/striped.bin" 2>&1)
    if grep -qiE 'interleav|nstrips' <<<"$out"; then
        pass "striped.bin has an interleaved map (getmap --json)"
    else
        fail "striped.bin map is not interleaved: $(oneline "$out")"
    fi

    # A directory tree copied in with cp -r (content from /dev/urandom).
    src=/tmp/src-tree
    mkdir -p "$src/sub/deeper" "$src/empty-dir"
    head -c 100000 /dev/urandom >"$src/top.dat"
    head -c 2500000 /dev/urandom >"$src/sub/mid.dat"
    head -c 7 /dev/urandom >"$src/sub/deeper/tiny.dat"
    echo "hello famfs" >"$src/sub/deeper/hello.txt"
    check "famfs mkdir -p tree/x/y" famfs mkdir -p "$MNT/tree/x/y"
    check "famfs cp -r of a 4-file, 4-dir tree into tree/" famfs cp -r "$src" "$MNT/tree/"
    if out=$(T diff -r "$src" "$MNT/tree/src-tree" 2>&1); then
        pass "diff -r: the copied tree equals its source"
    else
        fail "copied tree differs: $(oneline "$out")"
    fi

    manifest "$SYNC/manifest1"
    (cd "$MNT" && T find . | LC_ALL=C sort) >"$SYNC/tree1"
    run cat "$SYNC/manifest1"
    verify_seeds "$SYNC/manifest1"
    compare_sums "$SYNC/manifest1"
    flag s1-done
}

# ------------------------------------------------------------ S2: client
s2_client() {
    SCENARIO=S2
    local out rc
    # famfs mode asked for on this stock kernel (real /dev/dax, no famfs in
    # fuse): one line and a non-zero exit before anything is mounted.
    mkdir -p "$MNT"
    out=$(T famfs mount -o famfs=on "$DEV" "$MNT" 2>&1)
    rc=$?
    if ((rc != 0)) && [[ $(wc -l <<<"$out") -eq 1 && $out == *"no famfs support"* ]] &&
        ! grep -q " $MNT " /proc/mounts; then
        pass "famfs=on on a kernel without famfs is refused in one line: $out"
    else
        fail "famfs=on: exit $rc, expected one line and no mount: $(oneline "$out")"
    fi
    mount_famfs "refresh_ms=$REFRESH_MS" || abort_all "cannot mount on the client"
    s5_daemon
    out=$(cd "$MNT" && T find . | LC_ALL=C sort)
    if [[ $out == "$(cat "$SYNC/tree1")" ]]; then
        pass "sees A's whole tree ($(wc -l <"$SYNC/tree1") entries) right after mount"
    else
        fail "tree differs from A's: $(oneline "$(diff <(echo "$out") "$SYNC/tree1")")"
    fi
    verify_seeds "$SYNC/manifest1"
    compare_sums "$SYNC/manifest1"

    out=$(famfs creat -s 2m --seed 99 "$MNT/client-made.bin" 2>&1)
    rc=$?
    echo "client creat -> exit $rc: $out"
    if [[ $rc -ne 0 && $(grep -c . <<<"$out") -eq 1 && ! -e $MNT/client-made.bin ]]; then
        pass "client's famfs creat fails cleanly (exit $rc, one line: $out)"
    else
        fail "client's famfs creat: exit $rc, $(grep -c . <<<"$out") lines, file $([[ -e $MNT/client-made.bin ]] && echo exists || echo absent): $(oneline "$out")"
    fi
    out=$(famfs mkdir "$MNT/client-dir" 2>&1)
    rc=$?
    if [[ $rc -ne 0 && ! -e $MNT/client-dir ]]; then
        pass "client's famfs mkdir fails too (exit $rc: $(oneline "$out"))"
    else
        fail "client's famfs mkdir: exit $rc, dir $([[ -e $MNT/client-dir ]] && echo exists || echo absent)"
    fi
    check "mount still answers after the refused creat" ls "$MNT/tree"
    flag s2-done
}

# ------------------------------------------------------------- S3: both
s3_owner() {
    SCENARIO=S3
    check "famfs mkdir later (client mounted)" famfs mkdir "$MNT/later"
    create_files "${FILES3[@]}"
    manifest "$SYNC/manifest-all"
    grep -E '^(later/|late-top)' "$SYNC/manifest-all" >"$SYNC/manifest3"
    flag s3-created
}

s3_client() {
    SCENARIO=S3
    local t0 rel seed sum size missing waited limit
    limit=$((REFRESH_MS + REFRESH_SLACK_MS))
    t0=$(now_ms)
    while :; do
        missing=()
        while read -r rel seed sum size; do
            T test -e "$MNT/$rel" || missing+=("$rel")
        done <"$SYNC/manifest3"
        waited=$(($(now_ms) - t0))
        [[ ${#missing[@]} -eq 0 ]] && break
        ((waited > limit * 4)) && break
        sleep 0.05
    done
    if [[ ${#missing[@]} -eq 0 && $waited -le $limit ]]; then
        pass "sees A's $(wc -l <"$SYNC/manifest3") new files ${waited} ms after A finished (refresh_ms=$REFRESH_MS, limit ${limit} ms incl. ${REFRESH_SLACK_MS} ms TCG slack)"
    elif [[ ${#missing[@]} -eq 0 ]]; then
        fail "new files appeared only after ${waited} ms (limit ${limit} ms)"
    else
        fail "after ${waited} ms still missing: ${missing[*]}"
    fi
    verify_seeds "$SYNC/manifest3"
    compare_sums "$SYNC/manifest-all"
    flag s3-done
}

# ------------------------------------------------------------ S4: fsck
s4_both() {
    SCENARIO=S4
    local out rc idx
    out=$(famfs fsck "$DEV" 2>&1)
    rc=$?
    echo "$out" | tee -a "$OUT/commands.log"
    if [[ $rc -eq 0 ]]; then
        pass "famfs fsck $DEV reports clean"
    else
        fail "famfs fsck $DEV on the clean fs: exit $rc: $(oneline "$out")"
    fi
    out=$(famfs fsck "$MNT" 2>&1)
    rc=$?
    if [[ $rc -eq 0 ]]; then
        pass "famfs fsck $MNT (through the mount) reports clean"
    else
        fail "famfs fsck $MNT on the clean fs: exit $rc: $(oneline "$out")"
    fi

    flag "s4-clean-$ROLE"
    wait_flag corrupted || { fail "host never corrupted the log"; return; }
    idx=$(cat "$SYNC/corrupted")
    out=$(famfs fsck "$DEV" 2>&1)
    rc=$?
    echo "$out" | tee -a "$OUT/commands.log"
    if [[ $rc -ne 0 ]] && grep -qiE "(index|entry|#)[^0-9]{0,12}\b$idx\b" <<<"$out"; then
        pass "fsck reports the entry corrupted from the host (index $idx, exit $rc: $(oneline "$out" | cut -c1-160))"
    elif [[ $rc -ne 0 ]]; then
        fail "fsck failed (exit $rc) but did not name index $idx: $(oneline "$out")"
    else
        fail "fsck missed the corrupted entry $idx (exit 0): $(oneline "$out")"
    fi
    out=$(famfs fsck --json "$DEV" 2>&1)
    rc=$?
    echo "$out" >>"$OUT/commands.log"
    if [[ $rc -ne 0 ]] && grep -q '[{[]' <<<"$out"; then
        pass "fsck --json also reports damage (exit $rc)"
    else
        fail "fsck --json on the corrupted log: exit $rc: $(oneline "$out")"
    fi
    flag "s4-done-$ROLE"
}

# -------------------------------------------------- S5: how daemons run
s5_daemon() {
    SCENARIO=S5
    local pid args main
    pid=$(pgrep -x famfs-fused | head -1)
    if [[ -z $pid ]]; then
        fail "no famfs-fused process after mount"
        return
    fi
    args=$(tr '\0' ' ' </proc/"$pid"/cmdline)
    if ((USE_SYSTEMD)); then
        main=$(systemctl show -p MainPID --value "$UNIT")
        if [[ $main == "$pid" && $(systemctl is-active "$UNIT") == active ]]; then
            pass "famfs-fused (pid $pid) runs from the systemd unit $UNIT (systemd is PID 1; Type=notify, active): $args"
        else
            fail "famfs-fused pid $pid is not $UNIT's main pid ($main, $(systemctl is-active "$UNIT"))"
        fi
    elif [[ $(cat /proc/1/comm) == systemd ]]; then
        pass "famfs-fused (pid $pid) started directly by 'famfs mount' (no famfs-fused@ unit in the repo): $args"
        skip "systemd unit start: systemd/famfs-fused@.service.in not found"
    else
        pass "famfs-fused (pid $pid) started directly by 'famfs mount' (guest init is busybox, FAMFS_VM_INIT=busybox or no systemd on the host): $args"
        skip "systemd unit start: this guest boots busybox /init, not systemd"
    fi
}

unmount_famfs() {
    if ((USE_SYSTEMD)); then
        check "systemctl stop $UNIT (SIGTERM unmounts)" systemctl stop "$UNIT"
    else
        check "famfs umount $MNT" famfs umount "$MNT"
    fi
    local i
    for i in $(seq 50); do
        pgrep -x famfs-fused >/dev/null || break
        sleep 0.1
    done
    if grep -q " $MNT " /proc/mounts; then
        fail "$MNT still mounted after the unmount"
    elif pgrep -x famfs-fused >/dev/null; then
        fail "$MNT unmounted but famfs-fused still runs ${i}x0.1 s later"
    else
        pass "$MNT unmounted and famfs-fused exited"
    fi
}

# ------------------------------------------------------------------ main
echo "guest $ROLE_UC: $(uname -r), PID 1 is $(cat /proc/1/comm), system uuid $(cat /sys/class/dmi/id/product_uuid 2>/dev/null || echo ?)"
echo "famfs system uuid file $FAMFS_SYSTEM_UUID_FILE: $(cat "$FAMFS_SYSTEM_UUID_FILE" 2>/dev/null)"

if [[ $ROLE == a ]]; then
    s0_owner
else
    s0_client
fi

if [[ -z $FAMFS_BIN || ! -x $FAMFS_BIN ]]; then
    for SCENARIO in S1 S2 S3 S4 S5; do
        skip "famfs binaries not built (${FAMFS_BIN_WHY:-no famfs binary})"
    done
    finish
fi

if [[ $ROLE == a ]]; then
    s1_owner
    wait_flag s2-done || SCENARIO=S3 abort_all "client never finished S2"
    s3_owner
    wait_flag s3-done || SCENARIO=S3 fail "client never finished S3"
    s4_both
    wait_flag s4-done-b || SCENARIO=S4 fail "client never finished S4"
    wait_flag umounted-b 60 || true
    unmount_famfs
else
    wait_flag s1-done || SCENARIO=S2 abort_all "owner never finished S1"
    s2_client
    wait_flag s3-created || SCENARIO=S3 abort_all "owner never finished creating S3 files"
    s3_client
    # S6: famfs run on /dev/dax0.0 (test/vm/guest/direct.sh, staged beside this script).
    [[ -f $(dirname "$0")/direct.sh ]] && source "$(dirname "$0")/direct.sh" && s6_direct_client
    s4_both
    unmount_famfs
    flag umounted-b
fi
finish
