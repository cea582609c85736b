#!/bin/sh
# The live lobby through a private stack's nginx (nchan): tests/integration/test_live.c.
exec "$top_srcdir/tests/integration/with_stack.sh" "$top_builddir/tests/integration/test_live"
