#!/usr/bin/env bash
# The linker of the shipped binary (scripts/shipped-binary.sh sets it): links as rustc asks,
# then links tacosgen once more with the functions a run executes placed first in .text, in
# the order of scripts/hot-functions.txt (lld's --symbol-ordering-file). A seed check
# executes ~900 of the shipped binary's ~9,000 functions, which the linker spreads over its
# 10 MB of code; each first touch of another 64 KiB of it is a page fault that maps up to 16
# pages. Spread, the check's code lay in 99 such blocks (113 of its ~220 faults); packed,
# in 42 (BENCHMARKS.md, step 58; scripts/hot-functions.sh prints the count).
#
# The list names functions without the hashes Rust puts into symbols (function-key.sh), so
# it is matched here against the symbols of this very link: every symbol whose name is on
# the list. Symbols are v0-mangled (shipped-binary.sh), which names each generic instance by
# its arguments; std's own functions keep the legacy scheme, whose trailing hash goes too.
# Any other link (build scripts, proc macros) is left as is.
set -euo pipefail
cc "$@"
out='' prev=''
for arg in "$@"; do
    [[ $prev == -o ]] && out=$arg
    prev=$arg
done
[[ ${out##*/} == tacosgen-* && $out != *.so ]] || exit 0

list=$(dirname "${BASH_SOURCE[0]}")/hot-functions.txt
order=$out.hot-first
# The order file says what this link did (shipped-binary.sh counts its lines): empty when
# there is no list, or when rustc linked with another linker than lld (before Rust 1.90, or
# configured so), which has no --symbol-ordering-file.
: >"$order"
[[ -s $list ]] && readelf -p .comment "$out" 2>/dev/null | grep -q 'Linker: LLD' || exit 0
nm --defined-only --just-symbols "$out" | LC_ALL=C sort -u >"$order.symbols"
# "position on the list <tab> symbol" for each symbol of a listed function, in list order.
"$(dirname "${BASH_SOURCE[0]}")"/function-key.sh <"$order.symbols" | paste "$order.symbols" - |
    awk -F '\t' 'NR == FNR { rank[$0] = FNR; next } ($2 in rank) { print rank[$2] "\t" $1 }' "$list" - |
    LC_ALL=C sort -n -s -k1,1 | cut -f2 >"$order"
rm "$order.symbols"
cc "$@" -Wl,--symbol-ordering-file="$order" -Wl,--no-warn-symbol-ordering
