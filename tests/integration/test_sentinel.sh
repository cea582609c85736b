#!/usr/bin/env bash
# SPEC 14 against real redis-sentinel: runs tests/integration/test_sentinel on a
# deployment of scripts/sentinel.sh (a primary, a replica, three sentinels on free
# loopback ports, failing over within a few seconds) plus a second pair, A and its
# replica B, that the first sentinel alone knows, as "ro". Skipped (exit 77, one line)
# where redis-sentinel is not installed. Everything is stopped however the test ends.
set -euo pipefail
: "${top_srcdir:?}" "${top_builddir:?}"
sentinel=$top_srcdir/scripts/sentinel.sh
if ! missing=$("$sentinel" check); then
    echo "SKIP: $missing"
    exit 77
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/mm-sentinel.XXXXXX")
cleanup() {
    local rc=$?
    "$sentinel" stop "$dir" >/dev/null 2>&1 || true
    if [ $rc -ne 0 ]; then
        for f in "$dir"/*.log; do [ -s "$f" ] && { echo "--- tail of $f"; tail -n 15 "$f"; }; done
    fi
    rm -rf "$dir"
    exit $rc
}
trap cleanup EXIT INT TERM

export MM_SENTINEL_DOWN_AFTER_MS=500 MM_SENTINEL_FAILOVER_TIMEOUT_MS=3000
timeout 60 "$sentinel" start "$dir"
# shellcheck disable=SC1091
. "$dir/sentinel.env"
export MM_SENTINEL_MASTER MM_SENTINEL_PRIMARY_PORT MM_SENTINEL_REPLICA_PORTS MM_SENTINEL_PORTS
export MM_SENTINEL_SH=$sentinel MM_SENTINEL_DIR=$dir
MM_RO_PRIMARY_PORT=$("$sentinel" redis "$dir")
MM_RO_REPLICA_PORT=$("$sentinel" redis "$dir" "$MM_RO_PRIMARY_PORT")
MM_RO_SENTINEL_PORT=${MM_SENTINEL_PORTS%% *}
export MM_RO_PRIMARY_PORT MM_RO_REPLICA_PORT MM_RO_SENTINEL_PORT
for _ in $(seq 50); do
    redis-cli -p "$MM_RO_REPLICA_PORT" info replication | grep -q master_link_status:up && break
    sleep 0.1
done
cli() { timeout 5 redis-cli -h 127.0.0.1 -p "$MM_RO_SENTINEL_PORT" "$@" >/dev/null; }
# quorum 1, and never failed over on its own: the test moves it by hand
cli sentinel monitor ro 127.0.0.1 "$MM_RO_PRIMARY_PORT" 1
cli sentinel set ro down-after-milliseconds 60000
timeout --kill-after=10 "${MM_TEST_TIMEOUT:-120}" "$top_builddir/tests/integration/test_sentinel"
