#!/usr/bin/env bash
# The live lobby on two nginx hosts (SPEC 13): both share their channels through Redis
# (nchan_redis_url, as docs/DEPLOYMENT.md configures it), so a subscriber on one host
# gets the changes made through the other. Host A is the test stack's nginx; host B a
# second nginx on the same machine, in front of the same pool. nchan speaks to Redis
# over TCP only: the stack's Redis gets a free loopback port, nchan its database 2.
set -euo pipefail
: "${top_srcdir:?}" "${top_builddir:?}"
if ! missing=$("$top_srcdir/scripts/stack.sh" check); then
    echo "SKIP: $missing"
    exit 77
fi

. "$top_srcdir/tests/integration/free_port.sh"
port=$(free_port) || { echo "no free port" >&2; exit 1; }

# Both hosts' nginx.conf: the local stack's, sharing channels through that Redis
# with the two lines docs/DEPLOYMENT.md adds to the http block. One worker per host:
# each nginx worker has a link to Redis of its own, up some time after nginx starts
# (subscriptions answer 503 until then), and the test waits until each host answers
# a subscription; with one worker, an answer says the host's link is up.
template=$(mktemp "${TMPDIR:-/tmp}/mm-live-hosts.XXXXXX")
trap 'rm -f "$template"' EXIT
sed -e "s|^http {|http {\n    nchan_redis_url redis://127.0.0.1:$port/2;\n    nchan_use_redis on;|" \
    -e "s|^worker_processes .*|worker_processes 1;|" \
    "$top_srcdir/nginx/nginx-local.conf.in" >"$template"
grep -q nchan_redis_url "$template" || { echo "no http block in the template" >&2; exit 1; }
grep -q "^worker_processes 1;" "$template" || { echo "no worker_processes line" >&2; exit 1; }

export MM_TEST_REDIS_PORT=$port MM_NGINX_TEMPLATE=$template MM_LIVE_TEMPLATE=$template
"$top_srcdir/tests/integration/with_stack.sh" "$top_srcdir/tests/integration/second_host.sh" \
    "$top_builddir/tests/integration/test_live_hosts"
