# Sourced by guest-test.sh: one test per kernel hardening fix of the series
# (fuse-patches/README.md, "What the kernel refuses"), driven by
# famfs-mock-server.py, a test-only FUSE server that answers what each test
# tells it to, wrong answers included.
#
# Needs from guest-test.sh: S, PY, check/pass/fail/info, wait_for.
# mock_seed runs while dax0.0 is on device_dax (raw mmap); the scenarios run
# while it is on fsdev_dax and no other mount holds it.

MOCK_MNT=/mnt/mock
MOCK_BASE=$((3 << 30)) # device offset of the mock files' memory (famfs allocates from the bottom)
MiB=$((1 << 20))
MOCK_GOOD_LEN=$((32 * MiB)) # "good": one simple extent at MOCK_BASE
MOCK_S0=$((MOCK_BASE + 64 * MiB)) # "striped": 2 strips of 4 MiB, chunk 2 MiB
MOCK_S1=$((MOCK_BASE + 96 * MiB))

# Write a known pattern into the mock region and record the sha256 each
# mock file must read as.
mock_seed() {
	$PY - "$S/mock-expect.env" <<EOF
import hashlib, mmap, os, sys
MiB = 1 << 20
base, s0, s1 = $MOCK_BASE, $MOCK_S0, $MOCK_S1
fd = os.open("/dev/dax0.0", os.O_RDWR)
span = 128 * MiB
m = mmap.mmap(fd, span, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=base)
for off in range(0, span, 4096):
    m[off:off + 4096] = (b"mock@%016x." % (base + off)) * 186 + b"\n" * 4
dev = lambda o, n: m[o - base:o - base + n]
good = hashlib.sha256(dev(base, 32 * MiB)).hexdigest()
good8 = hashlib.sha256(dev(base, 8 * MiB)).hexdigest()
# chunk c of the striped file: strip c % 2, row c // 2
st = b"".join(dev((s0, s1)[c % 2] + (c // 2) * 2 * MiB, 2 * MiB) for c in range(4))
with open(sys.argv[1], "w") as f:
    f.write(f"MOCK_SHA_GOOD={good}\nMOCK_SHA_GOOD8={good8}\n")
    f.write(f"MOCK_SHA_STRIPED={hashlib.sha256(st).hexdigest()}\n")
m.close()
EOF
}

# JSON for one mock file. mock_file SIZE FMAP [EXTRA]
mock_file() { echo "{\"size\": $1, \"fmap\": $2${3:+, $3}}"; }
mock_simple() { # mock_simple FILE_SIZE OFF LEN [HDR_EXTRA] [EXT_EXTRA]
	echo "{\"file_size\": $1, \"ext_type\": 0${4:+, $4}, \"extents\": [{\"off\": $2, \"len\": $3${5:+, $5}}]}"
}
mock_striped() { # mock_striped CHUNK NBYTES [IEXT_EXTRA]
	echo "{\"file_size\": $2, \"ext_type\": 1, \"iext\": [{\"chunk\": $1, \"nbytes\": $2${3:+, $3},
	  \"strips\": [{\"off\": $MOCK_S0, \"len\": $((4 * MiB))}, {\"off\": $MOCK_S1, \"len\": $((4 * MiB))}]}]}"
}

MOCK_PID=''
# mock_start SPEC_FILE [ns]: start the mock server on $MOCK_MNT; with "ns",
# in its own mount namespace where /run/mockdev/dax is a node for dax0.0
# that nobody else can see.
mock_start() {
	local spec=$1 ready
	ready=$(sed -n 's/.*"ready": "\([^"]*\)".*/\1/p' "$spec")
	rm -f "$ready"
	if [ "${2:-}" = ns ]; then
		# --propagation unchanged: the FUSE mount on the shared $MOCK_MNT
		# shows outside; /run is private, so the tmpfs below does not.
		unshare -m --propagation unchanged sh -c "
			mount --make-rprivate /run && mount -t tmpfs -o mode=0700 none /run/mockdev &&
			mknod -m 600 /run/mockdev/dax c $(stat -c '%Hr %Lr' /dev/dax0.0) &&
			exec $PY $S/famfs-mock-server.py $spec $MOCK_MNT" >>$S/mock.out 2>&1 &
	else
		$PY $S/famfs-mock-server.py "$spec" $MOCK_MNT >>$S/mock.out 2>&1 &
	fi
	MOCK_PID=$!
	wait_for 20 test -e "$ready"
}
mock_stop() {
	grep -q " $MOCK_MNT fuse.famfs-mock " /proc/mounts && umount $MOCK_MNT
	[ -n "$MOCK_PID" ] && wait "$MOCK_PID" 2>/dev/null
	MOCK_PID=''
}
# mock_spec NAME DAXDEV FILES_JSON [EXTRA]: write $S/mock-NAME.json
mock_spec() {
	cat >"$S/mock-$1.json" <<EOF
{"daxdev": "$2", "log": "$S/mock-$1.log", "ready": "/tmp/mock-$1.ready",
 "files": $3${4:+, $4}}
EOF
	echo "$S/mock-$1.json"
}
sha_of() { sha256sum <"$1" 2>/dev/null | cut -d' ' -f1; }
count_in() { grep -c "^$1 " "$2" 2>/dev/null; } # count_in OPCODE LOG
as_nobody() { # as_nobody PY_CODE ARGS...: run python as uid/gid 65534
	$PY -c "import os; os.setgroups([]); os.setgid(65534); os.setuid(65534)
$1" "${@:2}"
}

kernel_fix_tests() {
	local spec dmesg0 good good8 striped
	# shellcheck disable=SC1091
	. "$S/mock-expect.env" || { fail "mock region was not seeded"; return; }
	mkdir -p $MOCK_MNT /run/mockdev
	# shared, so that a mount made in the server's own namespace shows here
	mount --bind $MOCK_MNT $MOCK_MNT && mount --make-shared $MOCK_MNT
	good=$(mock_file $MOCK_GOOD_LEN "$(mock_simple $MOCK_GOOD_LEN $MOCK_BASE $MOCK_GOOD_LEN)")
	good8=$(mock_simple $((8 * MiB)) $MOCK_BASE $((8 * MiB)))
	striped=$(mock_file $((8 * MiB)) "$(mock_striped $((2 * MiB)) $((8 * MiB)))")

	say "kernel fix 1: GET_DAXDEV must name an existing dax device"
	dmesg0=$(dmesg | wc -l)
	mknod -m 600 /tmp/fake-dax c "$(stat -c '%Hr' /dev/dax0.0)" 200
	for dev in /dev/null /tmp/fake-dax; do
		spec=$(mock_spec daxdev-wrong "$dev" "{\"good\": $good}")
		if mock_start "$spec"; then
			check "fix 1: open fails when GET_DAXDEV names $dev" sh -c "! cat $MOCK_MNT/good >/dev/null 2>&1"
			check "fix 1: dmesg says why ('famfs: daxdev 0 ($dev): -19')" \
				sh -c "dmesg | grep -qF 'famfs: daxdev 0 ($dev): -19'"
			mock_stop
		else
			fail "fix 1: mock server on $MOCK_MNT ($dev)"
		fi
	done
	check "fix 1: no dax minor freed twice (no ida_free warning)" \
		sh -c "! dmesg | tail -n +$((dmesg0 + 1)) | grep -q 'ida_free'"

	say "kernel fix 5: the device path is resolved in the server's context"
	spec=$(mock_spec server-ns /run/mockdev/dax "{\"good\": $good}")
	if mock_start "$spec" ns; then
		check "fix 5: opener outside the server's mount namespace does not see /run/mockdev/dax" \
			test ! -e /run/mockdev/dax
		check "fix 5: first open from another mount namespace maps the server's device" \
			[ "$(sha_of $MOCK_MNT/good)" = "$MOCK_SHA_GOOD" ]
		mock_stop
	else
		fail "fix 5: mock server in its own mount namespace"
	fi
	spec=$(mock_spec nonroot /dev/dax0.0 "{\"good\": $good}")
	if mock_start "$spec"; then
		out=$(as_nobody 'import hashlib, sys
print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' $MOCK_MNT/good 2>&1)
		check "fix 5: a non-root first opener (uid 65534, /dev/dax0.0 is 0600 root) reads the file" \
			[ "$out" = "$MOCK_SHA_GOOD" ]
		[ "$out" = "$MOCK_SHA_GOOD" ] || info "non-root read: $out"
		out=$(sha_of $MOCK_MNT/good)
		check "fix 5: root then opens the same device (one GET_DAXDEV)" \
			sh -c "[ '$out' = $MOCK_SHA_GOOD ] && [ \"\$(grep -c '^GET_DAXDEV ' $S/mock-nonroot.log)\" = 1 ]"
		mock_stop
	else
		fail "fix 5: mock server (non-root opener)"
	fi

	say "kernel fix 2: an open does not unmap the file from other processes"
	spec=$(mock_spec keep-mapped /dev/dax0.0 "{\"good\": $good}")
	if mock_start "$spec"; then
		rm -f /tmp/fix2.fifo /tmp/fix2.go
		mkfifo /tmp/fix2.fifo
		$PY - $MOCK_MNT/good >/tmp/fix2.out 2>&1 <<'EOF' &
import hashlib, mmap, os, resource, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
mv = memoryview(m)
def touch():
    h = hashlib.sha256()
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for off in range(0, size, 1 << 20):
        h.update(mv[off:off + (1 << 20)])
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0, h.hexdigest()
first, sha1 = touch()
open("/tmp/fix2.fifo", "w").write("mapped\n")
while not os.path.exists("/tmp/fix2.go"):
    time.sleep(0.05)
again, sha2 = touch()
print(first, again, sha1, sha2)
EOF
		local apid=$!
		read -r -t 120 _ <>/tmp/fix2.fifo # <>: never blocks on open if A died
		for i in 1 2 3; do cat $MOCK_MNT/good >/dev/null; done
		touch /tmp/fix2.go
		wait $apid
		read -r first again sha1 sha2 </tmp/fix2.out
		info "fix 2: process A: first touch $first faults, after 3 opens by B: $again faults"
		check "fix 2: B's 3 opens reached the server without FOPEN_KEEP_CACHE" \
			[ "$(count_in OPEN $S/mock-keep-mapped.log)" -ge 4 ]
		check "fix 2: A's mapping survived B's opens (again=$again faults, <= 2)" [ "${again:-99}" -le 2 ]
		check "fix 2: A read the right data both times" \
			sh -c "[ '$sha1' = $MOCK_SHA_GOOD ] && [ '$sha2' = $MOCK_SHA_GOOD ]"
		mock_stop
	else
		fail "fix 2: mock server"
	fi

	say "kernel fix 3: a server that changes a mapped file's size is not followed"
	spec=$(mock_spec size-change /dev/dax0.0 "{
		\"grows\": $(mock_file $((8 * MiB)) "$good8" "\"size_after_map\": $((16 * MiB))"),
		\"shrinks\": $(mock_file $((8 * MiB)) "$good8" "\"size_after_map\": $((2 * MiB))")}")
	if mock_start "$spec"; then
		for f in grows shrinks; do
			sha=$(sha_of $MOCK_MNT/$f) # opens: the map is cached
			size=$(stat -c %s $MOCK_MNT/$f) # GETATTR now reports another size
			sha2=$(mmap_sha256 $MOCK_MNT/$f 2>&1)
			check "fix 3: $f: size stays the map's 8 MiB after GETATTR reports another (got $size)" \
				[ "$size" = $((8 * MiB)) ]
			check "fix 3: $f: read and mmap still return the mapped data" \
				sh -c "[ '$sha' = $MOCK_SHA_GOOD8 ] && [ '$sha2' = $MOCK_SHA_GOOD8 ]"
		done
		check "fix 3: dmesg says the server's size was refused" \
			sh -c "dmesg | grep -q 'famfs: nodeid .*: server reports size .* keeping the map'"
		check "fix 3: truncate of a famfs file is refused (EPERM)" \
			sh -c "truncate -s 1M $MOCK_MNT/grows 2>&1 | grep -q 'not permitted'"
		check "fix 3: open(O_TRUNC) of a famfs file is refused" \
			sh -c "! $PY -c 'import os; os.open(\"$MOCK_MNT/grows\", os.O_WRONLY | os.O_TRUNC)' 2>/dev/null"
		mock_stop
	else
		fail "fix 3: mock server"
	fi

	say "kernel fix 4: map validation"
	local big=$((1 << 63)) # 2^63 > MAX_LFS_FILESIZE; with an extent that long the map "covers" it
	spec=$(mock_spec validation /dev/dax0.0 "{
		\"striped\": $striped,
		\"partial-chunk\": $(mock_file $((3 * MiB)) "$(mock_striped $((2 * MiB)) $((3 * MiB)))"),
		\"hdr-reserved\": $(mock_file $((8 * MiB)) "$(mock_simple $((8 * MiB)) $MOCK_BASE $((8 * MiB)) '"reserved0": 1')"),
		\"ext-reserved\": $(mock_file $((8 * MiB)) "$(mock_simple $((8 * MiB)) $MOCK_BASE $((8 * MiB)) '' '"reserved": 1')"),
		\"iext-reserved\": $(mock_file $((8 * MiB)) "$(mock_striped $((2 * MiB)) $((8 * MiB)) '"reserved": 1')"),
		\"huge\": $(mock_file 0 "{\"file_size\": $(printf '%u' $big), \"ext_type\": 0, \"extents\": [{\"off\": 0, \"len\": $(printf '%u' $big)}]}"),
		\"short\": $(mock_file $((16 * MiB)) "$(mock_simple $((16 * MiB)) $MOCK_BASE $((8 * MiB)))")}")
	if mock_start "$spec"; then
		check "fix 4: a valid interleaved map reads right" [ "$(sha_of $MOCK_MNT/striped)" = "$MOCK_SHA_STRIPED" ]
		for f in partial-chunk hdr-reserved ext-reserved iext-reserved huge short; do
			check "fix 4: open refused for a map with $f" sh -c "! cat $MOCK_MNT/$f >/dev/null 2>&1"
		done
		check "fix 4: bad maps are logged ('bad GET_FMAP reply')" \
			[ "$(dmesg | grep -c 'bad GET_FMAP reply')" -ge 6 ]
		check "fix 4: no READ reached the server" [ "$(count_in READ $S/mock-validation.log)" = 0 ]
		mock_stop
	else
		fail "fix 4: mock server"
	fi

	say "kernel fix 6: CREATE and TMPFILE fetch the map before the open completes"
	spec=$(mock_spec create /dev/dax0.0 "{}" "\"create\": $(mock_file $((8 * MiB)) "$good8")")
	if mock_start "$spec"; then
		out=$($PY - $MOCK_MNT <<'EOF' 2>&1
import hashlib, os, sys
fd = os.open(sys.argv[1] + "/new", os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
a = hashlib.sha256(os.pread(fd, 8 << 20, 0)).hexdigest()
try:
    t = os.open(sys.argv[1], os.O_TMPFILE | os.O_RDWR, 0o600)
    b = hashlib.sha256(os.pread(t, 8 << 20, 0)).hexdigest()
except OSError as e:
    b = "tmpfile-error-%d" % e.errno
print(a, b)
EOF
)
		read -r sha_c sha_t <<<"$out"
		log=$S/mock-create.log
		check "fix 6: CREATE is followed by GET_FMAP for the new file" \
			sh -c "grep -A3 '^CREATE ' $log | grep -q '^GET_FMAP '"
		check "fix 6: the created file reads the mapped memory (DAX, no READ)" \
			sh -c "[ '$sha_c' = $MOCK_SHA_GOOD8 ] && [ \"\$(grep -c '^READ ' $log)\" = 0 ]"
		check "fix 6: TMPFILE is followed by GET_FMAP and reads the mapped memory ($sha_t)" \
			sh -c "[ '$sha_t' = $MOCK_SHA_GOOD8 ] && grep -A3 '^TMPFILE ' $log | grep -q '^GET_FMAP '"
		mock_stop
	else
		fail "fix 6: mock server"
	fi
	spec=$(mock_spec create-refused /dev/dax0.0 "{}")
	if mock_start "$spec"; then
		check "fix 6: a refused CREATE fails the open and leaves no file" \
			sh -c "! touch $MOCK_MNT/nope 2>/dev/null && [ ! -e $MOCK_MNT/nope ]"
		mock_stop
	else
		fail "fix 6: mock server (refused create)"
	fi
}
