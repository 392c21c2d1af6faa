#!/bin/bash
# Shows that the two-guest test's proof checks (proof-check.sh) can fail:
# a wrong checksum, daemon requests, 4 KiB-sized fault counts, an unaligned
# mapping, a missing line or a compat loop the daemon did not serve each
# give a FAIL; a good line gives none. No VM needed (ctest famfs_proof_check).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../test/lib/check.sh
source "$HERE/../test/lib/check.sh"
# shellcheck source=proof-check.sh
source "$HERE/proof-check.sh"

G=1073741824
SHA=f42c1fc966a3f48db1021d004e45e6cf9c9816466aad5cd6be6b2734a463222a
OTHER=0000000000000000000000000000000000000000000000000000000000000000
line() { # MODE GUEST MINFLT REQS ALIGNED SHA [BYTES]
	echo "famfs-proof mode=$1 guest=$2 bytes=${7:-$G} minflt=$3 daemon_requests=$4 addr_2m_aligned=$5 sha256=$6"
}
failures() { # the number of FAIL lines the checks give
	(
		# shellcheck disable=SC2034 # check.sh's counters, fresh in the subshell
		PASSED=0 FAILED=0
		"$@" >/dev/null
		echo "$FAILED"
	)
}
expect() { # WANT(0|fail) TEXT CMD...
	local want=$1 text=$2 n
	shift 2
	n=$(failures "$@")
	if [ "$want" = 0 ]; then
		if [ "$n" = 0 ]; then pass "$text: no FAIL"; else fail "$text: $n FAIL lines, want none"; fi
	elif [ "$n" -ge 1 ]; then pass "$text: $n FAIL"; else fail "$text: no FAIL, want one"; fi
}

expect 0 "good famfs line" check_famfs_proof B "$(line famfs B 512 0 1 $SHA)" $G $SHA
expect 0 "good famfs line at the fault limit (1088)" check_famfs_proof B "$(line famfs B 1088 0 1 $SHA)" $G $SHA
expect fail "wrong sha256 on B" check_famfs_proof B "$(line famfs B 512 0 1 $OTHER)" $G $SHA
expect fail "no reference sha256 (A printed none)" check_famfs_proof B "$(line famfs B 512 0 1 $SHA)" $G ""
expect fail "daemon_requests=1 on B" check_famfs_proof B "$(line famfs B 512 1 1 $SHA)" $G $SHA
expect fail "daemon_requests=-1 (no stats)" check_famfs_proof B "$(line famfs B 512 -1 1 $SHA)" $G $SHA
expect fail "4 KiB faults (minflt=1089)" check_famfs_proof B "$(line famfs B 1089 0 1 $SHA)" $G $SHA
expect fail "unaligned mapping" check_famfs_proof B "$(line famfs B 512 0 0 $SHA)" $G $SHA
expect fail "short file" check_famfs_proof B "$(line famfs B 512 0 1 $SHA 4096)" $G $SHA
expect fail "no line" check_famfs_proof B "" $G $SHA
expect fail "a compat line where famfs was wanted" check_famfs_proof B "$(line compat B 512 0 1 $SHA)" $G $SHA
expect 0 "good compat line" check_compat_proof B "$(line compat B 15360 1024 1 $SHA)" $G $SHA
expect fail "compat loop the daemon did not serve" check_compat_proof B "$(line compat B 15360 0 1 $SHA)" $G $SHA
expect fail "compat wrong sha256" check_compat_proof B "$(line compat B 15360 1024 1 $OTHER)" $G $SHA
summary
