#!/bin/sh
exec "$top_srcdir/tests/integration/with_stack.sh" "$top_builddir/tests/integration/test_nginx"
