#!/usr/bin/env bash
# Runs one integration test program against a private stack: its own run
# directory, Redis on a unix socket, the test game server on a free port and
# nginx on a unix socket, so parallel runs never collide. The stack is torn
# down however the test ends. A test whose stack needs a program this machine
# lacks (redis-server, redis-cli, nginx, spawn-fcgi) is skipped: one line
# naming it, exit status 77 (automake's "skipped"). MM_TEST_REDIS_PORT, when
# set, puts Redis on that loopback port as well (nchan reaches Redis over TCP).
#   with_stack.sh [--redis-only] TEST_PROGRAM [ARGS...]
set -euo pipefail
: "${top_srcdir:?}" "${top_builddir:?}"
stack=$top_srcdir/scripts/stack.sh
only_redis=0
if [ "${1:-}" = --redis-only ]; then only_redis=1; shift; fi
needs=""
[ $only_redis = 1 ] && needs=--redis-only
if ! missing=$("$stack" check $needs); then
    echo "SKIP: $missing"
    exit 77
fi
run=$(mktemp -d "${TMPDIR:-/tmp}/mm-itest.XXXXXX")
chmod 755 "$run"
export MM_RUN_DIR=$run MM_BUILD_DIR=$top_builddir MM_LISTEN="unix:$run/nginx.sock"
export MM_REDIS_PORT=${MM_TEST_REDIS_PORT:-0} MM_GS_PORT=0 MM_FCGI_PROCS=${MM_FCGI_PROCS:-3}
export MM_FCGI_GS_PROCS=${MM_FCGI_GS_PROCS:-2}
# workers started by the tests choose their own metrics port
export MM_WORKER_METRICS_PORT=${MM_WORKER_METRICS_PORT:-0}
export MM_SECRET_KEY=itest-secret-of-thirty-two-bytes-at-least MM_GS_TIMEOUT_MS=1000
export MM_NGINX_TEST_INCLUDE=$top_srcdir/tests/integration/nginx-test.conf

cleanup() {
    local rc=$?
    "$stack" stop >/dev/null 2>&1 || true
    # A sanitizer report from any of our processes fails the test, even one
    # printed at exit (leaks) after every request was answered correctly.
    if grep -l 'ERROR: \(Address\|Leak\)Sanitizer\|runtime error:' "$run"/*.log 2>/dev/null; then
        echo "sanitizer report in the logs above" >&2
        [ $rc -eq 0 ] && rc=1
    fi
    if [ $rc -ne 0 ]; then
        for f in "$run"/*.log; do
            [ -s "$f" ] && { echo "--- tail of $f"; tail -n 20 "$f"; }
        done
    fi
    rm -rf "$run"
    exit $rc
}
trap cleanup EXIT INT TERM

if [ $only_redis = 1 ]; then
    timeout 60 "$stack" redis-start
else
    timeout 60 "$stack" start
fi
# Tests never take a port of the local stack (scripts/run.sh: 5050-5052).
if ! taken=$("$stack" dev-ports); then
    echo "the test's stack takes the local stack's port(s) $taken" >&2
    exit 1
fi
export MM_TEST_NGINX_SOCK=$run/nginx.sock MM_TEST_STACK=$stack
export MM_TEST_REDIS_SOCK=$run/redis.sock MM_TEST_CONFIG=$run/matchmaker.json
export MM_TEST_RUN_DIR=$run MM_TEST_BUILD_DIR=$top_builddir
[ $only_redis = 1 ] || export MM_TEST_GS_URL="http://127.0.0.1:$(cat "$run/gameserver.port")"
if [ -s "$run/gameserver2.port" ]; then # MM_GS2_PRODUCT's game server
    export MM_TEST_GS2_URL="http://127.0.0.1:$(cat "$run/gameserver2.port")"
fi
timeout --kill-after=10 "${MM_TEST_TIMEOUT:-600}" "$@"
