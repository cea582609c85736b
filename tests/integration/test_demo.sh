#!/bin/sh
# The README's demo round, start to end, against a fresh private stack.
exec "$top_srcdir/tests/integration/with_stack.sh" "$top_srcdir/scripts/demo.sh"
