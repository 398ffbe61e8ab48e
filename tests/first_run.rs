//! The first ten minutes: init, env add, show, explain, examples. Multi-step flows with files
//! are checked here with the real binary; tests/cmd/*.md hold the transcripts.

mod common;

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn tacosgen(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("tacosgen").unwrap();
    cmd.current_dir(dir).env("NO_COLOR", "1");
    cmd
}

/// Runs `tacosgen ARGS` in `dir`, which must succeed, and parses its JSON output.
fn json_output(dir: &Path, args: &[&str]) -> Value {
    let out = tacosgen(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The namespace an environment deploys to, as rendered.
fn namespace(dir: &Path, spec: &str) -> Value {
    let list = json_output(
        dir,
        &[
            "show",
            spec,
            "-q",
            "--kind",
            "Namespace",
            "--output",
            "json",
        ],
    );
    list["items"][0]["metadata"]["name"].clone()
}

fn plan_json(dir: &Path, spec: &str) -> Value {
    json_output(dir, &["plan", spec, "--output", "json"])
}

#[test]
fn every_finding_code_is_explained() {
    let repo = common::repo();
    for code in tacosgen::findings::CODES {
        for spelling in [code.code.to_string(), code.code.to_lowercase()] {
            let out = tacosgen(&repo)
                .args(["explain", &spelling])
                .output()
                .unwrap();
            assert!(out.status.success(), "{spelling}");
            let text = String::from_utf8(out.stdout).unwrap();
            assert!(
                text.starts_with(&format!("{}: {}\n", code.code, code.title)),
                "{text}"
            );
            assert!(text.contains(code.fix), "{text}");
        }
    }
}

#[test]
fn fields_are_explained_from_the_schema() {
    let repo = common::repo();
    let schema: Value = serde_json::from_str(&tacosgen::validate::schema_json()).unwrap();
    let slo = &schema["$defs"]["Slo"]["properties"]["targetRps"]["description"];
    let out = tacosgen(&repo)
        .args(["explain", "slo.targetRps"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains(slo.as_str().unwrap())
    );
    // An unknown field is a usage error with the closest field.
    tacosgen(&repo)
        .args(["explain", "nodePools.*.consolidaton"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::contains(
            "did you mean `nodePools.*.consolidation`?",
        ));
}

#[test]
fn init_builds_every_environment_without_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let envs = ["dev", "staging", "prod", "perf"];
    let mut init = tacosgen(dir.path());
    init.arg("init");
    for e in envs {
        init.args(["--env", e]);
    }
    init.assert().success().stdout("");
    // The committed schema of a new repository is the compiler's.
    let schema = std::fs::read_to_string(dir.path().join("schemas/tacosgen.schema.json")).unwrap();
    assert_eq!(schema, tacosgen::validate::schema_json());
    for e in envs {
        let spec =
            std::fs::read_to_string(dir.path().join(format!("environments/{e}.yaml"))).unwrap();
        assert!(
            spec.starts_with("# yaml-language-server: $schema=../schemas/tacosgen.schema.json\n")
        );
    }
    tacosgen(dir.path())
        .args(["build", "--all", "--deny-warnings"])
        .assert()
        .success()
        .stderr(predicates::str::contains("warning").not());
    for e in envs {
        assert!(
            dir.path()
                .join("out")
                .join(e)
                .join("deployments.yaml")
                .is_file(),
            "{e}"
        );
    }
    tacosgen(dir.path())
        .arg("check")
        .assert()
        .success()
        .stdout("");
    // The pre-commit configuration runs the check on what the specs and out/ hold.
    let hook = std::fs::read_to_string(dir.path().join(".pre-commit-config.yaml")).unwrap();
    assert!(hook.contains("id: tacosgen-check") && hook.contains("entry: tacosgen check --all"));
    // Namespaces come from the directory name and never collide.
    let project = tacosgen::scaffold::project_name(dir.path());
    for e in envs {
        let ns = namespace(dir.path(), &format!("environments/{e}.yaml"));
        assert_eq!(ns, format!("{project}-{e}"));
    }
}

use predicates::prelude::PredicateBooleanExt;

#[test]
fn init_refuses_to_overwrite_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), "mine\n").unwrap();
    tacosgen(dir.path())
        .arg("init")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicates::str::contains(
            "refusing to overwrite existing files (nothing was written): README.md",
        ));
    assert!(!dir.path().join("environments").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("README.md")).unwrap(),
        "mine\n"
    );
    tacosgen(dir.path())
        .args(["init", "--force"])
        .assert()
        .success();
    assert_ne!(
        std::fs::read_to_string(dir.path().join("README.md")).unwrap(),
        "mine\n"
    );
}

/// A copy of the repository's environments in a scratch directory.
fn scratch_environments() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let envs = dir.path().join("environments");
    std::fs::create_dir(&envs).unwrap();
    for entry in std::fs::read_dir(common::repo().join("environments")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, envs.join(p.file_name().unwrap())).unwrap();
    }
    dir
}

#[test]
fn env_add_scales_the_source_and_builds() {
    let dir = scratch_environments();
    let prod = plan_json(dir.path(), "environments/prod.yaml");
    let scale = 0.1;
    tacosgen(dir.path())
        .args(["env", "add", "qa", "--from", "prod", "--scale", "0.1"])
        .assert()
        .success();
    let qa = plan_json(dir.path(), "environments/qa.yaml");
    assert_eq!(qa["environment"], "qa");
    assert_eq!(
        qa["targetRps"].as_f64().unwrap(),
        (prod["targetRps"].as_f64().unwrap() * scale).round()
    );
    let qa_ns = namespace(dir.path(), "environments/qa.yaml");
    assert!(qa_ns.is_string());
    assert_ne!(qa_ns, namespace(dir.path(), "environments/prod.yaml"));
    // Pins dropped: every bound is derived from the scaled target again.
    for svc in qa["services"].as_array().unwrap() {
        assert_eq!(svc["maxReplicas"], svc["podsWithHeadroom"], "{svc}");
    }
    // Whatever was not overridden is inherited: the same services and images.
    let images = |p: &Value| {
        p["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(images(&qa), images(&prod));
    let text = std::fs::read_to_string(dir.path().join("environments/qa.yaml")).unwrap();
    assert!(text.contains("extends: prod.yaml"), "{text}");
    tacosgen(dir.path())
        .args(["build", "environments/qa.yaml", "--quiet"])
        .assert()
        .success();
    // Refused without --force, replaced with it.
    tacosgen(dir.path())
        .args(["env", "add", "qa", "--from", "staging"])
        .assert()
        .code(2);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("environments/qa.yaml")).unwrap(),
        text
    );
    tacosgen(dir.path())
        .args([
            "env", "add", "qa", "--from", "staging", "--scale", "2", "--force",
        ])
        .assert()
        .success();
    assert!(
        std::fs::read_to_string(dir.path().join("environments/qa.yaml"))
            .unwrap()
            .contains("extends: staging.yaml")
    );
    for bad in [["--scale", "0"], ["--scale", "-1"]] {
        tacosgen(dir.path())
            .args(["env", "add", "x", "--from", "prod"])
            .args(bad)
            .assert()
            .code(2);
    }
    assert!(!dir.path().join("environments/x.yaml").exists());
}

#[test]
fn show_prints_what_generate_prints_and_filters() {
    let repo = common::repo();
    let all = tacosgen(&repo)
        .args(["show", "environments/dev.yaml", "-q"])
        .output()
        .unwrap();
    let generate = tacosgen(&repo)
        .args(["generate", "environments/dev.yaml", "-q"])
        .output()
        .unwrap();
    assert!(all.status.success() && generate.status.success());
    assert_eq!(all.stdout, generate.stdout);
    let docs = common::documents(&String::from_utf8(all.stdout).unwrap());
    let json = tacosgen(&repo)
        .args(["show", "environments/dev.yaml", "-q", "--output", "json"])
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap(), &docs);
    let deployments = docs.iter().filter(|d| d["kind"] == "Deployment").count();
    let filtered = tacosgen(&repo)
        .args([
            "show",
            "environments/dev.yaml",
            "-q",
            "--kind",
            "DEPLOYMENT",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    let filtered: Value = serde_json::from_slice(&filtered.stdout).unwrap();
    assert_eq!(filtered["items"].as_array().unwrap().len(), deployments);
    assert!(deployments > 1);
}

#[test]
fn verbose_lists_timings_and_files() {
    let out = tempfile::tempdir().unwrap();
    let run = tacosgen(&common::repo())
        .args(["build", "environments/dev.yaml", "--verbose", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(run.status.success());
    let err = String::from_utf8(run.stderr).unwrap();
    assert!(err.contains("compiled environments/dev.yaml in "), "{err}");
    assert!(
        err.contains(&format!(
            "{}",
            out.path().join("dev/deployments.yaml").display()
        )),
        "{err}"
    );
    tacosgen(&common::repo())
        .args(["build", "--all", "--quiet", "--verbose"])
        .assert()
        .code(2);
}

#[test]
fn examples_build_without_warnings() {
    let repo = common::repo();
    let mut examples: Vec<_> = std::fs::read_dir(repo.join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 2, "{examples:?}");
    let out = tempfile::tempdir().unwrap();
    for spec in &examples {
        let rel = spec.strip_prefix(&repo).unwrap();
        // build verifies every object before writing; check then confirms the output is
        // reproducible.
        tacosgen(&repo)
            .args(["build", "--deny-warnings", "--out"])
            .arg(out.path())
            .arg(rel)
            .assert()
            .success();
        tacosgen(&repo)
            .args(["check", "--out"])
            .arg(out.path())
            .arg(rel)
            .assert()
            .success();
    }
    let small = plan_json(&repo, "examples/small-api.yaml");
    assert_eq!(small["services"].as_array().unwrap().len(), 1);
    assert!(small["redis"].is_null(), "{}", small["redis"]);
    let large = plan_json(&repo, "examples/large-platform.yaml");
    assert_eq!(large["services"].as_array().unwrap().len(), 20);
    let pools: Vec<&str> = large["nodePools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(pools.len(), 2, "{pools:?}");
    // Every pool carries workloads, and every service is pinned to one of them.
    let spec: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(repo.join("examples/large-platform.yaml")).unwrap(),
    )
    .unwrap();
    let default_pool = spec["serviceDefaults"]["placement"]["nodePool"]
        .as_str()
        .unwrap();
    let mut used = std::collections::BTreeSet::new();
    for (name, svc) in spec["services"].as_object().unwrap() {
        let pool = svc["placement"]["nodePool"]
            .as_str()
            .unwrap_or(default_pool);
        assert!(pools.contains(&pool), "{name}: {pool}");
        used.insert(pool);
    }
    assert_eq!(used.len(), 2);
}

#[test]
fn every_command_help_has_examples() {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, path: &str) {
        let help = cmd
            .get_after_help()
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(
            help.contains("Examples:\n  tacosgen"),
            "`{path} --help` has no examples"
        );
        for sub in cmd.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()));
        }
    }
    walk(&tacosgen::cli::Cli::command(), "tacosgen");
}

/// The scaffolded `.pre-commit-config.yaml`, unchanged, through the real pre-commit with the
/// tacosgen under test first on PATH: passes on a fresh build, refuses a stale `out/`.
#[test]
fn scaffolded_hook_runs_the_check() {
    let pre_commit = common::tools::tool("pre-commit");
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_tacosgen")).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let run = |program: &Path, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", cache.path())
            .env("PRE_COMMIT_COLOR", "never")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap()
    };
    let git = Path::new("git");
    tacosgen(dir.path()).arg("init").assert().success();
    tacosgen(dir.path())
        .args(["build", "--all", "-q"])
        .assert()
        .success();
    assert!(run(git, &["init", "-q"]).status.success());
    assert!(run(git, &["add", "-A"]).status.success());
    let ok = run(&pre_commit, &["run", "--all-files"]);
    let out = String::from_utf8_lossy(&ok.stdout).into_owned();
    assert!(
        ok.status.success() && out.contains("tacosgen check"),
        "{out}"
    );
    let spec = dir.path().join("environments/prod.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    let target = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("targetRps: "))
        .unwrap()
        .to_string();
    std::fs::write(
        &spec,
        text.replace(&format!("targetRps: {target}"), "targetRps: 1234"),
    )
    .unwrap();
    assert!(run(git, &["add", "-A"]).status.success());
    let stale = run(&pre_commit, &["run", "--all-files"]);
    let out = String::from_utf8_lossy(&stale.stdout).into_owned();
    assert_eq!(stale.status.code(), Some(1), "{out}");
    assert!(
        out.contains("out/ is stale; run: tacosgen build environments/prod.yaml"),
        "{out}"
    );
}
