# shellcheck shell=bash
# Checks of famfs-proof lines (fuse-patches/famfs-proof.py), for the VM tests'
# host side. Sourced after test/lib/check.sh (pass/fail come from there).
#   proof_field LINE KEY                   the value of KEY=... in LINE
#   check_famfs_proof WHO LINE BYTES SHA   famfs mode: BYTES bytes, sha256 SHA,
#       0 daemon requests, minflt <= 2 x (BYTES / 2 MiB) + 64 (PMD faults),
#       2 MiB aligned mapping
#   check_compat_proof WHO LINE BYTES SHA  compat mode: BYTES bytes, sha256 SHA,
#       the daemon served the data (daemon_requests > 0)
# An empty LINE (the guest printed none) is one FAIL.
# fuse-patches/proof-check-test.sh shows each claim can fail.

proof_field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }

_proof_common() { # WHO LINE BYTES SHA MODE; 1 when there is no line to check
	local who=$1 line=$2 bytes=$3 sha=$4 mode=$5 got
	case $line in
	"famfs-proof mode=$mode guest="*) ;;
	*)
		fail "$who: no famfs-proof line for mode=$mode (got '${line:0:120}')"
		return 1
		;;
	esac
	got=$(proof_field "$line" bytes)
	if [ "$got" = "$bytes" ]; then pass "$who: $mode proof covers $bytes bytes"; else
		fail "$who: $mode proof covers '$got' bytes, not $bytes"; fi
	got=$(proof_field "$line" sha256)
	if [ -n "$sha" ] && [ "$got" = "$sha" ]; then pass "$who: $mode proof sha256 ${got:0:16}... equals the reference"; else
		fail "$who: $mode proof sha256 '$got' differs from the reference '$sha'"; fi
	return 0
}

check_famfs_proof() { # WHO LINE BYTES SHA
	local who=$1 line=$2 bytes=$3 got limit
	_proof_common "$1" "$2" "$3" "$4" famfs || return 0
	got=$(proof_field "$line" daemon_requests)
	if [ "$got" = 0 ]; then pass "$who: famfs proof: 0 daemon requests during the 1 GiB touch loop"; else
		fail "$who: famfs proof: daemon_requests=$got during the touch loop (want 0)"; fi
	got=$(proof_field "$line" minflt)
	limit=$((2 * bytes / (2 << 20) + 64))
	if [ -n "$got" ] && [ "$got" -le "$limit" ] 2>/dev/null; then
		pass "$who: famfs proof: minflt $got <= 2 x (size / 2 MiB) + 64 = $limit (PMD faults)"; else
		fail "$who: famfs proof: minflt '$got' > 2 x (size / 2 MiB) + 64 = $limit (not PMD faults)"; fi
	got=$(proof_field "$line" addr_2m_aligned)
	if [ "$got" = 1 ]; then pass "$who: famfs proof: the mapping address is 2 MiB aligned"; else
		fail "$who: famfs proof: addr_2m_aligned=$got (want 1)"; fi
}

check_compat_proof() { # WHO LINE BYTES SHA
	local who=$1 line=$2 got
	_proof_common "$1" "$2" "$3" "$4" compat || return 0
	got=$(proof_field "$line" daemon_requests)
	if [ -n "$got" ] && [ "$got" -gt 0 ] 2>/dev/null; then
		pass "$who: compat proof: the daemon served the data (daemon_requests=$got)"; else
		fail "$who: compat proof: daemon_requests='$got' (the daemon must serve compat reads)"; fi
}
