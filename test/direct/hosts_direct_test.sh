#!/bin/bash
# Two hosts (mount + pid namespaces, each with its own daemon and uuid) over
# one emulated device. Host B maps a file directly (famfs run) and keeps the
# mapping; host A rewrites bytes in place, first through its own mount
# (mmap store + msync: its daemon writes the device), then through a direct
# mapping (store + famfs flush). B sees each new byte without reopening.
# Run as root: ctest -L hosts.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../integration/lib.sh"
: "${DIRECT_CHECK:?}" "${FAMFS_DIRECT_LIB:?}"
export FAMFS_DIRECT_LIB

if [ "${1:-}" = --host ]; then
    # ---- inside a host's namespaces ------------------------------------------------
    NAME=$2 S=$3 DEV=$4 MP=$5
    export FAMFS_SYSTEM_UUID_FILE=$S/$NAME.uuid
    exec >"$S/$NAME.log" 2>&1
    wait_marker() {
        local i
        for ((i = 0; i < ${2:-30} * 100; i++)); do [ -e "$S/$1" ] && return 0; sleep 0.01; done
        echo "FAIL: $NAME: timed out waiting for $1"
        return 1
    }
    finish() {
        grep -q " $MP " /proc/self/mountinfo && "$FAMFS" umount --lazy "$MP" >/dev/null 2>&1
        summary >"$S/$NAME.summary"
        touch "$S/$NAME.done"
    }
    trap finish EXIT
    check "$NAME: mount" mount_famfs "$DEV" "$MP" -o refresh_ms=50
    touch "$S/$NAME.mounted"
    OFF1=4096 OFF2=$((2 * 1048576 + 77))
    if [ "$NAME" = A ]; then
        wait_marker B.mounted || exit 1
        check "A: creat a 16 MiB file" "$FAMFS" creat -s 16M -S 31 "$MP/shared"
        touch "$S/created"
        wait_marker B.mapped || exit 1
        check "A: rewrite a byte through its mount (mmap store + msync)" \
            "$DIRECT_CHECK" store "$MP/shared" $OFF1 165
        touch "$S/round1"
        wait_marker B.saw1 20 || exit 1
        check "A: rewrite a byte through a direct mapping (store + famfs flush)" bash -c \
            "'$FAMFS' run -- '$DIRECT_CHECK' store '$MP/shared' $OFF2 90 && '$FAMFS' flush '$MP/shared'"
        touch "$S/round2"
        wait_marker B.saw2 20
    else
        wait_marker created || exit 1
        check "B: the file appears" wait_for_path "$MP/shared" 2
        rd=$(stat_field "$MP" requests | python3 -c 'import ast,sys; print(ast.literal_eval(sys.stdin.read())["read"])')
        # Two watchers on one mapping each: the first sees A's mount write, the second A's direct store.
        "$FAMFS" run --stats "$S/B.stats" -- "$DIRECT_CHECK" watch "$MP/shared" $OFF1 165 20 >"$S/B.w1" &
        w1=$!
        "$FAMFS" run --stats "$S/B.stats" -- "$DIRECT_CHECK" watch "$MP/shared" $OFF2 90 40 >"$S/B.w2" &
        w2=$!
        for _ in $(seq 500); do grep -q mapped "$S/B.w1" && grep -q mapped "$S/B.w2" && break; sleep 0.01; done
        touch "$S/B.mapped"
        check "B: sees A's mount write in its direct mapping, without reopening" wait $w1
        touch "$S/B.saw1"
        check "B: sees A's direct store in its direct mapping, without reopening" wait $w2
        touch "$S/B.saw2"
        check "B: both watchers mapped directly" python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if len(rows) == 2 and all(r["maps_direct"] == 1 and not r["fallback_reasons"] for r in rows) else 1)' "$S/B.stats"
        rd2=$(stat_field "$MP" requests | python3 -c 'import ast,sys; print(ast.literal_eval(sys.stdin.read())["read"])')
        check "B: its daemon served no READ ($rd -> $rd2)" [ "$rd" -eq "$rd2" ]
    fi
    check "$NAME: unmount" "$FAMFS" umount "$MP"
    exit 0
fi

hosts_setup A B
for h in A B; do
    hosts_start bash "$0" --host "$h" "$S" "$W/famfs0" "$MP"
done
deadline=$((SECONDS + 120))
for h in A B; do
    while [ ! -e "$S/$h.done" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
done
hosts_collect A B
printf "2 hosts: "
summary
