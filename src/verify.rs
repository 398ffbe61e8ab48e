//! Stage 5, **verify**: every rendered Kubernetes document is parsed back and checked before
//! anything is written.
//!
//! Built-in kinds are deserialized into the `k8s-openapi` types (Kubernetes 1.33) while
//! `serde_ignored` records every field the type does not know, so a template typo such as
//! `replcas:` fails the build with the file, line and field path instead of being silently
//! dropped by the API server. Names and namespaces are checked too, and no two documents may
//! describe the same object.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, BuildHasherDefault};

use serde::de::DeserializeOwned;

use crate::error::{Error, FileId, Result};
use crate::fastyaml::{self, Build, Light, ParseOutcome};
use crate::load::{self, Node};
use crate::par;
use crate::render::OutputFile;
use crate::skeleton::{self, Field, Hole, Kind, Skeleton, Skeletons};
use crate::validate::is_dns_label;

/// One parsed document of an output file.
#[derive(Debug, Clone)]
pub struct Document {
    /// 1-based line in the file where the document's text starts.
    pub line: usize,
    pub value: serde_json::Value,
}

/// Identity of a Kubernetes object: apiVersion, kind, namespace (empty if cluster-scoped), name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

impl ObjectId {
    pub fn of(value: &serde_json::Value) -> Option<ObjectId> {
        ObjectId::from_fields(|path| value.pointer(path).and_then(|v| v.as_str()))
    }

    /// The same identity read from verify's borrowed parse.
    fn of_light(doc: &fastyaml::Light) -> Option<ObjectId> {
        ObjectId::from_fields(|path| {
            path.split('/')
                .skip(1)
                .try_fold(doc, |node, key| node.get(key))?
                .as_str()
        })
    }

    /// The identity from apiVersion, kind, metadata.namespace and metadata.name.
    fn of_fields(fields: [Option<&str>; 4]) -> Option<ObjectId> {
        let [api_version, kind, namespace, name] = fields;
        Some(ObjectId {
            api_version: api_version?.to_owned(),
            kind: kind?.to_owned(),
            namespace: namespace.unwrap_or_default().to_owned(),
            name: name?.to_owned(),
        })
    }

    /// The identity from a lookup of string fields by JSON pointer.
    fn from_fields<'v>(field: impl Fn(&str) -> Option<&'v str>) -> Option<ObjectId> {
        ObjectId::of_fields(
            [
                "/apiVersion",
                "/kind",
                "/metadata/namespace",
                "/metadata/name",
            ]
            .map(field),
        )
    }
}

/// Splits a YAML stream at `---` lines; returns each document's text and first line.
/// Documents with only comments or blank lines are skipped, as Argo CD and kubectl do.
/// Only lines starting with `---` are looked at (a vectorized substring search finds them),
/// and line numbers are counted only up to each separator, also vectorized: a stream is
/// megabytes at 1,000 services.
pub fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut docs = Vec::new();
    let (mut start, mut start_line) = (0, 1);
    // `line` is the 1-based number of the line that starts at byte `counted`.
    let (mut counted, mut line) = (0, 1);
    let bytes = text.as_bytes();
    let first = text.starts_with("---").then_some(0);
    for at in first
        .into_iter()
        .chain(memchr::memmem::find_iter(bytes, b"\n---").map(|i| i + 1))
    {
        let end = memchr::memchr(b'\n', &bytes[at..]).map_or(text.len(), |n| at + n);
        let bare = text[at..end].trim_end();
        if bare != "---" && !bare.starts_with("--- ") {
            continue;
        }
        line += memchr::memchr_iter(b'\n', &bytes[counted..at]).count();
        counted = at;
        docs.push((start_line, &text[start..at]));
        start = (end + 1).min(text.len());
        start_line = line + 1;
    }
    docs.push((start_line, &text[start..]));
    docs.retain(|(_, d)| {
        d.lines().any(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        })
    });
    docs
}

/// Parses one document with the spec parser (serde-saphyr), keeping node locations so an
/// error can name the line.
fn parse_located(doc: &str) -> std::result::Result<Node, Error> {
    load::parse(doc, FileId(0))
}

/// Parses one document of a Kubernetes file: with the fast parser when the text is in its
/// subset (everything the built-in templates render), else with serde-saphyr. Both read the
/// rendered output alike (a test checks it on the committed `out/`).
pub fn parse_document(text: &str) -> std::result::Result<serde_json::Value, Error> {
    match fastyaml::parse_stream(text) {
        ParseOutcome::Parsed(docs) => match <[fastyaml::Document; 1]>::try_from(docs) {
            Ok([doc]) => Ok(doc.value),
            Err(_) => parse_located(text).map(|n| n.to_json()),
        },
        ParseOutcome::Unsupported { .. } => parse_located(text).map(|n| n.to_json()),
    }
}

/// Below this much rendered text, starting a second thread costs more than it saves.
const PARALLEL_MIN_BYTES: usize = 16 * 1024;

/// From this many documents on, typed checks are remembered by shape (see [`Shapes`]) and a
/// document is first read for its shape only (see [`Scan`]): most of a large environment's
/// documents share a handful of shapes, while a small one's shapes mostly occur once, and
/// computing their keys, or reading them twice, would cost more than it saves.
const SHAPES_MIN_DOCUMENTS: usize = 64;

/// Documents larger than this are not scanned first: they are one of a kind (a large
/// environment's dashboard and alert rules, megabytes each), so a scan would be read twice.
const SCAN_MAX_BYTES: usize = 64 * 1024;

/// Checks every Kubernetes file; returns the parsed documents per file (for diff and
/// generate), in file order.
pub fn verify(files: &[OutputFile], namespace: &str) -> Result<Vec<Vec<Document>>, Vec<Error>> {
    run(files, namespace, true)
}

/// Checks every Kubernetes file without keeping the parsed documents (a build only writes
/// the files): each value is freed on the thread that checked it, which keeps peak memory
/// near the size of the output.
pub fn check(files: &[OutputFile], namespace: &str) -> Result<(), Vec<Error>> {
    run(files, namespace, false).map(drop)
}

fn run(
    files: &[OutputFile],
    namespace: &str,
    keep: bool,
) -> Result<Vec<Vec<Document>>, Vec<Error>> {
    let jobs: Vec<(usize, usize, &str)> = files
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kubernetes)
        .flat_map(|(i, f)| {
            split_documents(&f.content)
                .into_iter()
                .map(move |(line, text)| (i, line, text))
        })
        .collect();
    let bytes = jobs.iter().map(|(_, _, text)| text.len()).sum();
    let threads = par::threads_for(bytes, PARALLEL_MIN_BYTES);
    let shapes = Shapes::new(jobs.len() >= SHAPES_MIN_DOCUMENTS);
    // Documents are kept (for `diff`) as parsed trees, so only a check may skip building them.
    let scan = !keep && shapes.remember;
    let checked = par::map_with(&jobs, threads, skeleton::Cache::default, |cache, job| {
        let &(i, line, text) = job;
        if scan
            && text.len() <= SCAN_MAX_BYTES
            && let Some(id) = shapes.accepted(text, cache)
            && identity_problems(&id, namespace).is_empty()
        {
            let value = serde_json::Value::Null;
            return (Some((id, Document { line, value })), Vec::new());
        }
        let full = || {
            let light = fastyaml::parse_light(text);
            let fast = light
                .as_ref()
                .and_then(|d| check_light(d, namespace, keep, &shapes));
            if let Some((id, value)) = fast {
                return (Some((id, Document { line, value })), Vec::new());
            }
            // Parsed already (it reads as `parse_document` would read it): not parsed twice.
            let parsed = light.map(|d| Ok(d.to_json()));
            let (mut doc, errors) = check_document(&files[i], line, text, parsed, namespace);
            if !keep && let Some((_, d)) = &mut doc {
                d.value = serde_json::Value::Null;
            }
            (doc, errors)
        };
        // `TACOSGEN_TIMINGS` times each document too large to scan (a large environment's
        // dashboard and alert rules: megabytes each, on one core).
        if text.len() > SCAN_MAX_BYTES {
            return crate::timed(&files[i].path, full);
        }
        full()
    });
    let mut errors = Vec::new();
    // Hashed: in a sorted map, the comparisons of ids that share their apiVersion, kind and
    // namespace were most of this loop, which runs on one core (BENCHMARKS.md, step 21).
    let mut seen: HashMap<ObjectId, usize> = HashMap::with_capacity(jobs.len());
    let mut parsed: Vec<Vec<Document>> = vec![Vec::new(); files.len()];
    for (&(i, line, _), (doc, errs)) in jobs.iter().zip(checked) {
        errors.extend(errs);
        let Some((id, doc)) = doc else { continue };
        match seen.entry(id) {
            Entry::Occupied(first) => errors.push(located(
                &files[i],
                line,
                format!(
                    "{} is also generated in {}; every object must be unique",
                    first.key(),
                    files[*first.get()].path
                ),
            )),
            Entry::Vacant(slot) => {
                slot.insert(i);
            }
        }
        if keep {
            parsed[i].push(doc);
        }
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(errors)
    }
}

/// The fast path: a document parsed into a borrowed [`fastyaml::Light`] value, deserialized
/// from it, for the built-in kinds and the PrometheusRule. `None` when anything is not clean
/// (or the kind is checked otherwise): then [`check_document`] checks it again and reports
/// what is wrong, with lines.
fn check_light(
    doc: &fastyaml::Light,
    namespace: &str,
    keep: bool,
    shapes: &Shapes,
) -> Option<(ObjectId, serde_json::Value)> {
    let id = ObjectId::of_light(doc)?;
    if !identity_problems(&id, namespace).is_empty() {
        return None;
    }
    let clean = match (id.api_version.as_str(), id.kind.as_str()) {
        ("monitoring.coreos.com/v1", "PrometheusRule") => crate::promrule::accepts(doc),
        _ => shapes.clean(&id, doc),
    };
    if !clean {
        return None;
    }
    let value = if keep {
        doc.to_json()
    } else {
        serde_json::Value::Null
    };
    Some((id, value))
}

/// The fast path's typed checks, remembered by the shape of the document.
///
/// Whether a built-in type deserializes from a document depends on its keys, the kind of
/// each scalar (string, null, bool, or a number's class: within 32 bits or not, negative or
/// not, beyond `i64`, fractional), and the content of a string in only two cases: the
/// `apiVersion` and `kind` a resource type compares with its own, and the few types that
/// parse a string (`Time` and `MicroTime` a timestamp, `ByteString` base64). Every other
/// string field of the k8s-openapi types (names, `Quantity`, `IntOrString`, ...) accepts
/// any string. So the shape of a document (its keys in order, each scalar replaced by its
/// kind; `apiVersion` and `kind` values kept) is checked once, when its second document
/// comes, on a canonical document of that shape: every string `"x"` (neither a timestamp
/// nor base64), every number one of its class. If the type accepts it, no field of the
/// shape reads a string's content, and every document of that shape is accepted as the type
/// would accept it; if not, each is deserialized itself, as before. The 1,000 deployments
/// of a large environment have a handful of shapes: building and dropping a k8s-openapi
/// object per document was most of the typed checks' cost (BENCHMARKS.md, step 36).
struct Shapes {
    /// Off for small environments (see [`SHAPES_MIN_DOCUMENTS`]): each document is checked.
    remember: bool,
    known: std::sync::Mutex<HashMap<Vec<u8>, Shape, BuildHasherDefault<FxHasher>>>,
    /// Texts of accepted shapes that later documents are matched against before a scan.
    skeletons: Skeletons,
}

/// What is known of a shape.
#[derive(Clone, Copy)]
enum Shape {
    /// Seen once: the canonical check waits for a second document of the shape (most shapes
    /// of a small environment occur once).
    Seen,
    /// Its canonical document was checked: every document of the shape is accepted (`true`),
    /// or each is checked itself (`false`).
    General(bool),
}

impl Shapes {
    fn new(remember: bool) -> Self {
        Shapes {
            remember,
            known: Default::default(),
            skeletons: Skeletons::default(),
        }
    }

    /// Whether the document's built-in type accepts it (`false` for other kinds).
    fn clean(&self, id: &ObjectId, doc: &fastyaml::Light) -> bool {
        if !self.remember {
            return built_in(id, Strict(doc)).unwrap_or(false);
        }
        // Other kinds (the Karpenter objects) have no shape to learn.
        if built_in(id, Known).is_none() {
            return false;
        }
        let mut key = Vec::with_capacity(1024);
        shape(doc, false, &mut key);
        let known = self.known.lock().ok().and_then(|k| k.get(&key).copied());
        let clean = || built_in(id, Strict(doc)).unwrap_or(false);
        let (clean, learned) = match known {
            Some(Shape::General(true)) => return true,
            Some(Shape::General(false)) => return clean(),
            None => (clean(), Shape::Seen),
            Some(Shape::Seen) => {
                let clean = clean();
                let canonical = || built_in(id, Strict(&canonical(doc, false)));
                (clean, Shape::General(clean && canonical().unwrap_or(false)))
            }
        };
        if let Ok(mut k) = self.known.lock() {
            k.insert(key, learned);
        }
        clean
    }

    /// The identity of a document whose shape is known to be accepted, read without building
    /// its tree: matched against a [`Skeleton`] of its shape, else scanned (see [`Scan`]),
    /// after which it may become a skeleton itself; `None` when its shape is not known so.
    fn accepted(&self, text: &str, cache: &mut skeleton::Cache) -> Option<ObjectId> {
        if let Some(id) = self.skeletons.find(text, cache, ObjectId::of_fields) {
            return id;
        }
        let ((), scan) = fastyaml::parse_one(text, Scan::new(text))?;
        let known = self.known.lock().ok()?.get(&scan.key).copied();
        if !matches!(known, Some(Shape::General(true))) {
            return None;
        }
        let id = scan.id();
        if scan.borrowed && self.skeletons.room() {
            let shape = BuildHasherDefault::<FxHasher>::default().hash_one(&scan.key);
            let fields = scan.sources();
            if let Some(skeleton) = Skeleton::new(text, scan.holes, fields, shape) {
                self.skeletons.learn(skeleton);
            }
        }
        id
    }
}

/// What [`Shapes`] needs of a document, read from its text without building a tree: the key
/// [`shape`] computes from the parsed document, and its identity's fields as
/// [`ObjectId::of_light`] finds them. Scalars are resolved by [`fastyaml::Lights`], so each
/// has the kind it has in the tree. Duplicate keys are not looked for: a key with one never
/// equals the key of a shape that was judged, as those documents were parsed in full.
/// It also notes where each scalar is in the text, for a [`Skeleton`].
#[derive(Default)]
struct Scan<'a> {
    text: &'a str,
    key: Vec<u8>,
    /// Collections open around the next event (1 in the root mapping).
    depth: usize,
    /// The next value is that of a [`compared`] key.
    keep: bool,
    /// The next value is the root mapping's `metadata`.
    metadata_next: bool,
    /// The mapping at depth 2 is that `metadata` (set as each collection opens).
    in_metadata: bool,
    /// The next value is this field of [`Scan::fields`].
    field: Option<usize>,
    /// apiVersion, kind, metadata.namespace, metadata.name (see [`Scan::id`]): when strings.
    fields: [Option<Cow<'a, str>>; 4],
    /// The scalars' places in the text, but for those of [`compared`] keys (see [`Scan::hole`]).
    holes: Vec<Hole>,
    /// For each of `fields`, the hole it was read from.
    field_holes: [Option<usize>; 4],
    /// Every scalar was borrowed from the text (none had escapes or was a block scalar).
    borrowed: bool,
}

impl<'a> Scan<'a> {
    fn new(text: &'a str) -> Self {
        Scan {
            text,
            key: Vec::with_capacity(1024),
            borrowed: true,
            ..Scan::default()
        }
    }

    /// Where `s`, a slice of the document the parser handed over, starts in it.
    fn offset(&self, s: &str) -> usize {
        s.as_ptr() as usize - self.text.as_ptr() as usize
    }

    /// The hole of a scalar whose text (without quotes) is `s`, a slice of the document.
    fn hole(&self, s: &str, kind: Kind) -> Hole {
        let start = self.offset(s);
        let end = start + s.len();
        match kind {
            Kind::Quoted(_) => Hole {
                start: start - 1,
                end: end + 1,
                kind,
            },
            _ => Hole { start, end, kind },
        }
    }

    /// Where the identity's fields come from in documents of this one's skeleton.
    fn sources(&self) -> [Field; 4] {
        std::array::from_fn(|f| match (self.field_holes[f], &self.fields[f]) {
            (Some(hole), _) => Field::Hole(hole),
            (None, Some(s)) => Field::Fixed(s.to_string()),
            (None, None) => Field::Absent,
        })
    }

    fn key(&mut self, key: &str) {
        self.key.extend_from_slice(key.as_bytes());
        self.key.push(0);
        self.keep = compared(key);
        self.metadata_next = self.depth == 1 && key == "metadata";
        self.field = match (self.depth, self.in_metadata, key) {
            (1, _, "apiVersion") => Some(0),
            (1, _, "kind") => Some(1),
            (2, true, "namespace") => Some(2),
            (2, true, "name") => Some(3),
            _ => None,
        };
    }

    /// A scalar, at `hole` when it was borrowed from the text.
    fn scalar(&mut self, value: Light<'a>, hole: Option<Hole>) {
        shape(&value, self.keep, &mut self.key);
        // The values of compared keys are kept in shapes: they stay in the skeleton's text.
        let hole = hole.filter(|_| !self.keep);
        if let Some(hole) = hole {
            self.holes.push(hole);
        }
        self.keep = false;
        self.metadata_next = false;
        if let (Some(field), Light::Str(s)) = (self.field.take(), value) {
            self.fields[field] = Some(s);
            self.field_holes[field] = hole.map(|_| self.holes.len() - 1);
        }
    }

    fn close(&mut self, end: u8) {
        self.key.push(end);
        self.depth -= 1;
    }

    /// The identity from the fields read.
    fn id(&self) -> Option<ObjectId> {
        ObjectId::of_fields(self.fields.each_ref().map(|f| f.as_deref()))
    }
}

impl<'a> Build<'a> for Scan<'a> {
    type Value = ();
    type Map = ();
    type Key = ();
    const SPEC: bool = false;
    fn plain(&mut self, s: &'a str, at: fastyaml::Pos) -> Result<(), &'static str> {
        let value = fastyaml::Lights.plain(s, at)?;
        let class = scalar_class(&value);
        // A plain scalar that ends its line, or a shorter one (in a flow collection, or
        // before a comment): the skeleton checks which bytes may follow.
        let kind = match self.text.as_bytes().get(self.offset(s) + s.len()) {
            None | Some(b'\n') => Kind::Line(class),
            Some(_) => Kind::Token(class),
        };
        let hole = self.hole(s, kind);
        self.scalar(value, Some(hole));
        Ok(())
    }
    fn plain_key(&mut self, s: &'a str) -> Result<(), &'static str> {
        let key = fastyaml::Lights.plain_key(s)?;
        self.key(&key);
        Ok(())
    }
    fn quoted_key(&mut self, s: Cow<'a, str>) {
        self.key(&s);
    }
    fn string(&mut self, s: Cow<'a, str>, _: fastyaml::Pos) {
        // The parser borrows a quoted scalar's text, between its quotes, when it has no
        // escapes; an escaped one or a block scalar is not a text a skeleton can hold.
        let quote = match &s {
            Cow::Borrowed(inner) => {
                let before = self
                    .offset(inner)
                    .checked_sub(1)
                    .map(|i| self.text.as_bytes()[i]);
                before.filter(|q| matches!(q, b'"' | b'\''))
            }
            Cow::Owned(_) => None,
        };
        let hole = match (&s, quote) {
            (Cow::Borrowed(inner), Some(quote)) => Some(self.hole(inner, Kind::Quoted(quote))),
            _ => {
                self.borrowed = false;
                None
            }
        };
        self.scalar(Light::Str(s), hole);
    }
    fn empty(&mut self) -> Result<(), &'static str> {
        self.scalar(Light::Null, None);
        Ok(())
    }
    fn open(&mut self, seq: bool) {
        self.key.push(if seq { b'[' } else { b'{' });
        self.depth += 1;
        self.in_metadata = !seq && self.depth == 2 && self.metadata_next;
        (self.keep, self.metadata_next, self.field) = (false, false, None);
    }
    fn seq(&mut self, _: Vec<()>, _: fastyaml::Pos) {
        self.close(b']');
    }
    fn insert(&mut self, _: &mut (), _: (), _: fastyaml::Pos, _: ()) -> bool {
        true
    }
    fn map(&mut self, _: (), _: fastyaml::Pos) -> Result<(), &'static str> {
        self.close(b'}');
        Ok(())
    }
    fn pos(_: &()) -> fastyaml::Pos {
        fastyaml::Pos::default()
    }
}

/// Keys whose string values resource types compare with their own: kept in shapes.
fn compared(key: &str) -> bool {
    key == "apiVersion" || key == "kind"
}

/// Appends the shape of `doc` (see [`Shapes`]): `{key\0value...}`, `[...]`, and a byte per
/// scalar kind; `keep` writes a string as itself.
fn shape(doc: &fastyaml::Light, keep: bool, out: &mut Vec<u8>) {
    use fastyaml::Light;
    match doc {
        Light::Str(s) if keep => {
            out.push(b'S');
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        }
        Light::Seq(items) => {
            out.push(b'[');
            items.iter().for_each(|item| shape(item, false, out));
            out.push(b']');
        }
        Light::Map(entries) => {
            out.push(b'{');
            for (key, value) in entries {
                out.extend_from_slice(key.as_bytes());
                out.push(0);
                shape(value, compared(key), out);
            }
            out.push(b'}');
        }
        scalar => out.push(scalar_class(scalar)),
    }
}

/// The byte of a scalar (not a kept string) in a [`shape`] (a collection's opening byte).
fn scalar_class(value: &fastyaml::Light) -> u8 {
    use fastyaml::Light;
    match value {
        Light::Null => b'n',
        Light::Bool(_) => b'b',
        Light::Number(n) => number_class(n).0,
        Light::Str(_) => b's',
        // Not scalars: [`shape`] writes their contents too.
        Light::Seq(_) => b'[',
        Light::Map(_) => b'{',
    }
}

/// The class ([`scalar_class`]) of the plain scalar `s`; `None` when the parser declines it.
pub(crate) fn plain_class(s: &str) -> Option<u8> {
    let value = fastyaml::Lights.plain(s, fastyaml::Pos::default()).ok()?;
    Some(scalar_class(&value))
}

/// A number's class in [`shape`], and the number that stands for the class.
fn number_class(n: &serde_json::Number) -> (u8, serde_json::Number) {
    const BIG: i64 = 1 << 40;
    match (n.as_i64(), n.as_u64()) {
        (Some(i), _) if i32::try_from(i).is_ok() && i >= 0 => (b'i', 0.into()),
        (Some(i), _) if i32::try_from(i).is_ok() => (b'j', (-1).into()),
        (Some(i), _) if i >= 0 => (b'I', BIG.into()),
        (Some(_), _) => (b'J', (-BIG).into()),
        (None, Some(_)) => (b'u', u64::MAX.into()),
        (None, None) => (b'f', serde_json::Number::from_f64(0.5).expect("finite")),
    }
}

/// The canonical document of `doc`'s shape (see [`Shapes`]).
fn canonical<'a>(doc: &fastyaml::Light<'a>, keep: bool) -> fastyaml::Light<'a> {
    use fastyaml::Light;
    match doc {
        Light::Str(_) if !keep => Light::Str("x".into()),
        Light::Number(n) => Light::Number(number_class(n).1),
        Light::Seq(items) => Light::Seq(items.iter().map(|i| canonical(i, false)).collect()),
        Light::Map(entries) => Light::Map(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), canonical(v, compared(k))))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// FxHash (rustc's): shapes are hashed per document, and SipHash took longer than the
/// lookup saves on small ones. Keys are compared in full, so a collision costs only time.
#[derive(Default)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.add(u64::from_le_bytes(word.try_into().expect("8 bytes")));
        }
        let mut last = [0; 8];
        last[..words.remainder().len()].copy_from_slice(words.remainder());
        self.add(u64::from_le_bytes(last));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A check of a document against one built-in Kubernetes type (see [`built_in`]).
trait TypedCheck {
    type Outcome;
    fn check<T: DeserializeOwned>(self) -> Self::Outcome;
}

/// The fast path's check: whether `T` deserializes from the document without an error or
/// a field it does not know.
struct Strict<'a, 'de>(&'a fastyaml::Light<'de>);

impl TypedCheck for Strict<'_, '_> {
    type Outcome = bool;
    fn check<T: DeserializeOwned>(self) -> bool {
        fastyaml::deserialize_strict::<T>(self.0).is_some()
    }
}

/// No check: whether the kind is built in at all.
struct Known;

impl TypedCheck for Known {
    type Outcome = ();
    fn check<T: DeserializeOwned>(self) {}
}

/// The full check: every problem, with its field path (see [`typed`]).
struct Full<'a>(&'a serde_json::Value);

impl TypedCheck for Full<'_> {
    type Outcome = Vec<Problem>;
    fn check<T: DeserializeOwned>(self) -> Vec<Problem> {
        typed::<T>(self.0)
    }
}

/// Runs `check` with the k8s-openapi type of a built-in kind; `None` for other kinds. The
/// one list of the kinds both paths know.
fn built_in<C: TypedCheck>(id: &ObjectId, check: C) -> Option<C::Outcome> {
    use k8s_openapi::api::{apps, autoscaling, core, networking, policy};
    Some(match (id.api_version.as_str(), id.kind.as_str()) {
        ("v1", "Namespace") => check.check::<core::v1::Namespace>(),
        ("v1", "ServiceAccount") => check.check::<core::v1::ServiceAccount>(),
        ("v1", "ConfigMap") => check.check::<core::v1::ConfigMap>(),
        ("v1", "Service") => check.check::<core::v1::Service>(),
        ("apps/v1", "Deployment") => check.check::<apps::v1::Deployment>(),
        ("apps/v1", "StatefulSet") => check.check::<apps::v1::StatefulSet>(),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => {
            check.check::<autoscaling::v2::HorizontalPodAutoscaler>()
        }
        ("policy/v1", "PodDisruptionBudget") => check.check::<policy::v1::PodDisruptionBudget>(),
        ("networking.k8s.io/v1", "NetworkPolicy") => check.check::<networking::v1::NetworkPolicy>(),
        _ => return None,
    })
}

/// Parses (unless `parsed` is given) and checks one document. On the fast path no locations
/// are kept; when there is a problem, the document is parsed again with locations to name
/// its lines.
fn check_document(
    file: &OutputFile,
    line: usize,
    text: &str,
    parsed: Option<Result<serde_json::Value, Error>>,
    namespace: &str,
) -> (Option<(ObjectId, Document)>, Vec<Error>) {
    let at = |rel: u32| line + rel.max(1) as usize - 1;
    let value = match parsed.unwrap_or_else(|| parse_document(text)) {
        Ok(v) => v,
        Err(e) => {
            let l = e.loc.map_or(line, |l| at(l.line));
            let message = format!("rendered YAML does not parse: {}", e.message);
            return (None, vec![located(file, l, message)]);
        }
    };
    let Some(id) = ObjectId::of(&value) else {
        let message = "document has no apiVersion, kind and metadata.name; every document must be a Kubernetes object";
        return (None, vec![located(file, line, message.into())]);
    };
    let problems = check_object(&id, &value, namespace);
    let mut errors = Vec::new();
    if !problems.is_empty() {
        let node = parse_located(text).ok();
        for problem in problems {
            let l = match (&problem.path, &node) {
                (Some(p), Some(node)) => at(node.find(p.split('.')).loc.line),
                _ => line,
            };
            let field = problem
                .path
                .map(|p| format!(" (field {p})"))
                .unwrap_or_default();
            errors.push(located(
                file,
                l,
                format!("{id}: {}{field}", problem.message),
            ));
        }
    }
    (Some((id, Document { line, value })), errors)
}

fn located(file: &OutputFile, line: usize, message: String) -> Error {
    let text = file
        .content
        .lines()
        .nth(line.saturating_sub(1))
        .unwrap_or("");
    Error::invalid(format!("verify: {}:{line}: {message}", file.path))
        .with_help(format!("rendered line {line}: {}", text.trim_end()))
        .with_help("the templates rendered an object the cluster would reject; fix the template (or the --templates override)")
}

/// A problem found in one object, with the field path it is about.
pub struct Problem {
    pub message: String,
    pub path: Option<String>,
}

pub fn problem(message: impl Into<String>, path: Option<String>) -> Problem {
    Problem {
        message: message.into(),
        path,
    }
}

const CLUSTER_SCOPED: &[&str] = &["Namespace", "NodePool", "EC2NodeClass"];

/// Problems with an object's name and namespace.
fn identity_problems(id: &ObjectId, namespace: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    if !(is_dns_label(&id.name) || id.kind == "ConfigMap" || id.kind == "Secret") {
        problems.push(problem(
            format!("name {:?} is not a DNS-1123 label", id.name),
            Some("metadata.name".into()),
        ));
    }
    let cluster_scoped = CLUSTER_SCOPED.contains(&id.kind.as_str());
    if cluster_scoped && !id.namespace.is_empty() {
        problems.push(problem(
            "a cluster-scoped object must not have a namespace",
            Some("metadata.namespace".into()),
        ));
    } else if !cluster_scoped && id.namespace != namespace {
        problems.push(problem(
            format!(
                "namespace is {:?}, expected the spec's {namespace:?}",
                id.namespace
            ),
            Some("metadata.namespace".into()),
        ));
    }
    problems
}

fn check_object(id: &ObjectId, value: &serde_json::Value, namespace: &str) -> Vec<Problem> {
    let mut problems = identity_problems(id, namespace);
    let typed = match (id.api_version.as_str(), id.kind.as_str()) {
        ("monitoring.coreos.com/v1", "PrometheusRule") => crate::promrule::check(value),
        ("karpenter.sh/v1", "NodePool") | ("karpenter.k8s.aws/v1", "EC2NodeClass") => {
            crate::crds::check(id, value)
        }
        _ => built_in(id, Full(value)).unwrap_or_else(|| {
            vec![problem(
                format!(
                    "tacosgen has no schema for {}/{}; it only emits kinds it can verify",
                    id.api_version, id.kind
                ),
                Some("kind".into()),
            )]
        }),
    };
    problems.extend(typed);
    problems
}

/// Deserializes into `T`, reporting type errors and every field `T` does not have.
fn typed<T: DeserializeOwned>(value: &serde_json::Value) -> Vec<Problem> {
    let mut unknown = Vec::new();
    let mut record = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
    // Without the error path first (see `error::from_json`); on failure again with it (the
    // unknown fields met before the error are the same both times).
    let mut result = Ok(());
    if T::deserialize(serde_ignored::Deserializer::new(value, &mut record)).is_err() {
        let mut ignore = |_: serde_ignored::Path<'_>| {};
        let de = serde_ignored::Deserializer::new(value, &mut ignore);
        result = serde_path_to_error::deserialize::<_, T>(de).map(drop);
    }
    let mut problems: Vec<Problem> = unknown
        .into_iter()
        .map(|p| {
            // serde_ignored writes `?` for Option layers: `spec.?.replcas`.
            let clean = p.replace(".?", "");
            problem(format!("unknown field `{clean}`"), Some(clean))
        })
        .collect();
    if let Err(e) = result {
        let path = e.path().to_string();
        problems.push(problem(format!("{}", e.inner()), Some(path)));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(content: &str) -> OutputFile {
        OutputFile {
            path: "x.yaml".into(),
            content: content.into(),
            kubernetes: true,
        }
    }

    /// The fast parser must read every committed document (so builds take the fast path) and
    /// read it exactly as serde-saphyr does (so the values diff and generate see are unchanged).
    #[test]
    fn committed_output_takes_the_fast_path_and_reads_like_serde_saphyr() {
        let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("out");
        let mut count = 0;
        for (path, content) in crate::emit::read_tree(&out).unwrap() {
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let text = String::from_utf8(content).unwrap();
            for (line, doc) in split_documents(&text) {
                let fast = match fastyaml::parse_stream(doc) {
                    ParseOutcome::Parsed(docs) if docs.len() == 1 => docs[0].value.clone(),
                    other => panic!("{}:{line}: not on the fast path: {other:?}", path.display()),
                };
                let slow = parse_located(doc).unwrap().to_json();
                assert_eq!(fast, slow, "{}:{line}", path.display());
                count += 1;
            }
        }
        assert!(count > 100, "only {count} documents under out/");
    }

    /// The documents of the committed `out/prod/*.yaml` files, with their file.
    fn prod_documents() -> Vec<(std::path::PathBuf, String)> {
        let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("out/prod");
        let mut docs = Vec::new();
        for (path, content) in crate::emit::read_tree(&out).unwrap() {
            if path.extension().is_some_and(|e| e == "yaml") {
                let text = String::from_utf8(content).unwrap();
                for (_, doc) in split_documents(&text) {
                    docs.push((path.clone(), doc.to_string()));
                }
            }
        }
        docs
    }

    /// Every scalar of a document, by position, replaced with `with`.
    fn variants<'a>(
        doc: &fastyaml::Light<'a>,
        with: &fastyaml::Light<'a>,
    ) -> Vec<fastyaml::Light<'a>> {
        use fastyaml::Light;
        match doc {
            Light::Seq(items) => (0..items.len())
                .flat_map(|i| {
                    variants(&items[i], with).into_iter().map(move |v| {
                        let mut items = items.clone();
                        items[i] = v;
                        Light::Seq(items)
                    })
                })
                .collect(),
            Light::Map(entries) => (0..entries.len())
                .flat_map(|i| {
                    variants(&entries[i].1, with).into_iter().map(move |v| {
                        let mut entries = entries.clone();
                        entries[i].1 = v;
                        Light::Map(entries)
                    })
                })
                .collect(),
            _ => vec![with.clone()],
        }
    }

    /// Remembering checks by shape never changes an outcome: every scalar of every committed
    /// built-in document, replaced in turn by strings a type could read differently
    /// (timestamps, base64, empty, numbers as text) and numbers of every class, is accepted
    /// through one shared cache exactly when deserializing it says so.
    #[test]
    fn checks_remembered_by_shape_agree_with_deserializing_every_document() {
        use fastyaml::Light;
        let number = |n: serde_json::Number| Light::Number(n);
        let replacements = [
            Light::Str("x".into()),
            Light::Str("".into()),
            Light::Str("2024-01-01T00:00:00Z".into()),
            Light::Str("aGVsbG8=".into()),
            Light::Str("8080".into()),
            number(0.into()),
            number(7.into()),
            number((-3).into()),
            number((1i64 << 40).into()),
            number(u64::MAX.into()),
            number(serde_json::Number::from_f64(2.5).unwrap()),
            Light::Bool(true),
            Light::Null,
        ];
        let shapes = Shapes::new(true);
        let (mut checked, mut accepted) = (0, 0);
        for (path, doc) in prod_documents() {
            let Some(light) = fastyaml::parse_light(&doc) else {
                continue;
            };
            let Some(id) = ObjectId::of_light(&light) else {
                continue;
            };
            if built_in(&id, Strict(&light)).is_none() {
                continue;
            }
            for with in &replacements {
                for v in variants(&light, with) {
                    let Some(vid) = ObjectId::of_light(&v) else {
                        continue;
                    };
                    let expected = built_in(&vid, Strict(&v)).unwrap_or(false);
                    let got = shapes.clean(&vid, &v);
                    assert_eq!(got, expected, "{}: {v:?}", path.display());
                    checked += 1;
                    accepted += usize::from(expected);
                }
            }
        }
        assert!(
            checked > 10_000 && accepted > 1_000,
            "{checked} checked, {accepted} accepted"
        );
    }

    /// What a [`Scan`] reads of `text`: its key and identity, as [`Shapes::accepted`] uses them.
    fn scanned(text: &str) -> Option<(Vec<u8>, Option<ObjectId>)> {
        let ((), scan) = fastyaml::parse_one(text, Scan::new(text))?;
        let id = scan.id();
        Some((scan.key, id))
    }

    /// Texts near a document: each line's value replaced by other scalars and collections,
    /// each line dropped, doubled and indented further (in the first 80 lines: the rest of the
    /// two long documents, a dashboard and the alert rules, repeats their first lines' forms).
    fn text_variants(doc: &str) -> Vec<String> {
        const VALUES: [&str; 22] = [
            "x",
            "\"x\"",
            "'y'",
            "\"a\\\"b\"",
            "\"\"",
            "7",
            "-3",
            "1099511627776",
            "2.5",
            "1e3",
            "0x1F",
            "true",
            "yes",
            "null",
            "~",
            "{}",
            "[]",
            "{a: 1, \"b\": [x]}",
            "[1, \"x\"]",
            "|\n      text",
            "\"2024-01-01T00:00:00Z\"",
            "x # note",
        ];
        let lines: Vec<&str> = doc.lines().collect();
        let join = |lines: &[String]| lines.join("\n") + "\n";
        let mut out = Vec::new();
        for i in 0..lines.len().min(80) {
            let mut edit = |f: &dyn Fn(&mut Vec<String>)| {
                let mut v: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                f(&mut v);
                out.push(join(&v));
            };
            if let Some(colon) = lines[i].find(": ") {
                // Eight values a line, a different eight on the next: every value meets every
                // kind of line, in a test that takes seconds.
                for value in VALUES.iter().cycle().skip(i % VALUES.len()).take(8) {
                    edit(&|v| v[i] = format!("{}: {value}", &lines[i][..colon]));
                }
                let key = lines[i][..colon].trim_start_matches([' ', '-']);
                let quoted = lines[i].replacen(key, &format!("\"{key}\""), 1);
                edit(&|v| v[i] = quoted.clone());
            }
            edit(&|v| {
                v.remove(i);
            });
            edit(&|v| v.insert(i, lines[i].to_string()));
            edit(&|v| v[i] = format!("  {}", lines[i]));
        }
        out
    }

    /// A [`Scan`] reads every document the parser builds exactly as [`shape`] and
    /// [`ObjectId::of_light`] read the tree, and reads no document the parser declines, but
    /// for duplicate keys (which no judged shape has).
    #[test]
    fn scans_read_what_the_parsed_tree_reads() {
        let (mut same, mut declined) = (0, 0);
        let extra = [
            "kind: Service\napiVersion: v1\nmetadata: {name: a, namespace: b}\nspec: {}\n",
            "apiVersion: v1\nkind: X\nspec:\n  metadata:\n    name: inner\n  kind: Y\n",
            "- apiVersion: v1\n- metadata: {name: a}\n",
            "apiVersion: v1\nkind: K\nmetadata:\n  name: 7\n  namespace:\n",
            "apiVersion: v1\nkind: K\nmetadata:\n- name: a\n",
            "apiVersion: v1\nkind: K\nmetadata:\n  name: a\nspec:\n  name: b\n",
            "apiVersion: v1\nkind: K\nspec:\n  name: b\n  namespace: c\nmetadata: {namespace: n}\n",
        ];
        let docs = prod_documents().into_iter().map(|(_, d)| d);
        for doc in docs.chain(extra.map(String::from)) {
            for text in std::iter::once(doc.clone()).chain(text_variants(&doc)) {
                let scan = scanned(&text);
                match fastyaml::parse_light(&text) {
                    Some(light) => {
                        let mut key = Vec::new();
                        shape(&light, false, &mut key);
                        let expected = (key, ObjectId::of_light(&light));
                        assert_eq!(scan, Some(expected), "{text}");
                        same += 1;
                    }
                    None => {
                        if scan.is_some() {
                            let ParseOutcome::Unsupported { reason, .. } =
                                fastyaml::parse_stream(&text)
                            else {
                                panic!("parsed as a stream but not alone: {text}");
                            };
                            assert_eq!(reason, "duplicate mapping key", "{text}");
                        }
                        declined += 1;
                    }
                }
            }
        }
        assert!(
            same > 10_000 && declined > 1_000,
            "{same} same, {declined} declined"
        );
    }

    /// A large environment's checks take the scan for shapes known to be accepted, and still
    /// find what is wrong in a document of a known shape: a duplicate key, a second object of
    /// the same name, a wrong namespace.
    #[test]
    fn scanned_documents_are_still_checked() {
        let doc = |name: &str, namespace: &str, extra: &str| {
            format!(
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {namespace}\n{extra}data:\n  a: \"1\"\n"
            )
        };
        let many: String = (0..2 * SHAPES_MIN_DOCUMENTS)
            .map(|i| doc(&format!("c{i}"), "ns", ""))
            .collect();
        assert!(check(&[file(&many)], "ns").is_ok());
        for (bad, message) in [
            (doc("late", "ns", "data:\n  b: \"2\"\n"), "duplicate"),
            (doc("c3", "ns", ""), "also generated"),
            (doc("late", "other", ""), "namespace"),
        ] {
            let errors = check(&[file(&format!("{many}{bad}"))], "ns").unwrap_err();
            let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            assert!(
                errors.len() == 1 && text[0].contains(message),
                "{message}: {text:?}"
            );
        }
    }

    /// The skeleton [`Shapes::accepted`] would learn from `text` (were its shape accepted),
    /// and the text's shape key.
    fn learned(text: &str) -> Option<(Skeleton, Vec<u8>)> {
        let ((), scan) = fastyaml::parse_one(text, Scan::new(text))?;
        if !scan.borrowed {
            return None;
        }
        let fields = scan.sources();
        Some((Skeleton::new(text, scan.holes, fields, 0)?, scan.key))
    }

    /// What may stand in a skeleton's hole, meant to be read as anything but the scalar there:
    /// other classes, indicators, comments, escapes, line breaks, forbidden characters.
    const HOLE_CONTENTS: [&str; 71] = [
        "x",
        "svc-0002",
        "x: y",
        "x:",
        "x #y",
        "x#y",
        "x:y",
        "a b",
        "x ",
        " x",
        "",
        "-",
        "--",
        "---",
        "- x",
        "-x",
        "-1",
        "+1",
        "1e3",
        "0x1F",
        "0755",
        "089",
        "0",
        "7",
        "123456789",
        "1234567890",
        "99999999999999999999",
        "1.5",
        ".5",
        ".inf",
        "1_000",
        "2024-01-01",
        "~",
        "null",
        "true",
        "yes",
        "off",
        "\"q\"",
        "'q'",
        "\"a\\\"b\"",
        "'a''b'",
        "\"a\nb\"",
        "a\tb",
        "a\u{85}b",
        "a\u{2028}b",
        "\u{feff}a",
        "a\u{7f}",
        "\u{ffff}",
        "×",
        "[x]",
        "{x}",
        "x,y",
        "x]",
        "&a",
        "*a",
        "!t",
        "|",
        ">",
        "%x",
        "@x",
        "`x",
        "#x",
        "# x",
        "x\n  y",
        "x\ny: z",
        "\"x",
        "\"a\\",
        "'a",
        "a\\\\",
        "9999999999",
        "a\"",
    ];

    /// A document that matches a skeleton is read by the scan (and the parser) exactly as the
    /// match says: the skeleton's shape and the identity read from its holes. Checked on every
    /// committed document's skeleton against the line edits of the scan's own test and against
    /// every hole filled with each of [`HOLE_CONTENTS`], bare and quoted.
    #[test]
    fn skeletons_match_only_what_the_parser_reads_alike() {
        // Besides the committed documents (double-quoted and plain one-line values, comment
        // lines): plain identity fields, single quotes, flow collections, values before
        // comments and trailing spaces, and a compact nested sequence.
        let extra = [
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain-name\n  namespace: ns  # where\n  labels: {a: x, b: 'y', c: \"z\", d: 1}\ndata:\n  list: [a, 1, 'b', \"c\", ~]\n  num: 7   \n  s: 'single'\n  # comment\n  t: text # note\n",
            "apiVersion: v1\nkind: Service\nmetadata: {name: \"web\", namespace: 'ns'}\nspec:\n  ports:\n  - port: 80\n    targetPort: http\n  - - nested\n    - 2.5\n  - [x, {k: z}]\n",
        ];
        let docs = prod_documents().into_iter().map(|(p, d)| (p, d, false));
        let extra = extra.map(|d| ("extra".into(), d.to_string(), true));
        let (mut matched, mut unmatched, mut skeletons) = (0, 0, 0);
        for (path, doc, all) in docs.chain(extra) {
            let Some((skeleton, key)) = learned(&doc) else {
                continue;
            };
            skeletons += 1;
            let mut texts = text_variants(&doc);
            for (n, hole) in skeleton.holes().iter().enumerate() {
                let contents = HOLE_CONTENTS.iter().cycle().skip(n % HOLE_CONTENTS.len());
                let some = if all { HOLE_CONTENTS.len() } else { 24 };
                for content in contents.take(some) {
                    for filled in [
                        content.to_string(),
                        format!("\"{content}\""),
                        format!("'{content}'"),
                    ] {
                        texts.push(format!(
                            "{}{filled}{}",
                            &doc[..hole.start],
                            &doc[hole.end..]
                        ));
                    }
                }
            }
            texts.push(doc.clone());
            for text in texts {
                let Some(fields) = skeleton.matches(&text) else {
                    unmatched += 1;
                    continue;
                };
                let id = ObjectId::of_fields(fields);
                let where_ = format!("{}:\n{text}", path.display());
                assert_eq!(scanned(&text), Some((key.clone(), id.clone())), "{where_}");
                let light = fastyaml::parse_light(&text).expect(&where_);
                let mut parsed = Vec::new();
                shape(&light, false, &mut parsed);
                assert_eq!(
                    (parsed, ObjectId::of_light(&light)),
                    (key.clone(), id),
                    "{where_}"
                );
                matched += 1;
            }
        }
        // Printed for `--nocapture` (BENCHMARKS.md quotes the counts).
        eprintln!("{skeletons} skeletons, {matched} texts matched, {unmatched} not");
        assert!(
            skeletons > 30 && matched > 5_000 && unmatched > 20_000,
            "{skeletons} skeletons, {matched} matched, {unmatched} not"
        );
    }

    /// A large environment's documents of one shape are matched against a skeleton from the
    /// third on (the first two judge the shape, the third is scanned and becomes the skeleton).
    #[test]
    fn documents_of_an_accepted_shape_are_matched_against_a_skeleton() {
        let doc = |i: usize| {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"c{i}\"\n  namespace: ns\n  # {i} of many\ndata:\n  a: v{i}\n"
            )
        };
        let shapes = Shapes::new(true);
        let mut cache = skeleton::Cache::default();
        let mut taken = Vec::new();
        for i in 0..6 {
            let text = doc(i);
            let matched = shapes
                .skeletons
                .find(&text, &mut cache, ObjectId::of_fields);
            let path = match (matched, shapes.accepted(&text, &mut cache)) {
                (Some(id), Some(accepted)) => {
                    assert_eq!(id, Some(accepted.clone()));
                    assert_eq!(accepted.name, format!("c{i}"));
                    "skeleton"
                }
                (None, Some(_)) => "scan",
                (_, None) => {
                    let light = fastyaml::parse_light(&text).unwrap();
                    let id = ObjectId::of_light(&light).unwrap();
                    assert!(shapes.clean(&id, &light));
                    "parse"
                }
            };
            taken.push(path);
        }
        assert_eq!(
            taken,
            ["parse", "parse", "scan", "skeleton", "skeleton", "skeleton"]
        );
    }

    /// The two string-parsing types: a document whose timestamp or base64 is valid is accepted
    /// and one of the same shape whose value is not is rejected, in any order.
    #[test]
    fn shapes_with_parsed_strings_are_checked_document_by_document() {
        let doc = |metadata: &str, rest: &str| {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: ns{metadata}}}\n{rest}"
            )
        };
        let time = |t: &str| format!(", creationTimestamp: \"{t}\"");
        let cases = [
            (
                doc("", "binaryData: {a: aGVsbG8=}\n"),
                doc("", "binaryData: {a: hello}\n"),
            ),
            (
                doc(&time("2024-01-01T00:00:00Z"), ""),
                doc(&time("yesterday"), ""),
            ),
        ];
        for (good, bad) in &cases {
            let good = fastyaml::parse_light(good).unwrap();
            let bad = fastyaml::parse_light(bad).unwrap();
            let id = ObjectId::of_light(&good).unwrap();
            // A shape is judged on its second document: each place for the invalid one.
            for order in [
                [&good, &good, &bad],
                [&good, &bad, &good],
                [&bad, &good, &good],
            ] {
                let shapes = Shapes::new(true);
                for doc in order {
                    let expected = std::ptr::eq(doc, &good);
                    assert_eq!(shapes.clean(&id, doc), expected, "{doc:?}");
                }
            }
        }
    }

    /// The committed documents of the built-in kinds all take the borrowed fast path and read
    /// there as the owned parser reads them.
    #[test]
    fn committed_documents_take_the_light_path() {
        let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("out");
        let mut light = 0;
        for (path, content) in crate::emit::read_tree(&out).unwrap() {
            if path.extension().is_none_or(|e| e != "yaml") || path.ends_with("kustomization.yaml")
            {
                continue;
            }
            let text = String::from_utf8(content).unwrap();
            let namespace = ObjectId::of(&parse_document(split_documents(&text)[0].1).unwrap())
                .map(|id| id.namespace)
                .unwrap_or_default();
            for (line, doc) in split_documents(&text) {
                let value = parse_document(doc).unwrap();
                let id = ObjectId::of(&value).unwrap();
                let namespace = if id.namespace.is_empty() {
                    &namespace
                } else {
                    &id.namespace
                };
                let checked = fastyaml::parse_light(doc)
                    .and_then(|d| check_light(&d, namespace, true, &Shapes::new(true)));
                // Their enums are strings, which the light path does not read.
                let other = matches!(id.kind.as_str(), "NodePool" | "EC2NodeClass");
                match checked {
                    Some((got, json)) => {
                        assert_eq!((got, json), (id, value), "{}:{line}", path.display());
                        light += 1;
                    }
                    None => assert!(
                        other,
                        "{}:{line}: {id} not on the light path",
                        path.display()
                    ),
                }
            }
        }
        assert!(light > 100, "only {light} documents took the light path");
    }

    /// The fast path never passes what the full check rejects: one-line mutations of one
    /// committed document of each kind (renamed keys, values of every other type).
    #[test]
    fn light_path_passes_only_what_the_full_check_passes() {
        let mut seen = std::collections::BTreeSet::new();
        let (mut mutations, mut rejected) = (0, 0);
        for (_, doc) in prod_documents() {
            let Some(id) = parse_document(&doc).ok().and_then(|v| ObjectId::of(&v)) else {
                continue;
            };
            if !seen.insert(id.kind.clone()) {
                continue;
            }
            let lines: Vec<&str> = doc.lines().collect();
            for (i, l) in lines.iter().enumerate() {
                let Some(colon) = l.find(": ") else { continue };
                let (key, _) = l.split_at(colon);
                let mut variants = vec![format!("{key}x: 1")];
                for v in [
                    "\"x\"", "1", "1.5", "-1", "[]", "{}", "null", "true", "[1]", "{a: 1}",
                ] {
                    variants.push(format!("{key}: {v}"));
                }
                for variant in variants {
                    let mut m = lines.clone();
                    m[i] = &variant;
                    let text = m.join("\n") + "\n";
                    mutations += 1;
                    if fastyaml::parse_light(&text)
                        .and_then(|d| check_light(&d, &id.namespace, false, &Shapes::new(true)))
                        .is_none()
                    {
                        rejected += 1;
                        continue;
                    }
                    let value = parse_document(&text).unwrap();
                    let full = ObjectId::of(&value)
                        .map(|id2| check_object(&id2, &value, &id.namespace))
                        .map(|p| p.into_iter().map(|p| p.message).collect::<Vec<_>>());
                    assert_eq!(full, Some(vec![]), "light path passed:\n{text}");
                }
            }
        }
        assert!(seen.len() >= 9, "{seen:?}");
        assert!(
            mutations > 1000 && rejected > 500,
            "{mutations} mutations, {rejected} rejected"
        );
    }

    #[test]
    fn fast_path_problems_still_name_their_line() {
        // In the fast parser's subset (flow maps, quoted scalars), so only the re-parse locates.
        let f = file(
            "# h\napiVersion: \"v1\"\nkind: Service\nmetadata: {name: \"web\", namespace: \"ns\"}\nspec:\n  ports: [{port: 80}]\n  selectr: {a: b}\n",
        );
        let errs = verify(&[f], "ns").unwrap_err();
        assert!(errs[0].message.contains("x.yaml:7"), "{}", errs[0].message);
        assert!(
            errs[0].message.contains("spec.selectr"),
            "{}",
            errs[0].message
        );
    }

    #[test]
    fn documents_outside_the_fast_subset_fall_back() {
        let doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: &n a\n  namespace: ns\ndata: {k: *n}\n";
        assert!(matches!(
            fastyaml::parse_stream(doc),
            ParseOutcome::Unsupported { .. }
        ));
        let docs = verify(&[file(doc)], "ns").unwrap();
        assert_eq!(docs[0][0].value["data"]["k"], "a");
    }

    #[test]
    fn large_outputs_are_checked_in_parallel_in_order() {
        let mut text = String::new();
        for i in 0..4000 {
            text += &format!(
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n  namespace: ns\ndata: {{k: \"{}\"}}\n",
                "v".repeat(64)
            );
        }
        assert!(text.len() > PARALLEL_MIN_BYTES);
        text += "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c7\n  namespace: ns\n";
        let errs = verify(&[file(&text)], "ns").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0]
                .message
                .contains("ConfigMap ns/c7 is also generated")
        );
        let docs = verify(&[file(&text[..text.rfind("---").unwrap()])], "ns").unwrap();
        let names: Vec<_> = docs[0]
            .iter()
            .map(|d| d.value["metadata"]["name"].clone())
            .collect();
        let want: Vec<_> = (0..4000)
            .map(|i| serde_json::json!(format!("c{i}")))
            .collect();
        assert_eq!(names, want);
    }

    proptest::proptest! {
        /// The same split as walking every line.
        #[test]
        fn split_documents_matches_a_line_walk(text in "(---|--- a|-- |\n|\r\n| |a|#|-){0,24}") {
            let mut want = Vec::new();
            let (mut start, mut start_line, mut offset) = (0, 1, 0);
            for (i, line) in text.split_inclusive('\n').enumerate() {
                let bare = line.trim_end();
                if bare == "---" || bare.starts_with("--- ") {
                    want.push((start_line, &text[start..offset]));
                    start = offset + line.len();
                    start_line = i + 2;
                }
                offset += line.len();
            }
            want.push((start_line, &text[start..]));
            want.retain(|(_, d)| d.lines().any(|l| !l.trim().is_empty() && !l.trim().starts_with('#')));
            proptest::prop_assert_eq!(split_documents(&text), want);
        }
    }

    #[test]
    fn splits_streams_and_skips_empty_documents() {
        let docs = split_documents("# header\n---\na: 1\n---\n# only comment\n---\nb: 2\n");
        assert_eq!(docs, vec![(3, "a: 1\n"), (7, "b: 2\n")]);
    }

    #[test]
    fn catches_a_misspelled_field_with_its_line() {
        let f = file(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: ns\nspec:\n  replcas: 3\n  selector: {}\n  template: {}\n",
        );
        let errs = verify(&[f], "ns").unwrap_err();
        let text = errs[0].message.clone();
        assert!(text.contains("unknown field `spec.replcas`"), "{text}");
        assert!(text.contains("x.yaml:7"), "{text}");
    }

    #[test]
    fn rejects_wrong_namespace_duplicates_and_unknown_kinds() {
        let doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: other\n";
        let errs = verify(&[file(&format!("{doc}---\n{doc}"))], "ns").unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.message.contains("expected the spec's \"ns\""))
        );
        assert!(errs.iter().any(|e| e.message.contains("also generated")));
        let errs = verify(
            &[file(
                "apiVersion: x/v1\nkind: Foo\nmetadata: {name: a, namespace: ns}\n",
            )],
            "ns",
        )
        .unwrap_err();
        assert!(errs[0].message.contains("no schema for x/v1/Foo"));
    }
}
