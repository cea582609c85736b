#!/usr/bin/env bash
# Every function and constant the programs' headers (fcgi_app/*/*.h) declare is
# used by a program: named in their sources (fcgi_app/, the test game server)
# somewhere besides its declaration and definition. What only the tests use
# is test code in the programs: it goes, or the tests test what the programs
# do use. A name mentioned in a comment counts as used: the check can miss
# dead code, never call live code dead.
set -euo pipefail
: "${top_srcdir:?}" "${top_builddir:?}"
# Known and left to the change under way in their files: mm_rconn_generation
# (dead); mm_store_get, mm_store_reserve_seat, mm_gs_client_connects (used by
# the tests alone); mm_rconn_new (a connection to a plain URL: the programs make
# theirs from a target, which may name sentinels; the tests and callers without
# sentinels keep using it).
allowed=" mm_store_get mm_store_reserve_seat mm_gs_client_connects mm_rconn_new "

cd "$top_srcdir"
sources=(fcgi_app/*/*.c fcgi_app/*/*.h tests/gameserver/*.c)
generated=$top_builddir/fcgi_app/store/store_scripts.c # made at build time
[ -f "$generated" ] && sources+=("$generated")

# uses NAME: how many times NAME stands as a word in the programs' sources.
uses() { cat "${sources[@]}" | grep -ow -- "$1" | wc -l; }

dead=""
# functions: declared (a name followed by "(") on a line of a header that is
# not a macro; a declaration and a definition are two mentions
for name in $(grep -hv '^#' fcgi_app/*/*.h | grep -o '\bmm_[a-z0-9_]*(' | tr -d '(' | sort -u); do
    case $allowed in *" $name "*) continue ;; esac
    [ "$(uses "$name")" -gt 2 ] || dead="$dead $name"
done
# macros, function-like or not: the definition is one mention
for name in $(sed -n 's/^#define \([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' fcgi_app/*/*.h | sort -u); do
    case $name in MM_*_H) continue ;; esac # include guards
    case $allowed in *" $name "*) continue ;; esac
    [ "$(uses "$name")" -gt 1 ] || dead="$dead $name"
done
if [ -n "$dead" ]; then
    echo "FAIL: declared for the programs, used by none of them:$dead" >&2
    exit 1
fi
echo "ok: every function and macro of fcgi_app/*/*.h is used by a program"
