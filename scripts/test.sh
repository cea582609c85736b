#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs every
# test (unit and integration) with 'make check'. Extra arguments go to
# ./configure, e.g. scripts/test.sh --enable-sanitizers, or
# scripts/test.sh CC=clang --enable-fuzzing to run the fuzz targets instead.
set -euo pipefail
cd "$(dirname "$0")/.."
case " $* " in *" --enable-fuzzing "*) export MM_WITH_FUZZ=1 ;; esac
scripts/install-deps.sh
scripts/build.sh "$@"
if ! make -s -j"$(nproc)" check; then
    for f in $(find tests -name '*.log' ! -name test-suite.log); do
        if grep -q '^FAIL\|^ERROR' "${f%.log}.trs" 2>/dev/null; then
            echo "===== $f"
            tail -n 60 "$f"
        fi
    done
    tests/summary.sh tests || true
    exit 1
fi
