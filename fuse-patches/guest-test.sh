#!/bin/bash
# Runs inside the boot-test guest, chrooted into the host root (9p, read-only),
# with the run's share on /mnt/share. Writes PASS:/FAIL:/INFO: lines to
# /mnt/share/results and touches /mnt/share/done at the end.
#
# One DAX device, as a user deploys famfs mode: the guest's only view of the
# shared memory is /dev/dax0.0. It is formatted while bound to device_dax
# (mkfs needs raw mmap), then bound to fsdev_dax, which refuses raw mmap: the
# daemon and the CLI reach the superblock and log through the mount's
# .meta/.superblock and .meta/.log (DAX files the kernel maps; see
# docs/daemon.md, "fsdev_dax devices").
set -u
S=/mnt/share
R=$S/results
B=$S/bin
export FAMFS_SYSTEM_UUID_FILE=/tmp/system_uuid FAMFS_FUSED=$B/famfs-fused LD_LIBRARY_PATH=$S/lib
# OpenSSL's SHA-256 (python hashlib: the proof loops, mmap checksums) in its
# scalar code: qemu 7.2's TCG runs the AVX2/SSSE3 paths 2.5x slower (64 MiB
# in the patched guest at load 8: 8.6 s with AVX2, 5.1 s SSSE3, 3.4 s scalar;
# the 1 GiB loops were most of the run). Masks AVX, SSSE3 (CPUID 1 ECX) and
# AVX2, BMI1/2, SHA (CPUID 7 EBX); the digests are the same.
export OPENSSL_ia32cap="~0x1000020000000000:~0x20000128"
PY=/usr/bin/python3
MNT=/mnt/famfs
: >"$R"

say() { echo "== $*"; }
# The famfs-proof line of one measured mmap loop, into the results as is.
proof() { # proof MODE FILE: prints the line and keeps it in $PROOF
	PROOF=$($PY $S/famfs-proof.py "$1" A "$2" $MNT 2>&1)
	echo "$PROOF" | tee -a "$R"
}
proof_field() { echo "$PROOF" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# pass/fail/check come from test/lib/check.sh (boot-test.sh stages it in the
# share), like every shell suite's; each result also goes to the results file.
# shellcheck source=../test/lib/check.sh
source $S/check.sh
check_record() { echo "$1: $2" >>"$R"; }
info() { echo "INFO: $*" | tee -a "$R"; }
finish() {
	# Diagnostics for the post-test stall (init's sync/umount after a
	# famfs-mode run): what is left, and whether sync itself returns.
	info "at finish: $(timeout 20 cat /proc/mounts | wc -l) mounts, $(pgrep -c -x famfs-fused) famfs-fused processes"
	local t0=$(date +%s)
	timeout 30 sync
	info "sync at finish: rc $? after $(($(date +%s) - t0)) s"
	echo "INFO: mounts at finish: $(wc -l </proc/self/mountinfo) (fuse: $(grep -c ' fuse' /proc/self/mountinfo))"
	dmesg >"$S/dmesg.txt" 2>&1
	touch "$S/done"
	exit 0
}
stat_field() { # stat_field EXPR: evaluate a python expression over the stats json `s`
	getfattr --only-values -n user.famfs.stats "$MNT" 2>/dev/null |
		$PY -c "import json,sys; s=json.load(sys.stdin); print($1)"
}
mmap_sha256() {
	$PY -c '
import hashlib, mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
print(hashlib.sha256(m[:]).hexdigest())' "$1"
}

say "kernel $(uname -r)"
check "kernel release is 7.3" grep -q '^7\.3' /proc/sys/kernel/osrelease
check "famfs symbols in /proc/kallsyms (the daemon's revision rule)" \
	grep -q ' famfs_file_open$' /proc/kallsyms

# ---- /dev/dax0.0 from the nvdimm (no ndctl) ---------------------------------
say "nvdimm -> devdax"
ls /sys/bus/nd/devices/
check "a raw pmem namespace" wait_for 20 test -e /sys/bus/nd/devices/namespace0.0
check "one nvdimm: no second view of the memory" sh -c '! test -e /sys/bus/nd/devices/namespace1.0'
# mode=ram: struct pages in guest RAM, not on the device.
make_dax() { # make_dax REGION: write a devdax info block on namespaceN.0
	local ns=namespace$1.0 d=/sys/bus/nd/devices/dax$1.0
	echo "$ns" >/sys/bus/nd/drivers/nd_pmem/unbind 2>/dev/null
	cat /proc/sys/kernel/random/uuid >"$d/uuid" &&
		echo ram >"$d/mode" &&
		echo "$ns" >"$d/namespace" &&
		echo "dax$1.0" >/sys/bus/nd/drivers_probe
}
check "dax0.0 configured through sysfs" make_dax 0
check "/dev/dax0.0 appears (device_dax)" wait_for 10 test -c /dev/dax0.0
ls -l /dev/dax* /sys/bus/dax/devices/
for d in /sys/bus/dax/devices/*; do echo "$d: $(readlink "$d/driver") size $(cat "$d/size")"; done
[ -c /dev/dax0.0 ] || finish

# ---- mkfs and files while dax0.0 is bound to device_dax -----------------------
say "mkfs + creat on /dev/dax0.0 (device_dax)"
check "famfs mkfs /dev/dax0.0" $B/famfs mkfs /dev/dax0.0
check "famfs creat -s 8m -S 7 /f" $B/famfs --device /dev/dax0.0 creat -s 8m -S 7 /f
check "famfs creat -s 16m -S 9 -N 2 -B 2 -C 2m /striped" \
	$B/famfs --device /dev/dax0.0 creat -s 16m -S 9 -N 2 -B 2 -C 2m /striped
check "famfs creat -s 1g -S 11 /big (for the data-path proof)" \
	$B/famfs --device /dev/dax0.0 creat -s 1g -S 11 /big
. $S/guest-kernel-fixes.sh
check "mock region seeded at device offset 3 GiB (kernel fix tests)" mock_seed
$B/famfs --device /dev/dax0.0 getmap /f /striped

# ---- compat-mode baseline: the daemon serves reads ----------------------------
say "compat mode baseline"
mkdir -p $MNT
if $B/famfs-fused /dev/dax0.0 $MNT -o famfs=off; then
	sha_f=$(sha256sum <$MNT/f | cut -d' ' -f1)
	sha_s=$(sha256sum <$MNT/striped | cut -d' ' -f1)
	sha_sb=$(head -c 4096 $MNT/.meta/.superblock | sha256sum | cut -d' ' -f1)
	check "compat: famfs verify -S 7 $MNT/f" $B/famfs verify -S 7 $MNT/f
	check "compat: .meta/.log is 8 MiB" [ "$(stat -c %s $MNT/.meta/.log)" = 8388608 ]
	info "compat: mode=$(stat_field "s['mode']") reads=$(stat_field "s['requests'].get('read')")"
	say "compat mode: the mmap touch loop over the 1 GiB file (the comparison)"
	proof compat $MNT/big
	sha_big=$(proof_field sha256)
	check "compat proof: the daemon served the data (daemon_requests=$(proof_field daemon_requests) > 0)" \
		[ "$(proof_field daemon_requests)" -gt 0 ]
	umount $MNT
else
	fail "compat mount of /dev/dax0.0"
	finish
fi

# ---- famfs mode ----------------------------------------------------------------
famfs_warnings() { dmesg | grep -c 'famfs:'; }
start_daemon() {
	$B/famfs-fused /dev/dax0.0 $MNT -o famfs=on >>$S/daemon.out 2>&1
}

say "famfs mode while dax0.0 is still bound to device_dax: opens must fail"
if start_daemon; then
	check "open fails while dax0.0 is not bound to fsdev_dax (no map, no open)" \
		sh -c "! cat $MNT/f >/dev/null 2>&1"
	check "dmesg names the refused device" sh -c "dmesg | grep -q 'famfs: daxdev 0 (/dev/dax0.0): -95'"
	check "daemon served no READ for the failed open" [ "$(stat_field "s['requests'].get('read', 0)")" = 0 ]
	umount $MNT
else
	fail "famfs-fused -o famfs=on with dax0.0 on device_dax"
fi

say "rebind dax0.0 to fsdev_dax"
echo dax0.0 >/sys/bus/dax/drivers/device_dax/unbind
echo dax0.0 >/sys/bus/dax/drivers/fsdev_dax/new_id 2>/dev/null ||
	echo dax0.0 >/sys/bus/dax/drivers/fsdev_dax/bind
check "dax0.0 bound to fsdev_dax" \
	wait_for 5 sh -c '[ "$(basename "$(readlink /sys/bus/dax/devices/dax0.0/driver)")" = fsdev_dax ]'
out=$($B/famfs fsck /dev/dax0.0 2>&1)
check "CLI on the unmounted fsdev_dax device: one line saying what to do ($out)" \
	sh -c "[ \"\$(echo '$out' | wc -l)\" = 1 ] && echo '$out' | grep -q 'famfs mount'"
out=$($B/famfs mkfs -f /dev/dax0.0 2>&1)
check "mkfs on fsdev_dax refused in one line naming daxctl ($out)" \
	sh -c "[ \"\$(echo '$out' | wc -l)\" = 1 ] && echo '$out' | grep -q 'daxctl reconfigure-device --mode=devdax'"
out=$($B/famfs-fused /dev/dax0.0 $MNT -o famfs=off 2>&1)
check "famfs=off on fsdev_dax refused in one line ($out)" \
	sh -c "! grep -q ' $MNT fuse' /proc/mounts && [ \"\$(echo '$out' | wc -l)\" = 1 ]"

warn0=$(famfs_warnings)
say "famfs-fused -o famfs=on /dev/dax0.0 (fsdev_dax: metadata through .meta)"
start_daemon
rc=$?
check "famfs-fused -o famfs=on mounted the fsdev_dax device (rc $rc)" [ $rc = 0 ]
grep " $MNT " /proc/mounts
tail -3 $S/daemon.out
mode=$(stat_field "s['mode']")
info "stats: $(getfattr --only-values -n user.famfs.stats $MNT 2>/dev/null)"
check "stats xattr says mode famfs (got '$mode')" [ "$mode" = famfs ]
[ "$mode" = famfs ] || finish
check "ls -a shows .meta; .meta shows .superblock and .log" \
	sh -c "ls -a $MNT | grep -qx .meta && [ \"\$(ls -a $MNT/.meta | tr '\n' ' ')\" = '. .. .log .superblock ' ]"
sha=$(head -c 4096 $MNT/.meta/.superblock | sha256sum | cut -d' ' -f1)
check ".meta/.superblock (DAX, file_type 1) reads what compat mode read" [ "$sha" = "$sha_sb" ]
check ".meta/.log (DAX, file_type 2) is 8 MiB, 0644 root" [ "$(stat -c %s:%a:%U $MNT/.meta/.log)" = 8388608:644:root ]
check "a non-root user cannot open .meta/.log for writing" \
	sh -c "! setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'exec 3>>$MNT/.meta/.log' 2>/dev/null"

sha=$(sha256sum <$MNT/f | cut -d' ' -f1)
check "read(): sha256 of /f matches compat mode" [ "$sha" = "$sha_f" ]
sha=$(sha256sum <$MNT/striped | cut -d' ' -f1)
check "read(): sha256 of interleaved /striped matches compat mode" [ "$sha" = "$sha_s" ]
sha=$(mmap_sha256 $MNT/f)
check "mmap: sha256 of /f matches compat mode" [ "$sha" = "$sha_f" ]
sha=$(mmap_sha256 $MNT/striped)
check "mmap: sha256 of interleaved /striped matches compat mode" [ "$sha" = "$sha_s" ]
check "famfs verify -S 7 $MNT/f (CLI maps the file through the mount)" $B/famfs verify -S 7 $MNT/f
check "stat size of /f is 8 MiB" [ "$(stat -c %s $MNT/f)" = 8388608 ]

say "famfs mode: the mmap touch loop over the 1 GiB file"
proof famfs $MNT/big
flt=$(proof_field minflt) bytes=$(proof_field bytes)
limit=$((2 * bytes / (2 << 20) + 64))
check "famfs proof: sha256 of /big equals compat mode's" [ "$(proof_field sha256)" = "$sha_big" ]
check "famfs proof: 0 daemon requests during the loop (got $(proof_field daemon_requests))" \
	[ "$(proof_field daemon_requests)" = 0 ]
check "famfs proof: minflt $flt <= 2 x (size / 2 MiB) + 64 = $limit (PMD faults)" [ "${flt:-999999}" -le $limit ]
check "famfs proof: the mapping address is 2 MiB aligned" [ "$(proof_field addr_2m_aligned)" = 1 ]

# The CLI appends through .meta/.log (a DAX mapping of the log region).
say "CLI on the famfs-mode mount"
check "famfs creat -s 4m -S 5 $MNT/new" $B/famfs creat -s 4m -S 5 $MNT/new
check "famfs mkdir -p $MNT/d/e" $B/famfs mkdir -p $MNT/d/e
printf 'copied-into-famfs-mode\n' >/tmp/src.txt
check "famfs cp /tmp/src.txt $MNT/d/e/copy" $B/famfs cp /tmp/src.txt $MNT/d/e/copy
check "the copy reads back through the kernel" cmp /tmp/src.txt $MNT/d/e/copy
check "new file: read() verifies -S 5" sh -c "$B/famfs verify -S 5 $MNT/new"
sha_new=$(sha256sum <$MNT/new | cut -d' ' -f1)
check "new file: mmap sha256 = read() sha256" [ "$(mmap_sha256 $MNT/new)" = "$sha_new" ]
check "famfs getmap $MNT/new" sh -c "$B/famfs getmap $MNT/new >/dev/null"
check "famfs log $MNT lists the new entries" sh -c "$B/famfs log $MNT | grep -q new"
check "famfs fsck $MNT clean" $B/famfs fsck $MNT

# A write through the kernel's DAX path lands in the shared memory.
printf 'famfs-kernel-write' | dd of=$MNT/striped bs=1 seek=$((6 * 1024 * 1024)) conv=notrunc status=none
check "write(): data visible through the mount" \
	sh -c "dd if=$MNT/striped bs=1 skip=$((6 * 1024 * 1024)) count=18 status=none | grep -q famfs-kernel-write"
# mmap write, another chunk of the interleaved file.
$PY -c '
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 16 << 20, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[(10 << 20):(10 << 20) + 17] = b"famfs-mmap-write!"
m.flush()' $MNT/striped
check "mmap write: data visible through read()" \
	sh -c "dd if=$MNT/striped bs=1 skip=$((10 * 1024 * 1024)) count=17 status=none | grep -q famfs-mmap-write"
check "writes reached the memory (verify -S 9 /striped now fails)" \
	sh -c "! $B/famfs verify -S 9 $MNT/striped >/dev/null 2>&1"

reads=$(stat_field "s['requests'].get('read', 0)")
writes=$(stat_field "s['requests'].get('write', 0)")
fmaps=$(stat_field "s['kernel_protocol']['get_fmap']")
daxdevs=$(stat_field "s['kernel_protocol']['get_daxdev']")
stray=$(stat_field "s['kernel_protocol']['stray_data_io']")
check "daemon served no READ requests (read=$reads)" [ "$reads" = 0 ]
check "daemon served no WRITE requests (write=$writes)" [ "$writes" = 0 ]
check "no stray READ/WRITE reached the daemon (stray_data_io=$stray)" [ "$stray" = 0 ]
check "kernel sent GET_FMAP (get_fmap=$fmaps)" [ "${fmaps:-0}" -ge 4 ]
check "kernel sent GET_DAXDEV (get_daxdev=$daxdevs)" [ "${daxdevs:-0}" -ge 1 ]
check "no new famfs warnings in dmesg" [ "$(famfs_warnings)" = "$warn0" ]
dmesg | grep -i famfs

umount $MNT
check "umount" sh -c "! grep -q ' $MNT fuse' /proc/mounts"
echo "INFO: mounts after the famfs-mode section: $(wc -l </proc/self/mountinfo)"

# The connection's fs_dax_get() hold ended with the mount: a new mount must
# be able to take dax0.0 again (fs_dax_get would say EBUSY otherwise), and
# it replays what the CLI appended through .meta/.log.
say "remount: the device is taken again"
if start_daemon; then
	# kernel fix 5: the first open on this connection is by a non-root
	# user, who may not open /dev/dax0.0 (0600 root) itself.
	sha=$($PY -c 'import hashlib, os, sys
os.setgroups([]); os.setgid(65534); os.setuid(65534)
print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' $MNT/f 2>&1)
	check "remount: a non-root first opener reads /f (matches compat mode)" [ "$sha" = "$sha_f" ]
	[ "$sha" = "$sha_f" ] || info "non-root read of /f: $sha ($(stat -c '%a %U' $MNT/f))"
	sha=$(sha256sum <$MNT/f | cut -d' ' -f1)
	check "remount: read() of /f matches compat mode" [ "$sha" = "$sha_f" ]
	check "remount: /new (appended through .meta/.log) is there" \
		[ "$(sha256sum <$MNT/new | cut -d' ' -f1)" = "$sha_new" ]
	umount $MNT
else
	fail "remount in famfs mode"
fi
kernel_fix_tests

echo dax0.0 >/sys/bus/dax/drivers/fsdev_dax/unbind
echo dax0.0 >/sys/bus/dax/drivers/device_dax/bind
check "dax0.0 back on device_dax" \
	wait_for 5 sh -c '[ "$(basename "$(readlink /sys/bus/dax/devices/dax0.0/driver)")" = device_dax ]'
check "/dev/dax0.0 mappable again: famfs fsck clean" $B/famfs fsck /dev/dax0.0
check "raw view agrees: verify -S 5 /new" $B/famfs --device /dev/dax0.0 verify -S 5 /new
dmesg | grep -E 'WARNING|BUG|Oops' | head -20
check "guest dmesg has no WARNING, BUG or Oops" sh -c "! dmesg | grep -qE 'WARNING|BUG|Oops'"
finish
