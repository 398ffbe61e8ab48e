//! The synthetic specs the benchmarks use (benches/common/synth.rs) stay valid: they build
//! without findings, so the benchmarks time complete builds; at 100 services the build runs
//! render and verify on several threads and must still be byte-for-byte deterministic.

#[path = "../benches/common/synth.rs"]
mod synth;

use assert_cmd::Command;

fn build(dir: &std::path::Path, out: &str) -> std::process::Output {
    Command::cargo_bin("tacosgen")
        .unwrap()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args([
            "build",
            "environments/synth.yaml",
            "--deny-warnings",
            "--out",
            out,
        ])
        .output()
        .unwrap()
}

#[test]
fn synthetic_specs_build_cleanly_and_deterministically() {
    for n in [4, 100] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join(".git")).unwrap();
        std::fs::create_dir_all(tmp.path().join("environments")).unwrap();
        std::fs::write(tmp.path().join("environments/synth.yaml"), synth::spec(n)).unwrap();
        let first = build(tmp.path(), "a");
        let stderr = String::from_utf8_lossy(&first.stderr);
        assert!(first.status.success(), "{n} services: {stderr}");
        assert!(!stderr.contains("warning"), "{n} services: {stderr}");
        let deployments =
            std::fs::read_to_string(tmp.path().join("a/synth/deployments.yaml")).unwrap();
        assert_eq!(deployments.matches("\nkind: Deployment\n").count(), n);
        assert!(build(tmp.path(), "b").status.success());
        let a = tacosgen::emit::read_tree(&tmp.path().join("a/synth")).unwrap();
        let b = tacosgen::emit::read_tree(&tmp.path().join("b/synth")).unwrap();
        assert!(a == b, "{n} services: two builds differ");
    }
}

/// From 1 MB of output, `check` compares with the committed tree on one core while verify
/// runs on the others: a difference is still exit 1, and a document that fails verification
/// is still exit 2 with its error, whatever the comparison found.
#[test]
fn a_large_check_compares_beside_verify_and_verify_wins() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join(".git")).unwrap();
    std::fs::create_dir_all(tmp.path().join("environments")).unwrap();
    std::fs::write(tmp.path().join("environments/synth.yaml"), synth::spec(100)).unwrap();
    assert!(build(tmp.path(), "a").status.success());
    let bytes: u64 = tacosgen::emit::read_tree(&tmp.path().join("a/synth"))
        .unwrap()
        .iter()
        .map(|(_, content)| content.len() as u64)
        .sum();
    assert!(
        bytes > 1 << 20,
        "{bytes} bytes: below the parallel comparison"
    );
    let check = |extra: &[&str]| {
        Command::cargo_bin("tacosgen")
            .unwrap()
            .current_dir(tmp.path())
            .env("NO_COLOR", "1")
            .args(["check", "environments/synth.yaml", "--out", "a"])
            .args(extra)
            .output()
            .unwrap()
    };
    assert_eq!(check(&[]).status.code(), Some(0));

    let hpas = tmp.path().join("a/synth/hpas.yaml");
    let mut text = std::fs::read_to_string(&hpas).unwrap();
    text.push_str("# edited by hand\n");
    std::fs::write(&hpas, text).unwrap();
    let o = check(&[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let tpl = tmp.path().join("tpl");
    std::fs::create_dir(&tpl).unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let pdbs = std::fs::read_to_string(repo.join("templates/pdbs.yaml.j2")).unwrap();
    let broken = pdbs.replace("unhealthyPodEvictionPolicy", "unhealthyPodEvictionPolicyy");
    assert_ne!(
        pdbs, broken,
        "pdbs.yaml.j2 changed: update this test's edit"
    );
    std::fs::write(tpl.join("pdbs.yaml.j2"), broken).unwrap();
    let o = check(&["--templates", "tpl"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unhealthyPodEvictionPolicyy"), "{stderr}");
}
