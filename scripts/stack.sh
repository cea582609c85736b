#!/usr/bin/env bash
# Starts and stops a complete matchmaker stack in one run directory: Redis,
# the demo/test game server, the FastCGI pool (spawn-fcgi), the worker and
# nginx. Used by the local stack (scripts/run.sh) and by the integration
# tests (tests/integration/with_stack.sh), with different settings.
#
#   stack.sh start | stop | status | redis-stop | redis-start | gs-stop | gs-start
#            | pool-pids | listen-ports | dev-ports | check [--redis-only]
#
# The FastCGI pool: spawn-fcgi opens the socket; with multiwatch installed it
# runs multiwatch on it, which forks MM_FCGI_PROCS children and forks a new one
# whenever one dies (fcgi.pid then holds multiwatch's pid). Without multiwatch,
# spawn-fcgi forks the children itself and nothing replaces a dead one.
# "pool-pids" prints the pids of the running matchmaker-fcgi processes.
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
#   MM_FCGI_PROCS    FastCGI processes (default: one per core)
#   MATCHMAKER_CONFIG  use this config instead of generating one
#   MM_NGINX_TEMPLATE  nginx.conf template (default nginx/nginx-local.conf.in;
#                    @RUN_DIR@, @LISTEN@, @USER_LINE@, @NGINX_DIR@, @NCHAN_MODULE@
#                    are filled in)
#   MM_NCHAN_MODULE  nginx's nchan module (the live lobby; Debian's path by default)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
build=${MM_BUILD_DIR:-$src}
run=${MM_RUN_DIR:-}
listen=${MM_LISTEN:-127.0.0.1:5050}
redis_port=${MM_REDIS_PORT:-0}
gs_port=${MM_GS_PORT:-5052}
procs=${MM_FCGI_PROCS:-$(nproc)}
redis_server=${MM_REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
nginx_bin=${MM_NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
spawn_fcgi=${MM_SPAWN_FCGI:-$(command -v spawn-fcgi || echo /usr/bin/spawn-fcgi)}
multiwatch=${MM_MULTIWATCH-$(command -v multiwatch || true)}
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

# The running matchmaker-fcgi processes: multiwatch's children, or the pids
# spawn-fcgi recorded.
pool_pids() {
    local p
    [ -s "$run/fcgi.pid" ] || return 0
    if [ -e "$run/fcgi.supervised" ]; then
        pgrep -P "$(cat "$run/fcgi.pid")" || true
    else
        for p in $(cat "$run/fcgi.pid"); do kill -0 "$p" 2>/dev/null && echo "$p"; done
    fi
    return 0
}

# The TCP ports the stack's processes listen on, one a line: the listening
# sockets of /proc/net/tcp{,6} that one of their descriptors holds.
listen_ports() {
    local pids name p inodes hex
    pids=$(pool_pids | tr '\n' ' ')
    for name in redis gameserver worker; do
        if p=$(pid_of $name); then pids="$pids $p"; fi
    done
    [ -s "$run/fcgi.pid" ] && pids="$pids $(cat "$run/fcgi.pid")"
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

# The game server on its recorded port ($gs_port the first time).
start_gameserver() {
    local port=$gs_port
    [ -s "$run/gameserver.port" ] && port=$(cat "$run/gameserver.port")
    rm -f "$run/gameserver.port.new"
    "$build/tests/gameserver/mm-test-gameserver" -p "$port" \
        --port-file "$run/gameserver.port.new" --redis-url "unix://$run/redis.sock?db=1" \
        >>"$run/gameserver.log" 2>&1 &
    echo $! >"$run/gameserver.pid"
    wait_for "test -s '$run/gameserver.port.new'" 50 ||
        die "the game server did not start (see $run/gameserver.log)"
    mv "$run/gameserver.port.new" "$run/gameserver.port"
}

# write_config FILE [USER]: the stack's configuration. It holds the secret:
# mode 0600 from its first byte (written aside, then renamed), owned by USER
# (the programs' user, when it is not ours).
write_config() {
    local gs="http://127.0.0.1:$(cat "$run/gameserver.port")"
    local redis_url="unix://$run/redis.sock"
    # a random secret unless one is given (SPEC 11: never a public default)
    local secret=${MM_SECRET_KEY:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
    rm -f "$1.new"
    (umask 077 && cat >"$1.new") <<JSON
{
  "redis_url": "$redis_url?db=0",
  "event_stream_url": "$redis_url?db=1",
  "secret_key": "$secret",
  "log_level": "info",
  "game_server_connect_timeout_ms": 1000,
  "game_server_timeout_ms": ${MM_GS_TIMEOUT_MS:-3000},
  "redis_timeout_ms": 500,
  "worker_metrics_port": ${MM_WORKER_METRICS_PORT:-5051},
  "lobby_publisher": "unix:$run/live.sock",
  "products": [
    {"product_id": "exrps", "game_server_url": "$gs",
     "game_socket_url": "127.0.0.1:$(cat "$run/gameserver.port")",
     "settings": {"num_players": 2}},
    {"product_id": "exrps3", "game_server_url": "$gs",
     "game_socket_url": "127.0.0.1:$(cat "$run/gameserver.port")",
     "settings": {"mode": "classic", "maps": [], "num_players": 3,
                  "seed": 12345678901234567, "rules": {"names": ["\u00e9t\u00e9", "a/b"], "ratio": 0.50}}}
  ]
}
JSON
    if [ -n "${2:-}" ]; then chown "$2:" "$1.new"; fi
    mv -f "$1.new" "$1"
}

nginx_conf() {
    local user_line="" fcgi_listen
    [ "$(id -u)" = 0 ] && user_line="user nobody nogroup;"
    sed -e "s|@RUN_DIR@|$run|g" -e "s|@LISTEN@|$listen|g" -e "s|@USER_LINE@|$user_line|g" \
        -e "s|@NGINX_DIR@|$src/nginx|g" -e "s|@NCHAN_MODULE@|$nchan_module|g" \
        "${MM_NGINX_TEMPLATE:-$src/nginx/nginx-local.conf.in}" \
        >"$run/nginx.conf"
}

start() {
    local missing
    missing=$(check_programs) || die "$missing"
    mkdir -p "$run"
    chmod 755 "$run"
    alive redis && die "a stack is already running in $run (stop it first)"
    start_redis

    rm -f "$run/gameserver.port"
    start_gameserver

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
            touch "$run/fcgi.log" "$run/worker.log" "$run/metrics"
            chown nobody:nogroup "$run/fcgi.log" "$run/worker.log" "$run/metrics"
        fi
    else
        owner=(-M 0600)
    fi
    rm -f "$run/fcgi.sock" "$run/fcgi.supervised"
    # the pool's shared counters live with the rest of this stack's files
    export MATCHMAKER_METRICS_FILE=$run/metrics
    # libcurl's LDAP and RTMP support pull in GnuTLS, which otherwise sets itself
    # up in every process at load (0.6-0.7 MiB each); nothing here uses it, and
    # it still sets itself up if something ever does.
    export GNUTLS_NO_IMPLICIT_INIT=1
    local app=("$build/fcgi_app/matchmaker-fcgi" -c "$conf" -l "$run/fcgi.log")
    if [ -n "$multiwatch" ]; then
        # -n: spawn-fcgi execs multiwatch in place, so $! is multiwatch. On
        # SIGTERM multiwatch sends its children its default signal, USR1 (a
        # graceful stop for matchmaker-fcgi), waits for them and exits. No -s:
        # Debian's multiwatch 1.0.0 sends the wrong signal for it (QUIT for TERM).
        "$spawn_fcgi" -n -s "$run/fcgi.sock" "${owner[@]}" \
            -- "$multiwatch" -f "$procs" -- "${app[@]}" >>"$run/fcgi.log" 2>&1 &
        echo $! >"$run/fcgi.pid"
        touch "$run/fcgi.supervised"
        wait_for "[ \$(pool_pids | wc -l) -ge $procs ]" 50 ||
            die "matchmaker-fcgi did not start (see $run/fcgi.log)"
    else
        "$spawn_fcgi" -s "$run/fcgi.sock" -F "$procs" -P "$run/fcgi.pid" "${owner[@]}" \
            -- "${app[@]}" >>"$run/fcgi.log" 2>&1 || die "spawn-fcgi failed (see $run/fcgi.log)"
    fi
    sleep 0.2
    for p in $(cat "$run/fcgi.pid"); do
        kill -0 "$p" 2>/dev/null || die "matchmaker-fcgi exited at start (see $run/fcgi.log)"
    done

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
    if [ -s "$run/fcgi.pid" ]; then
        local kids
        kids=$(pool_pids)
        kill -TERM $(cat "$run/fcgi.pid") 2>/dev/null || true
        for _ in $(seq 20); do
            kill -0 $(cat "$run/fcgi.pid") $kids 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL $(cat "$run/fcgi.pid") $kids 2>/dev/null || true
        rm -f "$run/fcgi.pid" "$run/fcgi.sock" "$run/fcgi.supervised"
    fi
    stop_pidfile gameserver
    rm -f "$run/gameserver.port"
    if alive redis; then redis_cli shutdown nosave >/dev/null 2>&1 || true; fi
    stop_pidfile redis
}

status() {
    local name rc=0
    for name in redis gameserver worker nginx; do
        if alive $name; then echo "$name: running (pid $(pid_of $name))"; else
            echo "$name: stopped"; rc=1; fi
    done
    if [ -s "$run/fcgi.pid" ] && [ -e "$run/fcgi.supervised" ]; then
        echo "matchmaker-fcgi: $(pool_pids | wc -l) running (multiwatch pid $(cat "$run/fcgi.pid"))"
    elif [ -s "$run/fcgi.pid" ]; then
        echo "matchmaker-fcgi: $(pool_pids | wc -l) of $(grep -c . "$run/fcgi.pid") running"
    else
        echo "matchmaker-fcgi: stopped"; rc=1
    fi
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
pool-pids) pool_pids ;;
listen-ports) listen_ports ;;
dev-ports) dev_ports ;;
check) check_programs "${2:-}" ;;
*)
    echo "usage: stack.sh start|stop|status|redis-stop|redis-start|gs-stop|gs-start|pool-pids" \
        "| listen-ports | dev-ports | check [--redis-only]" >&2
    exit 2
    ;;
esac
