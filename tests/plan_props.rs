//! Properties of the planner over generated specs.

use proptest::prelude::*;
use tacosgen::error::FileId;
use tacosgen::load::{self, Loaded};
use tacosgen::plan::{Plan, plan};

/// A spec with a gateway and `backends` backends splitting its traffic.
fn spec_yaml(
    target: f64,
    gw_per_pod: f64,
    be_per_pod: f64,
    backends: usize,
    headroom: f64,
    pin: Option<u32>,
) -> String {
    let mut s = format!(
        "environment: p\nnamespace: p\nslo: {{targetRps: {target}, latencyP99Ms: 100, availabilityPercent: 99.9}}\n\
         capacity: {{headroomPercent: {headroom}}}\nservices:\n  gw:\n    image: x:1\n    perPodRps: {gw_per_pod}\n"
    );
    if let Some(m) = pin {
        s.push_str(&format!("    replicas: {{max: {m}}}\n"));
    }
    s.push_str("    resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: 200m, memory: 256Mi}}\n");
    for i in 0..backends {
        s.push_str(&format!(
            "  be{i}:\n    image: x:1\n    perPodRps: {be_per_pod}\n    traffic: {{from: gw, weight: {}}}\n    \
             resources: {{requests: {{cpu: 100m, memory: 128Mi}}, limits: {{cpu: 200m, memory: 256Mi}}}}\n",
            i + 1
        ));
    }
    s
}

fn plan_of(yaml: &str) -> Plan {
    let tree = load::parse(yaml, FileId(0)).expect("parses");
    let loaded = Loaded {
        tree,
        display_path: "p.yaml".into(),
    };
    let spec = tacosgen::validate::validate(&loaded).unwrap_or_else(|e| panic!("{e:?}\n{yaml}"));
    plan(&spec, "p.yaml")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn replicas_never_fall_when_rps_rises(
        target in 1u32..200_000, extra in 0u32..200_000, gw in 1u32..5000, be in 1u32..5000,
        backends in 0usize..4, headroom in 0u32..200,
    ) {
        let low = plan_of(&spec_yaml(target.into(), gw.into(), be.into(), backends, headroom.into(), None));
        let high = plan_of(&spec_yaml((target + extra).into(), gw.into(), be.into(), backends, headroom.into(), None));
        for (l, h) in low.services.iter().zip(&high.services) {
            prop_assert!(h.min_replicas >= l.min_replicas, "{}: min {} → {}", l.name, l.min_replicas, h.min_replicas);
            prop_assert!(h.max_replicas >= l.max_replicas, "{}: max {} → {}", l.name, l.max_replicas, h.max_replicas);
        }
    }

    #[test]
    fn max_replicas_carry_the_rps_unless_an_error_says_so(
        target in 1u32..200_000, gw in 1u32..5000, be in 1u32..5000, backends in 0usize..4,
        headroom in 0u32..200, pin in proptest::option::of(1u32..300),
    ) {
        let p = plan_of(&spec_yaml(target.into(), gw.into(), be.into(), backends, headroom.into(), pin));
        if !p.has_errors() {
            for s in &p.services {
                prop_assert!(s.max_replicas as f64 * s.per_pod_rps >= s.rps - 1e-6, "{}", s.name);
            }
        }
    }

    #[test]
    fn plan_is_a_pure_function(
        target in 1u32..200_000, gw in 1u32..5000, be in 1u32..5000, backends in 0usize..4,
        pin in proptest::option::of(1u32..300),
    ) {
        let yaml = spec_yaml(target.into(), gw.into(), be.into(), backends, 50.0, pin);
        let a = serde_json::to_string(&plan_of(&yaml)).unwrap();
        let b = serde_json::to_string(&plan_of(&yaml)).unwrap();
        prop_assert_eq!(a, b);
    }
}
