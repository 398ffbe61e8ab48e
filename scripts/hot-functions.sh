#!/usr/bin/env bash
# Regenerates scripts/hot-functions.txt, the functions scripts/link-hot-first.sh places first
# in the shipped binary's code: every function that callgrind sees executed in a seed build
# (a fresh tree and an unchanged one), a seed check, and a 100-service build and check (from
# 64 services on, validate and plan run on both cores). Names are demangled without Rust's
# hashes (function-key.sh), so the list outlives compilers and dependency updates; rerun it
# when the code a run executes changes much (a function missing from the list still works,
# only from farther away). Either way it prints where a seed check's executed code lies in
# the binary (an empty list gives the linker's own layout, for comparison).
#
#   scripts/hot-functions.sh [PROFILE]     (default: release, the shipped build; needs valgrind)
#   scripts/hot-functions.sh --check [PROFILE]   only say which executed functions the
#       committed list lacks; exit 1 if over 2 % of them (which of a few sorting and
#       hashing functions run depends on how the threads interleave: one or two differ
#       between profiles of the same binary)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
check=0
[[ ${1:-} == --check ]] && { check=1; shift; }
command -v valgrind >/dev/null || { echo "hot-functions.sh needs valgrind: apt-get install valgrind" >&2; exit 2; }
bin=$(bash scripts/shipped-binary.sh "${1:-release}")
cargo build --quiet --example synth
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/seed/environments" "$work/s100/environments"
cp environments/*.yaml "$work/seed/environments/"
target/debug/examples/synth 100 >"$work/s100/environments/synth.yaml"
profile() { valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/cg.%p" "$@" "$bin" "$command" "${spec[@]}" >/dev/null 2>&1 || true; }
(cd "$work/seed" && command=build spec=(-q environments/prod.yaml) && profile && profile &&
    command=check spec=(environments/prod.yaml) && profile --dump-instr=yes --callgrind-out-file="$work/instructions")
(cd "$work/s100" && command=build spec=(-q environments/synth.yaml) && profile &&
    command=check spec=(environments/synth.yaml) && profile)

# Every executed instruction's address (`--dump-instr`: absolute `0x...` or relative to the
# previous one), against the binary's code segment: the pages and 64 KiB blocks a seed check
# executes code on. Each block's first touch is a page fault mapping up to 16 pages.
code=$(readelf -lW "$bin" | awk '$1 == "LOAD" && $7 == "R" && $8 == "E" { print $3, $6 }')
python3 - "$work/instructions" $code <<'PY' >&2
import sys
start = int(sys.argv[2], 16)
end = start + int(sys.argv[3], 16)
at, pages, blocks = 0, set(), set()
for line in open(sys.argv[1]):
    position = line.split(maxsplit=1)[0] if line[:1] in "0123456789+-*" else None
    if position is None or position == "*":
        continue
    at = int(position, 0) if position.startswith("0x") else at + int(position, 0)
    if start <= at < end:
        pages.add(at >> 12)
        blocks.add(at >> 16)
print(f"a seed check executes code on {len(pages)} of the binary's {(end - start) >> 12} "
      f"4 KiB code pages, in {len(blocks)} of its {((end - 1) >> 16) - (start >> 16) + 1} 64 KiB blocks")
PY

# `fn=(id) name` or, for a callee, `cfn=(id) name` names an executed function the first time
# a profile mentions it; `'2` marks a recursion level, functions without a symbol appear as
# addresses, and "(below main)" is valgrind's.
cat "$work"/cg.* "$work/instructions" | sed -n -E "s/^c?fn=\([0-9]+\) (.+)$/\1/p" | sed -E "s/'[0-9]+$//" |
    grep -v -E '^(0x[0-9a-f]+|\(below main\))$' |
    LC_ALL=C sort -u | scripts/function-key.sh >"$work/executed"
# glibc picks one of several versions of memcpy, strlen, ... for the CPU it starts on, and
# valgrind's CPU lacks AVX-512: every version of a string function that ran is listed.
grep -E '^__[a-z0-9]+_(sse|ssse3|avx|evex)' "$work/executed" | sed -E 's/_(sse|ssse3|avx|evex).*//' | LC_ALL=C sort -u |
    sed -E 's/^(.*)$/^\1_(sse|ssse3|avx|evex)/' >"$work/string-functions"
nm --defined-only --just-symbols "$bin" | grep -E -f "$work/string-functions" >>"$work/executed"
LC_ALL=C sort -u "$work/executed" >"$work/list"
if ((check)); then
    LC_ALL=C comm -23 "$work/list" scripts/hot-functions.txt >"$work/missing"
    echo "$(wc -l <"$work/missing") of $(wc -l <"$work/list") executed functions are not in scripts/hot-functions.txt" >&2
    head -20 "$work/missing" >&2
    (($(wc -l <"$work/missing") * 50 <= $(wc -l <"$work/list")))
    exit
fi
cp "$work/list" scripts/hot-functions.txt
echo "scripts/hot-functions.txt: $(wc -l <scripts/hot-functions.txt) functions" >&2
