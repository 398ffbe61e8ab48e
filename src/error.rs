//! Errors and how they are shown.
//!
//! Every error knows its exit code (see [`ExitCode`]) and, when it is about user input, where
//! in which file it happened, so the CLI can print a rustc-style snippet with a caret.

use std::fmt;
use std::path::PathBuf;

use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

/// The exit codes, the same for every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything worked and (for `diff`/`check`) nothing differs.
    Success = 0,
    /// The spec is well-formed but its plan has errors, or `diff`/`check` found differences.
    Findings = 1,
    /// Invalid input, a usage error or an I/O failure.
    Invalid = 2,
}

/// A place in a source file. Lines and columns are 1-based; column counts characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loc {
    pub file: FileId,
    pub line: u32,
    pub col: u32,
}

/// Index of a file in [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// The text of every file read for one compilation, kept so errors can quote it.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: Vec<(PathBuf, String)>,
}

impl Sources {
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        self.files.push((path, text));
        FileId(self.files.len() as u32 - 1)
    }
    pub fn path(&self, id: FileId) -> &std::path::Path {
        &self.files[id.0 as usize].0
    }
    pub fn text(&self, id: FileId) -> &str {
        &self.files[id.0 as usize].1
    }
    /// The path of `id`, if this set has it.
    pub fn file(&self, id: FileId) -> Option<&std::path::Path> {
        self.get(id).map(|(p, _)| p.as_path())
    }
    fn get(&self, id: FileId) -> Option<&(PathBuf, String)> {
        self.files.get(id.0 as usize)
    }
}

/// One error about user input or the environment.
#[derive(Debug, Clone)]
pub struct Error {
    pub message: String,
    /// The spec field (dotted path) the error is about, if any.
    pub path: Option<String>,
    pub loc: Option<Loc>,
    /// Label shown under the caret.
    pub label: Option<String>,
    /// Further explanation ("allowed: ...", "did you mean ...").
    pub help: Vec<String>,
    pub exit: ExitCode,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Invalid input, usage or I/O (exit 2).
    pub fn invalid(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            path: None,
            loc: None,
            label: None,
            help: Vec::new(),
            exit: ExitCode::Invalid,
        }
    }
    pub fn io(action: &str, path: &std::path::Path, err: std::io::Error) -> Self {
        Error::invalid(format!("cannot {action} {}: {err}", path.display())).with_file(path)
    }
    pub fn at(mut self, loc: Option<Loc>) -> Self {
        self.loc = loc;
        self
    }
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help.push(help.into());
        self
    }
    /// Names the file an error without a line is about (I/O errors, whole-file limits).
    pub fn with_file(mut self, file: &std::path::Path) -> Self {
        self.help.push(format!("file: {}", file.display()));
        self
    }

    /// Renders the error for a terminal: title, `--> file:line:col`, the offending line with a
    /// caret, then help lines. Without a location, just the title and help.
    pub fn render(&self, sources: &Sources, color: bool) -> String {
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let title = match &self.path {
            Some(p) if !self.message.starts_with(p.as_str()) => format!("{p}: {}", self.message),
            _ => self.message.clone(),
        };
        let mut group =
            annotate_snippets::Group::with_title(Level::ERROR.primary_title(title.as_str()));
        let located = self
            .loc
            .and_then(|loc| sources.get(loc.file).map(|(p, t)| (loc, p, t)));
        let path_str;
        if let Some((loc, path, text)) = located {
            path_str = path.display().to_string();
            let span = span_at(text, loc.line, loc.col);
            let label = self.label.as_deref().unwrap_or("");
            group = group.element(
                Snippet::source(text.as_str())
                    .path(path_str.as_str())
                    .annotation(AnnotationKind::Primary.span(span).label(label)),
            );
        }
        for h in &self.help {
            group = group.element(Level::HELP.message(h.as_str()));
        }
        renderer.render(&[group])
    }
}

/// Byte range of the token at 1-based `line`/`col` (col in characters): up to the end of the
/// word, or one character.
fn span_at(text: &str, line: u32, col: u32) -> std::ops::Range<usize> {
    let mut start = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line as usize {
            let char_off: usize = l
                .char_indices()
                .nth(col.saturating_sub(1) as usize)
                .map(|(b, _)| b)
                .unwrap_or(l.trim_end_matches('\n').len());
            let from = start + char_off;
            let rest = &text[from..];
            let len = rest.find(['\n', '#', ',', '}', ']']).unwrap_or(rest.len());
            let len = rest[..len].find(": ").unwrap_or(len);
            let token = rest[..len].trim_end();
            let end = from
                + token
                    .len()
                    .max(rest.chars().next().map_or(0, char::len_utf8));
            return from..end.min(text.len()).max(from);
        }
        start += l.len();
    }
    text.len()..text.len()
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{p}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Suggests the candidate closest to `word` (Levenshtein), if any is close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Deserializes `value`, and only when that fails deserializes it again to learn where:
/// tracking the path allocates a string for every key visited, which on a valid spec or
/// document cost more than the deserialization itself.
pub fn from_json<'de, T: serde::Deserialize<'de>>(
    value: &'de serde_json::Value,
) -> std::result::Result<T, serde_path_to_error::Error<serde_json::Error>> {
    T::deserialize(value).or_else(|_| serde_path_to_error::deserialize(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_keys_only() {
        assert_eq!(
            did_you_mean("perPodRPS", ["perPodRps", "image"]),
            Some("perPodRps")
        );
        assert_eq!(did_you_mean("zzz", ["perPodRps", "image"]), None);
    }

    #[test]
    fn renders_snippet_with_caret() {
        let mut s = Sources::default();
        let f = s.add("env.yaml".into(), "a: 1\nperPodRps: 0\n".into());
        let e = Error::invalid("must be greater than 0")
            .with_path("services.api.perPodRps")
            .at(Some(Loc {
                file: f,
                line: 2,
                col: 12,
            }))
            .with_label("here");
        let out = e.render(&s, false);
        assert!(out.contains("env.yaml:2:12"), "{out}");
        assert!(out.contains("perPodRps: 0"), "{out}");
        assert!(out.contains("^ here"), "{out}");
    }
}
