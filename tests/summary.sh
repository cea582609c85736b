#!/bin/sh
# Adds up the cmocka results in the test logs under $1 and prints one line:
# "N passed, M failed". A test program that failed without a cmocka verdict
# (a crash, a sanitizer report, a stack that did not start) counts as one
# failure. Exits 1 when anything failed or nothing ran.
dir=${1:-tests}
passed=0
failed=0
for log in $(find "$dir" -name '*.log' ! -name test-suite.log | sort); do
    trs=${log%.log}.trs
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\.$/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:$/\1/p' "$log" |
        awk '{s+=$1} END {print s+0}')
    if [ -f "$trs" ] && grep -Eq '^:test-result: (FAIL|ERROR)' "$trs" && [ "$f" -eq 0 ]; then
        f=1
    fi
    # a script test without cmocka output counts as one test
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ -f "$trs" ] && grep -q '^:test-result: PASS' "$trs"; then
        p=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
