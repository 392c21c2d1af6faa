#!/usr/bin/env bash
# Installs famfs-fused from this checkout the way a Debian host gets it: builds
# the packages (scripts/build-packages.sh) and installs them with apt, so
# mount(8), systemd, man and bash completion find everything in the package
# paths. On a system without dpkg it falls back to `cmake --install` of the
# build tree into /usr/local.
#
#   scripts/install-packages.sh [--lintian]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "install-packages: $*" >&2; }

if ! command -v dpkg >/dev/null; then
  build=${FAMFS_BUILD_DIR:-$src/build}
  log "no dpkg: cmake --install $build (prefix /usr/local)"
  cmake --install "$build" >/dev/null
  ldconfig
  exit 0
fi

# Earlier versions of these scripts installed into /usr/local and linked
# /sbin/mount.famfs there; those copies would shadow the packages' programs.
# Only files that say they are famfs-fused's are removed.
ours() { [[ -x $1 ]] && "$1" --version 2>/dev/null | grep -q 'famfs-fused'; }
stale=()
ours /usr/local/bin/famfs && stale+=(/usr/local/bin/famfs /usr/local/sbin/mkfs.famfs)
ours /usr/local/sbin/famfs-fused && stale+=(/usr/local/sbin/famfs-fused /usr/local/sbin/mount.famfs)
grep -qs famfs-fused /usr/local/lib/systemd/system/famfs-fused@.service &&
  stale+=(/usr/local/lib/systemd/system/famfs-fused@.service)
for f in "${stale[@]}"; do
  if [[ -e $f || -L $f ]]; then
    log "removing $f (a /usr/local install of an earlier famfs-fused)"
    rm -f "$f"
  fi
done
if [[ -L /usr/sbin/mount.famfs && $(readlink /usr/sbin/mount.famfs) == /usr/local/* ]]; then
  rm -f /usr/sbin/mount.famfs
fi

mapfile -t debs < <("$src/scripts/build-packages.sh" "$@" | grep '\.deb$' | grep -v -- '-dbgsym_')
log "apt-get install ${debs[*]##*/}"
# --reinstall: the same version rebuilt from a changed tree must replace the
# installed files.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall --allow-downgrades \
  "${debs[@]}" >/dev/null
systemctl daemon-reload 2>/dev/null || true
dpkg-query -W -f='${Package} ${Version}\n' famfs libfamfs0 libfamfs-dev >&2
