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
