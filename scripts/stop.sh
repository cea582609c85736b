#!/usr/bin/env bash
# Stops the local stack started by scripts/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export MM_RUN_DIR=${MM_RUN_DIR:-${TMPDIR:-/tmp}/matchmaker-$(id -un)}
scripts/stack.sh stop
echo "stopped (logs kept in $MM_RUN_DIR)"
