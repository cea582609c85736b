#!/usr/bin/env bash
# The failover drill (SPEC 14): the local stack on a Redis that Sentinel manages, under
# load, loses its primary to SIGKILL mid-run. Everything runs on this machine's loopback,
# in one temporary directory: a primary, N+1 replicas (N: redis_min_replicas_ack, so N
# remain when one is promoted) and three sentinels on free ports
# (scripts/sentinel.sh), the stack (scripts/stack.sh: nginx on a unix socket of its own,
# the FastCGI pool, the worker, the test game server, all finding the primary through
# the sentinels), and the load (tests/soak/mm-soak: creates, the game server reporting
# each creator connected, open_games and joins, from several client threads).
#
# It prints, checked against the new primary (tests/soak/mm-drill-check):
#   - the seconds without service (from the kill to the end of the last 503) and the
#     answers given meanwhile, by status;
#   - the games and the seats answered 200 that the new primary does not hold;
#   - the stored-state invariants (tests/integration/consistency.c);
#   - whether the worker came through: its consumer group resumed on the new primary,
#     no entry left unhandled, none applied twice, none whose effect was lost.
#
#   scripts/failover-drill.sh [--seconds N] [--kill-at S] [--threads N] [--procs N]
#                             [--min-replicas-ack N | --both] [--quick] [--strict] [--keep]
#
#   --seconds N           load for N s (default 30), the primary killed --kill-at S in (10)
#   --threads N           client threads (default 8); --procs N: FastCGI processes (4)
#   --min-replicas-ack N  redis_min_replicas_ack of the stack's config (default 0)
#   --both                one run with 0, then one with 1
#   --quick               the short run of make check: 8 s, kill at 3 s, 4 threads, 2
#                         processes, sentinels' down-after 500 ms
#   --strict              fail when a game or seat answered 200 is missing
#   --keep                keep the directory (logs, the record) and say where
#
# Exit 0 when every answer was a SPEC answer and every check that must hold held; 1
# otherwise; 77 (skipped) with one line when a program it needs is missing. Builds
# nothing: run scripts/build.sh first. Bounded: every wait has a limit, and the whole
# run is stopped after --seconds plus 120 s.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
build=${MM_BUILD_DIR:-$src}
seconds=30 kill_at=10 threads=8 procs=4 acks=0 strict="" keep=0
down_after=1000 failover_timeout=3000
args=("$@")
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) seconds=$2; shift ;;
    --kill-at) kill_at=$2; shift ;;
    --threads) threads=$2; shift ;;
    --procs) procs=$2; shift ;;
    --min-replicas-ack) acks=$2; shift ;;
    --both) acks="0 1" ;;
    --quick) seconds=8 kill_at=3 threads=4 procs=2 down_after=500 ;;
    --strict) strict=strict ;;
    --keep) keep=1 ;;
    *) echo "usage: failover-drill.sh [--seconds N] [--kill-at S] [--threads N] [--procs N]" \
        "[--min-replicas-ack N | --both] [--quick] [--strict] [--keep]" >&2; exit 2 ;;
    esac
    shift
done
[ "$kill_at" -lt "$seconds" ] || { echo "drill: --kill-at must be less than --seconds" >&2; exit 2; }
runs=$(echo $acks | wc -w)
# the whole drill never outlives its bound, whatever hangs: TERM (and so the cleanup
# below) when it is reached
if [ -z "${MM_DRILL_BOUNDED:-}" ]; then
    MM_DRILL_BOUNDED=1 exec timeout --kill-after=20 $(((seconds + 120) * runs)) "$0" "${args[@]}"
fi

sentinel=$src/scripts/sentinel.sh
stack=$src/scripts/stack.sh
soak=$build/tests/soak/mm-soak
check=$build/tests/soak/mm-drill-check
for p in "$soak" "$check" "$build/fcgi_app/matchmaker-fcgi"; do
    [ -x "$p" ] || { echo "drill: $p is missing; run scripts/build.sh" >&2; exit 2; }
done
if ! missing=$("$sentinel" check) || ! missing=$("$stack" check); then
    echo "SKIP: $missing"
    exit 77
fi

base=$(mktemp -d "${TMPDIR:-/tmp}/mm-failover.XXXXXX")
chmod 755 "$base"
load_pid=""
cleanup() {
    local rc=$? d
    set +e # everything below is tried, whatever fails
    [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null
    for d in "$base"/ack*; do
        [ -d "$d" ] || continue
        MM_RUN_DIR=$d/stack "$stack" stop >/dev/null 2>&1 || true
        "$sentinel" stop "$d/redis" >/dev/null 2>&1 || true
    done
    if [ $keep = 1 ]; then echo "drill: kept $base"; else rm -rf "$base"; fi
    exit $rc
}
trap cleanup EXIT INT TERM

secret=drill-secret-of-thirty-two-bytes-at-least
result=0

# run_once ACK: one drill with redis_min_replicas_ack ACK.
run_once() {
    local ack=$1 d=$base/ack$1 addrs="" p kill_ms old new load_rc=0 check_rc=0
    mkdir -p "$d/record"
    chmod 755 "$d"
    echo "=== failover drill: redis_min_replicas_ack $ack, ${seconds} s of load ($threads" \
        "threads, $procs FastCGI processes), primary SIGKILLed at ${kill_at} s"
    # ACK + 1 replicas: once one of them is promoted, ACK are left to acknowledge writes
    # (with ACK replicas only, every write would be refused until the old primary is back)
    MM_SENTINEL_DOWN_AFTER_MS=$down_after MM_SENTINEL_FAILOVER_TIMEOUT_MS=$failover_timeout \
        MM_SENTINEL_REPLICAS=$((ack + 1)) timeout 60 "$sentinel" start "$d/redis"
    # shellcheck disable=SC1091
    . "$d/redis/sentinel.env"
    for p in $MM_SENTINEL_PORTS; do addrs="$addrs 127.0.0.1:$p"; done
    echo "redis: primary 127.0.0.1:$MM_SENTINEL_PRIMARY_PORT, replica(s)" \
        "$MM_SENTINEL_REPLICA_PORTS, sentinels$addrs (down-after ${down_after} ms)"
    MM_RUN_DIR=$d/stack MM_BUILD_DIR=$build MM_LISTEN="unix:$d/stack/nginx.sock" \
        MM_GS_PORT=0 MM_WORKER_METRICS_PORT=0 MM_FCGI_PROCS=$procs MM_SECRET_KEY=$secret \
        MM_GS_TIMEOUT_MS=1000 MM_REDIS_SENTINELS="${addrs# }" \
        MM_REDIS_MASTER_NAME=$MM_SENTINEL_MASTER MM_REDIS_MIN_REPLICAS_ACK=$ack \
        timeout 60 "$stack" start
    if taken=$(MM_RUN_DIR=$d/stack "$stack" dev-ports); then :; else
        echo "drill: the stack takes the local stack's port(s) $taken" >&2
        return 1
    fi
    local gs
    gs="http://127.0.0.1:$(cat "$d/stack/gameserver.port")"
    "$soak" load "$d/stack/nginx.sock" "$gs" "$secret" "$seconds" "$threads" "$d/record" \
        >"$d/load.out" 2>&1 &
    load_pid=$!
    sleep "$kill_at"
    kill_ms=$(date +%s%3N)
    old=$("$sentinel" kill-primary "$d/redis")
    if ! new=$("$sentinel" wait-primary "$d/redis" "$old" 60); then
        echo "drill: the sentinels named no new primary within 60 s" >&2
        return 1
    fi
    echo "killed 127.0.0.1:$old at $(date -u -d "@${kill_ms%???}" +%T); the sentinels" \
        "named $new $(( $(date +%s%3N) - kill_ms )) ms later"
    wait "$load_pid" || load_rc=$?
    load_pid=""
    # the worker catches up with the stream, then stops, so nothing moves under the check
    local port=${new##*:} info
    for _ in $(seq 150); do
        info=$(timeout 5 redis-cli -p "$port" -n 1 xinfo groups game_event_stream 2>/dev/null |
            tr '\n' ' ')
        echo "$info" | grep -q 'pending 0 .*lag 0' && break
        sleep 0.1
    done
    kill -TERM "$(cat "$d/stack/worker.pid")" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$(cat "$d/stack/worker.pid")" 2>/dev/null || break; sleep 0.1; done
    echo "--- the load (from a second process)"
    cat "$d/load.out"
    echo "--- checked against the new primary $new"
    "$check" "$new" "$d/record" "$d/stack/worker.log" "$kill_ms" $strict || check_rc=$?
    if grep -l 'ERROR: \(Address\|Leak\)Sanitizer\|runtime error:' "$d"/stack/*.log 2>/dev/null; then
        echo "sanitizer report in the logs above"
        check_rc=1
    fi
    MM_RUN_DIR=$d/stack "$stack" stop >/dev/null 2>&1 || true
    "$sentinel" stop "$d/redis" >/dev/null 2>&1 || true
    if [ $load_rc -ne 0 ] || [ $check_rc -ne 0 ]; then
        echo "drill (redis_min_replicas_ack $ack): FAIL (load $load_rc, check $check_rc)"
        return 1
    fi
    echo "drill (redis_min_replicas_ack $ack): PASS"
}

for ack in $acks; do
    run_once "$ack" || result=1
done
exit $result
