#!/usr/bin/env bash
# The configuration the stack generates holds the secret: it is written mode
# 0600, owned by the user the pool and the worker run as (as root, the stack
# runs them as nobody when nobody can reach the programs), and they read it:
# the pool answers and the worker runs.
set -euo pipefail
: "${top_srcdir:?}" "${top_builddir:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }

if [ $# -eq 0 ]; then
    exec "$top_srcdir/tests/integration/with_stack.sh" "$0" on-the-stack
fi

# ---- run by with_stack.sh, on its stack ----
conf=$MM_TEST_CONFIG
[ "$(stat -c %a "$conf")" = 600 ] || fail "$conf is mode $(stat -c %a "$conf"), not 600"
owner=$(stat -c %u "$conf")
uid_of() { awk '/^Uid:/ {print $2}' "/proc/$1/status"; }

pids="$("$MM_TEST_STACK" pool-pids | tr '\n' ' ')$(cat "$MM_TEST_RUN_DIR/worker.pid")"
for p in $pids; do
    [ "$(uid_of "$p")" = "$owner" ] ||
        fail "process $p runs as uid $(uid_of "$p"), the config belongs to uid $owner"
done
if [ "$(id -u)" = 0 ] && setpriv --reuid=nobody --regid=nogroup --clear-groups \
    test -x "$MM_TEST_BUILD_DIR/fcgi_app/matchmaker-fcgi" 2>/dev/null; then
    [ "$owner" = "$(id -u nobody)" ] || fail "as root, the programs should run as nobody"
fi

code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$MM_TEST_NGINX_SOCK" \
    "http://localhost/game_lobby/exrps/open_games")
[ "$code" = 200 ] || fail "open_games answered $code"
kill -0 "$(cat "$MM_TEST_RUN_DIR/worker.pid")" || fail "the worker is not running"
echo "ok: $conf is 0600, uid $owner, as the $(echo $pids | wc -w) programs reading it"
