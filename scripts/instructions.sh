#!/usr/bin/env bash
# Instructions executed by `tacosgen build` and `tacosgen check` for the seed and a synthetic
# spec of 1,000 services, counted by valgrind's callgrind (BENCHMARKS.md). Unlike wall time on
# a shared VM, the count is the same on every run of the same binary, so two commits can be
# compared on any machine:
#
#   scripts/instructions.sh                     the working tree (release build without LTO)
#   TACOSGEN_BIN=path scripts/instructions.sh   a given binary, e.g. one built from an older commit
#
# Both commands run with `out/` up to date (nothing written), as a pre-commit check does.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

command -v valgrind >/dev/null || {
    echo "instructions: valgrind is missing; install it with: apt-get install valgrind" >&2
    exit 2
}
if [[ -z ${TACOSGEN_BIN:-} ]]; then
    # Without LTO (the count moves by a few percent with inlining, and this builds in a
    # fraction of the time), with frame pointers and line tables for `callgrind_annotate`,
    # statically linked like the shipped binary. The counts in BENCHMARKS.md come from this
    # build; compare binaries built the same way.
    host=$(rustc -vV | sed -n 's/^host: //p')
    flags="-C force-frame-pointers=yes"
    [[ $host == *-linux-gnu ]] && flags+=" -C target-feature=+crt-static"
    RUSTFLAGS=$flags CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
        CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_TARGET_DIR=$repo/target/instructions \
        cargo build --release --quiet --bin tacosgen --target "$host"
    TACOSGEN_BIN=$repo/target/instructions/$host/release/tacosgen
fi
bin=$(realpath "$TACOSGEN_BIN")
cargo build --quiet --example synth

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/.git" "$dir/environments" # .git: the repository root names specs in headers
cp environments/*.yaml "$dir/environments/"
"$repo/target/debug/examples/synth" 1000 >"$dir/environments/synth.yaml"
cd "$dir"

count() { # count COMMAND SPEC: instructions of one run, in millions
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" -q "$2" 2>&1 >/dev/null |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | awk '{printf "%.1f", $1 / 1e6}'
}
echo "| spec | build (M instructions) | check (M instructions) |"
echo "|---|---:|---:|"
for spec in environments/prod.yaml environments/synth.yaml; do
    "$bin" build -q "$spec" # bring out/ up to date
    echo "| $spec | $(count build "$spec") | $(count check "$spec") |"
done
