//! Property tests: arbitrary bytes, YAML-like noise and mutated copies of the shipped specs
//! through the real pipeline never panic; they compile, or stop with located errors (exit 2) or
//! plan findings (exit 1). Most cases run in-process through `tacosgen::Compiler` for speed; a
//! few run the binary to check exit codes and the panic hook end to end.

mod common;

use std::cell::RefCell;
use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use tacosgen::{Compiler, Stop};

/// A scratch repository holding the shipped specs; cases overwrite `environments/case.yaml`
/// (and `environments/base.yaml`) in it.
struct Scratch {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        fs::create_dir(root.join(".git")).unwrap();
        fs::create_dir(root.join("environments")).unwrap();
        Scratch { _dir: dir, root }
    }

    fn write(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.root.join("environments").join(name);
        fs::write(&path, content).unwrap();
        path
    }
}

fn shipped(name: &str) -> String {
    fs::read_to_string(common::repo().join("environments").join(name)).unwrap()
}

/// Compiles `spec` and checks the outcome's shape; returns the exit code it maps to.
fn check(compiler: &mut Compiler, spec: &Path) -> Result<i32, TestCaseError> {
    match compiler.compile(spec) {
        Ok(_) => Ok(0),
        Err(Stop::Invalid(errors)) => {
            prop_assert!(!errors.is_empty());
            for e in &errors {
                // Rendering must not panic either (spans at odd positions, lossy text).
                let shown = e.render(&compiler.sources, false);
                prop_assert!(
                    e.loc.is_some() || e.path.is_some() || shown.contains("case.yaml"),
                    "unlocated error: {shown}"
                );
            }
            Ok(2)
        }
        Err(Stop::PlanErrors(planned)) => {
            prop_assert!(planned.plan.has_errors());
            for f in &planned.plan.findings {
                prop_assert!(!f.path.is_empty(), "finding without a path: {f:?}");
            }
            Ok(1)
        }
    }
}

thread_local! {
    static SCRATCH: Scratch = Scratch::new();
    static COMPILER: RefCell<Option<Compiler>> = const { RefCell::new(None) };
}

/// Runs `f` with a shared scratch repository and compiler (templates are parsed once).
fn with_compiler<T>(f: impl FnOnce(&Scratch, &mut Compiler) -> T) -> T {
    SCRATCH.with(|s| {
        COMPILER.with(|c| {
            let mut c = c.borrow_mut();
            let compiler = c.get_or_insert_with(|| Compiler::new(s.root.clone(), None));
            f(s, compiler)
        })
    })
}

/// One edit of a spec's text.
#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    /// Replace the first number on a line.
    Number(usize, &'static str),
    /// Flip the case of the first letter of the line's key.
    SwapKeyCase(usize),
    Truncate(usize),
    Insert(usize, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let numbers = prop::sample::select(vec![
        "0",
        "-1",
        "1e308",
        ".nan",
        ".inf",
        "-0.0",
        "99999999999",
        "4294967296",
        "0.0001",
        "\"7\"",
    ]);
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), numbers).prop_map(|(l, n)| Mutation::Number(l, n)),
        any::<usize>().prop_map(Mutation::SwapKeyCase),
        any::<usize>().prop_map(Mutation::Truncate),
        (
            any::<usize>(),
            prop::sample::select(vec![
                ':', '{', '[', '-', '&', '*', '!', '"', '\t', ' ', '#', '\0'
            ])
        )
            .prop_map(|(at, c)| Mutation::Insert(at, c)),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    if lines.is_empty() {
        return text.to_string();
    }
    let n = lines.len();
    match *m {
        Mutation::DeleteLine(i) => {
            lines.remove(i % n);
        }
        Mutation::DuplicateLine(i) => {
            let l = lines[i % n].clone();
            lines.insert(i % n, l);
        }
        Mutation::Number(i, new) => {
            // Prefer a line with a number; fall back to the chosen one.
            let i = (0..n)
                .map(|k| (i + k) % n)
                .find(|&k| lines[k].contains(|c: char| c.is_ascii_digit()))
                .unwrap_or(i % n);
            let l = &lines[i];
            if let Some(start) = l.find(|c: char| c.is_ascii_digit()) {
                let end = l[start..]
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .map_or(l.len(), |e| start + e);
                lines[i] = format!("{}{new}{}", &l[..start], &l[end..]);
            }
        }
        Mutation::SwapKeyCase(i) => {
            let l = &lines[i % n];
            if let Some((pos, c)) = l.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
                let flipped = if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                };
                lines[i % n] = format!("{}{flipped}{}", &l[..pos], &l[pos + 1..]);
            }
        }
        Mutation::Truncate(at) => {
            let joined = lines.join("\n");
            let mut cut = at % (joined.len() + 1);
            while !joined.is_char_boundary(cut) {
                cut -= 1;
            }
            return joined[..cut].to_string();
        }
        Mutation::Insert(at, c) => {
            let mut joined = lines.join("\n");
            let mut pos = at % (joined.len() + 1);
            while !joined.is_char_boundary(pos) {
                pos -= 1;
            }
            joined.insert(pos, c);
            return joined;
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// `cases` per property, or `PROPTEST_CASES` when set (e.g. `PROPTEST_CASES=5000` for a long
/// local run; the binary property runs a tenth of it).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[test]
fn the_unmutated_specs_compile_in_the_harness() {
    for env in ["prod.yaml", "staging.yaml", "dev.yaml"] {
        with_compiler(|s, c| {
            s.write("base.yaml", shipped("base.yaml").as_bytes());
            let spec = s.write("case.yaml", shipped(env).as_bytes());
            assert_eq!(check(c, &spec).unwrap(), 0, "{env}");
        });
    }
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        with_compiler(|s, c| {
            let spec = s.write("case.yaml", &bytes);
            check(c, &spec).map(|_| ())
        })?;
    }

    #[test]
    fn yaml_like_noise_never_panics(text in "[a-zA-Z0-9 :,{}\\[\\]\\-&*!#|>'\".\n\t]{0,400}") {
        with_compiler(|s, c| {
            let spec = s.write("case.yaml", text.as_bytes());
            check(c, &spec).map(|_| ())
        })?;
    }
}

/// Cases the properties below once failed (they are random; failures are not persisted).
#[test]
fn found_cases_compile_or_fail_located() {
    let cases: &[(&str, bool, &[Mutation])] = &[
        // `attempt to add with overflow` in the TG012 scale-up simulation.
        (
            "prod.yaml",
            true,
            &[
                Mutation::DuplicateLine(4157567166239207424),
                Mutation::Number(6869080970734093533, "1e308"),
            ],
        ),
    ];
    for (env, mutate_base, edits) in cases {
        with_compiler(|s, c| {
            let (mut spec, mut base) = (shipped(env), shipped("base.yaml"));
            let target = if *mutate_base { &mut base } else { &mut spec };
            for m in *edits {
                *target = apply(target, m);
            }
            s.write("base.yaml", base.as_bytes());
            let path = s.write("case.yaml", spec.as_bytes());
            check(c, &path).map(|_| ())
        })
        .unwrap();
    }
}

proptest! {
    #![proptest_config(config(200))]

    /// A shipped spec, or the base it extends, with one to three edits.
    #[test]
    fn mutated_shipped_specs_compile_or_fail_located(
        env in prop::sample::select(vec!["prod.yaml", "staging.yaml", "dev.yaml"]),
        mutate_base in any::<bool>(),
        edits in prop::collection::vec(mutation(), 1..=3),
    ) {
        with_compiler(|s, c| {
            let (mut spec, mut base) = (shipped(env), shipped("base.yaml"));
            let target = if mutate_base { &mut base } else { &mut spec };
            for m in &edits {
                *target = apply(target, m);
            }
            s.write("base.yaml", base.as_bytes());
            let path = s.write("case.yaml", spec.as_bytes());
            check(c, &path).map(|_| ())
        })?;
    }
}

proptest! {
    // Each case starts the binary: few cases.
    #![proptest_config(ProptestConfig { cases: config(240).cases / 10, ..config(0) })]

    #[test]
    fn the_binary_exits_0_1_or_2_with_a_located_message(
        edits in prop::collection::vec(mutation(), 1..=3),
    ) {
        let repo = tempfile::tempdir().unwrap();
        fs::create_dir(repo.path().join(".git")).unwrap();
        let envs = repo.path().join("environments");
        fs::create_dir(&envs).unwrap();
        fs::write(envs.join("base.yaml"), shipped("base.yaml")).unwrap();
        let mut spec = shipped("prod.yaml");
        for m in &edits {
            spec = apply(&spec, m);
        }
        fs::write(envs.join("case.yaml"), &spec).unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tacosgen"))
            .current_dir(repo.path())
            .args(["--color", "never", "build", "environments/case.yaml"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        prop_assert!(!stderr.contains("internal error"), "panic:\n{}", stderr);
        match output.status.code() {
            Some(0) => prop_assert!(repo.path().join("out").is_dir()),
            Some(1 | 2) => {
                prop_assert!(
                    stderr.contains(" --> environments/") || stderr.contains("environments/case.yaml"),
                    "unlocated:\n{}", stderr
                );
                prop_assert!(!repo.path().join("out").exists(), "a failed build wrote output");
            }
            other => prop_assert!(false, "exit {:?}:\n{}", other, stderr),
        }
    }
}
