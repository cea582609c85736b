#!/bin/sh
# Prints a per-file line-coverage table for the sources in $1 and its folders
# (after a 'make check' of a --enable-coverage build), and the total.
dir=${1:-fcgi_app}
cd "$dir" || exit 1
printf '%-28s %8s %8s %7s\n' file lines covered percent
for gcda in *.gcda */*.gcda; do
    [ -f "$gcda" ] || continue
    gcov -n -o "$(dirname "$gcda")" "$gcda" 2>/dev/null
done | awk '
    /^File / { f = $2; gsub(/\x27/, "", f); next }
    /^Lines executed:/ {
        split($2, a, "%"); pct = substr(a[1], 10) + 0; n = $4 + 0
        if (f ~ /\.c$/ && f !~ /^\// && !(f in seen)) {
            seen[f] = 1; sub(/.*\//, "", f)
            cov = int(pct * n / 100 + 0.5); tl += n; tc += cov
            printf "%-28s %8d %8d %6.1f%%\n", f, n, cov, pct
        }
    }
    END { if (tl > 0) printf "%-28s %8d %8d %6.1f%%\n", "TOTAL", tl, tc, 100 * tc / tl }'
