#!/bin/bash
# .meta/.superblock and .meta/.log through a real compat-mode mount (issue 9):
# they are the device's superblock and log regions, root-only, and only the
# owner's root can open the log for writing. Run as root (ctest -L integration).
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

it_workdir

DEV=$W/famfs0
M=$W/mnt
C=$W/client
mkdir -p "$M" "$C"
chmod 755 "$W"

"$FAMFS" mkfs --emulate 3G "$DEV" >/dev/null || { echo "FAIL: mkfs"; exit 1; }
"$FAMFS" --device "$DEV" creat -s 3M -S 11 before >/dev/null
check "owner mount" mount_famfs "$DEV" "$M"
FAMFS_SYSTEM_UUID_FILE=$CLIENT_UUID check "client mount" mount_famfs "$DEV" "$C"

# ---- names and modes, as upstream's mkmeta makes them -------------------------------
check "ls -a of the root lists .meta" bash -c "ls -a '$M' | grep -qx .meta"
check "plain ls hides it (a dot name)" bash -c "! ls '$M' | grep -qx .meta"
check ".meta lists .superblock and .log" \
    bash -c "[ \"\$(ls -a '$M/.meta' | tr '\n' ' ')\" = '. .. .log .superblock ' ]"
check ".meta is root's, 0700" [ "$(stat -c %U:%a:%F "$M/.meta")" = "root:700:directory" ]
check ".superblock: 0444, 2 MiB" [ "$(stat -c %a:%s "$M/.meta/.superblock")" = "444:2097152" ]
check ".log: 0644 on the owner, the log's length" \
    [ "$(stat -c %a:%s "$M/.meta/.log")" = "644:8388608" ]
check ".log: 0444 on a client" [ "$(stat -c %a "$C/.meta/.log")" = "444" ]

# ---- contents: the device's regions ----------------------------------------------------
check ".superblock reads the device's first 2 MiB" \
    cmp <(head -c 2M "$DEV") "$M/.meta/.superblock"
check ".log reads the device's log region" \
    cmp <(tail -c +$((2 * 1024 * 1024 + 1)) "$DEV" | head -c 8M) "$M/.meta/.log"
"$FAMFS" creat -s 2M -S 12 "$M/after" >/dev/null
check "a creat through the mount shows in .meta/.log at once" \
    cmp <(tail -c +$((2 * 1024 * 1024 + 1)) "$DEV" | head -c 8M) "$M/.meta/.log"
check "client: .log is the same bytes" cmp "$M/.meta/.log" "$C/.meta/.log"

# ---- who may write -------------------------------------------------------------------------
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
check_fails "non-root cannot read .meta/.superblock" "${NOBODY[@]}" cat "$M/.meta/.superblock"
check_fails "non-root cannot open .meta/.log for writing" \
    "${NOBODY[@]}" bash -c "exec 3>>'$M/.meta/.log'"
check_fails "root on a client cannot open .meta/.log for writing" \
    bash -c "exec 3>>'$C/.meta/.log'"
out=$(bash -c "exec 3<>'$C/.meta/.log'" 2>&1)
check "  ... with EROFS ($out)" bash -c "[[ '$out' == *'Read-only file system'* ]]"
check_fails "root cannot open .meta/.superblock for writing" \
    bash -c "exec 3<>'$M/.meta/.superblock'"
check_fails "chmod of .meta/.log refused" chmod 666 "$M/.meta/.log"
check "root on the owner may open .meta/.log for writing (the CLI's append path)" \
    bash -c "exec 3<>'$M/.meta/.log'"
check "fsck of the mounted filesystem is clean" "$FAMFS" fsck "$M"

# ---- libfamfs through the mount (what the CLI does on an fsdev_dax device) --------
"$FAMFS" creat -s 7M -S 21 -N 2 -B 2 -C 2m "$M/striped" >/dev/null
if [ -n "${THROUGH_MOUNT_CHECK:-}" ]; then
    check "superblock, log and a striped file's data reached through .meta and the mount" \
        "$THROUGH_MOUNT_CHECK" "$DEV" "$M" striped 21
    check "... and a simple file's" "$THROUGH_MOUNT_CHECK" "$DEV" "$M" before 11
    check_fails "... and a wrong seed is caught" "$THROUGH_MOUNT_CHECK" "$DEV" "$M" before 12
    check "opened for appending through the owner's mount (as famfs creat does)" \
        "$THROUGH_MOUNT_CHECK" --write "$DEV" "$M"
    # A client's mount serves .meta/.log read-only (EROFS): the CLI must say
    # why in the words a raw device's client refusal uses, not "cannot open
    # .../.meta/.log: Read-only file system".
    out=$(FAMFS_SYSTEM_UUID_FILE=$CLIENT_UUID "$THROUGH_MOUNT_CHECK" --write "$DEV" "$C" 2>&1)
    says_client() { [[ $out == *"this host is a client of $DEV"* && $out == *"only the owner host"* && $(wc -l <<<"$out") == 1 ]]; }
    check "appending through a client's mount refused in one line naming the client role ($out)" says_client
    mkdir -p "$W/ro"
    check "read-only mount (-o ro)" mount_famfs "$DEV" "$W/ro" -o ro
    out=$("$THROUGH_MOUNT_CHECK" --write "$DEV" "$W/ro" 2>&1)
    says_ro() { [[ $out == *"mounted read-only"* && $(wc -l <<<"$out") == 1 ]]; }
    check "appending through a -o ro mount refused in one line saying so ($out)" says_ro
fi

summary
