//! The getting-started commands: `init`, `env add`, `show`, `explain FIELD`, `completions` and
//! `man`. Parsing stays in `cli.rs`; the work is in `scaffold.rs`, `show.rs` and `explain.rs`.

use std::io::Write;
use std::path::Path;

use super::{Cli, EnvAddArgs, InitArgs, ShowArgs, ShowFormat, Ui};
use crate::error::{Error, ExitCode};
use crate::{Compiler, Stop};

pub fn explain_field(ui: &Ui, field: &str) -> ExitCode {
    match crate::explain::explain_field(field) {
        Ok(text) => {
            print!("{text}");
            ExitCode::Success
        }
        Err(e) => ui_fail(ui, &e),
    }
}

pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    // Into a buffer first: clap_complete panics on a write error (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "tacosgen", &mut script);
    write_stdout(&script)
}

pub fn man(command: Option<&str>) -> ExitCode {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    if let Some(name) = command {
        let Some(sub) = cmd.find_subcommand(name).cloned() else {
            let names: Vec<String> = cmd
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .collect();
            eprintln!(
                "error: no command {name:?}; the commands are: {}",
                names.join(", ")
            );
            return ExitCode::Invalid;
        };
        // clap wants a 'static name; the process prints one page and exits.
        let page: &'static str = Box::leak(format!("tacosgen-{name}").into_boxed_str());
        cmd = sub.name(page).version(env!("CARGO_PKG_VERSION"));
    }
    let mut page = Vec::new();
    match clap_mangen::Man::new(cmd).render(&mut page) {
        Ok(()) => write_stdout(&page),
        Err(e) => {
            eprintln!("error: cannot render the manual page: {e}");
            ExitCode::Invalid
        }
    }
}

pub fn init(ui: &Ui, args: &InitArgs) -> ExitCode {
    let envs: Vec<String> = if args.envs.is_empty() {
        crate::scaffold::DEFAULT_ENVIRONMENTS
            .iter()
            .map(|e| e.to_string())
            .collect()
    } else {
        args.envs.clone()
    };
    if let Err(e) = std::fs::create_dir_all(&args.dir) {
        return ui_fail(ui, &Error::io("create", &args.dir, e));
    }
    let project = crate::scaffold::project_name(&args.dir);
    let written = crate::scaffold::init_files(&project, &envs).and_then(|files| {
        crate::scaffold::write_files(&args.dir, &files, args.force).map(|()| files)
    });
    match written {
        Ok(files) => {
            for f in &files {
                ui.detail(|| {
                    let path = crate::scaffold::shown_path(&args.dir, &f.path);
                    format!("  {}", path.display())
                });
            }
            let cd = if args.dir == Path::new(".") {
                String::new()
            } else {
                format!("cd {} && ", args.dir.display())
            };
            ui.info(&format!(
                "created {} files in {} (environments: {}); next: {cd}tacosgen build --all",
                files.len(),
                args.dir.display(),
                envs.join(", ")
            ));
            ExitCode::Success
        }
        Err(e) => ui_fail(ui, &e),
    }
}

fn ui_fail(ui: &Ui, e: &Error) -> ExitCode {
    eprintln!("{}", e.render(&Default::default(), ui.color));
    ExitCode::Invalid
}

pub fn env_add(ui: &Ui, args: &EnvAddArgs) -> ExitCode {
    let opts = crate::scaffold::EnvAdd {
        name: args.name.clone(),
        from: args.from.clone(),
        scale: args.scale,
        namespace: args.namespace.clone(),
    };
    let mut compiler = match Compiler::for_current_dir(None) {
        Ok(c) => c,
        Err(e) => return ui_fail(ui, &e),
    };
    match crate::scaffold::env_add(&mut compiler, &opts, args.force) {
        Ok(path) => {
            ui.info(&format!(
                "wrote {}; next: tacosgen plan {0} && tacosgen build {0}",
                path.display()
            ));
            ExitCode::Success
        }
        Err(stop) => {
            if let Stop::PlanErrors(_) = &stop {
                ui.info("error: the derived spec has plan errors; it was not kept");
            }
            ui.stop(&compiler, &stop)
        }
    }
}

pub fn show(ui: &Ui, args: &ShowArgs) -> ExitCode {
    let mut compiler = match Compiler::for_current_dir(args.templates.clone()) {
        Ok(c) => c,
        Err(e) => return ui_fail(ui, &e),
    };
    let started = std::time::Instant::now();
    let compiled = match compiler.compile(&args.spec) {
        Ok(c) => c,
        Err(stop) => return ui.stop(&compiler, &stop),
    };
    ui.detail(|| {
        format!(
            "{}: compiled in {:.1?}",
            args.spec.display(),
            started.elapsed()
        )
    });
    let planned = &compiled.planned;
    ui.findings(&compiler, planned, planned.warnings());
    let header = &planned.plan.header;
    let objects = crate::show::objects(header, &compiled.files, &compiled.documents);
    match crate::show::filter(objects, args.kind.as_deref(), args.name.as_deref()) {
        Ok(objects) => {
            match args.output {
                ShowFormat::Yaml => print!("{}", crate::show::yaml(header, &objects)),
                ShowFormat::Json => print!("{}", crate::show::json(&objects)),
            }
            ExitCode::Success
        }
        Err(e) => {
            ui.error(&compiler, &e);
            ExitCode::Findings
        }
    }
}

fn write_stdout(bytes: &[u8]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::Success,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::Success,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            ExitCode::Invalid
        }
    }
}
