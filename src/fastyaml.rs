//! Fast, strict parser for the subset of YAML that rendered Kubernetes manifest
//! templates contain: the fast path of [`crate::verify`] (8–14× faster than serde-saphyr).
//! Anything outside the subset (or anything we are not sure about) yields
//! [`ParseOutcome::Unsupported`] so the caller can fall back to a general YAML parser
//! (serde-saphyr). A `Parsed` result must never differ from what Kubernetes itself reads.
//!
//! The same parser reads specs for [`crate::load`] ([`parse_spec`]): it then builds the
//! located tree serde-saphyr would build, resolves scalars like YAML 1.2 where that is
//! certain, and declines a few more constructs (listed there). The rest of these notes are
//! about manifests.
//!
//! Supported: `---` separated streams (comment-only/empty documents skipped),
//! block mappings and sequences (incl. `- key: v` compact mappings, `- - x`
//! compact sequences and sequences at the parent key's column), plain scalars,
//! single-quoted scalars, double-quoted scalars with the escapes minijinja's
//! `tojson` emits (`\" \\ \b \f \n \r \t \uXXXX`), one-line flow collections
//! (`[]`, `{"a": [1, "x"]}`, `{cpu: 250m}`: plain items limited to
//! `[A-Za-z0-9._+/~%=@-]`), a one-line scalar or flow value on the line below
//! its key (`data:\n  {}`), literal block scalars `|`, `|-`, `|+`, full-line and
//! trailing ` #` comments. Document roots must be block or flow collections.
//!
//! Unsupported: tabs outside block-scalar content, `\r`, control/C1/LS/PS/BOM
//! characters, anchors, aliases, tags, `? ` keys, `...` and any other column-0
//! line starting with `---`/`...` that is not a bare `---` (Kubernetes' stream
//! splitter treats those as separators), directives, folded `>`
//! and indentation indicators, multi-line plain/quoted/flow scalars, duplicate
//! keys, merge keys `<<`, non-string plain keys (`true:`, `1:`), values that
//! have no JSON form (`.inf`, `.nan`, out-of-range prefixed integers), and
//! double-quoted escapes go-yaml v2 rejects (`\/`, surrogate `\uD800`-`\uDFFF`).
//!
//! Plain scalars resolve like Kubernetes (sigs.k8s.io/yaml `YAMLToJSON`, which
//! decodes with its fork of gopkg.in/yaml.v2; see `goyaml.v2/resolve.go`
//! `resolve()` and `decode.go` `scalar()`):
//! * the first byte picks a hint; only `+-0-9` (number), `.` (float) and
//!   `yYnNtTfFoO~` (table lookup) can give a non-string; anything else is a string;
//! * table: `y Y yes Yes YES true True TRUE on On ON` → true,
//!   `n N no No NO false False FALSE off Off OFF` → false,
//!   `"" ~ null Null NULL` → null, `.nan .inf +.inf -.inf` (3 casings each) →
//!   non-finite float (Unsupported: no JSON form);
//! * `.` hint: `^\.[0-9]+([eE][-+]?[0-9]+)?$` → float; other digit strings
//!   accepted by Go's `ParseFloat` (e.g. `.5_5`) → Unsupported; else string;
//! * number hint: timestamps (`2001-12-14…`) stay strings (decode.go keeps the
//!   text for `interface{}` targets); all `_` are removed; then Go
//!   `strconv.ParseInt(s, 0, 64)` (sign, `0x`/`0o`/`0b` prefixes, leading `0` =
//!   octal, so `0755` = 493 and `08` is no int), then `ParseUint(s, 0, 64)`
//!   (unsigned only), then `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
//!   → float (`08`, `1e3`, `99999999999999999999`); a prefixed integer that
//!   overflows 64 bits (big.Int or string in go-yaml) or a float that overflows
//!   (`1e400`, a string in go-yaml) → Unsupported; anything else → string.
//!
//! Numbers are then stored the way Kubernetes ends up holding them: go-yaml's
//! value is printed by Go's `encoding/json` and read back by apimachinery as
//! int64 when it fits, else float64. So integral floats below 2^63 are
//! integers (`1e3` → 1000, `1.0` → 1) and uint64 values above `i64::MAX` are
//! floats. Quoted and block scalars are always strings; keys are strings; map
//! keys come out sorted (serde_json without `preserve_order`). Like Kubernetes'
//! stream reader, a final line without `\n` is read as if it had one.
//!
//! Verified against `kubectl label --local -o json` (kubectl 1.33), serde-saphyr
//! and property tests; see the tests at the end of this file.

use serde_json::{Map, Value};
use std::borrow::Cow;

use crate::error::{FileId, Loc};
use crate::load::{self, Node};

/// One YAML document of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub value: Value,
    /// 1-based line of the document's first content line.
    pub start_line: usize,
}

/// Result of [`parse_stream`].
#[derive(Debug, Clone, PartialEq)]
pub enum ParseOutcome {
    Parsed(Vec<Document>),
    /// The input uses YAML outside the supported subset (or is invalid);
    /// `line` is 1-based. Parse it with a full YAML parser instead.
    Unsupported {
        line: usize,
        reason: &'static str,
    },
}

/// Parses a multi-document YAML stream, or reports that it is outside the subset.
pub fn parse_stream(text: &str) -> ParseOutcome {
    match Parser::new(text, Json).and_then(|mut p| p.stream()) {
        Ok(docs) => ParseOutcome::Parsed(
            docs.into_iter()
                .map(|(value, start_line)| Document { value, start_line })
                .collect(),
        ),
        Err((line, reason)) => ParseOutcome::Unsupported { line, reason },
    }
}

/// Parses a spec into the located tree [`crate::load`] builds, exactly as serde-saphyr (YAML
/// 1.2, the loader's options) would read it, locations included; `None` when the text uses
/// anything outside a stricter subset: besides what manifests may not use, more than one
/// document, a root that is not a block mapping, literal block scalars, empty values, a value
/// on the line below its key, `- - x`, nesting deeper than 16, and every plain scalar that
/// YAML 1.1 and 1.2 readers could take differently (`yes`, `010`, `1e3`, `0x1f`, `.5`,
/// `1_000`). The loader then uses serde-saphyr, whose messages name what is wrong.
pub fn parse_spec(text: &str) -> Option<Node> {
    let mut docs = Parser::new(text, Spec).and_then(|mut p| p.stream()).ok()?;
    let (root, _) = docs.pop().filter(|_| docs.is_empty())?;
    matches!(root.value, load::Value::Map(_)).then_some(root)
}

const MAX_DEPTH: usize = 64;
/// Far below the loader's own limit, so that serde-saphyr reports a spec that breaks it.
const MAX_SPEC_DEPTH: usize = 16;
const MAX_KEY_LEN: usize = 1024; // go-yaml rejects implicit keys whose `:` is further away
type Res<T> = Result<T, (usize, &'static str)>;

/// 1-based line and column (in characters) of a node, for [`Build`]s that keep it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Pos {
    line: usize,
    col: usize,
}

/// What the parser builds, event by event in document order: the JSON value Kubernetes reads
/// from a rendered manifest ([`Json`]), verify's borrowed [`Light`] value ([`Lights`]), a
/// spec's located tree ([`Spec`]), or only what verify remembers of a document (its
/// `Scan`, which builds nothing).
pub(crate) trait Build<'a> {
    type Value;
    type Map: Default;
    type Key;
    /// A spec: nodes keep their position, scalars resolve like YAML 1.2, and the constructs
    /// listed at [`parse_spec`] are left to the full parser.
    const SPEC: bool;
    /// A plain scalar, or why the full parser should read it.
    fn plain(&mut self, s: &'a str, at: Pos) -> Result<Self::Value, &'static str>;
    /// A plain mapping key (keys are strings).
    fn plain_key(&mut self, s: &'a str) -> Result<Self::Key, &'static str>;
    fn quoted_key(&mut self, s: Cow<'a, str>) -> Self::Key;
    fn string(&mut self, s: Cow<'a, str>, at: Pos) -> Self::Value;
    /// The value of a `key:` or `-` with nothing after or below it.
    fn empty(&mut self) -> Result<Self::Value, &'static str>;
    /// A sequence (`true`) or mapping begins; its entries follow, then [`Build::seq`] or
    /// [`Build::map`] ends it.
    fn open(&mut self, _seq: bool) {}
    fn seq(&mut self, items: Vec<Self::Value>, at: Pos) -> Self::Value;
    /// Adds an entry; `false` when the key is already there.
    fn insert(&mut self, map: &mut Self::Map, key: Self::Key, at: Pos, value: Self::Value) -> bool;
    fn map(&mut self, map: Self::Map, at: Pos) -> Result<Self::Value, &'static str>;
    fn pos(value: &Self::Value) -> Pos;
}

/// Builds `serde_json` values.
struct Json;

impl<'a> Build<'a> for Json {
    type Value = Value;
    type Map = Map<String, Value>;
    type Key = String;
    const SPEC: bool = false;
    fn plain(&mut self, s: &str, _: Pos) -> Result<Value, &'static str> {
        Ok(resolve_plain(s)?.unwrap_or_else(|| Value::String(s.to_owned())))
    }
    fn plain_key(&mut self, s: &str) -> Result<String, &'static str> {
        string_key(s).map(str::to_owned)
    }
    fn quoted_key(&mut self, s: Cow<'a, str>) -> String {
        s.into_owned()
    }
    fn string(&mut self, s: Cow<'a, str>, _: Pos) -> Value {
        Value::String(s.into_owned())
    }
    fn empty(&mut self) -> Result<Value, &'static str> {
        Ok(Value::Null)
    }
    fn seq(&mut self, items: Vec<Value>, _: Pos) -> Value {
        Value::Array(items)
    }
    fn insert(&mut self, map: &mut Self::Map, key: String, _: Pos, value: Value) -> bool {
        map.insert(key, value).is_none()
    }
    fn map(&mut self, map: Self::Map, _: Pos) -> Result<Value, &'static str> {
        Ok(Value::Object(map))
    }
    fn pos(_: &Value) -> Pos {
        Pos::default()
    }
}

/// A manifest document as verify's fast path reads it: the same values as the
/// `serde_json::Value` [`parse_stream`] builds, but borrowing every string that needs no
/// unescaping and keeping mappings as lists in source order. Building and dropping the
/// owned value (a `String` per key, a B-tree per mapping) was most of verify's time at
/// 1,000 services. It is read by deserializing from it ([`serde::Deserializer`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Light<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Str(Cow<'a, str>),
    Seq(Vec<Light<'a>>),
    Map(LightMap<'a>),
}

/// Parses a stream that holds exactly one document into a [`Light`] value; `None` when it
/// holds another number of documents or is outside the subset (see [`parse_stream`]).
pub fn parse_light(text: &str) -> Option<Light<'_>> {
    parse_one(text, Lights).map(|(doc, _)| doc)
}

/// Parses a stream that holds exactly one document with `build`; returns what it built and
/// the builder. `None` as for [`parse_light`].
pub(crate) fn parse_one<'a, B: Build<'a>>(text: &'a str, build: B) -> Option<(B::Value, B)> {
    let mut parser = Parser::new(text, build).ok()?;
    let mut docs = parser.stream().ok()?;
    let (doc, _) = docs.pop().filter(|_| docs.is_empty())?;
    Some((doc, parser.build))
}

impl<'a> Light<'a> {
    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Light<'a>> {
        match self {
            Light::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Light::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value [`parse_stream`] builds for the same text.
    pub fn to_json(&self) -> Value {
        match self {
            Light::Null => Value::Null,
            Light::Bool(b) => Value::Bool(*b),
            Light::Number(n) => Value::Number(n.clone()),
            Light::Str(s) => Value::String(s.to_string()),
            Light::Seq(items) => Value::Array(items.iter().map(Light::to_json).collect()),
            Light::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Whether a plain scalar can only be a string: go-yaml's resolver looks further only at
/// these first bytes (see the module docs), so the text itself is the value.
fn surely_string(s: &str) -> bool {
    !matches!(
        s.as_bytes().first(),
        None | Some(
            b'y' | b'Y'
                | b'n'
                | b'N'
                | b't'
                | b'T'
                | b'f'
                | b'F'
                | b'o'
                | b'O'
                | b'~'
                | b'.'
                | b'+'
                | b'-'
                | b'0'..=b'9'
        )
    )
}

type LightMap<'a> = Vec<(Cow<'a, str>, Light<'a>)>;

/// Builds [`Light`] values.
pub(crate) struct Lights;

impl<'a> Build<'a> for Lights {
    type Value = Light<'a>;
    type Map = LightMap<'a>;
    type Key = Cow<'a, str>;
    const SPEC: bool = false;
    fn plain(&mut self, s: &'a str, _: Pos) -> Result<Light<'a>, &'static str> {
        if surely_string(s) {
            return Ok(Light::Str(Cow::Borrowed(s)));
        }
        Ok(match resolve_plain(s)? {
            None => Light::Str(Cow::Borrowed(s)),
            Some(Value::Bool(b)) => Light::Bool(b),
            Some(Value::Number(n)) => Light::Number(n),
            Some(_) => Light::Null, // the one other value a plain scalar resolves to
        })
    }
    fn plain_key(&mut self, s: &'a str) -> Result<Self::Key, &'static str> {
        if surely_string(s) {
            return Ok(Cow::Borrowed(s));
        }
        string_key(s).map(Cow::Borrowed)
    }
    fn quoted_key(&mut self, s: Cow<'a, str>) -> Self::Key {
        s
    }
    fn string(&mut self, s: Cow<'a, str>, _: Pos) -> Light<'a> {
        Light::Str(s)
    }
    fn empty(&mut self) -> Result<Light<'a>, &'static str> {
        Ok(Light::Null)
    }
    fn seq(&mut self, items: Vec<Light<'a>>, _: Pos) -> Light<'a> {
        Light::Seq(items)
    }
    fn insert(&mut self, map: &mut LightMap<'a>, key: Self::Key, _: Pos, value: Light<'a>) -> bool {
        let fresh = fresh_key(map.iter().map(|(k, _)| k.as_ref()), &key);
        map.push((key, value));
        fresh
    }
    fn map(&mut self, map: LightMap<'a>, _: Pos) -> Result<Light<'a>, &'static str> {
        no_duplicate_keys(map.iter().map(|(k, _)| k.as_ref()))?;
        Ok(Light::Map(map))
    }
    fn pos(_: &Light<'a>) -> Pos {
        Pos::default()
    }
}

thread_local! {
    /// Set when a value was skipped with `deserialize_ignored_any` (see [`deserialize_strict`]).
    static IGNORED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Deserializes `T` from `doc`; `None` on an error or when `T` skipped any value. Types
/// derived by serde or generated by k8s-openapi skip a field they do not know with
/// `IgnoredAny`, that is through `deserialize_ignored_any`, which is also exactly where
/// `serde_ignored` reports one; noting it here costs nothing per key (serde_ignored copies
/// every key into a `String` to build its paths).
pub fn deserialize_strict<'de, T: serde::Deserialize<'de>>(doc: &'de Light<'de>) -> Option<T> {
    IGNORED.set(false);
    let value = T::deserialize(doc).ok()?;
    (!IGNORED.get()).then_some(value)
}

/// Reads a [`Light`] value the way `serde_json`'s `&Value` deserializer reads the same
/// document (same visitor calls for every value), so a type that deserializes from one
/// deserializes alike from the other. Enums written as strings or one-key maps are not
/// supported (the manifest types have none): they fail, and verify then takes its full path.
impl<'de> serde::Deserializer<'de> for &'de Light<'de> {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        use serde::de::Error as _;
        use serde::de::value::{MapDeserializer, SeqDeserializer};
        match self {
            Light::Null => v.visit_unit(),
            Light::Bool(b) => v.visit_bool(*b),
            Light::Number(n) => serde::Deserializer::deserialize_any(n, v)
                .map_err(|e| Self::Error::custom(e.to_string())),
            Light::Str(s) => v.visit_borrowed_str(s),
            Light::Seq(items) => {
                let mut seq = SeqDeserializer::new(items.iter());
                let value = v.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Light::Map(entries) => {
                let mut map = MapDeserializer::new(entries.iter().map(|(k, v)| (k.as_ref(), v)));
                let value = v.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self {
            Light::Null => v.visit_none(),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Self::Error> {
        v.visit_newtype_struct(self)
    }

    /// As `serde_json`'s: the value is not looked at. Noted for [`deserialize_strict`].
    fn deserialize_ignored_any<V: serde::de::Visitor<'de>>(
        self,
        v: V,
    ) -> Result<V::Value, Self::Error> {
        IGNORED.set(true);
        v.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct enum identifier
    }
}

impl<'de> serde::de::IntoDeserializer<'de, serde::de::value::Error> for &'de Light<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

/// Whether `key` is new in a mapping kept as a list: small mappings are searched here, large
/// ones (a spec's `services`) once, sorted, by [`no_duplicate_keys`] when they are complete.
fn fresh_key<'k>(mut keys: impl ExactSizeIterator<Item = &'k str>, key: &str) -> bool {
    keys.len() >= 16 || keys.all(|k| k != key)
}

/// The check of a complete mapping that [`fresh_key`] leaves to the end.
fn no_duplicate_keys<'k>(keys: impl ExactSizeIterator<Item = &'k str>) -> Result<(), &'static str> {
    if keys.len() > 16 {
        let mut keys: Vec<&str> = keys.collect();
        keys.sort_unstable();
        if keys.windows(2).any(|w| w[0] == w[1]) {
            return Err("duplicate mapping key");
        }
    }
    Ok(())
}

fn loc(at: Pos) -> Loc {
    Loc {
        file: FileId(0),
        line: at.line as u32,
        col: at.col as u32,
    }
}

fn node(value: load::Value, at: Pos) -> Node {
    Node {
        loc: loc(at),
        value,
    }
}

/// Builds a spec's located tree.
struct Spec;

impl<'a> Build<'a> for Spec {
    type Value = Node;
    type Map = Vec<(String, Loc, Node)>;
    type Key = String;
    const SPEC: bool = true;
    fn plain(&mut self, s: &str, at: Pos) -> Result<Node, &'static str> {
        spec_plain(s).map(|v| node(v, at))
    }
    fn plain_key(&mut self, s: &str) -> Result<String, &'static str> {
        match spec_plain(s)? {
            load::Value::Str(k) => Ok(k),
            _ => Err("plain key that is not a string"),
        }
    }
    fn quoted_key(&mut self, s: Cow<'a, str>) -> String {
        s.into_owned()
    }
    fn string(&mut self, s: Cow<'a, str>, at: Pos) -> Node {
        node(load::Value::Str(s.into_owned()), at)
    }
    fn empty(&mut self) -> Result<Node, &'static str> {
        Err("empty value")
    }
    fn seq(&mut self, items: Vec<Node>, at: Pos) -> Node {
        node(load::Value::Seq(items), at)
    }
    fn insert(&mut self, map: &mut Self::Map, key: String, key_at: Pos, value: Node) -> bool {
        let fresh = fresh_key(map.iter().map(|(k, _, _)| k.as_str()), &key);
        map.push((key, loc(key_at), value));
        fresh
    }
    fn map(&mut self, map: Self::Map, at: Pos) -> Result<Node, &'static str> {
        no_duplicate_keys(map.iter().map(|(k, _, _)| k.as_str()))?;
        Ok(node(load::Value::Map(map), at))
    }
    fn pos(value: &Node) -> Pos {
        Pos {
            line: value.loc.line as usize,
            col: value.loc.col as usize,
        }
    }
}

/// A significant (non-blank, non-comment) line, or the rest of one after `- `.
#[derive(Clone, Copy)]
struct Line<'a> {
    no: usize,
    start: usize, // byte offset of the whole line in the source
    indent: usize,
    text: &'a str, // from `indent`, trailing spaces removed, never empty
    marker: bool,  // column-0 `---`/`...` line
}

struct Parser<'a, B> {
    src: &'a str,
    tabs: bool,     // the input contains a tab somewhere
    pos: usize,     // byte offset of the first line after `cur`
    next_no: usize, // number of that line
    cur: Option<Line<'a>>,
    build: B,
}

impl<'a, B: Build<'a>> Parser<'a, B> {
    fn new(src: &'a str, build: B) -> Res<Self> {
        let tabs = prescan(src)?;
        let mut p = Parser {
            src,
            tabs,
            pos: 0,
            next_no: 1,
            cur: None,
            build,
        };
        p.advance()?;
        Ok(p)
    }

    /// Position of `t`, a slice of `line`'s text (computed only for specs).
    fn at(&self, line: &Line, t: &str) -> Pos {
        if !B::SPEC {
            return Pos::default();
        }
        let offset = t.as_ptr() as usize - self.src.as_ptr() as usize;
        Pos {
            line: line.no,
            col: self.src[line.start..offset].chars().count() + 1,
        }
    }

    /// Loads the next significant line into `cur` (None at end of input).
    fn advance(&mut self) -> Res<()> {
        self.cur = None;
        while self.pos < self.src.len() {
            let start = self.pos;
            let rest = &self.src[start..];
            let len = memchr::memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len());
            let raw = &rest[..len];
            let no = self.next_no;
            self.pos += (len + 1).min(rest.len());
            self.next_no += 1;
            let body = skip_spaces(raw);
            if body.is_empty() || body.starts_with('#') {
                continue;
            }
            if self.tabs && body.contains('\t') {
                return Err((no, "tab character outside a block scalar"));
            }
            let indent = raw.len() - body.len();
            let marker = indent == 0 && (body.starts_with("---") || body.starts_with("..."));
            let text = drop_spaces(body);
            self.cur = Some(Line {
                no,
                start,
                indent,
                text,
                marker,
            });
            return Ok(());
        }
        Ok(())
    }

    fn stream(&mut self) -> Res<Vec<(B::Value, usize)>> {
        let mut docs = Vec::new();
        while let Some(line) = self.cur {
            if line.marker {
                if line.text.starts_with("...") {
                    return Err((line.no, "document end marker `...`"));
                }
                end_of_line(&line.text[3..], line.no)
                    .map_err(|_| (line.no, "content after `---`"))?;
                self.advance()?;
                continue;
            }
            if line.text.starts_with('%') {
                return Err((line.no, "directive"));
            }
            let value = self.root(line)?;
            if let Some(next) = self.cur.filter(|l| !l.marker) {
                return Err((next.no, "unexpected content after the document root"));
            }
            docs.push((value, line.no));
        }
        Ok(docs)
    }

    fn root(&mut self, line: Line<'a>) -> Res<B::Value> {
        let t = line.text;
        let colon = key_colon(t, line.no)?;
        if B::SPEC && (line.indent > 0 || colon.is_none()) {
            Err((line.no, "a spec's root is a block mapping at column 1"))
        } else if is_seq_entry(t) {
            self.seq(line.indent, false, 1)
        } else if t.starts_with(['[', '{']) {
            self.value(t, line, line.indent, 1)
        } else if let Some(colon) = colon {
            self.map(line.indent, 1, colon)
        } else {
            Err((line.no, "document root is a scalar"))
        }
    }

    fn check_depth(&self, depth: usize) -> Res<()> {
        match self.cur {
            Some(l) if depth > MAX_DEPTH => Err((l.no, "nesting deeper than 64 levels")),
            Some(l) if B::SPEC && depth > MAX_SPEC_DEPTH => {
                Err((l.no, "spec nesting deeper than 16 levels"))
            }
            _ => Ok(()),
        }
    }

    /// Block mapping whose keys are at column `n`; `cur` is its first key line, whose `:` is
    /// at `colon` (the caller found it to know that a mapping starts here).
    fn map(&mut self, n: usize, depth: usize, colon: usize) -> Res<B::Value> {
        self.check_depth(depth)?;
        let mut m = B::Map::default();
        self.build.open(false);
        let first = self.cur.expect("a mapping starts at a key line");
        let at = self.at(&first, first.text);
        let mut colon = Some(colon);
        while let Some(line) = self.cur.filter(|l| !l.marker && l.indent >= n) {
            if line.indent > n {
                return Err((line.no, "unexpected indentation (multi-line scalar?)"));
            }
            let colon = match colon.take() {
                Some(i) => i,
                None => key_colon(line.text, line.no)?
                    .ok_or((line.no, "expected a `key: value` line"))?,
            };
            let (key, rest) = split_key(&mut self.build, line.text, line.no, colon)?;
            let key_at = self.at(&line, line.text);
            let rest = skip_spaces(rest);
            let value = if rest.is_empty() || rest.starts_with('#') {
                self.advance()?;
                self.nested(n, true, depth)?
            } else {
                self.value(rest, line, n, depth)?
            };
            if !self.build.insert(&mut m, key, key_at, value) {
                return Err((line.no, "duplicate mapping key"));
            }
        }
        self.build.map(m, at).map_err(|r| (first.no, r))
    }

    /// Block sequence whose `-` are at column `n`; `cur` is its first entry. `indentless`:
    /// its `-` are at the column of the key that holds it (serde-saphyr then places the
    /// sequence at its first item rather than at its first `-`).
    fn seq(&mut self, n: usize, indentless: bool, depth: usize) -> Res<B::Value> {
        self.check_depth(depth)?;
        let mut items = Vec::new();
        self.build.open(true);
        let first = self.cur.expect("a sequence starts at an entry line");
        while let Some(line) = self.cur.filter(|l| !l.marker && l.indent >= n) {
            if line.indent > n {
                return Err((line.no, "unexpected indentation (multi-line scalar?)"));
            }
            if !is_seq_entry(line.text) {
                break; // a sibling key of the mapping that holds this sequence
            }
            let rest = skip_spaces(&line.text[1..]);
            if rest.is_empty() || rest.starts_with('#') {
                self.advance()?;
                items.push(self.nested(n, false, depth)?);
                continue;
            }
            let node = Line {
                indent: n + line.text.len() - rest.len(),
                text: rest,
                ..line
            };
            items.push(if is_seq_entry(rest) {
                if B::SPEC {
                    return Err((line.no, "compact nested sequence `- - x`"));
                }
                self.cur = Some(node);
                self.seq(node.indent, false, depth + 1)?
            } else if let Some(colon) = key_colon(rest, line.no)? {
                self.cur = Some(node);
                self.map(node.indent, depth + 1, colon)?
            } else {
                self.value(rest, line, n, depth)?
            });
        }
        let at = match items.first() {
            Some(item) if indentless => B::pos(item),
            _ => self.at(&first, first.text),
        };
        Ok(self.build.seq(items, at))
    }

    /// The block node below a `key:` or `-` whose own line has no value.
    /// `n` is the parent's column; `seq_same`: a `-` at column `n` belongs to it.
    fn nested(&mut self, n: usize, seq_same: bool, depth: usize) -> Res<B::Value> {
        let Some(line) = self.cur.filter(|l| !l.marker && l.indent >= n) else {
            return self.build.empty().map_err(|r| (self.next_no - 1, r));
        };
        let entry = is_seq_entry(line.text);
        if line.indent == n {
            return if seq_same && entry {
                self.seq(n, true, depth + 1)
            } else {
                self.build.empty().map_err(|r| (line.no, r))
            };
        }
        if entry {
            self.seq(line.indent, false, depth + 1)
        } else if let Some(colon) = key_colon(line.text, line.no)? {
            self.map(line.indent, depth + 1, colon)
        } else if line.text.starts_with(['|', '>']) {
            Err((line.no, "block scalar header on its own line"))
        } else if B::SPEC {
            Err((line.no, "value on the line below its key"))
        } else {
            self.value(line.text, line, n, depth) // e.g. `data:\n  {}`
        }
    }

    /// A scalar or flow value that starts mid-line (after `key: ` or `- `) of `line`;
    /// `parent` is the column of the enclosing collection. Consumes the line.
    fn value(&mut self, t: &'a str, line: Line<'a>, parent: usize, depth: usize) -> Res<B::Value> {
        let no = line.no;
        let at = self.at(&line, t);
        let b = t.as_bytes();
        let v = match b[0] {
            b'"' | b'\'' => {
                let (s, rest) = quoted(t, no)?;
                end_of_line(rest, no)?;
                self.build.string(s, at)
            }
            b'[' | b'{' => {
                let mut f = Flow {
                    s: t,
                    i: 0,
                    no,
                    col: at.col,
                    build: &mut self.build,
                };
                let v = f.value(depth + 1)?;
                end_of_line(&t[f.i..], no)?;
                v
            }
            b'|' if B::SPEC => return Err((no, "literal block scalar in a spec")),
            b'|' => return self.literal(t, no, parent),
            b'>' => return Err((no, "folded block scalar")),
            b'&' => return Err((no, "anchor")),
            b'*' => return Err((no, "alias")),
            b'!' => return Err((no, "tag")),
            b'?' | b':' | b',' | b']' | b'}' | b'%' | b'@' | b'`' | b'#' => {
                return Err((no, "value starts with a reserved indicator"));
            }
            b'-' if b.len() == 1 || b[1] == b' ' => {
                return Err((no, "sequence entry in value position"));
            }
            _ => match scan_plain(t) {
                (_, true) => return Err((no, "`: ` inside a plain scalar value")),
                (s, false) => self.build.plain(s, at).map_err(|r| (no, r))?,
            },
        };
        self.advance()?;
        Ok(v)
    }

    /// Literal block scalar; `header` starts with `|`, content lines follow `pos`.
    fn literal(&mut self, header: &'a str, no: usize, parent: usize) -> Res<B::Value> {
        let h = &header[1..];
        let (chomp, h) = match h.as_bytes().first() {
            Some(b'-') => (b'-', &h[1..]),
            Some(b'+') => (b'+', &h[1..]),
            _ => (b' ', h),
        };
        if h.starts_with(|c: char| c.is_ascii_digit()) {
            return Err((no, "block scalar indentation indicator"));
        }
        end_of_line(h, no)?;
        let (mut out, mut indent, mut max_blank, mut breaks) = (String::new(), 0, 0, 0);
        let mut content = false;
        let (mut pos, mut line_no) = (self.pos, self.next_no);
        while pos < self.src.len() {
            let rest = &self.src[pos..];
            let len = memchr::memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len());
            // Kubernetes' stream reader (apimachinery LineReader) ends every line,
            // including a final unterminated one, with `\n`; so do we.
            let raw = &rest[..len];
            let sp = raw.len() - skip_spaces(raw).len();
            if sp == raw.len() && (indent == 0 || sp <= indent) {
                max_blank = max_blank.max(sp); // an empty line
                breaks += 1;
            } else {
                if indent == 0 {
                    if raw.as_bytes()[sp] == b'\t' {
                        return Err((line_no, "tab in block scalar indentation"));
                    }
                    if sp <= parent {
                        break; // no content at all
                    }
                    if max_blank > sp {
                        return Err((
                            line_no,
                            "leading blank line more indented than the block scalar",
                        ));
                    }
                    indent = sp;
                }
                if sp < indent {
                    if raw.as_bytes()[sp] == b'\t' {
                        return Err((line_no, "tab in block scalar indentation"));
                    }
                    break;
                }
                if content {
                    out.push('\n');
                }
                out.extend(std::iter::repeat_n('\n', breaks));
                out.push_str(&raw[indent..]);
                (breaks, content) = (0, true);
            }
            pos = (pos + len + 1).min(self.src.len());
            line_no += 1;
        }
        match chomp {
            b'-' => {}
            b'+' if !content => return Err((no, "keep-chomped block scalar without content")),
            b'+' => out.extend(std::iter::repeat_n('\n', 1 + breaks)),
            _ if content => out.push('\n'),
            _ => {}
        }
        (self.pos, self.next_no) = (pos, line_no);
        self.advance()?;
        Ok(self.build.string(Cow::Owned(out), Pos::default()))
    }
}

/// `s` without its leading spaces. A byte loop: `trim_start_matches(' ')` decodes UTF-8 one
/// character at a time, and this runs on every line of megabytes of rendered output. (Eight
/// bytes at a time was slower: indentation is short.)
fn skip_spaces(s: &str) -> &str {
    let n = s.bytes().take_while(|&b| b == b' ').count();
    &s[n..]
}

/// `s` without its trailing spaces (see [`skip_spaces`]).
fn drop_spaces(s: &str) -> &str {
    let n = s.bytes().rev().take_while(|&b| b == b' ').count();
    &s[..s.len() - n]
}

/// Rejects characters that YAML forbids or treats as line breaks (`\r`, NEL,
/// LS, PS, BOM, C0/C1 controls, DEL, U+FFFE/FFFF). Returns whether a tab occurs.
pub(crate) fn prescan(src: &str) -> Res<bool> {
    let b = src.as_bytes();
    let mut tabs = false;
    for (k, chunk) in b.chunks(32).enumerate() {
        // Fast path (vectorizes): only printable ASCII and `\n`.
        if chunk.iter().fold(true, |ok, &c| {
            ok & ((c.wrapping_sub(0x20) < 0x5f) | (c == b'\n'))
        }) {
            continue;
        }
        for (i, &c) in chunk.iter().enumerate().map(|(j, c)| (32 * k + j, c)) {
            let bad = match c {
                b'\t' => {
                    tabs = true;
                    false
                }
                b'\n' | 0x20..=0x7e | 0x80..=0xc1 | 0xc3..=0xe1 | 0xe3..=0xee | 0xf0.. => false,
                0xc2 => b[i + 1] < 0xa0,
                0xe2 => b[i + 1] == 0x80 && (b[i + 2] == 0xa8 || b[i + 2] == 0xa9),
                0xef => {
                    (b[i + 1] == 0xbb && b[i + 2] == 0xbf) || (b[i + 1] == 0xbf && b[i + 2] >= 0xbe)
                }
                _ => true, // other C0 controls, `\r`, DEL
            };
            if bad {
                let line = 1 + b[..i].iter().filter(|&&c| c == b'\n').count();
                return Err((line, "control, line-separator or BOM character"));
            }
        }
    }
    Ok(tabs)
}

fn is_seq_entry(t: &str) -> bool {
    let b = t.as_bytes();
    b[0] == b'-' && (b.len() == 1 || b[1] == b' ')
}

/// Splits a plain scalar at a ` #` comment (trimming trailing spaces) and
/// reports whether a `: ` (or a final `:`) occurs before the comment.
pub(crate) fn scan_plain(t: &str) -> (&str, bool) {
    let b = t.as_bytes();
    let mut colon = false;
    let mut from = 0;
    while let Some(i) = find2(b, from, b':', b'#') {
        match b[i] {
            b':' if i + 1 == b.len() || b[i + 1] == b' ' => colon = true,
            b'#' if i > 0 && b[i - 1] == b' ' => return (drop_spaces(&t[..i]), colon),
            _ => {}
        }
        from = i + 1;
    }
    (t, colon)
}

/// The first `x` or `y` in `b` from `from` on, eight bytes at a time: the parser looks for a
/// `:` or `#` in every line, and a byte loop was its largest single cost. In each word, a
/// byte equal to `x` becomes zero in `w ^ x…x`; the zero-byte test below sets the high bit of
/// the first zero byte exactly (higher ones may be false positives, never lower ones), and
/// the bytes are read little-endian, so the lowest set bit is the first match.
pub(crate) fn find2(b: &[u8], from: usize, x: u8, y: u8) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let mut i = from;
    while let Some(Ok(word)) = b.get(i..i + 8).map(<[u8; 8]>::try_from) {
        let w = u64::from_le_bytes(word);
        let hits = zero(w ^ (ONES * u64::from(x))) | zero(w ^ (ONES * u64::from(y)));
        if hits != 0 {
            return Some(i + hits.trailing_zeros() as usize / 8);
        }
        i += 8;
    }
    let rest = b.get(i..)?;
    rest.iter().position(|&c| c == x || c == y).map(|j| i + j)
}

/// Remainder after a value must be empty or a ` #` comment.
fn end_of_line(rest: &str, no: usize) -> Res<()> {
    let t = skip_spaces(rest);
    if t.is_empty() || (t.starts_with('#') && t.len() < rest.len()) {
        Ok(())
    } else {
        Err((no, "unexpected text after a value"))
    }
}

/// If `t` is a `key: ...` line, the byte index of its `:` (no allocation for
/// plain keys).
fn key_colon(t: &str, no: usize) -> Res<Option<usize>> {
    let b = t.as_bytes();
    match b[0] {
        b'"' | b'\'' => {
            let after = skip_spaces(quoted(t, no)?.1);
            let ok = after.starts_with(':') && (after.len() == 1 || after.as_bytes()[1] == b' ');
            Ok(ok.then_some(t.len() - after.len()))
        }
        b'[' | b'{' | b'&' | b'*' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`' | b',' | b']'
        | b'}' | b'#' | b'?' | b':' => Ok(None),
        b'-' if b.len() == 1 || b[1] == b' ' => Ok(None),
        _ => {
            let mut from = 0;
            while let Some(i) = find2(b, from, b':', b'#') {
                match b[i] {
                    b':' if i + 1 == b.len() || b[i + 1] == b' ' => return Ok(Some(i)),
                    b'#' if b[i - 1] == b' ' => return Ok(None),
                    _ => from = i + 1,
                }
            }
            Ok(None)
        }
    }
}

/// Splits a `key: ...` line whose `:` is at `i` (see [`key_colon`]) into the key and the
/// text after the `:`.
fn split_key<'a, B: Build<'a>>(
    build: &mut B,
    t: &'a str,
    no: usize,
    i: usize,
) -> Res<(B::Key, &'a str)> {
    if i > MAX_KEY_LEN {
        return Err((no, "implicit key longer than 1024 characters"));
    }
    if matches!(t.as_bytes()[0], b'"' | b'\'') {
        return Ok((build.quoted_key(quoted(t, no)?.0), &t[i + 1..]));
    }
    let key = drop_spaces(&t[..i]);
    if key == "<<" {
        return Err((no, "merge key `<<`"));
    }
    build
        .plain_key(key)
        .map(|k| (k, &t[i + 1..]))
        .map_err(|r| (no, r))
}

/// Parses a one-line quoted scalar at the start of `t`; returns it (borrowed when it has no
/// escapes) and the rest.
fn quoted(t: &str, no: usize) -> Res<(Cow<'_, str>, &str)> {
    let b = t.as_bytes();
    let mut out = String::new();
    let (mut i, mut start) = (1, 1);
    if b[0] == b'\'' {
        loop {
            let Some(j) = t[i..].find('\'') else {
                return Err((no, "multi-line single-quoted scalar"));
            };
            let q = i + j;
            if b.get(q + 1) != Some(&b'\'') {
                if start == 1 {
                    return Ok((Cow::Borrowed(&t[1..q]), &t[q + 1..])); // no `''` in it
                }
                out.push_str(&t[start..q]);
                return Ok((Cow::Owned(out), &t[q + 1..]));
            }
            out.push_str(&t[start..=q]);
            (i, start) = (q + 2, q + 2);
        }
    }
    loop {
        let Some(k) = find2(b, i, b'"', b'\\') else {
            return Err((no, "multi-line double-quoted scalar"));
        };
        if b[k] == b'"' && start == 1 {
            return Ok((Cow::Borrowed(&t[1..k]), &t[k + 1..])); // no escapes
        }
        out.push_str(&t[start..k]);
        if b[k] == b'"' {
            return Ok((Cow::Owned(out), &t[k + 1..]));
        }
        i = k + 2;
        out.push(match b.get(k + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let hex = t
                    .get(k + 2..k + 6)
                    .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()));
                let code = hex.and_then(|h| u32::from_str_radix(h, 16).ok());
                i = k + 6;
                // go-yaml v2 rejects surrogates, so `\ud83d\ude00` pairs are not combined.
                code.and_then(char::from_u32)
                    .ok_or((no, "bad or surrogate \\u escape"))?
            }
            None => return Err((no, "multi-line double-quoted scalar")),
            Some(_) => {
                return Err((
                    no,
                    "escape not in the supported JSON subset (or rejected by go-yaml, like \\/)",
                ));
            }
        });
        start = i;
    }
}

/// One-line JSON-like flow collection parser.
struct Flow<'a, 'p, B> {
    s: &'a str,
    i: usize,
    no: usize,
    col: usize, // column of `s` (specs only)
    build: &'p mut B,
}

impl<'a, B: Build<'a>> Flow<'a, '_, B> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn ws(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn err<T>(&self, reason: &'static str) -> Res<T> {
        Err((self.no, reason))
    }

    fn at(&self) -> Pos {
        if !B::SPEC {
            return Pos::default();
        }
        Pos {
            line: self.no,
            col: self.col + self.s[..self.i].chars().count(),
        }
    }

    fn value(&mut self, depth: usize) -> Res<B::Value> {
        if depth > MAX_DEPTH {
            return self.err("nesting deeper than 64 levels");
        }
        if B::SPEC && depth > MAX_SPEC_DEPTH {
            return self.err("spec nesting deeper than 16 levels");
        }
        let at = self.at();
        let close = match self.peek() {
            Some(b'[') => b']',
            Some(b'{') => b'}',
            Some(b'"' | b'\'') => {
                let s = self.quoted()?;
                return Ok(self.build.string(s, at));
            }
            _ => {
                let t = self.token()?;
                return self.build.plain(t, at).map_err(|r| (self.no, r));
            }
        };
        self.i += 1;
        self.ws();
        let (mut items, mut map) = (Vec::new(), B::Map::default());
        self.build.open(close == b']');
        if self.peek() != Some(close) {
            loop {
                if close == b']' {
                    items.push(self.value(depth + 1)?);
                } else {
                    let key_at = self.at();
                    let key = self.key()?;
                    self.ws();
                    let v = self.value(depth + 1)?;
                    if !self.build.insert(&mut map, key, key_at, v) {
                        return self.err("duplicate mapping key");
                    }
                }
                self.ws();
                if self.peek() != Some(b',') {
                    break;
                }
                self.i += 1;
                self.ws();
                if self.peek() == Some(close) {
                    return self.err("trailing comma in flow collection");
                }
            }
        }
        if self.peek() != Some(close) {
            return self.err("malformed or multi-line flow collection");
        }
        self.i += 1;
        if close == b']' {
            Ok(self.build.seq(items, at))
        } else {
            self.build.map(map, at).map_err(|r| (self.no, r))
        }
    }

    /// A flow mapping key and its `:` (quoted keys may be followed directly by a value).
    fn key(&mut self) -> Res<B::Key> {
        if matches!(self.peek(), Some(b'"' | b'\'')) {
            let k = self.quoted()?;
            self.ws();
            if self.peek() != Some(b':') {
                return self.err("flow mapping entry without `:`");
            }
            self.i += 1;
            return Ok(self.build.quoted_key(k));
        }
        let t = self.token()?;
        if !self.s[self.i..].starts_with(": ") {
            return self.err("plain flow key not followed by `: `");
        }
        self.i += 1;
        self.build.plain_key(t).map_err(|r| (self.no, r))
    }

    fn quoted(&mut self) -> Res<Cow<'a, str>> {
        let (s, rest) = quoted(&self.s[self.i..], self.no)?;
        self.i = self.s.len() - rest.len();
        Ok(s)
    }

    /// A plain scalar in flow context, restricted to `[A-Za-z0-9._+/~%=@-]`
    /// (no `%`/`@` first, not a lone `-`).
    fn token(&mut self) -> Res<&'a str> {
        let start = self.i;
        while self.peek().is_some_and(token_byte) {
            self.i += 1;
        }
        match &self.s[start..self.i] {
            "" | "-" => self.err("unsupported character in flow collection"),
            t if t.starts_with(['%', '@']) => self.err("reserved indicator in flow collection"),
            t => Ok(t),
        }
    }
}

/// Whether `c` may occur in a plain scalar in a flow collection (see [`Flow::token`]).
pub(crate) fn token_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"._+-/~%=@".contains(&c)
}

/// A plain mapping key: it must resolve to a string.
fn string_key(s: &str) -> Result<&str, &'static str> {
    match resolve_plain(s)? {
        None => Ok(s),
        Some(_) => Err("plain key that is not a string (bool/null/number)"),
    }
}

/// Resolves a plain scalar the way go-yaml v2 does (see the module docs): `None` when it
/// is the string it reads as, so that callers borrow or copy it as they need (most keys
/// and many values start with a letter that could begin `true`, `null` or `on`).
fn resolve_plain(s: &str) -> Result<Option<Value>, &'static str> {
    const NON_FINITE: &str = "non-finite float (.inf/.nan) has no JSON form";
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return Ok(Some(Value::Null));
    };
    let string = || Ok(None);
    match first {
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => Ok(match s {
            "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
                Some(Value::Bool(true))
            }
            "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off"
            | "OFF" => Some(Value::Bool(false)),
            "~" | "null" | "Null" | "NULL" => Some(Value::Null),
            _ => None,
        }),
        b'.' => match s {
            ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" => Err(NON_FINITE),
            _ if is_yaml_float(b) => number(s.parse().map_err(|_| "unparsable float")?).map(Some),
            _ if b.iter().any(u8::is_ascii_digit)
                && b.iter().all(|c| b"0123456789._eE+-".contains(c)) =>
            {
                Err("number-like scalar with uncertain go-yaml resolution")
            }
            _ => string(),
        },
        b'+' | b'-' | b'0'..=b'9' => {
            if matches!(s, "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF") {
                return Err(NON_FINITE);
            }
            let plain = if s.contains('_') {
                Cow::Owned(s.replace('_', ""))
            } else {
                Cow::Borrowed(s)
            };
            let p = plain.as_bytes();
            let (sign, digits) = match p.first() {
                Some(&c @ (b'+' | b'-')) => (c, &p[1..]),
                _ => (0, p),
            };
            let parsed = go_parse_uint(digits);
            match (parsed, sign) {
                (Ok(u), b'-') if u <= 1 << 63 => {
                    return Ok(Some(Value::from(0i64.wrapping_sub_unsigned(u))));
                }
                (Ok(u), _) if u <= i64::MAX as u64 => return Ok(Some(Value::from(u))),
                (Ok(u), 0) => return number(u as f64).map(Some), // a uint64 becomes a float in k8s
                _ => {}
            }
            if is_yaml_float(p) {
                number(plain.parse().map_err(|_| "unparsable float")?).map(Some)
            } else if parsed != Err(false) {
                Err("integer out of 64-bit range")
            } else {
                string()
            }
        }
        _ => string(),
    }
}

/// Resolves a plain scalar of a spec as serde-saphyr does with the loader's options (YAML 1.2
/// core schema, strict booleans, leading-zero and underscored numbers as strings), where that
/// is certain: `null`, `~`, `true`, `false`, decimal integers without leading zeros, decimals
/// with digits on both sides of the point, and text that cannot be read as a number. The
/// rest (`True`, `yes`, `on`, `010`, `+1`, `-0`, `.5`, `1e3`, `0x1f`, `1_000`, `1:30`,
/// `2001-12-14`, ...) is left to serde-saphyr.
fn spec_plain(s: &str) -> Result<load::Value, &'static str> {
    use load::Value as V;
    match s {
        "" | "~" | "null" => return Ok(V::Null),
        "true" => return Ok(V::Bool(true)),
        "false" => return Ok(V::Bool(false)),
        _ => {}
    }
    let b = s.as_bytes();
    let unsure = Err("plain scalar a YAML 1.1 reader would type differently");
    match b[0] {
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' => {
            if resolve_plain(s) == Ok(None) {
                Ok(V::Str(s.to_owned()))
            } else {
                unsure
            }
        }
        b'-' | b'0'..=b'9' => {
            let digits = b.strip_prefix(b"-").unwrap_or(b);
            if !digits.first().is_some_and(u8::is_ascii_digit) {
                return unsure; // `-.inf`, `-x`
            }
            let int_len = digits.iter().take_while(|c| c.is_ascii_digit()).count();
            let canonical = int_len > 0 && (digits[0] != b'0' || (int_len == 1 && b[0] != b'-'));
            if canonical && int_len == digits.len() {
                return s.parse().map(V::Int).or(unsure);
            }
            let fraction = &digits[int_len..];
            if canonical
                && fraction.len() > 1
                && fraction[0] == b'.'
                && fraction[1..].iter().all(u8::is_ascii_digit)
            {
                return s.parse().map(V::Float).or(unsure);
            }
            let radix = matches!(digits, [b'0', b'x' | b'o' | b'b', ..]);
            if radix
                || b.iter()
                    .all(|c| c.is_ascii_digit() || b"+-._:eE".contains(c))
            {
                unsure
            } else {
                Ok(V::Str(s.to_owned()))
            }
        }
        b'+' | b'.' => unsure,
        _ => Ok(V::Str(s.to_owned())),
    }
}

/// A float as Kubernetes ends up holding it: Go's `encoding/json` prints it
/// and apimachinery reads numbers back as int64 when they fit, so integral
/// floats below 2^63 (`1e3`, `1.0`, `08`) become integers.
fn number(f: f64) -> Result<Value, &'static str> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.fract() == 0.0 && (-TWO_63..TWO_63).contains(&f) {
        return Ok(Value::from(f as i64));
    }
    // go-yaml leaves overflowing floats (`1e400`) as strings; not worth mirroring.
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .ok_or("float out of range")
}

/// Go `strconv.ParseUint(s, 0, 64)` on an unsigned, underscore-free string.
/// `Err(true)`: valid syntax but out of range; `Err(false)`: invalid syntax.
fn go_parse_uint(s: &[u8]) -> Result<u64, bool> {
    let (base, digits) = match s {
        [] => return Err(false),
        [b'0', b'b' | b'B', _, ..] => (2, &s[2..]),
        [b'0', b'o' | b'O', _, ..] => (8, &s[2..]),
        [b'0', b'x' | b'X', _, ..] => (16, &s[2..]),
        [b'0', rest @ ..] => (8, rest), // leading zero: octal
        _ => (10, s),
    };
    let mut n: u64 = 0;
    let mut overflow = false;
    for &c in digits {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'z' | b'A'..=b'Z' => (c | 0x20) - b'a' + 10,
            _ => return Err(false),
        };
        if u32::from(d) >= base {
            return Err(false);
        }
        match n
            .checked_mul(u64::from(base))
            .and_then(|n| n.checked_add(u64::from(d)))
        {
            Some(v) => n = v,
            None => overflow = true,
        }
    }
    if overflow { Err(true) } else { Ok(n) }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$` (go-yaml's yamlStyleFloat).
fn is_yaml_float(s: &[u8]) -> bool {
    let digits = |i: &mut usize| {
        let start = *i;
        while s.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let mut i = usize::from(matches!(s.first(), Some(b'+' | b'-')));
    if digits(&mut i) == 0 {
        if s.get(i) != Some(&b'.') {
            return false;
        }
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else if s.get(i) == Some(&b'.') {
        i += 1;
        digits(&mut i);
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        i += usize::from(matches!(s.get(i), Some(b'+' | b'-')));
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// `surely_string` only skips resolution where go-yaml's resolver gives the text.
        #[test]
        fn surely_string_agrees_with_resolution(s in "[a-zA-Z0-9._+~%=@/ -]{1,6}") {
            if surely_string(&s) {
                proptest::prop_assert_eq!(resolve_plain(&s), Ok(None));
            }
        }

        /// The byte loops trim exactly what `trim_*_matches(' ')` trims, multi-byte text too.
        #[test]
        fn space_trimming_matches_std(s in "[ a\t\u{a0}é\u{3000}]{0,8}|[ ]{0,19}[ a\u{a0}]{0,4}") {
            proptest::prop_assert_eq!(skip_spaces(&s), s.trim_start_matches(' '));
            proptest::prop_assert_eq!(drop_spaces(&s), s.trim_end_matches(' '));
        }

        /// The word-at-a-time search finds what a byte loop finds, from any start, in text with
        /// bytes that differ from `:` or `#` in one bit and multi-byte characters.
        #[test]
        fn find2_finds_the_first_of_two_bytes(s in "[:#;\"\\a 8:º\u{3a3}é]{0,40}", from in 0usize..48) {
            let b = s.as_bytes();
            for (x, y) in [(b':', b'#'), (b'"', b'\\')] {
                let expected = b
                    .get(from..)
                    .and_then(|r| r.iter().position(|&c| c == x || c == y))
                    .map(|j| from + j);
                proptest::prop_assert_eq!(find2(b, from, x, y), expected);
            }
        }
    }

    #[test]
    fn strict_deserialization_notes_skipped_fields() {
        #[derive(serde::Deserialize)]
        struct S {
            a: u32,
            b: Option<Vec<String>>,
        }
        let doc = parse_light("a: 1\nb: [x, \"y\"]\n").unwrap();
        let s = deserialize_strict::<S>(&doc).unwrap();
        assert_eq!(
            (s.a, s.b.unwrap()),
            (1, vec!["x".to_string(), "y".to_string()])
        );
        for skipped in ["a: 1\nc: 2\n", "a: \"1\"\n", "a: 1\nb: 3\n"] {
            assert!(
                deserialize_strict::<S>(&parse_light(skipped).unwrap()).is_none(),
                "{skipped}"
            );
        }
        // A skipped value in one call does not leak into the next.
        assert!(deserialize_strict::<S>(&parse_light("a: 2\n").unwrap()).is_some());
    }
    use serde_json::json;

    fn parse_all(y: &str) -> Vec<Value> {
        match parse_stream(y) {
            ParseOutcome::Parsed(docs) => docs.into_iter().map(|d| d.value).collect(),
            other => panic!("expected Parsed for {y:?}, got {other:?}"),
        }
    }

    fn parse1(y: &str) -> Value {
        let docs = parse_all(y);
        assert_eq!(docs.len(), 1, "{y:?}");
        docs.into_iter().next().unwrap()
    }

    fn saphyr(y: &str) -> Vec<Value> {
        serde_saphyr::from_multiple(y).unwrap_or_else(|e| panic!("serde-saphyr: {e}"))
    }

    #[test]
    #[rustfmt::skip]
    fn supported_constructs() {
        let cases: &[(&str, Value)] = &[
            ("a: 1\nb:\n  c: x\n", json!({"a": 1, "b": {"c": "x"}})),
            ("c:\n- name: x\n  image: i\n- z\nd: 1\n", json!({"c": [{"name": "x", "image": "i"}, "z"], "d": 1})),
            ("c:\n  -   a: 1\n      b: 2\n  - - 1\n    - 2\n  -\n  - \n    k: v\n", json!({"c": [{"a": 1, "b": 2}, [1, 2], null, {"k": "v"}]})),
            ("- a:\n  - 1\n  b: 2\n- c:\n- d\n", json!([{"a": [1], "b": 2}, {"c": null}, "d"])),
            ("a:\nb: ~\nc: \"\"\nd: ''\n", json!({"a": null, "b": null, "c": "", "d": ""})),
            ("data:\n  {}\nq:\n  \"x\" # c\np:\n  plain\n", json!({"data": {}, "q": "x", "p": "plain"})),
            ("# lead\n\na: x # c\nb: x#y\nc: \"q\" # c\nd:   # c\n  # c\n  e: 1\n", json!({"a": "x", "b": "x#y", "c": "q", "d": {"e": 1}})),
            ("u: http://x:80/p?q=1&r\n", json!({"u": "http://x:80/p?q=1&r"})),
            ("k: \"a\\\"b\\\\c\\n\\t\\b\\f\\r\\u003c\\u00e9\\u0000\"\n", json!({"k": "a\"b\\c\n\t\u{8}\u{c}\r<é\u{0}"})),
            ("k: 'it''s #not: a comment'\n'q k': 1\n\"x y\" : 2\n", json!({"k": "it's #not: a comment", "q k": 1, "x y": 2})),
            ("k: [] \nl: {}\nm: [\"a\", 1, true, null, -1.5, [ ], {\"x\":{}}]\n", json!({"k": [], "l": {}, "m": ["a", 1, true, null, -1.5, [], {"x": {}}]})),
            ("k: {\"a\": 1, \"b\": [1, 2], c: d, 'e': '''', f: 25%} # c\n", json!({"k": {"a": 1, "b": [1, 2], "c": "d", "e": "'", "f": "25%"}})),
            ("- [1,2]\n- {\"a\":\"b\"}\n", json!([[1, 2], {"a": "b"}])),
            ("{\"a\": [1]}\n", json!({"a": [1]})),
            ("  a: 1\n  b: 2\n", json!({"a": 1, "b": 2})),
            ("k: é 日本 🎉\n日本: x\n", json!({"k": "é 日本 🎉", "日本": "x"})),
            ("a[0]: x{y}[z],\n-x: -y\n", json!({"a[0]": "x{y}[z],", "-x": "-y"})),
            ("- echo a: b\n", json!([{"echo a": "b"}])),
        ];
        for (y, want) in cases {
            assert_eq!(&parse1(y), want, "{y:?}");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn literal_block_scalars() {
        let cases: &[(&str, &str)] = &[
            ("k: |\n  a\n   b\n\n  c\n", "a\n b\n\nc\n"), ("k: |-\n  a\n  b\n\n\n", "a\nb"),
            ("k: |+\n  a\n\n\nz: 1\n", "a\n\n\n"), ("k: |\n  a\n\n\n", "a\n"), ("k: |\n\n  a\n", "\na\n"),
            ("k: | # c\n    # not a comment\n    x: - y\n  \n", "# not a comment\nx: - y\n"),
            ("k: |\n  a\n   \n  b\n", "a\n \nb\n"), ("k: |\n  a\tb\n  \tc\n", "a\tb\n\tc\n"), ("k: |\nz: 1\n", ""),
            ("k: |\n  a", "a\n"), ("k: |+\n  a\n  ", "a\n\n"), // as if the input ended with `\n`
        ];
        for (y, want) in cases {
            assert_eq!(parse1(y)["k"], json!(want), "{y:?}");
        }
        let seq = parse1("- |\n x\n- a: |-\n   y\n  b: 1\n- - |\n   z\n");
        assert_eq!(seq, json!(["x\n", {"a": "y", "b": 1}, ["z\n"]]));
        assert_eq!(parse1("a:\n- |\n  x\n---\n"), json!({"a": ["x\n"]}));
    }

    #[test]
    #[rustfmt::skip]
    fn scalar_resolution_follows_go_yaml_v2() {
        let (t, f, n) = (json!(true), json!(false), json!(null));
        let cases: &[(&str, Value)] = &[
            ("y", t.clone()), ("Y", t.clone()), ("yes", t.clone()), ("Yes", t.clone()), ("YES", t.clone()),
            ("true", t.clone()), ("True", t.clone()), ("TRUE", t.clone()), ("on", t.clone()), ("On", t.clone()),
            ("ON", t), ("n", f.clone()), ("N", f.clone()), ("no", f.clone()), ("No", f.clone()), ("NO", f.clone()),
            ("false", f.clone()), ("False", f.clone()), ("FALSE", f.clone()), ("off", f.clone()), ("Off", f.clone()),
            ("OFF", f), ("~", n.clone()), ("null", n.clone()), ("Null", n.clone()), ("NULL", n),
            ("yEs", json!("yEs")), ("tRUE", json!("tRUE")), ("oN", json!("oN")), ("nil", json!("nil")), ("nULL", json!("nULL")),
            ("0", json!(0)), ("-0", json!(0)), ("+12", json!(12)), ("-12", json!(-12)), ("1_000", json!(1000)),
            ("1__0_", json!(10)), ("_1", json!("_1")), ("0x1F", json!(31)), ("0X1f", json!(31)), ("-0x10", json!(-16)),
            ("0o17", json!(15)), ("0O17", json!(15)), ("0755", json!(493)), ("0644", json!(420)), ("-010", json!(-8)),
            ("0b101", json!(5)), ("-0B11", json!(-3)), ("08", json!(8)), ("0x", json!("0x")), ("0b2", json!("0b2")),
            ("0o", json!("0o")), ("9223372036854775807", json!(i64::MAX)), ("-9223372036854775808", json!(i64::MIN)),
            ("18446744073709551615", json!(u64::MAX as f64)), ("99999999999999999999", json!(1e20)),
            ("-9223372036854775809", json!(i64::MIN)), ("1.5", json!(1.5)), ("1.", json!(1)),
            (".5", json!(0.5)), ("-.5", json!(-0.5)), ("+1.5e3", json!(1500)), ("1e3", json!(1000)),
            ("1E-2", json!(0.01)), ("1e-400", json!(0)), ("-0.0", json!(0)), ("1e19", json!(1e19)), ("1_0.5", json!(10.5)), ("1.20", json!(1.2)),
            ("1.2.3", json!("1.2.3")), ("1e", json!("1e")), ("1:20", json!("1:20")), ("2024-01-01", json!("2024-01-01")),
            ("2001-12-14t21:59:43.10-05:00", json!("2001-12-14t21:59:43.10-05:00")), ("10Gi", json!("10Gi")),
            ("100m", json!("100m")), ("+", json!("+")), (".", json!(".")), (".git", json!(".git")), ("..", json!("..")),
            ("<<", json!("<<")), ("-x", json!("-x")), ("= 1", json!("= 1")), ("a  b", json!("a  b")),
        ];
        for (plain, want) in cases {
            assert_eq!(&parse1(&format!("k: {plain}\n"))["k"], want, "{plain:?}");
            if plain.bytes().all(|c| c.is_ascii_alphanumeric() || b"._+-/~%=@".contains(&c)) {
                assert_eq!(&parse1(&format!("k: [{plain}]\n"))["k"][0], want, "flow {plain:?}");
            }
        }
        for quoted in ["'y'", "\"0755\"", "\"1e3\"", "'null'", "\"\""] {
            assert!(parse1(&format!("k: {quoted}\n"))["k"].is_string(), "{quoted}");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn unsupported_cases() {
        let cases: &[(&str, usize)] = &[
            ("a:\n\tb: 1\n", 2), ("a: 1\n  \t\n", 2), ("a: 1 # x\tz\n", 1), ("a: 1\r\n", 1), ("\u{feff}a: 1\n", 1),
            ("a: \u{7f}\n", 1), ("a: x\u{85}y\n", 1), ("a: \u{2028}\n", 1), ("a: \u{1}\n", 1), ("a: &x 1\n", 1),
            ("a: *x\n", 1), ("a: !!str 1\n", 1), ("? a\n: b\n", 1), ("a: 1\n...\n", 2), ("%YAML 1.1\n---\na: 1\n", 1),
            ("a: >\n  x\n", 1), ("a: |2\n  x\n", 1), ("a: |-1\n  x\n", 1), ("a: foo\n  bar\n", 2),
            ("a:\n  foo\n  bar\n", 3), ("a:\n  |\n  x\n", 2), ("- a\n  b\n", 2), ("a: \"x\n  y\"\n", 1),
            ("a: 'x\n  y'\n", 1), ("a: [1,\n  2]\n", 1), ("a: 1\nb: 2\na: 3\n", 3), ("k: {\"a\": 1, \"a\": 2}\n", 1),
            ("true: 1\n", 1), ("1: x\n", 1), ("null: x\n", 1), ("y: 1\n", 1), ("<<: {}\n", 1), ("k: {on: 1}\n", 1),
            ("a: .inf\n", 1), ("a: -.Inf\n", 1), ("a: .NaN\n", 1), ("a: [.nan]\n", 1), ("a: 1e400\n", 1),
            ("a: 0x1ffffffffffffffff\n", 1), ("a: .5_5\n", 1), ("a: \"\\/\"\n", 1), ("a: \"\\ud83d\\ude00\"\n", 1),
            ("a: \"\\x41\"\n", 1), ("a: \"\\u12\"\n", 1), ("a: b: c\n", 1), ("a: b:\n", 1), ("a: - b\n", 1),
            ("a: \"x\" y\n", 1), ("a: \"x\"#c\n", 1), ("a: [1, 2,]\n", 1), ("a: [a b]\n", 1), ("a: {a:1}\n", 1),
            ("a: [a: 1]\n", 1), ("a: {x}\n", 1), ("a: [@x]\n", 1), ("a: [1] x\n", 1), ("a: @x\n", 1), ("a: `x\n", 1),
            ("a: %x\n", 1), ("a: ,x\n", 1), ("a: ?x\n", 1), ("just a scalar\n", 1), ("\"s\"\n", 1), ("a: 1\nb\n", 2),
            ("- a\nb: 1\n", 2), ("a: 1\n- b\n", 2), ("a:\n  b: 1\n c: 2\n", 3), ("--- a: 1\n", 1), ("---foo: 1\n", 1),
            ("a: |+\n\nb: 1\n", 1), ("a: |\n    \n  x\n", 3), ("a: |\n\tx\n", 2), ("a: |\n    x\n  \ty\n", 3),
            ("a: |#c\n x\n", 1), ("a: |x\n", 1), ("a #b: c\n", 1), ("a: 1\n---\nb: [\n", 3),
        ];
        for (y, want) in cases {
            match parse_stream(y) {
                ParseOutcome::Unsupported { line, .. } => assert_eq!(line, *want, "{y:?}"),
                other => panic!("expected Unsupported for {y:?}, got {other:?}"),
            }
        }
        assert!(matches!(parse_stream(&format!("{}: 1\n", "k".repeat(1024))), ParseOutcome::Parsed(_)));
        let long_key = format!("{}: 1\n", "k".repeat(1025));
        for deep in [long_key, format!("{}x\n", "- ".repeat(70)), format!("a: {}{}\n", "[".repeat(70), "]".repeat(70))] {
            assert!(matches!(parse_stream(&deep), ParseOutcome::Unsupported { .. }));
        }
    }

    #[test]
    fn stream_documents_and_start_lines() {
        let y = "# h\n\n---\na: 1\n---   # c\n# only comment\n---\n\n---\n- x\n---\n  b: |\n    t\n---\n";
        let ParseOutcome::Parsed(docs) = parse_stream(y) else {
            panic!()
        };
        let got: Vec<_> = docs.into_iter().map(|d| (d.start_line, d.value)).collect();
        let want = [
            (4, json!({"a": 1})),
            (10, json!(["x"])),
            (12, json!({"b": "t\n"})),
        ];
        assert_eq!(got, want);
        assert_eq!(parse_stream(""), ParseOutcome::Parsed(vec![]));
        assert_eq!(parse_stream("# x\n---\n"), ParseOutcome::Parsed(vec![]));
        assert_eq!(
            parse_all("a: 1\n---\nb: 2"),
            [json!({"a": 1}), json!({"b": 2})]
        );
    }

    /// Where serde-saphyr 2.2 (the fallback, default options) reads differently from go-yaml v2.
    #[test]
    fn known_differences_from_serde_saphyr() {
        // Leading-zero octal (`defaultMode: 0644`): go-yaml 420, serde-saphyr 644.0.
        assert_eq!(parse1("m: 0644\n")["m"], json!(420));
        assert_eq!(saphyr("m: 0644\n")[0]["m"], json!(644.0));
        // Integral floats: Kubernetes holds `1e3` as the integer 1000, serde-saphyr as 1000.0.
        assert_eq!(parse1("m: 1e3\n")["m"], json!(1000));
        assert_eq!(saphyr("m: 1e3\n")[0]["m"], json!(1000.0));
        // `\/` and surrogate-pair escapes: go-yaml v2 rejects both, serde-saphyr accepts them.
        assert_eq!(saphyr("m: \"\\ud83d\\ude00\\/\"\n")[0]["m"], json!("😀/"));
        // `1e400`: go-yaml keeps the string, serde-saphyr errors; we report Unsupported.
        assert!(serde_saphyr::from_multiple::<Value>("m: 1e400\n").is_err());
    }

    /// Rendered manifests as templates produce them; `NAME` varies in the benchmark.
    const CORPUS: &[&str] = &[
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: "NAME"
  labels: {"app.kubernetes.io/name": "NAME", "app.kubernetes.io/part-of": "shop"}
  annotations:
    reloader.stakater.com/auto: "true"
spec:
  revisionHistoryLimit: 5
  strategy:
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}
  selector:
    matchLabels:
      app.kubernetes.io/name: "NAME"
  template:
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: app
        image: "registry.example.com/shop/NAME:1.42.0@sha256:0123abcd"
        args: ["--port=8080", "--feature-gates=a=true,b=false"]
        ports:
        - {name: http, containerPort: 8080, protocol: TCP}
        env:
        - name: JAVA_OPTS
          value: "-Xms512m -XX:+UseG1GC \u003cdefault\u003e"
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef: {name: "NAME-db", key: password, optional: false}
        resources:
          requests: {cpu: 250m, memory: 512Mi}
          limits:
            memory: 1Gi
        readinessProbe:
          httpGet: {path: /healthz/ready, port: http}
          periodSeconds: 10
        livenessProbe:
          exec:
            command: ["/bin/sh", "-c", "test -f /tmp/alive && echo \"ok\""]
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop: ["ALL"]
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                labelSelector:
                  matchExpressions:
                    - key: app
                      operator: In
                      values: ["NAME"]
                topologyKey: kubernetes.io/hostname
"#,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: NAME\n  annotations:\n    \
         service.beta.kubernetes.io/aws-load-balancer-internal: \"true\"\nspec:\n  \
         selector: {\"app\": \"NAME\"}\n  ports:\n    - name: http\n      port: 80\n      \
         targetPort: http # named port\n",
        r#"apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: NAME}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: NAME}
  minReplicas: 3
  maxReplicas: 30
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
      policies:
      - type: Percent
        value: 10
        periodSeconds: 60
    scaleUp:
      policies: [{"type": "Pods", "value": 4, "periodSeconds": 15}]
"#,
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: NAME}\nspec:\n  \
         maxUnavailable: 1\n  selector:\n    matchLabels: {\"app\": \"NAME\"}\n",
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: NAME-redis
data:
  redis.conf: |
    # Redis configuration for NAME
    bind 0.0.0.0
    maxmemory-policy allkeys-lru

    save ""
      indented: kept
  "LOG_LEVEL": "info"
  empty:
    {}
"#,
        r#"apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: NAME-db
spec:
  serviceName: NAME-db
  template:
    spec:
      containers:
        - name: postgres
          image: postgres:16.2
          volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: ["ReadWriteOnce"]
        resources:
          requests:
            storage: 20Gi
"#,
        r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: NAME
spec:
  podSelector:
    matchLabels: {app: NAME}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: ingress-nginx}
    - podSelector: {}
    ports:
    - {protocol: TCP, port: 8080}
  egress:
  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: ["10.0.42.0/24"]}}]
"#,
        r#"apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: NAME
spec:
  template:
    spec:
      requirements:
        - key: karpenter.sh/capacity-type
          operator: In
          values: ["spot", "on-demand"]
      expireAfter: 720h
  limits:
    cpu: "1000"
  disruption:
    consolidationPolicy: WhenEmptyOrUnderutilized
    budgets:
    - nodes: 10%
    - schedule: "0 9 * * mon-fri"
      duration: 8h
      nodes: "0"
"#,
        r#"apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: NAME
spec:
  groups:
  - name: NAME.rules
    rules:
    - alert: HighErrorRate
      expr: |
        sum(rate(http_requests_total{job="NAME", code=~"5.."}[5m]))
          /
        sum(rate(http_requests_total{job="NAME"}[5m])) > 0.05
      for: 10m
      labels:
        severity: page
      annotations:
        summary: 'High error rate on {{ $labels.job }}'
"#,
        r#"apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: NAME
resources:
  - deployment.yaml
images:
- name: NAME
  newTag: "1.42.0"
configMapGenerator:
- name: NAME-env
  literals: ["LOG_LEVEL=info", "FEATURE_X=on"]
patches:
- target: {kind: Deployment, name: NAME}
  patch: |-
    - op: replace
      path: /spec/replicas
      value: 5
"#,
    ];

    #[test]
    fn corpus_matches_serde_saphyr() {
        for m in CORPUS {
            let m = m.replace("NAME", "web-1");
            assert_eq!(parse_all(&m), saphyr(&m), "{m}");
        }
        let stream = CORPUS.join("---\n");
        assert_eq!(parse_all(&stream), saphyr(&stream));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// Strings minus the characters YAML cannot carry raw (see `prescan`).
        #[rustfmt::skip]
        fn text() -> impl Strategy<Value = String> {
            let tricky = [
                "on", "y", "no", "1.0", "0755", "1e3", ".inf", "null", "~", "", " lead", "trail ",
                "#x", "a #b", "a: b", "- x", "? x", "---", "...", "|", ">", "&a", "*a", "!t", "%", "@",
                "`", "'", "\"", "\\", "{}", "[]", ",", "\n", "a\nb\n", "\tx", "é日本🎉", "<>&'",
            ];
            let clean = |s: String| -> String {
                let bad = |c| matches!(c, '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}');
                s.chars().map(|c| if bad(c) { 'x' } else { c }).collect()
            };
            prop_oneof![
                proptest::sample::select(tricky.to_vec()).prop_map(String::from),
                "[a-z0-9 :#.'\"\\\\\n\t{}\\[\\],&*!|>%@`~-]{0,12}",
                any::<String>().prop_map(clean),
            ]
        }

        fn value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any::<f64>()
                    .prop_filter("finite", |f| f.is_finite())
                    .prop_map(Value::from),
                text().prop_map(Value::String),
            ];
            leaf.prop_recursive(5, 48, 5, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                    prop::collection::btree_map(text(), inner, 0..5)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        /// Emits values as a template would; `rng` picks among equivalent spellings.
        struct Emitter {
            rng: u64,
            step: usize, // indentation width
            out: String,
        }

        impl Emitter {
            fn pick(&mut self, n: u64) -> u64 {
                self.rng ^= self.rng << 13;
                self.rng ^= self.rng >> 7;
                self.rng ^= self.rng << 17;
                self.rng % n
            }

            fn coin(&mut self) -> bool {
                self.pick(2) == 1
            }

            /// minijinja `tojson` (`, `/`: ` separators, HTML-safe escapes) or compact serde_json.
            fn json(&mut self, v: &Value) -> String {
                if self.coin() {
                    return serde_json::to_string(v).unwrap();
                }
                let join = |items: Vec<String>| items.join(", ");
                match v {
                    Value::Array(a) => {
                        format!("[{}]", join(a.iter().map(|x| self.json(x)).collect()))
                    }
                    Value::Object(m) => {
                        let items = m
                            .iter()
                            .map(|(k, x)| format!("{}: {}", self.json(&json!(k)), self.json(x)));
                        format!("{{{}}}", join(items.collect()))
                    }
                    other => other
                        .to_string()
                        .replace('<', "\\u003c")
                        .replace('>', "\\u003e")
                        .replace('&', "\\u0026")
                        .replace('\'', "\\u0027"),
                }
            }

            /// A scalar as JSON, single-quoted, or plain when obviously a string.
            fn scalar(&mut self, v: &Value) -> String {
                let Value::String(s) = v else {
                    return self.json(v);
                };
                let plain = s
                    .starts_with(|c: char| c.is_ascii_alphabetic() && !"fnotyFNOTY".contains(c))
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._/- ".contains(c))
                    && !s.ends_with(' ');
                match self.pick(3) {
                    0 if plain => s.clone(),
                    1 if !s.chars().any(char::is_control) => format!("'{}'", s.replace('\'', "''")),
                    _ => self.json(v),
                }
            }

            /// Blank and comment lines that must not change anything.
            fn filler(&mut self, indent: usize) {
                match self.pick(8) {
                    0 => self.out.push('\n'),
                    1 => self
                        .out
                        .push_str(&format!("{}# note: - x\n", " ".repeat(indent))),
                    _ => {}
                }
            }

            fn map(&mut self, m: &Map<String, Value>, indent: usize, first_prefix: Option<&str>) {
                for (i, (k, v)) in m.iter().enumerate() {
                    let pad = " ".repeat(indent);
                    match first_prefix {
                        Some(prefix) if i == 0 => self.out.push_str(prefix),
                        _ => {
                            self.filler(indent);
                            self.out.push_str(&pad);
                        }
                    }
                    let key = self.scalar(&json!(k));
                    self.out.push_str(&(key + ":"));
                    self.node(v, indent, true);
                }
            }

            fn seq(&mut self, a: &[Value], indent: usize) {
                for v in a {
                    self.filler(indent);
                    let gap = 1 + self.pick(3) as usize;
                    let prefix = format!("{}-{}", " ".repeat(indent), " ".repeat(gap));
                    match v {
                        Value::Object(m) if !m.is_empty() && self.coin() => {
                            self.map(m, indent + 1 + gap, Some(&prefix))
                        }
                        _ => {
                            self.out.push_str(prefix.trim_end());
                            self.node(v, indent, false);
                        }
                    }
                }
            }

            /// After `key:` or `-`: the value inline, or the block below.
            fn node(&mut self, v: &Value, indent: usize, in_map: bool) {
                let deeper = indent + self.step;
                match v {
                    Value::Array(a) if !a.is_empty() && self.coin() => {
                        self.out.push('\n');
                        let same_column = in_map && self.coin();
                        self.seq(a, if same_column { indent } else { deeper });
                    }
                    Value::Object(m) if !m.is_empty() && self.coin() => {
                        self.out.push('\n');
                        self.map(m, deeper, None);
                    }
                    Value::Null if self.coin() => self.out.push('\n'),
                    Value::String(s) if literal_ok(s) && self.coin() => {
                        let body = s.strip_suffix('\n').unwrap_or(s);
                        let chomp = match (s.ends_with('\n'), body.ends_with('\n')) {
                            (false, _) => "-",
                            (true, true) => "+",
                            (true, false) => "",
                        };
                        self.out.push_str(&format!(" |{chomp}\n"));
                        for line in body.split('\n') {
                            let pad = if line.is_empty() { 0 } else { deeper };
                            self.out.push_str(&format!("{}{line}\n", " ".repeat(pad)));
                        }
                    }
                    _ => {
                        let text = self.scalar(v);
                        let comment = if self.pick(4) == 0 { " # c: d" } else { "" };
                        self.out.push_str(&format!(" {text}{comment}\n"));
                    }
                }
            }
        }

        /// Numbers as Kubernetes holds them (see `number`).
        fn k8s_numbers(v: Value) -> Value {
            match v {
                Value::Number(n) if !n.is_i64() => number(n.as_f64().unwrap()).unwrap(),
                Value::Array(a) => Value::Array(a.into_iter().map(k8s_numbers).collect()),
                Value::Object(m) => {
                    Value::Object(m.into_iter().map(|(k, v)| (k, k8s_numbers(v))).collect())
                }
                v => v,
            }
        }

        /// Strings that round-trip through a `|`/`|-`/`|+` literal.
        fn literal_ok(s: &str) -> bool {
            let first = s.split('\n').find(|l| !l.is_empty());
            first.is_some_and(|l| !l.starts_with([' ', '\t']))
                && !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
        }

        fn emit(root: &Value, rng: u64) -> String {
            let mut e = Emitter {
                rng: rng | 1,
                step: 1 + (rng % 4) as usize,
                out: String::new(),
            };
            match root {
                Value::Object(m) => e.map(m, 0, None),
                Value::Array(a) => e.seq(a, 0),
                _ => unreachable!(),
            }
            e.out
        }

        /// Random lines of YAML-ish fragments, valid and invalid.
        #[rustfmt::skip]
        fn yamlish() -> impl Strategy<Value = String> {
            let frag = [
                "a:", "b: 1", "- ", "-", "- c: x", "- - 1", "\"q\": 2", "d: |", "d: |-", "d: |+",
                "text", "e: [1, \"x\", {\"k\": true}]", "f: {\"k\": [], g: -1.5}", "# comment", "",
                "---", "g: 'it''s'", "h: ~", "i: \"x\" # c", "j: a#b", "k: \"\\u00e9\\n\"", "l: 0x1F",
                "m: 1_000", "n: 2024-01-01", "o: http://x:1", "p: a b  c", "- r: |", "  - s", "{}",
                "t: [a, b]", "u: 'a: b'", "- [1]", "v: -", "w: !x", "x: &a b", "-  - 2", "z: 1 # c: d",
            ];
            let indent = prop_oneof![(0usize..4).prop_map(|i| 2 * i), 0usize..7];
            let line = (indent, proptest::sample::select(frag.to_vec()))
                .prop_map(|(i, f)| format!("{}{f}", " ".repeat(i)));
            prop::collection::vec(line, 1..14).prop_map(|l| l.join("\n") + "\n")
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn emitted_values_round_trip(root in value(), rng in any::<u64>()) {
                let root = match k8s_numbers(root) {
                    Value::Object(m) if !m.is_empty() => Value::Object(m),
                    Value::Array(a) if !a.is_empty() => Value::Array(a),
                    v => json!({"value": v}),
                };
                let y = emit(&root, rng);
                let first = y.lines().position(|l| !l.is_empty() && !l.trim_start().starts_with('#'));
                let want = vec![Document { value: root.clone(), start_line: first.unwrap() + 1 }];
                prop_assert_eq!(parse_stream(&y), ParseOutcome::Parsed(want), "{}", y);
                prop_assert_eq!(parse_all(&format!("---\n{y}---\n{y}")), vec![root.clone(), root]);
            }

            #[test]
            fn parsed_yamlish_agrees_with_serde_saphyr(y in yamlish()) {
                if let ParseOutcome::Parsed(docs) = parse_stream(&y) {
                    let reference = serde_saphyr::from_multiple::<Value>(&y);
                    prop_assert!(reference.is_ok(), "serde-saphyr rejects it: {:?}\n{}", reference, y);
                    let ours: Vec<Value> = docs.into_iter().map(|d| d.value).collect();
                    prop_assert_eq!(ours, reference.unwrap(), "{}", y);
                }
            }

            #[test]
            fn never_panics(s in any::<String>(), y in yamlish()) {
                let _ = parse_stream(&s);
                let _ = parse_stream(&(y + &s));
            }
        }
    }
}
