#!/bin/bash
# End-to-end test of the famfs FUSE series: boot the patched 7.3 kernel under
# qemu (TCG) with an nvdimm, turn it into /dev/dax0.0, bind it to fsdev_dax
# and check that famfs-fused in famfs mode gets file data mapped by the
# kernel (GET_FMAP + DAX iomap) with no READ requests.
#
#   fuse-patches/boot-test.sh [--kernel BZIMAGE] [--keep]
#
# Env: FAMFS_BUILD_DIR (default <repo>/build: tools/famfs, daemon/famfs-fused),
#      FAMFS_KERNEL_TEST_RUNS (default /var/tmp/famfs-kernel-test),
#      FAMFS_KERNEL_TEST_TIMEOUT (qemu hard limit, default 600 s).
# Prints PASS:/FAIL: lines and "N passed, M failed"; exit 0 iff none failed.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BUILD=${FAMFS_BUILD_DIR:-$REPO/build}
RUNS=${FAMFS_KERNEL_TEST_RUNS:-/var/tmp/famfs-kernel-test}
LIMIT=${FAMFS_KERNEL_TEST_TIMEOUT:-1200}
KERNEL='' KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) KERNEL=$2; shift ;;
	--keep) KEEP=1 ;;
	*) echo "usage: $0 [--kernel BZIMAGE] [--keep]" >&2; exit 2 ;;
	esac
	shift
done

die() { echo "boot-test: $*" >&2; exit 2; }
# shellcheck source=vm-lib.sh
source "$HERE/vm-lib.sh"
vm_preflight "$BUILD"

echo "boot-test: budget: kernel build < 1 s when cached by the series' hash (otherwise build.sh says" \
	"its own), then qemu (TCG) for 3-10 min, killed after ${LIMIT}s"
if [ -z "$KERNEL" ]; then
	KERNEL=$("$HERE/build.sh" | tail -1)
fi
[ -f "$KERNEL" ] || die "no kernel image $KERNEL"

RUN=$(vm_run_dir "$RUNS" run 4)  # with the last four earlier runs
echo "boot-test: kernel $KERNEL"
echo "boot-test: run dir $RUN"
vm_stage_share "$BUILD" "$RUN/share"
cp "$HERE/guest-test.sh" "$HERE/guest-kernel-fixes.sh" "$HERE/famfs-proof.py" \
	"$HERE/famfs-mock-server.py" "$RUN/share/"

# initramfs (vm-lib.sh): static busybox and an /init that mounts the host
# root (9p, read-only), tmpfs on /tmp /run /mnt, the run's share (9p, rw) on
# /mnt/share, runs guest-test.sh chrooted into the host root and powers off.
IR=$RUN/initramfs
vm_initramfs "$IR" "$RUN/initramfs.cpio.gz"

# One nvdimm: the guest's only view of the memory (see guest-test.sh).
DEVFILE=$RUN/famfs.dev
truncate -s 4G "$DEVFILE"
qemu_pid=''
cleanup() {
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null || true
	if [ "$KEEP" = 0 ]; then rm -f "$DEVFILE" "$RUN/initramfs.cpio.gz"; rm -rf "$IR"; fi
}
trap cleanup EXIT

start=$(date +%s)
qemu-system-x86_64 -machine pc,nvdimm=on -cpu max -smp 2 \
	-m 3G,slots=4,maxmem=12G \
	-object memory-backend-file,id=m0,share=on,mem-path="$DEVFILE",size=4G \
	-device nvdimm,id=nv0,memdev=m0 \
	-fsdev local,id=r,path=/,security_model=none,readonly=on \
	-device virtio-9p-pci,fsdev=r,mount_tag=hostroot \
	-fsdev local,id=s,path="$RUN/share",security_model=none \
	-device virtio-9p-pci,fsdev=s,mount_tag=share \
	-kernel "$KERNEL" -initrd "$RUN/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 rdinit=/init famfs_script=guest-test.sh famfs_out=guest.out" \
	-display none -serial file:"$RUN/console.log" -monitor none \
	-no-reboot </dev/null >"$RUN/qemu.out" 2>&1 &
qemu_pid=$!
timed_out=0
shown=0
show_progress() { # the guest's "== step" lines, as the 9p share gets them
	local n
	[ -f "$RUN/share/guest.out" ] || return 0
	n=$(wc -l <"$RUN/share/guest.out")
	[ "$n" -gt "$shown" ] || return 0
	sed -n "$((shown + 1)),${n}p" "$RUN/share/guest.out" | sed -n 's/^== /boot-test: [guest] /p'
	shown=$n
}
no_poweroff=0
while kill -0 "$qemu_pid" 2>/dev/null; do
	show_progress
	# The guest wrote its results; it must power off within a minute.
	if [ -f "$RUN/share/done" ] && [ -z "${done_at:-}" ]; then done_at=$(date +%s); fi
	if [ -n "${done_at:-}" ] && [ $(($(date +%s) - done_at)) -ge 60 ]; then
		echo "boot-test: the guest finished but did not power off within 60 s; killing pid $qemu_pid"
		kill "$qemu_pid" 2>/dev/null || true
		no_poweroff=1
		break
	fi
	if [ $(($(date +%s) - start)) -ge "$LIMIT" ]; then
		echo "boot-test: qemu hit the ${LIMIT}s limit; killing pid $qemu_pid"
		kill "$qemu_pid" 2>/dev/null || true
		sleep 2
		kill -9 "$qemu_pid" 2>/dev/null || true
		timed_out=1
		break
	fi
	sleep 2
done
wait "$qemu_pid" 2>/dev/null || true
qemu_pid=''
show_progress
echo "boot-test: qemu ran $(($(date +%s) - start)) s"

pass=0 fail=0
if [ $no_poweroff = 1 ]; then
	echo "FAIL: guest powers off after the test (it hung; console tail:)"
	tail -5 "$RUN/console.log" | sed 's/^/    /'
	fail=1
fi
if [ -f "$RUN/share/results" ]; then
	while IFS= read -r line; do
		echo "$line"
		case $line in PASS:*) pass=$((pass + 1)) ;; FAIL:*) fail=$((fail + 1)) ;; esac
	done <"$RUN/share/results"
fi
if [ ! -f "$RUN/share/done" ]; then
	echo "FAIL: guest did not finish (timeout=$timed_out); console tail:"
	tail -20 "$RUN/console.log" | sed 's/^/    /'
	fail=$((fail + 1))
elif [ $fail -gt 0 ]; then
	echo "boot-test: guest output: $RUN/share/guest.out; console: $RUN/console.log"
fi
echo "$pass passed, $fail failed"
[ $fail = 0 ]
