#!/usr/bin/env bash
# Runs a test program with chromedriver listening on MM_TEST_DRIVER_PORT (loopback only),
# in a process group of its own, so that it and every browser it started end with the
# program however it ends. The browser's profile is a fresh folder of the stack's run
# directory (MM_TEST_BROWSER_PROFILE).
#   with_browser.sh TEST_PROGRAM [ARGS...]
set -euo pipefail
run=${MM_TEST_RUN_DIR:?}
export MM_TEST_BROWSER_PROFILE=$run/browser-profile
mkdir -p "$MM_TEST_BROWSER_PROFILE"
setsid "${MM_TEST_CHROMEDRIVER:?}" --port="${MM_TEST_DRIVER_PORT:?}" \
    --log-path="$run/chromedriver.log" >/dev/null 2>&1 &
driver=$!
stop() {
    local rc=$?
    kill -TERM -- "-$driver" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$driver" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$driver" 2>/dev/null || true
    exit $rc
}
trap stop EXIT INT TERM
"$@" # it waits for chromedriver's GET /status to say ready
