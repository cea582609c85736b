#!/usr/bin/env bash
# The multi-host drill (SPEC 14): two or three app hosts on this machine, each a network
# namespace of its own (ip netns) joined to a private bridge by a veth pair, with an
# address that exists only inside the drill. Each host runs what a production host runs:
# nginx, a FastCGI pool and a worker (scripts/stack.sh; its test game server stands for
# the game servers), all against one shared Redis on the bridge. A front nginx in the
# machine's own namespace spreads the load over the hosts (an upstream; a read that
# fails on one host is sent to the next: proxy_next_upstream), and wrk loads the front.
#
# It prints the request rate through the front with 1, 2 and 3 hosts, then, under load
# with every host, SIGKILLs one host's nginx and FastCGI pool and prints the answers that
# failed meanwhile, which were in flight on the lost host, and how many reads the front
# sent again to another host.
#
#   scripts/multihost-drill.sh [--hosts 2|3] [--seconds N] [--keep]
#
#   --hosts N     app hosts (default 3)
#   --seconds N   each rate measurement (default 8); the loss runs 2 x N, the kill at N/2
#   --keep        keep the directory (logs, the front's access log) and say where
#
# Exit 0 when every failed answer was a request in flight on the lost host (nginx sends
# a read that fails there to another host; a create that may have run is not sent
# twice), 1 otherwise. Needs root (namespaces, veth, a bridge) and wrk: without them it
# prints one line saying so and exits 77 (skipped). Everything it creates (namespaces, links, processes,
# files) is removed when it ends, however it ends. Builds nothing: run scripts/build.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
build=${MM_BUILD_DIR:-$src}
hosts=3 seconds=8 keep=0
args=("$@")
while [ $# -gt 0 ]; do
    case $1 in
    --hosts) hosts=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --keep) keep=1 ;;
    *) echo "usage: multihost-drill.sh [--hosts 2|3] [--seconds N] [--keep]" >&2; exit 2 ;;
    esac
    shift
done
case $hosts in 2 | 3) ;; *) echo "multihost: --hosts is 2 or 3" >&2; exit 2 ;; esac
[ "$seconds" -ge 2 ] 2>/dev/null || { echo "multihost: --seconds is at least 2" >&2; exit 2; }
# the whole drill is bounded: TERM (and the cleanup) when the bound is reached
if [ -z "${MM_DRILL_BOUNDED:-}" ]; then
    MM_DRILL_BOUNDED=1 exec timeout --kill-after=20 $((seconds * 6 + 180)) "$0" "${args[@]}"
fi

skip() { echo "SKIP: $*"; exit 77; }
stack=$src/scripts/stack.sh
redis_server=${MM_REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
nginx_bin=${MM_NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
[ "$(id -u)" = 0 ] || skip "the multi-host drill needs root (network namespaces, veth, a bridge)"
command -v ip >/dev/null || skip "no ip command (Debian iproute2)"
command -v wrk >/dev/null || skip "wrk not found (Debian wrk)"
missing=$("$stack" check) || skip "$missing"
[ -x "$build/fcgi_app/matchmaker-fcgi" ] ||
    { echo "multihost: $build/fcgi_app/matchmaker-fcgi is missing; run scripts/build.sh" >&2; exit 2; }

# Names carry this run's pid, so two runs never meet; an interface name holds 15 bytes.
tag=mm$$
bridge=${tag}br
ns() { echo "${tag}h$1"; }
probe=${tag}probe
ip netns add "$probe" 2>/dev/null || skip "network namespaces are not available here (ip netns add failed)"
ip netns del "$probe"

dir=$(mktemp -d "${TMPDIR:-/tmp}/mm-multihost.XXXXXX")
chmod 755 "$dir"
wrk_pid=""
# stop_and_wait PID...: TERM, then KILL whatever is left after 3 s.
stop_and_wait() {
    local p
    kill -TERM "$@" 2>/dev/null || true
    for p in "$@"; do
        for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
}
cleanup() {
    local rc=$? i p
    set +e # everything below is tried, whatever fails
    [ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null
    [ -s "$dir/front/nginx.pid" ] && stop_and_wait "$(cat "$dir/front/nginx.pid")"
    for ((i = 1; i <= hosts; i++)); do
        if ip netns list 2>/dev/null | grep -qw "$(ns $i)"; then
            MM_RUN_DIR=$dir/host$i ip netns exec "$(ns $i)" "$stack" stop >/dev/null 2>&1 || true
            # anything still running in the namespace (a process stack.sh lost track of)
            for p in $(ip netns pids "$(ns $i)" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
            ip netns del "$(ns $i)" 2>/dev/null || true
        fi
    done
    ip link del "$bridge" 2>/dev/null || true
    [ -s "$dir/redis.pid" ] && stop_and_wait "$(cat "$dir/redis.pid")"
    if [ $keep = 1 ]; then echo "multihost: kept $dir"; else rm -rf "$dir"; fi
    exit $rc
}
trap cleanup EXIT INT TERM

# ---- the network: a bridge in this namespace, one veth pair per host -------------------
# A /24 of 10/8 that no address or route of this machine touches.
net=""
for o in $(shuf -i 200-254 -n 55); do
    if ! ip -4 route | grep -q "^10\.$o\." && ! ip -4 addr | grep -q "inet 10\.$o\."; then
        net=10.$o.0
        break
    fi
done
[ -n "$net" ] || { echo "multihost: no free 10.x.0.0/24 found" >&2; exit 1; }
ip link add "$bridge" type bridge
ip addr add "$net.1/24" dev "$bridge"
ip link set "$bridge" up
for ((i = 1; i <= hosts; i++)); do
    ip netns add "$(ns $i)"
    ip link add "${tag}v$i" type veth peer name "${tag}p$i"
    ip link set "${tag}p$i" netns "$(ns $i)"
    ip link set "${tag}v$i" master "$bridge"
    ip link set "${tag}v$i" up
    ip netns exec "$(ns $i)" ip addr add "$net.$((10 + i))/24" dev "${tag}p$i"
    ip netns exec "$(ns $i)" ip link set "${tag}p$i" up
    ip netns exec "$(ns $i)" ip link set lo up
done
echo "network: bridge $bridge $net.1/24; hosts $(for ((i = 1; i <= hosts; i++)); do
    echo -n "$(ns $i)=$net.$((10 + i)) "; done)"

# ---- the shared Redis, on the bridge's address (which exists only in this drill) -------
# Reached from other hosts, so with a password, as a deployment's would be (Redis's
# protected mode refuses other hosts otherwise).
redis_pw=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
cp "$src/redis/redis.conf" "$dir/redis.conf"
echo "requirepass $redis_pw" >>"$dir/redis.conf"
chmod 600 "$dir/redis.conf"
"$redis_server" "$dir/redis.conf" --bind "$net.1" --port 6379 --dir "$dir" \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --daemonize yes --maxclients 4000 >/dev/null
rcli() { REDISCLI_AUTH=$redis_pw redis-cli -h "$net.1" "$@"; }
for _ in $(seq 50); do rcli ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
rcli ping | grep -q PONG || { echo "multihost: Redis did not start" >&2; exit 1; }

# ---- one configuration for every host ---------------------------------------------------
# The per-user limits are off: the load is one user. Each host's game server listens on
# its own loopback, 127.0.0.1:8090 (a port of the namespace, not of this machine).
secret=multihost-secret-of-thirty-two-bytes-at-least
conf=$dir/matchmaker.json
(umask 077 && cat >"$conf") <<JSON
{
  "redis_url": "redis://:$redis_pw@$net.1:6379/0",
  "event_stream_url": "redis://:$redis_pw@$net.1:6379/1",
  "secret_key": "$secret",
  "log_level": "info",
  "redis_timeout_ms": 500,
  "game_server_timeout_ms": 1000,
  "worker_metrics_port": 0,
  "max_open_games_per_user": 0,
  "max_seats_per_user": 0,
  "user_requests_per_minute": 0,
  "products": [
    {"product_id": "exrps", "game_server_url": "http://127.0.0.1:8090",
     "game_socket_url": "127.0.0.1:8085", "settings": {"num_players": 2}}
  ]
}
JSON
chown nobody:nogroup "$conf" # the pools and workers run as nobody (stack.sh, as root)

for ((i = 1; i <= hosts; i++)); do
    MM_RUN_DIR=$dir/host$i MM_BUILD_DIR=$build MM_LISTEN="$net.$((10 + i)):8080" \
        MM_GS_PORT=8090 MM_FCGI_PROCS=2 MM_WORKER_METRICS_PORT=0 MM_REDIS_ADDR=":$redis_pw@$net.1:6379" \
        MATCHMAKER_CONFIG=$conf timeout 60 ip netns exec "$(ns $i)" "$stack" start
    curl -sf -o /dev/null "http://$net.$((10 + i)):8080/health" ||
        { echo "multihost: host $i does not answer /health" >&2; exit 1; }
done
echo "hosts: $hosts, each nginx + 2 FastCGI processes + a worker + its game server"

# ---- the front: an nginx upstream over the hosts ----------------------------------------
mkdir -p "$dir/front/tmp"
front_port=""
for _ in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    if ! awk -v h=":$(printf '%04X' $p)" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == h {
            f = 1 } END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
        front_port=$p
        break
    fi
done
[ -n "$front_port" ] || { echo "multihost: no free port for the front" >&2; exit 1; }

# front_conf N: the front over hosts 1..N.
front_conf() {
    local n=$1 i servers=""
    for ((i = 1; i <= n; i++)); do
        servers="$servers        server $net.$((10 + i)):8080 max_fails=1 fail_timeout=5s;
"
    done
    cat >"$dir/front/nginx.conf" <<CONF
user nobody nogroup;
worker_processes 2;
pid $dir/front/nginx.pid;
error_log $dir/front/error.log warn;
events { worker_connections 4096; }
http {
    log_format drill '\$msec \$status \$request_method \$upstream_addr \$upstream_status';
    access_log $dir/front/access.log drill buffer=256k flush=1s;
    client_body_temp_path $dir/front/tmp/body;
    proxy_temp_path $dir/front/tmp/proxy;
    fastcgi_temp_path $dir/front/tmp/fastcgi;
    uwsgi_temp_path $dir/front/tmp/uwsgi;
    scgi_temp_path $dir/front/tmp/scgi;
    upstream mm_hosts {
$servers        keepalive 64;
    }
    server {
        listen 127.0.0.1:$front_port;
        location / {
            proxy_pass http://mm_hosts;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_connect_timeout 1s;
            proxy_read_timeout 5s;
            # a failed connection, or a host that answers 502/503/504 (its pool gone, its
            # Redis unreachable): the request goes to the next host. nginx sends a POST on
            # only when it never reached the host (non_idempotent is not set): a create
            # that may have run is not run twice.
            proxy_next_upstream error timeout http_502 http_503 http_504;
            proxy_next_upstream_tries 3;
            proxy_next_upstream_timeout 3s;
        }
    }
}
CONF
}
front_conf "$hosts"
"$nginx_bin" -p "$dir/front" -c "$dir/front/nginx.conf" -e "$dir/front/error.log"
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$front_port/health" && break; sleep 0.1; done

token="Bearer $(MATCHMAKER_CONFIG=$conf "$build/fcgi_app/matchmaker-token" --user-id drill \
    --username drill --ttl 3600)"
export MM_BENCH_LUA=$src/scripts/bench MM_BENCH_TOKEN=$token MM_BENCH_PRODUCT=exrps MM_BENCH_THREADS=2
url=http://127.0.0.1:$front_port/

# load SECONDS OUT: wrk through the front; its MMBENCH line into OUT.
load() {
    wrk -t2 -c32 -d"$1"s --timeout 5s -s "$src/scripts/bench/list_create.lua" "$url" >"$2" 2>&1
}
field() { sed -n "s/.*MMBENCH.* $1=\([^ ]*\).*/\1/p" "$2"; }

# ---- the rate with 1, 2 and 3 hosts ------------------------------------------------------
echo "--- the rate through the front (wrk -t2 -c32, ${seconds} s each; 90 % open_games, 10 % create_game)"
printf '%-6s %10s %9s %9s %8s %8s\n' hosts requests/s p50_ms p99_ms non2xx sockerr
for ((n = 1; n <= hosts; n++)); do
    front_conf "$n"
    "$nginx_bin" -p "$dir/front" -c "$dir/front/nginx.conf" -e "$dir/front/error.log" -s reload
    sleep 1
    load "$seconds" "$dir/rate$n.out"
    printf '%-6s %10s %9s %9s %8s %8s\n' "$n" "$(field rps "$dir/rate$n.out")" \
        "$(field p50_ms "$dir/rate$n.out")" "$(field p99_ms "$dir/rate$n.out")" \
        "$(field non2xx "$dir/rate$n.out")" "$(field sockerr "$dir/rate$n.out")"
done

# ---- losing a host under load ------------------------------------------------------------
lost=$hosts
lost_addr=$net.$((10 + lost)):8080
: >"$dir/front/access.log"
"$nginx_bin" -p "$dir/front" -c "$dir/front/nginx.conf" -e "$dir/front/error.log" -s reopen
sleep 0.5
echo "--- host $lost ($lost_addr) loses its nginx and its FastCGI pool (SIGKILL) after" \
    "$((seconds / 2)) s of $((seconds * 2)) s of load"
load $((seconds * 2)) "$dir/loss.out" &
wrk_pid=$!
sleep $((seconds / 2))
h=$dir/host$lost
victims="$(cat "$h/nginx.pid") $(pgrep -P "$(cat "$h/nginx.pid")" | tr '\n' ' ')"
victims="$victims $(cat "$h/fcgi.pid") $(pgrep -P "$(cat "$h/fcgi.pid")" | tr '\n' ' ')"
kill_ms=$(date +%s%3N)
kill -KILL $victims
wait "$wrk_pid" || true
wrk_pid=""
"$nginx_bin" -p "$dir/front" -c "$dir/front/nginx.conf" -e "$dir/front/error.log" -s reopen
sleep 1.5 # the access log's buffer is flushed
echo "killed at $(date -u -d "@${kill_ms%???}.${kill_ms: -3}" +%T.%3N): pids" $victims
echo "wrk: $(field requests "$dir/loss.out") requests, $(field rps "$dir/loss.out")/s," \
    "non-2xx $(field non2xx "$dir/loss.out"), socket errors $(field sockerr "$dir/loss.out")"
rc=0
awk -v kill="$kill_ms" -v lost="$lost_addr" '
    { total++; ms = $1 * 1000; st = $2; method = $3; up = $4
      for (i = 5; i <= NF; i++) up = up " " $i
      if (ms >= kill) after++
      if (index(up, ",") > 0) { retried++; if (index(up, lost) > 0) retried_from_lost++ }
      if (st >= 500 || st == 0) {
          failed++; by[st " " method]++
          # in flight on the lost host when it died: a request it held, not sent on
          if (index(up, lost) > 0 && index(up, ",") == 0 && ms >= kill && ms < kill + 1000)
              in_flight++
          else
              beyond++
      }
      if (ms >= kill + 1000 && index(up, lost) > 0 && index(up, ",") == 0) answered_later++
    }
    END {
      printf "front: %d answers, %d after the kill; failed (5xx): %d", total, after, failed
      for (k in by) printf " [%s: %d]", k, by[k]
      printf "\nfront: failed answers that were in flight on the lost host: %d; other failures: %d\n", in_flight, beyond
      printf "front: requests sent again to another host: %d (%d of them first tried on the lost host)\n", retried, retried_from_lost
      printf "front: answered by the lost host more than 1 s after the kill: %d\n", answered_later
      exit (beyond > 0 || answered_later > 0)
    }' "$dir/front/access.log" || rc=1
[ "$(field sockerr "$dir/loss.out")" = 0 ] || rc=1
echo "the hosts left: $(for ((i = 1; i < hosts; i++)); do
    echo -n "$(ns $i) $(curl -s "http://$net.$((10 + i)):8080/health") "; done)"
if [ $rc = 0 ]; then
    echo "multihost drill: PASS (no failed answer beyond the requests in flight on the lost host)"
else
    echo "multihost drill: FAIL"
fi
exit $rc
