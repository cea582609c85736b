#!/bin/sh
# Overload drills: exslow, a third product, on a second test game server (the
# one that hangs); four processes in the game-server pool.
MM_GS2_PRODUCT=exslow MM_FCGI_GS_PROCS=4
export MM_GS2_PRODUCT MM_FCGI_GS_PROCS
exec "$top_srcdir/tests/integration/with_stack.sh" "$top_builddir/tests/integration/test_overload"
