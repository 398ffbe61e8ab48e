//! `tacosgen diff` and `tacosgen check` on scratch repositories: the real binary, run in a
//! temporary directory holding a copy of environments/ and the output built from it, then
//! edited the way a user would edit it.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

const SPEC: &str = "environments/dev.yaml";

/// A scratch repository with base.yaml and dev.yaml and the committed `out/dev/`.
fn scratch() -> TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let envs = tmp.path().join("environments");
    fs::create_dir(&envs).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["base.yaml", "dev.yaml"] {
        fs::copy(repo.join("environments").join(name), envs.join(name)).unwrap();
    }
    // Keep the planner's warnings out of the transcripts: these tests are about the diff.
    append(
        envs.join("dev.yaml"),
        "\nacknowledge:\n  - {code: TG004, reason: the seed's rate limit; not what this test is about}\n",
    );
    let (code, _, err) = run(tmp.path(), &["build", SPEC]);
    assert_eq!(code, 0, "{err}");
    tmp
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("tacosgen")
        .unwrap()
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    (
        out.status.code().expect("exited"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// What a user sees for `args`, as one text: the command, the exit code, stdout and stderr.
fn transcript(dir: &Path, args: &[&str]) -> (i32, String) {
    let (code, out, err) = run(dir, args);
    let text = format!(
        "$ tacosgen {}\nexit code: {code}\n--- stdout\n{out}--- stderr\n{err}",
        args.join(" ")
    );
    (code, text)
}

fn append(path: PathBuf, text: &str) {
    let mut s = fs::read_to_string(&path).unwrap();
    s.push_str(text);
    fs::write(path, s).unwrap();
}

const EXTRA_SERVICE: &str = "
services:
  search-api:
    image: ghcr.io/tacos/search-api:1.0.0
    perPodRps: 500
    traffic: {from: gateway-api, weight: 1}
";

fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    tacosgen::emit::read_tree(dir).unwrap()
}

#[test]
fn unchanged_output_is_no_difference() {
    let repo = scratch();
    let (code, out, err) = run(repo.path(), &["diff", SPEC]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "", "no differences\n")
    );
    let (code, out, err) = run(repo.path(), &["check"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "", ""),
        "check is quiet"
    );
}

#[test]
fn changed_replica_count() {
    let repo = scratch();
    append(
        repo.path().join(SPEC),
        "\nservices:\n  gateway-api:\n    replicas: {min: 3, max: 6}\n",
    );
    let (code, text) = transcript(repo.path(), &["diff", "--color", "never", SPEC]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("changed_replica_count", text);

    let (code, json, _) = run(repo.path(), &["diff", "--output", "json", SPEC]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let hpa = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "HorizontalPodAutoscaler")
        .expect("the HPA changed");
    assert_eq!(hpa["change"], "changed");
    assert_eq!(hpa["name"], "gateway-api");
    assert_eq!(hpa["namespace"], "tacos-dev");
    assert_eq!(hpa["file"], "out/dev/hpas.yaml");
    assert_eq!(
        hpa["fields"],
        serde_json::json!(["spec.maxReplicas", "spec.minReplicas"])
    );
}

#[test]
fn added_service() {
    let repo = scratch();
    append(repo.path().join(SPEC), EXTRA_SERVICE);
    let (code, text) = transcript(repo.path(), &["diff", "--color", "never", SPEC]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("added_service", text);
}

#[test]
fn removed_service() {
    let repo = scratch();
    let spec = repo.path().join(SPEC);
    let original = fs::read_to_string(&spec).unwrap();
    append(spec.clone(), EXTRA_SERVICE);
    assert_eq!(run(repo.path(), &["build", SPEC]).0, 0);
    fs::write(&spec, original).unwrap();
    let (code, text) = transcript(repo.path(), &["diff", "--color", "never", SPEC]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("removed_service", text);
}

#[test]
fn changed_redis_conf_line() {
    let repo = scratch();
    let conf = repo.path().join("out/dev/redis/master.conf");
    let text = fs::read_to_string(&conf).unwrap();
    assert!(text.contains("maxmemory-policy allkeys-lru\n"));
    fs::write(&conf, text.replace("allkeys-lru", "volatile-lru")).unwrap();
    let (code, text) = transcript(repo.path(), &["diff", "--color", "never", SPEC]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("changed_redis_conf_line", text);
}

#[test]
fn unmanaged_extra_file() {
    let repo = scratch();
    fs::write(repo.path().join("out/dev/NOTES.md"), "hand-written\n").unwrap();
    let (code, text) = transcript(repo.path(), &["diff", "--color", "never", SPEC]);
    assert_eq!(code, 0, "an unmanaged file is not a difference");
    insta::assert_snapshot!("unmanaged_extra_file", text);
    assert_eq!(
        run(repo.path(), &["check"]),
        (0, String::new(), String::new())
    );

    // Alongside a real change it is reported once, and never as removed.
    fs::write(
        repo.path().join("out/dev/redis/replica.conf"),
        "# Generated by tacosgen from x\n",
    )
    .unwrap();
    let (code, out, _) = run(repo.path(), &["diff", SPEC]);
    assert_eq!(code, 1);
    assert_eq!(out.matches("NOTES.md").count(), 1, "{out}");
}

#[test]
fn missing_out_directory() {
    let repo = scratch();
    fs::remove_dir_all(repo.path().join("out")).unwrap();
    let (code, out, err) = run(repo.path(), &["diff", "--color", "never", SPEC]);
    assert_eq!(code, 1);
    // The summary only: the diffs below it are the whole output, checked line by line here.
    let (summary, diffs) = out.split_once("\n\n").unwrap();
    insta::assert_snapshot!(
        "missing_out_directory",
        format!("{summary}\n--- stderr\n{err}")
    );
    // Rebuild elsewhere to know what the diff must add.
    assert_eq!(run(repo.path(), &["build", "--out", "built", SPEC]).0, 0);
    for (path, content) in tree(&repo.path().join("built/dev")) {
        let path = path.display();
        assert!(
            diffs.contains(&format!("--- /dev/null\n+++ b/out/dev/{path}\n")),
            "{path} shown as added"
        );
        for line in String::from_utf8(content).unwrap().lines() {
            let trimmed = line.trim_start();
            if !(trimmed.starts_with('#') || line == "---") {
                assert!(diffs.contains(&format!("\n+{line}\n")), "{path}: {line}");
            }
        }
    }
}

#[test]
fn check_reports_stale_output_with_the_fix_and_writes_nothing() {
    let repo = scratch();
    append(repo.path().join(SPEC), EXTRA_SERVICE);
    let before = tree(repo.path());
    let (code, out, err) = run(repo.path(), &["check", "--color", "never"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "out/ is stale; run: tacosgen build environments/dev.yaml\n"
    );
    let (_, diff_out, _) = run(repo.path(), &["diff", "--color", "never", "--all"]);
    assert_eq!(out, diff_out, "check shows what diff shows");
    assert_eq!(before, tree(repo.path()), "check wrote nothing");

    // The hint is the fix.
    assert_eq!(run(repo.path(), &["build", SPEC]).0, 0);
    assert_eq!(
        run(repo.path(), &["check", SPEC]),
        (0, String::new(), String::new())
    );
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let repo = scratch();
    append(
        repo.path().join(SPEC),
        "\nservices:\n  gateway-api:\n    replicas: {min: 3, max: 6}\n",
    );
    let (_, plain, _) = run(repo.path(), &["diff", SPEC]);
    assert!(!plain.contains('\x1b'), "a pipe gets plain text");
    let (_, colour, _) = run(repo.path(), &["diff", "--color", "always", SPEC]);
    // Word-level highlight: only the changed number is in reverse video.
    assert!(
        colour.contains("\x1b[31m-  minAvailable: \x1b[7m1\x1b[0m\x1b[31m\x1b[0m"),
        "{colour}"
    );
}

#[test]
fn errors_are_exit_2_never_a_clean_diff() {
    let repo = scratch();
    let spec = repo.path().join(SPEC);
    let original = fs::read_to_string(&spec).unwrap();

    fs::write(&spec, format!("{original}\nslo: [\n")).unwrap();
    let (code, out, err) = run(repo.path(), &["diff", SPEC]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert_eq!(run(repo.path(), &["check"]).0, 2);

    // A spec whose plan has errors cannot be compared.
    fs::write(
        &spec,
        format!("{original}\nservices:\n  gateway-api:\n    replicas: {{min: 9, max: 3}}\n"),
    )
    .unwrap();
    let (code, _, err) = run(repo.path(), &["diff", SPEC]);
    assert_eq!(code, 2, "{err}");

    fs::write(&spec, original).unwrap();
    fs::remove_dir_all(repo.path().join("out/dev")).unwrap();
    fs::write(repo.path().join("out/dev"), "not a directory").unwrap();
    let (code, _, err) = run(repo.path(), &["diff", SPEC]);
    assert_eq!(code, 2);
    assert!(
        err.contains("out/dev exists and is not a directory"),
        "{err}"
    );
    assert_eq!(run(repo.path(), &["diff", "missing.yaml"]).0, 2);
}

#[test]
fn output_of_a_deleted_spec_is_stale_for_all() {
    let repo = scratch();
    let qa = repo.path().join("environments/qa.yaml");
    let dev = fs::read_to_string(repo.path().join(SPEC)).unwrap();
    fs::write(&qa, dev.replace("environment: dev", "environment: qa")).unwrap();
    assert_eq!(run(repo.path(), &["build", "--all"]).0, 0);
    fs::remove_file(&qa).unwrap();

    let (code, out, err) = run(repo.path(), &["check"]);
    assert_eq!(code, 1);
    let summary = out.split_once("\n\n").unwrap().0;
    let mut lines = summary.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("out/qa/ is built by no spec: "),
        "{out}"
    );
    let built = tree(&repo.path().join("out/dev")).len();
    let removed: Vec<_> = lines.collect();
    assert!(removed.len() >= built, "{out}");
    assert!(
        removed.iter().all(|l| l.starts_with("- ")),
        "only removals: {out}"
    );
    assert_eq!(err, "out/ is stale; run: rm -r out/qa\n");
    // Naming specs compares only those: dev is current.
    assert_eq!(run(repo.path(), &["check", SPEC]).0, 0);

    fs::write(repo.path().join("out/qa/NOTES.md"), "mine\n").unwrap();
    let (_, _, err) = run(repo.path(), &["check"]);
    assert_eq!(
        err,
        "out/ is stale; run: remove the generated files of out/qa\n"
    );
    fs::remove_dir_all(repo.path().join("out/qa")).unwrap();
    assert_eq!(run(repo.path(), &["check"]).0, 0);
}
