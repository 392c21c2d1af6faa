#!/usr/bin/env bash
# Builds the project with a sanitizer preset (CMakePresets.json) and runs the
# suites that need no kernel or VM under it:
#   sanitize.sh asan   ASan+UBSan: unit tests, CLI tests, corruption sweep
#   sanitize.sh tsan   TSan: the daemon's unit tests
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
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
case $preset in
  asan)
    targets=(famfs_unit_tests famfs-cli famfs_corruption_sweep)
    tests='^(libfamfs_unit|cli_integration|reliability_corruption_sweep)$'
    ;;
  tsan)
    targets=(famfs_daemon_unit_tests)
    tests='^daemon_unit$'
    ;;
  *) echo "sanitize: unknown preset $preset" >&2; exit 2 ;;
esac
echo "sanitize: building ${targets[*]} ($(nproc) jobs; several minutes on 2 cores)"
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >"$build/sanitize-build.log" 2>&1 ||
  { tail -40 "$build/sanitize-build.log"; exit 1; }
echo "sanitize: running $tests under $preset"
cd "$build"
ctest --output-on-failure -R "$tests"
