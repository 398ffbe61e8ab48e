//! Typed check of the PrometheusRule (`monitoring.coreos.com/v1`) for the verify stage. It
//! covers the fields our template writes, with the CRD's duration pattern and its
//! `alert`/`record` and unique-group-name rules, and rejects anything else; a test checks the
//! output against the real CRD schema in `../shared/data/`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::verify::{Problem, problem};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Object {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    #[allow(dead_code)]
    metadata: Metadata,
    spec: Spec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    #[allow(dead_code)]
    name: String,
    #[allow(dead_code)]
    namespace: String,
    #[serde(default)]
    #[allow(dead_code)]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    groups: Vec<Group>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    name: String,
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    #[serde(default)]
    alert: Option<String>,
    #[serde(default)]
    record: Option<String>,
    expr: String,
    #[serde(default, rename = "for")]
    for_: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// The CRD's duration pattern `^(0|(([0-9]+)y)?(([0-9]+)w)?...(([0-9]+)ms)?)$`: units in
/// descending order, each at most once.
fn is_prometheus_duration(s: &str) -> bool {
    if s == "0" {
        return true;
    }
    const UNITS: [&str; 7] = ["y", "w", "d", "h", "m", "s", "ms"];
    let mut rest = s;
    let mut next = 0;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        // `ms` before `m` so "5ms" is not read as minutes followed by garbage.
        let Some(i) = (next..UNITS.len())
            .filter(|&i| rest.starts_with(UNITS[i]))
            .max_by_key(|&i| UNITS[i].len())
        else {
            return false;
        };
        rest = &rest[UNITS[i].len()..];
        next = i + 1;
    }
    !s.is_empty()
}

/// Prometheus label names: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks a PrometheusRule: every problem, with its field path.
pub fn check(value: &serde_json::Value) -> Vec<Problem> {
    match crate::error::from_json(value) {
        Ok(obj) => rules(&obj),
        Err(e) => {
            let path = e.path().to_string();
            vec![problem(e.inner().to_string(), Some(path))]
        }
    }
}

/// Verify's fast path: whether the PrometheusRule read from its borrowed parse has no
/// problem. At 1,000 services it is one document of 1.3 MB, and converting it to JSON for
/// [`check`] cost as much as reading it (BENCHMARKS.md, step 40).
pub fn accepts(doc: &crate::fastyaml::Light) -> bool {
    crate::fastyaml::deserialize_strict::<Object>(doc).is_some_and(|obj| rules(&obj).is_empty())
}

/// The CRD's rules beyond the types.
fn rules(obj: &Object) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut names = BTreeSet::new();
    for (g, group) in obj.spec.groups.iter().enumerate() {
        let at = |field: &str| Some(format!("spec.groups.{g}.{field}"));
        if group.name.is_empty() || !names.insert(group.name.as_str()) {
            problems.push(problem(
                format!("group name {:?} is empty or not unique", group.name),
                at("name"),
            ));
        }
        for (r, rule) in group.rules.iter().enumerate() {
            let at = |field: &str| Some(format!("spec.groups.{g}.rules.{r}.{field}"));
            if rule.alert.is_some() == rule.record.is_some() {
                problems.push(problem(
                    "a rule has exactly one of `alert` and `record`",
                    at("alert"),
                ));
            }
            if rule.expr.trim().is_empty() {
                problems.push(problem("expr is empty", at("expr")));
            }
            if let Some(f) = &rule.for_
                && !is_prometheus_duration(f)
            {
                problems.push(problem(format!("for {f:?} is not a duration"), at("for")));
            }
            if rule.record.is_some() && (rule.for_.is_some() || !rule.annotations.is_empty()) {
                problems.push(problem(
                    "recording rules take no `for` or annotations",
                    at("record"),
                ));
            }
            for key in rule.labels.keys().chain(rule.annotations.keys()) {
                if !is_label_name(key) {
                    problems.push(problem(
                        format!("{key:?} is not a label name"),
                        at("labels"),
                    ));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule_doc(rule: serde_json::Value) -> serde_json::Value {
        json!({
            "apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "r", "namespace": "ns"},
            "spec": {"groups": [{"name": "g", "rules": [rule]}]}
        })
    }

    #[test]
    fn durations_follow_the_crd_pattern() {
        for ok in ["0", "5m", "1h30m", "90s", "100ms", "1y2w3d4h5m6s7ms"] {
            assert!(is_prometheus_duration(ok), "{ok}");
        }
        for bad in ["", "5", "m", "5m1h", "1.5m", "5mm", "-1m"] {
            assert!(!is_prometheus_duration(bad), "{bad}");
        }
    }

    #[test]
    fn rejects_unknown_fields_bad_durations_and_mixed_rules() {
        let ok = rule_doc(json!({"alert": "A", "expr": "up == 0", "for": "5m"}));
        assert!(check(&ok).is_empty());
        let typo = rule_doc(json!({"alert": "A", "expr": "up", "fro": "5m"}));
        assert!(check(&typo)[0].message.contains("unknown field `fro`"));
        let bad = rule_doc(json!({"alert": "A", "expr": "up", "for": "5 minutes"}));
        assert!(check(&bad)[0].message.contains("not a duration"));
        let both = rule_doc(json!({"alert": "A", "record": "r", "expr": "up"}));
        assert!(check(&both)[0].message.contains("exactly one"));
    }
}
