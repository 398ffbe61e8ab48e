//! `tacosgen explain FIELD`: a spec field's documentation, read from the JSON Schema that
//! [`crate::validate::schema_json`] derives from the doc comments of `src/spec.rs`, so the
//! terminal, editors and validation show the same text.
//!
//! A field is a dotted path (`services.*.perPodRps`, `nodePools.*.consolidation.policy`,
//! `loadTest.phases.rate`): map entries are `*` or any name, list items are `*`, an index or
//! nothing.

use std::fmt::Write as _;

use serde_json::Value;

use crate::error::{Error, Result, did_you_mean};

/// Whether `arg` names a finding code (TG001...) rather than a field.
pub fn is_code(arg: &str) -> bool {
    let b = arg.as_bytes();
    b.len() == 5 && b[..2].eq_ignore_ascii_case(b"TG") && b[2..].iter().all(u8::is_ascii_digit)
}

/// One schema node with its resolved definition.
struct Field<'a> {
    /// The property's own schema (its description wins over the definition's).
    own: &'a Value,
    /// `own` with `$ref`, nullable `anyOf` and `allOf` followed.
    resolved: &'a Value,
    required: bool,
}

fn lookup<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    root.pointer(reference.strip_prefix('#')?)
}

/// Follows `$ref`, `allOf: [x]` and `anyOf: [x, {type: null}]` to the schema that has the
/// properties, type or enum.
fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..16 {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str)
            && let Some(target) = lookup(root, r)
        {
            schema = target;
            continue;
        }
        let branch = ["allOf", "anyOf"].iter().find_map(|k| {
            let list = schema.get(*k)?.as_array()?;
            let non_null: Vec<&Value> = list
                .iter()
                .filter(|s| s.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            // A unit type (`anyOf: [string, number]`) is described as it is.
            (non_null.len() == 1).then(|| non_null[0])
        });
        match branch {
            Some(b) => schema = b,
            None => break,
        }
    }
    schema
}

fn properties(schema: &Value) -> Option<&serde_json::Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

/// Walks `path` through the schema. On an unknown segment: exit-2 error with a did-you-mean.
fn walk<'a>(root: &'a Value, path: &str) -> Result<(Field<'a>, String)> {
    let mut field = Field {
        own: root,
        resolved: resolve(root, root),
        required: true,
    };
    let mut shown: Vec<String> = Vec::new();
    for seg in path.split('.') {
        if seg.is_empty() {
            return Err(Error::invalid(format!(
                "field {path:?} has an empty segment; write it as `services.*.perPodRps`"
            )));
        }
        let mut schema = field.resolved;
        // A list item: `*`, an index, or straight through to the item's fields.
        if let Some(items) = schema.get("items") {
            let item = resolve(root, items);
            if seg == "*" || seg.parse::<usize>().is_ok() {
                shown.push("*".into());
                field = Field {
                    own: items,
                    resolved: item,
                    required: false,
                };
                continue;
            }
            schema = item;
            shown.push("*".into());
        }
        if let Some(props) = properties(schema)
            && let Some(own) = props.get(seg)
        {
            let required = schema
                .get("required")
                .and_then(Value::as_array)
                .is_some_and(|r| r.iter().any(|v| v.as_str() == Some(seg)));
            field = Field {
                own,
                resolved: resolve(root, own),
                required,
            };
            shown.push(seg.into());
            continue;
        }
        if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
            field = Field {
                own: values,
                resolved: resolve(root, values),
                required: false,
            };
            shown.push("*".into());
            continue;
        }
        let at = if shown.is_empty() {
            "the top level".to_string()
        } else {
            format!("`{}`", shown.join("."))
        };
        let names: Vec<&str> = properties(schema)
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut e = Error::invalid(format!("unknown field `{seg}` in {at}"));
        if let Some(s) = did_you_mean(seg, names.iter().copied()) {
            let mut fixed = shown.clone();
            fixed.push(s.into());
            e = e.with_help(format!("did you mean `{}`?", fixed.join(".")));
        }
        if names.is_empty() {
            e = e.with_help(format!("{at} has no fields"));
        } else {
            e = e.with_help(format!("fields here: {}", names.join(", ")));
        }
        return Err(e);
    }
    Ok((field, shown.join(".")))
}

fn type_name(schema: &Value) -> String {
    if let Some(t) = schema.get("type") {
        let mut names: Vec<String> = match t {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| *s != "null")
                .map(String::from)
                .collect(),
            _ => Vec::new(),
        };
        if names == ["object"]
            && schema
                .get("additionalProperties")
                .is_some_and(Value::is_object)
        {
            names = vec!["map of name → value".into()];
        }
        if names == ["array"] {
            let item = schema.get("items").map_or("value".into(), type_name);
            return format!("list of {item}");
        }
        return names.join(" or ");
    }
    if let Some(list) = schema.get("anyOf").or_else(|| schema.get("oneOf"))
        && let Some(list) = list.as_array()
    {
        let mut names: Vec<String> = list
            .iter()
            .map(type_name)
            .filter(|t| !t.is_empty())
            .collect();
        names.dedup();
        return names.join(" or ");
    }
    if schema.get("const").is_some() {
        return "string".into();
    }
    String::new()
}

/// Allowed values of an enum (`enum`, or `oneOf` of `const`s with descriptions).
fn allowed(schema: &Value) -> Vec<String> {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values.iter().map(plain).collect();
    }
    schema
        .get("oneOf")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|s| {
                    let v = plain(s.get("const")?);
                    Some(match s.get("description").and_then(Value::as_str) {
                        Some(d) => format!("{v} ({})", one_line(d).trim_end_matches('.')),
                        None => v,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Up to the first `. ` that ends a sentence (followed by a capital, so `e.g. 99.9` stays).
fn first_sentence(text: &str) -> String {
    let ends = text.match_indices(". ").find(|(i, _)| {
        text[i + 2..]
            .chars()
            .next()
            .is_some_and(|c| c.is_uppercase() || c == '`')
    });
    match ends {
        Some((i, _)) => text[..=i].to_string(),
        None => text.to_string(),
    }
}

fn bounds(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (key, word) in [
        ("minimum", "at least"),
        ("maximum", "at most"),
        ("exclusiveMinimum", "above"),
        ("minLength", "length at least"),
        ("maxLength", "length at most"),
        ("minItems", "items at least"),
    ] {
        if let Some(v) = schema.get(key) {
            out.push(format!("{word} {v}"));
        }
    }
    if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
        out.push(format!("matches {p}"));
    }
    out
}

/// The documentation of `path` as text, or an error (exit 2) naming the closest field.
pub fn explain_field(path: &str) -> Result<String> {
    let root: Value =
        serde_json::from_str(&crate::validate::schema_json()).expect("the schema is JSON");
    let (field, shown) = walk(&root, path)?;
    let description = [field.own, field.resolved]
        .iter()
        .find_map(|s| s.get("description").and_then(Value::as_str))
        .unwrap_or("(no description)");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "FIELD:    {}",
        if shown.is_empty() { "(spec)" } else { &shown }
    );
    let ty = [field.resolved, field.own]
        .iter()
        .map(|s| type_name(s))
        .find(|t| !t.is_empty())
        .unwrap_or_else(|| "any".into());
    let _ = writeln!(out, "TYPE:     {ty}");
    let _ = writeln!(
        out,
        "REQUIRED: {}",
        if field.required { "yes" } else { "no" }
    );
    if let Some(d) = field
        .own
        .get("default")
        .or_else(|| field.resolved.get("default"))
    {
        let _ = writeln!(
            out,
            "DEFAULT:  {}",
            serde_json::to_string(d).unwrap_or_default()
        );
    }
    let values = allowed(field.resolved);
    if !values.is_empty() {
        let _ = writeln!(out, "ALLOWED:  {}", values.join(", "));
    }
    let mut limits = bounds(field.own);
    for b in bounds(field.resolved) {
        if !limits.contains(&b) {
            limits.push(b);
        }
    }
    if !limits.is_empty() {
        let _ = writeln!(out, "LIMITS:   {}", limits.join(", "));
    }
    let _ = writeln!(out, "\n{}", description.trim_end());
    let mut object = field.resolved;
    if let Some(items) = object.get("items") {
        object = resolve(&root, items);
    }
    if let Some(values) = object.get("additionalProperties").filter(|v| v.is_object()) {
        object = resolve(&root, values);
    }
    if let Some(props) = properties(object) {
        let width = props.keys().map(String::len).max().unwrap_or(0);
        out.push_str("\nFIELDS:\n");
        for (name, schema) in props {
            let d = schema
                .get("description")
                .or_else(|| resolve(&root, schema).get("description"))
                .and_then(Value::as_str)
                .map(|d| first_sentence(&one_line(d)))
                .unwrap_or_default();
            let _ = writeln!(out, "  {name:width$}  {d}");
        }
    }
    Ok(out)
}

/// Every documented field path, for tests and shell completion.
pub fn field_paths() -> Vec<String> {
    let root: Value =
        serde_json::from_str(&crate::validate::schema_json()).expect("the schema is JSON");
    let mut out = Vec::new();
    collect(&root, resolve(&root, &root), String::new(), 0, &mut out);
    out
}

fn collect(root: &Value, schema: &Value, prefix: String, depth: usize, out: &mut Vec<String>) {
    if depth > 8 {
        return;
    }
    let mut schema = schema;
    let mut prefix = prefix;
    if let Some(items) = schema.get("items") {
        schema = resolve(root, items);
        prefix = format!("{prefix}*.");
    }
    if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
        schema = resolve(root, values);
        prefix = format!("{prefix}*.");
    }
    let Some(props) = properties(schema) else {
        return;
    };
    for (name, sub) in props {
        let path = format!("{prefix}{name}");
        out.push(path.clone());
        collect(root, resolve(root, sub), format!("{path}."), depth + 1, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_fields_are_told_apart() {
        assert!(is_code("TG007") && is_code("tg016"));
        assert!(!is_code("TG07") && !is_code("slo.targetRps") && !is_code("TGX01"));
    }

    #[test]
    fn a_field_behind_a_map_and_a_ref() {
        let text = explain_field("services.*.perPodRps").unwrap();
        assert!(text.contains("TYPE:     number"), "{text}");
        assert!(text.contains("REQUIRED: yes"), "{text}");
        assert!(text.contains("one pod sustains"), "{text}");
        let named = explain_field("services.gateway-api.perPodRps").unwrap();
        assert_eq!(named, text);
    }

    #[test]
    fn enums_defaults_and_nullable_objects() {
        let text = explain_field("nodePools.*.consolidation.policy").unwrap();
        assert!(
            text.contains("ALLOWED:  WhenEmpty, WhenEmptyOrUnderutilized"),
            "{text}"
        );
        assert!(
            text.contains("DEFAULT:  \"WhenEmptyOrUnderutilized\""),
            "{text}"
        );
        let redis = explain_field("redis").unwrap();
        assert!(
            redis.contains("FIELDS:") && redis.contains("maxmemory"),
            "{redis}"
        );
        let rate = explain_field("loadTest.phases.rate").unwrap();
        assert!(
            rate.starts_with("FIELD:    loadTest.phases.*.rate"),
            "{rate}"
        );
    }

    #[test]
    fn first_sentences_keep_abbreviations() {
        assert_eq!(
            first_sentence("In percent (e.g. 99.9). More."),
            "In percent (e.g. 99.9)."
        );
        assert_eq!(first_sentence("One. Two."), "One.");
    }

    #[test]
    fn unknown_fields_suggest_the_closest() {
        let e = explain_field("services.*.perPodRPS").unwrap_err();
        assert!(
            e.message.contains("unknown field `perPodRPS`"),
            "{}",
            e.message
        );
        assert!(
            e.help.iter().any(|h| h.contains("services.*.perPodRps")),
            "{:?}",
            e.help
        );
        assert!(explain_field("slo..targetRps").is_err());
    }

    #[test]
    fn every_field_path_explains() {
        let paths = field_paths();
        assert!(paths.len() > 100, "{}", paths.len());
        for p in paths {
            let text = explain_field(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
            assert!(!text.contains("(no description)"), "{p}: {text}");
        }
    }
}
