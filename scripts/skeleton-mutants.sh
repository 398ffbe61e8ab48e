#!/usr/bin/env bash
# Removes or weakens each check of verify's skeleton matcher (src/skeleton.rs) in turn and runs
# its tests: every such mutant must make them fail, or the tests do not hold the matcher to
# the parser (BENCHMARKS.md, step 54). Works on a copy of the tracked files; ~10 minutes.
#
#   bash scripts/skeleton-mutants.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
git ls-files -z | xargs -0 cp --parents -t "$copy"

# One sed expression per mutant, each applied to the pristine file.
mutants=(
    's/&& scan_plain(s) == (s, false)/\&\& true/'                     # `: `, ` #` in a plain scalar
    's/^\( *\)\&\& class_is(s, class);$/\1\&\& true;/'                  # another class (line)
    's/!s.ends_with(. .)/true/'                                         # trailing space
    's/let plain = plain_start(s.as_bytes())/let plain = true/'         # indicators first
    's/\[b.-., c, ..\] => \*c != b. .,/[b'"'"'-'"'"', ..] => true,/'    # `- x` is an entry
    's/let plain = !matches!(s, "" | "-") \&\& /let plain = !s.is_empty() \&\& /'  # lone `-` token
    's/let plain = !matches!(s, "" | "-") \&\& /let plain = s != "-" \&\& /'       # empty token
    's/ \&\& !s.starts_with(\[.%., .@.\]) \&\& class_is/ \&\& class_is/'            # `%`, `@` first
    's/\]) \&\& class_is(s, class);/]) \&\& true;/'                      # another class (token)
    's/if rest.first() != Some(&q) {/if false {/'                       # the quote itself
    "s/find2(d, j + 1, b'\"', b'\\\\\\\\')/find2(d, j + 1, b'\"', b'\"')/"  # escapes
    's/.filter(|&e| d\[e\] == b.".)?,/?,/'                               # escapes, again
    's/(rest.first() == Some(&b.#.)).then_some(())?;//'                 # a comment is a comment
    's/    clean(s).then_some((s, end))/    Some((s, end))/'           # forbidden characters
    's/ \& (c != 0x7f)//'                                               # DEL
    's/ \& (c != 0xc2)//'                                               # C1 controls
    's/ \& (c != 0xe2)//'                                               # LS, PS
    's/ \& (c != 0xef)//'                                               # BOM, U+FFFE/F
    's/ok \& (c >= 0x20)/ok/'                                           # C0 controls, tab
    's/(1..=9)/(1..=10)/'                                               # i32 short cut
    's/if i + same < hole.start {/if false {/'                          # bytes between holes
    's/(i + same == k.len() \&\& j + same == d.len())/(i + same == k.len())/'  # the tail
    's/out\[field\] = Some(hole_at(doc, at, hole.kind)?.0);/out[field] = None;/'  # skipped fields
    's/return i + (x ^ y).trailing_zeros() as usize \/ 8;/return i;/'  # common_prefix
)

survived=0
for m in "${mutants[@]}"; do
    cp "$repo/src/skeleton.rs" "$copy/src/skeleton.rs"
    sed -i "$m" "$copy/src/skeleton.rs"
    if cmp -s "$repo/src/skeleton.rs" "$copy/src/skeleton.rs"; then
        echo "skeleton-mutants: does not apply (update the list): $m" >&2
        exit 2
    fi
    if (cd "$copy" && CARGO_TARGET_DIR="$repo/target/mutants" cargo test --quiet --lib skelet \
        >/dev/null 2>&1); then
        echo "survived: $m"
        survived=$((survived + 1))
    else
        echo "killed:   $m"
    fi
done
echo "${#mutants[@]} mutants, $survived survived"
((survived == 0))
