#!/usr/bin/env bash
# A Redis deployment managed by Sentinel, on this machine's loopback, for the tests and
# the failover drill: a primary, its replica(s) and three sentinels, each on a free TCP
# port of 127.0.0.1 (never 5050-5052, the local stack's), all in one directory.
#
#   sentinel.sh start DIR          primary, replicas, sentinels; waits until the sentinels
#                                  know the replicas and each other (a failover can happen);
#                                  writes DIR/sentinel.env (see below)
#   sentinel.sh stop DIR           stops everything started in DIR
#   sentinel.sh primary DIR        the address the sentinels name now (host:port)
#   sentinel.sh kill-primary DIR   SIGKILLs the server the sentinels name; prints its port
#   sentinel.sh wait-primary DIR OLD_PORT SECONDS
#                                  waits until every sentinel names a primary other than
#                                  OLD_PORT and ROLE there says master; prints host:port
#   sentinel.sh redis DIR [PRIMARY_PORT]
#                                  one more Redis on a free port (a replica of PRIMARY_PORT
#                                  when given); prints its port
#   sentinel.sh check              one line naming what is missing (exit 1), or nothing
#
# DIR/sentinel.env (shell assignments): MM_SENTINEL_MASTER (the master name),
# MM_SENTINEL_PRIMARY_PORT, MM_SENTINEL_REPLICA_PORTS and MM_SENTINEL_PORTS (space
# separated), MM_SENTINEL_ADDRS (JSON array items: "127.0.0.1:P", ...).
#
# Settings (environment): MM_SENTINEL_NAME (master name, default mm),
# MM_SENTINEL_REPLICAS (default 1), MM_SENTINEL_DOWN_AFTER_MS (default 1000),
# MM_SENTINEL_FAILOVER_TIMEOUT_MS (default 3000), MM_REDIS_SERVER, MM_REDIS_SENTINEL.
# Each server runs on a copy of the project's redis/redis.conf (a failover rewrites the
# promoted one's file); data is not saved: a killed server comes back empty.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
redis_server=${MM_REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
redis_sentinel=${MM_REDIS_SENTINEL:-$(command -v redis-sentinel || echo /usr/bin/redis-sentinel)}
name=${MM_SENTINEL_NAME:-mm}
replicas=${MM_SENTINEL_REPLICAS:-1}
down_after=${MM_SENTINEL_DOWN_AFTER_MS:-1000}
failover_timeout=${MM_SENTINEL_FAILOVER_TIMEOUT_MS:-3000}

die() { echo "sentinel: $*" >&2; exit 1; }

check() {
    local p
    for p in "$redis_server" "$redis_sentinel" "$(command -v redis-cli || true)"; do
        if [ -z "$p" ] || [ ! -x "$p" ]; then
            echo "redis-server, redis-sentinel or redis-cli not found: install Debian's" \
                "redis-server, redis-sentinel and redis-tools"
            return 1
        fi
    done
}

# A TCP port of 127.0.0.1 nobody listens on now, not one of the local stack's and not one
# handed out before in this directory. Another process may take it before it is bound:
# the callers retry with another.
free_port() {
    local dir=$1 p hex
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 40000))
        hex=$(printf '%04X' $p)
        if awk -v h=":$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == h {
                found = 1 } END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
            continue
        fi
        grep -qx "$p" "$dir/ports.used" 2>/dev/null && continue
        echo "$p" >>"$dir/ports.used"
        echo "$p"
        return 0
    done
    die "no free port found"
}

cli() { # PORT ARGS...
    local port=$1
    shift
    timeout 5 redis-cli -h 127.0.0.1 -p "$port" "$@"
}

wait_for() { # COMMAND TENTHS
    local i
    for ((i = 0; i < $2; i++)); do
        if eval "$1" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    return 1
}

# start_redis DIR [PRIMARY_PORT]: a Redis on a free port; prints the port.
start_redis() {
    local dir=$1 of=${2:-} port args
    for _ in 1 2 3 4 5; do
        port=$(free_port "$dir")
        # a copy: a failover rewrites the promoted server's file (CONFIG REWRITE)
        cp "$src/redis/redis.conf" "$dir/redis-$port.conf"
        args=("$dir/redis-$port.conf" --port "$port" --bind 127.0.0.1 --dir "$dir"
            --dbfilename "redis-$port.rdb" --pidfile "$dir/redis-$port.pid"
            --logfile "$dir/redis-$port.log" --daemonize yes)
        [ -n "$of" ] && args+=(--replicaof 127.0.0.1 "$of")
        "$redis_server" "${args[@]}" >/dev/null 2>&1 || continue
        if wait_for "cli $port ping | grep -q PONG" 50; then
            echo "$port"
            return 0
        fi
        kill "$(cat "$dir/redis-$port.pid" 2>/dev/null)" 2>/dev/null || true
    done
    die "redis-server did not start (see $dir/redis-*.log)"
}

# start_sentinel DIR PRIMARY_PORT: a sentinel on a free port; prints the port.
start_sentinel() {
    local dir=$1 primary=$2 port conf
    for _ in 1 2 3 4 5; do
        port=$(free_port "$dir")
        conf=$dir/sentinel-$port.conf # the sentinel rewrites it: its own file
        cat >"$conf" <<CONF
port $port
bind 127.0.0.1
daemonize yes
pidfile $dir/sentinel-$port.pid
logfile $dir/sentinel-$port.log
dir $dir
sentinel monitor $name 127.0.0.1 $primary 2
sentinel down-after-milliseconds $name $down_after
sentinel failover-timeout $name $failover_timeout
sentinel parallel-syncs $name 1
CONF
        "$redis_sentinel" "$conf" >/dev/null 2>&1 || continue
        if wait_for "cli $port ping | grep -q PONG" 50; then
            echo "$port"
            return 0
        fi
        kill "$(cat "$dir/sentinel-$port.pid" 2>/dev/null)" 2>/dev/null || true
    done
    die "redis-sentinel did not start (see $dir/sentinel-*.log)"
}

load_env() {
    [ -s "$1/sentinel.env" ] || die "no deployment in $1 (sentinel.sh start $1 first)"
    # shellcheck disable=SC1091
    . "$1/sentinel.env"
}

# The address the sentinels name: the first that answers.
primary() {
    local s a
    for s in $MM_SENTINEL_PORTS; do
        a=$(cli "$s" sentinel get-master-addr-by-name "$MM_SENTINEL_MASTER" 2>/dev/null |
            tr '\n' ':' | sed 's/:$//')
        [ -n "$a" ] && { echo "$a"; return 0; }
    done
    return 1
}

start() {
    local dir=$1 p r s ports="" reps="" addrs=""
    missing=$(check) || die "$missing"
    mkdir -p "$dir"
    [ -s "$dir/sentinel.env" ] && die "a deployment is already running in $dir"
    p=$(start_redis "$dir")
    for ((i = 0; i < replicas; i++)); do
        r=$(start_redis "$dir" "$p")
        reps="$reps $r"
    done
    for r in $reps; do
        wait_for "cli $r info replication | grep -q 'master_link_status:up'" 100 ||
            die "replica $r did not sync with $p"
    done
    for _ in 1 2 3; do
        s=$(start_sentinel "$dir" "$p")
        ports="$ports $s"
        addrs="$addrs${addrs:+, }\"127.0.0.1:$s\""
    done
    cat >"$dir/sentinel.env" <<ENV
MM_SENTINEL_MASTER=$name
MM_SENTINEL_PRIMARY_PORT=$p
MM_SENTINEL_REPLICA_PORTS="${reps# }"
MM_SENTINEL_PORTS="${ports# }"
MM_SENTINEL_ADDRS='$addrs'
ENV
    # a failover needs each sentinel to know the replicas and the other two sentinels
    for s in $ports; do
        wait_for "[ \$(cli $s sentinel replicas $name | grep -cx ip) -ge $replicas ] &&
                  [ \$(cli $s sentinel sentinels $name | grep -cx ip) -ge 2 ]" 200 ||
            die "sentinel $s did not find the replicas and the other sentinels in 20 s"
    done
}

stop() {
    local dir=$1 f p
    [ -d "$dir" ] || return 0
    local pids=""
    for f in "$dir"/sentinel-*.pid "$dir"/redis-*.pid; do
        p=$(cat "$f" 2>/dev/null) || continue # a server removes its own at exit
        pids="$pids $p"
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in $pids; do
        for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    rm -f "$dir"/sentinel-*.pid "$dir"/redis-*.pid
    rm -f "$dir/sentinel.env"
}

kill_primary() {
    local dir=$1 a port pid
    a=$(primary) || die "no sentinel answers"
    port=${a##*:}
    pid=$(cat "$dir/redis-$port.pid" 2>/dev/null) || die "the primary $a was not started here"
    kill -KILL "$pid"
    rm -f "$dir/redis-$port.pid"
    echo "$port"
}

wait_primary() {
    local old=$2 seconds=$3 s a port ok
    for ((i = 0; i < seconds * 10; i++)); do
        ok=1
        for s in $MM_SENTINEL_PORTS; do
            a=$(cli "$s" sentinel get-master-addr-by-name "$MM_SENTINEL_MASTER" 2>/dev/null |
                tr '\n' ':' | sed 's/:$//')
            [ -n "$a" ] && [ "${a##*:}" != "$old" ] || { ok=0; break; }
        done
        if [ $ok = 1 ]; then
            port=${a##*:}
            if cli "$port" role 2>/dev/null | head -n 1 | grep -qx master; then
                echo "$a"
                return 0
            fi
        fi
        sleep 0.1
    done
    return 1
}

cmd=${1:-}
case "$cmd" in
check) check ;;
start) start "${2:?DIR}" ;;
stop) stop "${2:?DIR}" ;;
primary) load_env "${2:?DIR}" && primary ;;
kill-primary) load_env "${2:?DIR}" && kill_primary "$2" ;;
wait-primary) load_env "${2:?DIR}" && wait_primary "$2" "${3:?OLD_PORT}" "${4:?SECONDS}" ;;
redis) mkdir -p "${2:?DIR}" && start_redis "$2" "${3:-}" ;;
*)
    echo "usage: sentinel.sh start|stop|primary|kill-primary|wait-primary|redis DIR ... | check" >&2
    exit 2
    ;;
esac
