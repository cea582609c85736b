#!/usr/bin/env bash
# Soak test (not part of make check): mixed create / list / join load from a
# second process against a private stack, with Redis restarts, Redis freezes,
# game-server failures, poison event entries (an event for a game whose
# document the store scripts cannot read) and a game server hanging on its
# cleanup calls injected in turn, then the stored-state check over Redis, the
# dead-letter stream, the worker's event latency (from the entry's stream id
# to the worker's log line) and the RSS of every FastCGI process.
#
#   scripts/soak.sh [SECONDS] [THREADS]      (defaults 120 and 8)
#
# Builds nothing: run scripts/build.sh first. The stack lives in its own run
# directory, nginx on a unix socket, the game server on a free port.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
build=${MM_BUILD_DIR:-$src}
seconds=${1:-120}
threads=${2:-8}
soak=$build/tests/soak/mm-soak
[ -x "$soak" ] || { echo "soak: $soak is missing; run scripts/build.sh" >&2; exit 2; }

run=$(mktemp -d "${TMPDIR:-/tmp}/mm-soak.XXXXXX")
chmod 755 "$run"
export MM_RUN_DIR=$run MM_BUILD_DIR=$build MM_LISTEN="unix:$run/nginx.sock"
export MM_REDIS_PORT=0 MM_GS_PORT=0 MM_FCGI_PROCS=${MM_FCGI_PROCS:-4}
export MM_SECRET_KEY=soak-secret-of-thirty-two-bytes-at-least MM_GS_TIMEOUT_MS=1000
export MM_WORKER_METRICS_PORT=${MM_WORKER_METRICS_PORT:-0} # no fixed port
stack=$src/scripts/stack.sh
cleanup() {
    "$stack" stop >/dev/null 2>&1 || true
    [ "${MM_SOAK_KEEP:-0}" = 1 ] && echo "logs kept in $run" || rm -rf "$run"
}
trap cleanup EXIT INT TERM
"$stack" start

rss_of_pool() { # "pid:kB ..." of every FastCGI process
    local p
    for p in $("$stack" pool-pids); do
        echo -n "$p:$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo gone)kB "
    done
}
gs_url="http://127.0.0.1:$(cat "$run/gameserver.port")"
gs_fail() { curl -s -o /dev/null -X POST "$gs_url/_control/fail" -d "$1" || true; }

sleep 1
rss_before=$(rss_of_pool)
pids_before=$("$stack" pool-pids | sort | tr '\n' ' ')
echo "soak: ${seconds} s, $threads client threads, stack in $run"

"$soak" load "$run/nginx.sock" "$gs_url" soak-secret-of-thirty-two-bytes-at-least "$seconds" "$threads" >"$run/load.out" &
load_pid=$!

# A game document the scripts cannot read (a lone UTF-16 surrogate, which the
# C decoder takes and cjson refuses) and an event for it: dead-lettered after
# event_max_deliveries, never holding up the others.
poisoned=0
poison() {
    local id=poison$1 when
    when=$(date -u +'%d-%b-%Y (%H:%M:%S.000000)')
    redis-cli -s "$run/redis.sock" HSET __games:exrps "$id" "{\"game_id\": \"$id\", \"product_id\": \"exrps\", \"game_server_url\": \"$gs_url\", \"creator_id\": \"u1\", \"creator_name\": \"p\", \"players\": [\"u1\", \"u2\"], \"settings\": {\"num_players\": 2, \"x\": \"\\ud800\"}, \"token\": \"t\", \"_last_updated\": \"$when\", \"state\": \"in_progress\"}" >/dev/null &&
        redis-cli -s "$run/redis.sock" ZADD __active_games:exrps "$(date +%s)000" "$id" >/dev/null &&
        redis-cli -s "$run/redis.sock" -n 1 XADD game_event_stream '*' product_id exrps \
            game_id "$id" type state_change new_state ended >/dev/null &&
        poisoned=$((poisoned + 1))
}

# One fault every 10 s, in turn; each lasts about 2 s. The Redis faults' windows
# (ms since the epoch, start and end) are kept: while Redis is down no product is
# healthy, so the events added then are reported apart from the latency figure.
now_ms() { date +%s%3N; }
: >"$run/redis-outages.txt"
injected=()
end=$((SECONDS + seconds - 5))
i=0
while [ $SECONDS -lt $end ]; do
    sleep 8
    [ $SECONDS -lt $end ] || break
    case $((i % 7)) in
    0) # Redis restarted, data kept (an RDB written at shutdown, loaded at start)
        t0=$(now_ms)
        redis-cli -s "$run/redis.sock" shutdown save >/dev/null 2>&1 || true
        for _ in $(seq 50); do kill -0 "$(cat "$run/redis.pid" 2>/dev/null)" 2>/dev/null || break; sleep 0.1; done
        sleep 2
        "$stack" redis-start
        echo "$t0 $(now_ms)" >>"$run/redis-outages.txt"
        injected+=("redis-restart") ;;
    1) # Redis frozen: connections accepted, nothing answered
        t0=$(now_ms)
        kill -STOP "$(cat "$run/redis.pid")"; sleep 2; kill -CONT "$(cat "$run/redis.pid")"
        echo "$t0 $(now_ms)" >>"$run/redis-outages.txt"
        injected+=("redis-freeze") ;;
    2) # game server down: connection refused
        "$stack" gs-stop; sleep 2; "$stack" gs-start
        injected+=("gs-down") ;;
    3) # game server slow past the timeout, then failing with 500
        gs_fail '{"op": "*", "mode": "hang", "hang_ms": 1500, "count": 20}'; sleep 1
        gs_fail '{"op": "*", "mode": "status", "status": 500, "count": 50}'; sleep 1
        gs_fail '{"op": "*", "mode": "ok"}'
        injected+=("gs-hang+500") ;;
    4) # game server answers 2xx garbage
        gs_fail '{"op": "*", "mode": "garbage", "count": 50}'; sleep 2
        gs_fail '{"op": "*", "mode": "ok"}'
        injected+=("gs-garbage") ;;
    5) # poison entries in the event stream
        for k in 1 2 3; do poison "$i-$k" || true; done
        injected+=("poison-entries") ;;
    6) # the game server hangs on the worker's cleanup calls for 8 s
        gs_fail '{"op": "remove_game", "mode": "hang", "hang_ms": 30000}'
        gs_fail '{"op": "remove_player", "mode": "hang", "hang_ms": 30000}'
        sleep 8
        gs_fail '{"op": "*", "mode": "ok"}'
        injected+=("gs-hang-cleanup") ;;
    esac
    i=$((i + 1))
done
load_rc=0
wait $load_pid || load_rc=$?
sleep 1 # the worker drains the last events
# Stop the worker before the check: its curation expires games (60 s after
# their last change) while the check walks them, which would show a game it
# just deleted as "in 0 sets".
kill -TERM "$(cat "$run/worker.pid")" 2>/dev/null || true
for _ in $(seq 50); do kill -0 "$(cat "$run/worker.pid")" 2>/dev/null || break; sleep 0.1; done

rss_after=$(rss_of_pool)
pids_after=$("$stack" pool-pids | sort | tr '\n' ' ')
echo "--- load (from a second process)"
cat "$run/load.out"
echo "--- faults injected (${#injected[@]}): ${injected[*]}"
echo "--- consistency over Redis"
check_rc=0
"$soak" check "$run/redis.sock" || check_rc=$?
echo "--- events (the worker's log)"
dead=$(redis-cli -s "$run/redis.sock" -n 1 XLEN game_event_dead_letter)
echo "poison entries added: $poisoned, dead-lettered: $dead"
[ "$dead" = "$poisoned" ] || { echo "the dead-letter stream does not hold exactly the poison entries"; check_rc=1; }
# latency: the worker's log line time minus the entry's stream id (ms), for events
# applied to games (poison ones excluded); an entry added during a Redis fault or
# within 2 s after it (the worker's reconnection back-off) goes to outage.txt
awk 'NR == FNR { from[NR] = $1 + 0; to[NR] = $2 + 2000; nout = NR; next }
     /msg=event id=/ && / result=OK/ && !/game_id=poison/ {
        match($0, /ts=[^ ]+/); ts = substr($0, RSTART + 3, RLENGTH - 4)
        match($0, / id=[0-9]+-/); id = substr($0, RSTART + 4, RLENGTH - 5) + 0
        split(ts, d, /[-T:]/)
        cmd = "date -u -d \"" d[1] "-" d[2] "-" d[3] " " d[4] ":" d[5] ":00\" +%s"
        key = d[1] d[2] d[3] d[4] d[5]
        if (!(key in base)) { cmd | getline base[key]; close(cmd) }
        ms = base[key] * 1000 + d[6] * 1000
        during = 0
        for (k = 1; k <= nout; k++) if (id >= from[k] && id <= to[k]) during = 1
        if (during) print ms - id >"'"$run/outage.txt"'"; else print ms - id
     }' "$run/redis-outages.txt" "$run/worker.log" | sort -n >"$run/latency.txt"
touch "$run/outage.txt"
n=$(wc -l <"$run/latency.txt")
if [ "$n" -gt 0 ]; then
    p50=$(sed -n "$(( (n + 1) / 2 ))p" "$run/latency.txt")
    p99=$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$run/latency.txt")
    echo "event latency over $n applied events: p50 ${p50} ms, p99 ${p99} ms, max $(tail -n 1 "$run/latency.txt") ms"
    [ "${p99%.*}" -lt 100 ] || { echo "event latency p99 over 100 ms"; check_rc=1; }
fi
nout=$(wc -l <"$run/outage.txt")
[ "$nout" -eq 0 ] || echo "events added during a Redis fault or within 2 s of its end: $nout, applied" \
    "within $(sort -n "$run/outage.txt" | tail -n 1) ms at most (not in the figure above)"
echo "--- FastCGI processes"
echo "RSS before: $rss_before"
echo "RSS after:  $rss_after"
[ "$pids_before" = "$pids_after" ] && echo "same processes throughout" ||
    echo "processes changed: before $pids_before after $pids_after"
if grep -q 'ERROR: \(Address\|Leak\)Sanitizer\|runtime error:' "$run"/*.log 2>/dev/null; then
    echo "sanitizer report in the logs"; check_rc=1
fi
[ $load_rc -eq 0 ] && [ $check_rc -eq 0 ] && echo "soak: PASS" && exit 0
echo "soak: FAIL (load $load_rc, check $check_rc)"
exit 1
