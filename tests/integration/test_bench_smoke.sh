#!/bin/sh
# The benchmark harness in miniature (scripts/bench.sh --smoke, 1 s per
# scenario, one pool size, no callgrind): every scenario must make requests
# and none may answer non-2xx, and the shipped micro-cache must keep only the
# 200s of open_games, per product and query string. Skipped without wrk or a
# program the stack needs.
if ! command -v wrk >/dev/null 2>&1; then
    echo "SKIP: wrk not found: install it (Debian package wrk)"
    exit 77
fi
if ! missing=$("$top_srcdir/scripts/stack.sh" check); then
    echo "SKIP: $missing"
    exit 77
fi
MM_BUILD_DIR=$top_builddir exec "$top_srcdir/scripts/bench.sh" --smoke
