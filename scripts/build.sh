#!/usr/bin/env bash
# Generates the build system if needed and builds in the source tree.
# Extra arguments go to ./configure (e.g. --enable-sanitizers) and force a
# reconfigure.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x configure ]; then
    ./autogen.sh >/dev/null 2>&1 || ./autogen.sh
fi
if [ ! -f Makefile ] || [ $# -gt 0 ]; then
    ./configure -q "$@"
    make -s clean # objects do not depend on the configured flags
fi
make -s -j"$(nproc)"
