//! Typed check of the PrometheusRule (`monitoring.coreos.com/v1`) for the verify stage. It
//! covers the fields our template writes, with the CRD's duration pattern and its
//! `alert`/`record` and unique-group-name rules, and rejects anything else; a test checks the
//! output against the real CRD schema in `../shared/data/`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use crate::verify::{Problem, problem};

// The rules' strings are borrowed from the parsed document, and their label maps checked as
// they are read, not kept: at 1,000 services the object is one document of 1.3 MB with
// ~3,000 rules, and owning every string and map of it cost ~18 M instructions and ~900 page
// faults (BENCHMARKS.md, step 53).

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Object<'a> {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    #[allow(dead_code)]
    metadata: Metadata,
    #[serde(borrow)]
    spec: Spec<'a>,
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
struct Spec<'a> {
    #[serde(borrow)]
    groups: Vec<Group<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Group<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    rules: Vec<Rule<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule<'a> {
    #[serde(default, borrow)]
    alert: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    record: Option<Cow<'a, str>>,
    #[serde(borrow)]
    expr: Cow<'a, str>,
    #[serde(default, rename = "for", borrow)]
    for_: Option<Cow<'a, str>>,
    #[serde(default)]
    labels: Labels,
    #[serde(default)]
    annotations: Labels,
}

/// A map of strings to strings, checked as it is read: how many entries it had, and its
/// keys that are not label names (sorted, as a `BTreeMap`'s keys would be).
#[derive(Default)]
struct Labels {
    len: usize,
    not_label_names: Vec<String>,
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Labels;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Labels, A::Error> {
                let mut labels = Labels::default();
                while let Some(Name(name)) = map.next_key()? {
                    map.next_value::<Text>()?;
                    labels.len += 1;
                    labels.not_label_names.extend(name);
                }
                labels.not_label_names.sort();
                Ok(labels)
            }
        }
        d.deserialize_map(Entries)
    }
}

/// A string key: `None` if it is a label name, else the key.
struct Name(Option<String>);

/// Any string, not kept.
struct Text;

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Key;
        impl Visitor<'_> for Key {
            type Value = Name;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, s: &str) -> Result<Name, E> {
                Ok(Name((!is_label_name(s)).then(|| s.to_owned())))
            }
        }
        d.deserialize_str(Key)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Any;
        impl Visitor<'_> for Any {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, _: &str) -> Result<Text, E> {
                Ok(Text)
            }
        }
        d.deserialize_str(Any)
    }
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
        if group.name.is_empty() || !names.insert(group.name.as_ref()) {
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
            if rule.record.is_some() && (rule.for_.is_some() || rule.annotations.len > 0) {
                problems.push(problem(
                    "recording rules take no `for` or annotations",
                    at("record"),
                ));
            }
            let labels = &rule.labels.not_label_names;
            for key in labels.iter().chain(&rule.annotations.not_label_names) {
                problems.push(problem(
                    format!("{key:?} is not a label name"),
                    at("labels"),
                ));
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
    fn label_maps_are_checked_as_they_are_read() {
        let messages = |rule| -> Vec<String> {
            check(&rule_doc(rule))
                .into_iter()
                .map(|p| p.message)
                .collect()
        };
        let names = json!({"alert": "A", "expr": "up",
            "labels": {"ok": "1", "z-z": "2", "a b": "3"}, "annotations": {"c.d": "4"}});
        assert_eq!(
            messages(names),
            [
                "\"a b\" is not a label name",
                "\"z-z\" is not a label name",
                "\"c.d\" is not a label name"
            ]
        );
        let number = json!({"alert": "A", "expr": "up", "labels": {"severity": 1}});
        assert!(messages(number)[0].contains("invalid type: integer `1`, expected a string"));
        let record = json!({"record": "r", "expr": "up", "annotations": {"summary": "s"}});
        assert!(messages(record)[0].contains("recording rules take no"));
        let fine = json!({"record": "r", "expr": "up", "labels": {"team": "a"}});
        assert!(messages(fine).is_empty());

        // The same through verify's borrowed parse.
        let yaml = |labels: &str| {
            format!(
                "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: r\n  namespace: ns\nspec:\n  groups:\n    - name: g\n      rules:\n        - alert: A\n          expr: \"up{{job=\\\"x\\\"}} == 0\"\n          labels: {labels}\n"
            )
        };
        let accepted = |text: &str| accepts(&crate::fastyaml::parse_light(text).unwrap());
        assert!(accepted(&yaml("{severity: page}")));
        assert!(!accepted(&yaml("{bad-name: page}")));
        assert!(!accepted(&yaml("{severity: 1}")));
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
