//! Embeds the default templates (`templates/*.j2`) into the binary as a table of sources
//! (compiled on first use, see `render.rs`) and as Rust functions (`build/compile_templates.rs`,
//! run by `src/compiled.rs`), and the spec schema without its documentation,
//! which the validator does not read (a sixth of the bytes to parse on every run).
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

#[path = "build/compile_templates.rs"]
mod compile_templates;

fn main() {
    embed_templates();
    println!("cargo:rerun-if-changed=schemas/tacosgen.schema.json");
    let text = std::fs::read_to_string("schemas/tacosgen.schema.json").expect("committed schema");
    let mut schema: Value = serde_json::from_str(&text).expect("committed schema is JSON");
    strip(&mut schema);
    // serviceDefaults is merged into services before validation; its `allOf` reference to the
    // full Service (with required fields) is for editors only.
    schema["properties"]["serviceDefaults"] = serde_json::json!({});
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("schema.json");
    std::fs::write(out, schema.to_string()).expect("write OUT_DIR/schema.json");
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
