#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs dependencies, builds
# with warnings as errors, and runs every ctest suite: unit, cli, daemon
# integration, multi-host, scripted kernel and the two-VM harness.
# Select suites with ctest labels, e.g. FAMFS_TEST_LABELS='unit|cli'.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${FAMFS_BUILD_DIR:-$src/build}
export FAMFS_BUILD_DIR=$build

if [[ $(id -u) -ne 0 ]]; then
  echo "run-tests: the tests mount FUSE filesystems and use namespaces; run as root" >&2
  exit 1
fi
"$src/scripts/install-deps.sh"
"$src/scripts/build.sh"
# Installed too, so `mount -t famfs`, fstab and the systemd unit are tested
# the way users run them (mount(8) looks for /sbin/mount.famfs).
cmake --install "$build" >/dev/null
ln -sf /usr/local/sbin/mount.famfs /sbin/mount.famfs
cd "$build"
args=(--output-on-failure --timeout 1500)
[[ -n ${FAMFS_TEST_LABELS:-} ]] && args+=(-L "$FAMFS_TEST_LABELS")
ctest "${args[@]}"
