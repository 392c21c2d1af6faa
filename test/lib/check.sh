# The shell test suites' one library (sourced): PASS/FAIL lines, their count,
# and the closing line "N passed, M failed".
#   pass TEXT                 one passed check
#   fail TEXT                 one failed check
#   check TEXT CMD...         PASS when CMD exits 0, else FAIL
#   check_fails TEXT CMD...   PASS when CMD fails (within 20 s), else FAIL
#   summary                   prints "N passed, M failed"; false if any failed
PASSED=0
FAILED=0

pass() {
    echo "PASS: $*"
    PASSED=$((PASSED + 1))
    return 0
}
fail() {
    echo "FAIL: $*"
    FAILED=$((FAILED + 1))
    return 0
}
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
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
