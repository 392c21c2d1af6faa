#!/usr/bin/env bash
# Configures and builds into build/ (or $FAMFS_BUILD_DIR). Extra arguments go
# to cmake's configure step.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${FAMFS_BUILD_DIR:-$src/build}
launcher=()
# ccache (installed by install-deps.sh) keeps objects outside the repo, so a
# rebuild on the same machine, or of another checkout, recompiles only what
# changed. CCACHE_BASEDIR and NOHASHDIR let checkouts in other folders (a CI
# clone) share entries; the cost is debug info naming the first checkout.
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$src")} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
fi
cmake -S "$src" -B "$build" -DFAMFS_WERROR=ON "${launcher[@]}" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
