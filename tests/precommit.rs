//! The pre-commit hook through the real `pre-commit` (PyPI) in a scratch git repository:
//! a clean commit passes, a spec edited without rebuilding is refused with the diff, and
//! committing the rebuilt output passes again. Also validates the hook manifest that other
//! repositories use and the configuration the README shows.

#[path = "common/tools.rs"]
mod tools;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tools::tool;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a command in `dir` with git and pre-commit isolated from the user's configuration.
fn run(dir: &Path, cache: &Path, program: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("PRE_COMMIT_HOME", cache)
        .env("PRE_COMMIT_COLOR", "never")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn hook_refuses_stale_output_until_it_is_rebuilt_and_staged() {
    let pre_commit = tool("pre-commit");
    let git = PathBuf::from("git");
    let tacosgen = PathBuf::from(env!("CARGO_BIN_EXE_tacosgen"));
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("pre-commit-cache");
    let repo = tmp.path().join("repo");
    fs::create_dir_all(repo.join("environments")).unwrap();
    for name in ["base.yaml", "dev.yaml"] {
        fs::copy(
            repo_root().join("environments").join(name),
            repo.join("environments").join(name),
        )
        .unwrap();
    }
    let config = format!(
        "repos:
  - repo: local
    hooks:
      - id: tacosgen-check
        name: tacosgen check
        entry: \"'{}' check --all --color never\"
        language: unsupported
        pass_filenames: false
        files: ^(environments|templates|schemas|out)/
        require_serial: true
",
        tacosgen.display()
    );
    fs::write(repo.join(".pre-commit-config.yaml"), config).unwrap();
    let git_ok = |args: &[&str]| {
        let out = run(&repo, &cache, &git, args);
        assert!(out.status.success(), "git {args:?}: {}", text(&out));
    };
    let build = || {
        let out = run(
            &repo,
            &cache,
            &tacosgen,
            &["build", "environments/dev.yaml"],
        );
        assert!(out.status.success(), "{}", text(&out));
    };
    let commit = || run(&repo, &cache, &git, &["commit", "-q", "-m", "change"]);

    git_ok(&["init", "-q"]);
    let out = run(&repo, &cache, &pre_commit, &["install"]);
    assert!(out.status.success(), "{}", text(&out));
    build();
    git_ok(&["add", "-A"]);
    let out = commit();
    assert!(out.status.success(), "clean commit: {}", text(&out));
    assert!(text(&out).contains("tacosgen check"), "{}", text(&out));

    // Edit the spec, forget to rebuild.
    let spec = repo.join("environments/dev.yaml");
    let mut s = fs::read_to_string(&spec).unwrap();
    s.push_str("\nservices:\n  gateway-api:\n    replicas: {min: 3, max: 6}\n");
    fs::write(&spec, s).unwrap();
    git_ok(&["add", "environments/dev.yaml"]);
    let out = commit();
    let shown = text(&out);
    assert!(!out.status.success(), "stale out/ committed: {shown}");
    assert!(shown.contains("Failed"), "{shown}");
    assert!(
        shown.contains("~ HorizontalPodAutoscaler tacos-dev/gateway-api"),
        "{shown}"
    );
    assert!(
        shown.contains("\n-  minReplicas: 2\n") && shown.contains("\n+  minReplicas: 3\n"),
        "{shown}"
    );
    assert!(
        shown.contains("run: tacosgen build environments/dev.yaml"),
        "{shown}"
    );

    // Rebuilt but not staged: pre-commit checks what is being committed, so still refused.
    build();
    let out = commit();
    assert!(!out.status.success(), "unstaged rebuild: {}", text(&out));

    git_ok(&["add", "out"]);
    let out = commit();
    assert!(out.status.success(), "rebuilt and staged: {}", text(&out));
    let log = run(&repo, &cache, &git, &["log", "--oneline"]);
    assert_eq!(String::from_utf8_lossy(&log.stdout).lines().count(), 2);
}

#[test]
fn hook_manifest_is_valid() {
    let out = Command::new(tool("pre-commit"))
        .args(["validate-manifest", ".pre-commit-hooks.yaml"])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let manifest = fs::read_to_string(repo_root().join(".pre-commit-hooks.yaml")).unwrap();
    for line in [
        "- id: tacosgen-check",
        "entry: tacosgen check --all",
        "language: rust",
        "pass_filenames: false",
    ] {
        assert!(manifest.contains(line), "{line}");
    }
}

/// The README shows this repository's own `.pre-commit-config.yaml`, verbatim, and it is valid.
#[test]
fn readme_config_is_the_repository_config_and_valid() {
    let readme = fs::read_to_string(repo_root().join("README.md")).unwrap();
    let config = fs::read_to_string(repo_root().join(".pre-commit-config.yaml")).unwrap();
    assert!(
        readme.contains(&format!("```yaml\n{config}```\n")),
        "README.md must show .pre-commit-config.yaml verbatim"
    );
    let out = Command::new(tool("pre-commit"))
        .args(["validate-config", ".pre-commit-config.yaml"])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}
