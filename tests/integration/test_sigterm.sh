#!/usr/bin/env bash
# SPEC 10: SIGTERM ends an idle matchmaker-fcgi within 1 s. Tried on two pools,
# each on a stack of its own, once every process has had requests to answer
# and then nothing to do:
#   unsupervised  spawn-fcgi without multiwatch: nothing replaces a process
#                 that ends, so each one is sent SIGTERM and nothing else --
#                 the program's own behaviour;
#   supervised    under multiwatch, as the systemd unit runs the pool: only the
#                 supervisor is sent SIGTERM, it passes TERM on to its children,
#                 and it and they must all be gone within 1 s (systemd stopping
#                 the unit would otherwise wait for its stop timeout).
# Each process must also have left the way a stop does (its "msg=stopping"
# line). "stack.sh stop" hides a process that ignores SIGTERM by killing it
# after 2 s; here nothing is killed.
set -euo pipefail
: "${top_srcdir:?}" "${top_builddir:?}"
with_stack=$top_srcdir/tests/integration/with_stack.sh
fail() { echo "FAIL: $*" >&2; exit 1; }

# A process that ignores or mishandles SIGTERM fails every try; a loaded
# machine can keep one from being scheduled for a second once, so a failed
# try is repeated once on a fresh stack (and says so).
try_twice() {
    "$@" && return 0
    echo "the first try failed (above); trying once more on a fresh stack" >&2
    "$@"
}

if [ $# -eq 0 ]; then
    MM_MULTIWATCH='' try_twice "$with_stack" "$0" unsupervised
    multiwatch=${MM_MULTIWATCH-$(command -v multiwatch || true)}
    if [ -n "$multiwatch" ] && [ -x "$multiwatch" ]; then
        MM_MULTIWATCH=$multiwatch try_twice "$with_stack" "$0" supervised
    else
        echo "multiwatch not installed: the supervised pool was not tried"
    fi
    exit 0
fi

# ---- run by with_stack.sh, on its stack ----
mode=$1
run=$MM_TEST_RUN_DIR
now_ms() { echo $(($(date +%s%N) / 1000000)); }
gone() { # a pid that no longer runs (a zombie has ended; only its parent has not looked)
    [ ! -e "/proc/$1" ] || [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" = Z ]
}

pids=$("$MM_TEST_STACK" pool-pids | tr '\n' ' ')
n=$(echo $pids | wc -w)
[ "$n" -eq "$MM_FCGI_PROCS" ] || fail "$n pool processes running, not $MM_FCGI_PROCS"
if [ "$mode" = supervised ]; then
    [ -e "$run/fcgi.supervised" ] || fail "the pool is not under multiwatch"
    supervisor=$(cat "$run/fcgi.pid")
else
    [ ! -e "$run/fcgi.supervised" ] || fail "the pool is under multiwatch"
    supervisor=""
fi

for _ in $(seq $((4 * n))); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$MM_TEST_NGINX_SOCK" \
        "http://localhost/game_lobby/exrps/open_games")
    [ "$code" = 200 ] || fail "open_games answered $code"
done
sleep 0.5 # every process is back in accept(), waiting for a connection

start=$(now_ms)
if [ -n "$supervisor" ]; then
    kill -TERM "$supervisor"
else
    kill -TERM $pids
fi
left="$supervisor $pids"
while :; do
    still=""
    for p in $left; do gone "$p" || still="$still $p"; done
    left=$still
    elapsed=$(($(now_ms) - start))
    [ -z "$left" ] && break
    [ $elapsed -le 1000 ] || fail "$mode: still running 1 s after SIGTERM:$left"
    sleep 0.02
done
for p in $pids; do
    grep -q "pid=$p msg=stopping" "$run/fcgi.log" || fail "$mode: process $p did not stop cleanly"
done
echo "ok: $mode pool of $n ended ${elapsed} ms after SIGTERM${supervisor:+ to multiwatch}"
