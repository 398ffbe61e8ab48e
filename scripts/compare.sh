#!/usr/bin/env bash
# Compares two tacosgen binaries stage by stage: runs them in turn (A, B, A, B, ...) on the
# same spec and prints the median and minimum of each stage (TACOSGEN_TIMINGS=1) and of the
# whole process. On a shared VM the wall time of one binary moves by 20-40 % between
# minutes; interleaving puts both binaries in the same minutes, so their difference is
# what this shows.
#
#   scripts/compare.sh OLD NEW [SPEC] [RUNS] [COMMAND]
#       (default: a 1,000-service synthetic spec, 15 runs, build)
#   scripts/compare.sh old/tacosgen target/release/tacosgen environments/prod.yaml 40
#   scripts/compare.sh old/tacosgen target/release/tacosgen environments/prod.yaml 40 check
#
# `build` writes a fresh out/ each run, in a scratch directory; `check` compares with an
# out/ the new binary built first. Build the two binaries first, e.g. with `git worktree`
# for the old commit.
set -euo pipefail

[[ $# -ge 2 ]] || { echo "usage: scripts/compare.sh OLD NEW [SPEC] [RUNS] [build|check]" >&2; exit 2; }
old=$(realpath "$1") new=$(realpath "$2")
runs=${4:-15}
command=${5:-build}
[[ $command == build || $command == check ]] || { echo "compare.sh: build or check, not $command" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/environments"
if [[ $# -ge 3 ]]; then
    cp -r "$(dirname "$(realpath "$3")")"/. "$scratch/environments/"
    spec="environments/$(basename "$3")"
else
    (cd "$repo" && cargo build --quiet --example synth)
    "$repo/target/debug/examples/synth" 1000 >"$scratch/environments/synth.yaml"
    spec=environments/synth.yaml
fi
git -C "$scratch" init -q # the repository root that relative paths start from

cd "$scratch"
[[ $command == build ]] || "$new" build -q "$spec"
for ((i = 0; i < runs; i++)); do
    for bin in "$old" "$new"; do
        [[ $command == check ]] || rm -rf out
        start=$(date +%s%N)
        TACOSGEN_TIMINGS=1 "$bin" "$command" -q "$spec" 2>"timings" >/dev/null
        end=$(date +%s%N)
        tag=$([[ $bin == "$old" ]] && echo old || echo new)
        sed -n 's/^timing: \([a-z]*\) *\([0-9.]*\) ms\( .*\)\{0,1\}$/\1 \2/p' timings | while read -r stage ms; do
            echo "$tag $stage $ms"
        done >>all
        echo "$tag process $(((end - start) / 1000))e-3" >>all
    done
done

echo "$command $spec, $runs interleaved runs each (ms; median / minimum)"
printf '%-10s %18s %18s\n' stage old new
for stage in load validate plan render verify stage compare emit process; do
    row=$stage
    for tag in old new; do
        row+=" $(awk -v t="$tag" -v s="$stage" '$1 == t && $2 == s { print $3 + 0 }' all | sort -g |
            awk '{ v[NR] = $1 } END { if (NR) printf "%.1f/%.1f", v[int((NR + 1) / 2)], v[1]; else printf "-" }')"
    done
    printf '%-10s %18s %18s\n' $row
done
