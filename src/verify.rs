//! Stage 5, **verify**: every rendered Kubernetes document is parsed back and checked before
//! anything is written.
//!
//! Built-in kinds are deserialized into the `k8s-openapi` types (Kubernetes 1.33) while
//! `serde_ignored` records every field the type does not know, so a template typo such as
//! `replcas:` fails the build with the file, line and field path instead of being silently
//! dropped by the API server. Names and namespaces are checked too, and no two documents may
//! describe the same object.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use crate::error::{Error, FileId, Result};
use crate::load::{self, Node};
use crate::render::OutputFile;
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
        let s = |p: &str| value.pointer(p).and_then(|v| v.as_str()).map(String::from);
        Some(ObjectId {
            api_version: s("/apiVersion")?,
            kind: s("/kind")?,
            namespace: s("/metadata/namespace").unwrap_or_default(),
            name: s("/metadata/name")?,
        })
    }
}

/// Splits a YAML stream at `---` lines; returns each document's text and first line.
/// Documents with only comments or blank lines are skipped, as Argo CD and kubectl do.
pub fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end();
        if bare == "---" || bare.starts_with("--- ") {
            docs.push((start_line, &text[start..offset]));
            start = offset + line.len();
            start_line = i + 2;
        }
        offset += line.len();
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

/// Checks every Kubernetes file; returns the parsed documents per file (for diff and
/// generate), in file order.
pub fn verify(files: &[OutputFile], namespace: &str) -> Result<Vec<Vec<Document>>, Vec<Error>> {
    let mut errors = Vec::new();
    let mut seen: BTreeMap<ObjectId, String> = BTreeMap::new();
    let mut parsed = Vec::with_capacity(files.len());
    for file in files {
        let mut docs = Vec::new();
        if !file.kubernetes {
            parsed.push(docs);
            continue;
        }
        for (line, text) in split_documents(&file.content) {
            let at = |rel: u32| line + rel.max(1) as usize - 1;
            let node = match parse_located(text) {
                Ok(n) => n,
                Err(e) => {
                    let l = e.loc.map_or(line, |l| at(l.line));
                    errors.push(located(
                        file,
                        l,
                        format!("rendered YAML does not parse: {}", e.message),
                    ));
                    continue;
                }
            };
            let value = node.to_json();
            let Some(id) = ObjectId::of(&value) else {
                errors.push(located(
                    file,
                    line,
                    "document has no apiVersion, kind and metadata.name; every document must be a Kubernetes object".into(),
                ));
                continue;
            };
            for problem in check_object(&id, &value, namespace) {
                let l = problem
                    .path
                    .as_deref()
                    .map(|p| at(node.find(p.split('.')).loc.line))
                    .unwrap_or(line);
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
            if let Some(first) = seen.insert(id.clone(), file.path.clone()) {
                errors.push(located(
                    file,
                    line,
                    format!("{id} is also generated in {first}; every object must be unique"),
                ));
            }
            docs.push(Document { line, value });
        }
        parsed.push(docs);
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(errors)
    }
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

fn check_object(id: &ObjectId, value: &serde_json::Value, namespace: &str) -> Vec<Problem> {
    use k8s_openapi::api::{apps, autoscaling, core, networking, policy};
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
    let typed = match (id.api_version.as_str(), id.kind.as_str()) {
        ("v1", "Namespace") => typed::<core::v1::Namespace>(value),
        ("v1", "ServiceAccount") => typed::<core::v1::ServiceAccount>(value),
        ("v1", "ConfigMap") => typed::<core::v1::ConfigMap>(value),
        ("v1", "Service") => typed::<core::v1::Service>(value),
        ("apps/v1", "Deployment") => typed::<apps::v1::Deployment>(value),
        ("apps/v1", "StatefulSet") => typed::<apps::v1::StatefulSet>(value),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => {
            typed::<autoscaling::v2::HorizontalPodAutoscaler>(value)
        }
        ("policy/v1", "PodDisruptionBudget") => typed::<policy::v1::PodDisruptionBudget>(value),
        ("networking.k8s.io/v1", "NetworkPolicy") => typed::<networking::v1::NetworkPolicy>(value),
        ("monitoring.coreos.com/v1", "PrometheusRule") => crate::promrule::check(value),
        ("karpenter.sh/v1", "NodePool") | ("karpenter.k8s.aws/v1", "EC2NodeClass") => {
            crate::crds::check(id, value)
        }
        _ => vec![problem(
            format!(
                "tacosgen has no schema for {}/{}; it only emits kinds it can verify",
                id.api_version, id.kind
            ),
            Some("kind".into()),
        )],
    };
    problems.extend(typed);
    problems
}

/// Deserializes into `T`, reporting type errors and every field `T` does not have.
fn typed<T: DeserializeOwned>(value: &serde_json::Value) -> Vec<Problem> {
    let mut unknown = Vec::new();
    let mut record = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
    let de = serde_ignored::Deserializer::new(value, &mut record);
    let result: std::result::Result<T, _> = serde_path_to_error::deserialize(de);
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
