# shellcheck shell=bash
# Shared by boot-test.sh (one guest) and two-guest-test.sh (two guests):
# host packages, and the busybox initramfs that boots the patched kernel.
#   vm_preflight BUILD        root, the build's famfs and famfs-fused, host packages
#   vm_host_packages          apt-get install what is missing (qemu, busybox-static, cpio)
#   vm_run_dir RUNS NAME KEEP a new run dir RUNS/NAME-<time>-XXXX (printed), the
#                             newest KEEP earlier NAME-* dirs kept, older ones removed
#   vm_stage_share BUILD SHARE  the build's famfs, famfs-fused (SHARE/bin) and
#                             libfamfs (SHARE/lib), and test/lib/check.sh
#   vm_initramfs DIR OUT      build the initramfs in DIR, write it gzipped to OUT
# The initramfs' /init mounts the host root (9p "hostroot", read-only) on
# /newroot, tmpfs on /tmp /run /mnt, the run's share (9p "share", rw,
# cache=none) on /mnt/share, then runs, chrooted into the host root,
#   /bin/bash /mnt/share/SCRIPT ROLE >/mnt/share/OUT 2>&1
# with SCRIPT, ROLE and OUT from the kernel command line (famfs_script=,
# famfs_role=, famfs_out=; defaults guest-test.sh, A, guest.out), and
# powers off.

vm_preflight() { # BUILD
	local b
	[ "$(id -u)" = 0 ] || { echo "vm: run as root (qemu 9p export of / with security_model=none)" >&2; exit 2; }
	for b in tools/famfs daemon/famfs-fused; do
		[ -x "$1/$b" ] || { echo "vm: $1/$b missing: build the project first" >&2; exit 2; }
	done
	vm_host_packages || exit 2
}

vm_run_dir() { # RUNS NAME KEEP
	mkdir -p "$1"
	{ ls -1d "$1/$2"-* 2>/dev/null || true; } | head -n -"$3" | xargs -r rm -rf
	local run
	run=$(mktemp -d "$1/$2-$(date +%Y%m%d-%H%M%S)-XXXX")
	chmod 755 "$run"
	echo "$run"
}

# The build tree's libfamfs goes with the programs (the guest scripts set
# LD_LIBRARY_PATH to SHARE/lib): a rebuild during the run cannot change what
# a guest loads.
vm_stage_share() { # BUILD SHARE
	mkdir -p "$2/bin" "$2/lib"
	cp "$1/tools/famfs" "$1/daemon/famfs-fused" "$2/bin/"
	ldd "$1/tools/famfs" "$1/daemon/famfs-fused" |
		awk '$1 ~ /^libfamfs/ && $3 ~ /^\// {print $3}' | sort -u | xargs -r cp -L -t "$2/lib/"
	cp "$(dirname "${BASH_SOURCE[0]}")/../test/lib/check.sh" "$2/check.sh"
}

vm_host_packages() {
	local need=()
	command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
	[ -x /bin/busybox ] && /bin/busybox --list | grep -qx mount || need+=(busybox-static)
	command -v cpio >/dev/null || need+=(cpio)
	if [ ${#need[@]} -gt 0 ]; then
		echo "vm: apt-get install ${need[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
	fi
	file /bin/busybox | grep -q 'statically linked' || {
		echo "vm: /bin/busybox is not static (install busybox-static)" >&2
		return 1
	}
}

vm_initramfs() { # DIR OUT
	local ir=$1 out=$2
	mkdir -p "$ir"/{bin,dev,proc,sys,newroot}
	cp /bin/busybox "$ir/bin/busybox"
	cat >"$ir/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
script=guest-test.sh role=A out=guest.out
for w in $(cat /proc/cmdline); do
	case $w in
	famfs_script=*) script=${w#*=} ;;
	famfs_role=*) role=${w#*=} ;;
	famfs_out=*) out=${w#*=} ;;
	esac
done
echo "[init] kernel $(uname -r), running $script $role" >/dev/console
m9p() { mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,"$3" "$1" "$2"; }
if m9p hostroot /newroot ro && for d in tmp run mnt; do mount -t tmpfs -o mode=0755 tmpfs /newroot/$d; done &&
	mkdir -p /newroot/mnt/share && m9p share /newroot/mnt/share rw,cache=none; then
	chmod 1777 /newroot/tmp
	mount -t devtmpfs devtmpfs /newroot/dev
	mount -t proc proc /newroot/proc
	mount -t sysfs sysfs /newroot/sys
	chroot /newroot /bin/bash /mnt/share/$script $role >/newroot/mnt/share/$out 2>&1
	echo "[init] $script exited $?" >/dev/console
else
	echo "[init] cannot mount the 9p shares" >/dev/console
fi
# Power off at once, without forking. The results are on the share already
# (9p, cache=none: every write reached the host before the script
# returned), so there is nothing to sync or unmount. Post-test steps used to
# fork from this shell (grep /proc/mounts, sync, umount): after the 1 GiB
# proof loops those forks spent 10-40 s in the kernel under TCG on a loaded
# host (vCPU sampled through the qemu monitor: page faults, copy-on-write in
# copy_mc_enhanced_fast_string and zero-fill in clear_highpages, no lock, no
# loop in /proc/mounts), and poweroff came more than 60 s late -- with the
# project's 3-patch series too, so not a defect of the series. exec: no fork.
# -n: busybox's `poweroff -f` still calls sync() unless told not to; the
# results need none, and guests that had printed "[init] powering off" kept
# running 30 s and more (fuse-patches/README.md, "Not done").
echo "[init] powering off" >/dev/console
exec poweroff -n -f
INIT
	chmod 755 "$ir/init"
	(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
}
