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
    local _check_text=${CHECK_TAG:+$CHECK_TAG }$2
    echo "$1: $_check_text"
    check_record "$1" "$_check_text"
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
    # Underscored locals: CMD may be a function of the suite that reads its
    # own globals (a local "out" here would hide the suite's "out").
    local _check_what=$1 _check_out _check_rc
    shift
    if [ -n "$CHECK_LOG" ]; then
        _check_out=$($CHECK_WRAP "$@" 2>&1)
        _check_rc=$?
        printf '%s\n' "$_check_out" >>"$CHECK_LOG"
    else
        $CHECK_WRAP "$@"
        _check_rc=$?
    fi
    if [ "$_check_rc" -eq 0 ]; then
        pass "$_check_what"
    elif [ -n "$CHECK_LOG" ]; then
        fail "$_check_what (exit $_check_rc: $(printf '%s' "$_check_out" | tr '\n' ' ' | cut -c1-300))"
    else
        fail "$_check_what (exit $_check_rc)"
    fi
    return "$_check_rc"
}
check_fails() {
    local _check_what=$1
    shift
    if timeout 20 "$@"; then fail "$_check_what (unexpectedly succeeded)"; else pass "$_check_what"; fi
}
# wait_for SECONDS CMD...: runs CMD every 0.2 s until it succeeds (0) or
# SECONDS have passed (1). CMD's stderr is dropped.
wait_for() {
    local _n=$(($1 * 5))
    shift
    while [ "$_n" -gt 0 ]; do
        "$@" 2>/dev/null && return 0
        sleep 0.2
        _n=$((_n - 1))
    done
    return 1
}
summary() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
