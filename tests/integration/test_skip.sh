#!/usr/bin/env bash
# An integration test whose stack needs a program this machine lacks is
# skipped (automake's exit status 77) with one line naming the program, not
# failed: with_stack.sh is run with each program in turn named where none is.
# Redis alone is needed by a --redis-only stack, so a missing nginx skips
# nothing there.
set -euo pipefail
: "${top_srcdir:?}"
with_stack=$top_srcdir/tests/integration/with_stack.sh
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_skip VARIABLE PROGRAM [with_stack options]
expect_skip() {
    local var=$1 prog=$2 out rc=0
    shift 2
    out=$(env "$var=/nonexistent/$prog" "$with_stack" "$@" true 2>&1) || rc=$?
    [ $rc -eq 77 ] || fail "$var missing: exit status $rc, not 77; output: $out"
    [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "$var missing: not one line: $out"
    case $out in
    *"$prog"*) ;;
    *) fail "$var missing: the line does not name $prog: $out" ;;
    esac
    echo "ok: $var missing: $out"
}

expect_skip MM_REDIS_SERVER redis-server
expect_skip MM_NGINX_BIN nginx
expect_skip MM_SPAWN_FCGI spawn-fcgi
expect_skip MM_REDIS_SERVER redis-server --redis-only

rc=0
out=$(MM_NGINX_BIN=/nonexistent/nginx "$with_stack" --redis-only true 2>&1) || rc=$?
[ $rc -eq 0 ] || fail "a --redis-only stack needs no nginx, yet: status $rc: $out"
echo "ok: a --redis-only stack runs without nginx"
