#!/bin/sh
# The circuit breaker: a short cooldown so the trial comes soon, three processes
# in the game-server pool so refusals come from several, and a third product,
# exduel, on a game server of its own.
MM_GS_COOLDOWN_MS=2000 MM_FCGI_GS_PROCS=3 MM_GS2_PRODUCT=exduel
export MM_GS_COOLDOWN_MS MM_FCGI_GS_PROCS MM_GS2_PRODUCT
exec "$top_srcdir/tests/integration/with_stack.sh" "$top_builddir/tests/integration/test_breaker"
