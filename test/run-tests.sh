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

# The patched kernel (ctest famfs_kernel_build, label kernel-vm) is the
# longest build: 10-15 min of both cores when nothing is cached. Start it now,
# at nice 19, so it takes the CPU the project build, the package build and
# the sleeping suites leave idle, and downloads Linux's source while the
# compilers run. ctest's famfs_kernel_build then waits for it on build.sh's
# lock (printing a line a minute) and finds the image; with the image cached
# this takes < 1 s.
kernel_bg=''
if [[ -z ${FAMFS_TEST_LABELS:-} || kernel-vm =~ ${FAMFS_TEST_LABELS} ]] &&
   [[ ${FAMFS_KERNEL_BACKGROUND:-1} != 0 ]]; then
  kernel_log=${TMPDIR:-/tmp}/famfs-kernel-build.$$.log
  echo "run-tests: building the patched kernel in the background (nice 19); log: $kernel_log"
  setsid nice -n 19 "$src/fuse-patches/build.sh" >"$kernel_log" 2>&1 &
  kernel_bg=$!
  # Stop it (and its make) if this script ends first (a failed build, ^C).
  trap '[[ -n $kernel_bg ]] && kill -- -"$kernel_bg" 2>/dev/null || true' EXIT
fi
"$src/scripts/build.sh"
# The Debian packages built from this tree are installed too, so `mount -t
# famfs`, fstab, the systemd unit, man and completion are tested the way
# users get them (the `package` suite checks the packages themselves).
echo "run-tests: building and installing the Debian packages"
"$src/scripts/install-packages.sh"
cd "$build"
args=(--output-on-failure --timeout 1500)
[[ -n ${FAMFS_TEST_LABELS:-} ]] && args+=(-L "$FAMFS_TEST_LABELS")
ctest "${args[@]}"
