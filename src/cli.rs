//! The command line: argument parsing and printing. Every command calls the library and maps
//! its outcome to an exit code; results go to stdout, messages to stderr.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Error, ExitCode};
use crate::plan::{Finding, Severity};
use crate::{Compiled, Compiler, Keep, Planned, Stop, diff, emit};

mod start;

const EXIT_CODES: &str = "Examples:
  tacosgen init shop && cd shop && tacosgen build --all
  tacosgen plan environments/prod.yaml
  tacosgen explain 'services.*.perPodRps'

Exit codes:
  0  success (for diff/check: no differences)
  1  the spec is well-formed but its plan has errors (or diff/check found differences)
  2  invalid input, usage error or I/O failure";

#[derive(Parser, Debug)]
#[command(
    name = "tacosgen",
    version,
    about = "Compile a typed environment spec into verified Kubernetes, Redis, Karpenter, monitoring and load-test files",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// When to colour messages.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only errors.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also print stage timings and every file written, on stderr.
    #[arg(long, short, global = true)]
    pub verbose: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new repository: environments/, schema, pre-commit hook, .gitignore, README.
    #[command(
        after_help = "Writes environments/base.yaml and one environments/<env>.yaml per --env (default: dev
and prod), schemas/tacosgen.schema.json, .pre-commit-config.yaml, .gitignore and README.md.
Namespaces are <directory name>-<env>. `tacosgen build --all` succeeds in the new directory.
Existing files are never overwritten without --force: nothing is written and the exit code is 2.

Examples:
  tacosgen init shop
  tacosgen init . --env dev --env staging --env prod
  tacosgen init shop --force"
    )]
    Init(InitArgs),
    /// Manage environments: `env add` derives a new one from an existing one.
    #[command(
        subcommand,
        after_help = "Examples:\n  tacosgen env add staging --from prod --scale 0.1"
    )]
    Env(EnvCommand),
    /// Print the compiled Kubernetes objects without writing anything, optionally filtered.
    #[command(
        after_help = "Like `tk show` or `helm template`. A filter that matches nothing exits 1 and lists
the kinds (or the names) there are.

Examples:
  tacosgen show environments/prod.yaml
  tacosgen show environments/prod.yaml --kind deployment --name gateway-api
  tacosgen show environments/prod.yaml --kind hpa      # kubectl short names work too
  tacosgen show environments/dev.yaml --kind HorizontalPodAutoscaler --output json | jq '.items[].spec.maxReplicas'"
    )]
    Show(ShowArgs),
    /// Compile specs and write out/<env>/ atomically.
    #[command(after_help = "Examples:
  tacosgen build environments/prod.yaml
  tacosgen build --all
  tacosgen build --all --output json | jq -r .dir
  tacosgen build environments/dev.yaml --out /tmp/out --templates my-templates/")]
    Build(BuildArgs),
    /// Print the capacity plan: derived numbers, their calculation, resources, nodes, cost and
    /// findings.
    #[command(after_help = "Examples:
  tacosgen plan environments/prod.yaml
  tacosgen plan environments/prod.yaml --output json | jq .cost
  tacosgen plan --all --deny-warnings

With several specs, text reports follow each other and JSON objects are printed one after
another (a JSON stream, as `jq` reads it).

Exit codes: 0 plan without errors; 1 the plan has errors (or warnings with --deny-warnings),
the report is still printed; 2 invalid input.")]
    Plan(PlanArgs),
    /// Explain a finding code (TG001...) or a spec field, or list all codes.
    #[command(
        after_help = "A field is a dotted path; map entries are `*` or a name, list items `*` or nothing (quote
the path in the shell).
Its documentation, type, default and allowed values come from the JSON Schema
(`tacosgen schema`), the same text editors show.

Examples:
  tacosgen explain TG007
  tacosgen explain 'services.*.perPodRps'
  tacosgen explain 'nodePools.*.consolidation.policy'
  tacosgen explain slo
  tacosgen explain"
    )]
    Explain {
        /// A finding code (TG007, case-insensitive) or a field (services.*.perPodRps). Omit to
        /// list every code.
        #[arg(value_name = "CODE|FIELD")]
        topic: Option<String>,
    },
    /// Show what a build would change in out/<env>/: a summary, then a unified diff per object.
    #[command(after_help = "Examples:
  tacosgen diff environments/prod.yaml
  tacosgen diff --all --output json | jq '.changes[].fields'

Exit codes: 0 no differences, 1 differences, 2 an error (including a spec whose plan has
errors: it cannot be compared).")]
    Diff(DiffArgs),
    /// Fail (exit 1) with the diff when out/ is stale; print nothing when it is up to date.
    #[command(
        after_help = "For CI and the pre-commit hook `tacosgen-check`. Writes nothing.

Examples:
  tacosgen check
  tacosgen check environments/prod.yaml

Exit codes: 0 up to date, 1 out/ differs from the specs, 2 an error."
    )]
    Check(CheckArgs),
    /// Print one environment's Kubernetes objects as a YAML stream (the Argo CD plugin command).
    #[command(
        after_help = "The environment comes from, in order: SPEC; the plugin parameter
`environment` (PARAM_ENVIRONMENT or ARGOCD_APP_PARAMETERS); ARGOCD_ENV_TACOSGEN_ENV.
A name resolves to environments/<name>.yaml in the current directory. On failure stdout is
empty and stderr holds one line.

Examples:
  tacosgen generate prod
  tacosgen generate environments/prod.yaml | kubectl apply --dry-run=server -f -
  ARGOCD_ENV_TACOSGEN_ENV=staging tacosgen generate"
    )]
    Generate(GenerateArgs),
    /// Print the JSON Schema of a spec.
    #[command(after_help = "Examples:
  tacosgen schema > schemas/tacosgen.schema.json
  tacosgen schema | jq '.\"$defs\".Service.properties | keys'")]
    Schema,
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  tacosgen completions bash > ~/.local/share/bash-completion/completions/tacosgen
  tacosgen completions zsh > ~/.zfunc/_tacosgen
  tacosgen completions fish > ~/.config/fish/completions/tacosgen.fish
  tacosgen completions powershell >> $PROFILE")]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) of tacosgen or of one command.
    #[command(after_help = "Examples:
  tacosgen man | man -l -
  tacosgen man > /usr/local/share/man/man1/tacosgen.1
  tacosgen man init > /usr/local/share/man/man1/tacosgen-init.1")]
    Man {
        /// A command (tacosgen-COMMAND(1)); omit for tacosgen(1).
        command: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum EnvCommand {
    /// Write environments/NAME.yaml: extends another environment, scaled.
    #[command(
        after_help = "The new spec `extends` the source and overrides only what must differ: environment,
namespace (the source's with its `-<source env>` suffix replaced by `-NAME`, else with `-NAME`
appended), slo.targetRps × SCALE, node-pool limits × SCALE rounded up to whole cores and GiB
(raised where the scaled workloads need more), replica, disruption-budget and node-count pins
dropped (derived again), RPS alert margins and absolute load-test rates and VUs × SCALE.
The new spec is compiled before the command succeeds; an existing file is refused without
--force.

Examples:
  tacosgen env add staging --from prod --scale 0.1
  tacosgen env add perf --from prod --scale 1.5 --namespace tacos-perf"
    )]
    Add(EnvAddArgs),
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The directory to create or fill.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// An environment to create (repeatable; default: dev and prod).
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct EnvAddArgs {
    /// The new environment's name (environments/NAME.yaml).
    pub name: String,
    /// The environment to derive from: a name (environments/<from>.yaml) or a spec path.
    #[arg(long, value_name = "ENV")]
    pub from: String,
    /// Factor for the target RPS and everything sized by it.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Namespace of the new environment (default: derived from the source's).
    #[arg(long)]
    pub namespace: Option<String>,
    /// Overwrite an existing environments/NAME.yaml.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The spec file (environments/<env>.yaml).
    pub spec: PathBuf,
    /// Only objects of this kind (case-insensitive, e.g. deployment, or a kubectl short name
    /// such as hpa).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only objects with this metadata.name (exact).
    #[arg(long)]
    pub name: Option<String>,
    /// A YAML stream, or one JSON `List` object.
    #[arg(long, value_enum, default_value_t = ShowFormat::Yaml)]
    pub output: ShowFormat,
    /// Template directory whose *.j2 files replace the built-in ones of the same name.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    Yaml,
    Json,
}

#[derive(Args, Debug)]
pub struct SpecArgs {
    /// Spec files (environments/<env>.yaml).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub specs: Vec<PathBuf>,
    /// Every environments/*.yaml except base files (names starting with `_` or `base`).
    #[arg(long)]
    pub all: bool,
    /// Template directory whose *.j2 files replace the built-in ones of the same name.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Output root; each environment goes to <DIR>/<environment>/.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Messages only, or also one JSON summary line per spec on stdout (spec, environment,
    /// dir, written, files).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Report format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Output root to compare with; each environment is in <DIR>/<environment>/.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Human-readable diff, or a JSON list of changes with their changed field paths.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Spec files (environments/<env>.yaml); every environment when none is given.
    #[arg(conflicts_with = "all")]
    pub specs: Vec<PathBuf>,
    /// Every environments/*.yaml (the default).
    #[arg(long)]
    pub all: bool,
    /// Template directory whose *.j2 files replace the built-in ones of the same name.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Output root to compare with; each environment is in <DIR>/<environment>/.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// A spec path, or an environment name (environments/<name>.yaml).
    pub spec: Option<String>,
}

/// Parses the arguments and runs the command; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => ExitCode::Invalid as i32,
            };
        }
    };
    run(&cli) as i32
}

/// Output settings shared by the commands.
pub struct Ui {
    pub color: bool,
    pub quiet: bool,
    pub verbose: bool,
}

impl Ui {
    fn new(cli: &Cli) -> Ui {
        let color = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
            }
        };
        Ui {
            color,
            quiet: cli.quiet,
            verbose: cli.verbose,
        }
    }

    /// A message for `--verbose` only.
    pub fn detail(&self, msg: impl FnOnce() -> String) {
        if self.verbose {
            eprintln!("{}", msg());
        }
    }

    pub fn error(&self, compiler: &Compiler, e: &Error) {
        eprintln!("{}", e.render(&compiler.sources, self.color));
    }

    pub fn info(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }

    /// Prints findings as errors or warnings pointing at the spec line they are about.
    pub fn findings<'a>(
        &self,
        compiler: &Compiler,
        planned: &Planned,
        findings: impl Iterator<Item = &'a Finding>,
    ) {
        for f in findings {
            if f.severity == Severity::Info || (self.quiet && f.severity == Severity::Warning) {
                continue;
            }
            let mut e = Error::invalid(format!("[{}] {}", f.code, f.message))
                .with_path(&f.path)
                .at(Some(planned.locate(f)))
                .with_help(format!("run `tacosgen explain {}` for details", f.code));
            if f.severity == Severity::Warning {
                e = e.with_help(format!(
                    "accept it with `acknowledge: [{{code: {}, reason: ...}}]` in the spec",
                    f.code
                ));
                let text = e
                    .render(&compiler.sources, self.color)
                    .replacen("error", "warning", 1);
                eprintln!("{text}");
            } else {
                self.error(compiler, &e);
            }
        }
    }

    /// Reports a stopped compilation and returns its exit code.
    pub fn stop(&self, compiler: &Compiler, stop: &Stop) -> ExitCode {
        match stop {
            Stop::Invalid(errors) => {
                for e in errors {
                    self.error(compiler, e);
                }
                ExitCode::Invalid
            }
            Stop::PlanErrors(planned) => {
                self.findings(compiler, planned, planned.plan.findings.iter());
                ExitCode::Findings
            }
        }
    }
}

fn run(cli: &Cli) -> ExitCode {
    let ui = Ui::new(cli);
    match &cli.command {
        Command::Build(args) => build(&ui, args),
        Command::Plan(args) => plan(&ui, args),
        Command::Init(args) => start::init(&ui, args),
        Command::Env(EnvCommand::Add(args)) => start::env_add(&ui, args),
        Command::Show(args) => start::show(&ui, args),
        Command::Explain { topic: Some(t) } if !crate::explain::is_code(t) => {
            start::explain_field(&ui, t)
        }
        Command::Explain { topic } => explain(topic.as_deref()),
        Command::Completions { shell } => start::completions(*shell),
        Command::Man { command } => start::man(command.as_deref()),
        Command::Diff(args) => diff_cmd(&ui, cli.color, args),
        Command::Check(args) => check(&ui, cli.color, args),
        Command::Generate(args) => {
            let inputs = crate::generate::Inputs::from_env(args.spec.clone());
            crate::generate::run(&inputs, ui.quiet)
        }
        Command::Schema => {
            print!("{}", crate::validate::schema_json());
            ExitCode::Success
        }
    }
}

/// The spec files named on the command line, or every environment with `--all`.
pub fn spec_paths(args: &SpecArgs) -> Result<Vec<PathBuf>, Error> {
    if !args.all {
        return Ok(args.specs.clone());
    }
    let dir = Path::new("environments");
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::io("list", dir, e)
            .with_help("run from the repository root, or start one with `tacosgen init`")
    })?;
    let mut specs = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io("list", dir, e))?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let is_yaml = name.ends_with(".yaml") || name.ends_with(".yml");
        if is_yaml && !name.starts_with('_') && !name.starts_with("base") {
            specs.push(path);
        }
    }
    specs.sort();
    if specs.is_empty() {
        return Err(
            Error::invalid("no environments/*.yaml found (run from the repository root)")
                .with_help("start a repository with `tacosgen init`"),
        );
    }
    Ok(specs)
}

/// The compiler for the current repository and the specs the arguments name; on failure the
/// error is printed and the exit code returned.
fn start(ui: &Ui, args: &SpecArgs) -> Result<(Compiler, Vec<PathBuf>), ExitCode> {
    let compiler = Compiler::for_current_dir(args.templates.clone()).map_err(|e| {
        eprintln!("{}", e.render(&Default::default(), ui.color));
        ExitCode::Invalid
    })?;
    match spec_paths(args) {
        Ok(specs) => Ok((compiler, specs)),
        Err(e) => {
            ui.error(&compiler, &e);
            Err(ExitCode::Invalid)
        }
    }
}

fn build(ui: &Ui, args: &BuildArgs) -> ExitCode {
    let (mut compiler, specs) = match start(ui, &args.spec) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let started = std::time::Instant::now();
    let results = compiler.compile_all(&specs, Keep::Staged(&args.out));
    ui.detail(|| compiled_in(&specs, started));
    let mut worst = ExitCode::Success;
    for (spec, result) in specs.iter().zip(results) {
        let code = build_one(ui, &compiler, spec, result, args);
        if code as i32 > worst as i32 {
            worst = code;
        }
    }
    worst
}

/// A compilation the process no longer needs once its command is done: the process exits
/// right after, and freeing a large plan, its files and their parsed documents one
/// allocation at a time took ~3 % of a 1,000-service `check` (perf). Like clang's
/// `-disable-free`, the operating system reclaims it at exit instead.
fn never_freed(compiled: Compiled) -> std::mem::ManuallyDrop<Compiled> {
    std::mem::ManuallyDrop::new(compiled)
}

/// `--verbose`: what was compiled and how long it took.
fn compiled_in(specs: &[PathBuf], started: std::time::Instant) -> String {
    let names: Vec<_> = specs.iter().map(|s| s.display().to_string()).collect();
    format!("compiled {} in {:.1?}", names.join(", "), started.elapsed())
}

fn build_one(
    ui: &Ui,
    compiler: &Compiler,
    spec: &Path,
    result: Result<Compiled, Stop>,
    args: &BuildArgs,
) -> ExitCode {
    // Staged files not swapped in (an early return below) are removed when this drops.
    let (compiled, staged) = match result {
        Ok(mut c) => {
            let staged = c.staged.take();
            (never_freed(c), staged)
        }
        Err(stop) => return ui.stop(compiler, &stop),
    };
    let planned = &compiled.planned;
    crate::timed("findings", || {
        ui.findings(compiler, planned, planned.warnings())
    });
    if args.spec.deny_warnings && planned.warnings().next().is_some() {
        ui.info("error: warnings are denied (--deny-warnings); nothing written");
        return ExitCode::Findings;
    }
    let dir = args.out.join(&planned.plan.environment);
    let emitted = crate::timed("emit", || match staged {
        Some(staged) => staged.commit(),
        None => emit::emit(&dir, &compiled.files),
    });
    match emitted {
        Ok(outcome) => {
            let what = match outcome {
                emit::Outcome::Written => "wrote",
                emit::Outcome::Unchanged => "unchanged",
            };
            ui.info(&format!(
                "{}: {what} {} files in {}",
                spec.display(),
                compiled.files.len(),
                dir.display()
            ));
            for f in &compiled.files {
                ui.detail(|| format!("  {}", dir.join(&f.path).display()));
            }
            let _ = std::io::stderr().flush();
            if args.output == OutputFormat::Json {
                let summary = serde_json::json!({
                    "spec": spec,
                    "environment": planned.plan.environment,
                    "dir": dir,
                    "written": outcome == emit::Outcome::Written,
                    "files": compiled.files.iter().map(|f| &f.path).collect::<Vec<_>>(),
                });
                println!("{summary}");
            }
            ExitCode::Success
        }
        Err(e) => {
            ui.error(compiler, &e);
            ExitCode::Invalid
        }
    }
}

fn plan(ui: &Ui, args: &PlanArgs) -> ExitCode {
    let (mut compiler, specs) = match start(ui, &args.spec) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let mut worst = ExitCode::Success;
    for (i, spec) in specs.iter().enumerate() {
        let started = std::time::Instant::now();
        let planned = match compiler.plan(spec) {
            Ok(p) => p,
            Err(Stop::PlanErrors(p)) => *p,
            Err(stop) => {
                worst = ui.stop(&compiler, &stop);
                continue;
            }
        };
        ui.detail(|| format!("{}: planned in {:.1?}", spec.display(), started.elapsed()));
        let out = match args.output {
            OutputFormat::Json => Ok(crate::report::Report::new(&planned.plan).to_json()),
            OutputFormat::Text => compiler.capacity_report(&planned.plan),
        };
        match out {
            Ok(text) => {
                if i > 0 && args.output == OutputFormat::Text {
                    println!();
                }
                print!("{text}");
            }
            Err(e) => {
                ui.error(&compiler, &e);
                worst = ExitCode::Invalid;
                continue;
            }
        }
        let _ = std::io::stdout().flush();
        ui.findings(&compiler, &planned, planned.plan.findings.iter());
        let code = if planned.plan.has_errors() {
            ExitCode::Findings
        } else if args.spec.deny_warnings && planned.warnings().next().is_some() {
            ui.info("error: warnings are denied (--deny-warnings)");
            ExitCode::Findings
        } else {
            ExitCode::Success
        };
        if code as i32 > worst as i32 {
            worst = code;
        }
    }
    worst
}

fn explain(code: Option<&str>) -> ExitCode {
    let list = || {
        crate::findings::CODES
            .iter()
            .map(|c| format!("  {}  {}", c.code, c.title))
            .collect::<Vec<_>>()
            .join("\n")
    };
    match code {
        None => {
            println!(
                "Finding codes (`tacosgen explain CODE` for details):\n{}",
                list()
            );
            ExitCode::Success
        }
        Some(code) => match crate::findings::explain(code) {
            Some(c) => {
                println!(
                    "{}: {}\n\n{}\n\nWhat to change: {}",
                    c.code, c.title, c.explanation, c.fix
                );
                ExitCode::Success
            }
            None => {
                eprintln!(
                    "error: unknown finding code {code:?}; the codes are:\n{}",
                    list()
                );
                ExitCode::Invalid
            }
        },
    }
}

/// Colour for stdout (where diffs go), by the same rules as messages on stderr.
fn stdout_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
        }
    }
}

/// Compiles each spec and compares it with `<out>/<env>/`. Errors are printed as they come;
/// the code is Invalid if any spec could not be compared (plan errors included: a comparison
/// that did not happen must not pass for "no differences" nor for "differences").
fn compare_all(
    ui: &Ui,
    spec: &SpecArgs,
    out: &Path,
    warnings: bool,
) -> (Vec<diff::EnvDiff>, ExitCode) {
    let (mut compiler, specs) = match start(ui, spec) {
        Ok(started) => started,
        Err(code) => return (Vec::new(), code),
    };
    let mut diffs = Vec::new();
    let mut code = ExitCode::Success;
    let started = std::time::Instant::now();
    let results = compiler.compile_all(&specs, Keep::Compared(out));
    ui.detail(|| compiled_in(&specs, started));
    for (path, result) in specs.into_iter().zip(results) {
        let (compiled, compared) = match result {
            Ok(mut c) => {
                let compared = c.compared.take();
                (never_freed(c), compared)
            }
            Err(stop) => {
                ui.stop(&compiler, &stop);
                code = ExitCode::Invalid;
                continue;
            }
        };
        let planned = &compiled.planned;
        if warnings {
            ui.findings(&compiler, planned, planned.warnings());
        }
        if spec.deny_warnings && planned.warnings().next().is_some() {
            ui.info("error: warnings are denied (--deny-warnings); not compared");
            code = ExitCode::Invalid;
            continue;
        }
        match compared.expect("compiled with Keep::Compared") {
            Ok(mut d) => {
                d.spec = Some(path);
                diffs.push(d);
            }
            Err(e) => {
                ui.error(&compiler, &e);
                code = ExitCode::Invalid;
            }
        }
    }
    // Only a complete run knows every environment, so only it can tell an orphan.
    if spec.all && code == ExitCode::Success {
        let envs = diffs.iter().map(|d| d.environment.clone()).collect();
        match diff::orphans(out, &envs) {
            Ok(orphans) => diffs.extend(orphans),
            Err(e) => {
                ui.error(&compiler, &e);
                code = ExitCode::Invalid;
            }
        }
    }
    if code == ExitCode::Success && diffs.iter().any(|d| !d.is_clean()) {
        code = ExitCode::Findings;
    }
    (diffs, code)
}

fn diff_cmd(ui: &Ui, color: ColorChoice, args: &DiffArgs) -> ExitCode {
    let (diffs, code) = compare_all(ui, &args.spec, &args.out, true);
    match args.output {
        OutputFormat::Json => print!("{}", diff::render_json(&diffs)),
        OutputFormat::Text => {
            print!("{}", diff::render_text(&diffs, stdout_color(color)));
            if code == ExitCode::Success {
                ui.info("no differences");
            }
        }
    }
    code
}

fn check(ui: &Ui, color: ColorChoice, args: &CheckArgs) -> ExitCode {
    let spec = SpecArgs {
        all: args.all || args.specs.is_empty(),
        specs: args.specs.clone(),
        templates: args.templates.clone(),
        deny_warnings: false,
    };
    let (diffs, code) = compare_all(ui, &spec, &args.out, false);
    let stale: Vec<_> = diffs.iter().filter(|d| !d.is_clean()).cloned().collect();
    if stale.is_empty() {
        return code;
    }
    print!("{}", diff::render_text(&stale, stdout_color(color)));
    let _ = std::io::stdout().flush();
    let mut fix = Vec::new();
    let specs: Vec<_> = stale.iter().filter_map(|d| d.spec.as_ref()).collect();
    if !specs.is_empty() {
        let mut cmd = String::from("tacosgen build");
        if let Some(t) = &args.templates {
            cmd += &format!(" --templates {}", t.display());
        }
        if args.out != Path::new("out") {
            cmd += &format!(" --out {}", args.out.display());
        }
        for spec in specs {
            cmd += &format!(" {}", spec.display());
        }
        fix.push(cmd);
    }
    for d in stale.iter().filter(|d| d.spec.is_none()) {
        fix.push(if d.unmanaged.is_empty() {
            format!("rm -r {}", d.dir.display())
        } else {
            format!("remove the generated files of {}", d.dir.display())
        });
    }
    eprintln!("out/ is stale; run: {}", fix.join(" && "));
    code
}
