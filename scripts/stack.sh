#!/usr/bin/env bash
# Starts and stops a complete matchmaker stack in one run directory: Redis,
# the demo/test game server, the FastCGI pool (spawn-fcgi), the worker and
# nginx. Used by the local stack (scripts/run.sh) and by the integration
# tests (tests/integration/with_stack.sh), with different settings.
#
#   stack.sh start | stop | status | redis-stop | redis-start | gs-stop | gs-start
#            | pool-pids [read|gs] | pool-stop | listen-ports | dev-ports
#            | check [--redis-only]
#
# Two FastCGI pools of the same program and configuration, each on a socket of
# its own, so that reads never wait behind game-server calls: the read pool
# (fcgi.sock: open_games, /health, /metrics, everything else) and the
# game-server pool (fcgi-gs.sock: the routes that call game servers, which
# nginx sends there by path). spawn-fcgi opens each socket; with multiwatch
# installed it runs multiwatch on it, which forks the pool's children and
# forks a new one whenever one dies (fcgi.pid / fcgi-gs.pid then hold
# multiwatch's pid). multiwatch itself gives up and exits after a crash loop
# (a child dying 4 times within 10 s), whatever the cause; a keeper loop of
# this script (fcgi.keeper.pid / fcgi-gs.keeper.pid) therefore starts it again
# whenever it ends, until "stop". Without multiwatch, spawn-fcgi forks the
# children itself and nothing replaces a dead one.
# "pool-pids" prints the pids of the running matchmaker-fcgi processes of both
# pools, or of one ("read" or "gs"); "pool-stop" stops both pools.
# "listen-ports" prints the TCP ports the stack's processes listen on;
# "dev-ports" those of them, and those the worker could not have, that belong
# to the local stack of scripts/run.sh (5050-5052), and then fails: the tests
# and the benchmark call it, since they must run beside that stack.
# "check" says in one line which program the stack needs is missing (exit 1),
# or nothing (exit 0); with --redis-only, of those Redis alone needs.
#
# Settings (environment):
#   MM_RUN_DIR       run directory: logs, pid files, sockets, generated config
#   MM_BUILD_DIR     where the programs were built (default: the source tree)
#   MM_LISTEN        nginx listen address: "127.0.0.1:5050" or "unix:/path"
#   MM_REDIS_PORT    Redis TCP port on 127.0.0.1 (default 0: unix socket only)
#   MM_GS_PORT       demo game server port (0: any free port)
#   MM_FCGI_PROCS    processes of the read pool (default: one per core)
#   MM_FCGI_GS_PROCS processes of the game-server pool (default: two per core;
#                    each one waits on a game server for most of a call)
#   MM_GS_TIMEOUT_MS game_server_timeout_ms of the generated configuration
#   MM_GS_FAILURE_THRESHOLD, MM_GS_COOLDOWN_MS  the circuit breaker's keys of the
#                    generated configuration (default: the configuration's)
#   MM_GS2_PRODUCT   when set, a second test game server is started
#                    (gameserver2.port) and the generated configuration gets a
#                    third product of that id (2 players) on it
#   MM_REDIS_ADDR    "[:password@]host:port" (a redis:// URL without its database): use
#                    the Redis there (databases 0 and 1) instead of starting one
#                    (scripts/multihost-drill.sh: several stacks, one Redis)
#   MM_REDIS_SENTINELS  "host:port host:port ...": use the Redis these sentinels manage
#                    (scripts/sentinel.sh) instead of starting one: the generated config
#                    and the game server find the primary through them
#   MM_REDIS_MASTER_NAME  the master name the sentinels monitor (default mm)
#   MM_REDIS_MIN_REPLICAS_ACK  redis_min_replicas_ack of the generated config (default 0)
#   MATCHMAKER_CONFIG  use this config instead of generating one
#   MM_NGINX_TEMPLATE  nginx.conf template (default nginx/nginx-local.conf.in;
#                    @RUN_DIR@, @LISTEN@, @USER_LINE@, @NGINX_DIR@, @NCHAN_MODULE@,
#                    @TEST_INCLUDE@ are filled in)
#   MM_NCHAN_MODULE  nginx's nchan module (the live lobby; Debian's path by default)
#   MM_NGINX_TEST_INCLUDE  a file of locations the tests add to the server block
#                    (@TEST_INCLUDE@; default: none)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
build=${MM_BUILD_DIR:-$src}
run=${MM_RUN_DIR:-}
listen=${MM_LISTEN:-127.0.0.1:5050}
redis_port=${MM_REDIS_PORT:-0}
gs_port=${MM_GS_PORT:-5052}
procs=${MM_FCGI_PROCS:-$(nproc)}
gs_procs=${MM_FCGI_GS_PROCS:-$((2 * $(nproc)))}
redis_server=${MM_REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
nginx_bin=${MM_NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
spawn_fcgi=${MM_SPAWN_FCGI:-$(command -v spawn-fcgi || echo /usr/bin/spawn-fcgi)}
multiwatch=${MM_MULTIWATCH-$(command -v multiwatch || true)}
sentinels=${MM_REDIS_SENTINELS:-}
redis_addr=${MM_REDIS_ADDR:-}
master_name=${MM_REDIS_MASTER_NAME:-mm}
nchan_module=${MM_NCHAN_MODULE:-/usr/lib/nginx/modules/ngx_nchan_module.so}

die() { echo "stack: $*" >&2; exit 1; }
pid_of() { [ -s "$run/$1.pid" ] && cat "$run/$1.pid" 2>/dev/null; }
alive() { local p; p=$(pid_of "$1") && kill -0 $p 2>/dev/null; }

# need NAME PATH HOW: fine when PATH is an executable file, else one line
# saying it is missing and HOW to name another.
need() {
    [ -n "$2" ] && [ -f "$2" ] && [ -x "$2" ] && return 0
    echo "$1 not found at ${2:-(no path)}: install it, or $3"
    return 1
}

# nginx's nchan module, which serves the live lobby (a library: not executable).
need_nchan() {
    [ -f "$nchan_module" ] && return 0
    echo "nginx's nchan module not found at $nchan_module: install libnginx-mod-nchan, or" \
        "set MM_NCHAN_MODULE"
    return 1
}

# The programs a start needs ($1 = --redis-only: those Redis needs).
check_programs() {
    need redis-server "$redis_server" "set MM_REDIS_SERVER" &&
        need redis-cli "$(command -v redis-cli || true)" "put it on PATH" || return 1
    [ "${1:-}" = --redis-only ] && return 0
    need nginx "$nginx_bin" "set MM_NGINX_BIN" &&
        need_nchan &&
        need spawn-fcgi "$spawn_fcgi" "set MM_SPAWN_FCGI" &&
        { [ -z "$multiwatch" ] || need multiwatch "$multiwatch" "set MM_MULTIWATCH ('' for none)"; }
}

# Waits up to $2 tenths of a second for command $1 to succeed.
wait_for() {
    local i
    for ((i = 0; i < $2; i++)); do
        if eval "$1" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    return 1
}

redis_cli() {
    redis-cli -s "$run/redis.sock" "$@"
}

start_redis() {
    "$redis_server" "$src/redis/redis.conf" \
        --port "$redis_port" --unixsocket "$run/redis.sock" --unixsocketperm 700 \
        --dir "$run" --pidfile "$run/redis.pid" --logfile "$run/redis.log" \
        --daemonize yes >/dev/null ||
        die "redis-server did not start (see $run/redis.log)"
    wait_for "redis_cli ping | grep -q PONG" 100 ||
        die "Redis does not answer (see $run/redis.log); is port $redis_port taken?"
    if [ "$(id -u)" = 0 ]; then # the pool may run as nobody
        chgrp nogroup "$run/redis.sock" && chmod 770 "$run/redis.sock"
    fi
}

stop_pidfile() { # name [signal]
    local p
    p=$(pid_of "$1") || return 0
    kill -"${2:-TERM}" $p 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 $p 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL $p 2>/dev/null || true
    rm -f "$run/$1.pid"
}

# The pools: the file name each one's socket and pid files are named after.
pools="fcgi fcgi-gs"

# pool_file read|gs|all: the pools named (all: both).
pool_files() {
    case ${1:-all} in
    read) echo fcgi ;;
    gs) echo fcgi-gs ;;
    all) echo $pools ;;
    *) die "no pool named $1 (read, gs)" ;;
    esac
}

# The running matchmaker-fcgi processes of pool NAME: multiwatch's children,
# or the pids spawn-fcgi recorded.
pool_pids_of() {
    local p
    [ -s "$run/$1.pid" ] || return 0
    if [ -e "$run/$1.supervised" ]; then
        pgrep -P "$(cat "$run/$1.pid")" || true
    else
        for p in $(cat "$run/$1.pid"); do kill -0 "$p" 2>/dev/null && echo "$p"; done
    fi
    return 0
}

pool_pids() {
    local name
    for name in $(pool_files "${1:-all}"); do pool_pids_of "$name"; done
}

# The TCP ports the stack's processes listen on, one a line: the listening
# sockets of /proc/net/tcp{,6} that one of their descriptors holds.
listen_ports() {
    local pids name p inodes hex
    pids=$(pool_pids | tr '\n' ' ')
    for name in redis gameserver gameserver2 worker fcgi.keeper fcgi-gs.keeper; do
        if p=$(pid_of $name); then pids="$pids $p"; fi
    done
    for name in $pools; do
        [ -s "$run/$name.pid" ] && pids="$pids $(cat "$run/$name.pid")"
    done
    if p=$(pid_of nginx); then pids="$pids $p $(pgrep -P "$p" || true)"; fi
    inodes=$(for p in $pids; do ls -l "/proc/$p/fd" 2>/dev/null; done |
        sed -n 's/.* socket:\[\([0-9]*\)\]$/\1/p' | sort -u | tr '\n' ' ')
    [ -n "$inodes" ] || return 0
    for hex in $(awk -v inodes=" $inodes" 'FNR > 1 && $4 == "0A" && index(inodes, " " $10 " ") {
            sub(/.*:/, "", $2); print $2 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null); do
        echo $((16#$hex))
    done | sort -un
}

dev_ports() {
    local taken
    taken=$({
        listen_ports
        if [ -f "$run/worker.log" ]; then
            sed -n 's/.*cannot listen on [^ ]* port \([0-9]*\):.*/\1/p' "$run/worker.log"
        fi
    } | { grep -x '505[0-2]' || true; } | sort -u | tr '\n' ' ')
    [ -z "$taken" ] && return 0
    echo "$taken"
    return 1
}

# start_gameserver [NAME]: the game server NAME (gameserver, or gameserver2
# for MM_GS2_PRODUCT) on its recorded port ($gs_port the first time for the
# first one, any free port for the second).
start_gameserver() {
    local name=${1:-gameserver} port=$gs_port redis=(--redis-url "unix://$run/redis.sock?db=1") s
    [ "$name" = gameserver ] || port=0
    [ -s "$run/$name.port" ] && port=$(cat "$run/$name.port")
    rm -f "$run/$name.port.new"
    if [ -n "$sentinels" ]; then # the address is the sentinels' to give
        redis=(--redis-url "redis://127.0.0.1/1" --master-name "$master_name")
        for s in $sentinels; do redis+=(--sentinel "$s"); done
    elif [ -n "$redis_addr" ]; then
        redis=(--redis-url "redis://$redis_addr/1")
    fi
    "$build/tests/gameserver/mm-test-gameserver" -p "$port" \
        --port-file "$run/$name.port.new" "${redis[@]}" \
        >>"$run/$name.log" 2>&1 &
    echo $! >"$run/$name.pid"
    wait_for "test -s '$run/$name.port.new'" 50 ||
        die "the game server did not start (see $run/$name.log)"
    mv "$run/$name.port.new" "$run/$name.port"
}

# The circuit breaker's keys when the environment sets them (else the defaults).
breaker_keys() {
    if [ -n "${MM_GS_FAILURE_THRESHOLD:-}" ]; then
        printf '\n  "game_server_failure_threshold": %s,' "$MM_GS_FAILURE_THRESHOLD"
    fi
    if [ -n "${MM_GS_COOLDOWN_MS:-}" ]; then
        printf '\n  "game_server_cooldown_ms": %s,' "$MM_GS_COOLDOWN_MS"
    fi
    return 0
}

# The third product of MM_GS2_PRODUCT, on the second game server (or nothing).
second_product() {
    [ -n "${MM_GS2_PRODUCT:-}" ] || return 0
    local port
    port=$(cat "$run/gameserver2.port")
    printf ',\n    {"product_id": "%s", "game_server_url": "http://127.0.0.1:%s",\n' \
        "$MM_GS2_PRODUCT" "$port"
    printf '     "game_socket_url": "127.0.0.1:%s", "settings": {"num_players": 2}}' "$port"
}

# write_config FILE [USER]: the stack's configuration. It holds the secret:
# mode 0600 from its first byte (written aside, then renamed), owned by USER
# (the programs' user, when it is not ours).
write_config() {
    local gs="http://127.0.0.1:$(cat "$run/gameserver.port")"
    local redis_url="unix://$run/redis.sock" data="?db=0" events="?db=1" managed="" s list=""
    if [ -n "$sentinels" ]; then
        # with sentinels the URLs give only the database: the address is theirs to give
        redis_url="redis://127.0.0.1" data="/0" events="/1"
        for s in $sentinels; do list="$list${list:+, }\"$s\""; done
        managed="\"redis_sentinels\": [$list], \"redis_master_name\": \"$master_name\","
    elif [ -n "$redis_addr" ]; then
        redis_url="redis://$redis_addr" data="/0" events="/1"
    fi
    # a random secret unless one is given (SPEC 11: never a public default)
    local secret=${MM_SECRET_KEY:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
    rm -f "$1.new"
    (umask 077 && cat >"$1.new") <<JSON
{
  "redis_url": "$redis_url$data",
  "event_stream_url": "$redis_url$events",
  $managed
  "redis_min_replicas_ack": ${MM_REDIS_MIN_REPLICAS_ACK:-0},
  "secret_key": "$secret",
  "log_level": "info",
  "game_server_connect_timeout_ms": 1000,
  "game_server_timeout_ms": ${MM_GS_TIMEOUT_MS:-3000},
  "redis_timeout_ms": 500,
  "worker_metrics_port": ${MM_WORKER_METRICS_PORT:-5051},$(breaker_keys)
  "lobby_publisher": "unix:$run/live.sock",
  "products": [
    {"product_id": "exrps", "game_server_url": "$gs",
     "game_socket_url": "127.0.0.1:$(cat "$run/gameserver.port")",
     "settings": {"num_players": 2}},
    {"product_id": "exrps3", "game_server_url": "$gs",
     "game_socket_url": "127.0.0.1:$(cat "$run/gameserver.port")",
     "settings": {"mode": "classic", "maps": [], "num_players": 3,
                  "seed": 12345678901234567, "rules": {"names": ["\u00e9t\u00e9", "a/b"], "ratio": 0.50}}},
    {"product_id": "exrps4", "game_server_url": "$gs",
     "game_socket_url": "127.0.0.1:$(cat "$run/gameserver.port")",
     "settings": {"num_players": 4},
     "lobby_filters": {"mode": ["casual", "ranked"], "region": ["eu", "us"]}}$(second_product)
  ]
}
JSON
    if [ -n "${2:-}" ]; then chown "$2:" "$1.new"; fi
    mv -f "$1.new" "$1"
}

nginx_conf() {
    local user_line="" test_include=""
    [ "$(id -u)" = 0 ] && user_line="user nobody nogroup;"
    [ -n "${MM_NGINX_TEST_INCLUDE:-}" ] && test_include="include $MM_NGINX_TEST_INCLUDE;"
    sed -e "s|@RUN_DIR@|$run|g" -e "s|@LISTEN@|$listen|g" -e "s|@USER_LINE@|$user_line|g" \
        -e "s|@NGINX_DIR@|$src/nginx|g" -e "s|@TEST_INCLUDE@|$test_include|g" \
        -e "s|@NCHAN_MODULE@|$nchan_module|g" \
        "${MM_NGINX_TEMPLATE:-$src/nginx/nginx-local.conf.in}" >"$run/nginx.conf"
}

# keep_pool NAME PROCS, run in the background by start_pool: spawn-fcgi and
# multiwatch for pool NAME, started again whenever multiwatch ends, until TERM
# or INT, which it passes on to multiwatch before it leaves. multiwatch gives
# up on a process that dies 4 times within 10 s of being started (a crash
# loop): when it has given up on all of them it exits 0, so its status says
# nothing; when on some only, it runs on with a pool that stays short. Both
# are seen here (the second as a pool short for 2 s: multiwatch replaces a
# process that died within milliseconds) and answered by a new multiwatch.
# The variables owner and app are start's.
keep_pool() {
    set +e
    local name=$1 n=$2 child="" stopping=0 rc short st
    trap 'stopping=1; [ -z "$child" ] || kill -TERM "$child" 2>/dev/null' TERM INT
    while [ $stopping = 0 ]; do
        # -n: spawn-fcgi execs multiwatch in place, so $! is multiwatch. On
        # SIGTERM multiwatch sends its children its default signal, USR1 (a
        # graceful stop for matchmaker-fcgi), waits for them and exits. No -s:
        # Debian's multiwatch 1.0.0 sends the wrong signal for it (QUIT for TERM).
        "$spawn_fcgi" -n -s "$run/$name.sock" "${owner[@]}" \
            -- "$multiwatch" -f "$n" -- "${app[@]}" &
        child=$!
        echo "$child" >"$run/$name.pid"
        [ $stopping = 0 ] || kill -TERM "$child" 2>/dev/null # TERM came before $child was set
        short=0
        while :; do
            # until multiwatch has ended (a zombie until waited for)
            st=Z
            read -r _ _ st _ 2>/dev/null <"/proc/$child/stat"
            [ "$st" != Z ] || break
            sleep 0.5 &
            wait $! # returns at once when TERM or INT comes
            [ $stopping = 0 ] || continue
            if [ "$(pgrep -P "$child" | wc -l)" -lt "$n" ]; then short=$((short + 1)); else short=0; fi
            if [ $short -ge 4 ]; then
                echo "stack: multiwatch of the $name pool gave up on a process; replacing it"
                kill -TERM "$child" 2>/dev/null
                short=-1000 # once
            fi
        done
        wait "$child"
        rc=$?
        child=""
        [ $stopping = 0 ] || break
        echo "stack: multiwatch of the $name pool ended (status $rc); starting it again"
        sleep 0.5
    done
}

# start_pool NAME PROCS: the pool on $run/NAME.sock, kept by keep_pool under
# multiwatch, or forked by spawn-fcgi alone without it.
start_pool() {
    local name=$1 n=$2 p
    rm -f "$run/$name.sock" "$run/$name.supervised" "$run/$name.pid" "$run/$name.keeper.pid"
    if [ -n "$multiwatch" ]; then
        keep_pool "$name" "$n" </dev/null >>"$run/fcgi.log" 2>&1 &
        echo $! >"$run/$name.keeper.pid"
        touch "$run/$name.supervised"
        wait_for "[ \$(pool_pids_of $name | wc -l) -ge $n ]" 50 ||
            { stop_pool "$name"; die "matchmaker-fcgi did not start (see $run/fcgi.log)"; }
    else
        "$spawn_fcgi" -s "$run/$name.sock" -F "$n" -P "$run/$name.pid" "${owner[@]}" \
            -- "${app[@]}" >>"$run/fcgi.log" 2>&1 || die "spawn-fcgi failed (see $run/fcgi.log)"
    fi
    sleep 0.2
    for p in $(cat "$run/$name.pid"); do
        kill -0 "$p" 2>/dev/null ||
            { stop_pool "$name"; die "matchmaker-fcgi exited at start (see $run/fcgi.log)"; }
    done
}

# stop_pool NAME: the keeper first (so nothing starts multiwatch again), which
# passes TERM on to multiwatch; whatever still runs after 2 s is killed.
stop_pool() {
    local name=$1 kids keeper="" super=""
    kids=$(pool_pids_of "$name")
    keeper=$(pid_of "$name.keeper") || keeper=""
    [ -s "$run/$name.pid" ] && super=$(cat "$run/$name.pid")
    [ -n "$keeper$super$kids" ] || return 0
    if [ -n "$keeper" ]; then
        kill -TERM "$keeper" 2>/dev/null || true
    else
        kill -TERM $super 2>/dev/null || true
    fi
    for _ in $(seq 20); do
        kill -0 $keeper $super $kids 2>/dev/null || break
        sleep 0.1
    done
    # a keeper that was asleep between two runs of multiwatch may have started one
    [ -s "$run/$name.pid" ] && super="$super $(cat "$run/$name.pid")"
    kids="$kids $(pool_pids_of "$name")"
    kill -KILL $keeper $super $kids 2>/dev/null || true
    rm -f "$run/$name.pid" "$run/$name.sock" "$run/$name.supervised" "$run/$name.keeper.pid"
}

start() {
    local missing
    missing=$(check_programs) || die "$missing"
    mkdir -p "$run"
    chmod 755 "$run"
    { alive redis || alive nginx; } && die "a stack is already running in $run (stop it first)"
    [ -n "$sentinels" ] || [ -n "$redis_addr" ] || start_redis

    rm -f "$run/gameserver.port" "$run/gameserver2.port"
    start_gameserver
    [ -z "${MM_GS2_PRODUCT:-}" ] || start_gameserver gameserver2

    # As root, the pool and the worker run as nobody when nobody can reach the
    # programs (not so for a checkout under /root, say) and the config: the
    # generated one is given to nobody, a config of the caller must be readable.
    local as_nobody=0 nobody_can=(setpriv --reuid=nobody --regid=nogroup --clear-groups test)
    if [ "$(id -u)" = 0 ] && "${nobody_can[@]}" -x "$build/fcgi_app/matchmaker-fcgi" 2>/dev/null
    then
        as_nobody=1
    fi
    local conf=${MATCHMAKER_CONFIG:-}
    if [ -z "$conf" ]; then
        conf=$run/matchmaker.json
        write_config "$conf" "$([ $as_nobody = 1 ] && echo nobody)"
    elif [ $as_nobody = 1 ] && ! "${nobody_can[@]}" -r "$conf" 2>/dev/null; then
        as_nobody=0
    fi
    "$build/fcgi_app/matchmaker-fcgi" -c "$conf" -t >/dev/null || die "bad configuration: $conf"

    local owner=() drop=()
    if [ "$(id -u)" = 0 ]; then
        owner=(-U nobody -G nogroup -M 0660)
        if [ $as_nobody = 1 ]; then
            owner+=(-u nobody -g nogroup)
            drop=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
            touch "$run/fcgi.log" "$run/worker.log" "$run/metrics" "$run/metrics.breakers"
            chown nobody:nogroup "$run/fcgi.log" "$run/worker.log" "$run/metrics" \
                "$run/metrics.breakers"
        fi
    else
        owner=(-M 0600)
    fi
    # the pools' shared counters (and the circuit breakers' table beside them,
    # metrics.breakers) live with the rest of this stack's files
    export MATCHMAKER_METRICS_FILE=$run/metrics
    # libcurl's LDAP and RTMP support pull in GnuTLS, which otherwise sets itself
    # up in every process at load (0.6-0.7 MiB each); nothing here uses it, and
    # it still sets itself up if something ever does.
    export GNUTLS_NO_IMPLICIT_INIT=1
    local app=("$build/fcgi_app/matchmaker-fcgi" -c "$conf" -l "$run/fcgi.log")
    start_pool fcgi "$procs"
    start_pool fcgi-gs "$gs_procs"

    "${drop[@]}" "$build/fcgi_app/matchmaker-worker" -c "$conf" -l "$run/worker.log" \
        >>"$run/worker.log" 2>&1 &
    echo $! >"$run/worker.pid"

    nginx_conf
    mkdir -p "$run/nginx-tmp"
    "$nginx_bin" -p "$run" -c "$run/nginx.conf" -e "$run/nginx-error.log" ||
        die "nginx did not start (see $run/nginx-error.log); is $listen taken?"
    wait_for "test -s '$run/nginx.pid'" 50 || die "nginx did not start"
    # the worker is up (its metrics served, when they are) once it says so
    wait_for "grep -q ' pid=$(pid_of worker) msg=started ' '$run/worker.log'" 50 ||
        die "the worker did not start (see $run/worker.log)"
}

stop() {
    [ -d "$run" ] || return 0
    if alive nginx; then
        "$nginx_bin" -p "$run" -c "$run/nginx.conf" -e "$run/nginx-error.log" -s quit \
            2>/dev/null || true
    fi
    stop_pidfile nginx
    stop_pidfile worker
    local name
    for name in $pools; do stop_pool "$name"; done
    stop_pidfile gameserver
    stop_pidfile gameserver2
    rm -f "$run/gameserver.port" "$run/gameserver2.port"
    if alive redis; then redis_cli shutdown nosave >/dev/null 2>&1 || true; fi
    stop_pidfile redis
}

status() {
    local name rc=0
    [ -n "$sentinels" ] && echo "redis: found through the sentinels $sentinels"
    [ -n "$redis_addr" ] && echo "redis: at $redis_addr (not this stack's)"
    for name in redis gameserver worker nginx; do
        [ $name = redis ] && [ -n "$sentinels$redis_addr" ] && continue
        if alive $name; then echo "$name: running (pid $(pid_of $name))"; else
            echo "$name: stopped"; rc=1; fi
    done
    if alive gameserver2; then echo "gameserver2: running (pid $(pid_of gameserver2))"; fi
    for name in $pools; do
        if [ -s "$run/$name.pid" ] && [ -e "$run/$name.supervised" ]; then
            echo "matchmaker-fcgi ($name): $(pool_pids_of $name | wc -l) running (multiwatch pid" \
                "$(cat "$run/$name.pid"), kept by pid $(pid_of "$name.keeper" || echo none))"
        elif [ -s "$run/$name.pid" ]; then
            echo "matchmaker-fcgi ($name): $(pool_pids_of $name | wc -l) of" \
                "$(grep -c . "$run/$name.pid") running"
        else
            echo "matchmaker-fcgi ($name): stopped"; rc=1
        fi
    done
    return $rc
}

[ "${1:-}" = check ] || [ -n "$run" ] || die "MM_RUN_DIR must name the run directory"
case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
redis-stop) redis_cli shutdown nosave >/dev/null 2>&1 || true; stop_pidfile redis ;;
redis-start) start_redis ;;
gs-stop) stop_pidfile gameserver ;; # keeps gameserver.port: gs-start reuses it
gs-start) start_gameserver ;;
pool-pids) pool_pids "${2:-all}" ;;
pool-stop) for name in $pools; do stop_pool "$name"; done ;;
listen-ports) listen_ports ;;
dev-ports) dev_ports ;;
check) check_programs "${2:-}" ;;
*)
    echo "usage: stack.sh start|stop|status|redis-stop|redis-start|gs-stop|gs-start" \
        "| pool-pids [read|gs] | pool-stop | listen-ports | dev-ports | check [--redis-only]" >&2
    exit 2
    ;;
esac
