#!/usr/bin/env bash
# The name scripts/hot-functions.txt lists a function under: its symbol demangled, without
# the hashes Rust puts into symbols (v0's crate disambiguators `[0123456789abcdef]`, the
# legacy scheme's trailing `::h0123456789abcdef`), which change with the compiler, the
# profile and every dependency. Symbols on stdin, one per line; one name per line out, in
# the same order. Used by hot-functions.sh (making the list) and link-hot-first.sh (using it).
set -euo pipefail
c++filt | sed -E 's/\[[0-9a-f]{16}\]//g; s/::h[0-9a-f]{16}$//'
