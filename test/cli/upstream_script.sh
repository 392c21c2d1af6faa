#!/bin/bash
# An upstream famfs user's script, in upstream's spellings (famfs-cli-reference
# and famfs_cli.c): mkfs.famfs --loglen, famfs mount, creat -r -S and
# --multi FILE,SIZE[,SEED], verify -S -f and -m FILE,SEED, cp -m, getmap -q,
# fsck of the mount point, umount. cli_test.sh runs it unchanged with the
# build's famfs and mkfs.famfs first in $PATH.
#
#   upstream_script.sh DEVICE MOUNTPOINT SRCFILE
set -euo pipefail
DEV=$1
MPT=$2
SRC=$3

mkfs.famfs -f --loglen 16m "$DEV"
famfs mount "$DEV" "$MPT"
famfs mkdir -p "$MPT/test/sub"
famfs creat -r -S 1 -s 4M "$MPT/test/f1"
famfs verify -S 1 -f "$MPT/test/f1"
famfs creat -s 4M -r -S 1 "$MPT/test/f1"          # again, same size: a no-op
famfs creat --multi "$MPT/test/m1,2M,11" --multi "$MPT/test/m2,4M,12" --multi "$MPT/test/m3,1M"
famfs verify -m "$MPT/test/m1,11" -m "$MPT/test/m2,12"
famfs creat -s 64M -N 4 -B 4 -C 2M -r -S 7 "$MPT/test/striped"
famfs verify -S 7 -f "$MPT/test/striped"
famfs cp -m 0600 "$SRC" "$MPT/test/sub/copy"
famfs cp -r -m 0640 "$(dirname "$SRC")" "$MPT/test/tree"
famfs getmap -q "$MPT/test/sub/copy"
famfs getmap "$MPT/test/m1" >/dev/null
famfs logplay "$MPT" >/dev/null
famfs fsck "$MPT"
cmp "$SRC" "$MPT/test/sub/copy"
stat -c %a "$MPT/test/sub/copy"
umount "$MPT"
