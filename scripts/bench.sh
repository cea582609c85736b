#!/usr/bin/env bash
# Benchmarks the matchmaker on this machine: starts its own stack (private
# ports and sockets), seeds a lobby, runs wrk scenarios and their ceilings in
# the same run, counts instructions per request with callgrind, and prints one
# Markdown table (paste it into BENCHMARKS.md).
#
#   scripts/bench.sh [--procs "N M"] [--duration S] [--threads T]
#                    [--connections C] [--callgrind N] [--smoke]
#
#   --procs        FastCGI pool sizes to run, one after the other, each the
#                  size of both pools (the read pool and the game-server pool
#                  of create and join; default: one per core, then four per core)
#   --duration     seconds per scenario (default 10), run as --rounds slices
#   --rounds R     slices per scenario (default 5): every round runs each
#                  scenario and the ceilings once, so load from elsewhere on the
#                  machine falls on scenarios and ceilings alike
#   --threads, --connections   wrk's -t and -c (default 2 and 32; more than 64
#                  connections meet the shipped per-address connection limit)
#   --callgrind N  instructions per request from N and 2N requests to one
#                  process under valgrind (default 1000; 0 skips it)
#   --smoke        1 s per scenario, one pool size, no callgrind; fails unless
#                  every scenario made requests and none answered non-2xx
#   --live         the live lobby instead (scripts/bench/live.sh --help):
#                  10,000 subscribers, delivery latency, losses, nginx memory,
#                  and what publishing costs create_game and join_game
#
# Ceilings, measured in the same run as the scenarios they bound:
#   nginx_static   nginx answering a constant body itself ("return 200")
#   fcgi_noop      GET /game_lobby/_bench/noop through the FastCGI pool
#                  (the "bench_noop_route" config key turns the route on)
#   gs_direct      POST /create_game straight to the test game server
# MM_BENCH_KEEP=1 keeps the run directory (logs) afterwards.
# It uses the environment of stack.sh (MM_BUILD_DIR, MM_NGINX_BIN, ...).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
build=${MM_BUILD_DIR:-$src}
export MM_BUILD_DIR=$build
cores=$(nproc)
procs_list="$cores $((4 * cores))"
duration=10
rounds=5
threads=2
connections=32
cg_requests=1000
smoke=0
cmdline="scripts/bench.sh $*"
[ "${1:-}" = --live ] && { shift; exec "$here/bench/live.sh" "$@"; }

while [ $# -gt 0 ]; do
    case "$1" in
    --procs) procs_list=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --callgrind) cg_requests=$2; shift 2 ;;
    --smoke) smoke=1; shift ;;
    -h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [ $smoke = 1 ]; then
    duration=1
    rounds=1
    procs_list=$cores
    cg_requests=0
fi

die() { echo "bench: $*" >&2; exit 1; }
slice=$((duration / rounds))
[ "$slice" -ge 1 ] || die "--duration must be at least --rounds seconds"
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
[ -x "$build/fcgi_app/matchmaker-fcgi" ] || die "build first: $build/fcgi_app/matchmaker-fcgi"
if [ "$cg_requests" -gt 0 ] && ! command -v valgrind >/dev/null; then
    echo "bench: valgrind is missing: no instruction counts" >&2
    cg_requests=0
fi

run=$(mktemp -d "${TMPDIR:-/tmp}/mm-bench.XXXXXX")
chmod 755 "$run"
stack=$src/scripts/stack.sh
export MM_RUN_DIR=$run MM_BENCH_LUA=$src/scripts/bench
results=$run/results.txt
failures=0
: >"$results"

cleanup() {
    local rc=$?
    "$stack" stop >/dev/null 2>&1 || true
    stop_callgrind
    if [ $rc -ne 0 ] || [ $failures -ne 0 ]; then
        for f in "$run"/*.log; do
            [ -s "$f" ] && { echo "--- tail of $f" >&2; tail -n 5 "$f" >&2; }
        done
    fi
    if [ "${MM_BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $run" >&2; else rm -rf "$run"; fi
    exit $rc
}
trap cleanup EXIT INT TERM

# A TCP port nobody listens on, away from the ports the dev stack and the
# tests use (5050-5052, 8080, 8085, 18080-18099).
free_port() {
    local p i
    for i in $(seq 200); do
        p=$((20000 + (RANDOM % 10000)))
        ss -Hltn "sport = :$p" 2>/dev/null | grep -q . && continue
        grep -q ":$(printf '%04X' $p) " /proc/net/tcp /proc/net/tcp6 2>/dev/null && continue
        echo $p
        return 0
    done
    return 1
}

port=$(free_port) || die "no free port"
cached_port=$(free_port) || die "no free port"
gs_port=$(free_port) || die "no free port"
[ "$port" != "$cached_port" ] && [ "$gs_port" != "$port" ] && [ "$gs_port" != "$cached_port" ] ||
    die "port collision, run again"
base=http://127.0.0.1:$port
cached=http://127.0.0.1:$cached_port
gs=http://127.0.0.1:$gs_port

# Products: exrps (2 players) and exrps3 (3 players) hold the browsable lobby
# of 1,000 games; exduel (2 players) holds the games join_game and join_by_code
# fill, so the listed lobby keeps its size whatever the join scenarios consume;
# exmatch's lobby is what quick_match joins, exquick has none (quick_match
# makes a game); exfilter holds 10,000 games of which 5 % have the lobby filter
# mode=rare (the filtered page against the unfiltered one). Expiry is
# a day so the worker's curation keeps every seeded game during the run. The
# worker's metrics are not read: off, so no port is taken for them.
# It holds the secret: mode 0600 (SPEC 11); as root, the pool and the worker run
# as nobody (stack.sh), so it is theirs (root reads it anyway).
(umask 077 && cat >"$run/bench.json") <<JSON
{
  "redis_url": "unix://$run/redis.sock?db=0",
  "event_stream_url": "unix://$run/redis.sock?db=1",
  "secret_key": "bench-secret-of-thirty-two-bytes-at-least",
  "log_level": "info",
  "bench_noop_route": true,
  "worker_metrics_port": 0,
  "lobby_publisher": "unix:$run/live.sock",
  "max_open_games_per_user": 100000, "max_seats_per_user": 100000,
  "user_requests_per_minute": 1000000,
  "expiry_seconds": {"created": 86400, "creator_joined": 86400,
                     "all_players_joined": 86400, "in_progress": 86400, "ended": 86400},
  "products": [
    {"product_id": "exrps", "game_server_url": "$gs", "game_socket_url": "127.0.0.1:$gs_port",
     "settings": {"num_players": 2}},
    {"product_id": "exrps3", "game_server_url": "$gs", "game_socket_url": "127.0.0.1:$gs_port",
     "settings": {"num_players": 3}},
    {"product_id": "exduel", "game_server_url": "$gs", "game_socket_url": "127.0.0.1:$gs_port",
     "settings": {"num_players": 2}},
    {"product_id": "exmatch", "game_server_url": "$gs", "game_socket_url": "127.0.0.1:$gs_port",
     "settings": {"num_players": 2}},
    {"product_id": "exquick", "game_server_url": "$gs", "game_socket_url": "127.0.0.1:$gs_port",
     "settings": {"num_players": 2}},
    {"product_id": "exfilter", "game_server_url": "$gs", "game_socket_url": "127.0.0.1:$gs_port",
     "settings": {"num_players": 2}, "lobby_filters": {"mode": ["common", "rare"]}}
  ]
}
JSON
if [ "$(id -u)" = 0 ]; then chown nobody: "$run/bench.json"; fi
sed -e "s|@CACHED_LISTEN@|127.0.0.1:$cached_port|g" "$src/scripts/bench/nginx-bench.conf.in" \
    >"$run/nginx-bench.conf.in"
export MATCHMAKER_CONFIG=$run/bench.json MM_NGINX_TEMPLATE=$run/nginx-bench.conf.in
export MM_LISTEN=127.0.0.1:$port MM_GS_PORT=$gs_port MM_REDIS_PORT=0

MM_BENCH_TOKEN="Bearer $("$build/fcgi_app/matchmaker-token" -c "$run/bench.json" \
    --user-id bench-joiner --username bench --ttl 86400)"
export MM_BENCH_TOKEN MM_BENCH_PRODUCT=exrps MM_BENCH_JOIN_PRODUCT=exduel

rcli() { redis-cli -s "$run/redis.sock" "$@"; }

# seed PRODUCT NUM_PLAYERS TAG COUNT [KIND [FIRST]] (KIND: seed.lua's)
seed() {
    local when
    when=$(date -u '+%d-%b-%Y (%H:%M:%S.000000)')
    rcli --eval "$src/scripts/bench/seed.lua" "__games:$1" "__lobby_games:$1" , \
        "$1" "$gs" "$2" "$3" "${6:-0}" "$4" "$(($(date +%s) * 1000))" "$when" "${5:-}" >/dev/null
}

# The benchmark never takes a port of the local stack (scripts/run.sh: nginx
# 5050, the worker's metrics 5051, the game server 5052): both may run at once.
check_ports() {
    local taken
    taken=$("$stack" dev-ports) || die "the benchmark's stack takes the local stack's port(s) $taken"
}

# the matchmaker-fcgi processes of both pools
fcgi_pids() { "$stack" pool-pids; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
pss_kib() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
anon_kib() { awk '/^RssAnon/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
requests_of() { grep -c "pid=$1 msg=request" "$run/fcgi.log" || true; }

# CPU time (clock ticks, user + system) used so far by each part of the
# stack: nginx workers, the FastCGI pool, Redis, the game server.
cpu_ticks() {
    local part pids
    for part in nginx fcgi redis gameserver; do
        case $part in
        nginx) pids=$(pgrep -P "$(cat "$run/nginx.pid")" 2>/dev/null || true) ;;
        fcgi) pids=$(fcgi_pids) ;;
        *) pids=$(cat "$run/$part.pid" 2>/dev/null || true) ;;
        esac
        local t=0 p
        for p in $pids; do
            t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
        done
        printf '%s=%s ' "$part" "$t"
    done
}

cpu_delta() { # "nginx=a fcgi=b ..." twice -> "cpu_nginx=d ..."
    local part out=""
    for part in nginx fcgi redis gameserver; do
        out+="cpu_$part=$(($(field "$2" "$part") - $(field "$1" "$part"))) "
    done
    echo "$out"
}

# wrk_run NAME URL SCRIPT: one scenario; appends a result line.
wrk_run() {
    local name=$1 url=$2 script=$3 out line before after
    before=$(cpu_ticks)
    out=$(MM_BENCH_THREADS=$threads wrk -t "$threads" -c "$connections" -d "${slice}s" --latency \
        -s "$src/scripts/bench/$script" "$url" 2>&1) || true
    line=$(grep '^MMBENCH ' <<<"$out" | tail -n 1)
    if [ -z "$line" ]; then
        echo "$out" >&2
        line="MMBENCH requests=0 seconds=0 rps=0 p50_ms=0 p99_ms=0 non2xx=0 sockerr=0"
    fi
    after=$(cpu_ticks)
    echo "$procs $name ${line#MMBENCH } $(cpu_delta "$before" "$after")" >>"$results"
    printf '  %-18s %s\n' "$name" "${line#MMBENCH }" >&2
}

field() { # field LINE KEY
    sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"
}

# The micro-cache keeps 200s of open_games only, one entry per product and
# query string; everything else reaches the pool every time.
cache_status() { # URL [curl args...]: the X-Cache-Status and status of one request
    local url=$1
    shift
    curl -s -o /dev/null -D - "$@" "$url" |
        awk 'tolower($1) == "x-cache-status:" {c = $2} NR == 1 {s = $2}
             END {gsub(/\r/, "", c); printf "%s %s", s, (c == "" ? "-" : c)}'
}

check_cache() {
    local p=/game_lobby/exrps/open_games got
    expect_cache() { # what, expected "status cache", url, curl args...
        local what=$1 want=$2
        shift 2
        got=$(cache_status "$@")
        if [ "$got" != "$want" ]; then
            echo "bench: micro-cache: $what: got \"$got\", expected \"$want\"" >&2
            failures=$((failures + 1))
        fi
    }
    expect_cache "first page" "200 MISS" "$cached$p?count=3&page=7"
    expect_cache "same page again" "200 HIT" "$cached$p?count=3&page=7"
    expect_cache "another query string" "200 MISS" "$cached$p?count=3&page=8"
    expect_cache "another product" "200 MISS" "$cached/game_lobby/exrps3/open_games?count=3&page=7"
    expect_cache "a 400" "400 MISS" "$cached$p?count=x"
    expect_cache "the 400 again" "400 MISS" "$cached$p?count=x"
    expect_cache "an unknown product" "400 MISS" "$cached/game_lobby/nope/open_games"
    expect_cache "create_game" "200 -" "$cached/game_lobby/exrps/create_game" -X POST \
        -H "Authorization: $MM_BENCH_TOKEN" --data '{}'
    expect_cache "without the include" "200 -" "$base$p?count=3&page=7"
    sleep 2.1 # nginx counts validity in whole seconds: 1 s lives up to 2 s
    expect_cache "after 2 s" "200 EXPIRED" "$cached$p?count=3&page=7"
}

# SIGTERM ends the idle process under valgrind, and callgrind writes its counts.
cg_pid=""
stop_callgrind() {
    [ -n "$cg_pid" ] || return 0
    kill -TERM "$cg_pid" 2>/dev/null || true
    for _ in $(seq 300); do
        kill -0 "$cg_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$cg_pid" 2>/dev/null || true
    cg_pid=""
}

# callgrind_total N URL [curl args]: instructions of one process that served N
# requests (curl, one connection kept alive, requests one after the other).
# "@GAME@" in URL becomes the id of seeded game i of tag $cg_tag (join_game:
# each request joins its own game). The process listens on the socket of the
# pool nginx sends URL to.
callgrind_total() {
    local n=$1 url=$2 out=$run/callgrind.$1.$RANDOM i sock=$run/fcgi.sock
    shift 2
    [[ $url == */create_game || $url == */join_game/* ]] && sock=$run/fcgi-gs.sock
    rm -f "$sock"
    "${MM_SPAWN_FCGI:-spawn-fcgi}" -s "$sock" -F 1 -P "$run/cg.pid" -M 0666 -- \
        "$(command -v valgrind)" --tool=callgrind --callgrind-out-file="$out" \
        "$build/fcgi_app/matchmaker-fcgi" -c "$run/bench.json" -l "$run/callgrind-fcgi.log" \
        >>"$run/callgrind.log" 2>&1 || die "spawn-fcgi under valgrind failed"
    cg_pid=$(cat "$run/cg.pid")
    for ((i = 0; i < n; i++)); do
        printf 'url = "%s"\noutput = "/dev/null"\n' \
            "${url//@GAME@/$(printf '%08d%024d' "${cg_tag:-0}" "$i")}"
    done >"$run/cg-urls.txt"
    curl -s "$@" -K "$run/cg-urls.txt" || die "callgrind requests failed"
    stop_callgrind
    awk '/^(summary|totals):/ {print $2; exit}' "$out"
}

instructions_per_request() { # NAME URL [curl args]
    local name=$1 a b
    shift
    [[ $1 == *@GAME@* ]] && { cg_tag=$((tag + 1)); seed exduel 2 $cg_tag "$cg_requests"; }
    a=$(callgrind_total "$cg_requests" "$@")
    [[ $1 == *@GAME@* ]] && { cg_tag=$((tag + 2)); seed exduel 2 $cg_tag $((2 * cg_requests)); }
    b=$(callgrind_total $((2 * cg_requests)) "$@")
    echo "$name $(((b - a) / cg_requests)) $a $b" >>"$run/callgrind.txt"
    printf '  %-18s %d instructions/request (%d for %d requests, %d for %d)\n' "$name" \
        $(((b - a) / cg_requests)) "$a" "$cg_requests" "$b" $((2 * cg_requests)) >&2
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

echo "bench: run directory $run; nginx :$port (micro-cache :$cached_port), game server :$gs_port" >&2
: >"$run/memory.txt" >"$run/redis.txt" >"$run/load.txt" >"$run/non2xx.txt"
tag=10
for procs in $procs_list; do
    echo "bench: pool of $procs FastCGI processes (load $(loadavg))" >&2
    MM_FCGI_PROCS=$procs MM_FCGI_GS_PROCS=$procs timeout 60 "$stack" start >/dev/null ||
        die "the stack did not start"
    check_ports
    # The shipped 256 MB ceiling (redis/redis.conf) holds about 100,000 games with their
    # per-user counters; a full run creates several times that, and a full Redis answers
    # 503 (what the overload drill checks). The benchmark measures speed: no ceiling.
    rcli config set maxmemory 0 >/dev/null
    declare -A rss0=()
    declare -A anon0=()
    for p in $(fcgi_pids); do rss0[$p]=$(rss_kib "$p") anon0[$p]=$(anon_kib "$p"); done
    seed exrps 2 1 500
    seed exrps3 3 2 500
    # 10,000 games, 5 % of them (one in 20, spread over the lobby's age) mode=rare
    for ((k = 0; k < 20; k++)); do
        seed exfilter 2 3 475 mode=common $((k * 500))
        seed exfilter 2 3 25 mode=rare $((k * 500 + 475))
    done
    echo "$procs start $(loadavg)" >>"$run/load.txt"
    # The libraries' own floor, in the pool's environment (stack.sh sets
    # GNUTLS_NO_IMPLICIT_INIT for the pool), POSTing to this run's game server.
    if [ ! -s "$run/floor.txt" ] && [ -x "$build/tests/bench/mm-rss-floor" ]; then
        GNUTLS_NO_IMPLICIT_INIT=1 "$build/tests/bench/mm-rss-floor" "$gs/create_game" \
            "$run/redis.sock" >"$run/floor.txt" || die "mm-rss-floor failed"
    fi

    # Rounds interleave every scenario with its ceilings, so a burst of load
    # from elsewhere on the machine hits both alike.
    for ((round = 1; round <= rounds; round++)); do
        wrk_run nginx_static "$base/_bench/static" get.lua
        wrk_run fcgi_noop "$base/game_lobby/_bench/noop" get.lua
        wrk_run gs_direct "$gs/create_game" gs_create.lua
        [ $round = 1 ] && rcli config resetstat >/dev/null
        wrk_run open_games "$base/game_lobby/exrps/open_games?count=10&page=0" get.lua
        if [ $round = 1 ]; then
            rcli info commandstats | tr -d '\r' |
                sed -n 's/^cmdstat_\([a-z|]*\):calls=\([0-9]*\).*/\1 \2/p' >"$run/cmdstats.$procs"
        fi
        wrk_run open_games_cached "$cached/game_lobby/exrps/open_games?count=10&page=0" get.lua
        wrk_run create_game "$base/" create_game.lua
        tag=$((tag + 1))
        # more games than a round can join (about 9,000/s seen here): running
        # out shows as 404s in the non-2xx table
        seed exduel 2 $tag $((slice * 20000 + 2000))
        MM_BENCH_JOIN_TAG=$tag wrk_run join_game "$base/" join_game.lua
        tag=$((tag + 1))
        seed exduel 2 $tag $((slice * 20000 + 2000)) private
        MM_BENCH_JOIN_TAG=$tag wrk_run join_by_code "$base/" join_by_code.lua
        tag=$((tag + 1))
        seed exmatch 2 $tag $((slice * 20000 + 2000))
        MM_BENCH_QUICK_PRODUCT=exmatch wrk_run quick_match_joined "$base/" quick_match.lua
        MM_BENCH_QUICK_PRODUCT=exquick wrk_run quick_match_created "$base/" quick_match.lua
        wrk_run open_games_10k "$base/game_lobby/exfilter/open_games?count=10&page=0" get.lua
        wrk_run open_games_filtered "$base/game_lobby/exfilter/open_games?count=10&page=0&mode=rare" \
            get.lua
        tag=$((tag + 1))
        seed exduel 2 $tag $((slice * 1000 + 1000))
        MM_BENCH_JOIN_TAG=$tag wrk_run mixed "$base/" mixed.lua
        wrk_run health "$base/health" get.lua
    done
    # Every code path has run by now: the mixed load once more shows whether
    # memory still grows.
    declare -A rss1=() req1=()
    for p in $(fcgi_pids); do rss1[$p]=$(rss_kib "$p") req1[$p]=$(requests_of "$p"); done
    tag=$((tag + 1))
    seed exduel 2 $tag $((slice * 1000 + 1000))
    MM_BENCH_JOIN_TAG=$tag wrk_run mixed_again "$base/" mixed.lua
    check_cache
    echo "$procs end $(loadavg)" >>"$run/load.txt"

    for p in $(fcgi_pids); do
        echo "$procs $p ${rss0[$p]} ${rss1[$p]} $(rss_kib "$p") ${req1[$p]:-0} $(requests_of "$p")" \
            "${anon0[$p]} $(anon_kib "$p") $(pss_kib "$p")" \
            >>"$run/memory.txt"
    done
    open_req=$(awk -v p="$procs" '$1 == p && $2 == "open_games" {sub("requests=", "", $3); print $3; exit}' \
        "$results")
    awk -v n="$open_req" -v p="$procs" '{printf "%s %s %s %.3f\n", p, $1, $2, n ? $2 / n : 0}' \
        "$run/cmdstats.$procs" >>"$run/redis.txt"
    "$stack" stop >/dev/null
    # nginx has flushed its access log on the way out: which answers were not 2xx
    awk -v p="$procs" '$9 !~ /^2/ {
            path = $7; sub(/\?.*/, "", path); sub(/\/[^\/]*[0-9][^\/]*$/, "/{game_id}", path)
            n[path " " $9]++ }
        END { for (k in n) print p, k, n[k] }' "$run/nginx-access.log" >>"$run/non2xx.txt"
    mv "$run/nginx-access.log" "$run/nginx-access.$procs.log"
    unset rss0 rss1 req1 anon0
done

if [ "$cg_requests" -gt 0 ]; then
    echo "bench: callgrind, one process, $cg_requests and $((2 * cg_requests)) requests" >&2
    MM_FCGI_PROCS=1 MM_FCGI_GS_PROCS=1 timeout 60 "$stack" start >/dev/null ||
        die "the stack did not start"
    check_ports
    seed exrps 2 1 500
    seed exrps3 3 2 500
    "$stack" pool-stop
    : >"$run/callgrind.txt"
    instructions_per_request open_games "$base/game_lobby/exrps/open_games?count=10&page=0"
    instructions_per_request create_game "$base/game_lobby/exrps/create_game" -X POST \
        -H "Authorization: $MM_BENCH_TOKEN" -H "Content-Type: application/json" -d '{}'
    instructions_per_request join_game "$base/game_lobby/exduel/join_game/@GAME@" -X POST \
        -H "Authorization: $MM_BENCH_TOKEN" -H "Content-Type: application/json" -d '{}'
    instructions_per_request fcgi_noop "$base/game_lobby/_bench/noop"
    "$stack" stop >/dev/null
fi

# ---- the report ----
ceiling_of() { # scenario -> the ceiling its ratio is taken against
    case "$1" in
    nginx_static | gs_direct) echo "" ;;
    fcgi_noop | open_games_cached) echo nginx_static ;;
    *) echo fcgi_noop ;;
    esac
}
rps_of() { awk -v p="$1" -v s="$2" '$1 == p && $2 == s {sub("rps=", "", $5); print $5}' "$results"; }

echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $(lscpu |
    sed -n 's/^Model name: *//p' | head -n 1), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' \
    /proc/meminfo); $("${MM_NGINX_BIN:-nginx}" -v 2>&1 | sed 's/.*: //'), redis $("${MM_REDIS_SERVER:-redis-server}" --version |
    sed 's/.*v=\([^ ]*\).*/\1/'), wrk -t$threads -c$connections -d${duration}s"
echo "Command: $cmdline"
echo "Each scenario: $rounds round(s) of ${slice} s, interleaved with the ceilings; requests/s ="
echo "all requests / all time, p50 and p99 = median over the rounds."
echo "Load average (1, 5, 15 min) at the start and end of each pool size: $(awk '{printf "%s%s procs %s: %s %s %s", (NR > 1 ? "; " : ""), $1, $2, $3, $4, $5}' "$run/load.txt")"
echo
echo "| procs | scenario | requests/s | p50 ms | p99 ms | non-2xx | socket errors | ratio to ceiling |"
echo "|---|---|---:|---:|---:|---:|---:|---|"
# One line per pool size and scenario over its rounds: requests/s is all
# requests over all time, p50/p99 the median of the rounds' values.
awk '
    function median(list,   n, v, i, j, t) {
        n = split(list, v, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) {
            t = v[i]; v[i] = v[j]; v[j] = t }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    {
        k = $1 " " $2
        if (!(k in seen)) { seen[k] = 1; order[++n] = k }
        for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        req[k] += f["requests"]; sec[k] += f["seconds"]; bad[k] += f["non2xx"]
        err[k] += f["sockerr"]; p50[k] = p50[k] " " f["p50_ms"]; p99[k] = p99[k] " " f["p99_ms"]
        cn[k] += f["cpu_nginx"]; cf[k] += f["cpu_fcgi"]; cr[k] += f["cpu_redis"]
        cg[k] += f["cpu_gameserver"]
    }
    END {
        for (i = 1; i <= n; i++) {
            k = order[i]
            printf "%s requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d sockerr=%d",
                k, req[k], sec[k], (sec[k] > 0 ? req[k] / sec[k] : 0), median(p50[k]),
                median(p99[k]), bad[k], err[k]
            printf " cpu_nginx=%d cpu_fcgi=%d cpu_redis=%d cpu_gameserver=%d\n", cn[k], cf[k],
                cr[k], cg[k]
        }
    }' "$results" >"$run/summary.txt"
results=$run/summary.txt
while read -r p name rest; do
    line=" $rest"
    c=$(ceiling_of "$name")
    ratio=""
    if [ -n "$c" ]; then
        ratio=$(awk -v a="$(field "$line" rps)" -v b="$(rps_of "$p" "$c")" -v c="$c" \
            'BEGIN {printf "%.0f%% of %s", (b > 0 ? 100 * a / b : 0), c}')
    fi
    case "$name" in
    nginx_static | fcgi_noop | gs_direct) ratio="ceiling${ratio:+ ($ratio)}" ;;
    esac
    printf '| %s | %s | %.0f | %.2f | %.2f | %s | %s | %s |\n' "$p" "$name" "$(field "$line" rps)" \
        "$(field "$line" p50_ms)" "$(field "$line" p99_ms)" "$(field "$line" non2xx)" \
        "$(field "$line" sockerr)" "$ratio"
    if [ $smoke = 1 ]; then
        if [ "$(field "$line" requests)" = 0 ]; then
            echo "bench: $name made no requests" >&2
            failures=$((failures + 1))
        fi
        if [ "$(field "$line" non2xx)" != 0 ] || [ "$(field "$line" sockerr)" != 0 ]; then
            echo "bench: $name had non-2xx answers or socket errors" >&2
            failures=$((failures + 1))
        fi
    fi
done <"$results"

# SPEC 12: a filtered page of a 10,000-game lobby costs at most twice the
# unfiltered page (the filter has its own index: no scan of the lobby).
echo
for p in $procs_list; do
    awk -v p="$p" -v a="$(rps_of "$p" open_games_10k)" -v b="$(rps_of "$p" open_games_filtered)" \
        'BEGIN { if (a > 0 && b > 0)
            printf "Filtered page (mode=rare, 5 %% of 10,000 games), %s procs: %.2fx the time of the unfiltered page.\n",
                p, a / b }'
done

if [ -s "$run/non2xx.txt" ]; then
    echo
    echo "Answers other than 2xx in nginx's access log (all scenarios and checks; 499 is"
    echo "wrk closing its connections at the end of a slice, the micro-cache check asks"
    echo "for a few 400s on purpose):"
    echo
    echo "| procs | path | status | count |"
    echo "|---|---|---|---:|"
    sort "$run/non2xx.txt" | awk '{printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4}'
fi

echo
echo "CPU time per request of each part of the stack (microseconds, user + system, from"
echo "/proc over the scenario's rounds; wrk's own share is not counted). On 2 cores the"
echo "sum bounds the rate: 2,000,000 us/s / (sum + wrk's share) requests/s."
echo
echo "| procs | scenario | nginx | FastCGI pool | Redis | game server | sum |"
echo "|---|---|---:|---:|---:|---:|---:|"
hz=$(getconf CLK_TCK)
while read -r p name rest; do
    line=" $rest"
    awk -v n="$(field "$line" requests)" -v hz="$hz" -v p="$p" -v s="$name" \
        -v a="$(field "$line" cpu_nginx)" -v b="$(field "$line" cpu_fcgi)" \
        -v c="$(field "$line" cpu_redis)" -v d="$(field "$line" cpu_gameserver)" 'BEGIN {
        u = (n > 0 ? 1e6 / hz / n : 0)
        printf "| %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f |\n", p, s, a * u, b * u, c * u, d * u,
            (a + b + c + d) * u }'
done <"$results"

echo
echo "Redis commands per open_games request (INFO commandstats, all clients; commands run"
echo "inside a script are counted under their own name too, so round trips = evalsha):"
echo
echo "| procs | command | calls | per request |"
echo "|---|---|---:|---:|"
awk '{printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4}' "$run/redis.txt"

echo
echo "Memory of each FastCGI process (KiB). VmRSS counts every resident page, shared"
echo "library pages included; RssAnon is the process's own heap and stack; PSS divides"
echo "shared pages among the processes that map them. Sampled at start, before the last"
echo "mixed run (every route has run by then) and at the end; requests served in brackets."
echo
echo "| procs | pid | RSS start | RSS before last run (requests) | RSS end (requests) | growth in last run | RssAnon start / end | PSS end |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
awk '{printf "| %s | %s | %s | %s (%s) | %s (%s) | %+d | %s / %s | %s |\n", $1, $2, $3, $4, $6, $5, $7, $5 - $4, $8, $9, $10}' \
    "$run/memory.txt"

if [ -s "$run/floor.txt" ]; then
    echo
    echo "The floor: tests/bench/mm-rss-floor links the same libraries and does only their"
    echo "part of the work (libcurl and OpenSSL initialised, one HMAC-SHA256, one JSON parse,"
    echo "one HTTP POST to the game server, one Redis PING, FastCGI set-up), none of the"
    echo "matchmaker's code:"
    echo
    echo "| stage | VmRSS | RssAnon |"
    echo "|---|---:|---:|"
    sed -n 's/^stage=\([a-z]*\) vmrss_kib=\([0-9]*\) rssanon_kib=\([0-9]*\)$/| \1 | \2 | \3 |/p' \
        "$run/floor.txt"
fi

if [ -s "$run/callgrind.txt" ]; then
    echo
    echo "Instructions per request in one FastCGI process (callgrind; (I(2N) - I(N)) / N,"
    echo "N = $cg_requests, so start-up and shutdown cancel out):"
    echo
    echo "| route | instructions/request |"
    echo "|---|---:|"
    awk '{printf "| %s | %d |\n", $1, $2}' "$run/callgrind.txt"
fi

if [ $failures -ne 0 ]; then
    echo "bench: $failures check(s) failed" >&2
    exit 1
fi
