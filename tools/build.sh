#!/usr/bin/env bash
# Configures and builds into build/ (or $FAMFS_BUILD_DIR). Extra arguments go
# to cmake's configure step.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${FAMFS_BUILD_DIR:-$src/build}
cmake -S "$src" -B "$build" -DFAMFS_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
