#!/bin/bash
# Fetch Debian's linux-source-7.3 (trixie-backports) into a cache outside the
# repository and unpack it. Uses a private apt configuration: the system's
# sources.list, lists and cache are not touched.
#
#   FAMFS_KERNEL_CACHE   cache dir (default /var/cache/famfs-kernel)
#   FAMFS_KERNEL_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#
# Result: $FAMFS_KERNEL_CACHE/linux-source-7.3/ (pristine tree; build.sh copies it).
set -euo pipefail

CACHE=${FAMFS_KERNEL_CACHE:-/var/cache/famfs-kernel}
MIRROR=${FAMFS_KERNEL_MIRROR:-http://deb.debian.org/debian}
PKG=linux-source-7.3
SUITE=trixie-backports

mkdir -p "$CACHE"
cd "$CACHE"
if [ -f "$PKG/.unpacked" ]; then
	echo "fetch-source: $CACHE/$PKG already unpacked"
	exit 0
fi

APT="$CACHE/apt"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
echo "deb $MIRROR $SUITE main" >"$APT/sources.list"
aptopts=(-o Dir::Etc::sourcelist="$APT/sources.list" -o Dir::Etc::sourceparts=-
	-o Dir::State::lists="$APT/lists" -o Dir::Cache="$APT/cache"
	-o Dir::State::status=/dev/null -o APT::Get::List-Cleanup=0)

if ! ls "$CACHE"/${PKG}_*.deb >/dev/null 2>&1; then
	apt-get "${aptopts[@]}" update
	apt-get "${aptopts[@]}" download "$PKG"
fi
deb=$(ls "$CACHE"/${PKG}_*.deb | sort -V | tail -1)
echo "fetch-source: unpacking $deb"

rm -rf deb-extract "$PKG"
mkdir deb-extract
dpkg-deb -x "$deb" deb-extract
tarball=$(ls deb-extract/usr/src/${PKG}.tar.* | head -1)
tar -xf "$tarball"
rm -rf deb-extract
test -f "$PKG/Makefile"
touch "$PKG/.unpacked"
echo "fetch-source: $(make -s -C "$PKG" kernelversion) in $CACHE/$PKG"
