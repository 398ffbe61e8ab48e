//! Compiling a JSON Schema document into checks: the part of [`crate::schema`] that needs
//! nothing but the document, so that `build.rs` runs it too and compiles the spec's schema
//! into the binary (`OUT_DIR/schema.rs`): a run no longer parses and compiles 13.6 KB of JSON
//! before it can validate (BENCHMARKS.md, step 44). Self-contained on purpose (std and
//! serde_json only): the build script includes this file as a module of its own.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// A compiled schema: node 0 is the root.
#[derive(Debug, PartialEq)]
pub struct Compiled {
    pub nodes: Vec<Vec<Check>>,
    /// The sources of the `pattern` keywords, compiled to regexes where first used.
    pub patterns: Vec<String>,
}

/// Compiles a schema document. Fails on a keyword this module does not implement.
pub fn compile(document: &Value) -> Result<Compiled, String> {
    let mut compiler = Compiler {
        document,
        nodes: Vec::new(),
        patterns: Vec::new(),
        refs: HashMap::new(),
    };
    compiler.node(document, At::Root("#"))?;
    Ok(Compiled {
        nodes: compiler.nodes,
        patterns: compiler.patterns,
    })
}

/// One keyword's check. Subschemas are indices into [`Compiled::nodes`].
#[derive(Debug, PartialEq)]
pub enum Check {
    Type(Vec<Type>),
    Properties(Vec<(String, usize)>),
    /// `additionalProperties`: `None` forbids other keys, `Some(node)` checks their values.
    Additional(Option<usize>, Vec<String>),
    Required(Vec<String>),
    Ref(usize),
    AllOf(Vec<usize>),
    AnyOf(Vec<usize>),
    OneOf(Vec<usize>),
    Enum(Vec<Value>),
    Const(Value),
    Minimum(f64),
    Maximum(f64),
    ExclusiveMinimum(f64),
    ExclusiveMaximum(f64),
    /// An index into [`Compiled::patterns`].
    Pattern(usize),
    MinLength(u64),
    MaxLength(u64),
    MinItems(u64),
    MaxItems(u64),
    Items(usize),
}

/// A JSON type, as the `type` keyword names it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Type {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl Type {
    fn parse(name: &str) -> Option<Type> {
        Some(match name {
            "null" => Type::Null,
            "boolean" => Type::Boolean,
            "integer" => Type::Integer,
            "number" => Type::Number,
            "string" => Type::String,
            "array" => Type::Array,
            "object" => Type::Object,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Type::Null => "null",
            Type::Boolean => "boolean",
            Type::Integer => "integer",
            Type::Number => "number",
            Type::String => "string",
            Type::Array => "array",
            Type::Object => "object",
        }
    }
}

/// Keywords that only describe (for editors and documentation) and constrain nothing.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$defs",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    // Not asserted by 2020-12 validators by default; schemars writes it for integer widths,
    // which `minimum`/`maximum` and the typed structs enforce.
    "format",
];

struct Compiler<'a> {
    document: &'a Value,
    nodes: Vec<Vec<Check>>,
    patterns: Vec<String>,
    refs: HashMap<String, usize>,
}

/// Where a subschema is, as a JSON pointer: formatted only for an error (formatting every
/// path up front was nearly half of compiling the spec's schema).
#[derive(Clone, Copy)]
enum At<'a> {
    Root(&'a str),
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At::Root(root) => f.write_str(root),
            At::Key(parent, key) => write!(f, "{parent}/{key}"),
            At::Index(parent, i) => write!(f, "{parent}/{i}"),
        }
    }
}

impl Compiler<'_> {
    fn node(&mut self, schema: &Value, at: At<'_>) -> Result<usize, String> {
        let index = self.nodes.len();
        self.nodes.push(Vec::new());
        let checks = match schema {
            Value::Bool(true) => Vec::new(),
            Value::Object(map) => self.checks(map, at)?,
            other => {
                return Err(format!(
                    "{at}: a schema must be an object or true, not {other}"
                ));
            }
        };
        self.nodes[index] = checks;
        Ok(index)
    }

    fn checks(&mut self, map: &Map<String, Value>, at: At<'_>) -> Result<Vec<Check>, String> {
        let mut checks = Vec::new();
        let number = |v: &Value, key: &str| {
            v.as_f64()
                .ok_or_else(|| format!("{at}/{key}: expected a number"))
        };
        let count = |v: &Value, key: &str| {
            v.as_u64()
                .ok_or_else(|| format!("{at}/{key}: expected a whole number"))
        };
        for (key, v) in map {
            let here = At::Key(&at, key);
            let check = match key.as_str() {
                k if ANNOTATIONS.contains(&k) => continue,
                "type" => {
                    let names: Vec<&Value> = match v {
                        Value::Array(a) => a.iter().collect(),
                        v => vec![v],
                    };
                    let types = names
                        .iter()
                        .map(|n| n.as_str().and_then(Type::parse))
                        .collect::<Option<Vec<Type>>>()
                        .ok_or_else(|| format!("{here}: unknown type {v}"))?;
                    Check::Type(types)
                }
                "properties" => {
                    let props = v
                        .as_object()
                        .ok_or_else(|| format!("{here}: expected an object"))?;
                    let mut compiled = Vec::new();
                    for (name, sub) in props {
                        compiled.push((name.clone(), self.node(sub, At::Key(&here, name))?));
                    }
                    Check::Properties(compiled)
                }
                "additionalProperties" => {
                    let mut known: Vec<String> = map
                        .get("properties")
                        .and_then(Value::as_object)
                        .map(|p| p.keys().cloned().collect())
                        .unwrap_or_default();
                    known.sort();
                    match v {
                        Value::Bool(true) => continue,
                        Value::Bool(false) => Check::Additional(None, known),
                        sub => Check::Additional(Some(self.node(sub, here)?), known),
                    }
                }
                "required" => Check::Required(
                    v.as_array()
                        .and_then(|a| a.iter().map(|k| k.as_str().map(String::from)).collect())
                        .ok_or_else(|| format!("{here}: expected a list of names"))?,
                ),
                "$ref" => {
                    let target = v
                        .as_str()
                        .ok_or_else(|| format!("{here}: expected a string"))?;
                    Check::Ref(self.reference(target, here)?)
                }
                "allOf" | "anyOf" | "oneOf" => {
                    let subs = v
                        .as_array()
                        .ok_or_else(|| format!("{here}: expected a list"))?;
                    let mut compiled = Vec::new();
                    for (i, sub) in subs.iter().enumerate() {
                        compiled.push(self.node(sub, At::Index(&here, i))?);
                    }
                    match key.as_str() {
                        "allOf" => Check::AllOf(compiled),
                        "anyOf" => Check::AnyOf(compiled),
                        _ => Check::OneOf(compiled),
                    }
                }
                "enum" => Check::Enum(
                    v.as_array()
                        .cloned()
                        .ok_or_else(|| format!("{here}: expected a list"))?,
                ),
                "const" => Check::Const(v.clone()),
                "minimum" => Check::Minimum(number(v, key)?),
                "maximum" => Check::Maximum(number(v, key)?),
                "exclusiveMinimum" => Check::ExclusiveMinimum(number(v, key)?),
                "exclusiveMaximum" => Check::ExclusiveMaximum(number(v, key)?),
                "pattern" => {
                    let source = v
                        .as_str()
                        .ok_or_else(|| format!("{here}: expected a string"))?;
                    self.patterns.push(source.to_string());
                    Check::Pattern(self.patterns.len() - 1)
                }
                "minLength" => Check::MinLength(count(v, key)?),
                "maxLength" => Check::MaxLength(count(v, key)?),
                "minItems" => Check::MinItems(count(v, key)?),
                "maxItems" => Check::MaxItems(count(v, key)?),
                "items" => Check::Items(self.node(v, here)?),
                other => return Err(format!("{here}: keyword {other:?} is not supported")),
            };
            checks.push(check);
        }
        Ok(checks)
    }

    /// A `#/$defs/Name` reference, compiled once however often it is used (and recursion-safe:
    /// the index is known before the definition is compiled).
    fn reference(&mut self, target: &str, at: At<'_>) -> Result<usize, String> {
        if let Some(&index) = self.refs.get(target) {
            return Ok(index);
        }
        let schema = target
            .strip_prefix('#')
            .and_then(|pointer| self.document.pointer(pointer))
            .ok_or_else(|| format!("{at}: cannot resolve {target:?}"))?;
        let index = self.nodes.len();
        self.refs.insert(target.to_string(), index);
        let compiled = self.node(schema, At::Root(target))?;
        debug_assert_eq!(compiled, index);
        Ok(index)
    }
}
