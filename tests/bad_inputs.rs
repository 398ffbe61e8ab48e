//! The bad-input corpus: every `tests/bad-inputs/*.yaml` is built with the real binary and must
//! fail with the exit code its first line declares (`# exit: 2`; an empty file expects 2), a
//! located message, no panic, and nothing written. Each message is an insta snapshot
//! (`tests/snapshots/bad-inputs/<case>.snap`), so a change in wording is reviewed.
//!
//! Files below `tests/bad-inputs/_parts/` are not cases: other cases `extends` them.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

/// Runs `tacosgen build <spec>` from the repository root; returns (exit code, stderr) with the
/// temporary output directory and the repository path replaced by stable names.
fn build(spec: &Path, shown: &str) -> (i32, String) {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tacosgen"))
        .current_dir(common::repo())
        .args(["--color", "never", "build"])
        .arg(spec)
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let written = fs::read_dir(out.path()).unwrap().count();
    assert_eq!(written, 0, "{shown}: a failed build wrote into --out");
    let stderr = String::from_utf8_lossy(&output.stderr)
        .replace(&spec.display().to_string(), shown)
        .replace(&common::repo().display().to_string(), "[repo]");
    (output.status.code().unwrap_or(-1), stderr)
}

/// Every error block names a file with line:column, or (for whole-file problems) the file.
fn assert_located(case: &str, stderr: &str) {
    assert!(
        !stderr.contains("internal error"),
        "{case}: tacosgen panicked:\n{stderr}"
    );
    let blocks: Vec<&str> = stderr.split("\nerror").collect();
    assert!(
        stderr.starts_with("error"),
        "{case}: no error message:\n{stderr}"
    );
    for block in blocks {
        let located = block.lines().any(|l| {
            l.trim_start().strip_prefix("--> ").is_some_and(|at| {
                let mut parts = at.rsplitn(3, ':');
                let col = parts.next().unwrap_or("");
                let line = parts.next().unwrap_or("");
                col.parse::<u32>().is_ok() && line.parse::<u32>().is_ok()
            })
        });
        let names_file = block.lines().next().unwrap_or("").contains(".yaml");
        assert!(
            located || names_file,
            "{case}: message names neither file:line:col nor the file:\n{block}"
        );
    }
}

fn expected_exit(case: &str, text: &[u8]) -> i32 {
    if text.is_empty() {
        return 2;
    }
    let first = text.split(|b| *b == b'\n').next().unwrap_or_default();
    std::str::from_utf8(first)
        .ok()
        .and_then(|l| l.strip_prefix("# exit: "))
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or_else(|| panic!("{case}: first line must be `# exit: <code>`"))
}

fn snapshot(case: &str, code: i32, stderr: &str) {
    insta::with_settings!({
        snapshot_path => "snapshots/bad-inputs",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(case, format!("exit: {code}\n{stderr}"));
    });
}

#[test]
fn every_bad_input_fails_with_its_exit_code_and_a_located_message() {
    let dir = common::repo().join("tests/bad-inputs");
    let mut cases: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
    for path in cases {
        let case = path.file_stem().unwrap().to_string_lossy().into_owned();
        let want = expected_exit(&case, &fs::read(&path).unwrap());
        let rel = path.strip_prefix(common::repo()).unwrap();
        let (code, stderr) = build(rel, &rel.display().to_string());
        assert_eq!(code, want, "{case}: exit code\n{stderr}");
        assert_located(&case, &stderr);
        snapshot(&case, code, &stderr);
    }
}

/// Too large to commit: a 2 MiB spec, generated here (inside the repository, where specs must
/// live). It is refused before it is parsed.
#[test]
fn a_two_mebibyte_spec_is_refused_by_size() {
    let dir = common::repo_tempdir();
    let spec = dir.path().join("huge.yaml");
    let mut text = String::from("environment: huge\n");
    while text.len() < 2 << 20 {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    fs::write(&spec, &text).unwrap();
    let (code, stderr) = build(&spec, "huge.yaml");
    assert_eq!(code, 2, "{stderr}");
    assert_located("huge", &stderr);
    snapshot("generated-2-mib-file", code, &stderr);
}
