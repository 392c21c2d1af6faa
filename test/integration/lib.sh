# shellcheck shell=bash
# Shared helpers for the mount tests (sourced). Needs: FAMFS (the CLI),
# FAMFS_FUSED (the daemon), IOCHECK (famfs-iocheck) from the environment;
# ctest sets them (test/integration/CMakeLists.txt).
set -u

: "${FAMFS:?path of the famfs CLI}"
: "${FAMFS_FUSED:?path of famfs-fused}"
: "${IOCHECK:?path of famfs-iocheck}"
export FAMFS_FUSED

# shellcheck source=../lib/check.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"
MOUNTS=()   # mount points to clean up
PIDS=()     # processes to kill on exit

# The pid of the daemon serving mount point $1 (from its stats xattr).
daemon_pid() {
    python3 -c 'import json,os,sys; print(json.loads(os.getxattr(sys.argv[1],"user.famfs.stats"))["pid"])' "$1"
}
# A field of the stats JSON of mount $1.
stat_field() {
    python3 -c 'import json,os,sys; print(json.loads(os.getxattr(sys.argv[1],"user.famfs.stats"))[sys.argv[2]])' "$1" "$2"
}

is_mounted() { grep -q " $1 fuse.famfs " /proc/self/mountinfo; }

# Waits up to $2 seconds (default 1) for path $1 to exist.
wait_for_path() {
    local deadline=$(( $(date +%s%N) + ${2:-1} * 1000000000 ))
    while [ "$(date +%s%N)" -lt "$deadline" ]; do
        [ -e "$1" ] && return 0
        sleep 0.01
    done
    return 1
}

cleanup_mounts() {
    local m p
    for m in "${MOUNTS[@]}"; do
        if grep -q " $m " /proc/self/mountinfo; then
            umount -l "$m" 2>/dev/null || fusermount3 -u -z "$m" 2>/dev/null
        fi
    done
    # Daemons we started (recorded by pid, never matched by name).
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
}

# mount_famfs DEVICE MOUNTPOINT [famfs mount args...]: mounts and records the
# mount and its daemon for cleanup.
mount_famfs() {
    local dev=$1 mp=$2
    shift 2
    MOUNTS+=("$mp")
    timeout 40 "$FAMFS" mount "$@" "$dev" "$mp" || return 1
    local pid
    pid=$(daemon_pid "$mp") && PIDS+=("$pid")
}

# A temporary directory on memory (tmpfs): device files and mount points.
make_workdir() {
    local base=/dev/shm
    [ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
    mktemp -d "$base/famfs-it.XXXXXX"
}

# it_workdir: the suite's work dir W, removed on exit together with every
# mount the suite made (cleanup_mounts); this host's uuid file, exported as
# FAMFS_SYSTEM_UUID_FILE (the owner's, also OWNER_UUID), and CLIENT_UUID for a
# second host.
it_workdir() {
    W=$(make_workdir)
    trap it_cleanup EXIT
    export FAMFS_SYSTEM_UUID_FILE=$W/owner_uuid
    OWNER_UUID=$FAMFS_SYSTEM_UUID_FILE
    CLIENT_UUID=$W/client_uuid
}
it_cleanup() {
    cleanup_mounts
    rm -rf "$W"
}

# Several hosts on one machine (the hosts suites). hosts_setup NAME...:
# a work dir W with a sync dir S and a mount path MP (the same path in every
# host's namespace), a system uuid per host in $S/NAME.uuid, and an emulated
# device $W/famfs0 formatted by the first host. Killing a host's pid 1 (on
# exit) takes its daemon and its mount namespace, and so its mounts, with it.
hosts_setup() {
    local h
    W=$(make_workdir)
    S=$W/sync
    MP=$W/mnt
    mkdir -p "$S" "$MP"
    HOSTS=()
    trap hosts_cleanup EXIT
    for h in "$@"; do python3 -c 'import uuid; print(uuid.uuid4())' >"$S/$h.uuid"; done
    FAMFS_SYSTEM_UUID_FILE=$S/$1.uuid "$FAMFS" mkfs --emulate 512M "$W/famfs0" >/dev/null ||
        { echo "FAIL: mkfs"; exit 1; }
}
hosts_cleanup() {
    local p
    for p in "${HOSTS[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$W"
}
# hosts_start CMD...: run CMD as a new host (mount + pid namespace).
hosts_start() {
    unshare --mount --propagation private --pid --fork --mount-proc "$@" &
    HOSTS+=($!)
}
# hosts_collect NAME...: print each host's results ($S/NAME.log) and add its
# closing line ($S/NAME.summary) to PASSED/FAILED; a host that wrote none
# failed.
hosts_collect() {
    local h p f
    for h in "$@"; do
        echo "---- host $h"
        grep -E '^(PASS|FAIL|SKIP)|timed out' "$S/$h.log" 2>/dev/null
        if [ -e "$S/$h.summary" ]; then
            read -r p _ f _ <"$S/$h.summary"
            PASSED=$((PASSED + p))
            FAILED=$((FAILED + f))
        else
            fail "host $h did not finish"
            tail -5 "$S/$h.log" 2>/dev/null
        fi
    done
}
