#!/usr/bin/env bash
# configure refuses an OpenSSL older than 3.0 (the JWT code uses the EVP_MAC
# interface and core_names.h, both new in 3.0) with one line naming the
# Debian package, and accepts 3.0. It runs a copy of configure in a scratch
# directory, with pkg-config shown a libcrypto.pc of the version under test
# ahead of the real one; only the dependency checks matter, so the copy
# stops for want of the Makefile template once they pass.
set -euo pipefail
: "${top_srcdir:?}"
if [ ! -x "$top_srcdir/configure" ]; then
    echo "SKIP: no configure script in $top_srcdir (run ./autogen.sh)"
    exit 77
fi
real_pc=$(pkg-config --path libcrypto 2>/dev/null) || {
    echo "SKIP: pkg-config knows no libcrypto"
    exit 77
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mm-configure.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# configure_with VERSION: runs the copy with libcrypto at VERSION; its
# output is in $tmp/VERSION/out.
configure_with() {
    local dir=$tmp/$1
    mkdir -p "$dir/pc" "$dir/fcgi_app/lobby"
    cp "$top_srcdir/configure" "$dir/"
    cp -r "$top_srcdir/build-aux" "$dir/"
    : >"$dir/fcgi_app/lobby/main.c"
    sed "s/^Version:.*/Version: $1/" "$real_pc" >"$dir/pc/libcrypto.pc"
    (cd "$dir" && PKG_CONFIG_PATH="$dir/pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
        ./configure -q >out 2>&1)
}

# configure_with VERSION fails either way; how far it got tells the two apart.
configure_with 1.1.1w || true
if grep -q "Makefile.in" "$tmp/1.1.1w/out"; then
    fail "configure accepted libcrypto 1.1.1w"
fi
grep -q "libcrypto.*3\.0.*libssl-dev" "$tmp/1.1.1w/out" ||
    { cat "$tmp/1.1.1w/out"; fail "the refusal does not name OpenSSL 3.0 and libssl-dev"; }
echo "ok: libcrypto 1.1.1w refused: $(grep -i "error" "$tmp/1.1.1w/out" | head -n 1)"

configure_with 3.0.0 || true
if ! grep -q "Makefile.in" "$tmp/3.0.0/out" || grep -qi "libcrypto\|openssl" "$tmp/3.0.0/out"; then
    cat "$tmp/3.0.0/out"
    fail "libcrypto 3.0.0 refused, or configure stopped before the end of its checks"
fi
echo "ok: libcrypto 3.0.0 accepted"
