//! Typed structs for the custom resources tacosgen emits (Karpenter NodePool and
//! EC2NodeClass), for the verify stage. They cover the fields our templates write, with enums
//! and patterns where the CRD has them, and reject anything else; a test checks them against
//! the real CRD schemas in `../shared/data/`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::verify::{ObjectId, Problem, problem};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Object<S> {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    #[allow(dead_code)]
    metadata: Metadata,
    spec: S,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    #[allow(dead_code)]
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NodePoolSpec {
    template: NodeClaimTemplate,
    disruption: Disruption,
    #[serde(default)]
    limits: BTreeMap<String, String>,
    #[serde(default)]
    weight: Option<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeClaimTemplate {
    #[serde(default)]
    #[allow(dead_code)]
    metadata: Option<TemplateMetadata>,
    spec: NodeClaimSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateMetadata {
    #[serde(default)]
    #[allow(dead_code)]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NodeClaimSpec {
    node_class_ref: NodeClassRef,
    requirements: Vec<Requirement>,
    #[serde(default)]
    expire_after: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeClassRef {
    group: String,
    kind: String,
    #[allow(dead_code)]
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Requirement {
    #[allow(dead_code)]
    key: String,
    operator: Operator,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Deserialize, PartialEq)]
enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
    Gte,
    Lte,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Disruption {
    consolidation_policy: ConsolidationPolicy,
    consolidate_after: String,
    #[serde(default)]
    budgets: Vec<Budget>,
}

#[derive(Deserialize)]
enum ConsolidationPolicy {
    WhenEmpty,
    WhenEmptyOrUnderutilized,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Budget {
    nodes: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Ec2NodeClassSpec {
    role: String,
    ami_selector_terms: Vec<AmiTerm>,
    subnet_selector_terms: Vec<TagTerm>,
    security_group_selector_terms: Vec<TagTerm>,
    #[serde(default)]
    metadata_options: Option<MetadataOptions>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AmiTerm {
    alias: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TagTerm {
    tags: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MetadataOptions {
    #[allow(dead_code)]
    http_endpoint: Toggle,
    #[serde(rename = "httpProtocolIPv6")]
    #[allow(dead_code)]
    http_protocol_ipv6: Toggle,
    http_put_response_hop_limit: u8,
    #[allow(dead_code)]
    http_tokens: Tokens,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Toggle {
    Enabled,
    Disabled,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Tokens {
    Required,
    Optional,
}

/// `^(([0-9]+(s|m|h))+|Never)$`, the CRD's duration pattern.
fn is_duration(s: &str) -> bool {
    s == "Never" || crate::units::Duration::parse(s).is_ok()
}

fn parse<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> Result<T, Problem> {
    crate::error::from_json(value).map_err(|e| {
        let path = e.path().to_string();
        problem(e.inner().to_string(), Some(path))
    })
}

/// Checks a NodePool or EC2NodeClass, including the CEL rules of the CRD that apply to the
/// fields we write.
pub fn check(id: &ObjectId, value: &serde_json::Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut fail = |msg: String, path: &str| problems.push(problem(msg, Some(path.into())));
    if id.kind == "NodePool" {
        let obj: Object<NodePoolSpec> = match parse(value) {
            Ok(o) => o,
            Err(p) => return vec![p],
        };
        let s = obj.spec;
        let r = &s.template.spec.node_class_ref;
        if r.group != "karpenter.k8s.aws" || r.kind != "EC2NodeClass" {
            fail(
                "nodeClassRef must name a karpenter.k8s.aws EC2NodeClass".into(),
                "spec.template.spec.nodeClassRef",
            );
        }
        if s.template.spec.requirements.len() > 100 {
            fail(
                "at most 100 requirements".into(),
                "spec.template.spec.requirements",
            );
        }
        for req in &s.template.spec.requirements {
            if matches!(req.operator, Operator::In | Operator::NotIn) && req.values.is_empty() {
                fail(
                    "In/NotIn requirements need values".into(),
                    "spec.template.spec.requirements",
                );
            }
        }
        if let Some(e) = &s.template.spec.expire_after
            && !is_duration(e)
        {
            fail(
                format!("expireAfter {e:?} is not a duration"),
                "spec.template.spec.expireAfter",
            );
        }
        if !is_duration(&s.disruption.consolidate_after) {
            fail(
                "consolidateAfter is not a duration".into(),
                "spec.disruption.consolidateAfter",
            );
        }
        let _ = s.disruption.consolidation_policy;
        for b in &s.disruption.budgets {
            let ok = b
                .nodes
                .strip_suffix('%')
                .map_or(b.nodes.parse::<u64>().is_ok(), |p| {
                    p.parse::<u8>().is_ok_and(|v| v <= 100)
                });
            if !ok {
                fail(
                    format!("budget nodes {:?} must be a count or a percentage", b.nodes),
                    "spec.disruption.budgets",
                );
            }
        }
        for (k, v) in &s.limits {
            if !matches!(
                k.as_str(),
                "cpu" | "memory" | "nodes" | "pods" | "ephemeral-storage"
            ) && !k.contains('/')
            {
                fail(format!("unknown limit {k:?}"), "spec.limits");
            }
            if v.is_empty() {
                fail(format!("limit {k} is empty"), "spec.limits");
            }
        }
        if s.weight == Some(0) || s.weight.is_some_and(|w| w > 100) {
            fail("weight must be 1-100".into(), "spec.weight");
        }
    } else {
        let obj: Object<Ec2NodeClassSpec> = match parse(value) {
            Ok(o) => o,
            Err(p) => return vec![p],
        };
        let s = obj.spec;
        if s.role.is_empty() {
            fail("role must not be empty".into(), "spec.role");
        }
        if s.ami_selector_terms.is_empty() || s.ami_selector_terms.len() > 30 {
            fail(
                "amiSelectorTerms needs 1-30 terms".into(),
                "spec.amiSelectorTerms",
            );
        }
        for t in &s.ami_selector_terms {
            if !t.alias.contains('@') {
                fail(
                    format!("AMI alias {:?} must be family@version", t.alias),
                    "spec.amiSelectorTerms",
                );
            }
        }
        for (field, terms) in [
            ("spec.subnetSelectorTerms", &s.subnet_selector_terms),
            (
                "spec.securityGroupSelectorTerms",
                &s.security_group_selector_terms,
            ),
        ] {
            if terms.is_empty() || terms.iter().any(|t| t.tags.is_empty()) {
                fail("selector terms need at least one tag".into(), field);
            }
        }
        if let Some(m) = &s.metadata_options
            && !(1..=64).contains(&m.http_put_response_hop_limit)
        {
            fail(
                "httpPutResponseHopLimit must be 1-64".into(),
                "spec.metadataOptions",
            );
        }
    }
    problems
}
