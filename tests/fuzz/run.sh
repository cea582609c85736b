#!/bin/sh
# Runs one libFuzzer target for a bounded time, as 'make check' does in a --enable-fuzzing
# build: usage run.sh SECONDS FUZZ_SRCDIR TARGET. The target works on a fresh copy of its
# seed corpus under tests/fuzz/work/NAME/ in the build tree (the source corpus is never
# written) and the run fails on any crash, leak, timeout or sanitizer report; the input
# that caused it is left in tests/fuzz/work/NAME/artifacts/.
set -eu
seconds=$1
srcdir=$2
target=$3
name=$(basename "$target")
name=${name#fuzz_}

# Inputs a little over each parser's own limit reach its size checks; larger ones only
# slow the search down.
case $name in
jwt) max_len=8300 ;;
config | game | gameserver) max_len=4096 ;;
*) max_len=1024 ;;
esac

work=tests/fuzz/work/$name
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$srcdir/corpus/$name"/* "$work/corpus/"
set -- -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/"
[ -f "$srcdir/dict/$name.dict" ] && set -- "$@" -dict="$srcdir/dict/$name.dict"

ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:strict_string_checks=1
UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS
rc=0
"$target" "$@" "$work/corpus" >"$work/libfuzzer.out" 2>&1 || rc=$?
# Everything but the progress lines ("#1234 NEW cov: ..."); the full output stays in the
# work directory.
grep -v '^#[0-9]' "$work/libfuzzer.out" || true

# A sanitizer report that did not stop the run still fails it.
if [ "$rc" -eq 0 ] && grep -q 'runtime error:\|ERROR: [A-Za-z]*Sanitizer' "$work/libfuzzer.out"; then
    rc=1
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/libfuzzer.out")
inputs=$(find "$work/corpus" -type f | wc -l)
if [ "$rc" -ne 0 ]; then
    echo "fuzz $name: FAILED (exit $rc) after ${runs:-?} runs; input in $work/artifacts/"
    exit 1
fi
echo "fuzz $name: ${runs:-?} runs in ${seconds} s, $inputs inputs in the corpus, nothing found"
# In cmocka's words, so tests/summary.sh counts the run like any other passed test.
echo "[  PASSED  ] 1 test(s)."
