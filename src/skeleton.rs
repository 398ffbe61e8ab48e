//! Documents matched against a document of their shape instead of parsed: the fast path of
//! verify's fast path (see `verify::Shapes`).
//!
//! The documents of one shape in a large environment come from one template path, so they
//! share their text but for their one-line scalars and comments: a thousand Deployments
//! differ in names, numbers and a comment. Once a document's shape is known to be accepted,
//! its text becomes a [`Skeleton`]: the bytes every document of the shape repeats, and the
//! holes where they may differ. A later document matches when it has the same bytes between
//! the holes and, in each hole, a scalar of the same style and class (or a comment); it then
//! has the skeleton's shape and its identity is read from the holes, without parsing.
//! Parsing took ~1,100 instructions a line; a match is a byte comparison and a few checks a
//! hole (BENCHMARKS.md, step 54).
//!
//! Why a match means what a parse would mean: [`crate::fastyaml`] reads a document line by
//! line, and a line's role (key, entry, comment, collection) depends only on the lines
//! before it and its own bytes up to its value. Between holes the bytes are the skeleton's,
//! so the parser is in the skeleton's state at each hole; a hole's content is accepted only
//! where the parser reads it as one scalar that ends exactly where the skeleton's did
//! (checked below per kind, with the parser's own functions), of the class the shape
//! records, so the parser leaves it in the skeleton's state again. Anything else (an escape,
//! a `: ` or ` #` inside a plain scalar, a tab, another line count) is no match, and the
//! document is parsed as before. A test holds the matcher to the parser on thousands of
//! edited documents.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::fastyaml::{self, find2, scan_plain, token_byte};

/// Skeletons kept in all; documents that match none are scanned, as before.
const MAX_SKELETONS: usize = 64;
/// Skeletons kept per shape: documents of one shape whose text differs elsewhere than in
/// scalars and comments (a key quoted in one and not in another) would otherwise each add one.
const MAX_PER_SHAPE: usize = 4;

/// Where documents of a skeleton's shape may differ from its text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Hole {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    /// A plain scalar that ends its line, with its class (verify's `scalar_class`).
    Line(u8),
    /// A plain scalar of flow token characters ([`token_byte`]), followed by another byte
    /// (`,`, `]`, `}`, a space before a comment), with its class.
    Token(u8),
    /// A quoted scalar without escapes; the byte is its quote, `"` or `'`.
    Quoted(u8),
    /// A full-line comment, from its `#` to the end of its line.
    Comment,
}

/// Where a field of the identity comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    /// Not a string in documents of this skeleton.
    Absent,
    /// The same string in every document (it is not in a hole).
    Fixed(String),
    /// The string in this hole.
    Hole(usize),
}

/// A document whose shape was accepted: its text, its holes, and where its identity's fields
/// are (apiVersion, kind, metadata.namespace, metadata.name, as verify's `Scan` reads them).
#[derive(Debug)]
pub(crate) struct Skeleton {
    text: String,
    holes: Vec<Hole>,
    /// For each hole, the identity field read from it.
    roles: Vec<Option<usize>>,
    fields: [Field; 4],
    /// The shape's key, hashed (to count skeletons per shape).
    shape: u64,
}

impl Skeleton {
    /// The skeleton of `text`, given the holes of its scalars (in document order) and its
    /// identity's fields (`Field::Hole` numbering those holes) as a parse found them; `None`
    /// when it cannot be one: a tab, or holes that are not what they say in `text`.
    pub(crate) fn new(
        text: &str,
        scalars: Vec<Hole>,
        fields: [Field; 4],
        shape: u64,
    ) -> Option<Skeleton> {
        if text.contains('\t') {
            return None;
        }
        let mut roles = vec![None; scalars.len()];
        for (field, source) in fields.iter().enumerate() {
            if let Field::Hole(n) = *source {
                *roles.get_mut(n)? = Some(field);
            }
        }
        let mut holes: Vec<(Hole, Option<usize>)> = scalars.into_iter().zip(roles).collect();
        // Full-line comments: the parser skips every line whose first non-space byte is `#`
        // (no line of a learned document is inside a block scalar: those are not borrowed).
        let mut at = 0;
        for line in text.split_inclusive('\n') {
            let body = line.trim_start_matches(' ');
            if body.starts_with('#') {
                let start = at + line.len() - body.len();
                let end = at + line.trim_end_matches('\n').len();
                let kind = Kind::Comment;
                holes.push((Hole { start, end, kind }, None));
            }
            at += line.len();
        }
        holes.sort_by_key(|(h, _)| h.start);
        // Renumbered among all holes (every `Field::Hole` has its role).
        let mut fields = fields;
        for (n, (_, role)) in holes.iter().enumerate() {
            if let Some(field) = *role {
                fields[field] = Field::Hole(n);
            }
        }
        let skeleton = Skeleton {
            text: text.to_owned(),
            holes: holes.iter().map(|(h, _)| *h).collect(),
            roles: holes.iter().map(|(_, r)| *r).collect(),
            fields,
            shape,
        };
        // Holes that are not what they say (none are expected) leave the skeleton unmatched by
        // its own text.
        skeleton.matches(text).is_some().then_some(skeleton)
    }

    #[cfg(test)]
    pub(crate) fn holes(&self) -> &[Hole] {
        &self.holes
    }

    /// The identity fields of `doc` when it matches (see the module docs), else `None`.
    ///
    /// Most holes of a document hold what the skeleton's hold (labels, policies, most
    /// numbers): a hole is checked only where the document differs from the skeleton before
    /// the byte after it. Where it does not, the parser reads the same bytes in the same
    /// state, which the skeleton's own match showed to be a scalar of the hole's kind.
    pub(crate) fn matches<'a>(&'a self, doc: &'a str) -> Option<[Option<&'a str>; 4]> {
        let (k, d) = (self.text.as_bytes(), doc.as_bytes());
        let mut out = self.fields.each_ref().map(|f| match f {
            Field::Fixed(s) => Some(s.as_str()),
            Field::Absent | Field::Hole(_) => None,
        });
        // `k[i..i + same]` equals `d[j..j + same]`, and `same` is as long as it can be.
        let (mut i, mut j) = (0, 0);
        let mut same = common_prefix(k, d);
        for (hole, role) in self.holes.iter().zip(&self.roles) {
            let at = j + hole.start.checked_sub(i)?;
            if hole.end < i + same {
                if let Some(field) = *role {
                    out[field] = Some(hole_at(doc, at, hole.kind)?.0);
                }
                continue;
            }
            if i + same < hole.start {
                return None;
            }
            let (value, end) = hole_at(doc, at, hole.kind)?;
            if let Some(field) = *role {
                out[field] = Some(value);
            }
            (i, j) = (hole.end, end);
            same = common_prefix(k.get(i..)?, d.get(j..)?);
        }
        (i + same == k.len() && j + same == d.len()).then_some(out)
    }
}

/// How many bytes `a` and `b` share at their start: 32 at a time (vector compares), then
/// eight at a time, the first differing byte found as the lowest set bit of the words' xor.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 32 <= n && a[i..i + 32] == b[i..i + 32] {
        i += 32;
    }
    let word = |s: &[u8], i: usize| {
        s.get(i..i + 8)
            .and_then(|w| w.try_into().ok())
            .map(u64::from_le_bytes)
    };
    while let (Some(x), Some(y)) = (word(a, i), word(b, i)) {
        if x != y {
            return i + (x ^ y).trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    i + a[i..n]
        .iter()
        .zip(&b[i..n])
        .take_while(|(x, y)| x == y)
        .count()
}

/// The scalar of kind `kind` at `doc[j..]` as the parser reads it, and the offset after it;
/// `None` when the parser would read anything else there.
fn hole_at(doc: &str, j: usize, kind: Kind) -> Option<(&str, usize)> {
    let d = doc.as_bytes();
    let rest = d.get(j..)?;
    let (s, end) = match kind {
        Kind::Line(class) => {
            let end = memchr::memchr(b'\n', rest).map_or(d.len(), |n| j + n);
            let s = doc.get(j..end)?;
            let plain = plain_start(s.as_bytes())
                && !s.ends_with(' ')
                && scan_plain(s) == (s, false)
                && class_is(s, class);
            (plain.then_some(s)?, end)
        }
        Kind::Token(class) => {
            let end = j + rest.iter().take_while(|&&c| token_byte(c)).count();
            let s = doc.get(j..end)?;
            let plain = !matches!(s, "" | "-") && !s.starts_with(['%', '@']) && class_is(s, class);
            // Token bytes are printable ASCII: nothing more to check.
            return plain.then_some((s, end));
        }
        Kind::Quoted(q) => {
            if rest.first() != Some(&q) {
                return None;
            }
            // A `\` would start an escape. (In single quotes, a second quote would: but the
            // skeleton's next byte is not one, as its own quote ended there.)
            let end = match q {
                b'"' => find2(d, j + 1, b'"', b'\\').filter(|&e| d[e] == b'"')?,
                _ => memchr::memchr(b'\'', &rest[1..]).map(|n| j + 1 + n)?,
            };
            (doc.get(j + 1..end)?, end + 1)
        }
        Kind::Comment => {
            let end = memchr::memchr(b'\n', rest).map_or(d.len(), |n| j + n);
            (rest.first() == Some(&b'#')).then_some(())?;
            (doc.get(j..end)?, end)
        }
    };
    clean(s).then_some((s, end))
}

/// Whether `s` has only characters the parser accepts outside block scalars, and no line
/// break: no tab, control, line-separator or BOM character (the parser's prescan). The
/// short cut passes text without controls and without the lead bytes of the forbidden
/// multi-byte characters (C1 controls `C2`, line and paragraph separators `E2`, BOM and
/// U+FFFE/FFFF `EF`), such as a comment with a `×`.
fn clean(s: &str) -> bool {
    // Without a short circuit: the compiler checks many bytes at once.
    let plain = |ok: bool, &c: &u8| {
        ok & (c >= 0x20) & (c != 0x7f) & (c != 0xc2) & (c != 0xe2) & (c != 0xef)
    };
    s.as_bytes().iter().fold(true, plain)
        || (fastyaml::prescan(s) == Ok(false) && !s.contains('\n'))
}

/// Whether the plain scalar `s` has the class `class` (verify's `plain_class`), with a short
/// cut for the most common class of numbers: up to nine digits without a leading zero
/// (which would make it octal) are a non-negative `i32`.
fn class_is(s: &str, class: u8) -> bool {
    let b = s.as_bytes();
    let short = (1..=9).contains(&b.len()) && (b[0] != b'0' || b.len() == 1);
    if class == b'i' && short && b.iter().all(u8::is_ascii_digit) {
        return true;
    }
    crate::verify::plain_class(s) == Some(class)
}

/// Whether a plain scalar may start with these bytes in a block value (a stricter list than
/// the parser's: no indicator, no lone `-` or `- `, no quote, no space).
fn plain_start(s: &[u8]) -> bool {
    match s {
        [c, ..] if c.is_ascii_alphanumeric() || b"/._~+".contains(c) => true,
        [b'-', c, ..] => *c != b' ',
        _ => false,
    }
}

/// The skeletons learned so far, shared by the threads of one verify.
#[derive(Default)]
pub(crate) struct Skeletons {
    all: Mutex<Vec<Arc<Skeleton>>>,
    /// `all.len()`, read without the lock by each document's [`Cache`].
    count: AtomicUsize,
}

/// A thread's copy of [`Skeletons`], most recently matched first: documents come file by
/// file, so the skeleton that matched the last one usually matches the next.
#[derive(Default)]
pub(crate) struct Cache {
    list: Vec<Arc<Skeleton>>,
    seen: usize,
    /// Documents this thread matched, and looked up without a match.
    matched: usize,
    missed: usize,
}

/// `TACOSGEN_TIMINGS`: how many documents each thread matched against how many skeletons.
impl Drop for Cache {
    fn drop(&mut self) {
        if crate::timings() && self.matched + self.missed > 0 {
            let (matched, missed, known) = (self.matched, self.missed, self.list.len());
            eprintln!(
                "timing: skeletons: {matched} documents matched, {missed} not, {known} known"
            );
        }
    }
}

impl Skeletons {
    /// What `read` makes of the identity fields of `doc`, read through the first skeleton it
    /// matches; `None` when it matches none.
    pub(crate) fn find<R>(
        &self,
        doc: &str,
        cache: &mut Cache,
        read: impl FnOnce([Option<&str>; 4]) -> R,
    ) -> Option<R> {
        let count = self.count.load(Ordering::Acquire);
        if cache.seen != count {
            let all = self.all.lock().ok()?;
            cache.list.extend(all[cache.seen..].iter().cloned());
            cache.seen = all.len();
        }
        let found = cache
            .list
            .iter()
            .enumerate()
            .find_map(|(at, s)| s.matches(doc).map(|f| (at, f)))
            .map(|(at, fields)| (at, read(fields)));
        let Some((at, read)) = found else {
            cache.missed += 1;
            return None;
        };
        cache.matched += 1;
        cache.list[..=at].rotate_right(1);
        Some(read)
    }

    /// Keeps `skeleton` unless there are enough of its shape or in all.
    pub(crate) fn learn(&self, skeleton: Skeleton) {
        let Ok(mut all) = self.all.lock() else {
            return;
        };
        let same = all.iter().filter(|s| s.shape == skeleton.shape).count();
        if all.len() < MAX_SKELETONS && same < MAX_PER_SHAPE {
            all.push(Arc::new(skeleton));
            self.count.store(all.len(), Ordering::Release);
        }
    }

    /// Whether another skeleton may be learned (checked before building one).
    pub(crate) fn room(&self) -> bool {
        self.count.load(Ordering::Relaxed) < MAX_SKELETONS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The shared start of two byte strings, word by word, as byte by byte.
        #[test]
        fn common_prefix_is_the_shared_start(
            start in "[ab]{0,80}",
            a in "[ab]{0,12}",
            b in "[ab]{0,12}",
        ) {
            let (a, b) = (format!("{start}{a}"), format!("{start}{b}"));
            let naive = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
            proptest::prop_assert_eq!(common_prefix(a.as_bytes(), b.as_bytes()), naive);
        }
    }
}
