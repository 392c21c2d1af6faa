# shellcheck shell=bash
# Shared helpers for the famfs VM harness (sourced by test/vm/run).

log() { printf '[vm %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[vm] ERROR: %s\n' "$*" >&2; exit 2; }

# Seconds since the harness started (for timings in the report).
elapsed() { echo $((SECONDS - ${HARNESS_T0:-0})); }
