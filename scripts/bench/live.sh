#!/usr/bin/env bash
# scripts/bench.sh --live: the live lobby under load, on a stack of its own (private
# ports and sockets, nginx tuned for many connections). Prints one Markdown report
# (paste it into BENCHMARKS.md):
#   1. delivery: --subscribers SSE subscriptions to one product (tests/bench/live_load.c),
#      then --changes changes, one per --interval-ms, alternately a message published
#      straight to nginx's publisher and a join_game request through the pool (which
#      publishes one): latency from the end of the publishing request to each subscriber
#      (p50, p99, max), and from the start of the player's join; messages lost and out of
#      order; nginx's memory per 1,000 subscribers;
#   2. cost: create_game and join_game requests/s (wrk) with the pool publishing and with
#      "lobby_publisher": "" (nothing published), --rounds rounds of --duration seconds
#      each, the two kinds interleaved so that load from elsewhere falls on both.
#
#   scripts/bench.sh --live [--subscribers N] [--changes K] [--interval-ms MS]
#                           [--rounds R] [--duration S] [--procs P]
#
# MM_BENCH_KEEP=1 keeps the run directory (logs) afterwards.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${MM_BUILD_DIR:-$src}
export MM_BUILD_DIR=$build
subscribers=10000
changes=60
interval_ms=1000
rounds=3
duration=5
procs=$(nproc)
threads=2
connections=32
cmdline="scripts/bench.sh --live $*"
while [ $# -gt 0 ]; do
    case "$1" in
    --subscribers) subscribers=$2; shift 2 ;;
    --changes) changes=$2; shift 2 ;;
    --interval-ms) interval_ms=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --procs) procs=$2; shift 2 ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench --live: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

die() { echo "bench --live: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
[ -x "$build/tests/bench/mm-live-load" ] || die "build first: $build/tests/bench/mm-live-load"
stack=$src/scripts/stack.sh
missing=$("$stack" check) || die "$missing"

run=$(mktemp -d "${TMPDIR:-/tmp}/mm-bench-live.XXXXXX")
chmod 755 "$run"
export MM_RUN_DIR=$run MM_BENCH_LUA=$src/scripts/bench MM_FCGI_PROCS=$procs
cleanup() {
    local rc=$?
    "$stack" stop >/dev/null 2>&1 || true
    if [ "${MM_BENCH_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then
        echo "bench --live: logs kept in $run" >&2
    else
        rm -rf "$run"
    fi
    exit $rc
}
trap cleanup EXIT INT TERM

. "$src/tests/integration/free_port.sh"
port=$(free_port) && gs_port=$(free_port) && [ "$port" != "$gs_port" ] || die "no free ports"
base=http://127.0.0.1:$port
gs=http://127.0.0.1:$gs_port

# config PUBLISHER: the stack's configuration, publishing to PUBLISHER ("" = nothing).
# Limits off and a day of expiry, so nothing but the benchmark changes the games.
config() {
    (umask 077 && cat) <<JSON
{
  "redis_url": "unix://$run/redis.sock?db=0",
  "event_stream_url": "unix://$run/redis.sock?db=1",
  "secret_key": "bench-secret-of-thirty-two-bytes-at-least",
  "log_level": "info",
  "worker_metrics_port": 0,
  "lobby_publisher": "$1",
  "max_open_games_per_user": 0, "max_seats_per_user": 0, "user_requests_per_minute": 0,
  "expiry_seconds": {"created": 86400, "creator_joined": 86400,
                     "all_players_joined": 86400, "in_progress": 86400, "ended": 86400},
  "products": [
    {"product_id": "exlive", "game_server_url": "$gs", "game_socket_url": "127.0.0.1:$gs_port",
     "settings": {"num_players": 3, "mode": "casual"}},
    {"product_id": "exrps", "game_server_url": "$gs", "game_socket_url": "127.0.0.1:$gs_port",
     "settings": {"num_players": 2}},
    {"product_id": "exduel", "game_server_url": "$gs", "game_socket_url": "127.0.0.1:$gs_port",
     "settings": {"num_players": 2}}
  ]
}
JSON
}
config "unix:$run/live.sock" >"$run/publishing.json"
config "" >"$run/silent.json"
if [ "$(id -u)" = 0 ]; then chown nobody: "$run/publishing.json" "$run/silent.json"; fi

# The local stack's nginx with room for the subscribers: two workers of 20,000
# connections, descriptors to match, a deeper accept queue.
sed -e '/^worker_rlimit_nofile/d' \
    -e 's/^worker_processes .*/worker_processes auto;\nworker_rlimit_nofile 65536;/' \
    -e 's/worker_connections [0-9]*;/worker_connections 20000;/' \
    -e 's/listen @LISTEN@;/listen @LISTEN@ backlog=4096;/' \
    "$src/nginx/nginx-local.conf.in" >"$run/nginx-live.conf.in"
export MM_NGINX_TEMPLATE=$run/nginx-live.conf.in MM_LISTEN=127.0.0.1:$port MM_GS_PORT=$gs_port
export MM_REDIS_PORT=0

token="Bearer $("$build/fcgi_app/matchmaker-token" -c "$run/publishing.json" \
    --user-id bench-joiner --username bench --ttl 86400)"
rcli() { redis-cli -s "$run/redis.sock" "$@"; }
# seed PRODUCT NUM_PLAYERS TAG COUNT: listed games straight into Redis (seed.lua)
seed() {
    rcli --eval "$src/scripts/bench/seed.lua" "__games:$1" "__lobby_games:$1" , \
        "$1" "$gs" "$2" "$3" 0 "$4" "$(($(date +%s) * 1000))" \
        "$(date -u '+%d-%b-%Y (%H:%M:%S.000000)')" >/dev/null
}
start() { # CONFIG
    MATCHMAKER_CONFIG=$1 timeout 60 "$stack" start >/dev/null || die "the stack did not start"
    local taken
    taken=$("$stack" dev-ports) || die "the benchmark's stack takes the local stack's port(s) $taken"
}

# ---- 1. delivery to the subscribers ----
echo "bench --live: run directory $run; nginx :$port, game server :$gs_port" >&2
start "$run/publishing.json"
seed exlive 3 1 "$changes" # each change: a first join into one of these (an "updated")
master=$(cat "$run/nginx.pid")
pids="$master $(pgrep -P "$master" | tr '\n' ' ')"
echo "bench --live: $subscribers subscribers, then $changes changes every $interval_ms ms" >&2
line=$("$build/tests/bench/mm-live-load" --url "$base/game_lobby/exlive/lobby_events" \
    --product exlive --subscribers "$subscribers" --publisher "$run/live.sock" \
    --join-base "$base/game_lobby/exlive/join_game/" --join-tag 1 --changes "$changes" \
    --interval-ms "$interval_ms" --token "$token" --rss-pids "$pids" |
    grep '^MMLIVE ') || die "the load tool failed (see above)"
echo "  $line" >&2
published=$(curl -s "$base/metrics" | sed -n 's/^matchmaker_lobby_publish_total{result="\([a-z]*\)"} \([0-9]*\)/\1=\2/p' |
    tr '\n' ' ')
"$stack" stop >/dev/null

# ---- 2. what publishing costs the pool ----
results=$run/rates.txt
: >"$results"
slice() { # NAME MODE SCRIPT [env...]: one wrk run, its requests/s appended
    local name=$1 mode=$2 script=$3 out rps
    shift 3
    out=$(env "$@" MM_BENCH_TOKEN="$token" MM_BENCH_THREADS=$threads wrk -t $threads \
        -c $connections -d "${duration}s" --latency -s "$src/scripts/bench/$script" "$base/" 2>&1) ||
        true
    rps=$(sed -n 's/^MMBENCH .* rps=\([0-9.]*\) .*/\1/p' <<<"$out" | tail -n 1)
    non2xx=$(sed -n 's/^MMBENCH .* non2xx=\([0-9]*\).*/\1/p' <<<"$out" | tail -n 1)
    echo "$name $mode ${rps:-0} ${non2xx:-0}" >>"$results"
    printf '  %-12s %-10s %s req/s (non-2xx %s)\n' "$name" "$mode" "${rps:-0}" "${non2xx:-0}" >&2
}
tag=10
for ((round = 1; round <= rounds; round++)); do
    for mode in publishing silent; do
        echo "bench --live: round $round, $mode" >&2
        start "$run/$mode.json"
        slice create_game $mode create_game.lua MM_BENCH_PRODUCT=exrps
        tag=$((tag + 1))
        seed exduel 2 $tag $((duration * 20000 + 2000)) # each join fills one: "unlisted"
        slice join_game $mode join_game.lua MM_BENCH_JOIN_PRODUCT=exduel MM_BENCH_JOIN_TAG=$tag
        "$stack" stop >/dev/null
    done
done

# ---- the report ----
f() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $line"; }
median() { # NAME MODE
    awk -v n="$1" -v m="$2" '$1 == n && $2 == m {print $3}' "$results" | sort -n |
        awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
per1000=$(awk -v a="$(f rss_after_kib)" -v b="$(f rss_before_kib)" -v n="$(f connected)" \
    'BEGIN {printf "%.1f", n ? (a - b) / n * 1000 / 1024 : 0}')
echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $(lscpu |
    sed -n 's/^Model name: *//p' | head -n 1); $("${MM_NGINX_BIN:-nginx}" -v 2>&1 | sed 's/.*: //')," \
"nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null || echo '?'); pool of $procs"
echo "Command: $cmdline"
echo
echo "| subscribers | connected (s to connect) | changes | deliveries | lost | out of order | nginx RSS per 1,000 subscribers |"
echo "|---|---|---|---|---|---|---|"
echo "| $(f subscribers) | $(f connected) ($(f connect_s) s) | $(f changes) (every $interval_ms ms) | $(f deliveries) | $(f lost) | $(f out_of_order) | $per1000 MiB |"
echo
echo "| delivery latency to each subscriber | p50 | p99 | max |"
echo "|---|---|---|---|"
row() { echo "| $1 | $(f "$2_p50_ms") ms | $(f "$2_p99_ms") ms | $(f "$2_max_ms") ms |"; }
joins=$(($(f changes) - $(f direct)))
row "$(f direct) messages POSTed to nginx's publisher: from the end of that request" publish_end
row "the same: from its start" publish_start
row "$joins join_game requests through the pool: from the end of the player's request" join_end
row "the same: from its start" join_start
echo
echo "A negative latency: the subscriber had the message before the request that published it" \
"ended (nchan writes to the subscribers before it answers the publisher, and the pool" \
"publishes before it answers the player)."
echo
echo "nginx RSS: master and workers, $(f rss_before_kib) KiB before the subscribers," \
"$(f rss_after_kib) KiB with them. Publishes counted by the pool: $published"
echo
echo "| requests/s (median of $rounds) | publishing | not publishing | cost |"
echo "|---|---|---|---|"
for name in create_game join_game; do
    on=$(median $name publishing) off=$(median $name silent)
    cost=$(awk -v a="$on" -v b="$off" 'BEGIN {printf "%+.1f %%", b ? (b - a) / b * 100 : 0}')
    echo "| $name | $on | $off | $cost |"
done
echo
echo "Each run: wrk -t$threads -c$connections -d${duration}s; create_game publishes nothing (a" \
"game is listed once its creator connects), each join_game fills a 2-player game and" \
"publishes its \"unlisted\"."
[ "$(f connected)" = "$(f subscribers)" ] && [ "$(f lost)" = 0 ] || die "subscribers missing or messages lost"
