//! Stage 2, **validate**: the loaded tree against the JSON Schema and the typed structs.
//!
//! The schema is derived from [`crate::spec`] by schemars, so the committed
//! `schemas/tacosgen.schema.json`, editor completion and this check never disagree. Typed
//! deserialization runs first because its messages are the most specific (`512MB is not a
//! Kubernetes unit`); the schema then reports every remaining violation (ranges, patterns) at
//! once. Every error carries the field path and the file:line:column that set the value.

use std::sync::OnceLock;

use schemars::{Schema, SchemaGenerator, json_schema};
use serde::Deserialize;

use crate::error::{Error, Loc, Result, did_you_mean};
use crate::image::ImageRef;
use crate::load::{Loaded, Node, Value};
use crate::schema::Doc;
use crate::spec::Spec;

/// The JSON Schema of a spec, as committed in `schemas/tacosgen.schema.json`.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Spec);
    let mut text = serde_json::to_string_pretty(&schema).expect("schema serializes");
    text.push('\n');
    text
}

/// `serviceDefaults` takes any field of a service, none required.
pub fn service_defaults_schema(generator: &mut SchemaGenerator) -> Schema {
    let service = generator.subschema_for::<crate::spec::Service>();
    json_schema!({
        "description": "Fields merged under every entry of `services` (the entry wins): any field of a service, none required.",
        "allOf": [service],
        "$comment": "required fields of a service are checked after the merge"
    })
}

fn schema() -> &'static crate::schema::Schema {
    static S: OnceLock<crate::schema::Schema> = OnceLock::new();
    // The committed schema (a test keeps it equal to `schema_json()`), compiled by build.rs
    // without its documentation and with serviceDefaults open.
    S.get_or_init(|| include!(concat!(env!("OUT_DIR"), "/schema.rs")).into())
}

/// Validates the loaded tree and returns the typed spec.
///
/// The tree is read in place (typed structs and schema alike); only when either finds
/// something wrong is it copied into JSON, whose readers name the field path of every
/// problem. Copying every spec cost a large one ~30 M instructions on one core before
/// anything else could start (BENCHMARKS.md, step 42).
pub fn validate(loaded: &Loaded) -> Result<Spec, Vec<Error>> {
    let tree = &loaded.tree;
    let services = tree
        .get("services")
        .and_then(|s| s.entries())
        .map_or(0, |s| s.len());
    // The two checks are independent: for large specs the schema runs on the second core.
    let parallel = crate::par::threads_for(services, crate::par::MIN_SERVICES) > 1;
    let (typed, accepted) = crate::par::join(
        parallel,
        || Spec::deserialize(tree),
        || schema().accepts(tree),
    );
    match typed {
        Ok(spec) if accepted => check_rest(tree, spec, Vec::new()),
        _ => validate_json(loaded, parallel),
    }
}

/// [`validate`] with every problem described, from the spec as JSON.
fn validate_json(loaded: &Loaded, parallel: bool) -> Result<Spec, Vec<Error>> {
    let json = loaded.tree.to_json();
    let (typed, violations) = crate::par::join(
        parallel,
        || crate::error::from_json::<Spec>(&json),
        || schema().violations(&json),
    );
    let spec = match typed {
        Ok(spec) => spec,
        Err(err) => return Err(vec![typed_error(&loaded.tree, err)]),
    };
    let errors = violations
        .iter()
        .map(|v| schema_error(&loaded.tree, v))
        .collect();
    check_rest(&loaded.tree, spec, errors)
}

/// The checks beyond the schema and the types, after the schema's `errors`.
fn check_rest(tree: &Node, spec: Spec, mut errors: Vec<Error>) -> Result<Spec, Vec<Error>> {
    check_names(tree, &spec, &mut errors);
    check_images(tree, &spec, &mut errors);
    check_replica_bound(tree, &spec, &mut errors);
    if errors.is_empty() {
        Ok(spec)
    } else {
        Err(errors)
    }
}

/// A DNS-1123 label: what Kubernetes accepts as a name, and safe as a file name.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The schema pattern of DNS-1123 label fields (see `spec.rs`).
const DNS_LABEL_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
const DNS_LABEL: &str = "a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";

fn check_names(tree: &Node, spec: &Spec, errors: &mut Vec<Error>) {
    let label = format!("must be {DNS_LABEL}");
    for (map, keys) in [
        ("services", spec.services.keys().collect::<Vec<_>>()),
        ("nodePools", spec.node_pools.keys().collect()),
    ] {
        for key in keys {
            if !is_dns_label(key) {
                let loc = tree.get(map).and_then(|m| m.key_loc(key));
                errors.push(
                    Error::invalid(format!("name {key:?} {label}"))
                        .with_path(format!("{map}.{key}"))
                        .at(loc),
                );
            }
        }
    }
    // Service names become object names with suffixes like `-headless`; keep room for them.
    for (name, svc) in &spec.services {
        for key in svc.env.keys() {
            let ok = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                let loc = tree.find(["services", name, "env"]).key_loc(key);
                errors.push(
                    Error::invalid(format!(
                        "environment variable name {key:?} must be letters, digits and '_', not starting with a digit"
                    ))
                    .with_path(format!("services.{name}.env.{key}"))
                    .at(loc),
                );
            }
        }
    }
    if spec.services.is_empty() {
        errors.push(
            Error::invalid("at least one service is required")
                .with_path("services")
                .at(tree.get("services").map(|n| n.loc)),
        );
    }
}

/// Image references must parse, so a truncated digest fails here rather than at pull time.
fn check_images(tree: &Node, spec: &Spec, errors: &mut Vec<Error>) {
    let images = spec
        .services
        .iter()
        .map(|(name, svc)| (vec!["services", name.as_str(), "image"], &svc.image))
        .chain(
            spec.redis
                .iter()
                .map(|r| (vec!["redis", "image"], &r.image)),
        );
    for (path, image) in images {
        if let Err(why) = ImageRef::parse(image) {
            errors.push(
                Error::invalid(format!("invalid image reference {image:?}: {why}"))
                    .with_path(path.join("."))
                    .at(Some(tree.find(path.iter().copied()).loc))
                    .with_label("here")
                    .with_help(format!("allowed: {}", crate::image::FORMAT)),
            );
        }
    }
}

/// Kubernetes counts replicas in 32 bits. A service never gets more than the SLO target
/// (traffic splits, it never multiplies), so `target ÷ perPodRps × (1 + headroom)` bounds every
/// replica count the planner can derive; refuse specs beyond it here, located, instead of
/// rendering numbers the API server rejects.
fn check_replica_bound(tree: &Node, spec: &Spec, errors: &mut Vec<Error>) {
    let limit = f64::from(i32::MAX);
    let factor = 1.0 + spec.capacity.headroom_percent / 100.0;
    for (name, svc) in &spec.services {
        let pods = (spec.slo.target_rps / svc.per_pod_rps).ceil() * factor;
        if pods.is_finite() && pods <= limit {
            continue;
        }
        let path = ["services", name.as_str(), "perPodRps"];
        errors.push(
            Error::invalid(format!(
                "slo.targetRps {} ÷ perPodRps {} with {}% headroom needs up to {pods:.3e} pods; Kubernetes allows at most {} replicas",
                short(spec.slo.target_rps),
                short(svc.per_pod_rps),
                short(spec.capacity.headroom_percent),
                i32::MAX
            ))
            .with_path(path.join("."))
            .at(Some(tree.find(path).loc))
            .with_label("here"),
        );
    }
}

/// A number as written when it is short, else in scientific notation (`1e308`, not 309 digits).
fn short(x: f64) -> String {
    let plain = x.to_string();
    if plain.len() <= 16 {
        plain
    } else {
        format!("{x:e}")
    }
}

fn dotted(segments: &[String]) -> String {
    if segments.is_empty() {
        "(top level)".into()
    } else {
        segments.join(".")
    }
}

fn locate(tree: &Node, segments: &[String]) -> Loc {
    tree.find(segments.iter().map(String::as_str)).loc
}

fn schema_error(tree: &Node, v: &crate::schema::Violation) -> Error {
    use crate::schema::Kind;
    let path = dotted(&v.path);
    let mut err = Error::invalid(v.message.clone()).with_path(&path);
    let mut loc = locate(tree, &v.path);
    match &v.kind {
        Kind::UnexpectedKey(key) => {
            loc = tree
                .find(v.path.iter().map(String::as_str))
                .key_loc(key)
                .unwrap_or(loc);
        }
        Kind::Pattern(pattern) if pattern == DNS_LABEL_PATTERN => {
            err = err.with_help(format!("allowed: {DNS_LABEL}"));
        }
        Kind::Enum(options) => {
            let allowed: Vec<String> = options.iter().map(|v| v.to_string()).collect();
            err = err.with_help(format!("allowed: {}", allowed.join(", ")));
        }
        _ => {}
    }
    err.at(Some(loc)).with_label("here")
}

/// serde names Rust types ("expected u32"); say what the user may write instead.
fn humanize(message: &str) -> String {
    [
        ("expected u16", "expected a whole number from 0 to 65535"),
        (
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        ),
        ("expected u64", "expected a whole number of at least 0"),
        ("expected f64", "expected a number"),
    ]
    .iter()
    .fold(message.to_string(), |m, (rust, user)| m.replace(rust, user))
}

fn typed_error(tree: &Node, err: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let segments: Vec<String> = err
        .path()
        .iter()
        .map(|s| match s {
            serde_path_to_error::Segment::Seq { index } => index.to_string(),
            serde_path_to_error::Segment::Map { key } => key.clone(),
            serde_path_to_error::Segment::Enum { variant } => variant.clone(),
            serde_path_to_error::Segment::Unknown => "?".into(),
        })
        .collect();
    let inner = humanize(&err.into_inner().to_string());
    let mut error = Error::invalid(inner.clone());
    let mut loc = locate(tree, &segments);
    // serde says "unknown field `x`, expected one of `a`, `b`": point at the key, suggest.
    if let Some(rest) = inner.strip_prefix("unknown field `") {
        let (field, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let parent = &segments[..segments.len().saturating_sub(1)];
        let parent_path = if segments.last().map(String::as_str) == Some(field) {
            parent
        } else {
            &segments[..]
        };
        let node = tree.find(parent_path.iter().map(String::as_str));
        loc = node.key_loc(field).unwrap_or(loc);
        let expected: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
        error = Error::invalid(format!("unknown field `{field}`"));
        if let Some(s) = did_you_mean(field, expected.iter().copied()) {
            error = error.with_help(format!("did you mean `{s}`?"));
        }
        if !expected.is_empty() {
            error = error.with_help(format!("allowed here: {}", expected.join(", ")));
        }
        let mut full = parent_path.to_vec();
        full.push(field.to_string());
        return error
            .with_path(dotted(&full))
            .at(Some(loc))
            .with_label("unknown field");
    }
    if let Some(rest) = inner.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        error = error.with_label("in this mapping").with_help(format!(
            "add `{field}` here; schemas/tacosgen.schema.json describes it"
        ));
    } else if inner.contains("WhenUnderutilized") {
        error = error.with_help(
            "`WhenUnderutilized` is the karpenter.sh/v1beta1 spelling; karpenter.sh/v1 renamed it \
             `WhenEmptyOrUnderutilized`, and v1beta1 rejected it together with consolidateAfter",
        );
    } else {
        error = error.with_label("here");
    }
    if let Value::Null = tree.find(segments.iter().map(String::as_str)).value
        && inner.starts_with("invalid type: null")
    {
        error = error.with_help("the value is empty; write one after the colon or remove the key");
    }
    error.with_path(dotted(&segments)).at(Some(loc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("gateway-api"));
        assert!(!is_dns_label("Gateway"));
        assert!(!is_dns_label("-x"));
        assert!(!is_dns_label("../etc"));
        assert!(!is_dns_label(&"a".repeat(64)));
    }

    /// The schema build.rs compiled into the binary is what compiling its JSON at run time
    /// gives, check for check.
    #[test]
    fn built_in_schema_is_the_compiled_json() {
        let json = serde_json::from_str(include_str!(concat!(env!("OUT_DIR"), "/schema.json")))
            .expect("build.rs writes JSON");
        let at_run_time = crate::schema::compiler::compile(&json).expect("the schema compiles");
        let built_in: crate::schema::compiler::Compiled =
            include!(concat!(env!("OUT_DIR"), "/schema.rs"));
        assert!(at_run_time.nodes.len() > 100);
        assert_eq!(built_in, at_run_time);
    }
}
