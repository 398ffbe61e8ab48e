//! Locating the external programs that integration tests run.
//!
//! `bash scripts/test.sh` installs all of them (apt packages plus the pinned
//! Python tools of `scripts/test-requirements.txt` in `<repo>/.venv-tools`)
//! and then runs `cargo test`. A missing tool is a test failure, never a skip.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian 12 package providing each apt-installed tool.
const APT: &[(&str, &str)] = &[
    ("redis-server", "redis-server"),
    ("redis-cli", "redis-tools"),
    ("promtool", "prometheus"),
    ("hyperfine", "hyperfine"),
];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Path of external program `name`: `<repo>/.venv-tools/bin/<name>` if it is
/// there, else the first executable `name` on PATH.
///
/// # Panics
/// If the program is not found; the message names the install command.
pub fn tool(name: &str) -> PathBuf {
    let venv_bin = repo().join(".venv-tools").join("bin");
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::iter::once(venv_bin.clone())
        .chain(std::env::split_paths(&path).filter(|d| d.is_absolute()))
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
        .unwrap_or_else(|| {
            panic!(
                "external tool `{name}` not found in {} or on PATH.\n\
                 Install every test tool (then run the tests) with:\n    \
                 cd {} && bash scripts/test.sh\n\
                 or just this one with:\n    {}",
                venv_bin.display(),
                repo().display(),
                install_hint(name),
            )
        })
}

/// `Command` for `tool(name)`. For checkov it also sets the environment that
/// keeps it offline (no version check against the package index, no Prisma
/// guidelines download) and makes `-d` scan directories below hidden ones
/// such as tempfile's `.tmpXXXX` (by default checkov silently scans nothing
/// there and exits 0).
pub fn command(name: &str) -> Command {
    let mut cmd = Command::new(tool(name));
    if name == "checkov" {
        cmd.env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
            .env("BC_SKIP_MAPPING", "TRUE")
            .env("CKV_IGNORE_HIDDEN_DIRECTORIES", "false")
            .env_remove("BC_API_KEY");
    }
    cmd
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn install_hint(name: &str) -> String {
    if let Some((_, pkg)) = APT.iter().find(|(cmd, _)| *cmd == name) {
        return format!(
            "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {pkg}"
        );
    }
    // Python tools: the pinned line from scripts/test-requirements.txt.
    let norm = |s: &str| s.trim().to_ascii_lowercase().replace('_', "-");
    let reqs = repo().join("scripts").join("test-requirements.txt");
    let pin = std::fs::read_to_string(&reqs)
        .unwrap_or_default()
        .lines()
        .find(|l| {
            l.split_once("==")
                .is_some_and(|(pkg, _)| norm(pkg) == norm(name))
        })
        .map(str::trim)
        .map(str::to_owned);
    match pin {
        Some(pin) => format!(
            "cd {} && python3 -m venv .venv-tools && .venv-tools/bin/pip install '{pin}'",
            repo().display()
        ),
        None => format!(
            "(`{name}` is not installed by scripts/test.sh: add it there, \
             to scripts/test-requirements.txt or to the apt list)"
        ),
    }
}

/// Fails the test, naming `what` and showing the program's output, unless it exited 0.
pub fn assert_success(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
