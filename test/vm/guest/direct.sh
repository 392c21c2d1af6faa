# S6: direct access (libfamfs-direct.so, `famfs run`) on a real /dev/dax0.0
# under Debian's stock 6.1 kernel. Sourced by guest.sh in guest B (the
# client) after S3, with B's mount up; uses guest.sh's helpers (check, pass,
# fail, skip, T, famfs, vmtool, $MNT, $SYNC, $OUT). The host's test/vm/run
# copies this file, the library and famfs-direct-check beside guest.sh.
#
# B reads A's files with programs that know nothing about famfs (vmtool's
# mmap checksum, cat's read()) under famfs run: the checksums must equal A's
# manifest, the library must report direct service and no fallback, and B's
# daemon must see no READ request. Then data is written from a direct
# mapping of the device into a pipe and a tmpfs file (write(fd, mapped_ptr, n)): the kernel copies from device pages it
# does not own (the zero-copy reply oops was the kernel *pinning* such pages).

s6_reads() { # the daemon's READ request count
    T getfattr --absolute-names --only-values -n user.famfs.stats "$MNT" 2>/dev/null |
        sed -n 's/.*"read":\([0-9]*\).*/\1/p'
}

s6_direct_client() {
    SCENARIO=S6
    local here lib chk st r0 r1 rel seed sum size got gsize n=0 bad=() out
    here=$(dirname "$0")
    lib=$here/libfamfs-direct.so
    chk=$here/famfs-direct-check
    if [[ ! -f $lib || ! -x $chk ]]; then
        skip "libfamfs-direct.so or famfs-direct-check not staged (build the project)"
        return
    fi
    export FAMFS_DIRECT_LIB=$lib
    local dmesg0
    dmesg0=$(dmesg | wc -l)
    st=$OUT/direct.stats
    : >"$st"
    # The compat view of cat, for the read() comparison below (through the daemon).
    declare -A compat_sum
    while read -r rel seed sum size; do
        compat_sum[$rel]=$(T cat "$MNT/$rel" | md5sum | cut -d' ' -f1)
    done <"$SYNC/manifest1"

    r0=$(s6_reads)
    while read -r rel seed sum size; do
        n=$((n + 1))
        read -r got gsize _ < <(T "$FAMFS_BIN" run --stats "$st" -- "$VMTOOL" sum "$MNT/$rel" 2>&1) || got=ERROR
        [[ $got == "$sum" && $gsize == "$size" ]] || bad+=("mmap $rel(want $sum got $got)")
        got=$(T "$FAMFS_BIN" run --stats "$st" -- cat "$MNT/$rel" | md5sum | cut -d' ' -f1)
        [[ $got == "${compat_sum[$rel]}" ]] || bad+=("read $rel")
    done <"$SYNC/manifest1"
    r1=$(s6_reads)
    if [[ ${#bad[@]} -eq 0 && $n -gt 0 ]]; then
        pass "famfs run: vmtool's mmap checksums of all $n files equal A's, cat's read() equals the compat view"
    else
        fail "famfs run checksums differ: ${bad[*]:-<empty manifest>}"
    fi
    out=$(python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(sum(r["maps_direct"] for r in rows), sum(r["reads_direct"] for r in rows),
      sum(sum(r["fallback_reasons"].values()) for r in rows))' "$st" 2>&1)
    read -r maps reads fbs <<<"$out"
    if [[ ${maps:-0} -ge $n && ${reads:-0} -gt 0 && ${fbs:-1} -eq 0 ]]; then
        pass "served from /dev/dax0.0 directly: $maps maps, $reads reads, 0 fallbacks"
    else
        fail "library counters: maps $maps reads $reads fallbacks $fbs ($(oneline "$(cat "$st")"))"
    fi
    if [[ -n $r0 && $r0 == "$r1" ]]; then
        pass "B's daemon served no READ during the famfs run reads ($r0 -> $r1)"
    else
        fail "B's daemon READ counter moved: $r0 -> $r1"
    fi

    # write(fd, mapped_ptr, n) from a direct devdax mapping: a pipe, a tmpfs file.
    check "write(pipe|tmpfs file, direct devdax mapping): bytes intact, no oops" \
        "$FAMFS_BIN" run -- "$chk" pipe "$MNT/dir1/nine-meg.bin" 14
    if dmesg | tail -n +"$((dmesg0 + 1))" | grep -iE "BUG:|Oops|general protection"; then
        fail "the kernel logged an oops during S6"
    else
        pass "no kernel oops during S6"
    fi
}
