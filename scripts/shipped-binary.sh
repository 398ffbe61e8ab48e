#!/usr/bin/env bash
# Builds tacosgen as shipped and prints the binary's path: the release profile (or the one
# given, e.g. `ci`), on Linux/glibc statically linked: no dynamic loader, no shared libraries
# to map and relocate (BENCHMARKS.md, step 9), and not position-independent, so the ~10,000
# relocations a static PIE applies to itself at start-up are not there either (step 14).
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros, which cannot be
# static. Used by scripts/bench.sh and scripts/floors.sh, so both time the same binary.
#
#   scripts/shipped-binary.sh [PROFILE]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
profile=${1:-release}
host=$(rustc -vV | sed -n 's/^host: //p')
flags=${RUSTFLAGS:-}
[[ $host == *-linux-gnu ]] && flags+=" -C target-feature=+crt-static -C relocation-model=static"
printf 'cargo build --profile %s --target %s (RUSTFLAGS=%s)\n' "$profile" "$host" "$flags" >&2
RUSTFLAGS=$flags cargo build --profile "$profile" --quiet --bin tacosgen --target "$host"
# cargo's output directory of a profile: dev and test build into debug, bench into release.
case $profile in dev | test) dir=debug ;; bench) dir=release ;; *) dir=$profile ;; esac
echo "$(pwd)/target/$host/$dir/tacosgen"
