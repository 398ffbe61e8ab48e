//! The spec's JSON Schema, compiled for checking.
//!
//! `schemas/tacosgen.schema.json` is derived from [`crate::spec`] by schemars and uses a small
//! part of JSON Schema 2020-12. This module checks exactly that part and refuses to compile a
//! schema with any other keyword, so the schema cannot grow a constraint that goes unchecked.
//! Why not the `jsonschema` crate: building its validator on every run took more than the
//! rest of a seed build together (BENCHMARKS.md); compiling this is a walk over the schema
//! ([`compiler`]), done for the spec's own schema at build time, and each pattern is
//! compiled to a regex on first use. `tests/schema_agreement.rs` checks that both accept and
//! refuse the same values, on the committed environments and thousands of mutations of them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use serde_json::Value;

use crate::load::{self, Node};
use crate::par;

pub mod compiler;

pub use compiler::Type;
use compiler::{Check, Compiled};

/// A document the schema checks: a JSON value, or the loader's tree read in place, so that a
/// valid spec is not first copied into JSON (BENCHMARKS.md, step 42). Both read alike: a
/// tree is checked as the JSON [`Node::to_json`] makes of it.
pub trait Doc: Sync + Sized {
    /// The JSON type of the value, as `Type::admits` asks it.
    fn admitted_by(&self, t: Type) -> bool;
    fn as_f64(&self) -> Option<f64>;
    fn as_str(&self) -> Option<&str>;
    fn items(&self) -> Option<&[Self]>;
    /// A mapping's entries (in any order: only violations, computed on JSON, have one).
    fn entries(&self) -> Option<impl ExactSizeIterator<Item = (&str, &Self)>>;
    fn get(&self, key: &str) -> Option<(&str, &Self)>;
    fn equals(&self, json: &Value) -> bool;
    /// The value as JSON, for messages.
    fn json(&self) -> Cow<'_, Value>;
}

impl Doc for Value {
    fn admitted_by(&self, t: Type) -> bool {
        match (t, self) {
            (Type::Null, Value::Null)
            | (Type::Boolean, Value::Bool(_))
            | (Type::Number, Value::Number(_))
            | (Type::String, Value::String(_))
            | (Type::Array, Value::Array(_))
            | (Type::Object, Value::Object(_)) => true,
            // 2020-12: an integer is any number without a fractional part (`2.0` too).
            (Type::Integer, Value::Number(n)) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            _ => false,
        }
    }
    fn as_f64(&self) -> Option<f64> {
        Value::as_f64(self)
    }
    fn as_str(&self) -> Option<&str> {
        Value::as_str(self)
    }
    fn items(&self) -> Option<&[Value]> {
        self.as_array().map(Vec::as_slice)
    }
    fn entries(&self) -> Option<impl ExactSizeIterator<Item = (&str, &Value)>> {
        self.as_object()
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)))
    }
    fn get(&self, key: &str) -> Option<(&str, &Value)> {
        self.as_object()?
            .get_key_value(key)
            .map(|(k, v)| (k.as_str(), v))
    }
    fn equals(&self, json: &Value) -> bool {
        self == json
    }
    fn json(&self) -> Cow<'_, Value> {
        Cow::Borrowed(self)
    }
}

impl Doc for Node {
    fn admitted_by(&self, t: Type) -> bool {
        use load::Value as V;
        match (t, &self.value) {
            // `to_json` writes a float without a JSON form as null.
            (Type::Null, V::Float(f)) => !f.is_finite(),
            (Type::Number, V::Float(f)) => f.is_finite(),
            (Type::Integer, V::Float(f)) => f.is_finite() && f.fract() == 0.0,
            (Type::Null, V::Null)
            | (Type::Boolean, V::Bool(_))
            | (Type::Number | Type::Integer, V::Int(_))
            | (Type::String, V::Str(_))
            | (Type::Array, V::Seq(_))
            | (Type::Object, V::Map(_)) => true,
            _ => false,
        }
    }
    fn as_f64(&self) -> Option<f64> {
        match self.value {
            load::Value::Int(i) => Some(i as f64),
            load::Value::Float(f) if f.is_finite() => Some(f),
            _ => None,
        }
    }
    fn as_str(&self) -> Option<&str> {
        match &self.value {
            load::Value::Str(s) => Some(s),
            _ => None,
        }
    }
    fn items(&self) -> Option<&[Node]> {
        match &self.value {
            load::Value::Seq(items) => Some(items),
            _ => None,
        }
    }
    fn entries(&self) -> Option<impl ExactSizeIterator<Item = (&str, &Node)>> {
        match &self.value {
            load::Value::Map(entries) => Some(entries.iter().map(|(k, _, v)| (k.as_str(), v))),
            _ => None,
        }
    }
    fn get(&self, key: &str) -> Option<(&str, &Node)> {
        self.entries()?.find(|(k, _)| *k == key)
    }
    fn equals(&self, json: &Value) -> bool {
        match (&self.value, json) {
            (load::Value::Str(s), Value::String(j)) => s == j,
            (load::Value::Str(_), _) | (_, Value::String(_)) => false,
            _ => self.to_json() == *json,
        }
    }
    fn json(&self) -> Cow<'_, Value> {
        Cow::Owned(self.to_json())
    }
}

/// A compiled schema.
pub struct Schema {
    nodes: Vec<Vec<Check>>,
    patterns: Vec<Pattern>,
}

/// One way a value breaks the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Keys and indices from the document root to the value.
    pub path: Vec<String>,
    pub message: String,
    pub kind: Kind,
}

/// What a violation is about, for errors that point at a key or list what is allowed.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A mapping key no property allows.
    UnexpectedKey(String),
    /// A string not matching this pattern.
    Pattern(String),
    /// A value not among these.
    Enum(Vec<Value>),
    Other,
}

struct Pattern {
    source: String,
    regex: OnceLock<Result<regex_lite::Regex, String>>,
    /// Strings already matched: a large spec repeats the same quantities, durations and
    /// paths in every service, and a regex-lite search costs thousands of instructions
    /// (BENCHMARKS.md, step 37). Bounded, so unique strings cannot grow it without limit.
    seen: std::sync::Mutex<HashMap<String, bool>>,
}

/// At most this many remembered strings per pattern, each at most `MEMO_LEN` bytes.
const MEMO_ENTRIES: usize = 4096;
const MEMO_LEN: usize = 128;

impl Type {
    fn admits(self, value: &impl Doc) -> bool {
        value.admitted_by(self)
    }
}

impl Schema {
    /// Compiles a schema document. Fails on a keyword this module does not implement.
    pub fn compile(document: &Value) -> Result<Schema, String> {
        compiler::compile(document).map(Schema::from)
    }

    /// Whether `value` has no violation (none are described: [`Schema::violations`] does).
    pub fn accepts(&self, value: &impl Doc) -> bool {
        self.valid(0, value)
    }

    /// Every violation of `value`, in document order.
    pub fn violations(&self, value: &Value) -> Vec<Violation> {
        let mut report = Report {
            path: Vec::new(),
            violations: Some(Vec::new()),
            failed: false,
        };
        self.check(0, value, &mut report);
        report.violations.unwrap_or_default()
    }

    /// `additionalProperties` of a large map (the services of a large spec): each entry
    /// checked on the cores, the violations in document order as on one core.
    fn check_entries_in_parallel<'v, V: Doc>(
        &self,
        sub: usize,
        known: &[String],
        value: &'v V,
        r: &mut Report<'v>,
    ) {
        let Some(map) = value.entries() else { return };
        let entries: Vec<(&'v str, &'v V)> = map
            .filter(|(key, _)| known.binary_search_by(|k| k.as_str().cmp(key)).is_err())
            .collect();
        let threads = par::threads_for(entries.len(), par::MIN_SERVICES);
        let reports = par::map(&entries, threads, |&(key, v)| {
            let mut path = r.path.clone();
            path.push(Seg::Key(key));
            let mut entry = Report {
                path,
                violations: r.violations.as_ref().map(|_| Vec::new()),
                failed: false,
            };
            self.check(sub, v, &mut entry);
            (entry.failed, entry.violations.unwrap_or_default())
        });
        for (failed, violations) in reports {
            r.failed |= failed;
            if let Some(out) = &mut r.violations {
                out.extend(violations);
            }
        }
    }

    fn valid(&self, node: usize, value: &impl Doc) -> bool {
        let mut report = Report {
            path: Vec::new(),
            violations: None,
            failed: false,
        };
        self.check(node, value, &mut report);
        !report.failed
    }

    fn check<'v, V: Doc>(&self, node: usize, value: &'v V, r: &mut Report<'v>) {
        for check in &self.nodes[node] {
            if r.violations.is_none() && r.failed {
                return; // `valid` knows enough
            }
            match check {
                Check::Type(types) => {
                    if !types.iter().any(|t| t.admits(value)) {
                        let names: Vec<&str> = types.iter().map(|t| t.name()).collect();
                        r.fail(|| {
                            (
                                format!("{} is not of type {}", show(value), names.join(" or ")),
                                Kind::Other,
                            )
                        });
                    }
                }
                Check::Properties(properties) => {
                    for (key, sub) in properties {
                        if let Some((key, v)) = value.get(key) {
                            r.path.push(Seg::Key(key));
                            self.check(*sub, v, r);
                            r.path.pop();
                        }
                    }
                }
                Check::Additional(Some(sub), known)
                    if value
                        .entries()
                        .is_some_and(|m| m.len() >= par::MIN_SERVICES) =>
                {
                    self.check_entries_in_parallel(*sub, known, value, r);
                }
                Check::Additional(sub, known) => {
                    if let Some(map) = value.entries() {
                        for (key, v) in map {
                            if known.binary_search_by(|k| k.as_str().cmp(key)).is_ok() {
                                continue;
                            }
                            match sub {
                                None => r.fail(|| {
                                    (
                                        format!("unexpected property {key:?}"),
                                        Kind::UnexpectedKey(key.to_string()),
                                    )
                                }),
                                Some(sub) => {
                                    r.path.push(Seg::Key(key));
                                    self.check(*sub, v, r);
                                    r.path.pop();
                                }
                            }
                        }
                    }
                }
                Check::Required(keys) => {
                    if value.entries().is_some() {
                        for key in keys.iter().filter(|k| value.get(k).is_none()) {
                            r.fail(|| (format!("{key:?} is a required property"), Kind::Other));
                        }
                    }
                }
                Check::Ref(sub) => self.check(*sub, value, r),
                Check::AllOf(subs) => {
                    for sub in subs {
                        self.check(*sub, value, r);
                    }
                }
                Check::AnyOf(subs) | Check::OneOf(subs) => {
                    let passing = subs.iter().filter(|s| self.valid(**s, value)).count();
                    let one_of = matches!(check, Check::OneOf(_));
                    if passing == 0 {
                        self.no_branch(subs, value, r);
                    } else if one_of && passing > 1 {
                        r.fail(|| {
                            (
                                format!(
                                    "{} matches more than one of its alternatives",
                                    show(value)
                                ),
                                Kind::Other,
                            )
                        });
                    }
                }
                Check::Enum(options) => {
                    if !options.iter().any(|o| value.equals(o)) {
                        r.fail(|| {
                            (
                                format!("{} is not one of {}", show(value), list(options)),
                                Kind::Enum(options.clone()),
                            )
                        });
                    }
                }
                Check::Const(expected) => {
                    if !value.equals(expected) {
                        r.fail(|| {
                            (
                                format!("{} is not {}", show(value), show(expected)),
                                Kind::Enum(vec![expected.clone()]),
                            )
                        });
                    }
                }
                Check::Minimum(_)
                | Check::Maximum(_)
                | Check::ExclusiveMinimum(_)
                | Check::ExclusiveMaximum(_) => {
                    if let Some(x) = value.as_f64()
                        && let Some(message) = bound(check, x)
                    {
                        r.fail(|| (format!("{} {message}", show(value)), Kind::Other));
                    }
                }
                Check::Pattern(i) => {
                    let pattern = &self.patterns[*i];
                    if let Some(s) = value.as_str()
                        && !pattern.is_match(s)
                    {
                        r.fail(|| {
                            (
                                format!("{} does not match {:?}", show(value), pattern.source),
                                Kind::Pattern(pattern.source.clone()),
                            )
                        });
                    }
                }
                Check::MinLength(n) | Check::MaxLength(n) => {
                    if let Some(s) = value.as_str() {
                        let len = s.chars().count() as u64;
                        let min = matches!(check, Check::MinLength(_));
                        if (min && len < *n) || (!min && len > *n) {
                            let what = if min { "shorter" } else { "longer" };
                            let plural = if *n == 1 { "" } else { "s" };
                            r.fail(|| {
                                (
                                    format!("{} is {what} than {n} character{plural}", show(value)),
                                    Kind::Other,
                                )
                            });
                        }
                    }
                }
                Check::MinItems(n) | Check::MaxItems(n) => {
                    if let Some(items) = value.items() {
                        let len = items.len() as u64;
                        let min = matches!(check, Check::MinItems(_));
                        if (min && len < *n) || (!min && len > *n) {
                            let (verb, unit) = if min {
                                ("needs", "at least")
                            } else {
                                ("allows", "at most")
                            };
                            r.fail(|| (format!("has {len} items, {verb} {unit} {n}"), Kind::Other));
                        }
                    }
                }
                Check::Items(sub) => {
                    if let Some(items) = value.items() {
                        for (i, item) in items.iter().enumerate() {
                            r.path.push(Seg::Index(i));
                            self.check(*sub, item, r);
                            r.path.pop();
                        }
                    }
                }
            }
        }
    }

    /// No alternative of an `anyOf`/`oneOf` accepts `value`. When only one accepts its type
    /// (the usual `T or null`), its own violations say the most; otherwise list the types.
    fn no_branch<'v, V: Doc>(&self, subs: &[usize], value: &'v V, r: &mut Report<'v>) {
        let typed: Vec<usize> = subs
            .iter()
            .copied()
            .filter(|s| {
                self.types(*s)
                    .is_none_or(|t| t.iter().any(|t| t.admits(value)))
            })
            .collect();
        if let [only] = typed[..] {
            self.check(only, value, r);
            return;
        }
        r.fail(|| {
            let mut expected: Vec<&str> = subs
                .iter()
                .filter_map(|s| self.types(*s))
                .flatten()
                .map(|t| t.name())
                .collect();
            expected.dedup();
            let mut message = format!("{} is not valid", show(value));
            if !expected.is_empty() && typed.is_empty() {
                let _ = write!(message, ": expected {}", expected.join(" or "));
            } else {
                message.push_str(" under any of the allowed alternatives");
            }
            // Alternatives that are all `enum`/`const` (e.g. `none`, `preferred`, `required`):
            // list every allowed value.
            let options: Option<Vec<Vec<Value>>> = subs.iter().map(|s| self.allowed(*s)).collect();
            let kind = options.map_or(Kind::Other, |o| Kind::Enum(o.concat()));
            (message, kind)
        });
    }

    /// The types a node admits, following `$ref`; `None` when it does not say.
    fn types(&self, node: usize) -> Option<&[Type]> {
        self.nodes[node].iter().find_map(|c| match c {
            Check::Type(t) => Some(t.as_slice()),
            Check::Ref(r) => self.types(*r),
            _ => None,
        })
    }

    /// The values an `enum` or `const` node allows.
    fn allowed(&self, node: usize) -> Option<Vec<Value>> {
        self.nodes[node].iter().find_map(|c| match c {
            Check::Enum(options) => Some(options.clone()),
            Check::Const(v) => Some(vec![v.clone()]),
            _ => None,
        })
    }
}

/// Where a check reports: the path to the value being checked, and the violations with
/// their messages, or (`violations: None`, for `valid`) only whether there was one: the
/// messages of an alternative that does not match are never shown, and formatting them cost
/// more than the checks.
struct Report<'v> {
    path: Vec<Seg<'v>>,
    violations: Option<Vec<Violation>>,
    failed: bool,
}

/// A step of a path, borrowed from the value until a violation needs it as text.
#[derive(Clone, Copy)]
enum Seg<'v> {
    Key(&'v str),
    Index(usize),
}

impl Report<'_> {
    fn fail(&mut self, violation: impl FnOnce() -> (String, Kind)) {
        self.failed = true;
        if let Some(out) = &mut self.violations {
            let (message, kind) = violation();
            let path = self
                .path
                .iter()
                .map(|s| match s {
                    Seg::Key(k) => k.to_string(),
                    Seg::Index(i) => i.to_string(),
                })
                .collect();
            out.push(Violation {
                path,
                message,
                kind,
            });
        }
    }
}

fn bound(check: &Check, x: f64) -> Option<String> {
    let (broken, words, limit) = match *check {
        Check::Minimum(m) => (x < m, "is less than the minimum of", m),
        Check::Maximum(m) => (x > m, "is greater than the maximum of", m),
        Check::ExclusiveMinimum(m) => (x <= m, "must be greater than", m),
        Check::ExclusiveMaximum(m) => (x >= m, "must be less than", m),
        _ => return None,
    };
    broken.then(|| format!("{words} {}", show(&serde_json::json!(limit))))
}

/// A value as JSON, shortened if long (a whole mapping in an error helps nobody).
fn show(value: &impl Doc) -> String {
    let text = match value.json().as_ref() {
        // Whole numbers print without `.0`.
        Value::Number(n)
            if n.as_f64()
                .is_some_and(|f| f.fract() == 0.0 && f.abs() < 1e15) =>
        {
            format!("{}", n.as_f64().unwrap_or_default() as i64)
        }
        Value::Object(_) => return "a mapping".into(),
        Value::Array(_) => return "a list".into(),
        v => v.to_string(),
    };
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    } else {
        text
    }
}

fn list(options: &[Value]) -> String {
    options.iter().map(show).collect::<Vec<_>>().join(", ")
}

impl From<Compiled> for Schema {
    fn from(compiled: Compiled) -> Schema {
        let patterns = compiled
            .patterns
            .into_iter()
            .map(|source| Pattern {
                source,
                regex: OnceLock::new(),
                seen: Default::default(),
            })
            .collect();
        Schema {
            nodes: compiled.nodes,
            patterns,
        }
    }
}

impl Pattern {
    fn is_match(&self, s: &str) -> bool {
        if s.len() > MEMO_LEN {
            return self.search(s);
        }
        let known = self.seen.lock().ok().and_then(|seen| seen.get(s).copied());
        if let Some(known) = known {
            return known;
        }
        let matched = self.search(s);
        if let Ok(mut seen) = self.seen.lock()
            && seen.len() < MEMO_ENTRIES
        {
            seen.insert(s.to_owned(), matched);
        }
        matched
    }

    fn search(&self, s: &str) -> bool {
        match self
            .regex
            .get_or_init(|| regex_lite::Regex::new(&self.source).map_err(|e| e.to_string()))
        {
            Ok(re) => re.is_match(s),
            // Unreachable for the committed schema (a test compiles every pattern); refuse
            // rather than accept what cannot be checked.
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn violations(schema: Value, value: Value) -> Vec<String> {
        Schema::compile(&schema)
            .unwrap()
            .violations(&value)
            .into_iter()
            .map(|v| format!("{}: {}", v.path.join("."), v.message))
            .collect()
    }

    #[test]
    fn checks_each_keyword() {
        let schema = json!({
            "type": "object",
            "properties": {
                "n": {"type": "integer", "minimum": 1, "maximum": 10},
                "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 3},
                "mode": {"$ref": "#/$defs/Mode"},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "opt": {"anyOf": [{"$ref": "#/$defs/Mode"}, {"type": "null"}]}
            },
            "required": ["n"],
            "additionalProperties": false,
            "$defs": {"Mode": {"type": "string", "enum": ["a", "b"]}}
        });
        let ok = json!({"n": 2.0, "name": "ab", "mode": "a", "tags": ["x"], "opt": null});
        assert!(violations(schema.clone(), ok).is_empty());
        let bad = json!({"n": 11, "name": "ABCD", "mode": "c", "tags": [], "opt": "z", "x": 1});
        assert_eq!(
            violations(schema.clone(), bad),
            [
                ": unexpected property \"x\"",
                "mode: \"c\" is not one of \"a\", \"b\"",
                "n: 11 is greater than the maximum of 10",
                "name: \"ABCD\" is longer than 3 characters",
                "name: \"ABCD\" does not match \"^[a-z]+$\"",
                "opt: \"z\" is not one of \"a\", \"b\"",
                "tags: has 0 items, needs at least 1",
            ]
        );
        assert_eq!(
            violations(schema, json!({"n": 1.5})),
            ["n: 1.5 is not of type integer"]
        );
    }

    #[test]
    fn refuses_unknown_keywords() {
        let err = Schema::compile(&json!({"properties": {"a": {"uniqueItems": true}}}))
            .err()
            .unwrap();
        assert_eq!(
            err,
            "#/properties/a/uniqueItems: keyword \"uniqueItems\" is not supported"
        );
    }

    #[test]
    fn large_maps_report_as_on_one_core() {
        let schema = json!({
            "type": "object",
            "additionalProperties": {"$ref": "#/$defs/S"},
            "$defs": {"S": {
                "type": "object",
                "properties": {"n": {"type": "integer", "maximum": 5}},
                "required": ["n"],
                "additionalProperties": false
            }}
        });
        let entry = |i: usize| match i % 4 {
            0 => json!({"n": i % 5}),
            1 => json!({"n": i}),
            2 => json!({"m": 1}),
            _ => json!("x"),
        };
        let n = 3 * par::MIN_SERVICES;
        let map: Map<String, Value> = (0..n).map(|i| (format!("s{i:03}"), entry(i))).collect();
        // One entry at a time never takes the parallel path.
        let expected: Vec<String> = (0..n)
            .flat_map(|i| violations(schema.clone(), json!({format!("s{i:03}"): entry(i)})))
            .collect();
        assert!(expected.len() > n / 2);
        assert_eq!(violations(schema, Value::Object(map)), expected);
    }

    #[test]
    fn one_of_needs_exactly_one() {
        let schema = json!({"oneOf": [{"type": "number"}, {"type": "integer"}]});
        assert_eq!(
            violations(schema.clone(), json!(1)),
            [": 1 matches more than one of its alternatives"]
        );
        assert!(violations(schema.clone(), json!(1.5)).is_empty());
        assert_eq!(
            violations(schema, json!("x")),
            [": \"x\" is not valid: expected number or integer"]
        );
    }
}
