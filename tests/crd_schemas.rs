//! The Karpenter objects tacosgen emits validate against the real CRD schemas (v1.14.1) from
//! `../shared/data/`, with unknown fields rejected, and the seed's v1beta1 spelling does not.

mod common;

use serde_json::{Value, json};

/// A CRD's openAPIV3Schema for `version`, made strict: every object schema that lists
/// `properties` rejects others (as the API server prunes or, with strict field validation,
/// rejects them), unless it preserves unknown fields.
fn crd_schema(file: &str, version: &str) -> Value {
    let text = std::fs::read_to_string(common::shared().join("data").join(file)).unwrap();
    let crd: Value = serde_saphyr::from_str(&text).unwrap();
    let v = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == version)
        .unwrap_or_else(|| panic!("{file} serves no {version}"));
    let mut schema = v["schema"]["openAPIV3Schema"].clone();
    strict(&mut schema);
    schema
}

fn strict(s: &mut Value) {
    if let Value::Object(map) = s {
        if map.contains_key("properties")
            && !map.contains_key("additionalProperties")
            && map.get("x-kubernetes-preserve-unknown-fields") != Some(&json!(true))
        {
            map.insert("additionalProperties".into(), json!(false));
        }
        // `metadata` is only `type: object` in CRDs; its fields are the API server's.
        for v in map.values_mut() {
            strict(v);
        }
    } else if let Value::Array(items) = s {
        items.iter_mut().for_each(strict);
    }
}

fn errors(schema: &Value, doc: &Value) -> Vec<String> {
    let v = jsonschema::validator_for(schema).unwrap();
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path().as_str()))
        .collect()
}

#[test]
fn nodepools_and_ec2nodeclasses_of_every_environment_validate() {
    let out = common::build_all();
    let nodepool = crd_schema("karpenter-v1.14.1-karpenter.sh_nodepools.yaml", "v1");
    let nodeclass = crd_schema(
        "karpenter-v1.14.1-karpenter.k8s.aws_ec2nodeclasses.yaml",
        "v1",
    );
    let mut checked = 0;
    for env in ["dev", "staging", "prod"] {
        let text = std::fs::read_to_string(out.path().join(env).join("karpenter.yaml")).unwrap();
        for doc in common::documents(&text) {
            let schema = match doc["kind"].as_str() {
                Some("NodePool") => &nodepool,
                Some("EC2NodeClass") => &nodeclass,
                other => panic!("unexpected kind {other:?}"),
            };
            let errs = errors(schema, &doc);
            assert!(errs.is_empty(), "{env}: {}: {errs:#?}", doc["kind"]);
            checked += 1;
        }
    }
    assert_eq!(
        checked, 6,
        "one NodePool and one EC2NodeClass per environment"
    );
}

#[test]
fn the_seeds_v1beta1_consolidation_policy_is_rejected_by_the_v1_crd() {
    let out = common::build_all();
    let text = std::fs::read_to_string(out.path().join("prod/karpenter.yaml")).unwrap();
    let mut doc = common::documents(&text).remove(0);
    let schema = crd_schema("karpenter-v1.14.1-karpenter.sh_nodepools.yaml", "v1");
    doc["spec"]["disruption"]["consolidationPolicy"] = json!("WhenUnderutilized");
    assert!(!errors(&schema, &doc).is_empty());
    // And an unknown field is caught by the strict schema, so the test above can fail.
    let mut doc = common::documents(&text).remove(0);
    doc["spec"]["disruption"]["consolidateAftr"] = json!("5m");
    assert!(!errors(&schema, &doc).is_empty());
}
