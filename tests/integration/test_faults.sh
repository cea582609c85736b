#!/bin/sh
# Fault drills; four FastCGI processes so a kill leaves a pool to answer.
MM_FCGI_PROCS=4
export MM_FCGI_PROCS
exec "$top_srcdir/tests/integration/with_stack.sh" "$top_builddir/tests/integration/test_faults"
