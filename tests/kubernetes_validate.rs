//! Every built-in Kubernetes object of every environment passes the real
//! `kubernetes-validate --strict` for Kubernetes 1.33 (unknown fields are errors). Custom
//! resources are checked against their CRDs in crd_schemas.rs.

mod common;

use std::process::Command;

/// Built-in API groups: the core group and `*.k8s.io` (plus the unsuffixed ones we emit).
fn is_builtin(api_version: &str) -> bool {
    match api_version.split_once('/') {
        None => true,
        Some((group, _)) => {
            group.ends_with(".k8s.io")
                || matches!(group, "apps" | "autoscaling" | "policy" | "batch")
        }
    }
}

#[test]
fn every_builtin_object_passes_kubernetes_validate_strict() {
    let out = common::build_all();
    let scratch = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut count = 0;
    for env in ["dev", "staging", "prod"] {
        let kustomization =
            std::fs::read_to_string(out.path().join(env).join("kustomization.yaml")).unwrap();
        let resources = common::documents(&kustomization).remove(0)["resources"].clone();
        for file in resources.as_array().unwrap() {
            let text =
                std::fs::read_to_string(out.path().join(env).join(file.as_str().unwrap())).unwrap();
            for (i, doc) in common::documents(&text).into_iter().enumerate() {
                let api = doc["apiVersion"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{env}/{file}: no apiVersion: {doc}"));
                if !is_builtin(api) {
                    continue;
                }
                let path = scratch.path().join(format!(
                    "{env}-{}-{i}.json",
                    file.as_str().unwrap().replace('/', "_")
                ));
                std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
                files.push(path);
                count += 1;
            }
        }
    }
    assert!(
        count > 60,
        "expected every environment's objects, got {count}"
    );
    let output = Command::new(common::tools::tool("kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", "1.33.0", "--quiet"])
        .args(&files)
        .output()
        .unwrap();
    common::tools::assert_success(&output, "kubernetes-validate");
}

#[test]
fn kubernetes_validate_catches_an_unknown_field() {
    // Proves the check above can fail: the same tool on a Deployment with a typo.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replcas: 1\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: i}]}\n",
    )
    .unwrap();
    let status = Command::new(common::tools::tool("kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", "1.33.0", "--quiet"])
        .arg(&bad)
        .status()
        .unwrap();
    assert!(!status.success());
}
