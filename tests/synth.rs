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
