//! **diff**: what a build would change in `out/<env>/`, without writing anything.
//!
//! The compiled files are compared with the committed tree byte for byte first, so the common
//! case (nothing changed) parses nothing beyond the compilation itself. Files that differ are
//! compared object by object, keyed like `kubectl apply` and Argo CD key live objects: API
//! group, kind, namespace and name. The version is left out of the key on purpose, so moving a
//! resource to a newer apiVersion shows as one changed object instead of a removal plus an
//! addition. Non-Kubernetes files (redis/*.conf, kustomization.yaml) are compared as text.
//! Any byte difference is reported somewhere: bytes that belong to no changed object (the
//! header line, comments between documents, an object moved to another file) surface as a
//! change of the whole file, so a clean diff means `build` would leave the tree untouched.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use similar::{Algorithm, ChangeTag, DiffOp, TextDiff};

use crate::emit;
use crate::error::{Error, Result};
use crate::render::OutputFile;
use crate::verify::{self, ObjectId, split_documents};

/// What happened to an object or file, seen from the committed tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Removed,
    Changed,
}

impl Change {
    fn sign(self) -> char {
        match self {
            Change::Added => '+',
            Change::Removed => '-',
            Change::Changed => '~',
        }
    }
}

/// One side of an entry: where its text is and the text itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    /// Path relative to `out/<env>/`.
    pub file: String,
    /// 1-based line of the first line of `text` in `file`.
    pub line: usize,
    pub text: String,
}

/// One added, removed or changed object or file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub change: Change,
    /// The object, or `None` when the entry is a whole file.
    pub object: Option<ObjectId>,
    /// The committed side (`None` when added).
    pub old: Option<Side>,
    /// The built side (`None` when removed).
    pub new: Option<Side>,
    /// Changed field paths of an object (`spec.replicas`); empty for files and for objects
    /// whose text differs only in formatting or comments.
    pub fields: Vec<String>,
    /// Why a file is compared as text although it holds objects.
    pub note: Option<String>,
}

impl Entry {
    /// The file the entry is about: the built one, else the committed one.
    pub fn file(&self) -> &str {
        let side = self.new.as_ref().or(self.old.as_ref());
        side.map_or("", |s| s.file.as_str())
    }

    fn sort_key(&self) -> (&str, usize) {
        let side = self.new.as_ref().or(self.old.as_ref());
        (self.file(), side.map_or(0, |s| s.line))
    }
}

/// The comparison of one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvDiff {
    /// The spec compiled, or `None` for an output directory that no spec builds any more.
    pub spec: Option<PathBuf>,
    pub environment: String,
    /// The compared directory, `out/<env>`.
    pub dir: PathBuf,
    /// Sorted by file, then by position in the file.
    pub entries: Vec<Entry>,
    /// Files in `dir` without the generated-file header: never compared, never removed.
    pub unmanaged: Vec<String>,
    /// `dir` does not exist (yet): everything is added.
    pub missing: bool,
    /// Files of `dir` before the comparison (for `a/` and `/dev/null` diff headers).
    committed: BTreeSet<String>,
    built: BTreeSet<String>,
}

impl EnvDiff {
    pub fn is_clean(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A Kubernetes document on one side of the comparison.
struct Obj {
    id: ObjectId,
    value: Value,
    side: Side,
}

/// Identity used for matching: API group (not version), kind, namespace, name.
type Key = (String, String, String, String);

fn key(id: &ObjectId) -> Key {
    let group = id.api_version.rsplit_once('/').map_or("", |(g, _)| g);
    (
        group.to_string(),
        id.kind.clone(),
        id.namespace.clone(),
        id.name.clone(),
    )
}

/// Output directories under `out` that hold generated files but belong to none of
/// `environments` (every environment the specs build): their spec was deleted or renamed, and
/// Argo CD would go on deploying them. Everything generated in them shows as removed.
pub fn orphans(out: &Path, environments: &BTreeSet<String>) -> Result<Vec<EnvDiff>> {
    let entries = match std::fs::read_dir(out) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", out, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", out, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Hidden entries are emit's lock files and temporary trees.
        if entry.path().is_dir() && !name.starts_with('.') && !environments.contains(&name) {
            names.push(name);
        }
    }
    names.sort();
    let mut diffs = Vec::new();
    for name in names {
        let d = compare(None, &name, &[], &out.join(&name))?;
        if !d.is_clean() {
            diffs.push(d);
        }
    }
    Ok(diffs)
}

/// Compares the built `files` with the tree under `dir`. Only files whose bytes differ are
/// parsed, on both sides, so checking an up-to-date `out/` holds no parsed documents.
pub fn compare(
    spec: Option<&Path>,
    environment: &str,
    files: &[OutputFile],
    dir: &Path,
) -> Result<EnvDiff> {
    let missing = !dir.exists();
    // Generated files on disk: those with the same bytes as built are compared in place
    // (`same`), the others read.
    let mut same = BTreeSet::new();
    let mut committed = BTreeMap::new();
    let mut unmanaged = Vec::new();
    for (path, found) in emit::read_tree_against(dir, files)? {
        let path = path.to_string_lossy().into_owned();
        match found {
            emit::OnDisk::Same => {
                same.insert(path);
            }
            emit::OnDisk::File(content) if emit::is_generated(&content) => {
                committed.insert(path, content);
            }
            _ => unmanaged.push(path),
        }
    }
    let committed_names: BTreeSet<String> = committed.keys().chain(&same).cloned().collect();
    let built_names: BTreeSet<String> = files.iter().map(|f| f.path.clone()).collect();

    let mut entries = Vec::new();
    let mut old_objs: Vec<Obj> = Vec::new();
    let mut new_objs: Vec<Obj> = Vec::new();
    // Files whose objects went into the pools, with their text on each side; they get a
    // whole-file entry if no object entry accounts for their difference.
    let mut pooled: Vec<(Option<String>, Option<String>, String)> = Vec::new();

    for file in files {
        if same.contains(&file.path) {
            continue;
        }
        let old = committed.remove(&file.path);
        if old.as_deref() == Some(file.content.as_bytes()) {
            continue;
        }
        let old_text = old.map(|b| String::from_utf8_lossy(&b).into_owned());
        if !file.kubernetes {
            entries.push(file_entry(
                &file.path,
                old_text,
                Some(file.content.clone()),
                None,
            ));
            continue;
        }
        let old_parsed = match &old_text {
            Some(text) => parse_objects(&file.path, text),
            None => Ok(Vec::new()),
        };
        // Verify has parsed the built side with the same parser, so this cannot fail.
        match old_parsed.and_then(|old| Ok((old, parse_objects(&file.path, &file.content)?))) {
            Ok((old, new)) => {
                old_objs.extend(old);
                new_objs.extend(new);
                pooled.push((old_text, Some(file.content.clone()), file.path.clone()));
            }
            Err(why) => entries.push(file_entry(
                &file.path,
                old_text,
                Some(file.content.clone()),
                Some(why),
            )),
        }
    }
    // Committed files that the build no longer makes.
    for (path, bytes) in committed {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        match is_yaml(&path).then(|| parse_objects(&path, &text)) {
            Some(Ok(objs)) if !objs.is_empty() => {
                old_objs.extend(objs);
                pooled.push((Some(text), None, path));
            }
            _ => entries.push(file_entry(&path, Some(text), None, None)),
        }
    }

    entries.extend(match_objects(old_objs, new_objs));
    for (old, new, path) in pooled {
        let explained = entries.iter().any(|e| {
            e.object.is_some()
                && [&e.old, &e.new]
                    .into_iter()
                    .flatten()
                    .any(|s| s.file == path)
        });
        if !explained {
            entries.push(file_entry(&path, old, new, None));
        }
    }
    entries.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Ok(EnvDiff {
        spec: spec.map(Path::to_path_buf),
        environment: environment.to_string(),
        dir: dir.to_path_buf(),
        entries,
        unmanaged,
        missing,
        committed: committed_names,
        built: built_names,
    })
}

fn is_yaml(path: &str) -> bool {
    path.ends_with(".yaml") || path.ends_with(".yml")
}

fn file_entry(path: &str, old: Option<String>, new: Option<String>, note: Option<String>) -> Entry {
    let change = match (&old, &new) {
        (None, _) => Change::Added,
        (_, None) => Change::Removed,
        _ => Change::Changed,
    };
    let side = |text: String| Side {
        file: path.to_string(),
        line: 1,
        text,
    };
    Entry {
        change,
        object: None,
        old: old.map(side),
        new: new.map(side),
        fields: Vec::new(),
        note,
    }
}

/// Parses the objects of a file; `Err` says why it cannot be compared by object.
fn parse_objects(path: &str, text: &str) -> std::result::Result<Vec<Obj>, String> {
    let mut objs = Vec::new();
    for (line, doc) in split_documents(text) {
        // The parser verify uses, so both sides read numbers alike.
        let value = verify::parse_document(doc).map_err(|e| {
            let at = e.loc.map_or(line, |l| line + l.line.max(1) as usize - 1);
            format!(
                "{path}:{at} does not parse as YAML ({}); compared as text",
                e.message
            )
        })?;
        let id = ObjectId::of(&value).ok_or_else(|| {
            format!("{path}:{line} is not a Kubernetes object (no apiVersion, kind and metadata.name); compared as text")
        })?;
        objs.push(Obj {
            id,
            value,
            side: Side {
                file: path.to_string(),
                line,
                text: doc.to_string(),
            },
        });
    }
    Ok(objs)
}

fn match_objects(old: Vec<Obj>, new: Vec<Obj>) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut olds: BTreeMap<Key, Obj> = BTreeMap::new();
    for obj in old {
        // A hand-edited file may hold an object twice; the extra copy is going away.
        if let Some(dup) = olds.insert(key(&obj.id), obj) {
            entries.push(object_entry(Change::Removed, Some(dup), None));
        }
    }
    for obj in new {
        match olds.remove(&key(&obj.id)) {
            Some(old) if old.side.text == obj.side.text => {}
            Some(old) => entries.push(object_entry(Change::Changed, Some(old), Some(obj))),
            None => entries.push(object_entry(Change::Added, None, Some(obj))),
        }
    }
    for old in olds.into_values() {
        entries.push(object_entry(Change::Removed, Some(old), None));
    }
    entries
}

fn object_entry(change: Change, old: Option<Obj>, new: Option<Obj>) -> Entry {
    let mut fields = Vec::new();
    if let (Some(o), Some(n)) = (&old, &new) {
        changed_fields(&o.value, &n.value, &mut String::new(), &mut fields);
    }
    let id = new.as_ref().or(old.as_ref()).map(|o| o.id.clone());
    Entry {
        change,
        object: id,
        old: old.map(|o| o.side),
        new: new.map(|o| o.side),
        fields,
        note: None,
    }
}

/// Paths of the leaves that differ, `spec.template.spec.containers[0].image` style; a key that
/// is not a plain identifier is quoted (`metadata.annotations["checksum/config"]`).
fn changed_fields(old: &Value, new: &Value, path: &mut String, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let len = path.len();
                push_key(path, k);
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => changed_fields(x, y, path, out),
                    _ => out.push(path.clone()),
                }
                path.truncate(len);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => changed_fields(x, y, path, out),
                    _ => out.push(path.clone()),
                }
                path.truncate(len);
            }
        }
        _ if old != new => out.push(path.clone()),
        _ => {}
    }
}

fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        let _ = write!(path, "[{}]", Value::from(key));
    }
}

// ---------------------------------------------------------------- rendering

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const REVERSE: &str = "\x1b[7m";
const RESET: &str = "\x1b[0m";

fn paint(color: bool, style: &str, text: &str) -> String {
    if color {
        format!("{style}{text}{RESET}")
    } else {
        text.to_string()
    }
}

/// What an entry is called in the summary: `Deployment tacos-app/gateway-api` or a file path.
fn title(entry: &Entry) -> String {
    match &entry.object {
        Some(id) => id.to_string(),
        None => entry.file().to_string(),
    }
}

/// The summary of every environment, then a unified diff per entry.
pub fn render_text(diffs: &[EnvDiff], color: bool) -> String {
    let mut out = String::new();
    for d in diffs {
        if d.entries.is_empty() && d.unmanaged.is_empty() {
            continue;
        }
        let changes = match d.entries.len() {
            0 => "no changes".to_string(),
            1 => "1 change".to_string(),
            n => format!("{n} changes"),
        };
        let _ = writeln!(
            out,
            "{}",
            paint(
                color,
                BOLD,
                &match &d.spec {
                    Some(spec) => format!("{}/ vs {}: {changes}", d.dir.display(), spec.display()),
                    None => format!("{}/ is built by no spec: {changes}", d.dir.display()),
                }
            )
        );
        if d.missing {
            let _ = writeln!(
                out,
                "  {}/ does not exist: everything is added",
                d.dir.display()
            );
        }
        for e in &d.entries {
            let style = match e.change {
                Change::Added => GREEN,
                Change::Removed => RED,
                Change::Changed => YELLOW,
            };
            let line = format!("{} {}", e.change.sign(), title(e));
            let _ = writeln!(out, "{}", paint(color, style, &line));
        }
        for f in &d.unmanaged {
            let in_the_way = |e: &Entry| emit::in_the_way(Path::new(f), Path::new(e.file()));
            let what = if d.entries.iter().any(in_the_way) {
                "in the way of a generated file: move it away (build stops on it)"
            } else {
                "left alone"
            };
            let _ = writeln!(
                out,
                "  {}/{f}: not managed by tacosgen (no generated-file header); {what}",
                d.dir.display()
            );
        }
    }
    for d in diffs {
        for e in &d.entries {
            out.push('\n');
            render_entry(&mut out, d, e, color);
        }
    }
    out
}

fn render_entry(out: &mut String, d: &EnvDiff, e: &Entry, color: bool) {
    let dir = d.dir.display();
    let label = |side: &Option<Side>, prefix: &str, exists: &BTreeSet<String>| match side {
        Some(s) => format!("{prefix}/{dir}/{}", s.file),
        None if exists.contains(e.file()) => format!("{prefix}/{dir}/{}", e.file()),
        None => "/dev/null".to_string(),
    };
    let old_label = label(&e.old, "a", &d.committed);
    let new_label = label(&e.new, "b", &d.built);
    let _ = writeln!(out, "{}", paint(color, BOLD, &format!("--- {old_label}")));
    let _ = writeln!(out, "{}", paint(color, BOLD, &format!("+++ {new_label}")));
    if let Some(note) = &e.note {
        let _ = writeln!(out, "# {note}");
    }
    let old = e.old.as_ref().map_or("", |s| s.text.as_str());
    let new = e.new.as_ref().map_or("", |s| s.text.as_str());
    // Hunk line numbers are lines of the file, not of the object's text.
    let old_base = e.old.as_ref().map_or(0, |s| s.line - 1);
    let new_base = e.new.as_ref().map_or(0, |s| s.line - 1);
    let context = e
        .object
        .as_ref()
        .map(|id| format!(" {id}"))
        .unwrap_or_default();
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .diff_lines(old, new);
    for group in diff.grouped_ops(3) {
        let (first, last) = (&group[0], &group[group.len() - 1]);
        let range = |start: usize, end: usize, base: usize| {
            let len = end - start;
            let at = if len == 0 {
                base + start
            } else {
                base + start + 1
            };
            format!("{at},{len}")
        };
        let header = format!(
            "@@ -{} +{} @@",
            range(first.old_range().start, last.old_range().end, old_base),
            range(first.new_range().start, last.new_range().end, new_base),
        );
        let _ = writeln!(out, "{}{context}", paint(color, CYAN, &header));
        for op in &group {
            render_op(out, &diff, op, color);
        }
    }
}

fn render_op<'a>(out: &mut String, diff: &'a TextDiff<'a, 'a, 'a, str>, op: &DiffOp, color: bool) {
    for change in diff.iter_inline_changes(op) {
        let (sign, style) = match change.tag() {
            ChangeTag::Equal => (' ', ""),
            ChangeTag::Delete => ('-', RED),
            ChangeTag::Insert => ('+', GREEN),
        };
        let mut line = String::new();
        for (emphasized, text) in change.iter_strings_lossy() {
            let text = text.trim_end_matches('\n');
            if color && emphasized {
                let _ = write!(line, "{REVERSE}{text}{RESET}{style}");
            } else {
                line.push_str(text);
            }
        }
        if color && !style.is_empty() {
            let _ = writeln!(out, "{style}{sign}{line}{RESET}");
        } else {
            let _ = writeln!(out, "{sign}{line}");
        }
        if change.missing_newline() {
            let _ = writeln!(out, "\\ No newline at end of file");
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonChange<'a> {
    environment: &'a str,
    change: Change,
    api_version: Option<&'a str>,
    kind: Option<&'a str>,
    namespace: Option<&'a str>,
    name: Option<&'a str>,
    /// `out/<env>/<file>`.
    file: String,
    fields: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    changes: Vec<JsonChange<'a>>,
    not_managed: Vec<String>,
}

/// `{"changes": [...], "notManaged": [...]}`; objects carry their changed field paths, files
/// have `kind: null`.
pub fn render_json(diffs: &[EnvDiff]) -> String {
    let mut report = JsonReport {
        changes: Vec::new(),
        not_managed: Vec::new(),
    };
    for d in diffs {
        for e in &d.entries {
            let id = e.object.as_ref();
            report.changes.push(JsonChange {
                environment: &d.environment,
                change: e.change,
                api_version: id.map(|i| i.api_version.as_str()),
                kind: id.map(|i| i.kind.as_str()),
                namespace: id.map(|i| i.namespace.as_str()).filter(|n| !n.is_empty()),
                name: id.map(|i| i.name.as_str()),
                file: d.dir.join(e.file()).display().to_string(),
                fields: &e.fields,
            });
        }
        for f in &d.unmanaged {
            report.not_managed.push(d.dir.join(f).display().to_string());
        }
    }
    let mut text = serde_json::to_string_pretty(&report).expect("plain data serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const H: &str = "# Generated by tacosgen from environments/x.yaml.\n";

    fn k8s(path: &str, body: &str) -> OutputFile {
        OutputFile {
            path: path.into(),
            content: format!("{H}{body}"),
            kubernetes: true,
        }
    }

    fn run(dir: &Path, built: Vec<OutputFile>) -> EnvDiff {
        compare(Some(Path::new("environments/x.yaml")), "x", &built, dir).unwrap()
    }

    const DEPLOY: &str = "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: ns\nspec:\n  replicas: 2\n";

    #[test]
    fn identical_bytes_are_not_parsed() {
        let tmp = tempfile::tempdir().unwrap();
        // Not YAML at all: parsing it would fail, so a clean result proves it was skipped.
        let broken = format!("{H}: [ {{\n");
        std::fs::write(tmp.path().join("a.yaml"), &broken).unwrap();
        let file = OutputFile {
            path: "a.yaml".into(),
            content: broken,
            kubernetes: true,
        };
        assert!(run(tmp.path(), vec![file]).is_clean());
    }

    #[test]
    fn unparsable_committed_file_is_compared_as_text() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("a.yaml"), format!("{H}: [ {{\n")).unwrap();
        let d = run(tmp.path(), vec![k8s("a.yaml", DEPLOY)]);
        assert_eq!(d.entries.len(), 1);
        assert_eq!(d.entries[0].object, None);
        assert_eq!(d.entries[0].change, Change::Changed);
        assert!(d.entries[0].note.as_ref().unwrap().contains("a.yaml:2"));
    }

    #[test]
    fn header_only_change_is_a_file_change() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("a.yaml"),
            format!("# Generated by tacosgen from environments/old.yaml.\n{DEPLOY}"),
        )
        .unwrap();
        let d = run(tmp.path(), vec![k8s("a.yaml", DEPLOY)]);
        assert_eq!(d.entries.len(), 1, "{d:?}");
        assert_eq!(
            (d.entries[0].change, d.entries[0].file()),
            (Change::Changed, "a.yaml")
        );
        assert_eq!(d.entries[0].object, None);
    }

    #[test]
    fn version_bump_is_one_changed_object_and_objects_moving_files_are_matched() {
        let tmp = tempfile::tempdir().unwrap();
        let old = DEPLOY.replace("apps/v1", "apps/v1beta2");
        std::fs::write(tmp.path().join("old.yaml"), format!("{H}{old}")).unwrap();
        let d = run(tmp.path(), vec![k8s("new.yaml", DEPLOY)]);
        assert_eq!(d.entries.len(), 1, "{d:?}");
        let e = &d.entries[0];
        assert_eq!(e.change, Change::Changed);
        assert_eq!(e.fields, ["apiVersion"]);
        assert_eq!(
            (e.old.as_ref().unwrap().file.as_str(), e.file()),
            ("old.yaml", "new.yaml")
        );
    }

    #[test]
    fn unmanaged_files_are_listed_not_removed() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("NOTES.md"), "mine\n").unwrap();
        let d = run(tmp.path(), vec![]);
        assert!(d.is_clean());
        assert_eq!(d.unmanaged, ["NOTES.md"]);
    }

    #[test]
    fn field_paths() {
        let old = json!({"metadata": {"annotations": {"checksum/config": "a"}},
                         "spec": {"replicas": 2, "c": [{"image": "x"}], "gone": 1}});
        let new = json!({"metadata": {"annotations": {"checksum/config": "b"}},
                         "spec": {"replicas": 3, "c": [{"image": "y"}, {"image": "z"}], "new": 1}});
        let mut out = Vec::new();
        changed_fields(&old, &new, &mut String::new(), &mut out);
        assert_eq!(
            out,
            [
                r#"metadata.annotations["checksum/config"]"#,
                "spec.c[0].image",
                "spec.c[1]",
                "spec.gone",
                "spec.new",
                "spec.replicas",
            ]
        );
    }

    #[test]
    fn hunk_lines_are_file_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let old = DEPLOY.replace("replicas: 2", "replicas: 1");
        std::fs::write(tmp.path().join("a.yaml"), format!("{H}{old}")).unwrap();
        let d = run(tmp.path(), vec![k8s("a.yaml", DEPLOY)]);
        let text = render_text(&[d], false);
        // `replicas` is line 9 of the file (header, `---`, then 7 lines).
        assert!(
            text.contains("@@ -6,4 +6,4 @@ Deployment ns/api\n"),
            "{text}"
        );
        assert!(
            text.contains("\n-  replicas: 1\n+  replicas: 2\n"),
            "{text}"
        );
    }
}
