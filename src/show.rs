//! `tacosgen show`: the compiled Kubernetes objects of one spec on stdout, filtered by kind and
//! name, without writing anything (as `tk show` and `helm template` do).

use crate::error::Error;
use crate::render::OutputFile;
use crate::verify::{Document, split_documents};

/// One rendered object: its text as `build` writes it and its parsed value.
#[derive(Debug, Clone)]
pub struct Object<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub text: &'a str,
    pub value: &'a serde_json::Value,
}

/// Every Kubernetes object of the compiled files, in output order.
pub fn objects<'a>(
    header: &str,
    files: &'a [OutputFile],
    documents: &'a [Vec<Document>],
) -> Vec<Object<'a>> {
    let mut out = Vec::new();
    for (file, docs) in files.iter().zip(documents).filter(|(f, _)| f.kubernetes) {
        // Each file repeats the header; `show` prints it once.
        let body = file
            .content
            .strip_prefix(header)
            .and_then(|b| b.strip_prefix('\n'))
            .unwrap_or(&file.content);
        for ((_, text), doc) in split_documents(body).into_iter().zip(docs) {
            let str_at = |p: &str| doc.value.pointer(p).and_then(|v| v.as_str()).unwrap_or("");
            out.push(Object {
                kind: str_at("/kind"),
                name: str_at("/metadata/name"),
                text,
                value: &doc.value,
            });
        }
    }
    out
}

/// Keeps the objects of `kind` (case-insensitive) and `name` (exact). Matching nothing is an
/// error listing what there is, so a typo is not mistaken for an empty result.
pub fn filter<'a>(
    objects: Vec<Object<'a>>,
    kind: Option<&str>,
    name: Option<&str>,
) -> Result<Vec<Object<'a>>, Error> {
    let kind = kind.map(expand_kind);
    let kind = kind.as_deref();
    let kept: Vec<Object> = objects
        .iter()
        .filter(|o| kind.is_none_or(|k| o.kind.eq_ignore_ascii_case(k)))
        .filter(|o| name.is_none_or(|n| o.name == n))
        .cloned()
        .collect();
    if !kept.is_empty() {
        return Ok(kept);
    }
    let mut kinds: Vec<&str> = objects.iter().map(|o| o.kind).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let of_kind: Vec<&str> = objects
        .iter()
        .filter(|o| kind.is_none_or(|k| o.kind.eq_ignore_ascii_case(k)))
        .map(|o| o.name)
        .collect();
    let what = match (kind, name) {
        (Some(k), Some(n)) => format!("no {k} named {n:?}"),
        (Some(k), None) => format!("no object of kind {k:?}"),
        (None, Some(n)) => format!("no object named {n:?}"),
        (None, None) => "no objects".into(),
    };
    let mut e = Error::invalid(what);
    if of_kind.is_empty() {
        if let Some(k) = kind
            && let Some(s) = crate::error::did_you_mean(k, kinds.iter().copied())
        {
            e = e.with_help(format!("did you mean --kind {s}?"));
        }
        e = e.with_help(format!("kinds: {}", kinds.join(", ")));
    } else {
        let mut names = of_kind.clone();
        names.sort_unstable();
        names.dedup();
        if let Some(n) = name
            && let Some(s) = crate::error::did_you_mean(n, names.iter().copied())
        {
            e = e.with_help(format!("did you mean --name {s}?"));
        }
        e = e.with_help(format!("names: {}", names.join(", ")));
    }
    Err(e)
}

/// kubectl's short names for the kinds tacosgen renders (`hpa` → HorizontalPodAutoscaler).
fn expand_kind(kind: &str) -> String {
    const SHORT: &[(&str, &str)] = &[
        ("cm", "ConfigMap"),
        ("deploy", "Deployment"),
        ("hpa", "HorizontalPodAutoscaler"),
        ("netpol", "NetworkPolicy"),
        ("ns", "Namespace"),
        ("pdb", "PodDisruptionBudget"),
        ("sa", "ServiceAccount"),
        ("sts", "StatefulSet"),
        ("svc", "Service"),
    ];
    SHORT
        .iter()
        .find(|(short, _)| short.eq_ignore_ascii_case(kind))
        .map_or_else(|| kind.to_string(), |(_, long)| long.to_string())
}

/// The objects as a YAML stream: the header once, then each document after `---`.
pub fn yaml(header: &str, objects: &[Object]) -> String {
    let mut out = format!("{header}\n");
    for o in objects {
        out.push_str("---\n");
        out.push_str(o.text);
        if !o.text.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// The objects as one Kubernetes `List` (what `kubectl get -o json` prints for several).
pub fn json(objects: &[Object]) -> String {
    let list = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": objects.iter().map(|o| o.value).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&list).expect("JSON values serialize");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> (Vec<OutputFile>, Vec<Vec<Document>>) {
        let content = "# h\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n";
        let docs = ["Service", "Deployment"]
            .iter()
            .map(|k| Document {
                line: 1,
                value: serde_json::json!({"kind": k, "metadata": {"name": "a"}}),
            })
            .collect();
        let f = OutputFile {
            path: "x.yaml".into(),
            content: content.into(),
            kubernetes: true,
        };
        (vec![f], vec![docs])
    }

    #[test]
    fn filters_by_kind_case_insensitively_and_name_exactly() {
        let (f, d) = files();
        let all = objects("# h", &f, &d);
        assert_eq!(all.len(), 2);
        let deps = filter(all.clone(), Some("deployment"), Some("a")).unwrap();
        assert_eq!(deps.len(), 1);
        assert!(deps[0].text.contains("kind: Deployment"));
        assert!(yaml("# h", &deps).starts_with("# h\n---\napiVersion: apps/v1"));
        let e = filter(all.clone(), Some("Deploymnt"), None).unwrap_err();
        assert!(
            e.help
                .iter()
                .any(|h| h.contains("did you mean --kind Deployment")),
            "{e:?}"
        );
        assert_eq!(filter(all.clone(), Some("deploy"), None).unwrap().len(), 1);
        let e = filter(all, Some("Service"), Some("b")).unwrap_err();
        assert!(e.help.iter().any(|h| h == "names: a"), "{e:?}");
    }
}
