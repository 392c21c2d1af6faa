# shellcheck shell=bash
# The shell test suites' one library (sourced): PASS/FAIL/SKIP lines, their
# count, and the closing line "N passed, M failed".
#   pass TEXT                 one passed check
#   fail TEXT                 one failed check
#   skip TEXT                 one check that cannot run here (printed, not counted)
#   check TEXT CMD...         PASS when CMD exits 0, else FAIL; returns CMD's status
#   check_fails TEXT CMD...   PASS when CMD fails (within 20 s), else FAIL
#   summary                   prints "N passed, M failed"; false if any failed
# Suites that report somewhere else too (the VM guests write a results file
# the host counts) set these after sourcing:
#   CHECK_TAG=TEXT            prefixed to every result text, e.g. "[A]"
#   check_record STATUS TEXT  called for every result; the default does nothing
#   CHECK_WRAP=FUNC           check runs "FUNC CMD..." (e.g. a time limit)
#   CHECK_LOG=FILE            check appends CMD's output to FILE instead of
#                             printing it, and quotes its start in the FAIL line
PASSED=0
FAILED=0
CHECK_TAG=${CHECK_TAG:-}
CHECK_WRAP=${CHECK_WRAP:-}
CHECK_LOG=${CHECK_LOG:-}

check_record() { :; }
_check_result() { # STATUS TEXT
    local text=${CHECK_TAG:+$CHECK_TAG }$2
    echo "$1: $text"
    check_record "$1" "$text"
}
pass() {
    _check_result PASS "$*"
    PASSED=$((PASSED + 1))
    return 0
}
fail() {
    _check_result FAIL "$*"
    FAILED=$((FAILED + 1))
    return 0
}
skip() {
    _check_result SKIP "$*"
    return 0
}
check() {
    local what=$1 out rc
    shift
    if [ -n "$CHECK_LOG" ]; then
        out=$($CHECK_WRAP "$@" 2>&1)
        rc=$?
        printf '%s\n' "$out" >>"$CHECK_LOG"
    else
        $CHECK_WRAP "$@"
        rc=$?
    fi
    if [ "$rc" -eq 0 ]; then
        pass "$what"
    elif [ -n "$CHECK_LOG" ]; then
        fail "$what (exit $rc: $(printf '%s' "$out" | tr '\n' ' ' | cut -c1-300))"
    else
        fail "$what (exit $rc)"
    fi
    return "$rc"
}
check_fails() {
    local what=$1
    shift
    if timeout 20 "$@"; then fail "$what (unexpectedly succeeded)"; else pass "$what"; fi
}
summary() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
