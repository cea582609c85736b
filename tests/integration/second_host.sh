#!/usr/bin/env bash
# Runs a test program with a second nginx host beside the test stack's (test_live_hosts.sh):
# its own prefix, listening socket and publisher socket under the stack's run directory,
# in front of the stack's pool, from the same template (MM_LIVE_TEMPLATE). Exports
# MM_TEST_HOSTB_SOCK and MM_TEST_HOSTB_PUBLISHER; stops the host however the program ends.
#   second_host.sh TEST_PROGRAM [ARGS...]
set -euo pipefail
run=${MM_TEST_RUN_DIR:?} template=${MM_LIVE_TEMPLATE:?}
b=$run/host-b
mkdir -p "$b/nginx-tmp"
nginx_bin=${MM_NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
user_line=""
[ "$(id -u)" = 0 ] && user_line="user nobody nogroup;"
# the pool's sockets are the stack's; everything else host B's own
sed -e "s|unix:@RUN_DIR@/fcgi|unix:$run/fcgi|g" -e "s|@RUN_DIR@|$b|g" \
    -e "s|@LISTEN@|unix:$b/nginx.sock|g" -e "s|@USER_LINE@|$user_line|g" \
    -e "s|@NGINX_DIR@|${top_srcdir:?}/nginx|g" -e "s|@TEST_INCLUDE@||g" \
    -e "s|@NCHAN_MODULE@|${MM_NCHAN_MODULE:-/usr/lib/nginx/modules/ngx_nchan_module.so}|g" \
    "$template" >"$b/nginx.conf"
stop() {
    local rc=$? p
    if p=$(cat "$b/nginx.pid" 2>/dev/null); then
        kill -QUIT "$p" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    fi
    [ $rc -eq 0 ] || { echo "--- tail of host B's error log"; tail -n 20 "$b/nginx-error.log"; }
    exit $rc
}
trap stop EXIT INT TERM
"$nginx_bin" -p "$b" -c "$b/nginx.conf" -e "$b/nginx-error.log"
for _ in $(seq 50); do [ -S "$b/nginx.sock" ] && [ -S "$b/live.sock" ] && break; sleep 0.1; done
export MM_TEST_HOSTB_SOCK=$b/nginx.sock MM_TEST_HOSTB_PUBLISHER=$b/live.sock
"$@"
