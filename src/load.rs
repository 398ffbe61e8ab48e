//! Stage 1, **load**: read a spec file, resolve `extends`, apply `serviceDefaults`.
//!
//! The YAML is parsed with serde-saphyr into a [`Node`] tree in which every value remembers
//! the file, line and column it came from. Merging keeps those origins, so an error found
//! later (schema, types, plan) points at the line that actually set the value, even when it
//! came from a base file.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::error::{Error, FileId, Loc, Result, Sources};

/// Largest spec file accepted.
pub const MAX_SPEC_BYTES: u64 = 1 << 20;
/// Deepest nesting accepted in a spec.
pub const MAX_DEPTH: usize = 32;
/// Longest `extends` chain accepted.
pub const MAX_EXTENDS: usize = 8;
/// Most YAML nodes a spec may have after alias expansion (a "billion laughs" document of a
/// few hundred bytes would otherwise expand to gigabytes).
pub const MAX_NODES: usize = 100_000;
/// Most alias uses (`*name`) in a spec.
pub const MAX_ALIASES: usize = 1_000;

/// A YAML value with its origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub loc: Loc,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys in document order, each with the location of the key itself.
    Map(Vec<(String, Loc, Node)>),
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _, _)| k == key).map(|(_, _, n)| n),
            _ => None,
        }
    }

    /// Location of the key `key` of this map, if present.
    pub fn key_loc(&self, key: &str) -> Option<Loc> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _, _)| k == key)
                .map(|(_, l, _)| *l),
            _ => None,
        }
    }

    /// Follows a path of map keys and sequence indexes; returns the deepest node reached
    /// (so an error about a missing field points at its parent).
    pub fn find<'a>(&self, path: impl IntoIterator<Item = &'a str>) -> &Node {
        let mut node = self;
        for seg in path {
            let next = match &node.value {
                Value::Map(_) => node.get(seg),
                Value::Seq(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node
    }

    /// The plain JSON value: what validation describes a problem in (a valid spec is read in
    /// place: see the `Deserializer` below), what the schema compares a non-string enum
    /// value with, and what verify reads a document outside the fast parser's subset into.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                let entry = |(k, _, v): &(String, Loc, Node)| (k.clone(), v.to_json());
                // The services of a large spec: converted on every core (validation waits).
                let threads = crate::par::threads_for(entries.len(), crate::par::MIN_SERVICES);
                J::Object(if threads > 1 {
                    crate::par::map(entries, threads, entry)
                        .into_iter()
                        .collect()
                } else {
                    entries.iter().map(entry).collect()
                })
            }
        }
    }

    fn set_file(&mut self, file: FileId) {
        self.loc.file = file;
        match &mut self.value {
            Value::Seq(items) => items.iter_mut().for_each(|n| n.set_file(file)),
            Value::Map(entries) => entries.iter_mut().for_each(|(_, l, n)| {
                l.file = file;
                n.set_file(file)
            }),
            _ => {}
        }
    }

    fn depth(&self) -> usize {
        match &self.value {
            Value::Seq(items) => 1 + items.iter().map(Node::depth).max().unwrap_or(0),
            Value::Map(entries) => 1 + entries.iter().map(|(_, _, n)| n.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }
}

/// The number methods of a deserializer, all read as [`Deserializer::deserialize_f64`] is.
macro_rules! numbers_as_f64 {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
            self.deserialize_f64(v)
        }
    )*};
}

/// Reads a [`Node`] exactly as `serde_json`'s `&Value` deserializer reads the JSON that
/// [`Node::to_json`] makes of it (the same visitor calls, the same type errors), so a type
/// that deserializes from one deserializes alike from the other; validate reads a spec so
/// without copying it into JSON (BENCHMARKS.md, step 42). Its errors carry no path: on one,
/// validate reads the JSON for the message. Enums are read from strings only (unit
/// variants), and map keys as strings; a map-shaped enum fails here, and takes that path.
impl<'de> Deserializer<'de> for &'de Node {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match &self.value {
            Value::Null => v.visit_unit(),
            Value::Bool(b) => v.visit_bool(*b),
            Value::Float(f) if !f.is_finite() => v.visit_unit(), // null in JSON
            Value::Int(_) | Value::Float(_) => self.deserialize_f64(v),
            Value::Str(s) => v.visit_borrowed_str(s),
            Value::Seq(items) => {
                let mut seq = de::value::SeqDeserializer::new(items.iter());
                let value = v.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Value::Map(entries) => {
                let entries = entries.iter().map(|(k, _, v)| (k.as_str(), v));
                let mut map = de::value::MapDeserializer::new(entries);
                let value = v.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
        }
    }

    /// Every number method, as serde_json's: an integer as `u64` when not negative (JSON keeps
    /// it so), a finite float as `f64`, anything else (a float without a JSON form is null
    /// there) a type error.
    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Int(i) => match u64::try_from(i) {
                Ok(u) => v.visit_u64(u),
                Err(_) => v.visit_i64(i),
            },
            Value::Float(f) if f.is_finite() => v.visit_f64(f),
            _ => Err(self.invalid_type(&v)),
        }
    }

    numbers_as_f64!(
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32
    );

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Null => v.visit_none(),
            Value::Float(f) if !f.is_finite() => v.visit_none(),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Self::Error> {
        match &self.value {
            Value::Str(s) => v.visit_enum(de::IntoDeserializer::into_deserializer(s.as_str())),
            _ => Err(self.invalid_type(&v)),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Self::Error> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        self.read_if(matches!(self.value, Value::Bool(_)), v)
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        self.read_if(matches!(self.value, Value::Str(_)), v)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        self.read_if(matches!(self.value, Value::Str(_) | Value::Seq(_)), v)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        let null = match self.value {
            Value::Null => true,
            Value::Float(f) => !f.is_finite(),
            _ => false,
        };
        self.read_if(null, v)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        self.read_if(matches!(self.value, Value::Seq(_)), v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        self.read_if(matches!(self.value, Value::Map(_)), v)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Self::Error> {
        self.read_if(matches!(self.value, Value::Seq(_) | Value::Map(_)), v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        v.visit_unit()
    }

    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        self.deserialize_str(v)
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        self.deserialize_str(v)
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        self.deserialize_str(v)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        self.deserialize_bytes(v)
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Self::Error> {
        self.deserialize_unit(v)
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, Self::Error> {
        self.deserialize_seq(v)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        v: V,
    ) -> Result<V::Value, Self::Error> {
        self.deserialize_seq(v)
    }
}

impl<'de> de::IntoDeserializer<'de, de::value::Error> for &'de Node {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Node {
    /// `deserialize_any` for a value of a kind the method reads (`ok`); serde_json's methods
    /// refuse the other kinds with a type error.
    fn read_if<V: Visitor<'de>>(&'de self, ok: bool, v: V) -> Result<V::Value, de::value::Error> {
        if ok {
            self.deserialize_any(v)
        } else {
            Err(self.invalid_type(&v))
        }
    }

    /// A type error as serde_json words it (the words are not shown: see the deserializer).
    fn invalid_type(&self, expected: &dyn de::Expected) -> de::value::Error {
        let unexpected = match &self.value {
            Value::Null | Value::Float(_) => de::Unexpected::Unit,
            Value::Bool(b) => de::Unexpected::Bool(*b),
            Value::Int(i) => de::Unexpected::Signed(*i),
            Value::Str(s) => de::Unexpected::Str(s),
            Value::Seq(_) => de::Unexpected::Seq,
            Value::Map(_) => de::Unexpected::Map,
        };
        de::Error::invalid_type(unexpected, expected)
    }
}

/// Deep merge: maps merge by key (recursively), everything else in `over` replaces `base`.
pub fn merge(base: &mut Node, over: Node) {
    match (&mut base.value, over.value) {
        (Value::Map(b), Value::Map(o)) => {
            for (key, key_loc, value) in o {
                match b.iter_mut().find(|(k, _, _)| *k == key) {
                    Some((_, l, existing)) => {
                        *l = key_loc;
                        merge(existing, value);
                    }
                    None => b.push((key, key_loc, value)),
                }
            }
            base.loc = over.loc;
        }
        (_, value) => {
            base.value = value;
            base.loc = over.loc;
        }
    }
}

/// What serde-saphyr gives us before locations get their file id.
struct Raw(Value);

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

fn node(s: Spanned<Raw>) -> Node {
    Node {
        loc: Loc {
            file: FileId(0),
            line: s.referenced.line() as u32,
            col: s.referenced.column() as u32,
        },
        value: s.value.0,
    }
}

struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        match Raw::deserialize(d)?.0 {
            Value::Str(s) => Ok(Key(s)),
            Value::Int(i) => Ok(Key(i.to_string())),
            Value::Bool(b) => Ok(Key(b.to_string())),
            _ => Err(de::Error::custom("mapping keys must be strings")),
        }
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw(Value::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        i64::try_from(v)
            .map(|v| Raw(Value::Int(v)))
            .map_err(|_| E::custom(format!("number {v} is too large")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
        if v.is_finite() {
            Ok(Raw(Value::Float(v)))
        } else {
            Err(E::custom("numbers must be finite (no .nan or .inf)"))
        }
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw(Value::Str(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw(Value::Str(v)))
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Raw, E> {
        Err(E::custom("binary values are not allowed in a spec"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            items.push(node(item));
        }
        Ok(Raw(Value::Seq(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries: Vec<(String, Loc, Node)> = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Key>>()? {
            let value = map.next_value::<Spanned<Raw>>()?;
            let loc = Loc {
                file: FileId(0),
                line: key.referenced.line() as u32,
                col: key.referenced.column() as u32,
            };
            entries.push((key.value.0, loc, node(value)));
        }
        Ok(Raw(Value::Map(entries)))
    }
}

fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.max_nodes = MAX_NODES;
    budget.max_aliases = MAX_ALIASES;
    budget.max_documents = 1;
    let mut opts = serde_saphyr::Options::default();
    opts.budget = Some(budget);
    // YAML 1.2 typing for untyped values: `on`/`no` stay strings, `014` and `1_000` stay
    // strings. The typed structs decide what a scalar means.
    opts.strict_booleans = true;
    opts.leading_zero_numbers_as_strings = true;
    opts.underscored_numbers_as_strings = true;
    opts.with_snippet = false;
    opts
}

/// Parses one YAML text into a located tree. `file` is the id in `sources`.
///
/// A spec written in the plain subset of YAML (most are) is read by [`crate::fastyaml::parse_spec`],
/// which builds the same tree several times faster than serde-saphyr (BENCHMARKS.md, step 10;
/// the tests below hold the two to the same tree); anything else, every error included, goes
/// through serde-saphyr.
pub fn parse(text: &str, file: FileId) -> Result<Node> {
    if let Some(mut n) = crate::fastyaml::parse_spec(text) {
        n.set_file(file);
        return Ok(n);
    }
    parse_saphyr(text, file)
}

fn parse_saphyr(text: &str, file: FileId) -> Result<Node> {
    let parsed: Result<Spanned<Raw>, serde_saphyr::Error> =
        serde_saphyr::from_str_with_options(text, yaml_options());
    match parsed {
        Ok(raw) => {
            let mut n = node(raw);
            n.set_file(file);
            if n.depth() > MAX_DEPTH {
                return Err(Error::invalid(format!(
                    "the spec nests deeper than {MAX_DEPTH} levels"
                ))
                .at(Some(n.loc)));
            }
            Ok(n)
        }
        Err(e) => {
            let loc = e.location().map(|l| Loc {
                file,
                line: l.line() as u32,
                col: l.column() as u32,
            });
            Err(Error::invalid(yaml_message(&e)).at(loc.filter(|l| l.line > 0)))
        }
    }
}

/// A message for a YAML error in the spec's terms: limits name the limit, and developer hints
/// of the parser ("set DuplicateKeyPolicy in Options") are replaced by what the user can do.
fn yaml_message(e: &serde_saphyr::Error) -> String {
    use serde_saphyr::{Error as E, budget::BudgetBreach as B};
    let mut inner = e;
    while let E::AliasError { error, .. } | E::WithSnippet { error, .. } = inner {
        inner = error;
    }
    match inner {
        E::Budget { breach, .. } => match breach {
            B::Depth { .. } => format!("the spec nests deeper than {MAX_DEPTH} levels"),
            B::Nodes { .. } => format!(
                "the spec has more than {MAX_NODES} values once aliases (`*name`) are expanded"
            ),
            B::Aliases { .. } => format!("the spec uses more than {MAX_ALIASES} aliases (`*name`)"),
            B::Documents { .. } => {
                "a spec is one YAML document; remove this `---` and what follows, or move it to its own file".into()
            }
            other => format!("the spec exceeds a parser limit ({other:?})"),
        },
        E::MultipleDocuments { .. } => {
            "a spec is one YAML document; remove this `---` and what follows, or move it to its own file".into()
        }
        E::DuplicateMappingKey { key: Some(k), .. } => {
            format!("duplicate key `{k}`: a key may appear only once in a mapping")
        }
        E::DuplicateMappingKey { key: None, .. } => {
            "duplicate key: a key may appear only once in a mapping".into()
        }
        E::BinaryNotUtf8 { .. } | E::InvalidBinaryBase64 { .. } => {
            "binary values (`!!binary`) are not allowed in a spec; write the value as text".into()
        }
        E::NonFiniteFloat { value, .. } => {
            format!("`{value}` is not a finite number; numbers must be finite (no .nan, .inf or overflow)")
        }
        _ => {
            let msg = e.to_string();
            // serde-saphyr appends " at line L column C"; the snippet shows that already.
            let msg = match msg.find(" at line ") {
                Some(i) if e.location().is_some() => msg[..i].to_string(),
                _ => msg,
            };
            format!("invalid YAML: {msg}")
        }
    }
}

/// A loaded spec: the merged tree, the files it came from, and its path relative to the
/// repository root (for output headers).
#[derive(Debug)]
pub struct Loaded {
    pub tree: Node,
    /// The spec as named in output headers, relative to the repository root, `/`-separated.
    pub display_path: String,
}

/// The repository root: the nearest ancestor of `start` with a `.git`, else `start` itself.
pub fn repo_root(start: &Path) -> PathBuf {
    let mut dir = Some(start);
    while let Some(d) = dir {
        if d.join(".git").exists() {
            return d.to_path_buf();
        }
        dir = d.parent();
    }
    start.to_path_buf()
}

/// Reads a spec file into `sources`, enforcing the size limit and UTF-8. `shown` is the path
/// as messages name it.
fn read_spec(path: &Path, shown: &Path, sources: &mut Sources) -> Result<FileId> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io("read", shown, e))?;
    if !meta.is_file() {
        return Err(Error::invalid(format!(
            "{} is not a file; a spec is a YAML file",
            shown.display()
        )));
    }
    if meta.len() > MAX_SPEC_BYTES {
        return Err(Error::invalid(format!(
            "{} is {} bytes; a spec may have at most {MAX_SPEC_BYTES} bytes (1 MiB)",
            shown.display(),
            meta.len(),
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", shown, e))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(sources.add(shown.to_path_buf(), text)),
        Err(e) => {
            // Point at the first invalid byte; the snippet shows the text decoded lossily.
            let bytes = e.as_bytes();
            let at = e.utf8_error().valid_up_to();
            let valid = String::from_utf8_lossy(&bytes[..at]);
            let line = valid.matches('\n').count() + 1;
            let col = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let byte = bytes[at];
            let text = String::from_utf8_lossy(bytes).into_owned();
            let id = sources.add(shown.to_path_buf(), text);
            Err(Error::invalid(format!(
                "{} is not UTF-8 text: byte 0x{byte:02x} cannot start a character; a spec is UTF-8 YAML",
                shown.display()
            ))
            .at(Some(Loc {
                file: id,
                line: line as u32,
                col: col as u32,
            }))
            .with_label("not UTF-8"))
        }
    }
}

/// Loads `path`, following `extends` (confined to `root`), and applies `serviceDefaults`.
pub fn load(path: &Path, root: &Path, sources: &mut Sources) -> Result<Loaded> {
    let root = root
        .canonicalize()
        .map_err(|e| Error::io("resolve", root, e))?;
    let mut chain: Vec<PathBuf> = Vec::new();
    let mut trees: Vec<Node> = Vec::new();
    let mut current = path.to_path_buf();
    let mut from: Option<Loc> = None;
    loop {
        // The file named on the command line is shown as given, `extends` targets relative to
        // the current directory.
        let shown = if chain.is_empty() {
            current.clone()
        } else {
            relative_to_cwd(&normalize(&current))
        };
        let canon = current.canonicalize().map_err(|e| match from {
            Some(_) => Error::io("read", &shown, e)
                .at(from)
                .with_path("extends")
                .with_label("extended here"),
            // The spec named on the command line.
            None => Error::io("read", &shown, e),
        })?;
        if !canon.starts_with(&root) && chain.is_empty() {
            // Output headers name the spec relative to the repository; outside it there is no
            // stable name.
            return Err(Error::invalid(format!(
                "{} is outside the repository {}; run tacosgen from the repository that holds the spec",
                shown.display(),
                relative_to_cwd(&root).display()
            )));
        }
        if !canon.starts_with(&root) {
            return Err(Error::invalid(format!(
                "{} is outside the repository",
                shown.display()
            ))
            .at(from)
            .with_path("extends")
            .with_help(format!(
                "allowed: files inside the repository, {}/ (the nearest directory with a .git)",
                relative_to_cwd(&root).display()
            ))
            .with_help(chain_help(&chain, &canon, &root)));
        }
        if chain.contains(&canon) {
            return Err(Error::invalid("`extends` forms a cycle")
                .at(from)
                .with_path("extends")
                .with_help(chain_help(&chain, &canon, &root)));
        }
        if chain.len() >= MAX_EXTENDS {
            return Err(Error::invalid(format!(
                "`extends` chain is longer than {MAX_EXTENDS} files"
            ))
            .at(from)
            .with_path("extends")
            .with_help(chain_help(&chain, &canon, &root)));
        }
        let id = read_spec(&current, &shown, sources).map_err(|e| {
            if e.loc.is_none() && from.is_some() {
                e.at(from).with_path("extends").with_label("extended here")
            } else {
                e
            }
        })?;
        let tree = parse(sources.text(id), id)?;
        match tree.value {
            Value::Map(_) => {}
            Value::Null => {
                return Err(Error::invalid(format!(
                    "{} has no content; a spec is a mapping of fields (environment, namespace, slo, services, ...)",
                    shown.display()
                ))
                .at(Some(Loc {
                    file: id,
                    line: 1,
                    col: 1,
                })));
            }
            _ => {
                return Err(Error::invalid(
                    "a spec must be a mapping of fields (environment, namespace, slo, services, ...)",
                )
                .at(Some(tree.loc))
                .with_label("not a mapping"));
            }
        }
        let next = match tree.get("extends") {
            None => None,
            Some(Node {
                value: Value::Str(s),
                loc,
            }) => Some((s.clone(), *loc)),
            Some(n) => {
                return Err(Error::invalid("must be a file path (a string)")
                    .with_path("extends")
                    .at(Some(n.loc)));
            }
        };
        chain.push(canon.clone());
        trees.push(tree);
        match next {
            None => break,
            Some((rel, loc)) => {
                current = canon.parent().unwrap_or(&root).join(rel);
                from = Some(loc);
            }
        }
    }
    // Merge from the root base down to the file named on the command line.
    let mut trees = trees.into_iter().rev();
    let mut merged = trees.next().expect("at least one file");
    for t in trees {
        merge(&mut merged, t);
    }
    if let Value::Map(entries) = &mut merged.value {
        entries.retain(|(k, _, _)| k != "extends");
    }
    apply_service_defaults(&mut merged);
    let display_path = path
        .canonicalize()
        .ok()
        .and_then(|p| p.strip_prefix(&root).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    Ok(Loaded {
        tree: merged,
        display_path,
    })
}

/// `path` with `.` and `..` components resolved lexically (for messages only).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` relative to the current directory when it is below it, for shorter messages.
fn relative_to_cwd(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .map(|p| {
            if p.as_os_str().is_empty() {
                ".".into()
            } else {
                p
            }
        })
        .unwrap_or_else(|| path.to_path_buf())
}

fn chain_help(chain: &[PathBuf], next: &Path, root: &Path) -> String {
    let show = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
    let mut parts: Vec<String> = chain.iter().map(|p| show(p)).collect();
    parts.push(show(next));
    format!("extends chain: {}", parts.join(" -> "))
}

/// Merges `serviceDefaults` under every entry of `services` and removes it.
fn apply_service_defaults(tree: &mut Node) {
    let Value::Map(entries) = &mut tree.value else {
        return;
    };
    let Some(pos) = entries.iter().position(|(k, _, _)| k == "serviceDefaults") else {
        return;
    };
    let (_, _, defaults) = entries.remove(pos);
    if !matches!(defaults.value, Value::Map(_)) {
        // Put it back so validation reports it with its location.
        entries.insert(pos, ("serviceDefaults".into(), defaults.loc, defaults));
        return;
    }
    if let Some((_, _, services)) = entries.iter_mut().find(|(k, _, _)| k == "services")
        && let Value::Map(svcs) = &mut services.value
    {
        for (_, _, svc) in svcs.iter_mut() {
            match svc.value {
                Value::Map(_) => {
                    let own = std::mem::replace(
                        svc,
                        Node {
                            loc: Loc::default(),
                            value: Value::Null,
                        },
                    );
                    *svc = merged(&defaults, own);
                }
                Value::Null => {
                    let loc = svc.loc;
                    *svc = defaults.clone();
                    svc.loc = loc;
                }
                _ => {}
            }
        }
    }
}

/// [`merge`] of `over` into a copy of `base`, without copying what `over` replaces.
fn merged(base: &Node, over: Node) -> Node {
    match (&base.value, over.value) {
        (Value::Map(b), Value::Map(mut o)) => {
            let mut entries = Vec::with_capacity(b.len() + o.len());
            for (key, key_loc, value) in b {
                match o.iter().position(|(k, _, _)| k == key) {
                    Some(at) => {
                        let (key, key_loc, own) = o.remove(at);
                        entries.push((key, key_loc, merged(value, own)));
                    }
                    None => entries.push((key.clone(), *key_loc, value.clone())),
                }
            }
            entries.extend(o);
            Node {
                loc: over.loc,
                value: Value::Map(entries),
            }
        }
        (_, value) => Node {
            loc: over.loc,
            value,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Node {
        parse(text, FileId(0)).unwrap()
    }

    #[test]
    fn large_maps_convert_to_json_in_order() {
        let text: String = (0..3 * crate::par::MIN_SERVICES)
            .map(|i| format!("s{i}:\n  n: {i}\n  t: [a, {{b: c}}]\n"))
            .collect();
        let expected = serde_saphyr::from_str::<serde_json::Value>(&text).unwrap();
        assert_eq!(tree(&text).to_json(), expected);
    }

    #[test]
    fn keeps_locations_and_yaml12_scalars() {
        let t = tree("a:\n  b: on\n  c: 014\n  d: 5\n");
        let b = t.find(["a", "b"]);
        assert_eq!(b.value, Value::Str("on".into()));
        assert_eq!((b.loc.line, b.loc.col), (2, 6));
        assert_eq!(t.find(["a", "c"]).value, Value::Str("014".into()));
        assert_eq!(t.find(["a", "d"]).value, Value::Int(5));
    }

    #[test]
    fn merge_maps_by_key_and_replaces_lists() {
        let mut base = tree("a: {x: 1, y: 2}\nl: [1, 2]\n");
        merge(&mut base, tree("a: {y: 3}\nl: [9]\n"));
        assert_eq!(
            base.to_json(),
            serde_json::json!({"a": {"x": 1, "y": 3}, "l": [9]})
        );
    }

    /// Nodes with few distinct keys, so that maps overlap often, and distinct locations.
    fn node_strategy() -> impl proptest::strategy::Strategy<Value = Node> {
        use proptest::prelude::*;
        let loc = (1u32..50).prop_map(|line| Loc {
            line,
            ..Loc::default()
        });
        let leaf = (
            loc.clone(),
            prop_oneof![Just(Value::Null), any::<i64>().prop_map(Value::Int)],
        )
            .prop_map(|(loc, value)| Node { loc, value });
        leaf.prop_recursive(3, 24, 4, move |inner| {
            let entry = (
                prop::sample::select(vec!["a", "b", "c"]),
                loc.clone(),
                inner.clone(),
            );
            (
                loc.clone(),
                prop_oneof![
                    prop::collection::vec(inner, 0..3).prop_map(Value::Seq),
                    prop::collection::vec(entry, 0..4).prop_map(|entries| {
                        // Keys are unique, as the parsers leave them.
                        let mut seen = Vec::new();
                        let entries = entries
                            .into_iter()
                            .filter(|(k, _, _)| {
                                !seen.contains(k) && {
                                    seen.push(*k);
                                    true
                                }
                            })
                            .map(|(k, l, n)| (k.to_string(), l, n))
                            .collect();
                        Value::Map(entries)
                    }),
                ],
            )
                .prop_map(|(loc, value)| Node { loc, value })
        })
    }

    proptest::proptest! {
        /// Merging into a borrowed base gives what merging into a copy of it gives, locations
        /// and key order included.
        #[test]
        fn merged_is_merge_into_a_copy(base in node_strategy(), over in node_strategy()) {
            let mut copy = base.clone();
            merge(&mut copy, over.clone());
            proptest::prop_assert_eq!(merged(&base, over), copy);
        }
    }

    #[test]
    fn rejects_duplicate_keys_with_location() {
        let e = parse("a: 1\na: 2\n", FileId(0)).unwrap_err();
        assert!(e.message.contains("duplicate"), "{}", e.message);
        assert_eq!(e.loc.map(|l| l.line), Some(2));
    }

    #[test]
    fn service_defaults_merge_under_each_service() {
        let mut t = tree(
            "serviceDefaults: {port: 8000, probes: {a: 1}}\nservices:\n  x: {port: 9000}\n  y: {probes: {b: 2}}\n",
        );
        apply_service_defaults(&mut t);
        assert_eq!(
            t.to_json(),
            serde_json::json!({"services": {"x": {"port": 9000, "probes": {"a": 1}}, "y": {"port": 8000, "probes": {"a": 1, "b": 2}}}})
        );
    }

    /// Every spec file in the repository (good and bad), read by the fast path and by
    /// serde-saphyr: wherever the fast path answers, it answers the same tree with the same
    /// locations; the committed good specs all take it.
    fn spec_files() -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in [
            "environments",
            "examples",
            "src/scaffold",
            "tests/bad-inputs",
        ] {
            let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                .collect();
            paths.sort();
            for p in paths {
                if let Ok(text) = std::fs::read_to_string(&p) {
                    files.push((p.display().to_string(), text));
                }
            }
        }
        files
    }

    /// `None` when the fast path declines; else it must equal serde-saphyr's tree.
    fn agree(name: &str, text: &str) -> Option<Node> {
        let fast = crate::fastyaml::parse_spec(text)?;
        match parse_saphyr(text, FileId(0)) {
            Ok(slow) => assert_eq!(fast, slow, "{name}:\n{text}"),
            Err(e) => panic!("{name}: fast path read what serde-saphyr rejects ({e}):\n{text}"),
        }
        Some(fast)
    }

    #[test]
    fn fast_path_reads_specs_exactly_like_serde_saphyr() {
        let files = spec_files();
        assert!(files.len() > 40, "{}", files.len());
        for (name, text) in &files {
            let fast = agree(name, text);
            let good = ["environments/", "examples/"]
                .iter()
                .any(|d| name.contains(d));
            assert!(!good || fast.is_some(), "{name} should take the fast path");
        }
    }

    /// Each plain value of each spec replaced by scalars YAML readers disagree on, and by
    /// constructs the fast path declines: it must decline or agree, never differ.
    #[test]
    fn fast_path_declines_or_agrees_on_mutated_specs() {
        const SCALARS: &[&str] = &[
            "yes",
            "No",
            "on",
            "OFF",
            "y",
            "True",
            "FALSE",
            "Null",
            "NULL",
            "~",
            "null",
            "",
            "0",
            "-0",
            "007",
            "+1",
            "-12",
            "1_000",
            "0x1F",
            "0o17",
            "0b11",
            "1e3",
            "1E-2",
            "-1.5",
            "0.25",
            ".5",
            "5.",
            "1.2.3",
            ".inf",
            "-.inf",
            ".NaN",
            "1:30",
            "2001-12-14",
            "12345678901234567890",
            "250m",
            "1Gi",
            "5s",
            "100%",
            "1/3",
            "\"q\\u00e9\"",
            "'it''s'",
            "é",
            "a #c",
            "x#y",
            "[1, 2]",
            "{a: 1}",
            "{}",
            "[]",
            "&a x",
            "*a",
            "!!str 1",
            "|",
            ">",
            "- x",
            "a: b",
            "[a, b",
            "\"\\/\"",
        ];
        let mut checked = 0;
        let files = spec_files();
        // One file: serde-saphyr takes milliseconds per parse in a debug build.
        for (name, text) in files.iter().filter(|(n, _)| n.ends_with("prod.yaml")) {
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let Some(colon) = line.find(": ") else {
                    continue;
                };
                if line.trim_start().starts_with('#') {
                    continue;
                }
                for scalar in SCALARS {
                    let mut mutated = lines.clone();
                    let new = format!("{}: {scalar}", &line[..colon]);
                    mutated[i] = &new;
                    let text = mutated.join("\n") + "\n";
                    if agree(name, &text).is_some() {
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 400, "only {checked} mutations took the fast path");
    }
}
