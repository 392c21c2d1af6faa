#!/usr/bin/env bash
# Builds the project with a sanitizer preset (CMakePresets.json) and runs the
# suites that need no kernel or VM under it:
#   sanitize.sh asan   ASan+UBSan: libfamfs and daemon unit tests, CLI tests,
#                      the corruption sweep, and the mount tests against an
#                      ASan daemon (integration_mount, reliability_device_change)
#   sanitize.sh tsan   TSan: the daemon's unit tests and the mount tests (those
#                      two and reliability_mount_races: session threads +
#                      refresher); not in CI (a third full build), run by hand
# A backgrounded daemon's stderr is /dev/null, so reports go to files
# (log_path) and any report file fails the run.
# Any sanitizer report fails the run (halt_on_error / -fno-sanitize-recover).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
preset=${1:-asan}
build=$src/build-$preset
cd "$src"
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$src")} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
fi
extra=()
[[ -n ${FAMFS_GOLDEN_DIR:-} ]] && extra+=(-DFAMFS_GOLDEN_DIR="$FAMFS_GOLDEN_DIR")
echo "sanitize: configuring preset $preset in $build"
cmake --preset "$preset" "${launcher[@]}" "${extra[@]}" >/dev/null
reports=$build/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:abort_on_error=1:log_path=$reports/asan}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:log_path=$reports/tsan}
# The mount tests against the sanitized daemon. CI (asan) runs the two that
# reach the most daemon code in the least time; tsan (by hand) all three.
mounts='integration_mount|reliability_device_change'
[[ $preset == tsan ]] && mounts+='|reliability_mount_races'
mount_targets=(famfs-fused famfs-cli famfs-iocheck)
case $preset in
  asan)
    targets=(famfs_unit_tests famfs_daemon_unit_tests famfs_corruption_sweep "${mount_targets[@]}")
    tests="^(libfamfs_unit|daemon_unit|cli_integration|reliability_corruption_sweep|$mounts)\$"
    ;;
  tsan)
    targets=(famfs_daemon_unit_tests "${mount_targets[@]}")
    tests="^(daemon_unit|$mounts)\$"
    ;;
  *) echo "sanitize: unknown preset $preset" >&2; exit 2 ;;
esac
echo "sanitize: building ${targets[*]} ($(nproc) jobs; several minutes on 2 cores)"
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >"$build/sanitize-build.log" 2>&1 ||
  { tail -40 "$build/sanitize-build.log"; exit 1; }
echo "sanitize: running $tests under $preset"
cd "$build"
rc=0
ctest --output-on-failure -R "$tests" || rc=$?
if compgen -G "$reports/*" >/dev/null; then
  echo "sanitize: sanitizer reports (from a daemon or a CLI process):"
  head -60 "$reports"/*
  rc=1
else
  echo "sanitize: no sanitizer report from any process"
fi
exit $rc
