#!/usr/bin/env bash
# Generates the build system if needed and builds in the source tree.
# Extra arguments go to ./configure (e.g. --enable-sanitizers); the tree is
# reconfigured whenever they differ from those it was configured with, so
# "scripts/build.sh" after a sanitizer build gives the normal build again.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x configure ]; then
    ./autogen.sh >/dev/null 2>&1 || ./autogen.sh
fi
words() { tr ' ' '\n' | tr -d "'" | { grep -v -e '^-q$' -e '^$' || true; } | sort | tr '\n' ' '; }
want=$(printf '%s\n' "$@" | words)
have=$( (./config.status --config 2>/dev/null || echo "not configured") | words)
if [ ! -f Makefile ] || [ "$want" != "$have" ]; then
    ./configure -q "$@"
    make -s clean # objects do not depend on the configured flags
    # nor do the results of another configuration's tests belong to this one
    find tests \( -name '*.log' -o -name '*.trs' \) -delete
fi
make -s -j"$(nproc)"
