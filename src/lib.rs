//! tacosgen compiles a typed environment spec into complete, verified Kubernetes, Redis,
//! Karpenter, monitoring and load-test files.
//!
//! The pipeline, one module per stage, data flowing one way:
//!
//! ```text
//! load ──▶ validate ──▶ plan ──▶ render ──▶ verify ──▶ emit (out/<env>/) or diff
//! ```
//!
//! [`Compiler`] runs the stages for one spec; the CLI (`cli.rs`) only parses arguments,
//! calls it and prints.

pub mod capacity;
pub mod checks;
pub mod cli;
pub mod compiled;
pub mod crds;
pub mod diff;
pub mod emit;
pub mod error;
pub mod explain;
pub mod fastyaml;
pub mod findings;
pub mod generate;
pub mod heap;
pub mod image;
pub mod load;
pub mod observe;
pub mod par;
pub mod plan;
pub mod promrule;
pub mod render;
pub mod report;
pub mod scaffold;
pub mod schema;
pub mod show;
mod skeleton;
pub mod spec;
pub mod units;
pub mod validate;
pub mod verify;
mod view;

/// Synthetic specs for the unit tests (the benchmarks' generator).
#[cfg(test)]
#[path = "../benches/common/synth.rs"]
mod synth;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use error::{Error, Loc, Result, Sources};
use plan::{Finding, Plan, Severity};
use render::{OutputFile, Templates};
use verify::Document;

/// Why a compilation stopped.
#[derive(Debug)]
pub enum Stop {
    /// Invalid input (exit 2): the spec, a template, or the file system.
    Invalid(Vec<Error>),
    /// The spec is well-formed but the plan has errors (exit 1).
    PlanErrors(Box<Planned>),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Stop {
        Stop::Invalid(vec![e])
    }
}

impl From<Vec<Error>> for Stop {
    fn from(e: Vec<Error>) -> Stop {
        Stop::Invalid(e)
    }
}

/// A planned spec with what is needed to point findings at their lines.
#[derive(Debug)]
pub struct Planned {
    /// Shared: the templates read it in place (see `view`).
    pub plan: Arc<Plan>,
    pub tree: load::Node,
}

impl Planned {
    /// The spec location a finding is about (its field, or the nearest parent present).
    pub fn locate(&self, finding: &Finding) -> Loc {
        let node = self.tree.find(finding.path.split('.'));
        node.loc
    }

    /// The warnings of the plan.
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.plan
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
    }
}

/// A compiled environment: its plan and its rendered, verified files.
#[derive(Debug)]
pub struct Compiled {
    pub planned: Planned,
    pub files: Vec<OutputFile>,
    /// Parsed Kubernetes documents of each file (empty for other files), same order as `files`.
    pub documents: Vec<Vec<Document>>,
    /// The files written beside the output directory, ready to be swapped in
    /// ([`Compiler::build`] only).
    pub staged: Option<emit::Staged>,
    /// The files compared with the output directory: set exactly when compiled with
    /// [`Keep::Compared`] (its `spec` is not set).
    pub compared: Option<Result<diff::EnvDiff>>,
}

/// Runs the pipeline. Holds the source texts (for error snippets) and the template
/// environment, which is built once, on first use.
pub struct Compiler {
    pub sources: Sources,
    root: PathBuf,
    templates_dir: Option<PathBuf>,
    templates: OnceLock<Result<Templates>>,
}

impl Compiler {
    /// `root` confines `extends` and names specs in headers (normally the repository root).
    pub fn new(root: PathBuf, templates_dir: Option<PathBuf>) -> Compiler {
        Compiler {
            sources: Sources::default(),
            root,
            templates_dir,
            templates: OnceLock::new(),
        }
    }

    /// The repository root of the current directory.
    pub fn for_current_dir(templates_dir: Option<PathBuf>) -> Result<Compiler> {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::invalid(format!("cannot read the current directory: {e}")))?;
        Ok(Compiler::new(load::repo_root(&cwd), templates_dir))
    }

    /// load → validate → plan. Plan errors are returned as [`Stop::PlanErrors`].
    pub fn plan(&mut self, spec_path: &Path) -> Result<Planned, Stop> {
        plan_spec(spec_path, &self.root, &mut self.sources)
    }

    /// [`Compiler::plan`] while a second core prepares the later stages (see `warming`).
    fn plan_warming(&mut self, spec_path: &Path) -> Result<Planned, Stop> {
        self.warming(|root, sources| plan_spec(spec_path, root, sources))
    }

    /// Runs `f` while a second core, if there is one, reads and parses the templates of
    /// `--templates DIR` (needed after planning). Nothing else needs start-up work: the
    /// embedded templates and the spec's schema are compiled into the binary (BENCHMARKS.md,
    /// steps 35 and 44), so without a directory no thread is started.
    fn warming<T: Send>(&mut self, f: impl FnOnce(&Path, &mut Sources) -> T + Send) -> T {
        if self.templates_dir.is_none() || par::threads_for(1, 1) < 2 {
            return f(&self.root, &mut self.sources);
        }
        let Compiler {
            sources,
            root,
            templates_dir,
            templates: cell,
        } = self;
        std::thread::scope(|s| {
            s.spawn(|| cell.get_or_init(|| build_templates(templates_dir.as_deref())));
            f(root, sources)
        })
    }

    fn templates(&self) -> Result<&Templates> {
        self.templates
            .get_or_init(|| build_templates(self.templates_dir.as_deref()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The capacity report of a plan as text (`tacosgen plan`).
    pub fn capacity_report(&self, plan: &Arc<Plan>) -> Result<String> {
        self.templates()?.render_capacity(plan)
    }

    /// The whole pipeline up to (not including) writing.
    pub fn compile(&mut self, spec_path: &Path) -> Result<Compiled, Stop> {
        self.compile_keeping(spec_path, Keep::Documents)
    }

    /// [`Compiler::compile`] for `build`, which writes the files and needs no parsed
    /// documents (`documents` is empty): less memory and time for large environments.
    pub fn compile_files(&mut self, spec_path: &Path) -> Result<Compiled, Stop> {
        self.compile_keeping(spec_path, Keep::Files)
    }

    /// [`Compiler::compile_files`] that also stages the files for `out/<env>/` while they
    /// are verified (see [`emit::Staged`]): `staged` is set; dropping it removes them.
    pub fn build(&mut self, spec_path: &Path, out: &Path) -> Result<Compiled, Stop> {
        self.compile_keeping(spec_path, Keep::Staged(out))
    }

    fn compile_keeping(&mut self, spec_path: &Path, keep: Keep) -> Result<Compiled, Stop> {
        let planned = self.plan_warming(spec_path)?;
        finish(planned, self.templates()?, keep)
    }

    /// Compiles several specs (`--all`), results in their order, on every core: the specs
    /// are loaded first, one after the other (loading records the sources error messages
    /// quote), then planned in parallel; a spec of an environment an earlier one builds is
    /// refused (see [`one_spec_per_environment`]), and the others are rendered, verified and,
    /// for a build, staged in parallel.
    pub fn compile_all(&mut self, specs: &[PathBuf], keep: Keep) -> Vec<Result<Compiled, Stop>> {
        if let [one] = specs {
            return vec![self.compile_keeping(one, keep)];
        }
        let loaded: Vec<Result<load::Loaded>> = self.warming(|root, sources| {
            specs
                .iter()
                .map(|p| timed("load", || load::load(p, root, sources)))
                .collect()
        });
        let templates = self.templates();
        let threads = par::threads_for(specs.len(), 2);
        let planned = par::map_owned(loaded, threads, |loaded| plan_loaded(loaded?));
        let planned = one_spec_per_environment(specs, planned);
        par::map_owned(planned, threads, |planned| {
            finish(planned?, templates.as_ref().map_err(Clone::clone)?, keep)
        })
    }
}

/// What a compilation keeps besides the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep<'a> {
    /// The parsed documents too (`show`, `generate`).
    Documents,
    /// Only the files.
    Files,
    /// The files, staged for the output directory under this one ([`Compiler::build`]).
    Staged(&'a Path),
    /// The files, compared with the output directory under this one (check, diff).
    Compared(&'a Path),
}

/// Each environment is built from one spec: a second spec of the same environment would
/// write the same `out/<env>/` (the last one silently winning), and a build that stages
/// both at once would wait on its own lock. The later spec (in path order) is refused.
fn one_spec_per_environment(
    specs: &[PathBuf],
    planned: Vec<Result<Planned, Stop>>,
) -> Vec<Result<Planned, Stop>> {
    let mut first: HashMap<String, &Path> = HashMap::new();
    specs
        .iter()
        .zip(planned)
        .map(|(spec, planned)| {
            let Ok(p) = &planned else { return planned };
            let environment = &p.plan.environment;
            let Some(other) = first.get(environment) else {
                first.insert(environment.clone(), spec);
                return planned;
            };
            let at = p.tree.find(["environment"]).loc;
            Err(Stop::from(
                Error::invalid(format!(
                    "environment `{environment}` is also built from {}",
                    other.display()
                ))
                .at(Some(at))
                .with_path("environment")
                .with_label("a second spec of this environment")
                .with_help(
                    "each environment is built from one spec: rename this one's environment, \
                     or move one of the two files out of environments/ (or name it `_*.yaml` \
                     or `base*.yaml`, which `--all` skips)",
                ),
            ))
        })
        .collect()
}

/// render → verify (and stage, for a build).
fn finish(planned: Planned, templates: &Templates, keep: Keep) -> Result<Compiled, Stop> {
    let files = timed("render", || templates.render(&planned.plan))?;
    let namespace = &planned.plan.namespace;
    let check = || timed("verify", || verify::check(&files, namespace));
    let (documents, staged, compared) = match keep {
        Keep::Documents => (
            timed("verify", || verify::verify(&files, namespace))?,
            None,
            None,
        ),
        Keep::Files => {
            check()?;
            (Vec::new(), None, None)
        }
        Keep::Staged(out) => {
            // The tree is written, and waited for until the disk has it, while it is
            // verified; it is swapped in only once verified (and dropped, so removed, if not).
            let dir = out.join(&planned.plan.environment);
            let stage = || timed("stage", || emit::stage(&dir, &files));
            let (checked, staged) = par::join(true, check, stage);
            checked?;
            (Vec::new(), Some(staged?), None)
        }
        Keep::Compared(out) => {
            // Reading the committed tree does not depend on the checks: for large
            // environments it runs on another core meanwhile (BENCHMARKS.md, step 52).
            let env = &planned.plan.environment;
            let dir = out.join(env);
            let compare = || timed("compare", || diff::compare(None, env, &files, &dir));
            let bytes = files.iter().map(|f| f.content.len()).sum();
            let parallel = par::threads_for(bytes, COMPARE_PARALLEL_MIN_BYTES) > 1;
            let (checked, compared) = par::join(parallel, check, compare);
            checked?;
            (Vec::new(), None, Some(compared))
        }
    };
    Ok(Compiled {
        planned,
        files,
        documents,
        staged,
        compared,
    })
}

/// From this much output on, a check compares it with the committed tree on another core
/// while verify runs: below, a thread start costs as much as the comparison.
const COMPARE_PARALLEL_MIN_BYTES: usize = 1 << 20;

fn plan_spec(spec_path: &Path, root: &Path, sources: &mut Sources) -> Result<Planned, Stop> {
    let loaded = timed("load", || load::load(spec_path, root, sources))?;
    plan_loaded(loaded)
}

/// validate → plan.
fn plan_loaded(loaded: load::Loaded) -> Result<Planned, Stop> {
    let spec = timed("validate", || validate::validate(&loaded))?;
    let plan = timed("plan", || plan::plan(&spec, &loaded.display_path));
    let planned = Planned {
        plan: Arc::new(plan),
        tree: loaded.tree,
    };
    if planned.plan.has_errors() {
        return Err(Stop::PlanErrors(Box::new(planned)));
    }
    Ok(planned)
}

fn build_templates(dir: Option<&Path>) -> Result<Templates> {
    timed("templates", || {
        let templates = Templates::new(dir)?;
        // The compiled default templates are checked against minijinja by the tests; this
        // lets anyone compare the two on their own spec (and time them).
        Ok(match std::env::var_os("TACOSGEN_INTERPRET") {
            Some(_) => templates.interpreted(),
            None => templates,
        })
    })
}

/// Runs one stage; with `TACOSGEN_TIMINGS` set, prints how long it took and the page faults
/// the process made meanwhile (other threads' too, for a template or document timed on one
/// of several threads) to stderr. The profile in BENCHMARKS.md comes from this, in the
/// release binary users run.
pub fn timed<T>(stage: &str, f: impl FnOnce() -> T) -> T {
    if !timings() {
        return f();
    }
    let faults = page_faults();
    let started = std::time::Instant::now();
    let value = f();
    eprintln!(
        "timing: {stage:<10} {:>9.3} ms {:>6} page faults",
        started.elapsed().as_secs_f64() * 1e3,
        page_faults() - faults
    );
    value
}

/// Whether `TACOSGEN_TIMINGS` is set (read once).
pub(crate) fn timings() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("TACOSGEN_TIMINGS").is_some())
}

/// Page faults of the process so far, for [`timed`]: a fresh page costs ~1.4 µs here, and a
/// stage that frees memory hands its pages to the next (BENCHMARKS.md, step 50).
#[cfg(unix)]
fn page_faults() -> libc::c_long {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    usage.ru_minflt + usage.ru_majflt
}

#[cfg(not(unix))]
fn page_faults() -> i64 {
    0
}
