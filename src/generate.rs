//! `tacosgen generate`: the Argo CD Config Management Plugin command.
//!
//! Argo CD runs it in the Application's source directory (a temporary copy of the repository)
//! and applies whatever it prints. Its contract shapes everything here:
//! - stdout holds only Kubernetes objects: a document without `apiVersion`/`kind` fails the
//!   whole sync, so Redis configs, reports and kustomization.yaml are left out;
//! - empty output with `prune: true` deletes every object, so "no objects" is an error;
//! - on failure Argo CD shows stderr in its UI and caches it per revision, so the message is one
//!   short line without colour, snippets or temporary paths, and the output depends only on the
//!   repository content and the documented parameters (no clock, no network, no other env).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, ExitCode, Loc, Sources};
use crate::plan::{Finding, Severity};
use crate::render::OutputFile;
use crate::verify::split_documents;
use crate::{Compiler, Planned, Stop};

/// The plugin parameter that names the environment (`spec.parameters.static` in plugin.yaml).
pub const PARAMETER: &str = "environment";
/// Argo CD's variable for that parameter's string value.
pub const PARAM_VAR: &str = "PARAM_ENVIRONMENT";
/// Argo CD's JSON array of the explicitly set parameters.
pub const PARAMETERS_VAR: &str = "ARGOCD_APP_PARAMETERS";
/// `spec.source.plugin.env: [{name: TACOSGEN_ENV, ...}]` reaches the plugin with this prefix.
pub const ENV_VAR: &str = "ARGOCD_ENV_TACOSGEN_ENV";
/// Where environment specs live, relative to the application path.
const ENVIRONMENTS_DIR: &str = "environments";

/// The inputs Argo CD can pass, read from the process environment only through
/// [`Inputs::from_env`] so resolution stays a pure function.
#[derive(Debug, Default, Clone)]
pub struct Inputs {
    pub argument: Option<String>,
    pub param_environment: Option<String>,
    pub app_parameters: Option<String>,
    pub env_environment: Option<String>,
}

impl Inputs {
    pub fn from_env(argument: Option<String>) -> Inputs {
        let var = |name: &str| std::env::var(name).ok();
        Inputs {
            argument,
            param_environment: var(PARAM_VAR),
            app_parameters: var(PARAMETERS_VAR),
            env_environment: var(ENV_VAR),
        }
    }
}

/// One entry of `ARGOCD_APP_PARAMETERS` (`{"name": ..., "string"|"array"|"map": ...}`).
#[derive(serde::Deserialize)]
struct Parameter {
    name: String,
    string: Option<String>,
    array: Option<serde_json::Value>,
    map: Option<serde_json::Value>,
}

/// The spec file to compile. The argument is a spec path, or an environment name when it has
/// no `/` and no `.`; the other sources always give names, checked as DNS-1123 labels before
/// they become a path so an Application cannot point outside `environments/`. Empty values
/// count as unset (the Argo CD UI sends an emptied field as "").
pub fn resolve(inputs: &Inputs, dir: &Path) -> Result<PathBuf, Error> {
    let set = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(arg) = set(&inputs.argument) {
        if arg.contains('/') || arg.contains('.') {
            return Ok(PathBuf::from(arg));
        }
        return environment_spec(&arg, "the argument", dir);
    }
    if let Some(name) = set(&inputs.param_environment) {
        return environment_spec(&name, "plugin parameter `environment`", dir);
    }
    if let Some(json) = set(&inputs.app_parameters)
        && let Some(name) = parameter_from_json(&json)?
    {
        return environment_spec(&name, "plugin parameter `environment`", dir);
    }
    if let Some(name) = set(&inputs.env_environment) {
        return environment_spec(&name, "plugin env TACOSGEN_ENV", dir);
    }
    Err(Error::invalid(format!(
        "no environment given: set the Application's plugin parameter `{PARAMETER}` \
         (or plugin env TACOSGEN_ENV){}",
        available(dir)
    )))
}

fn parameter_from_json(json: &str) -> Result<Option<String>, Error> {
    let params: Vec<Parameter> = serde_json::from_str(json).map_err(|e| {
        Error::invalid(format!(
            "{PARAMETERS_VAR} is not a JSON array of parameters: {e}"
        ))
    })?;
    let Some(p) = params.into_iter().find(|p| p.name == PARAMETER) else {
        return Ok(None);
    };
    match (p.string, p.array.is_some() || p.map.is_some()) {
        (Some(s), _) => Ok(Some(s).filter(|s| !s.is_empty())),
        (None, true) => Err(Error::invalid(format!(
            "plugin parameter `{PARAMETER}` must be a string (an environment name), not an array or map"
        ))),
        (None, false) => Ok(None),
    }
}

/// `environments/<name>.yaml`, if `name` is a DNS-1123 label naming an existing environment.
fn environment_spec(name: &str, source: &str, dir: &Path) -> Result<PathBuf, Error> {
    if !is_dns1123_label(name) {
        return Err(Error::invalid(format!(
            "invalid environment {name:?} from {source}: use a DNS-1123 label \
             (lowercase letters, digits and '-', at most 63 characters){}",
            available(dir)
        )));
    }
    let path = dir.join(format!("{name}.yaml"));
    if !is_environment_file(name) {
        return Err(Error::invalid(format!(
            "{name:?} from {source} names a base spec, not an environment{}",
            available(dir)
        )));
    }
    if !path.is_file() {
        return Err(Error::invalid(format!(
            "unknown environment {name:?} from {source}: no {}{}",
            path.display(),
            available(dir)
        )));
    }
    Ok(path)
}

/// Same rule as `build --all`: files named `_*` or `base*` are bases, not environments.
fn is_environment_file(stem: &str) -> bool {
    !stem.starts_with('_') && !stem.starts_with("base")
}

pub fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    let inner = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-';
    !b.is_empty() && b.len() <= 63 && b.iter().all(inner) && b[0] != b'-' && b[b.len() - 1] != b'-'
}

/// " (environments: dev, prod)" listing `dir`'s environment specs, sorted; empty if none.
fn available(dir: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".yaml")?;
            (is_environment_file(stem) && is_dns1123_label(stem)).then(|| stem.to_owned())
        })
        .collect();
    names.sort();
    if names.is_empty() {
        format!(" (there is no {}/*.yaml here)", dir.display())
    } else {
        format!(" (environments: {})", names.join(", "))
    }
}

/// The Kubernetes files as one YAML stream: the generation header, then every document as
/// rendered, each after a `---` line. Errors if there is no object at all.
pub fn stream(header: &str, files: &[OutputFile]) -> Result<String, Error> {
    let mut out = String::new();
    out.push_str(header);
    out.push('\n');
    let mut objects = 0;
    for file in files.iter().filter(|f| f.kubernetes) {
        // Each file repeats the header; once at the top of the stream is enough.
        let body = file
            .content
            .strip_prefix(header)
            .and_then(|b| b.strip_prefix('\n'))
            .unwrap_or(&file.content);
        for (_, doc) in split_documents(body) {
            out.push_str("---\n");
            out.push_str(doc);
            if !doc.ends_with('\n') {
                out.push('\n');
            }
            objects += 1;
        }
    }
    if objects == 0 {
        return Err(Error::invalid(
            "the spec renders no Kubernetes objects; refusing to print nothing \
             (Argo CD would prune every object of the Application)",
        ));
    }
    Ok(out)
}

/// Runs the command in the current directory; prints the stream or one error line (and, unless
/// `quiet`, one line per warning). Returns the exit code.
pub fn run(inputs: &Inputs, quiet: bool) -> ExitCode {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let scrub = Scrub::new(&cwd);
    let fail = |line: String, code: ExitCode| {
        eprintln!("tacosgen: {}", scrub.apply(&line));
        code
    };
    let spec = match resolve(inputs, Path::new(ENVIRONMENTS_DIR)) {
        Ok(p) => p,
        Err(e) => return fail(one_line(&e, &Sources::default()), ExitCode::Invalid),
    };
    let mut compiler = match Compiler::for_current_dir(None) {
        Ok(c) => c,
        Err(e) => return fail(one_line(&e, &Sources::default()), ExitCode::Invalid),
    };
    let compiled = match compiler.compile(&spec) {
        Ok(c) => c,
        Err(Stop::Invalid(errors)) => {
            let first = errors.first().map_or_else(
                || "invalid spec".to_owned(),
                |e| one_line(e, &compiler.sources),
            );
            return fail(
                with_more(first, errors.len().saturating_sub(1), "error", &spec),
                ExitCode::Invalid,
            );
        }
        Err(Stop::PlanErrors(planned)) => {
            let errors: Vec<&Finding> = planned
                .plan
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .collect();
            let first = errors.first().map_or_else(
                || "the plan has errors".to_owned(),
                |f| finding_line(&planned, &compiler.sources, f),
            );
            return fail(
                with_more(first, errors.len().saturating_sub(1), "plan error", &spec),
                ExitCode::Findings,
            );
        }
    };
    let text = match stream(&compiled.planned.plan.header, &compiled.files) {
        Ok(t) => t,
        Err(e) => return fail(one_line(&e, &compiler.sources), ExitCode::Invalid),
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        return fail(format!("cannot write to stdout: {e}"), ExitCode::Invalid);
    }
    // Argo CD only logs stderr on success; keep warnings to one line each.
    for w in compiled.planned.warnings().filter(|_| !quiet) {
        eprintln!(
            "tacosgen: warning: {}",
            scrub.apply(&finding_line(&compiled.planned, &compiler.sources, w))
        );
    }
    ExitCode::Success
}

/// `<file>:<line>:<col>: <field>: <message> (<first hint>)`, on one line.
pub fn one_line(e: &Error, sources: &Sources) -> String {
    let file_hint = e.help.iter().find_map(|h| h.strip_prefix("file: "));
    let place = match (e.loc, file_hint) {
        (Some(loc), _) => format!("{}: ", location(sources, loc)),
        (None, Some(file)) if !e.message.contains(file) => format!("{file}: "),
        (None, _) => String::new(),
    };
    let field = match &e.path {
        Some(p) if !e.message.starts_with(p.as_str()) => format!("{p}: "),
        _ => String::new(),
    };
    let mut line = format!("{place}{field}{}", e.message);
    if let Some(hint) = e.help.iter().find(|h| !h.starts_with("file: ")) {
        line.push_str(&format!(" ({hint})"));
    }
    flatten(&line)
}

fn finding_line(planned: &Planned, sources: &Sources, f: &Finding) -> String {
    let loc = location(sources, planned.locate(f));
    flatten(&format!("{loc}: {}: [{}] {}", f.path, f.code, f.message))
}

fn location(sources: &Sources, loc: Loc) -> String {
    let file = sources
        .file(loc.file)
        .map_or_else(|| "<spec>".to_owned(), |p| p.display().to_string());
    format!("{file}:{}:{}", loc.line, loc.col)
}

fn with_more(line: String, more: usize, what: &str, spec: &Path) -> String {
    match more {
        0 => line,
        n => format!(
            "{line} (and {n} more {what}{}; `tacosgen build {}` lists them)",
            if n == 1 { "" } else { "s" },
            spec.display()
        ),
    }
}

/// Collapses whitespace (messages may quote multi-line text) and caps the length: Argo CD shows
/// the line in a banner.
fn flatten(s: &str) -> String {
    const MAX: usize = 400;
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match one.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &one[..i]),
        None => one,
    }
}

/// Replaces the working directory (a fresh temporary path on every Argo CD call) by `.`, so
/// cached error messages are the same for every run of a revision.
struct Scrub {
    prefixes: Vec<String>,
}

impl Scrub {
    fn new(cwd: &Path) -> Scrub {
        let mut prefixes: Vec<String> = [Some(cwd.to_path_buf()), cwd.canonicalize().ok()]
            .into_iter()
            .flatten()
            .map(|p| p.display().to_string())
            .filter(|p| p != "/")
            .collect();
        prefixes.sort_by_key(|p| std::cmp::Reverse(p.len()));
        prefixes.dedup();
        Scrub { prefixes }
    }

    fn apply(&self, s: &str) -> String {
        self.prefixes.iter().fold(s.to_owned(), |acc, p| {
            acc.replace(&format!("{p}/"), "").replace(p.as_str(), ".")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envs_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in ["prod.yaml", "dev.yaml", "base.yaml", "_shared.yaml"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        dir
    }

    fn inputs(
        argument: Option<&str>,
        param: Option<&str>,
        json: Option<&str>,
        env: Option<&str>,
    ) -> Inputs {
        Inputs {
            argument: argument.map(str::to_owned),
            param_environment: param.map(str::to_owned),
            app_parameters: json.map(str::to_owned),
            env_environment: env.map(str::to_owned),
        }
    }

    #[test]
    fn sources_are_tried_in_documented_order() {
        let dir = envs_dir();
        let d = dir.path();
        let json = r#"[{"name":"other","string":"x"},{"name":"environment","string":"dev"}]"#;
        let r = |i: Inputs| resolve(&i, d).unwrap();
        assert_eq!(
            r(inputs(Some("prod"), Some("dev"), None, None)),
            d.join("prod.yaml")
        );
        assert_eq!(
            r(inputs(None, Some("prod"), Some(json), Some("dev"))),
            d.join("prod.yaml")
        );
        assert_eq!(
            r(inputs(None, None, Some(json), Some("prod"))),
            d.join("dev.yaml")
        );
        assert_eq!(
            r(inputs(None, Some(""), None, Some("prod"))),
            d.join("prod.yaml")
        );
        // A JSON list without `environment` falls through to the plugin env.
        assert_eq!(
            r(inputs(None, None, Some("[]"), Some("prod"))),
            d.join("prod.yaml")
        );
        // An argument with `/` or `.` is a path, used as given.
        assert_eq!(
            r(inputs(Some("specs/x.yaml"), None, None, None)),
            PathBuf::from("specs/x.yaml")
        );
    }

    #[test]
    fn names_never_become_paths_outside_the_directory() {
        let dir = envs_dir();
        for bad in [
            "..",
            "../prod",
            "a/b",
            "Prod",
            "-prod",
            "prod-",
            &"a".repeat(64),
            "pr od",
        ] {
            let e = resolve(&inputs(None, Some(bad), None, None), dir.path()).unwrap_err();
            assert!(e.message.contains("DNS-1123"), "{bad}: {}", e.message);
        }
        assert!(is_dns1123_label(&"a".repeat(63)));
        assert!(is_dns1123_label("prod-eu-1"));
    }

    #[test]
    fn unknown_and_base_names_list_the_environments() {
        let dir = envs_dir();
        for (name, says) in [("nope", "unknown environment"), ("base", "base spec")] {
            let e = resolve(&inputs(None, None, None, Some(name)), dir.path()).unwrap_err();
            assert!(e.message.contains(says), "{}", e.message);
            assert!(
                e.message.ends_with("(environments: dev, prod)"),
                "{}",
                e.message
            );
        }
        let e = resolve(&Inputs::default(), dir.path()).unwrap_err();
        assert!(
            e.message.starts_with("no environment given"),
            "{}",
            e.message
        );
    }

    fn file(path: &str, content: &str, kubernetes: bool) -> OutputFile {
        OutputFile {
            path: path.into(),
            content: content.into(),
            kubernetes,
        }
    }

    #[test]
    fn stream_holds_only_kubernetes_documents_once_headed() {
        let h = "# Generated by tacosgen from environments/x.yaml.";
        let files = [
            file(
                "a.yaml",
                &format!("{h}\n---\nkind: A\n---\n# c\nkind: B\n"),
                true,
            ),
            file(
                "kustomization.yaml",
                &format!("{h}\nkind: Kustomization\n"),
                false,
            ),
            file("redis/master.conf", &format!("{h}\nport 6379\n"), false),
            file("n.yaml", &format!("{h}\nkind: N"), true),
        ];
        assert_eq!(
            stream(h, &files).unwrap(),
            format!("{h}\n---\nkind: A\n---\n# c\nkind: B\n---\nkind: N\n")
        );
    }

    #[test]
    fn no_objects_is_an_error_not_an_empty_stream() {
        let h = "# Generated by tacosgen";
        let files = [
            file("CAPACITY.md", &format!("{h}\n# capacity\n"), false),
            file("empty.yaml", &format!("{h}\n---\n# nothing\n"), true),
        ];
        let e = stream(h, &files).unwrap_err();
        assert!(e.message.contains("no Kubernetes objects"), "{}", e.message);
    }

    #[test]
    fn errors_become_one_plain_line() {
        let mut sources = Sources::default();
        let id = sources.add("environments/x.yaml".into(), "a: 1\n".into());
        let e = Error::invalid("unknown field `b`\n  more")
            .with_path("slo.b")
            .at(Some(Loc {
                file: id,
                line: 2,
                col: 3,
            }))
            .with_help("did you mean `a`?");
        assert_eq!(
            one_line(&e, &sources),
            "environments/x.yaml:2:3: slo.b: unknown field `b` more (did you mean `a`?)"
        );
        let io = Error::io(
            "read",
            Path::new("environments/y.yaml"),
            std::io::Error::other("gone"),
        );
        assert_eq!(
            one_line(&io, &sources),
            "cannot read environments/y.yaml: gone"
        );
        assert!(flatten(&"x".repeat(1000)).len() < 410);
    }

    #[test]
    fn scrub_removes_the_working_directory() {
        let s = Scrub::new(Path::new("/tmp/_cmp_server/abc"));
        assert_eq!(
            s.apply(
                "/tmp/_cmp_server/abc/../x.yaml is outside the repository (/tmp/_cmp_server/abc)"
            ),
            "../x.yaml is outside the repository (.)"
        );
    }
}
