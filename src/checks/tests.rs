//! One spec that triggers each finding and one that does not. Specs are a minimal base with
//! an overlay merged on top, loaded through the real parse → validate → plan path.

use crate::error::FileId;
use crate::load::{self, Loaded};
use crate::plan::{Plan, Severity, plan};

const BASE: &str = r#"
environment: t
namespace: t
slo: {targetRps: 1000, latencyP99Ms: 100, availabilityPercent: 99.9}
services:
  api:
    image: x:1
    perPodRps: 100
    resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: 200m, memory: 256Mi}}
nodePools:
  pool:
    instanceTypes: [m5.large]
    limits: {cpu: "100", memory: 400Gi}
    nodeClass: {role: r, amiAlias: al2023@v1, subnetTags: {a: b}, securityGroupTags: {a: b}}
"#;

const REDIS: &str = r#"
redis:
  maxmemory: 512mb
  passwordSecret: {name: s, key: k}
  dataDisposable: true
  resources: {requests: {cpu: 100m, memory: 1Gi}, limits: {cpu: 1, memory: 2Gi}}
"#;

/// The plan of BASE with each overlay merged on in order.
fn plan_of(overlays: &[&str]) -> Plan {
    let mut tree = load::parse(BASE, FileId(0)).expect("base parses");
    for o in overlays {
        load::merge(
            &mut tree,
            load::parse(o, FileId(0)).expect("overlay parses"),
        );
    }
    let loaded = Loaded {
        tree,
        display_path: "t.yaml".into(),
    };
    let spec = crate::validate::validate(&loaded).unwrap_or_else(|e| panic!("{e:?}"));
    plan(&spec, "t.yaml")
}

/// (severity, path) of the findings with `code`.
fn found(plan: &Plan, code: &str) -> Vec<(Severity, String)> {
    plan.findings
        .iter()
        .filter(|f| f.code == code)
        .map(|f| (f.severity, f.path.clone()))
        .collect()
}

fn one(sev: Severity, path: &str) -> Vec<(Severity, String)> {
    vec![(sev, path.to_string())]
}

fn message<'a>(plan: &'a Plan, code: &str) -> &'a str {
    &plan
        .findings
        .iter()
        .find(|f| f.code == code)
        .expect(code)
        .message
}

#[test]
fn base_spec_has_only_the_error_budget() {
    let p = plan_of(&[]);
    let codes: Vec<&str> = p.findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["TG013"], "{:#?}", p.findings);
}

#[test]
fn tg001_max_replicas() {
    let p = plan_of(&["services: {api: {replicas: {max: 5}}}"]);
    assert_eq!(
        found(&p, "TG001"),
        one(Severity::Error, "services.api.replicas.max")
    );
    assert!(message(&p, "TG001").contains("5 × 100 RPS per pod = 500 RPS"));
    let p = plan_of(&["services: {api: {replicas: {max: 12}}}"]);
    assert_eq!(
        found(&p, "TG001"),
        one(Severity::Warning, "services.api.replicas.max")
    );
    assert!(
        found(
            &plan_of(&["services: {api: {replicas: {max: 15}}}"]),
            "TG001"
        )
        .is_empty()
    );
}

#[test]
fn tg002_pdb_blocking_evictions() {
    // Derived minReplicas: max(2, ceil(1000 × 30 % / 100)) = 3.
    let p = plan_of(&["services: {api: {disruptionBudget: {minAvailable: 3}}}"]);
    assert_eq!(
        found(&p, "TG002"),
        one(
            Severity::Error,
            "services.api.disruptionBudget.minAvailable"
        )
    );
    let p = plan_of(&["services: {api: {disruptionBudget: {maxUnavailable: 0}}}"]);
    assert_eq!(
        found(&p, "TG002"),
        one(
            Severity::Error,
            "services.api.disruptionBudget.maxUnavailable"
        )
    );
    let p = plan_of(&["services: {api: {disruptionBudget: {minAvailable: 2}}}"]);
    assert!(found(&p, "TG002").is_empty());
}

#[test]
fn tg003_node_pool_limits() {
    // 15 pods at max: 1.5 cores and 1.875 GiB requested, 3 cores of limits.
    let p = plan_of(&["nodePools: {pool: {limits: {cpu: \"1\", memory: 400Gi}}}"]);
    assert_eq!(
        found(&p, "TG003"),
        one(Severity::Error, "nodePools.pool.limits")
    );
    assert!(message(&p, "TG003").contains("1.5 cores"));
    let p = plan_of(&["nodePools: {pool: {limits: {cpu: \"2\", memory: 400Gi}}}"]);
    assert_eq!(
        found(&p, "TG003"),
        one(Severity::Warning, "nodePools.pool.limits")
    );
    let p = plan_of(&["nodePools: {pool: {nodes: 60}}"]);
    assert_eq!(
        found(&p, "TG003"),
        one(Severity::Warning, "nodePools.pool.nodes")
    );
    assert!(message(&p, "TG003").contains("(50)"), "100 cores / 2 vCPU");
    assert!(found(&plan_of(&["nodePools: {pool: {nodes: 2}}"]), "TG003").is_empty());
}

#[test]
fn tg004_rate_limit_above_capacity() {
    let p = plan_of(&["services: {api: {rateLimit: {rps: 150, burst: 200}}}"]);
    assert_eq!(
        found(&p, "TG004"),
        one(Severity::Warning, "services.api.rateLimit.rps")
    );
    assert!(message(&p, "TG004").contains("set rateLimit.rps to 90"));
    let p = plan_of(&["services: {api: {rateLimit: {rps: 90, burst: 200}}}"]);
    assert!(found(&p, "TG004").is_empty());
}

#[test]
fn tg005_redis_connections() {
    // 15 pods at max; 3 replicas add 3 replication links.
    let pool = |n: u32| format!("services: {{api: {{redisPool: {{size: {n}, timeout: 1s}}}}}}");
    let p = plan_of(&[REDIS, &pool(1000)]);
    assert_eq!(found(&p, "TG005"), one(Severity::Error, "redis.maxclients"));
    assert!(message(&p, "TG005").contains("api 15 × 1000 + 3 replication link(s) = 15,003"));
    let p = plan_of(&[REDIS, &pool(600)]);
    assert_eq!(
        found(&p, "TG005"),
        one(Severity::Warning, "redis.maxclients")
    );
    assert!(found(&plan_of(&[REDIS, &pool(10)]), "TG005").is_empty());
}

#[test]
fn tg006_redis_memory() {
    let limit = |m: &str| format!("redis: {{resources: {{limits: {{cpu: 1, memory: {m}}}}}}}");
    let p = plan_of(&[REDIS, &limit("256Mi")]);
    assert_eq!(
        found(&p, "TG006"),
        one(Severity::Error, "redis.resources.limits.memory")
    );
    // 512 × 1.2 + 3 × 256 = 1382.4 MiB.
    let p = plan_of(&[REDIS, &limit("1Gi")]);
    assert_eq!(
        found(&p, "TG006"),
        one(Severity::Warning, "redis.resources.limits.memory")
    );
    assert!(message(&p, "TG006").contains("1,382.4 MiB"));
    assert!(found(&plan_of(&[REDIS, &limit("1400Mi")]), "TG006").is_empty());
}

#[test]
fn tg007_redis_persistence() {
    let p = plan_of(&[REDIS, "redis: {dataDisposable: false}"]);
    assert_eq!(
        found(&p, "TG007"),
        one(Severity::Warning, "redis.persistence")
    );
    assert!(found(&plan_of(&[REDIS]), "TG007").is_empty());
    let aof = plan_of(&[REDIS, "redis: {dataDisposable: false, persistence: aof}"]);
    assert!(found(&aof, "TG007").is_empty());
    let alone = plan_of(&[REDIS, "redis: {dataDisposable: false, replicas: 0}"]);
    assert!(found(&alone, "TG007").is_empty());
}

#[test]
fn tg008_session_affinity() {
    let p =
        plan_of(&["services: {api: {expose: {type: LoadBalancer, sessionAffinity: ClientIP}}}"]);
    assert_eq!(
        found(&p, "TG008"),
        one(Severity::Warning, "services.api.expose.sessionAffinity")
    );
    let p = plan_of(&["services: {api: {expose: {type: ClusterIP, sessionAffinity: ClientIP}}}"]);
    assert!(found(&p, "TG008").is_empty());
}

#[test]
fn tg009_probes() {
    let p = plan_of(&[
        "services: {api: {probes: {readiness: {path: /r, periodSeconds: 3, timeoutSeconds: 3}}}}",
    ]);
    assert_eq!(
        found(&p, "TG009"),
        one(
            Severity::Warning,
            "services.api.probes.readiness.timeoutSeconds"
        )
    );
    let p = plan_of(&["services: {api: {probes: {startupSeconds: 60}}}"]);
    assert_eq!(
        found(&p, "TG009"),
        one(
            Severity::Error,
            "services.api.probes.liveness.initialDelaySeconds"
        )
    );
    let p = plan_of(&["services: {api: {probes: {startupSeconds: 40}}}"]);
    assert_eq!(
        found(&p, "TG009"),
        one(
            Severity::Warning,
            "services.api.probes.liveness.initialDelaySeconds"
        )
    );
    let p = plan_of(&[
        "services: {api: {probes: {liveness: {path: /l, initialDelaySeconds: 30, periodSeconds: 2, failureThreshold: 2}}}}",
    ]);
    assert_eq!(
        found(&p, "TG009"),
        one(
            Severity::Warning,
            "services.api.probes.liveness.failureThreshold"
        )
    );
    assert!(
        found(
            &plan_of(&["services: {api: {probes: {startupSeconds: 20}}}"]),
            "TG009"
        )
        .is_empty()
    );
}

#[test]
fn tg010_alerts() {
    let p = plan_of(&["alerts: {rpsWarningMargin: \"1%\", rpsCriticalMargin: \"5%\"}"]);
    assert_eq!(
        found(&p, "TG010"),
        one(Severity::Warning, "alerts.rpsWarningMargin")
    );
    let p = plan_of(&["alerts: {rpsWarningMargin: 2000}"]);
    assert_eq!(
        found(&p, "TG010"),
        one(Severity::Error, "alerts.rpsWarningMargin")
    );
    let p = plan_of(&["alerts: {latencyP99Ms: 200}"]);
    assert_eq!(
        found(&p, "TG010"),
        one(Severity::Warning, "alerts.latencyP99Ms")
    );
    // maxReplicas 5 carry 500 RPS: both thresholds (930, 970) are out of reach.
    let p = plan_of(&["services: {api: {replicas: {max: 5}}}"]);
    assert_eq!(found(&p, "TG010").len(), 2);
    assert_eq!(p.capacity.alerts.rps_warning, 930.0);
    assert!(found(&plan_of(&["alerts: {latencyP99Ms: 80}"]), "TG010").is_empty());
}

#[test]
fn tg011_load_test_vus_and_saturation() {
    let p = plan_of(&["loadTest: {phases: [{name: peak, duration: 1m, rate: \"100%\", vus: 50}]}"]);
    assert_eq!(
        found(&p, "TG011"),
        one(Severity::Warning, "loadTest.phases.0.vus")
    );
    assert!(message(&p, "TG011").contains("it needs 100 VUs"));
    let p =
        plan_of(&["loadTest: {phases: [{name: peak, duration: 1m, rate: \"100%\", vus: 100}]}"]);
    assert!(found(&p, "TG011").is_empty());
    // maxReplicas 15 × 100 carry 1,500 RPS.
    let p = plan_of(&["loadTest: {phases: [{name: stress, duration: 1m, rate: 2000}]}"]);
    assert_eq!(
        found(&p, "TG011"),
        one(Severity::Info, "loadTest.phases.0.rate")
    );
    assert!(p.capacity.load_test[0].saturates);
}

#[test]
fn tg012_hpa_scale_up() {
    let p =
        plan_of(&["loadTest: {phases: [{name: ramp, duration: 10s, rate: \"100%\", ramp: true}]}"]);
    assert_eq!(
        found(&p, "TG012"),
        one(Severity::Warning, "loadTest.phases.0.duration")
    );
    assert!(message(&p, "TG012").contains("api falls behind after"));
    let p =
        plan_of(&["loadTest: {phases: [{name: ramp, duration: 30m, rate: \"100%\", ramp: true}]}"]);
    assert!(found(&p, "TG012").is_empty());
    let p = plan_of(&[
        "loadTest: {phases: [{name: warm, duration: 1m, rate: \"10%\"}, {name: peak, duration: 1m, rate: \"100%\"}]}",
    ]);
    assert_eq!(
        found(&p, "TG012"),
        one(Severity::Info, "loadTest.phases.1.rate")
    );
}

/// Many services lagging alike: the finding names the first, for a ramp (earliest lag) and
/// for a step (slowest to catch up). Each of the entry points gets 1,000 RPS, as `api` alone
/// does in the base.
#[test]
fn tg012_names_the_first_of_equal_services() {
    let n = 2 * crate::par::MIN_SERVICES;
    let many: String = (0..n)
        .map(|i| {
            format!(
                "  s{i:03}: {{image: x:1, perPodRps: 100, resources: {{requests: {{cpu: 100m, memory: 128Mi}}, limits: {{cpu: 200m, memory: 256Mi}}}}}}\n"
            )
        })
        .collect();
    let slo = format!("slo: {{targetRps: {}}}\n", (n + 1) * 1000);
    let ramp = format!(
        "{slo}services:\n{many}loadTest: {{phases: [{{name: ramp, duration: 10s, rate: \"100%\", ramp: true}}]}}"
    );
    let p = plan_of(&[&ramp]);
    assert!(message(&p, "TG012").contains("api falls behind after"));
    let step = format!(
        "{slo}services:\n{many}loadTest: {{phases: [{{name: warm, duration: 1m, rate: \"10%\"}}, {{name: peak, duration: 1m, rate: \"100%\"}}]}}"
    );
    let p = plan_of(&[&step]);
    let m = message(&p, "TG012");
    assert!(m.contains("api") && !m.contains("s000"), "{m}");
}

#[test]
fn tg013_error_budget() {
    let p = plan_of(&[]);
    assert_eq!(
        found(&p, "TG013"),
        one(Severity::Info, "slo.availabilityPercent")
    );
    assert!(message(&p, "TG013").contains("43.8 minutes a month"));
    let p = plan_of(&["slo: {availabilityPercent: 99.99}"]);
    assert!(message(&p, "TG013").contains("4.38 minutes a month"));
}

#[test]
fn tg014_inconsistent_spec() {
    let p = plan_of(&["services: {api: {placement: {nodePool: nope}}}"]);
    assert_eq!(
        found(&p, "TG014"),
        one(Severity::Error, "services.api.placement.nodePool")
    );
    let p = plan_of(&["loadTest: {phases: [{name: x, duration: 1m}]}"]);
    assert_eq!(
        found(&p, "TG014"),
        one(Severity::Error, "loadTest.phases.0")
    );
    let p = plan_of(&["services: {api: {replicas: {min: 20, max: 16}}}"]);
    assert_eq!(
        found(&p, "TG014"),
        one(Severity::Error, "services.api.replicas.min")
    );
}

#[test]
fn tg015_unknown_instance_type() {
    let p = plan_of(&["nodePools: {pool: {instanceTypes: [x9.huge]}}"]);
    assert_eq!(
        found(&p, "TG015"),
        one(Severity::Warning, "nodePools.pool.instanceTypes.0")
    );
    assert!(p.capacity.cost.is_none());
    let p = plan_of(&[
        "nodePools: {pool: {instanceTypes: [x9.huge]}}",
        "instanceTypes: {x9.huge: {vcpu: 4, memoryGiB: 16, hourlyUsd: 0.5}}",
    ]);
    assert!(found(&p, "TG015").is_empty());
    assert_eq!(p.capacity.node_pools[0].instance.max_pods, 110);
}

#[test]
fn tg016_acknowledgements() {
    let ack = "acknowledge: [{code: TG004, reason: measured burst}]";
    let p = plan_of(&["services: {api: {rateLimit: {rps: 150, burst: 200}}}", ack]);
    assert_eq!(
        found(&p, "TG004"),
        one(Severity::Info, "services.api.rateLimit.rps")
    );
    assert!(message(&p, "TG004").ends_with("(acknowledged: measured burst)"));
    assert!(found(&p, "TG016").is_empty());
    let p = plan_of(&[ack]);
    assert_eq!(
        found(&p, "TG016"),
        one(Severity::Warning, "acknowledge.0.code")
    );
    let p = plan_of(&[
        "services: {api: {replicas: {max: 5}}}",
        "acknowledge: [{code: TG001, reason: r}]",
    ]);
    assert_eq!(
        found(&p, "TG016"),
        one(Severity::Error, "acknowledge.0.code")
    );
    assert!(p.has_errors());
}

#[test]
fn cost_counts_nodes_at_requests_unless_pinned() {
    // 1.5 cores, 1.875 GiB, 15 pods on m5.large (1.93 cores, 29 pods): one node.
    let p = plan_of(&[]);
    let cost = p.capacity.cost.as_ref().expect("cost");
    assert_eq!((cost.nodes, cost.hourly_usd), (1, 0.096));
    let p = plan_of(&["nodePools: {pool: {nodes: 3}}"]);
    let cost = p.capacity.cost.as_ref().expect("cost");
    assert_eq!((cost.nodes, cost.monthly_usd), (3, 210.24));
}

#[test]
fn tg017_production_images_pinned_by_digest() {
    // Not a production spec: tags are fine.
    assert!(found(&plan_of(&[]), "TG017").is_empty());
    let p = plan_of(&["production: true"]);
    assert_eq!(
        found(&p, "TG017"),
        one(Severity::Warning, "services.api.image")
    );
    assert!(message(&p, "TG017").contains("x:1@sha256:<digest>"));
    let digest = format!("x:1@sha256:{}", "a".repeat(64));
    let p = plan_of(&[
        "production: true",
        &format!("services: {{api: {{image: \"{digest}\"}}}}"),
    ]);
    assert!(found(&p, "TG017").is_empty());
    // Redis images count too.
    let p = plan_of(&[
        "production: true",
        REDIS,
        &format!("services: {{api: {{image: \"{digest}\"}}}}"),
    ]);
    assert_eq!(found(&p, "TG017"), one(Severity::Warning, "redis.image"));
}

/// What `first_behind` replaced: every second of the ramp tried in turn.
fn first_behind_per_second(
    decided: &[(u64, u64)],
    ready_after: u64,
    duration: u64,
    behind: impl Fn(u64, u64) -> Option<f64>,
) -> Option<(u64, u64, f64)> {
    let mut last = 0;
    for sec in 0..=duration {
        while decided
            .get(last + 1)
            .is_some_and(|(d, _)| d.saturating_add(ready_after) <= sec)
        {
            last += 1;
        }
        let pods = decided[last].1;
        if let Some(asked) = behind(sec, pods) {
            return Some((sec, pods, asked));
        }
    }
    None
}

proptest::proptest! {
    /// Bisection between decisions finds the second, pods and rate that trying every second
    /// finds, on HPA decisions and ramps of every shape (asked rates as the simulation
    /// computes them: linear, capped at maxReplicas).
    #[test]
    fn first_behind_is_the_first_second_behind(
        start in 0u64..20,
        steps in proptest::collection::vec(0u64..5, 0..40),
        period in 1u64..60,
        ready_after in 0u64..120,
        duration in 0u64..900,
        (from, rise) in (0.0f64..2000.0, 0.001f64..20000.0),
        share in 0.001f64..1.0,
        per in 1.0f64..500.0,
        max_pods in 1u64..200,
    ) {
        let mut decided = vec![(0, start)];
        for (k, step) in steps.iter().enumerate() {
            let pods = decided[k].1 + step;
            decided.push(((k as u64 + 1) * period, pods));
        }
        let to = from + rise;
        let rate_at = |t: f64| {
            if duration > 0 {
                from + (to - from) * (t / duration as f64).min(1.0)
            } else {
                to
            }
        };
        let behind = |sec: u64, pods: u64| {
            let asked = (share * rate_at(sec as f64)).min(max_pods as f64 * per);
            (pods as f64 * per + 1e-9 < asked).then_some(asked)
        };
        proptest::prop_assert_eq!(
            super::first_behind(&decided, ready_after, duration, behind),
            first_behind_per_second(&decided, ready_after, duration, behind)
        );
    }
}
