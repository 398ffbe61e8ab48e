//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod tools;

use std::path::PathBuf;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary directory inside the repository (specs outside it are refused; `/.test-*` is
/// ignored by git).
pub fn repo_tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(".test-")
        .tempdir_in(repo())
        .unwrap()
}

/// `shared/` beside the repository (read-only data: CRDs, research), as in CI.
pub fn shared() -> PathBuf {
    let beside = repo().join("../shared");
    if beside.join("data").is_dir() {
        return beside;
    }
    // A git worktree elsewhere on the development machine.
    PathBuf::from("/work/shared")
}

/// Builds every environment into a fresh temporary directory with the real binary.
pub fn build_all() -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_tacosgen"))
        .current_dir(repo())
        .args(["build", "--all", "--quiet", "--out"])
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success(), "tacosgen build --all failed");
    out
}

/// The YAML documents of a stream (skipping empty ones), parsed as JSON values.
pub fn documents(text: &str) -> Vec<serde_json::Value> {
    text.split("\n---")
        .map(|d| d.trim_start_matches("---"))
        .filter(|d| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .map(|d| serde_saphyr::from_str(d).unwrap_or_else(|e| panic!("{e}\n{d}")))
        .collect()
}
