//! `tacosgen build` as users run it: real binary, real specs, exit codes and messages.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tacosgen() -> Command {
    let mut cmd = Command::cargo_bin("tacosgen").unwrap();
    cmd.current_dir(repo()).env("NO_COLOR", "1");
    cmd
}

/// Every file below `dir`, relative path → bytes.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    tacosgen::emit::read_tree(dir).unwrap()
}

/// A scratch repository holding a copy of environments/ (plus a .git marker so `extends` is
/// confined to it).
fn scratch_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(".git")).unwrap();
    fs::create_dir(dir.path().join("environments")).unwrap();
    for e in fs::read_dir(repo().join("environments")).unwrap() {
        let p = e.unwrap().path();
        fs::copy(
            &p,
            dir.path().join("environments").join(p.file_name().unwrap()),
        )
        .unwrap();
    }
    dir
}

#[test]
fn committed_out_equals_a_fresh_build_of_every_environment() {
    let out = tempfile::tempdir().unwrap();
    tacosgen()
        .args(["build", "--all", "--out"])
        .arg(out.path())
        .assert()
        .success();
    for env in ["dev", "prod", "staging"] {
        let fresh = tree(&out.path().join(env));
        let committed: Vec<_> = tree(&repo().join("out").join(env))
            .into_iter()
            .filter(|(_, c)| tacosgen::emit::is_generated(c))
            .collect();
        let names = |t: &[(PathBuf, Vec<u8>)]| t.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&committed),
            names(&fresh),
            "out/{env}: file lists differ; run `tacosgen build --all`"
        );
        for ((p, a), (_, b)) in committed.iter().zip(&fresh) {
            assert!(
                a == b,
                "out/{env}/{} is stale; run `tacosgen build --all` and commit out/",
                p.display()
            );
        }
    }
}

#[test]
fn committed_schema_is_current() {
    let out = tacosgen().arg("schema").output().unwrap();
    assert!(out.status.success());
    let committed = fs::read(repo().join("schemas/tacosgen.schema.json")).unwrap();
    assert!(
        committed == out.stdout,
        "schemas/tacosgen.schema.json is stale: run `cargo run -- schema > schemas/tacosgen.schema.json`"
    );
}

#[test]
fn every_spec_points_editors_at_the_schema() {
    for e in fs::read_dir(repo().join("environments")).unwrap() {
        let p = e.unwrap().path();
        let text = fs::read_to_string(&p).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schemas/tacosgen.schema.json\n"),
            "{} lacks the schema modeline",
            p.display()
        );
    }
}

#[test]
fn output_is_deterministic_and_a_rebuild_changes_nothing() {
    let repo = scratch_repo();
    let run = || {
        let mut cmd = Command::cargo_bin("tacosgen").unwrap();
        cmd.current_dir(repo.path())
            .args(["build", "environments/prod.yaml"]);
        cmd
    };
    run()
        .assert()
        .success()
        .stderr(predicate::str::contains("wrote"));
    let first = tree(&repo.path().join("out/prod"));
    run()
        .assert()
        .success()
        .stderr(predicate::str::contains("unchanged"));
    assert_eq!(first, tree(&repo.path().join("out/prod")));
    for (p, c) in &first {
        let first_line = String::from_utf8_lossy(c)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        assert!(
            tacosgen::emit::is_generated(c) && first_line.contains("from environments/prod.yaml."),
            "{} lacks the header: {first_line}",
            p.display()
        );
    }
}

#[test]
fn the_seed_numbers_reach_the_manifests() {
    let out = tempfile::tempdir().unwrap();
    tacosgen()
        .args(["build", "environments/prod.yaml", "--out"])
        .arg(out.path())
        .assert()
        .success();
    let read = |f: &str| fs::read_to_string(out.path().join("prod").join(f)).unwrap();
    let hpas = read("hpas.yaml");
    assert!(
        hpas.contains("minReplicas: 10\n  maxReplicas: 50\n"),
        "{hpas}"
    );
    assert!(
        hpas.contains("minReplicas: 5\n  maxReplicas: 30\n"),
        "{hpas}"
    );
    let pdbs = read("pdbs.yaml");
    assert!(pdbs.contains("minAvailable: 5\n") && pdbs.contains("minAvailable: 3\n"));
    let master = read("redis/master.conf");
    for line in [
        "maxmemory 512mb",
        "maxmemory-policy allkeys-lru",
        "save \"\"",
        "appendonly no",
    ] {
        assert!(master.contains(line), "{line}");
    }
    let karpenter = read("karpenter.yaml");
    assert!(karpenter.contains("consolidationPolicy: \"WhenEmptyOrUnderutilized\""));
    assert!(karpenter.contains("consolidateAfter: \"5m\""));
    assert!(karpenter.contains("cpu: \"200\"\n    memory: \"400Gi\""));
    let cm = read("configmaps.yaml");
    for kv in [
        "\"REDIS_POOL_SIZE\": \"50\"",
        "\"RATE_LIMIT_RPS\": \"1500\"",
        "\"CIRCUIT_BREAKER_TIMEOUT\": \"10s\"",
    ] {
        assert!(cm.contains(kv), "{kv}");
    }
}

#[test]
fn changing_the_target_moves_every_derived_number() {
    let repo = scratch_repo();
    let prod = repo.path().join("environments/prod.yaml");
    let text = fs::read_to_string(&prod)
        .unwrap()
        .replace("targetRps: 30000", "targetRps: 60000");
    // Unpin the gateway's max so it is derived: 60 pods needed, 90 with headroom.
    let text = text.replace("replicas: {min: 10, max: 50}", "replicas: {min: 10}");
    fs::write(&prod, text).unwrap();
    Command::cargo_bin("tacosgen")
        .unwrap()
        .current_dir(repo.path())
        .args(["build", "environments/prod.yaml"])
        .assert()
        .success();
    let hpas = fs::read_to_string(repo.path().join("out/prod/hpas.yaml")).unwrap();
    assert!(hpas.contains("maxReplicas: 90\n"), "{hpas}");
    assert!(
        hpas.contains("maxReplicas: 60\n"),
        "backends: 20000/500=40 → 60: {hpas}"
    );
}

#[test]
fn invalid_input_exits_2_with_file_line_and_column() {
    let repo = scratch_repo();
    let spec = repo.path().join("environments/bad.yaml");
    fs::write(&spec, "extends: base.yaml\nenvironment: bad\nnamespace: bad\nslo: {targetRps: 100}\nservices:\n  gateway-api:\n    perPodRPS: 100\n").unwrap();
    Command::cargo_bin("tacosgen")
        .unwrap()
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .args(["build", "environments/bad.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("environments/bad.yaml:7:5"))
        .stderr(predicate::str::contains("did you mean `perPodRps`?"));
    assert!(!repo.path().join("out/bad").exists(), "nothing written");
}

/// A spec that is not there is named as the spec, not as something `extends` names.
#[test]
fn a_missing_spec_is_named_with_exit_2() {
    for command in ["build", "check", "plan"] {
        tacosgen()
            .args([command, "environments/nonexistent.yaml"])
            .assert()
            .code(2)
            .stderr(predicate::str::starts_with(
                "error: cannot read environments/nonexistent.yaml: No such file or directory",
            ))
            .stderr(predicate::str::contains("extends").not());
    }
}

/// An output that is not a directory is named, with what it must be, and left as it was.
#[test]
fn an_output_that_is_a_file_exits_2_and_changes_nothing() {
    let repo = scratch_repo();
    let run = |args: &[&str]| {
        Command::cargo_bin("tacosgen")
            .unwrap()
            .current_dir(repo.path())
            .env("NO_COLOR", "1")
            .args(args)
            .assert()
            .code(2)
    };
    fs::write(repo.path().join("outfile"), "mine").unwrap();
    run(&["build", "-q", "--out", "outfile", "environments/prod.yaml"]).stderr(
        predicate::str::contains(
            "error: outfile is not a directory: the output goes into a directory (--out)",
        ),
    );
    fs::create_dir(repo.path().join("out")).unwrap();
    fs::write(repo.path().join("out/prod"), "mine").unwrap();
    run(&["build", "-q", "environments/prod.yaml"]).stderr(predicate::str::contains(
        "error: out/prod exists and is not a directory; move it away",
    ));
    assert_eq!(
        fs::read_to_string(repo.path().join("outfile")).unwrap(),
        "mine"
    );
    assert_eq!(
        fs::read_to_string(repo.path().join("out/prod")).unwrap(),
        "mine"
    );
}

#[test]
fn plan_errors_exit_1_and_write_nothing() {
    let repo = scratch_repo();
    let prod = repo.path().join("environments/prod.yaml");
    let text = fs::read_to_string(&prod)
        .unwrap()
        .replace("max: 50", "max: 20");
    fs::write(&prod, text).unwrap();
    Command::cargo_bin("tacosgen")
        .unwrap()
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .args(["build", "environments/prod.yaml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("maxReplicas 20"))
        .stderr(predicate::str::contains("30,000 RPS"));
    assert!(!repo.path().join("out/prod").exists());
}

#[test]
fn extends_cycles_and_escapes_are_errors_naming_the_chain() {
    let repo = scratch_repo();
    let envs = repo.path().join("environments");
    fs::write(envs.join("a.yaml"), "extends: b.yaml\n").unwrap();
    fs::write(envs.join("b.yaml"), "extends: a.yaml\n").unwrap();
    Command::cargo_bin("tacosgen")
        .unwrap()
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .args(["build", "environments/a.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cycle"))
        .stderr(predicate::str::contains(
            "environments/a.yaml -> environments/b.yaml -> environments/a.yaml",
        ));
    fs::write(envs.join("c.yaml"), "extends: ../../outside.yaml\n").unwrap();
    fs::write(
        repo.path().parent().unwrap().join("outside.yaml"),
        "environment: x\n",
    )
    .ok();
    Command::cargo_bin("tacosgen")
        .unwrap()
        .current_dir(repo.path())
        .args(["build", "environments/c.yaml"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("outside the repository")
                .or(predicate::str::contains("cannot read")),
        );
}

/// A scratch repository whose `tpl/` overrides the default template `name` with `edit` of it.
fn repo_with_override(name: &str, edit: impl FnOnce(String) -> String) -> tempfile::TempDir {
    let repo = scratch_repo();
    let tpl = repo.path().join("tpl");
    fs::create_dir(&tpl).unwrap();
    let default = fs::read_to_string(self::repo().join("templates").join(name)).unwrap();
    fs::write(tpl.join(name), edit(default)).unwrap();
    repo
}

#[test]
fn a_template_override_replaces_the_builtin_and_is_verified() {
    let repo = repo_with_override("pdbs.yaml.j2", |pdbs| {
        pdbs.replace("unhealthyPodEvictionPolicy", "unhealthyPodEvictionPolicyy")
    });
    Command::cargo_bin("tacosgen")
        .unwrap()
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .args(["build", "environments/prod.yaml", "--templates", "tpl"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pdbs.yaml"))
        .stderr(predicate::str::contains(
            "unknown field `spec.unhealthyPodEvictionPolicyy`",
        ));
    assert!(!repo.path().join("out/prod").exists());
}

/// A partial is a template like any other: overriding `_meta.yaml.j2` changes the metadata of
/// every object that includes it.
#[test]
fn overriding_a_partial_changes_every_object_that_includes_it() {
    let repo = repo_with_override("_meta.yaml.j2", |meta| {
        format!("{meta}  annotations:\n    example.com/owner: {{{{ plan.namespace }}}}\n")
    });
    Command::cargo_bin("tacosgen")
        .unwrap()
        .current_dir(repo.path())
        .args([
            "build",
            "-q",
            "environments/prod.yaml",
            "--templates",
            "tpl",
        ])
        .assert()
        .success();
    for file in [
        "deployments.yaml",
        "services.yaml",
        "hpas.yaml",
        "pdbs.yaml",
    ] {
        let text = fs::read_to_string(repo.path().join("out/prod").join(file)).unwrap();
        let objects = text.matches("\nkind: ").count();
        assert!(objects >= 4, "{file}: {objects} objects");
        let annotated = text.matches("example.com/owner: \"tacos-app\"").count();
        assert_eq!(annotated, objects, "{file}");
    }
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    tacosgen().arg("build").assert().code(2);
    tacosgen().arg("frobnicate").assert().code(2);
    tacosgen()
        .args(["build", "environments/nope.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("environments/nope.yaml"));
    tacosgen()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes"));
}

/// Two specs of one environment would write the same `out/<env>/`: `--all` builds the first
/// (in path order) with the others and refuses the second, naming both, exit 2. (Both staged
/// at once would also have waited on each other's lock: the timeout catches that.)
#[test]
fn all_refuses_a_second_spec_of_an_environment() {
    let repo = scratch_repo();
    let envs = repo.path().join("environments");
    fs::copy(envs.join("dev.yaml"), envs.join("dev2.yaml")).unwrap();
    Command::cargo_bin("tacosgen")
        .unwrap()
        .current_dir(repo.path())
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(60))
        .args(["build", "--all"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "environment `dev` is also built from environments/dev.yaml",
        ))
        .stderr(predicate::str::contains("environments/dev2.yaml:5:14"));
    let mut out: Vec<String> = fs::read_dir(repo.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    assert_eq!(
        out,
        [
            ".dev.lock",
            ".prod.lock",
            ".staging.lock",
            "dev",
            "prod",
            "staging"
        ],
        "the three environments built, nothing staged left behind"
    );
    assert_eq!(
        tree(&repo.path().join("out/dev")),
        tree(&self::repo().join("out/dev"))
            .into_iter()
            .filter(|(_, c)| tacosgen::emit::is_generated(c))
            .collect::<Vec<_>>()
    );
}

/// `--all` compiles the specs in parallel; results must be the same, in the same order, as
/// compiling each alone, and a broken spec among them must fail alone.
#[test]
fn compiling_all_in_parallel_equals_one_by_one() {
    use tacosgen::{Compiler, Keep, Stop};
    let specs: Vec<PathBuf> = [
        "environments/dev.yaml",
        "environments/missing.yaml",
        "environments/prod.yaml",
        "environments/staging.yaml",
    ]
    .iter()
    .map(|s| repo().join(s))
    .collect();
    for keep in [Keep::Files, Keep::Documents] {
        let all = Compiler::new(repo(), None).compile_all(&specs, keep);
        assert_eq!(all.len(), specs.len());
        for (spec, result) in specs.iter().zip(all) {
            let mut alone = Compiler::new(repo(), None);
            let expected = match keep {
                Keep::Files => alone.compile_files(spec),
                Keep::Documents => alone.compile(spec),
                Keep::Staged(_) | Keep::Compared(_) => unreachable!("not among the kinds compared"),
            };
            match (result, expected) {
                (Ok(got), Ok(want)) => {
                    assert_eq!(got.files, want.files, "{}", spec.display());
                    assert_eq!(got.documents.len(), want.documents.len());
                    assert_eq!(keep == Keep::Documents, !got.documents.is_empty());
                }
                (Err(Stop::Invalid(got)), Err(Stop::Invalid(want))) => {
                    assert_eq!(format!("{got:?}"), format!("{want:?}"));
                    assert!(spec.ends_with("missing.yaml"));
                }
                (got, want) => panic!("{}: {got:?} vs {want:?}", spec.display()),
            }
        }
    }
}

/// `TACOSGEN_TIMINGS` names each stage; on glibc the main heap grows once by 32 MiB and, where
/// the system gives huge pages to regions that ask, its blocks get them from malloc's next
/// block on (the filler in `src/heap.rs` ends at most a page below the first 2 MiB block).
#[test]
fn timings_name_each_stage_and_the_heap_gets_huge_pages_from_its_first_block() {
    let output = tacosgen()
        .args(["check", "-q", "environments/prod.yaml"])
        .env("TACOSGEN_TIMINGS", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    for stage in ["load", "validate", "plan", "render", "verify", "compare"] {
        assert!(
            stderr.contains(&format!("timing: {stage} ")),
            "no {stage} line in:\n{stderr}"
        );
    }
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return;
    }
    let heap = stderr
        .lines()
        .find_map(|l| l.strip_prefix("timing: heap of "))
        .unwrap_or_else(|| panic!("no heap line in:\n{stderr}"));
    let mib: usize = heap.split(' ').next().unwrap().parse().unwrap();
    assert!(
        mib >= 32,
        "the heap grew {mib} MiB, not the 32 MiB pad: {heap}"
    );
    let thp = fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    if thp.contains("[always]") || thp.contains("[madvise]") {
        let below: usize = heap
            .strip_suffix(" KiB on")
            .and_then(|h| h.rsplit(' ').next())
            .and_then(|k| k.parse().ok())
            .unwrap_or_else(|| panic!("no huge pages: {heap}"));
        assert!(
            below <= 4,
            "{below} KiB of the heap stay small pages: {heap}"
        );
    }
}
