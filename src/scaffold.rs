//! `tacosgen init` and `tacosgen env add`: new repositories and new environments that build
//! as they are written.
//!
//! The scaffold texts live in `src/scaffold/` as ordinary files (a test builds them), with
//! `${NAME}` placeholders filled in here. Nothing is written unless every file can be: existing
//! files are refused as a whole (listed in the error) unless `force` is given.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::spec::Spec;
use crate::validate::is_dns_label;
use crate::{Compiler, Stop, load, validate};

const BASE: &str = include_str!("scaffold/base.yaml");
const ENVIRONMENT: &str = include_str!("scaffold/environment.yaml");
const PRE_COMMIT: &str = include_str!("scaffold/pre-commit-config.yaml");
const GITIGNORE: &str = include_str!("scaffold/gitignore");
const README: &str = include_str!("scaffold/README.md");

/// Where environment specs live, relative to the repository root.
pub const ENVIRONMENTS: &str = "environments";

/// A file to write, relative to the target directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    pub path: PathBuf,
    pub content: String,
}

/// The default environments of `tacosgen init`: one to develop in, one to serve from.
pub const DEFAULT_ENVIRONMENTS: &[&str] = &["dev", "prod"];

fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut text = template.to_string();
    for (name, value) in vars {
        text = text.replace(&format!("${{{name}}}"), value);
    }
    text
}

/// A DNS-1123 label from a directory name (`My Shop` → `my-shop`), or `app`.
pub fn project_name(dir: &Path) -> String {
    let raw = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let mut name = String::new();
    for c in raw.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    // Room for `-<environment>` in the namespace.
    let name: String = name.trim_matches('-').chars().take(40).collect();
    let name = name.trim_end_matches('-').to_string();
    if is_dns_label(&name) {
        name
    } else {
        "app".into()
    }
}

/// An environment name `--all` picks up and Kubernetes accepts in a namespace.
fn check_environment_name(name: &str) -> Result<()> {
    if !is_dns_label(name) || name.len() > 20 {
        return Err(Error::invalid(format!(
            "environment name {name:?} must be a DNS-1123 label of at most 20 characters \
             (lower-case letters, digits and '-'): it becomes a directory, a namespace suffix \
             and a NodePool name"
        )));
    }
    if name.starts_with("base") {
        return Err(Error::invalid(format!(
            "environment name {name:?} starts with `base`: `--all` treats environments/base*.yaml as base files, not environments"
        )));
    }
    Ok(())
}

/// Production-like environments get production traffic and on-demand nodes; the others a
/// tenth of it on spot nodes first.
fn is_production(name: &str) -> bool {
    name.starts_with("prod") || name == "live"
}

/// The files of a new repository for `project` with the given environments.
pub fn init_files(project: &str, environments: &[String]) -> Result<Vec<NewFile>> {
    if environments.is_empty() {
        return Err(Error::invalid("at least one environment is needed"));
    }
    let mut seen = Vec::new();
    for env in environments {
        check_environment_name(env)?;
        if seen.contains(env) {
            return Err(Error::invalid(format!(
                "environment {env:?} is named twice"
            )));
        }
        seen.push(env.clone());
    }
    let mut files = vec![NewFile {
        path: Path::new(ENVIRONMENTS).join("base.yaml"),
        content: BASE.to_string(),
    }];
    for env in environments {
        let namespace = format!("{project}-{env}");
        let (rps, capacity, cpu, memory) = if is_production(env) {
            ("1000", "on-demand", "64", "256")
        } else {
            ("100", "spot, on-demand", "16", "64")
        };
        files.push(NewFile {
            path: Path::new(ENVIRONMENTS).join(format!("{env}.yaml")),
            content: fill(
                ENVIRONMENT,
                &[
                    ("ENVIRONMENT", env),
                    ("NAMESPACE", &namespace),
                    ("TARGET_RPS", rps),
                    ("CAPACITY_TYPES", capacity),
                    ("POOL_CPU", cpu),
                    ("POOL_MEMORY", memory),
                    ("CLUSTER", &namespace),
                ],
            ),
        });
    }
    let list = environments
        .iter()
        .map(|e| format!("`{e}`"))
        .collect::<Vec<_>>()
        .join(", ");
    files.extend([
        NewFile {
            path: "schemas/tacosgen.schema.json".into(),
            content: validate::schema_json(),
        },
        NewFile {
            path: ".pre-commit-config.yaml".into(),
            content: PRE_COMMIT.to_string(),
        },
        NewFile {
            path: ".gitignore".into(),
            content: GITIGNORE.to_string(),
        },
        NewFile {
            path: "README.md".into(),
            content: fill(
                README,
                &[
                    ("PROJECT", project),
                    ("ENVIRONMENT_LIST", &format!(" ({list})")),
                ],
            ),
        },
    ]);
    Ok(files)
}

/// `dir/path`, without a leading `./` for the current directory.
pub fn shown_path(dir: &Path, path: &Path) -> PathBuf {
    if dir == Path::new(".") {
        path.to_path_buf()
    } else {
        dir.join(path)
    }
}

/// Writes `files` under `dir`. Without `force`, refuses (writing nothing) if any exists.
pub fn write_files(dir: &Path, files: &[NewFile], force: bool) -> Result<()> {
    if !force {
        let existing: Vec<String> = files
            .iter()
            .map(|f| shown_path(dir, &f.path))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(Error::invalid(format!(
                "refusing to overwrite existing files (nothing was written): {}",
                existing.join(", ")
            ))
            .with_help("pass --force to overwrite them"));
        }
    }
    for file in files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
        }
        std::fs::write(&path, &file.content).map_err(|e| Error::io("write", &path, e))?;
    }
    Ok(())
}

/// What `tacosgen env add` derives a new environment from.
#[derive(Debug, Clone)]
pub struct EnvAdd {
    pub name: String,
    /// An environment name (`environments/<from>.yaml`) or a spec path in `environments/`.
    pub from: String,
    /// Factor for the target RPS and everything sized by it.
    pub scale: f64,
    /// The namespace; derived from the source's when `None` (see [`derive_namespace`]).
    pub namespace: Option<String>,
}

/// The new environment's namespace: the source's with its `-<source env>` suffix replaced by
/// `-<name>` (`tacos-staging` → `tacos-qa`), else the source's with `-<name>` appended
/// (`tacos-app` → `tacos-app-qa`), so two environments never share a namespace.
pub fn derive_namespace(source_ns: &str, source_env: &str, name: &str) -> String {
    let stem = source_ns
        .strip_suffix(&format!("-{source_env}"))
        .filter(|s| !s.is_empty())
        .unwrap_or(source_ns);
    let ns = format!("{stem}-{name}");
    if ns.len() <= 63 {
        ns
    } else {
        format!(
            "{}-{name}",
            &stem[..63 - name.len() - 1].trim_end_matches('-')
        )
    }
}

/// The source spec of `env add`: a name or a path, which must be in `environments/`.
fn source_path(from: &str) -> Result<PathBuf> {
    let path = if from.ends_with(".yaml") || from.contains('/') {
        PathBuf::from(from)
    } else {
        Path::new(ENVIRONMENTS).join(format!("{from}.yaml"))
    };
    if !path.is_file() {
        let mut names: Vec<String> = std::fs::read_dir(ENVIRONMENTS)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                let stem = n.strip_suffix(".yaml")?.to_string();
                (!stem.starts_with("base") && !stem.starts_with('_')).then_some(stem)
            })
            .collect();
        names.sort();
        let mut e = Error::invalid(format!(
            "no spec {} to derive from (run from the repository root)",
            path.display()
        ));
        if !names.is_empty() {
            if let Some(s) = crate::error::did_you_mean(from, names.iter().map(String::as_str)) {
                e = e.with_help(format!("did you mean `--from {s}`?"));
            }
            e = e.with_help(format!("environments: {}", names.join(", ")));
        }
        return Err(e);
    }
    let in_environments = path
        .parent()
        .and_then(|p| p.canonicalize().ok())
        .zip(Path::new(ENVIRONMENTS).canonicalize().ok())
        .is_some_and(|(a, b)| a == b);
    if !in_environments {
        return Err(Error::invalid(format!(
            "{} is not in {ENVIRONMENTS}/: the new spec extends it by file name",
            path.display()
        )));
    }
    Ok(path)
}

fn round_scaled(value: f64, scale: f64) -> u64 {
    ((value * scale).round() as u64).max(1)
}

/// A number as YAML writes it: integers without `.0`.
fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Pool limits of the new spec, in whole cores and GiB.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Limits {
    cpu: u64,
    memory_gib: u64,
}

/// Renders the new spec. `limits` per pool (in the source's pool order).
fn render_env(
    opts: &EnvAdd,
    source_file: &str,
    source: &Spec,
    namespace: &str,
    limits: &[(String, Limits, bool)],
) -> String {
    let scale = opts.scale;
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# yaml-language-server: $schema=../schemas/tacosgen.schema.json\n#\n\
         # {name}: {source_file} scaled by {scale} (`tacosgen env add {name} --from {from} --scale {scale}`).\n\
         # Everything not set here is inherited from {source_file}.\n\
         extends: {source_file}\n\
         environment: {name}\n\
         namespace: {namespace}\n\
         \n\
         slo:\n  targetRps: {rps}  # {source_file}: {src_rps}",
        name = opts.name,
        from = opts.from,
        rps = round_scaled(source.slo.target_rps, scale),
        src_rps = num(source.slo.target_rps),
    );
    // Pins were chosen for the source's traffic; here they would waste pods or block drains.
    let pinned: Vec<_> = source
        .services
        .iter()
        .filter(|(_, s)| {
            s.replicas.min.is_some()
                || s.replicas.max.is_some()
                || s.disruption_budget.min_available.is_some()
                || s.disruption_budget.max_unavailable.is_some()
        })
        .collect();
    if !pinned.is_empty() {
        y.push_str(
            "\n# Replica and disruption-budget pins of the source, dropped (null): derived from the\n\
             # scaled target instead.\nservices:\n",
        );
        for (name, s) in pinned {
            let _ = writeln!(y, "  {name}:");
            if s.replicas.min.is_some() || s.replicas.max.is_some() {
                let _ = writeln!(y, "    replicas: {{min: null, max: null}}");
            }
            if s.disruption_budget.min_available.is_some()
                || s.disruption_budget.max_unavailable.is_some()
            {
                let _ = writeln!(
                    y,
                    "    disruptionBudget: {{minAvailable: null, maxUnavailable: null}}"
                );
            }
        }
    }
    if !limits.is_empty() {
        y.push_str(
            "\n# Limits scaled and rounded up to whole cores and GiB (raised where the scaled\n\
             # workloads need more).",
        );
        if source.node_pools.values().any(|p| p.nodes.is_some()) {
            y.push_str(" Pinned node counts dropped (costed from the plan).");
        }
        y.push_str(
            "\n# NodePools are cluster-scoped: the pools keep the source's names, so deploy this\n\
             # environment to another cluster or rename the pools in both specs.\n\
             nodePools:\n",
        );
        for (name, l, raised) in limits {
            let src = &source.node_pools[name];
            let _ = writeln!(
                y,
                "  {name}:\n    limits: {{cpu: \"{}\", memory: {}Gi}}  # {source_file}: {}, {}{}",
                l.cpu,
                l.memory_gib,
                src.limits.cpu,
                src.limits.memory,
                if *raised {
                    " (raised to fit the workloads)"
                } else {
                    ""
                }
            );
            if src.nodes.is_some() {
                y.push_str("    nodes: null\n");
            }
        }
    }
    let alerts = &source.alerts;
    let warn_abs = alerts.rps_warning_margin.relative().is_none();
    let crit_abs = alerts.rps_critical_margin.relative().is_none();
    if warn_abs || crit_abs {
        y.push_str("\n# Margins in RPS, scaled with the target.\nalerts:\n");
        for (key, rate, abs) in [
            ("rpsWarningMargin", &alerts.rps_warning_margin, warn_abs),
            ("rpsCriticalMargin", &alerts.rps_critical_margin, crit_abs),
        ] {
            if abs {
                let _ = writeln!(
                    y,
                    "  {key}: {}  # {source_file}: {rate}",
                    round_scaled(rate.resolve(0.0), scale)
                );
            }
        }
    }
    let phases = &source.load_test.phases;
    let absolute = |p: &crate::spec::LoadPhase| {
        p.vus.is_some() || p.rate.as_ref().is_some_and(|r| r.relative().is_none())
    };
    if phases.iter().any(absolute) {
        y.push_str(
            "\n# Load-test phases with absolute rates or VUs, scaled (relative rates kept).\nloadTest:\n  phases:\n",
        );
        for p in phases {
            let mut fields = vec![
                format!("name: {}", p.name),
                format!("duration: {}", p.duration),
            ];
            if let Some(vus) = p.vus {
                fields.push(format!("vus: {}", round_scaled(f64::from(vus), scale)));
            }
            if let Some(rate) = &p.rate {
                fields.push(match rate.relative() {
                    Some(_) => format!("rate: \"{rate}\""),
                    None => format!("rate: {}", round_scaled(rate.resolve(0.0), scale)),
                });
            }
            if p.ramp {
                fields.push("ramp: true".into());
            }
            let _ = writeln!(y, "    - {{{}}}", fields.join(", "));
        }
    }
    y
}

/// Derives `environments/<name>.yaml` from another environment, writes it and checks that it
/// compiles (the file is restored or removed if it does not). Returns the path written.
pub fn env_add(compiler: &mut Compiler, opts: &EnvAdd, force: bool) -> Result<PathBuf, Stop> {
    check_environment_name(&opts.name)?;
    if !(opts.scale.is_finite() && opts.scale > 0.0) {
        return Err(Error::invalid(format!(
            "--scale must be a number greater than 0, not {}",
            opts.scale
        ))
        .into());
    }
    let source_path = source_path(&opts.from)?;
    let target = Path::new(ENVIRONMENTS).join(format!("{}.yaml", opts.name));
    if target.exists() && !force {
        return Err(Error::invalid(format!(
            "refusing to overwrite {} (nothing was written)",
            target.display()
        ))
        .with_help("pass --force to overwrite it")
        .into());
    }
    let loaded = load::load(&source_path, &compiler.root, &mut compiler.sources)?;
    let source = validate::validate(&loaded)?;
    if source_path
        .canonicalize()
        .ok()
        .zip(target.canonicalize().ok())
        .is_some_and(|(a, b)| a == b)
    {
        return Err(Error::invalid("an environment cannot be derived from itself").into());
    }
    let namespace = match &opts.namespace {
        Some(ns) if is_dns_label(ns) => ns.clone(),
        Some(ns) => {
            return Err(
                Error::invalid(format!("--namespace {ns:?} is not a DNS-1123 label")).into(),
            );
        }
        None => derive_namespace(&source.namespace, &source.environment, &opts.name),
    };
    let source_file = source_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut limits: Vec<(String, Limits, bool)> = source
        .node_pools
        .iter()
        .map(|(name, p)| {
            let l = Limits {
                cpu: (p.limits.cpu.cores() * opts.scale).ceil().max(1.0) as u64,
                memory_gib: (p.limits.memory.gib() * opts.scale).ceil().max(1.0) as u64,
            };
            (name.clone(), l, false)
        })
        .collect();
    let previous = std::fs::read_to_string(&target).ok();
    let restore = || match &previous {
        Some(text) => std::fs::write(&target, text).map_err(|e| Error::io("restore", &target, e)),
        None => std::fs::remove_file(&target).map_err(|e| Error::io("remove", &target, e)),
    };
    // Two passes: the scaled limits, then limits raised to what the plan of the new spec needs
    // (minimum replica counts and Redis do not shrink with the target).
    for pass in 0..2 {
        let text = render_env(opts, &source_file, &source, &namespace, &limits);
        std::fs::write(&target, &text).map_err(|e| Error::io("write", &target, e))?;
        let planned = match compiler.plan(&target) {
            Ok(p) => p,
            Err(Stop::PlanErrors(p)) if pass == 0 => *p,
            Err(stop) => {
                restore()?;
                return Err(stop);
            }
        };
        let mut raised = false;
        for (name, l, was_raised) in &mut limits {
            let Some(pool) = planned
                .plan
                .capacity
                .node_pools
                .iter()
                .find(|p| &p.name == name)
            else {
                continue;
            };
            let t = &pool.totals;
            let nodes = pool.count_at_requests;
            let cpu = (t.resources.cpu_limit_cores_at_max.ceil() as u64)
                .max(nodes * u64::from(pool.instance.vcpu));
            let mem = (t.resources.memory_limit_gib_at_max.ceil() as u64)
                .max((nodes as f64 * pool.instance.memory_gib).ceil() as u64);
            if cpu > l.cpu || mem > l.memory_gib {
                l.cpu = l.cpu.max(cpu);
                l.memory_gib = l.memory_gib.max(mem);
                *was_raised = true;
                raised = true;
            }
        }
        if !raised {
            if planned.plan.has_errors() {
                restore()?;
                return Err(Stop::PlanErrors(Box::new(planned)));
            }
            return Ok(target);
        }
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_never_collide_with_the_source() {
        assert_eq!(
            derive_namespace("tacos-staging", "staging", "qa"),
            "tacos-qa"
        );
        assert_eq!(derive_namespace("tacos-app", "prod", "qa"), "tacos-app-qa");
        assert_eq!(derive_namespace("prod", "prod", "qa"), "prod-qa");
        let long = "a".repeat(63);
        let ns = derive_namespace(&long, "prod", "qa");
        assert!(is_dns_label(&ns) && ns.ends_with("-qa"), "{ns}");
    }

    #[test]
    fn project_names_are_labels() {
        assert_eq!(project_name(Path::new("/tmp/My Shop_2")), "my-shop-2");
        assert_eq!(project_name(Path::new("/")), "app");
    }

    #[test]
    fn every_placeholder_is_filled() {
        let files = init_files("shop", &["dev".into(), "prod".into(), "qa".into()]).unwrap();
        for f in &files {
            assert!(
                !f.content.contains("${"),
                "{}: {}",
                f.path.display(),
                f.content
            );
        }
        assert_eq!(files.len(), 8);
    }

    #[test]
    fn bad_environment_names_are_refused() {
        for bad in ["Prod", "base-x", "a_b", "", "dev,prod"] {
            assert!(init_files("shop", &[bad.into()]).is_err(), "{bad}");
        }
        assert!(init_files("shop", &["dev".into(), "dev".into()]).is_err());
    }
}
