#!/usr/bin/env bash
# The README's first command: installs what famfs-fused needs from Debian,
# builds and installs it, makes an emulated shared-memory device, formats it,
# mounts it, and shows files created with the famfs CLI being read by cat and
# by an mmap program. Run as root. `--keep` leaves the filesystem mounted.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${FAMFS_BUILD_DIR:-$src/build}
keep=false
[[ ${1:-} == --keep ]] && keep=true
[[ $(id -u) -eq 0 ]] || { echo "demo: run as root (it installs packages and mounts)" >&2; exit 1; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "dependencies (Debian packages)"
"$src/scripts/install-deps.sh"

step "build and install (prefix /usr/local; /sbin/mount.famfs for mount -t famfs)"
"$src/scripts/build.sh"
cmake --install "$build" >/dev/null
ln -sf /usr/local/sbin/mount.famfs /sbin/mount.famfs
export PATH=/usr/local/sbin:/usr/local/bin:$PATH
command -v famfs famfs-fused

# The emulated device: a file on a tmpfs with transparent huge pages, so the
# daemon maps it with 2 MiB pages as it would a /dev/dax device.
shm=/run/famfs-demo
dev=$shm/famfs0
mnt=/mnt/famfs-demo
export FAMFS_SYSTEM_UUID_FILE=$shm/system_uuid  # this "host"; the default is /opt/famfs/system_uuid
mkdir -p "$shm" "$mnt"
mountpoint -q "$mnt" && famfs umount "$mnt"
mountpoint -q "$shm" || mount -t tmpfs -o huge=always,size=5G famfs-demo "$shm"

step "format a 4 GiB emulated device"
show famfs mkfs --force --emulate 4G "$dev"

step "mount it (famfs-fused, compat mode on a stock kernel)"
show famfs mount "$dev" "$mnt"
cleanup() { $keep || famfs umount "$mnt" 2>/dev/null || true; }
trap cleanup EXIT

step "create files through the log, on the owner host"
show famfs mkdir -p "$mnt/datasets/2026"
show famfs creat -s 256M -S 42 "$mnt/datasets/2026/frame.arrow"
show famfs cp -r "$src/docs" "$mnt/datasets/"
show famfs creat -s 4k "$mnt/hello"
printf 'hello from shared memory\n' | dd of="$mnt/hello" conv=notrunc status=none
show ls -lR "$mnt"

step "read them: cat (read() through FUSE) and an mmap program"
iocheck=$build/test/daemon/famfs-iocheck  # a small test program: mmap(MAP_SHARED) + write(1)
echo "\$ cat $mnt/hello";        cat "$mnt/hello" | tr -d '\0'
echo "\$ famfs-iocheck mmap-cat $mnt/hello"; "$iocheck" mmap-cat "$mnt/hello" | tr -d '\0'
echo "sha256 via read(): $(sha256sum <"$mnt/datasets/2026/frame.arrow" | cut -c1-16)"
echo "sha256 via mmap:   $("$iocheck" mmap-cat "$mnt/datasets/2026/frame.arrow" | sha256sum | cut -c1-16)"
show famfs verify -S 42 "$mnt/datasets/2026/frame.arrow" && echo "verify: the pattern of seed 42 is intact"
show cmp "$src/docs/daemon.md" "$mnt/datasets/docs/daemon.md" && echo "cp: identical"

step "where the data lives, and the filesystem's health"
show famfs getmap "$mnt/datasets/2026/frame.arrow"
show famfs fsck "$mnt"
show getfattr --absolute-names --only-values -n user.famfs.stats "$mnt"
echo

if $keep; then
  step "left mounted on $mnt (famfs umount $mnt when done)"
else
  step "unmount"
fi
