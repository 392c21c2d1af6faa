#!/bin/bash
# Build a Linux 7.3 bzImage with the famfs FUSE series applied.
#
#   fuse-patches/fetch-source.sh      # once: Debian's linux-source-7.3
#   fuse-patches/build.sh             # apply series, configure, make bzImage
#
# Layout under $FAMFS_KERNEL_CACHE (default /var/cache/famfs-kernel):
#   linux-source-7.3/   pristine tree (fetch-source.sh)
#   src/                git working copy: pristine commit + the series applied
#   obj/                out-of-tree objects (O=), reused across builds, so a
#                       change to fs/fuse only rebuilds what depends on it
#   images/<hash>/      bzImage + .config, keyed by the hash of the series,
#                       famfs.config and this script
#
#   $FAMFS_KERNEL_CCACHE_DIR (default $FAMFS_KERNEL_CACHE/ccache): compiler
#                       cache used when ccache is installed, through its gcc
#                       masquerade directory, so the kernel's command lines
#                       (and thus obj/'s up-to-date checks) do not change
#
# Time budget (2 cores): a fresh build is ~10 min idle and up to 45 min on a
# busy machine; after a change to the series 1-3 min (obj/ is reused); with
# the image cached < 1 s. While make runs, a progress line every minute.
#
# Prints the path of the bzImage on the last line of stdout.
# Env: FAMFS_KERNEL_JOBS (default 2), FAMFS_KERNEL_FORCE=1 to ignore the cache,
#      FAMFS_KERNEL_CCACHE=0 to build without ccache, FAMFS_KERNEL_NICE
#      (default 0) to run make under nice.
#
# One build at a time per cache: a second build.sh (test/run-tests.sh starts
# one in the background, then ctest's famfs_kernel_build runs another) waits
# for the first on $CACHE/.build.lock and then finds its image.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${FAMFS_KERNEL_CACHE:-/var/cache/famfs-kernel}
JOBS=${FAMFS_KERNEL_JOBS:-2}
PRISTINE=$CACHE/linux-source-7.3
SRC=$CACHE/src
OBJ=$CACHE/obj

log() { echo "build: $*" >&2; }

mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
if ! flock -n 9; then
	log "another build.sh holds $CACHE/.build.lock (test/run-tests.sh's background build?); waiting"
	waited=$(date +%s)
	while ! flock -w 60 9; do
		log "... still waiting after $(($(date +%s) - waited)) s ($(find "$CACHE/obj" -name '*.o' \
			-newer "$CACHE/obj/.build-start" 2>/dev/null | wc -l) objects built so far; log $CACHE/obj/build.log)"
	done
	log "lock taken after $(($(date +%s) - waited)) s"
fi

[ -f "$PRISTINE/.unpacked" ] || "$HERE/fetch-source.sh" >&2

mapfile -t patches < <(grep -v '^\s*#' "$HERE/series" | grep -v '^\s*$')
hash=$( (cd "$HERE" && cat series famfs.config build.sh "${patches[@]}") | sha256sum | cut -c1-16)
IMG=$CACHE/images/$hash
if [ -z "${FAMFS_KERNEL_FORCE:-}" ] && [ -f "$IMG/bzImage" ]; then
	log "cached image for series $hash"
	echo "$IMG/bzImage"
	exit 0
fi

# A git working copy of the pristine tree: reset to the pristine commit, then
# apply the series. git only rewrites files that differ, so unchanged sources
# keep their mtimes and make (O=obj) rebuilds only what the series touches.
if [ ! -d "$SRC/.git" ]; then
	log "creating working copy $SRC"
	rm -rf "$SRC"
	cp -a "$PRISTINE" "$SRC"
	rm -f "$SRC/.unpacked"
	git -C "$SRC" init -q
	# No automatic gc: repacking 80,000 files took minutes of CPU on a busy
	# machine, for a repository nobody clones.
	git -C "$SRC" config gc.auto 0
	# Debian's top-level .gitignore ignores everything ("/*"): force.
	git -C "$SRC" add -A -f
	git -C "$SRC" -c user.name=build -c user.email=build@localhost \
		commit -q -m "linux-source-7.3 (Debian) pristine"
fi
git -C "$SRC" reset -q --hard
git -C "$SRC" clean -q -fdx
for p in "${patches[@]}"; do
	log "applying $p"
	git -C "$SRC" apply --whitespace=error-all "$HERE/$p"
done

mkdir -p "$OBJ"
if [ "${FAMFS_KERNEL_CCACHE:-1}" != 0 ] && [ -x /usr/lib/ccache/gcc ]; then
	export PATH=/usr/lib/ccache:$PATH
	export CCACHE_DIR=${FAMFS_KERNEL_CCACHE_DIR:-$CACHE/ccache}
	export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-2G}
	log "compiling through ccache ($CCACHE_DIR)"
fi
# Not niced by default: on a machine busy with other builds, nice 10 left
# the kernel build ~10% of a core (a fresh build took 45+ min that way).
NICE=${FAMFS_KERNEL_NICE:-0}
mk() { nice -n "$NICE" make -C "$SRC" O="$OBJ" ARCH=x86_64 "$@"; }
log "configuring: tinyconfig + famfs.config"
mk -s tinyconfig
"$SRC/scripts/kconfig/merge_config.sh" -m -O "$OBJ" "$OBJ/.config" "$HERE/famfs.config" >/dev/null
mk -s olddefconfig
# merge_config -m does not re-check; report fragment options that did not stick.
missing=0
while read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	if ! grep -qx "$line" "$OBJ/.config"; then
		opt=${line%%=*}
		if [ "$opt" = CONFIG_FUSE_FAMFS_DAX ] && ! grep -q FUSE_FAMFS_DAX "$SRC/fs/fuse/Kconfig"; then
			continue
		fi
		log "WARNING: $line not set (got: $(grep -E "^(# )?$opt[= ]" "$OBJ/.config" || echo absent))"
		missing=1
	fi
done <"$HERE/famfs.config"

start=$(date +%s)
fresh=$([ -f "$OBJ/vmlinux" ] && echo "incremental, 1-3 min" || echo "fresh, 10-45 min")
log "make -j$JOBS bzImage (nice $NICE; $fresh); log: $OBJ/build.log"
touch "$OBJ/.build-start"
mk -j"$JOBS" bzImage >"$OBJ/build.log" 2>&1 &
make_pid=$!
while kill -0 $make_pid 2>/dev/null; do
	for _ in $(seq 60); do kill -0 $make_pid 2>/dev/null && sleep 1; done
	kill -0 $make_pid 2>/dev/null || break
	log "... $(($(date +%s) - start)) s: $(find "$OBJ" -name '*.o' -newer "$OBJ/.build-start" | wc -l) objects built so far"
done
wait $make_pid || {
	grep -E "error|Error" "$OBJ/build.log" | head -30 >&2
	log "FAILED; full log in $OBJ/build.log"
	exit 1
}
log "built in $(($(date +%s) - start)) s"
mkdir -p "$IMG"
cp "$OBJ/arch/x86/boot/bzImage" "$IMG/bzImage"
cp "$OBJ/.config" "$IMG/config"
[ $missing = 0 ] || log "some config options did not stick (see warnings)"
echo "$IMG/bzImage"
