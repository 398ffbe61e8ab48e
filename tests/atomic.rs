//! `build` never loses or half-writes `out/<env>/`: a failure injected after every single file
//! write (the hidden `TACOSGEN_FAIL_AFTER_WRITES` hook), a read-only output directory and two
//! concurrent builds all leave either the old tree or one complete new tree, and no temporary
//! directories.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

type Tree = Vec<(PathBuf, Vec<u8>)>;

/// Every file below `dir`, relative path → bytes, sorted.
fn tree(dir: &Path) -> Tree {
    tacosgen::emit::read_tree(dir).unwrap()
}

/// A scratch repository with environments/ copied, `prod-b.yaml` a second spec of the same
/// environment with different output (twice the target, the gateway's max unpinned).
fn scratch_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(".git")).unwrap();
    let envs = dir.path().join("environments");
    fs::create_dir(&envs).unwrap();
    for e in fs::read_dir(common::repo().join("environments")).unwrap() {
        let p = e.unwrap().path();
        fs::copy(&p, envs.join(p.file_name().unwrap())).unwrap();
    }
    let prod = fs::read_to_string(envs.join("prod.yaml")).unwrap();
    let b = prod
        .replace("targetRps: 30000", "targetRps: 60000")
        .replace("replicas: {min: 10, max: 50}", "replicas: {min: 10}");
    assert_ne!(prod, b, "prod.yaml changed: update this test's edit");
    fs::write(envs.join("prod-b.yaml"), b).unwrap();
    dir
}

fn build(repo: &Path, spec: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tacosgen"));
    cmd.current_dir(repo)
        .args(["--color", "never", "build", spec]);
    cmd
}

fn check(repo: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tacosgen"));
    cmd.current_dir(repo)
        .args(["--color", "never", "check", "environments/prod.yaml"]);
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The entries of `out/`: the environment directory and its lock file, nothing temporary.
fn assert_no_leftovers(out: &Path) {
    let mut names: Vec<String> = fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".prod.lock", "prod"], "leftovers in out/");
}

#[test]
fn a_failure_after_any_write_leaves_the_previous_tree_byte_identical() {
    let repo = scratch_repo();
    let out = repo.path().join("out");
    let o = run(&mut build(repo.path(), "environments/prod.yaml"));
    assert!(o.status.success(), "{}", stderr(&o));
    // A file tacosgen does not manage: it is carried into every new tree, so it is written too.
    fs::write(out.join("prod/NOTES.md"), "kept across builds\n").unwrap();
    let before = tree(&out.join("prod"));

    // What the new build writes: its generated files plus the carried-over one.
    let reference = tempfile::tempdir().unwrap();
    let o = run(build(repo.path(), "environments/prod-b.yaml")
        .arg("--out")
        .arg(reference.path()));
    assert!(o.status.success(), "{}", stderr(&o));
    let writes = tree(&reference.path().join("prod")).len() + 1;
    assert!(writes > 10, "prod has {writes} files");

    // N = writes fails after the last file, before the swap.
    for n in 0..=writes {
        let o = run(build(repo.path(), "environments/prod-b.yaml")
            .env("TACOSGEN_FAIL_AFTER_WRITES", n.to_string()));
        assert_eq!(o.status.code(), Some(2), "N={n}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("injected write failure after {n} files")),
            "N={n}: {}",
            stderr(&o)
        );
        assert!(tree(&out.join("prod")) == before, "N={n}: out/prod changed");
        assert_no_leftovers(&out);
    }

    // One more write allowed: the build completes and the tree is the new one, note included.
    let o = run(build(repo.path(), "environments/prod-b.yaml")
        .env("TACOSGEN_FAIL_AFTER_WRITES", (writes + 1).to_string()));
    assert!(o.status.success(), "{}", stderr(&o));
    let mut expected = tree(&reference.path().join("prod"));
    expected.push(("NOTES.md".into(), b"kept across builds\n".to_vec()));
    expected.sort();
    assert!(tree(&out.join("prod")) == expected, "new tree incomplete");
    assert_no_leftovers(&out);
}

/// A build writes its new tree beside `out/prod` while verifying it; a tree that fails
/// verification, or that `--deny-warnings` refuses, is removed again and `out/prod` stays.
#[test]
fn a_refused_build_removes_the_tree_it_staged() {
    let repo = scratch_repo();
    let out = repo.path().join("out");
    let o = run(&mut build(repo.path(), "environments/prod.yaml"));
    assert!(o.status.success(), "{}", stderr(&o));
    let before = tree(&out.join("prod"));

    // A template override whose PodDisruptionBudgets Kubernetes would reject.
    let tpl = repo.path().join("tpl");
    fs::create_dir(&tpl).unwrap();
    let pdbs = fs::read_to_string(common::repo().join("templates/pdbs.yaml.j2")).unwrap();
    let broken = pdbs.replace("unhealthyPodEvictionPolicy", "unhealthyPodEvictionPolicyy");
    assert_ne!(
        pdbs, broken,
        "pdbs.yaml.j2 changed: update this test's edit"
    );
    fs::write(tpl.join("pdbs.yaml.j2"), broken).unwrap();
    let o = run(build(repo.path(), "environments/prod-b.yaml").args(["--templates", "tpl"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("unhealthyPodEvictionPolicyy"),
        "{}",
        stderr(&o)
    );
    assert!(tree(&out.join("prod")) == before, "out/prod changed");
    assert_no_leftovers(&out);

    // prod-b has warnings (its load-test VUs, among others).
    let o = run(build(repo.path(), "environments/prod-b.yaml").arg("--deny-warnings"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing written"), "{}", stderr(&o));
    assert!(tree(&out.join("prod")) == before, "out/prod changed");
    assert_no_leftovers(&out);
}

#[test]
fn a_read_only_output_directory_fails_with_exit_2_and_changes_nothing() {
    let repo = scratch_repo();
    let out = repo.path().join("out");
    let o = run(&mut build(repo.path(), "environments/prod.yaml"));
    assert!(o.status.success(), "{}", stderr(&o));
    let before = tree(&out.join("prod"));
    let mut cmd = build(repo.path(), "environments/prod-b.yaml");
    // Root ignores permission bits: run the build as `nobody`, for whom the whole scratch
    // repository is readable and nothing in it writable.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        for dir in [repo.path().to_path_buf(), out.clone(), out.join("prod")] {
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        }
        cmd.uid(65534).gid(65534);
    }
    fs::set_permissions(&out, fs::Permissions::from_mode(0o555)).unwrap();
    let o = run(&mut cmd);
    fs::set_permissions(&out, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Permission denied") && stderr(&o).contains("out"),
        "{}",
        stderr(&o)
    );
    assert!(tree(&out.join("prod")) == before, "out/prod changed");
}

#[test]
fn concurrent_builds_of_one_environment_leave_one_complete_tree() {
    let repo = scratch_repo();
    let reference = |spec: &str| {
        let dir = tempfile::tempdir().unwrap();
        let o = run(build(repo.path(), spec).arg("--out").arg(dir.path()));
        assert!(o.status.success(), "{}", stderr(&o));
        tree(&dir.path().join("prod"))
    };
    let a = reference("environments/prod.yaml");
    let b = reference("environments/prod-b.yaml");
    assert!(a != b);
    let out = repo.path().join("out");
    for round in 0..8 {
        // Alternate who starts first so both orders of winning occur.
        let (first, second) = if round % 2 == 0 {
            ("environments/prod.yaml", "environments/prod-b.yaml")
        } else {
            ("environments/prod-b.yaml", "environments/prod.yaml")
        };
        let spawn = |spec| {
            build(repo.path(), spec)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (p1, p2) = (spawn(first), spawn(second));
        for p in [p1, p2] {
            let o = p.wait_with_output().unwrap();
            assert!(o.status.success(), "round {round}: {}", stderr(&o));
        }
        let now = tree(&out.join("prod"));
        assert!(
            now == a || now == b,
            "round {round}: out/prod is a mix of both builds"
        );
        assert_no_leftovers(&out);
    }
}

/// A file tacosgen did not write (no generated-file header) at a path a build writes: the
/// build stops with exit 2 and names it, replacing nothing; `check` says what is wrong.
#[test]
fn a_hand_written_file_in_the_way_of_a_generated_one_stops_the_build() {
    let repo = scratch_repo();
    let out = repo.path().join("out");
    let o = run(&mut build(repo.path(), "environments/prod.yaml"));
    assert!(o.status.success(), "{}", stderr(&o));
    fs::write(out.join("prod/pdbs.yaml"), "# my own PDBs\n").unwrap();
    let before = tree(&out.join("prod"));
    for spec in ["environments/prod.yaml", "environments/prod-b.yaml"] {
        let o = run(&mut build(repo.path(), spec));
        assert_eq!(o.status.code(), Some(2), "{spec}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("out/prod/pdbs.yaml was not generated by tacosgen"),
            "{spec}: {}",
            stderr(&o)
        );
        assert!(
            tree(&out.join("prod")) == before,
            "{spec}: out/prod changed"
        );
        assert_no_leftovers(&out);
    }
    let o = run(&mut check(repo.path()));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(
            "out/prod/pdbs.yaml: not managed by tacosgen (no generated-file header); in the way"
        ),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// `out/prod` may be a symbolic link (e.g. into a deployment repository): the build swaps
/// its tree in where the link points and keeps the link, so `check`, which reads through
/// it, agrees with it.
#[test]
fn a_build_through_a_symbolic_link_keeps_the_link() {
    let repo = scratch_repo();
    let deploy = tempfile::tempdir().unwrap();
    let target = deploy.path().join("prod");
    fs::create_dir(&target).unwrap();
    fs::create_dir(repo.path().join("out")).unwrap();
    let link = repo.path().join("out/prod");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for spec in ["environments/prod-b.yaml", "environments/prod.yaml"] {
        let o = run(&mut build(repo.path(), spec));
        assert!(o.status.success(), "{spec}: {}", stderr(&o));
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            tree(&target).len() > 10,
            "{spec}: nothing built where the link points"
        );
    }
    let o = run(&mut check(repo.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
