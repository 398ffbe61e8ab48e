#!/usr/bin/env bash
# Builds tacosgen as shipped and prints the binary's path: the release profile (or the one
# given, e.g. `ci`), on Linux/glibc statically linked: no dynamic loader, no shared libraries
# to map and relocate (BENCHMARKS.md, step 9), and not position-independent, so the ~10,000
# relocations a static PIE applies to itself at start-up are not there either (step 14).
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros, which cannot be
# static. On x86_64 Linux, where rustc links with lld, the code a run executes is placed
# first (scripts/link-hot-first.sh, BENCHMARKS.md step 58). Used by scripts/bench.sh,
# scripts/floors.sh and scripts/hot-functions.sh, so all time the same binary.
#
#   scripts/shipped-binary.sh [PROFILE]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
profile=${1:-release}
host=$(rustc -vV | sed -n 's/^host: //p')
flags=${RUSTFLAGS:-}
[[ $host == *-linux-gnu ]] && flags+=" -C target-feature=+crt-static -C relocation-model=static"
linker=()
if [[ $host == x86_64-unknown-linux-gnu ]]; then
    # v0 symbol names spell out generic arguments, which the list matches on.
    flags+=" -C symbol-mangling-version=v0"
    linker=("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER=$(pwd)/scripts/link-hot-first.sh")
fi
printf 'cargo build --profile %s --target %s (RUSTFLAGS=%s %s)\n' "$profile" "$host" "$flags" "${linker[*]}" >&2
env "${linker[@]}" RUSTFLAGS="$flags" cargo build --profile "$profile" --quiet --bin tacosgen --target "$host"
# cargo's output directory of a profile: dev and test build into debug, bench into release.
case $profile in dev | test) dir=debug ;; bench) dir=release ;; *) dir=$profile ;; esac
bin=$(pwd)/target/$host/$dir/tacosgen
if ((${#linker[@]})); then
    # How much of the list this link found: the order file of the newest link of the binary
    # (empty if the linker was not lld).
    order=$(ls -t "$(dirname "$bin")"/deps/tacosgen-*.hot-first 2>/dev/null | head -1 || true)
    printf 'hot functions first: %s symbols of the %s functions in scripts/hot-functions.txt\n' \
        "$(wc -l <"${order:-/dev/null}")" "$(wc -l <scripts/hot-functions.txt)" >&2
fi
echo "$bin"
