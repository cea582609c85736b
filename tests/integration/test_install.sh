#!/usr/bin/env bash
# The deployment guide's install step, into a staging tree: every file the
# guide's table names is installed where it says, installed files name the
# real paths (nothing left to substitute), the installed programs run, the
# sample config passes the check, nginx accepts the server block and the
# dedicated host's nginx.conf, and the systemd units verify (systemd-analyze
# when present, else a field check).
set -euo pipefail
guide=$top_srcdir/docs/DEPLOYMENT.md
stage=$(mktemp -d /tmp/mm-install.XXXXXX)
trap 'rm -rf "$stage"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

make -s -C "$top_builddir" install DESTDIR="$stage" prefix=/usr sysconfdir=/etc \
    >"$stage.log" 2>&1 || { cat "$stage.log"; rm -f "$stage.log"; fail "make install"; }
rm -f "$stage.log"

# 1. the guide's table of installed files
paths=$(sed -n 's/^| `\(\/[^`]*\)` |.*/\1/p' "$guide")
[ "$(echo "$paths" | wc -l)" -ge 8 ] || fail "no table of installed files in the guide"
for p in $paths; do
    [ -f "$stage$p" ] || fail "$p is in the guide but not installed"
done
echo "ok: $(echo "$paths" | wc -l) files where the guide says"

# 2. nothing left unsubstituted, no build-tree paths
if grep -rl '@[a-z_]*@' "$stage/etc" "$stage/usr/lib/systemd"; then
    fail "unsubstituted @...@ in installed files"
fi
if grep -rl "$top_builddir\|$top_srcdir" "$stage/etc" "$stage/usr/lib/systemd"; then
    fail "installed files name the build tree"
fi

# 3. the programs run and the sample config is valid once it has a secret (without
# one, they refuse to start and say why: SPEC 11)
sample=$stage/etc/matchmaker/matchmaker.sample.json
if "$stage/usr/bin/matchmaker-fcgi" -t -c "$sample" 2>"$stage/refusal"; then
    fail "the sample config, which has no secret, was accepted"
fi
grep -q "no secret_key is set" "$stage/refusal" || fail "the refusal does not name the secret"
MATCHMAKER_SECRET_KEY=0123456789abcdef0123456789abcdef \
    "$stage/usr/bin/matchmaker-fcgi" -t -c "$sample" |
    grep -q "configuration ok" || fail "sample config refused"
"$stage/usr/bin/matchmaker-worker" -h | grep -q usage || fail "worker does not run"
"$stage/usr/bin/matchmaker-token" -h 2>&1 | grep -qi usage || fail "token tool does not run"

# 3b. the live lobby: the programs publish where nginx listens, in the folder tmpfiles.d makes
publisher=$(sed -n 's/.*"lobby_publisher": "unix:\(.*\)".*/\1/p' "$sample")
grep -q "listen unix:$publisher;" "$stage/etc/matchmaker/nginx/matchmaker-server.conf" ||
    fail "the sample's lobby_publisher ($publisher) is not the nginx block's publisher socket"
grep -q "^d ${publisher%/*} 0750 root matchmaker" "$stage/usr/lib/tmpfiles.d/matchmaker.conf" ||
    fail "tmpfiles.d does not make the publisher socket's folder ${publisher%/*}"
[ -f "$stage/usr/share/matchmaker/lobby/index.html" ] &&
    grep -q 'set $matchmaker_lobby_root /usr/share/matchmaker;' \
        "$stage/etc/matchmaker/nginx/matchmaker-server.conf" ||
    fail "the nginx block does not serve the installed lobby page"

# 4. nginx accepts the server block (its include pointed into the stage), and
# the whole nginx.conf for a dedicated host; that file's process and connection
# numbers are the local stack's (whose numbers the tests measure)
nginx_bin=${MM_NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
ngdir=$stage/etc/matchmaker/nginx
sed -i "s|include /etc/matchmaker/|include $stage/etc/matchmaker/|" \
    "$ngdir/matchmaker-server.conf" "$ngdir/matchmaker-nginx.conf"
for key in worker_processes worker_rlimit_nofile worker_connections; do
    shipped=$(sed -n "s/^ *$key \([^;]*\);.*/\1/p" "$ngdir/matchmaker-nginx.conf")
    local_=$(sed -n "s/^ *$key \([^;]*\);.*/\1/p" "$top_srcdir/nginx/nginx-local.conf.in")
    [ -n "$shipped" ] && [ "$shipped" = "$local_" ] ||
        fail "$key: '$shipped' in matchmaker-nginx.conf, '$local_' in the local stack's"
done
echo "ok: the shipped and local nginx hold the same process and connection numbers"
if [ -x "$nginx_bin" ]; then
    # (nginx -t binds the publisher's unix socket: its folder is the stage)
    sed -i -e "s|listen unix:/run/matchmaker-live/|listen unix:$stage/|" "$ngdir/matchmaker-server.conf"
    # Debian's nginx loads the live lobby's module through modules-enabled/
    nchan=${MM_NCHAN_MODULE:-/usr/lib/nginx/modules/ngx_nchan_module.so}
    cat >"$stage/nginx.conf" <<CONF
load_module $nchan;
pid $stage/nginx.pid;
error_log stderr;
events {}
http { include $ngdir/matchmaker-server.conf; }
CONF
    "$nginx_bin" -t -p "$stage" -c "$stage/nginx.conf" 2>&1 | grep -q "test is successful" ||
        { "$nginx_bin" -t -p "$stage" -c "$stage/nginx.conf"; fail "nginx refuses the server block"; }
    echo "ok: nginx -t accepts the server block"
    # the dedicated host's nginx.conf, with the system's paths moved into the stage
    sed -e "s|/run/nginx.pid|$stage/nginx.pid|" -e "s|/var/log/nginx/|$stage/|" \
        -e "s|^include /etc/nginx/modules-enabled/.*|load_module $nchan;|" \
        -e "s|/etc/nginx/mime.types|$stage/mime.types|" \
        "$ngdir/matchmaker-nginx.conf" >"$stage/nginx-host.conf"
    echo 'types { application/json json; }' >"$stage/mime.types"
    "$nginx_bin" -t -p "$stage" -c "$stage/nginx-host.conf" 2>&1 | grep -q "test is successful" ||
        { "$nginx_bin" -t -p "$stage" -c "$stage/nginx-host.conf"; fail "nginx refuses matchmaker-nginx.conf"; }
    echo "ok: nginx -t accepts matchmaker-nginx.conf"
fi

# 5. the systemd units
units="$stage/usr/lib/systemd/system/matchmaker-fcgi.service
$stage/usr/lib/systemd/system/matchmaker-fcgi-gs.service
$stage/usr/lib/systemd/system/matchmaker-worker@.service"
for u in $units; do
    for key in '^\[Unit\]' '^\[Service\]' '^\[Install\]' '^Description=' '^ExecStart=' \
        '^User=matchmaker' '^Restart=' '^WantedBy=multi-user.target'; do
        grep -q "$key" "$u" || fail "$(basename "$u") lacks $key"
    done
    # every program a unit starts is one the install put there (or a package's)
    for prog in $(sed -n 's/^ExecStart\(Pre\)\?=[-+!@]*\([^ ]*\).*/\2/p' "$u"); do
        case $prog in
        /usr/bin/matchmaker-*) [ -x "$stage$prog" ] || fail "$(basename "$u") runs $prog: not installed" ;;
        /usr/bin/spawn-fcgi | /usr/bin/multiwatch) ;;
        *) fail "$(basename "$u") runs an unexpected program $prog" ;;
        esac
    done
done
for pair in matchmaker-fcgi:fcgi.sock matchmaker-fcgi-gs:fcgi-gs.sock; do
    unit=${pair%%:*} sock=${pair#*:}
    grep -q -- "-s /run/matchmaker/$sock" "$stage/usr/lib/systemd/system/$unit.service" &&
        grep -q "unix:/run/matchmaker/$sock" "$ngdir/matchmaker-server.conf" ||
        fail "the unit $unit and the nginx block disagree on the socket"
    # multiwatch exits 0 after a crash loop: only Restart=always starts it again
    grep -q '^Restart=always$' "$stage/usr/lib/systemd/system/$unit.service" ||
        fail "$unit.service does not restart whatever the exit status"
done
if command -v systemd-analyze >/dev/null; then
    # verified on copies that start the staged programs
    v=$stage/verify
    mkdir -p "$v"
    sed "s|/usr/bin/matchmaker-|$stage/usr/bin/matchmaker-|g" \
        "$stage/usr/lib/systemd/system/matchmaker-fcgi.service" >"$v/matchmaker-fcgi.service"
    sed "s|/usr/bin/matchmaker-|$stage/usr/bin/matchmaker-|g" \
        "$stage/usr/lib/systemd/system/matchmaker-fcgi-gs.service" >"$v/matchmaker-fcgi-gs.service"
    sed "s|/usr/bin/matchmaker-|$stage/usr/bin/matchmaker-|g" \
        "$stage/usr/lib/systemd/system/matchmaker-worker@.service" >"$v/matchmaker-worker@1.service"
    out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$v/matchmaker-fcgi.service" \
        "$v/matchmaker-fcgi-gs.service" "$v/matchmaker-worker@1.service" 2>&1) || true
    # programs of packages this machine may lack are not the units' fault
    if echo "$out" | grep "matchmaker" | grep -v "/usr/bin/\(spawn-fcgi\|multiwatch\) is not executable"; then
        fail "systemd-analyze verify complained (above)"
    fi
    echo "ok: systemd-analyze verify"
else
    echo "ok: unit fields checked (systemd-analyze not installed)"
fi
