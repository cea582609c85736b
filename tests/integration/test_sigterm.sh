#!/usr/bin/env bash
# SPEC 10: SIGTERM ends an idle matchmaker-fcgi within 1 s. Tried on two pools,
# each on a stack of its own, once every process has had requests to answer
# and then nothing to do:
#   unsupervised  spawn-fcgi without multiwatch: nothing replaces a process
#                 that ends, so each one is sent SIGTERM and nothing else --
#                 the program's own behaviour;
#   supervised    under multiwatch, as the systemd units run the pools: only the
#                 stack's keepers are sent SIGTERM; each passes TERM on to its
#                 pool's multiwatch (as systemd does when it stops a unit, and
#                 without starting it again), which passes it on to its
#                 children, and they all must be gone within 1 s (systemd
#                 stopping a unit would otherwise wait for its stop timeout).
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
    # three processes in all, as before the pools were two: each one's exit
    # (LeakSanitizer's check, in a sanitizer build) shares the 2 cores
    MM_FCGI_PROCS=2 MM_FCGI_GS_PROCS=1
    export MM_FCGI_PROCS MM_FCGI_GS_PROCS
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

# both pools: the read pool and the game-server pool
pids=$("$MM_TEST_STACK" pool-pids | tr '\n' ' ')
n=$(echo $pids | wc -w)
want=$((MM_FCGI_PROCS + MM_FCGI_GS_PROCS))
[ "$n" -eq "$want" ] || fail "$n pool processes running, not $want"
if [ "$mode" = supervised ]; then
    [ -e "$run/fcgi.supervised" ] && [ -e "$run/fcgi-gs.supervised" ] ||
        fail "the pools are not under multiwatch"
    supervisor="$(cat "$run/fcgi.keeper.pid") $(cat "$run/fcgi-gs.keeper.pid")"
    supervisor="$supervisor $(cat "$run/fcgi.pid") $(cat "$run/fcgi-gs.pid")"
else
    [ ! -e "$run/fcgi.supervised" ] || fail "the pool is under multiwatch"
    supervisor=""
fi

# every process of both pools gets requests (a create without a token is
# answered by the game-server pool without calling anything)
for _ in $(seq $((4 * n))); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$MM_TEST_NGINX_SOCK" \
        "http://localhost/game_lobby/exrps/open_games")
    [ "$code" = 200 ] || fail "open_games answered $code"
    code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$MM_TEST_NGINX_SOCK" \
        -X POST "http://localhost/game_lobby/exrps/create_game")
    [ "$code" = 401 ] || fail "create_game without a token answered $code"
done
sleep 0.5 # every process is back in accept(), waiting for a connection

start=$(now_ms)
if [ -n "$supervisor" ]; then
    kill -TERM $(cat "$run/fcgi.keeper.pid") $(cat "$run/fcgi-gs.keeper.pid")
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
echo "ok: $mode pools of $n processes ended ${elapsed} ms after SIGTERM${supervisor:+ to the keepers}"
