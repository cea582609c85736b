#!/bin/sh
exec "$top_srcdir/tests/integration/with_stack.sh" --redis-only "$top_builddir/tests/integration/test_store"
