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
pub mod crds;
pub mod diff;
pub mod emit;
pub mod error;
pub mod explain;
pub mod fastyaml;
pub mod findings;
pub mod generate;
pub mod image;
pub mod load;
pub mod observe;
pub mod par;
pub mod plan;
pub mod promrule;
pub mod render;
pub mod report;
pub mod scaffold;
pub mod show;
pub mod spec;
pub mod units;
pub mod validate;
pub mod verify;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

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
    pub plan: Plan,
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
        let loaded = load::load(spec_path, &self.root, &mut self.sources)?;
        let spec = validate::validate(&loaded)?;
        let plan = plan::plan(&spec, &loaded.display_path);
        let planned = Planned {
            plan,
            tree: loaded.tree,
        };
        if planned.plan.has_errors() {
            return Err(Stop::PlanErrors(Box::new(planned)));
        }
        Ok(planned)
    }

    fn templates(&self) -> Result<&Templates> {
        self.templates
            .get_or_init(|| Templates::new(self.templates_dir.as_deref()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The capacity report of a plan as text (`tacosgen plan`).
    pub fn capacity_report(&self, plan: &Plan) -> Result<String> {
        self.templates()?.render_capacity(plan)
    }

    /// The whole pipeline up to (not including) writing.
    pub fn compile(&mut self, spec_path: &Path) -> Result<Compiled, Stop> {
        let planned = self.plan(spec_path)?;
        let templates = self.templates()?;
        let files = templates.render(&planned.plan)?;
        let documents = verify::verify(&files, &planned.plan.namespace)?;
        Ok(Compiled {
            planned,
            files,
            documents,
        })
    }

    /// [`Compiler::compile`] for `build`, which writes the files and needs no parsed
    /// documents (`documents` is empty): less memory and time for large environments.
    pub fn compile_files(&mut self, spec_path: &Path) -> Result<Compiled, Stop> {
        let planned = self.plan(spec_path)?;
        let files = self.templates()?.render(&planned.plan)?;
        verify::check(&files, &planned.plan.namespace)?;
        let documents = Vec::new();
        Ok(Compiled {
            planned,
            files,
            documents,
        })
    }
}
