//! Embeds the default templates (`templates/*.j2`) into the binary as a table of sources
//! (compiled on first use, see `render.rs`) and as Rust functions (`build/compile_templates.rs`,
//! run by `src/compiled.rs`), and the spec schema compiled into checks
//! (`src/schema/compiler.rs`, the same code that compiles a schema at run time), so that a run
//! neither parses its JSON nor compiles it.
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

#[path = "build/compile_templates.rs"]
mod compile_templates;

// The runtime's schema compiler; what only the runtime reads of it goes unused here.
#[allow(dead_code)]
#[path = "src/schema/compiler.rs"]
mod schema_compiler;

fn main() {
    embed_templates();
    println!("cargo:rerun-if-changed=schemas/tacosgen.schema.json");
    println!("cargo:rerun-if-changed=src/schema/compiler.rs");
    // Not read here: the shipped binary's linker reads it (scripts/link-hot-first.sh), and
    // only a new link applies a new list.
    println!("cargo:rerun-if-changed=scripts/hot-functions.txt");
    let text = std::fs::read_to_string("schemas/tacosgen.schema.json").expect("committed schema");
    let mut schema: Value = serde_json::from_str(&text).expect("committed schema is JSON");
    strip(&mut schema);
    // serviceDefaults is merged into services before validation; its `allOf` reference to the
    // full Service (with required fields) is for editors only.
    schema["properties"]["serviceDefaults"] = serde_json::json!({});
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    // The stripped schema as JSON too: a test compiles it at run time and compares.
    std::fs::write(Path::new(&out_dir).join("schema.json"), schema.to_string())
        .expect("write OUT_DIR/schema.json");
    let compiled = schema_compiler::compile(&schema).expect("the committed schema compiles");
    std::fs::write(
        Path::new(&out_dir).join("schema.rs"),
        schema_code(&compiled),
    )
    .expect("write OUT_DIR/schema.rs");
}

/// `OUT_DIR/schema.rs`: a block expression building the compiled schema, for `include!`.
fn schema_code(compiled: &schema_compiler::Compiled) -> String {
    use schema_compiler::Check;
    let list = |items: Vec<String>| format!("vec![{}]", items.join(", "));
    let indices = |subs: &[usize]| list(subs.iter().map(|i| i.to_string()).collect());
    let names = |names: &[String]| list(names.iter().map(|n| format!("{n:?}.into()")).collect());
    let mut code = String::from(
        "{\n    use crate::schema::compiler::{Check as C, Compiled, Type as T};\n    Compiled {\n        nodes: vec![\n",
    );
    for node in &compiled.nodes {
        let checks: Vec<String> = node
            .iter()
            .map(|check| match check {
                Check::Type(types) => {
                    format!(
                        "C::Type({})",
                        list(types.iter().map(|t| format!("T::{t:?}")).collect())
                    )
                }
                Check::Properties(props) => format!(
                    "C::Properties({})",
                    list(
                        props
                            .iter()
                            .map(|(n, i)| format!("({n:?}.into(), {i})"))
                            .collect()
                    )
                ),
                Check::Additional(sub, known) => {
                    format!("C::Additional({sub:?}, {})", names(known))
                }
                Check::Required(keys) => format!("C::Required({})", names(keys)),
                Check::Ref(i) => format!("C::Ref({i})"),
                Check::AllOf(subs) => format!("C::AllOf({})", indices(subs)),
                Check::AnyOf(subs) => format!("C::AnyOf({})", indices(subs)),
                Check::OneOf(subs) => format!("C::OneOf({})", indices(subs)),
                Check::Enum(options) => {
                    format!(
                        "C::Enum({})",
                        list(options.iter().map(value_code).collect())
                    )
                }
                Check::Const(v) => format!("C::Const({})", value_code(v)),
                Check::Minimum(x) => format!("C::Minimum({x:?})"),
                Check::Maximum(x) => format!("C::Maximum({x:?})"),
                Check::ExclusiveMinimum(x) => format!("C::ExclusiveMinimum({x:?})"),
                Check::ExclusiveMaximum(x) => format!("C::ExclusiveMaximum({x:?})"),
                Check::Pattern(i) => format!("C::Pattern({i})"),
                Check::MinLength(n) => format!("C::MinLength({n})"),
                Check::MaxLength(n) => format!("C::MaxLength({n})"),
                Check::MinItems(n) => format!("C::MinItems({n})"),
                Check::MaxItems(n) => format!("C::MaxItems({n})"),
                Check::Items(i) => format!("C::Items({i})"),
            })
            .collect();
        writeln!(code, "            {},", list(checks)).unwrap();
    }
    writeln!(
        code,
        "        ],\n        patterns: {},\n    }}\n}}",
        names(&compiled.patterns)
    )
    .unwrap();
    code
}

/// A JSON value as a Rust expression (`enum` and `const` values).
fn value_code(value: &Value) -> String {
    match value {
        Value::Null => "serde_json::Value::Null".into(),
        Value::Bool(b) => format!("serde_json::Value::Bool({b})"),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => format!("serde_json::Value::from({u}u64)"),
            (None, Some(i)) => format!("serde_json::Value::from({i}i64)"),
            _ => format!(
                "serde_json::Value::from({:?}f64)",
                n.as_f64().expect("a finite number")
            ),
        },
        Value::String(s) => format!("serde_json::Value::from({s:?})"),
        Value::Array(items) => format!(
            "serde_json::Value::Array(vec![{}])",
            items.iter().map(value_code).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "serde_json::Value::Object(serde_json::Map::from_iter([{}]))",
            map.iter()
                .map(|(k, v)| format!("({k:?}.to_string(), {})", value_code(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Writes `OUT_DIR/templates.rs`: `(name, source)` of every `templates/*.j2`, sorted by name.
fn embed_templates() {
    println!("cargo:rerun-if-changed=templates");
    let dir = Path::new("templates")
        .canonicalize()
        .expect("templates/ exists");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("read templates/")
        .map(|e| e.expect("read templates/").path())
        .filter(|p| p.extension().is_some_and(|x| x == "j2"))
        .collect();
    entries.sort();
    let mut code = String::from("&[\n");
    let mut sources = std::collections::BTreeMap::new();
    for path in entries {
        let name = path
            .file_name()
            .expect("a file")
            .to_string_lossy()
            .into_owned();
        println!("cargo:rerun-if-changed={}", path.display());
        let source = std::fs::read_to_string(&path).expect("read a template");
        sources.insert(name.clone(), source);
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    code.push_str("]\n");
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("templates.rs");
    std::fs::write(out, code).expect("write OUT_DIR/templates.rs");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("compiled.rs");
    std::fs::write(out, compile_templates::compile(&sources)).expect("write OUT_DIR/compiled.rs");
}

/// Removes annotation keywords from a schema and its subschemas (not from `properties` or
/// `$defs`, whose keys are names, nor from `enum`/`const` values).
fn strip(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    for key in ["description", "default", "title", "examples", "$comment"] {
        map.remove(key);
    }
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "properties" | "$defs" => value
                .as_object_mut()
                .into_iter()
                .flatten()
                .for_each(|(_, s)| strip(s)),
            "anyOf" | "oneOf" | "allOf" => {
                value.as_array_mut().into_iter().flatten().for_each(strip)
            }
            "items" | "additionalProperties" => strip(value),
            _ => {}
        }
    }
}
