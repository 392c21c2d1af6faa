#!/usr/bin/env bash
# Builds the Debian packages (famfs, libfamfs0, libfamfs-dev) from this
# checkout's working tree with dpkg-buildpackage, outside the repository:
#
#   scripts/build-packages.sh [--lintian] [OUTDIR]
#
# OUTDIR defaults to /var/cache/famfs-deb. The tree is copied to OUTDIR/src
# (build directories left out), built there with ccache, and the .deb files
# land in OUTDIR; their paths are printed one per line on stdout, last.
# --lintian also runs lintian on the result and fails on any error.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
lint=0
if [[ ${1:-} == --lintian ]]; then lint=1; shift; fi
out=${1:-/var/cache/famfs-deb}

log() { echo "build-packages: $*" >&2; }
need=(dpkg-dev debhelper fakeroot rsync)
((lint)) && need+=(lintian)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
mkdir -p "$out"
rm -f "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
# A fixed path keeps ccache's entries valid from one run to the next.
rsync -a --delete --exclude='/build*/' --exclude='/obj-*/' --exclude='/.git/' \
  --exclude='/cmake-build-*/' "$src/" "$out/src/"
log "dpkg-buildpackage $version in $out/src"
start=$(date +%s)
(cd "$out/src" &&
  FAMFS_CCACHE=$(command -v ccache >/dev/null && echo 1) CCACHE_BASEDIR="$out" \
  CCACHE_NOHASHDIR=1 DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1) || {
  tail -40 "$out/build.log" >&2
  log "FAILED; full log in $out/build.log"
  exit 1
}
log "built in $(($(date +%s) - start)) s"
if ((lint)); then
  log "lintian"
  lintian --fail-on error \
    "$out"/*.changes >&2
fi
ls -1 "$out"/*.deb  # with -dbgsym packages (debug symbols)
