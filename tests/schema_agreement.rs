//! tacosgen checks specs with its own compiled subset of JSON Schema (`src/schema.rs`), for
//! start-up speed. These tests hold it to the `jsonschema` crate: on the committed
//! environments and examples, and on every one-field mutation of them, both must agree on
//! whether the spec is valid. Validation reads the loader's tree in place, and copies it into
//! JSON only to describe a problem: on the same specs, the tree must read as its JSON does.

mod common;

use serde::Deserialize;
use serde_json::{Value, json};
use tacosgen::error::{Loc, Sources};
use tacosgen::load::Node;
use tacosgen::schema::Schema;
use tacosgen::spec::Spec;

/// The committed schema as `validate.rs` uses it (serviceDefaults is merged before checking).
fn schema_document() -> Value {
    let text =
        std::fs::read_to_string(common::repo().join("schemas/tacosgen.schema.json")).unwrap();
    let mut schema: Value = serde_json::from_str(&text).unwrap();
    *schema.pointer_mut("/properties/serviceDefaults").unwrap() = json!({});
    schema
}

/// The specs as the validator sees them: loaded, `extends` and serviceDefaults resolved.
fn specs() -> Vec<(String, Value)> {
    let repo = common::repo();
    [
        "environments/prod.yaml",
        "environments/staging.yaml",
        "environments/dev.yaml",
        "examples/small-api.yaml",
        "examples/large-platform.yaml",
    ]
    .iter()
    .map(|p| {
        let loaded = tacosgen::load::load(&repo.join(p), &repo, &mut Sources::default())
            .unwrap_or_else(|e| panic!("{p}: {e:?}"));
        (p.to_string(), loaded.tree.to_json())
    })
    .collect()
}

/// Values that probe every keyword the schema uses: types, bounds, patterns, lengths, enums.
fn replacements(original: &Value) -> Vec<Value> {
    let mut values = vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(1),
        json!(1.5),
        json!(65536),
        json!(2147483648u64),
        json!(""),
        json!("x"),
        json!("Upper"),
        json!("-bad-"),
        json!("a".repeat(64)),
        json!("500m"),
        json!("1Gi"),
        json!("30s"),
        json!("50%"),
        json!("101%"),
        json!("/path"),
        json!([]),
        json!({}),
    ];
    match original {
        Value::Number(n) => {
            let x = n.as_f64().unwrap();
            values.extend([
                json!(x + 1.0),
                json!(x - 1.0),
                json!(x * 1000.0),
                json!(x + 0.5),
            ]);
        }
        Value::String(s) => {
            values.extend([
                json!(format!("{s}x")),
                json!(format!(" {s}")),
                json!(s.to_uppercase()),
            ]);
        }
        _ => {}
    }
    values
}

/// Every path to a value in `v` (keys and indices).
fn paths(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                prefix.push(k.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                prefix.push(i.to_string());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// The loader's tree of a JSON value, mappings in reverse order (a spec's keys come in any).
fn tree(v: &Value) -> Node {
    use tacosgen::load::Value as V;
    let value = match v {
        Value::Null => V::Null,
        Value::Bool(b) => V::Bool(*b),
        Value::Number(n) => n
            .as_i64()
            .map_or_else(|| V::Float(n.as_f64().unwrap()), V::Int),
        Value::String(s) => V::Str(s.clone()),
        Value::Array(items) => V::Seq(items.iter().map(tree).collect()),
        Value::Object(map) => V::Map(
            map.iter()
                .rev()
                .map(|(k, v)| (k.clone(), Loc::default(), tree(v)))
                .collect(),
        ),
    };
    Node {
        loc: Loc::default(),
        value,
    }
}

/// The tree is read as its JSON is: by the schema, and into the typed spec.
fn tree_reads_as_json(ours: &Schema, spec: &Value) {
    let node = tree(spec);
    let json = node.to_json();
    assert_eq!(
        ours.accepts(&node),
        ours.violations(&json).is_empty(),
        "{json}"
    );
    let typed = |s: Spec| serde_json::to_value(s).unwrap();
    assert_eq!(
        Spec::deserialize(&node).ok().map(typed),
        tacosgen::error::from_json::<Spec>(&json).ok().map(typed),
        "{json}"
    );
}

fn at<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match v {
        Value::Object(map) => map.get_mut(k).unwrap(),
        Value::Array(items) => &mut items[k.parse::<usize>().unwrap()],
        _ => unreachable!(),
    })
}

#[test]
fn agrees_with_the_jsonschema_crate_on_every_one_field_mutation() {
    let document = schema_document();
    let reference = jsonschema::validator_for(&document).unwrap();
    let ours = Schema::compile(&document).unwrap();
    let (mut compared, mut invalid) = (0, 0);
    // Services repeat the same fields: mutate each field of each shape once, where the shape
    // is the path with service and node pool names and list indices wildcarded.
    let mut shapes = std::collections::BTreeSet::new();
    for (name, spec) in specs() {
        assert!(reference.is_valid(&spec), "{name} is valid");
        assert_eq!(ours.violations(&spec), [], "{name}");
        tree_reads_as_json(&ours, &spec);
        let mut all = Vec::new();
        paths(&spec, &mut Vec::new(), &mut all);
        for path in &all {
            let shape: Vec<&str> = path
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    let named =
                        i > 0 && ["services", "nodePools", "env"].contains(&path[i - 1].as_str());
                    if named || k.parse::<usize>().is_ok() {
                        "*"
                    } else {
                        k.as_str()
                    }
                })
                .collect();
            if !shapes.insert(shape.join(".")) {
                continue;
            }
            let original = at(&mut spec.clone(), path).clone();
            let mut mutants: Vec<Value> = replacements(&original)
                .into_iter()
                .map(|r| {
                    let mut m = spec.clone();
                    *at(&mut m, path) = r;
                    m
                })
                .collect();
            // An unknown key in every mapping, and a removed key (required or not).
            if original.is_object() {
                let mut m = spec.clone();
                at(&mut m, path)
                    .as_object_mut()
                    .unwrap()
                    .insert("unknownKey".into(), json!(1));
                mutants.push(m);
            }
            if let Some((key, parent)) = path.split_last()
                && at(&mut spec.clone(), parent).is_object()
            {
                let mut m = spec.clone();
                at(&mut m, parent).as_object_mut().unwrap().remove(key);
                mutants.push(m);
            }
            for m in mutants {
                tree_reads_as_json(&ours, &m);
                let expected = reference.is_valid(&m);
                let found = ours.violations(&m);
                assert_eq!(
                    found.is_empty(),
                    expected,
                    "{name} at {}: jsonschema says valid={expected}, ours {found:?}\nvalue: {}",
                    path.join("."),
                    at(
                        &mut m.clone(),
                        path.split_last().map_or(&path[..], |(_, p)| p)
                    ),
                );
                compared += 1;
                invalid += usize::from(!expected);
            }
        }
    }
    // Enough to mean something, and both outcomes well represented.
    assert!(compared > 2_000, "{compared} mutations");
    assert!(
        invalid > compared / 4 && invalid < compared * 9 / 10,
        "{invalid} of {compared} invalid"
    );
}

#[test]
fn every_pattern_of_the_committed_schema_compiles() {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(p)) = map.get("pattern") {
                    out.push(p.clone());
                }
                map.values().for_each(|c| walk(c, out));
            }
            Value::Array(items) => items.iter().for_each(|c| walk(c, out)),
            _ => {}
        }
    }
    let mut patterns = Vec::new();
    walk(&schema_document(), &mut patterns);
    assert!(patterns.len() > 10);
    for p in patterns {
        regex_lite::Regex::new(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
    }
}
