#!/bin/bash
# Runs inside each guest of two-guest-test.sh, chrooted into the host root
# (9p, read-only), as `two-guest-guest.sh A` (owner) or `... B` (client).
# Both guests share the run's share on /mnt/share:
#   env            settings from the host (sourced)
#   A/, B/         each guest's results (PASS:/FAIL:/INFO: and famfs-proof
#                  lines), system uuid file, sha256 list, dmesg, done flag
#   sync/          flag files the guests poll (and abort, set by the host or
#                  a guest that cannot go on)
# The two kernels see the same memory: one host file is both guests' nvdimm
# (memory-backend-file share=on). A turns it into /dev/dax0.0 (a devdax info
# block, mode=ram), formats it while it is bound to device_dax, binds it to
# fsdev_dax and mounts famfs mode; B only probes the namespace (it finds A's
# info block), binds fsdev_dax and mounts as a client.
set -u
ROLE=${1:?role A or B}
S=/mnt/share
OUT=$S/$ROLE
SYNC=$S/sync
B=$S/bin
MNT=/mnt/famfs
DEV=/dev/dax0.0
PY=/usr/bin/python3
# shellcheck source=/dev/null
source $S/env
: "${REFRESH_MS:=1000}" "${REFRESH_SLACK_MS:=4000}" "${WAIT_S:=400}" "${COMPAT_B:=1}"
export FAMFS_SYSTEM_UUID_FILE=$OUT/system_uuid FAMFS_FUSED=$B/famfs-fused LD_LIBRARY_PATH=$S/lib
# OpenSSL's SHA-256 (python hashlib: the proof loops, mmap checksums) in its
# scalar code: qemu 7.2's TCG runs the AVX2/SSSE3 paths 2.5x slower (64 MiB
# in the patched guest at load 8: 8.6 s with AVX2, 5.1 s SSSE3, 3.4 s scalar;
# the 1 GiB loops were most of the run). Masks AVX, SSSE3 (CPUID 1 ECX) and
# AVX2, BMI1/2, SHA (CPUID 7 EBX); the digests are the same.
export OPENSSL_ia32cap="~0x1000020000000000:~0x20000128"
R=$OUT/results
: >"$R"

# shellcheck source=../test/lib/check.sh
source $S/check.sh
# shellcheck disable=SC2034 # read by check.sh
CHECK_TAG="[$ROLE]"
check_record() { echo "$1: $2" >>"$R"; }
info() { echo "INFO: [$ROLE] $*" | tee -a "$R"; }
say() { echo "== [$(cut -d' ' -f1 /proc/uptime)s] $*"; }

flag() { echo "${2:-}" >"$SYNC/$1.tmp" && mv "$SYNC/$1.tmp" "$SYNC/$1"; }
wait_flag() { # NAME [SECONDS]: 1 on timeout or abort
	local t0=$SECONDS
	while [ ! -e "$SYNC/$1" ]; do
		[ -e "$SYNC/abort" ] && { echo "abort: $(cat "$SYNC/abort")"; return 1; }
		[ $((SECONDS - t0)) -gt "${2:-$WAIT_S}" ] && { echo "timed out waiting for sync/$1"; return 1; }
		sleep 0.2
	done
}
finish() {
	say "dmesg check"
	dmesg >"$OUT/dmesg.txt" 2>&1
	dmesg | grep -E 'WARNING|BUG|Oops' | head -20
	check "guest dmesg has no WARNING, BUG or Oops" sh -c "! dmesg | grep -qE 'WARNING|BUG|Oops'"
	flag "done-$ROLE"
	touch "$OUT/done"
	exit 0
}
abort_all() { # WHY: a FAIL, tell the other guest, stop
	fail "$1"
	flag abort "$ROLE: $1"
	finish
}
stat_field() { # python expression over the stats json `s`
	getfattr --only-values -n user.famfs.stats "$MNT" 2>/dev/null |
		$PY -c "import json,sys; s=json.load(sys.stdin); print($1)"
}
mmap_sha256() {
	$PY -c '
import hashlib, mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
m = mmap.mmap(fd, os.fstat(fd).st_size, mmap.MAP_SHARED, mmap.PROT_READ)
print(hashlib.sha256(m[:]).hexdigest())' "$1"
}
driver() { basename "$(readlink /sys/bus/dax/devices/dax0.0/driver)"; }
bind_fsdev_dax() {
	echo dax0.0 >/sys/bus/dax/drivers/device_dax/unbind
	echo dax0.0 >/sys/bus/dax/drivers/fsdev_dax/new_id 2>/dev/null ||
		echo dax0.0 >/sys/bus/dax/drivers/fsdev_dax/bind
	check "dax0.0 bound to fsdev_dax" wait_for 5 sh -c '[ "$(basename "$(readlink /sys/bus/dax/devices/dax0.0/driver)")" = fsdev_dax ]'
}
mount_famfs() { # OPTS
	mkdir -p $MNT
	check "famfs mount -o $1 $DEV $MNT" $B/famfs mount -o "$1" $DEV $MNT
}
proof() { # MODE FILE: run the measured loop; the line goes to the results as is
	PROOF=$($PY $S/famfs-proof.py "$1" "$ROLE" "$2" $MNT 2>&1)
	echo "$PROOF" | tee -a "$R"
}
shas() { # FILE...: "relpath sha256" lines of mmap checksums into $OUT/sha256
	local f
	for f in "$@"; do echo "$f $(mmap_sha256 "$MNT/$f")"; done | tee -a "$OUT/sha256"
}

say "guest $ROLE: kernel $(uname -r), system uuid $(cat "$FAMFS_SYSTEM_UUID_FILE")"
check "famfs symbols in /proc/kallsyms (patched kernel)" grep -q ' famfs_file_open$' /proc/kallsyms
check "a raw pmem namespace from the shared nvdimm" wait_for 20 test -e /sys/bus/nd/devices/namespace0.0

# Files A makes: relpath size seed [striping]
FILES=("big 1g 11" "striped 16m 9 -N 2 -B 2 -C 2m" "dir/f 4m 7")
LATE="late 4m 21"

owner() {
	say "nvdimm -> /dev/dax0.0 (devdax info block, mode=ram)"
	echo namespace0.0 >/sys/bus/nd/drivers/nd_pmem/unbind 2>/dev/null
	local d=/sys/bus/nd/devices/dax0.0 uuid
	uuid=$(cat /proc/sys/kernel/random/uuid)
	check "devdax info block written through sysfs (uuid $uuid, mode ram)" sh -c \
		"echo $uuid >$d/uuid && echo ram >$d/mode && echo namespace0.0 >$d/namespace && echo dax0.0 >/sys/bus/nd/drivers_probe"
	check "/dev/dax0.0 appears (device_dax)" wait_for 10 test -c $DEV || abort_all "no /dev/dax0.0"
	flag devdax-ready "$uuid"

	say "famfs mkfs /dev/dax0.0 while bound to device_dax (mkfs needs raw mmap)"
	check "famfs mkfs $DEV" $B/famfs mkfs $DEV || abort_all "mkfs failed"
	bind_fsdev_dax || abort_all "cannot bind fsdev_dax"
	say "mount famfs mode (owner)"
	mount_famfs famfs=on || abort_all "owner cannot mount"
	check "stats: mode famfs, role owner" [ "$(stat_field "s['mode'] + ' ' + s['role']")" = "famfs owner" ]

	say "creat the files through the mount (1 GiB seeded, striped, one in a directory)"
	check "famfs mkdir $MNT/dir" $B/famfs mkdir $MNT/dir
	local e rel size seed extra
	for e in "${FILES[@]}"; do
		read -r rel size seed extra <<<"$e"
		# shellcheck disable=SC2086 # extra: the striping options
		check "famfs creat -s $size -S $seed ${extra:+$extra }$MNT/$rel" \
			$B/famfs creat -s "$size" -S "$seed" $extra "$MNT/$rel" || abort_all "creat $rel failed"
	done
	check "striped has an interleaved map" sh -c "$B/famfs getmap --json $MNT/striped | grep -qiE 'interleav|nstrips'"
	flag files-ready

	say "famfs mode: A's mmap touch loop over the 1 GiB file"
	proof famfs $MNT/big
	shas striped dir/f >/dev/null
	flag shas-A

	say "wait for B's mount and refused creat"
	wait_flag client-checked || abort_all "client never got to its creat check"
	say "creat a file while B is mounted"
	read -r rel size seed extra <<<"$LATE"
	check "famfs creat -s $size -S $seed $MNT/$rel (B mounted)" $B/famfs creat -s "$size" -S "$seed" "$MNT/$rel"
	shas "$rel" >/dev/null
	flag late-created
	check "famfs fsck $MNT clean on the owner" $B/famfs fsck $MNT
	wait_flag client-done || fail "client never finished"
	check "umount $MNT" umount $MNT
}

client() {
	say "wait for A's devdax info block"
	wait_flag devdax-ready || abort_all "owner never made /dev/dax0.0"
	local want holder out rc sha0 t0 waited
	want=$(cat $SYNC/devdax-ready)
	if [ ! -c $DEV ]; then
		# Booted before A wrote the info block: namespace0.0 is a plain
		# pmem disk here. Probe it again; nd_pmem finds the info block
		# and hands the namespace to a dax device. Nothing is written.
		echo namespace0.0 >/sys/bus/nd/drivers/nd_pmem/unbind 2>/dev/null
		echo namespace0.0 >/sys/bus/nd/drivers_probe
	fi
	check "/dev/dax0.0 appears from A's info block (probe only)" wait_for 10 test -c $DEV || abort_all "no /dev/dax0.0 on B"
	holder=$(cat /sys/bus/nd/devices/namespace0.0/holder 2>/dev/null)
	check "same namespace as A: $holder has A's uuid $want and mode ram" \
		[ "$(cat "/sys/bus/nd/devices/$holder/uuid" 2>/dev/null):$(cat "/sys/bus/nd/devices/$holder/mode" 2>/dev/null)" = "$want:ram" ]
	check "dax0.0 bound to device_dax" [ "$(driver)" = device_dax ]
	info "dax0.0 size $(cat /sys/bus/dax/devices/dax0.0/size)"

	say "wait for A's files"
	wait_flag files-ready || abort_all "owner never created its files"
	mkdir -p $MNT
	if [ "$COMPAT_B" = 1 ]; then
		say "compat mode on B (device_dax): the 1 GiB touch loop served by the daemon"
		if mount_famfs famfs=off; then
			check "stats: mode compat, role client" [ "$(stat_field "s['mode'] + ' ' + s['role']")" = "compat client" ]
			proof compat $MNT/big
			check "umount the compat mount" umount $MNT
		fi
	fi
	bind_fsdev_dax || abort_all "cannot bind fsdev_dax on B"

	say "mount famfs mode (client, refresh_ms=$REFRESH_MS)"
	mount_famfs "famfs=on,refresh_ms=$REFRESH_MS" || abort_all "client cannot mount"
	check "stats: mode famfs, role client" [ "$(stat_field "s['mode'] + ' ' + s['role']")" = "famfs client" ]
	out=$(cd $MNT && find . -path ./.meta -prune -o -print | LC_ALL=C sort | tr '\n' ' ')
	check "sees A's tree right after mount (got: $out)" [ "$out" = ". ./big ./dir ./dir/f ./striped " ]
	local e rel size seed extra
	for e in "${FILES[@]}"; do
		read -r rel size seed extra <<<"$e"
		check "famfs verify -S $seed $MNT/$rel" $B/famfs verify -S "$seed" "$MNT/$rel"
	done
	say "famfs mode: B's mmap touch loop over the 1 GiB file"
	proof famfs $MNT/big
	shas striped dir/f >/dev/null

	say "creat on the client must be refused"
	sha0=$(sha256sum <$MNT/.meta/.log)
	out=$($B/famfs creat -s 2m -S 99 $MNT/client-made 2>&1)
	rc=$?
	info "client creat: exit $rc: $out"
	check "client's famfs creat refused in one line naming the client role (exit $rc)" \
		sh -c '[ "$1" != 0 ] && [ "$2" = 1 ] && echo "$3" | grep -q "this host is a client.*only the owner host"' \
		_ $rc "$(printf '%s\n' "$out" | grep -c .)" "$out"
	check "no file client-made" sh -c "! test -e $MNT/client-made"
	out=$($B/famfs mkdir $MNT/client-dir 2>&1)
	rc=$?
	check "client's famfs mkdir refused (exit $rc: $out)" sh -c '[ "$1" != 0 ] && [ ! -e "$2" ]' _ $rc $MNT/client-dir
	check "nothing written: .meta/.log unchanged" [ "$(sha256sum <$MNT/.meta/.log)" = "$sha0" ]
	flag client-checked

	say "wait for A's new file"
	wait_flag late-created || abort_all "owner never created the late file"
	read -r rel size seed extra <<<"$LATE"
	t0=$(date +%s%N)
	wait_for $(((REFRESH_MS + REFRESH_SLACK_MS) / 1000 * 4)) test -e $MNT/$rel
	waited=$((($(date +%s%N) - t0) / 1000000))
	check "B sees A's new file $rel ${waited} ms after A created it (limit $((REFRESH_MS + REFRESH_SLACK_MS)) ms)" \
		sh -c '[ -e "$1" ] && [ "$2" -le "$3" ]' _ $MNT/$rel $waited $((REFRESH_MS + REFRESH_SLACK_MS))
	check "famfs verify -S $seed $MNT/$rel" $B/famfs verify -S "$seed" "$MNT/$rel"
	shas "$rel" >/dev/null
	info "stats: $(getfattr --only-values -n user.famfs.stats $MNT 2>/dev/null)"
	check "famfs fsck $MNT clean on the client" $B/famfs fsck $MNT
	check "umount $MNT" umount $MNT
	flag client-done
}

if [ "$ROLE" = A ]; then owner; else client; fi
finish
