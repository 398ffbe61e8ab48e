//! Stage 4, **render**: the plan through minijinja templates into output files.
//!
//! Templates are data: the defaults in `templates/` are embedded in the binary, and
//! `--templates DIR` replaces any of them by name. Templates receive only the plan. In
//! `*.yaml.j2` and `*.js.j2` templates every `{{ value }}` is JSON-escaped by minijinja's
//! auto-escape, so a user string can never break out of its YAML scalar; `yaml_block` is the
//! one filter that emits raw text, and it only emits a literal block it has checked.

use std::path::Path;
use std::sync::Arc;

use minijinja::{AutoEscape, Environment, Output, State, UndefinedBehavior, Value, context};

use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::view;

/// One rendered file, with its path relative to `out/<env>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub path: String,
    pub content: String,
    /// Whether the file holds Kubernetes objects (verified, listed in kustomization.yaml,
    /// printed by `generate`).
    pub kubernetes: bool,
}

/// Which template makes which file. Files whose template renders no content are left out.
const KUBERNETES_FILES: &[(&str, &str)] = &[
    ("namespace.yaml.j2", "namespace.yaml"),
    ("serviceaccounts.yaml.j2", "serviceaccounts.yaml"),
    ("configmaps.yaml.j2", "configmaps.yaml"),
    ("deployments.yaml.j2", "deployments.yaml"),
    ("services.yaml.j2", "services.yaml"),
    ("hpas.yaml.j2", "hpas.yaml"),
    ("pdbs.yaml.j2", "pdbs.yaml"),
    ("networkpolicies.yaml.j2", "networkpolicies.yaml"),
    ("redis.yaml.j2", "redis.yaml"),
    ("karpenter.yaml.j2", "karpenter.yaml"),
    ("prometheusrule.yaml.j2", "monitoring/prometheusrule.yaml"),
    ("dashboard.yaml.j2", "monitoring/dashboard.yaml"),
];

/// The templates whose output grows most with the services, longest first: rendered first.
/// At 1,000 services deployments take ~30 % of the rendering time (`TACOSGEN_TIMINGS=1`
/// times each template), and started in file order they ran alone on one core at the end
/// (BENCHMARKS.md, step 45).
const LONGEST_FIRST: &[&str] = &[
    "deployments.yaml.j2",
    "prometheusrule.yaml.j2",
    "hpas.yaml.j2",
    "dashboard.yaml.j2",
    "CAPACITY.md.j2",
];

/// Other files made from the plan alone (not Kubernetes objects).
const OTHER_FILES: &[(&str, &str)] = &[
    ("runbook.md.j2", "RUNBOOK.md"),
    ("k6.js.j2", "loadtest/k6.js"),
];

/// From this many services on, templates are rendered on every core: even one service's
/// files take far longer to render than starting a thread (`TACOSGEN_TIMINGS=1` shows it).
const PARALLEL_MIN_SERVICES: usize = 1;

/// `(name, source)` of the default templates (`templates/*.j2`, embedded by build.rs).
const DEFAULTS: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/templates.rs"));

/// A template environment: the embedded defaults, optionally overridden from a directory.
pub struct Templates {
    env: Environment<'static>,
    /// Names of templates `--templates DIR` replaces or adds: minijinja renders these and
    /// every default template that includes one; the others run compiled
    /// ([`crate::compiled`]).
    overridden: Vec<String>,
    mode: Mode,
}

/// How [`Templates`] renders the default templates.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Compiled where possible, minijinja for the rest and wherever compiled code declines.
    Compiled,
    /// minijinja only.
    Interpreted,
    /// Compiled only: declining is an error (for the tests that compare the two).
    CompiledOnly,
}

impl Templates {
    /// The embedded templates, with `dir`'s `*.j2` files replacing or adding to them.
    pub fn new(dir: Option<&Path>) -> Result<Templates> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .keep_trailing_newline(true)
                .build()
                .expect("default delimiters are valid"),
        );
        env.set_formatter(format_value);
        // The same functions as `own_filter` calls for the compiled templates.
        env.add_filter("yaml_block", yaml_block);
        env.add_filter("yaml_entries", yaml_entries);
        env.add_filter("num", num);
        env.add_filter("n", |x: f64| crate::capacity::num(x));
        env.add_filter("usd", |x: f64| crate::capacity::usd(x));
        env.add_filter("thousands", |x: f64| crate::plan::fmt_num(x));
        // Where minijinja renders a default (see `compiled`), it parses it on first use, on
        // the thread that renders it: only what a command renders, on every core.
        env.set_loader(|name| Ok(DEFAULTS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)));
        let mut overridden = Vec::new();
        if let Some(dir) = dir {
            let entries =
                std::fs::read_dir(dir).map_err(|e| Error::io("read templates from", dir, e))?;
            let mut names = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|e| Error::io("read templates from", dir, e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".j2") {
                    names.push((name, entry.path()));
                }
            }
            names.sort();
            overridden = names.iter().map(|(name, _)| name.clone()).collect();
            for (name, path) in names {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| Error::io("read template", &path, e))?;
                env.add_template_owned(name, text)
                    .map_err(|e| template_error(&e, Some(&path)))?;
            }
        }
        Ok(Templates {
            env,
            overridden,
            mode: Mode::Compiled,
        })
    }

    /// Renders every template with minijinja, none compiled: what the compiled templates are
    /// tested against (`TACOSGEN_INTERPRET=1` does it for a command).
    pub fn interpreted(mut self) -> Templates {
        self.mode = Mode::Interpreted;
        self
    }

    /// Renders the default templates compiled only: an error where the compiled code declines
    /// (which minijinja would render). For tests.
    pub fn compiled_only(mut self) -> Templates {
        self.mode = Mode::CompiledOnly;
        self
    }

    /// Renders every output file of the plan, sorted by path.
    pub fn render(&self, plan: &Arc<Plan>) -> Result<Vec<OutputFile>> {
        let mut files = Vec::new();
        let mut conf = Vec::new();
        if plan.redis.is_some() {
            for role in ["master", "replica"] {
                let text =
                    self.render_one("redis.conf.j2", context! { plan => view::root(plan), role })?;
                conf.push((role.to_string(), text.clone()));
                files.push(OutputFile {
                    path: format!("redis/{role}.conf"),
                    content: with_header(&plan.header, text),
                    kubernetes: false,
                });
            }
        }
        let conf_value = Value::from(
            conf.into_iter()
                .collect::<std::collections::BTreeMap<_, _>>(),
        );
        // The big templates are independent: render them on every core for large plans.
        let jobs: Vec<(&str, &str, bool)> = KUBERNETES_FILES
            .iter()
            .map(|(t, p)| (*t, *p, true))
            .chain([("CAPACITY.md.j2", "CAPACITY.md", false)])
            .chain(OTHER_FILES.iter().map(|(t, p)| (*t, *p, false)))
            .collect();
        let threads = crate::par::threads_for(plan.services.len(), PARALLEL_MIN_SERVICES);
        // The longest first (a stable sort keeps the others in file order), so the cores
        // finish together instead of one rendering the largest file alone at the end.
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        order.sort_by_key(|&i| {
            LONGEST_FIRST
                .iter()
                .position(|t| *t == jobs[i].0)
                .unwrap_or(LONGEST_FIRST.len())
        });
        // Each file gets its header on the thread that rendered it.
        let rendered = crate::par::map(&order, threads, |&i| {
            let (template, path, kubernetes) = jobs[i];
            let ctx = if kubernetes {
                context! { plan => view::root(plan), conf => conf_value.clone() }
            } else {
                context! { plan => view::root(plan) }
            };
            // `TACOSGEN_TIMINGS` times each template.
            let text = crate::timed(template, || self.render_one(template, ctx))?;
            // The capacity report is always written; other files only with content.
            if path != "CAPACITY.md" && !has_content(&text) {
                return Ok(None);
            }
            let header = if kubernetes {
                &plan.header
            } else {
                &header_for(path, &plan.header)
            };
            Ok(Some(with_header(header, text)))
        });
        let mut contents: Vec<_> = order.into_iter().zip(rendered).collect();
        contents.sort_by_key(|(i, _)| *i);
        let mut resources = Vec::new();
        for (&(_, path, kubernetes), (_, content)) in jobs.iter().zip(contents) {
            let Some(content) = content? else { continue };
            if kubernetes {
                resources.push(path);
            }
            files.push(OutputFile {
                path: path.to_string(),
                content,
                kubernetes,
            });
        }
        let text = self.render_one(
            "kustomization.yaml.j2",
            context! { plan => view::root(plan), resources },
        )?;
        files.push(OutputFile {
            path: "kustomization.yaml".into(),
            content: with_header(&plan.header, text),
            kubernetes: false,
        });
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    /// The capacity report (`tacosgen plan`, out/<env>/CAPACITY.md), without the header.
    pub fn render_capacity(&self, plan: &Arc<Plan>) -> Result<String> {
        let plan = view::root(plan);
        let text = self.render_one("CAPACITY.md.j2", context! { plan })?;
        Ok(text.trim_start_matches('\n').to_string())
    }

    fn render_one(&self, name: &str, ctx: Value) -> Result<String> {
        if self.mode != Mode::Interpreted {
            match crate::compiled::render(&self.env, name, &ctx, &self.overridden) {
                Some(text) => return Ok(text),
                None if self.mode == Mode::CompiledOnly => {
                    return Err(Error::invalid(format!(
                        "template {name} is not compiled, or its compiled code declined this plan"
                    )));
                }
                None => {}
            }
        }
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| template_error(&e, None))?;
        tmpl.render(ctx).map_err(|e| template_error(&e, None))
    }
}

/// Every generated file starts with the header; later stages (diff, check) recognise
/// generated files by it. The header replaces the leading blank lines in place: a copy of
/// megabytes of output would touch as many fresh pages again (~3 µs each here).
fn with_header(header: &str, mut text: String) -> String {
    let blank = text.bytes().take_while(|&b| b == b'\n').count();
    text.replace_range(..blank, &format!("{header}\n"));
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// The header as a comment of the file's language: `#` lines are not comments in JavaScript
/// and are a title in Markdown.
fn header_for(path: &str, header: &str) -> String {
    let text = header.trim_start_matches("# ");
    if path.ends_with(".js") {
        format!("// {text}")
    } else if path.ends_with(".md") {
        format!("<!-- {text} -->")
    } else {
        header.to_string()
    }
}

fn has_content(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#') && t != "---"
    })
}

fn template_error(e: &minijinja::Error, path: Option<&Path>) -> Error {
    // minijinja's Display already names the template and line: "... (in deployments.yaml.j2:44)".
    let mut err = Error::invalid(format!("template error: {e}"));
    if let Some(p) = path {
        err = err.with_file(p);
    }
    err
}

/// `{{ text | yaml_block(6) }}`: a YAML literal block scalar indented by `indent` spaces.
///
/// It returns safe (unescaped) output, so it refuses anything a literal block cannot carry
/// exactly (carriage returns, other control characters, a first line starting with a space,
/// trailing blank lines) and falls back to a JSON-quoted string for those.
fn yaml_block(value: &str, indent: usize) -> Value {
    if !literal_block_safe(value) {
        let mut json = String::new();
        let _ = write_json_str(&mut json, value); // writing to a String cannot fail
        return Value::from_safe_string(json);
    }
    let (chomp, body) = match value.strip_suffix('\n') {
        Some(body) => ("|", body),
        None => ("|-", value),
    };
    let lines = 1 + memchr::memchr_iter(b'\n', body.as_bytes()).count();
    let mut out = String::with_capacity(body.len() + lines * (indent + 1) + 2);
    let pad = spaces(indent);
    out.push_str(chomp);
    // Lines found with `memchr` rather than `split('\n')`: a dashboard's are short and
    // many, and the generic char split cost twice as much (BENCHMARKS.md, step 56).
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', body.as_bytes()).chain([body.len()]);
    for end in ends {
        let line = &body[start..end];
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
        start = end + 1;
    }
    Value::from_safe_string(out)
}

/// `n` spaces, borrowed for the indents templates use.
fn spaces(n: usize) -> std::borrow::Cow<'static, str> {
    const SPACES: &str = "                                ";
    SPACES
        .get(..n)
        .map_or_else(|| " ".repeat(n).into(), Into::into)
}

/// Whether a literal block reproduces `value` exactly: no control characters but newline
/// and tab, no leading blank or newline, no trailing blank lines, no line ending in a space
/// or starting with a tab. Dashboards and alert expressions are megabytes at 1,000 services,
/// so the common case is a branch-free pass over the bytes that the compiler vectorizes.
fn literal_block_safe(value: &str) -> bool {
    let b = value.as_bytes();
    if b.is_empty() || matches!(b[0], b' ' | b'\t' | b'\n') || value.ends_with("\n\n") {
        return false;
    }
    // C0 controls but newline and tab, DEL, and 0xC2: the lead byte of the C1 controls
    // (and of the other characters up to U+00BF, hence the exact check after it).
    let suspicious = b.iter().fold(false, |seen, &c| {
        seen | ((c < 0x20 && c != b'\n' && c != b'\t') | (c == 0x7f) | (c == 0xc2))
    });
    if suspicious
        && value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return false;
    }
    !value.contains(" \n") && !value.contains("\n\t")
}

/// Writes `{{ value }}`. minijinja's JSON auto-escape serializes every value to a fresh
/// string before writing it; strings and integers, most values in manifests, are written
/// here directly ([`write_simple`]). Everything else (floats, sequences, undefined) takes
/// minijinja's path.
fn format_value(
    out: &mut Output,
    state: &mut State,
    value: &Value,
) -> std::result::Result<(), minijinja::Error> {
    let json = matches!(state.auto_escape(), AutoEscape::Json);
    match write_simple(out, json, value) {
        Some(written) => written.map_err(minijinja::Error::from),
        None => minijinja::escape_formatter(out, state, value),
    }
}

/// Writes a string or an integer byte for byte as minijinja's formatter does (`json`: under
/// JSON auto-escape, else none): a safe string as it is, another string JSON-quoted under
/// JSON escaping and as it is otherwise, an integer in decimal. `None` for other values. The
/// compiled templates write values with it too.
pub(crate) fn write_simple(
    out: &mut impl std::fmt::Write,
    json: bool,
    value: &Value,
) -> Option<std::fmt::Result> {
    if let Some(s) = value.as_str() {
        return Some(if json && !value.is_safe() {
            write_json_str(out, s)
        } else {
            out.write_str(s)
        });
    }
    let n = value.as_i64().filter(|_| value.is_integer())?;
    Some(write!(out, "{n}"))
}

/// `s` as a JSON string, as auto-escape writes it: between quotes as it is when no byte
/// needs escaping (almost every value), else through serde_json. The test reads every byte
/// without stopping early, which the compiler vectorizes (an `any` that stopped at the first
/// such byte took ~12 M instructions at 1,000 services: BENCHMARKS.md, step 48).
pub(crate) fn write_json_str(out: &mut impl std::fmt::Write, s: &str) -> std::fmt::Result {
    let escape = s.bytes().fold(false, |seen, b| {
        seen | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if escape {
        return out.write_str(&serde_json::Value::from(s).to_string());
    }
    out.write_str("\"")?;
    out.write_str(s)?;
    out.write_str("\"")
}

/// `labels:{{ map | yaml_entries(4) }}`: each entry of a mapping of strings on a line of its
/// own, `indent` spaces in, written as `{{ key }}: {{ value }}` writes it (JSON-quoted);
/// nothing for an empty mapping. Like Helm's `nindent`, every line starts with its newline.
/// It replaced a `{% for key, value in map | items %}` loop in every object's labels and
/// every alert, and rendering 1,000 services took 7 % fewer instructions (BENCHMARKS.md,
/// step 32).
fn yaml_entries(map: &Value, indent: usize) -> std::result::Result<Value, minijinja::Error> {
    let not_strings = |detail: String| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("yaml_entries takes a mapping of strings to strings; {detail}"),
        )
    };
    if map.kind() != minijinja::value::ValueKind::Map {
        return Err(not_strings(format!("got {}", map.kind())));
    }
    // Sized for short labels: growing from empty reallocated each of ~30,000 label blocks
    // at 1,000 services about five times.
    let mut out = String::with_capacity(map.len().unwrap_or(0) * (indent + 48));
    let pad = spaces(indent);
    let mut entry = |k: &str, v: &str| -> std::result::Result<(), minijinja::Error> {
        out.push('\n');
        out.push_str(&pad);
        write_json_str(&mut out, k)?;
        out.push_str(": ");
        write_json_str(&mut out, v)?;
        Ok(())
    };
    // Maps of the plan are read in place, as are minijinja's own B-trees; any other mapping
    // (an object of a custom type) through the generic iteration.
    if let Some(entries) = view::entries(map) {
        for (key, value) in entries {
            entry(key, value)?;
        }
        return Ok(Value::from_safe_string(out));
    }
    let mut pair = |key: &Value, value: &Value| match (key.as_str(), value.as_str()) {
        (Some(k), Some(v)) => entry(k, v),
        _ => Err(not_strings(format!(
            "{key} is {} and its value {}",
            key.kind(),
            value.kind()
        ))),
    };
    if let Some(entries) = map.downcast_object_ref::<std::collections::BTreeMap<Value, Value>>() {
        for (key, value) in entries {
            pair(key, value)?;
        }
    } else {
        for key in map.try_iter()? {
            pair(&key, &map.get_item(&key)?)?;
        }
    }
    Ok(Value::from_safe_string(out))
}

/// tacosgen's filters for the compiled templates: the functions `Templates::new` registers
/// (keep the two lists equal), called directly with the conversions minijinja applies to
/// their arguments (`TryFrom<Value>`). A call through the environment cost ~3,000
/// instructions, most of a number in CAPACITY.md. `None` for other filters or arguments
/// that do not convert: minijinja then applies the filter (or reports the error).
pub(crate) fn own_filter(
    name: &str,
    args: &[Value],
) -> Option<std::result::Result<Value, minijinja::Error>> {
    let float = |v: &Value| f64::try_from(v.clone()).ok();
    let size = |v: &Value| usize::try_from(v.clone()).ok();
    Some(match (name, args) {
        ("yaml_block", [v, i]) => Ok(yaml_block(v.as_str()?, size(i)?)),
        ("yaml_entries", [m, i]) => yaml_entries(m, size(i)?),
        ("num", [x]) => Ok(num(float(x)?)),
        ("n", [x]) => Ok(Value::from(crate::capacity::num(float(x)?))),
        ("usd", [x]) => Ok(Value::from(crate::capacity::usd(float(x)?))),
        ("thousands", [x]) => Ok(Value::from(crate::plan::fmt_num(float(x)?))),
        _ => return None,
    })
}

/// `{{ 30000.0 | num }}`: integers without a fraction, other numbers rounded to 3 places.
fn num(value: f64) -> Value {
    if (value - value.round()).abs() < 1e-9 {
        Value::from(value.round() as i64)
    } else {
        Value::from((value * 1000.0).round() / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders `{{ v }}` for each value in a `.yaml` template, with or without our formatter.
    fn formatted(values: &[Value], ours: bool) -> String {
        let mut env = Environment::new();
        if ours {
            env.set_formatter(format_value);
        }
        env.add_template("t.yaml", "{% for v in values %}{{ v }}|{% endfor %}")
            .unwrap();
        let tmpl = env.get_template("t.yaml").unwrap();
        tmpl.render(context! { values => values }).unwrap()
    }

    #[test]
    fn formatter_writes_what_minijinja_writes() {
        let values = [
            Value::from("plain"),
            Value::from("a \" quote"),
            Value::from("a \\ backslash"),
            Value::from("newline \n tab \t nul \u{0}"),
            Value::from("ünïcode <html> & 'quotes'"),
            Value::from(""),
            Value::from(0),
            Value::from(-42),
            Value::from(u64::MAX),
            Value::from(i128::MIN),
            Value::from(1.5),
            Value::from(2.0),
            Value::from(true),
            Value::from(()),
            Value::from_safe_string("already: safe".into()),
            Value::from(vec![Value::from("a"), Value::from(1)]),
        ];
        assert_eq!(formatted(&values, true), formatted(&values, false));
    }

    proptest::proptest! {
        #[test]
        fn formatter_agrees_on_any_string_or_integer(s in "\\PC*|[\\x00-\\x7f]{0,8}", n: i64) {
            let values = [Value::from(s), Value::from(n)];
            proptest::prop_assert_eq!(formatted(&values, true), formatted(&values, false));
        }
    }

    /// `yaml_entries` and the loop it replaced, on the same mapping.
    fn entries_both_ways(map: &std::collections::BTreeMap<String, String>) -> (String, String) {
        let mut env = Templates::new(None).unwrap().env;
        let filter = "labels:{{ map | yaml_entries(2) }}\n";
        let looped =
            "labels:\n{% for key, value in map | items %}  {{ key }}: {{ value }}\n{% endfor %}";
        env.add_template("filter.yaml", filter).unwrap();
        env.add_template("loop.yaml", looped).unwrap();
        let render = |name, map: Value| {
            env.get_template(name)
                .unwrap()
                .render(context! { map })
                .unwrap()
        };
        let filtered = render("filter.yaml", Value::from(minijinja::value::Serde(map)));
        // A mapping that is not minijinja's own (the filter's generic path).
        let object: std::collections::BTreeMap<String, Value> = map
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        assert_eq!(render("filter.yaml", Value::from_object(object)), filtered);
        (
            filtered,
            render("loop.yaml", Value::from(minijinja::value::Serde(map))),
        )
    }

    #[test]
    fn yaml_entries_writes_what_the_loop_wrote() {
        let map = [
            ("app", "api"),
            ("a \"quoted\" key", "line\nbreak"),
            ("ü", "\\"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let (filter, looped) = entries_both_ways(&map);
        assert_eq!(filter, looped);
        assert!(
            filter.contains("  \"a \\\"quoted\\\" key\": \"line\\nbreak\""),
            "{filter}"
        );
        let (filter, looped) = entries_both_ways(&Default::default());
        assert_eq!(
            (filter.as_str(), looped.as_str()),
            ("labels:\n", "labels:\n")
        );
    }

    #[test]
    fn yaml_entries_refuses_what_is_not_a_mapping_of_strings() {
        let number_values =
            Value::from(minijinja::value::Serde(std::collections::BTreeMap::from([
                ("a", 1),
            ])));
        for (value, detail) in [
            (Value::from(vec!["a"]), "got sequence"),
            (number_values, "a is string and its value number"),
        ] {
            let err = yaml_entries(&value, 2).unwrap_err().to_string();
            assert!(
                err.contains("yaml_entries takes a mapping of strings"),
                "{err}"
            );
            assert!(err.contains(detail), "{err}");
        }
    }

    proptest::proptest! {
        #[test]
        fn yaml_entries_agrees_with_the_loop(
            map in proptest::collection::btree_map("\\PC{0,6}|[\\x00-\\x7f]{0,4}", "\\PC{0,6}|[\\x00-\\x7f]{0,4}", 0..4)
        ) {
            let (filter, looped) = entries_both_ways(&map);
            proptest::prop_assert_eq!(filter, looped);
        }
    }

    #[test]
    fn yaml_block_emits_literal_or_falls_back() {
        assert_eq!(yaml_block("a\nb\n", 2).to_string(), "|\n  a\n  b");
        assert_eq!(yaml_block("a", 2).to_string(), "|-\n  a");
        let deep = format!("|-\n{}a", " ".repeat(40)); // deeper than the borrowed spaces
        assert_eq!(yaml_block("a", 40).to_string(), deep);
        assert_eq!(yaml_block("a\n\nb", 2).to_string(), "|-\n  a\n\n  b");
        assert_eq!(yaml_block(" lead", 2).to_string(), "\" lead\"");
        assert_eq!(yaml_block("x\r\n", 2).to_string(), "\"x\\r\\n\"");
    }

    proptest::proptest! {
        /// The one-pass byte check decides exactly as the plain definition over chars.
        #[test]
        fn literal_block_check_matches_its_definition(
            value in "[a \t\n\r\u{0}\u{1f}\u{7f}\u{80}\u{85}\u{9f}\u{a0}\u{c2}\u{100}é]{0,8}"
        ) {
            let plain = !value.is_empty()
                && !value.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
                && !value.starts_with([' ', '\t', '\n'])
                && !value.ends_with("\n\n")
                && !value.contains(" \n")
                && !value.lines().any(|l| l.starts_with('\t'));
            proptest::prop_assert_eq!(literal_block_safe(&value), plain);
            if plain {
                let mut want = String::from(if value.ends_with('\n') { "|" } else { "|-" });
                for line in value.lines() {
                    want.push('\n');
                    if !line.is_empty() {
                        want.push_str("   ");
                        want.push_str(line);
                    }
                }
                proptest::prop_assert_eq!(yaml_block(&value, 3).to_string(), want);
            }
        }
    }

    #[test]
    fn content_detection_ignores_comments_and_separators() {
        assert!(!has_content("# c\n---\n\n"));
        assert!(has_content("---\nkind: X\n"));
    }
}
