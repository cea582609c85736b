#!/usr/bin/env bash
# The lobby page in a real browser (SPEC 13): Debian's chromium, headless, driven by
# chromium-driver (WebDriver) against a private stack whose nginx also listens on a free
# loopback port (a browser cannot reach a unix socket). tests/integration/test_browser.c
# does the checking and leaves screenshots of the page beside this test's log:
# test_browser-lobby.png (desktop) and test_browser-lobby-phone.png.
set -euo pipefail
: "${top_srcdir:?}" "${top_builddir:?}"
chromium=${MM_CHROMIUM:-/usr/bin/chromium}
chromedriver=${MM_CHROMEDRIVER:-$(command -v chromedriver || echo /usr/bin/chromedriver)}
for p in "$chromium" "$chromedriver"; do
    [ -x "$p" ] || { echo "SKIP: $p not found: install chromium and chromium-driver"; exit 77; }
done
if ! missing=$("$top_srcdir/scripts/stack.sh" check); then
    echo "SKIP: $missing"
    exit 77
fi
. "$top_srcdir/tests/integration/free_port.sh"
http_port=$(free_port) && driver_port=$(free_port) && [ "$http_port" != "$driver_port" ] ||
    { echo "no free ports" >&2; exit 1; }

template=$(mktemp "${TMPDIR:-/tmp}/mm-browser.XXXXXX")
trap 'rm -f "$template"' EXIT
sed "s|^\( *\)listen @LISTEN@;|&\n\1listen 127.0.0.1:$http_port;|" \
    "$top_srcdir/nginx/nginx-local.conf.in" >"$template"
grep -q "listen 127.0.0.1:$http_port;" "$template" || { echo "no listen line" >&2; exit 1; }

export MM_NGINX_TEMPLATE=$template MM_TEST_HTTP_BASE=http://127.0.0.1:$http_port
export MM_TEST_CHROMIUM=$chromium MM_TEST_CHROMEDRIVER=$chromedriver
export MM_TEST_DRIVER_PORT=$driver_port MM_TEST_SHOTS=$top_builddir/tests/integration
"$top_srcdir/tests/integration/with_stack.sh" "$top_srcdir/tests/integration/with_browser.sh" \
    "$top_builddir/tests/integration/test_browser"
