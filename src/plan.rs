//! Stage 3, **plan**: a pure function from a validated spec to every number the manifests
//! need, each with the calculation that produced it, plus findings (errors and warnings).
//!
//! Templates see only the [`Plan`], never the spec, so every number in the output is either a
//! value the user wrote (carried through here) or derived here, where it can be explained and
//! checked.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::capacity::{self, Capacity, ServiceResources};
use crate::checks;
use crate::findings::{self, INCONSISTENT_SPEC};
use crate::spec::{self, Spec};

/// Numbers within this distance of an integer count as that integer before rounding up, so
/// 30000 / 1000 × 1.5 is 45 pods, not 46 from floating-point noise.
const EPS: f64 = 1e-9;

pub(crate) fn ceil(x: f64) -> u64 {
    (x - EPS).ceil().max(0.0) as u64
}

/// Severity of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// A problem (or fact) the planner found, with a stable code (`tacosgen explain CODE`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// The spec field it is about (dotted path).
    pub path: String,
}

/// Everything the templates and reports need.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub environment: String,
    pub namespace: String,
    /// The spec this plan came from, relative to the repository root.
    pub source: String,
    /// The comment every generated file starts with.
    pub header: String,
    pub labels: BTreeMap<String, String>,
    pub target_rps: f64,
    pub latency_p99_ms: f64,
    pub availability_percent: f64,
    pub headroom_percent: f64,
    pub services: Vec<ServicePlan>,
    pub redis: Option<RedisPlan>,
    pub node_pools: Vec<NodePoolPlan>,
    /// Resources, nodes, cost, alert thresholds and load-test phases (`tacosgen plan`).
    pub capacity: Capacity,
    /// Alerts, runbook and dashboard (src/observe.rs).
    pub monitoring: crate::observe::MonitoringPlan,
    /// k6 scenarios (src/observe.rs).
    pub load_test: crate::observe::LoadTestPlan,
    pub findings: Vec<Finding>,
}

impl Plan {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePlan {
    pub name: String,
    pub image: String,
    pub port: u16,
    pub rps: f64,
    pub per_pod_rps: f64,
    pub pods_needed: u64,
    pub pods_with_headroom: u64,
    pub min_replicas: u64,
    pub max_replicas: u64,
    pub min_pinned: bool,
    pub max_pinned: bool,
    /// RPS the maximum replica count carries.
    pub max_capacity_rps: f64,
    pub min_available: Option<u64>,
    pub max_unavailable: Option<u64>,
    pub scaling: spec::Scaling,
    pub resources: spec::Resources,
    pub readiness: ProbePlan,
    pub liveness: ProbePlan,
    pub expose: spec::Expose,
    pub placement: spec::Placement,
    /// The service this one receives traffic from (none: an entry point).
    pub traffic_from: Option<String>,
    /// Services this one calls (those whose traffic comes from it), for NetworkPolicies.
    pub calls: Vec<Callee>,
    /// Whether the service talks to Redis (it has a `redisPool`).
    pub uses_redis: bool,
    /// CPU and memory at the replica bounds.
    pub capacity: ServiceResources,
    /// ConfigMap entries, sorted by name.
    pub env: Vec<EnvVar>,
    /// The calculation basis, one line per derived number.
    pub basis: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbePlan {
    pub path: String,
    pub port: u16,
    pub initial_delay_seconds: u32,
    pub period_seconds: u32,
    pub timeout_seconds: u32,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Callee {
    pub name: String,
    pub port: u16,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedisPlan {
    pub image: String,
    pub replicas: u32,
    pub port: u16,
    pub maxmemory: String,
    pub maxmemory_bytes: u64,
    pub maxmemory_policy: String,
    pub maxclients: u32,
    pub persistence: spec::Persistence,
    pub password_secret: spec::SecretRef,
    pub disabled_commands: Vec<String>,
    pub resources: spec::Resources,
    /// Stable DNS name of the master pod, which replicas follow.
    pub master_host: String,
    /// Headless Service governing the master StatefulSet (also the write endpoint).
    pub master_service: String,
    /// Headless Service governing the replica StatefulSet.
    pub replicas_headless_service: String,
    /// ClusterIP Service balancing reads over the replicas.
    pub replicas_service: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolPlan {
    pub name: String,
    pub instance_types: Vec<String>,
    pub capacity_types: Vec<spec::CapacityType>,
    pub limits: spec::PoolLimits,
    pub consolidation: spec::Consolidation,
    pub expire_after: String,
    pub disruption_budget: String,
    pub node_class: spec::NodeClass,
}

/// Builds the plan. Pure: the same spec and source always give the same plan.
pub fn plan(spec: &Spec, source: &str) -> Plan {
    let mut findings = Vec::new();
    let siblings = siblings(spec);
    let rps = service_rps(spec, &siblings, &mut findings);
    let redis = spec.redis.as_ref().map(|r| redis_plan(spec, r));
    // Each service is planned on its own (its RPS is known): on every core for large specs,
    // the findings kept in service order.
    let entries: Vec<_> = spec.services.iter().collect();
    let threads = crate::par::threads_for(entries.len(), crate::par::MIN_SERVICES);
    let planned = crate::par::map(&entries, threads, |&(name, svc)| {
        let mut found = Vec::new();
        let rps = rps.get(name.as_str()).copied().unwrap_or(0.0);
        let plan = service_plan(spec, name, svc, rps, &siblings, redis.as_ref(), &mut found);
        (plan, found)
    });
    let mut services = Vec::with_capacity(planned.len());
    for (plan, found) in planned {
        services.push(plan);
        findings.extend(found);
    }
    let node_pools = spec
        .node_pools
        .iter()
        .map(|(name, p)| NodePoolPlan {
            name: name.clone(),
            instance_types: p.instance_types.clone(),
            capacity_types: p.capacity_types.clone(),
            limits: p.limits.clone(),
            consolidation: p.consolidation.clone(),
            expire_after: p.expire_after.to_string(),
            disruption_budget: p.disruption_budget.clone(),
            node_class: p.node_class.clone(),
        })
        .collect();
    for (name, svc) in &spec.services {
        if let Some(pool) = &svc.placement.node_pool
            && !spec.node_pools.contains_key(pool)
        {
            findings.push(Finding {
                code: INCONSISTENT_SPEC,
                severity: Severity::Error,
                message: format!("node pool {pool:?} is not defined under nodePools"),
                path: format!("services.{name}.placement.nodePool"),
            });
        }
    }
    let capacity_rps = capacity::capacity_rps(spec, &services);
    let derived = checks::check(spec, &services, redis.as_ref(), capacity_rps, &mut findings);
    let capacity = capacity::capacity(spec, &services, redis.as_ref(), derived, &mut findings);
    let (monitoring, load_test) =
        crate::observe::observe(spec, &services, redis.as_ref(), &capacity);
    findings::acknowledge(&mut findings, &spec.acknowledge);
    findings.sort_by(|a, b| (a.severity, &a.path, a.code).cmp(&(b.severity, &b.path, b.code)));
    Plan {
        environment: spec.environment.clone(),
        namespace: spec.namespace.clone(),
        source: source.to_string(),
        header: format!(
            "# Generated by tacosgen from {source}. Do not edit: change the spec and run `tacosgen build {source}`."
        ),
        labels: spec.labels.clone(),
        target_rps: spec.slo.target_rps,
        latency_p99_ms: spec.slo.latency_p99_ms,
        availability_percent: spec.slo.availability_percent,
        headroom_percent: spec.capacity.headroom_percent,
        services,
        redis,
        node_pools,
        capacity,
        monitoring,
        load_test,
        findings,
    }
}

/// RPS of each service: entry points split the SLO target by weight, every other service
/// splits the RPS of the service it receives traffic `from` by weight.
fn service_rps<'a>(
    spec: &'a Spec,
    siblings: &Siblings<'a>,
    findings: &mut Vec<Finding>,
) -> BTreeMap<&'a str, f64> {
    for (name, svc) in &spec.services {
        if let Some(f) = svc.traffic.from.as_deref()
            && !spec.services.contains_key(f)
        {
            findings.push(Finding {
                code: INCONSISTENT_SPEC,
                severity: Severity::Error,
                message: format!("traffic comes from {f:?}, which is not a service of this spec"),
                path: format!("services.{name}.traffic.from"),
            });
        }
    }
    // Services fed by an unknown source are never reached: that source is never queued.
    let mut rps: BTreeMap<&str, f64> = BTreeMap::new();
    // Breadth-first from the entry points; a service never reached is part of a cycle.
    let mut queue: Vec<(Option<&str>, f64)> = vec![(None, spec.slo.target_rps)];
    while let Some((parent, parent_rps)) = queue.pop() {
        let Some(fanout) = siblings.get(&parent) else {
            continue;
        };
        let total = fanout.weight;
        for &(k, svc) in &fanout.services {
            if rps.contains_key(k) {
                continue;
            }
            // Traffic splits, it never multiplies (weight / total ≤ 1). Multiplying first
            // keeps ordinary splits exact (30,000 × 1 / 3 = 10,000, which replica counts
            // round up from); dividing first when that overflows (a target near 1e308).
            let w = svc.traffic.weight.unwrap_or(1.0);
            let mut r = parent_rps * w / total;
            if !r.is_finite() {
                r = parent_rps * (w / total);
            }
            rps.insert(k, r);
            queue.push((Some(k), r));
        }
    }
    for name in spec.services.keys() {
        let reached = rps.contains_key(name.as_str());
        let dangling = spec.services[name]
            .traffic
            .from
            .as_deref()
            .is_some_and(|f| !spec.services.contains_key(f));
        if !reached && !dangling {
            findings.push(Finding {
                code: INCONSISTENT_SPEC,
                severity: Severity::Error,
                message: "traffic sources form a cycle, so no request ever reaches this service"
                    .into(),
                path: format!("services.{name}.traffic.from"),
            });
        }
    }
    rps
}

pub(crate) fn fmt_num(x: f64) -> String {
    if (x - x.round()).abs() < 1e-6 {
        group_thousands(x.round() as i64)
    } else {
        format!("{x:.2}")
    }
}

fn group_thousands(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn service_plan(
    spec: &Spec,
    name: &str,
    svc: &spec::Service,
    rps: f64,
    siblings: &Siblings,
    redis: Option<&RedisPlan>,
    findings: &mut Vec<Finding>,
) -> ServicePlan {
    let path = |field: &str| format!("services.{name}.{field}");
    let headroom = spec.capacity.headroom_percent;
    let pods_needed = ceil(rps / svc.per_pod_rps).max(1);
    let pods_with_headroom = ceil(pods_needed as f64 * (1.0 + headroom / 100.0)).max(1);
    let mut basis = vec![
        format!("rps = {}", rps_basis(svc, siblings, rps)),
        format!(
            "podsNeeded = ceil({} / {} per pod) = {pods_needed}",
            fmt_num(rps),
            fmt_num(svc.per_pod_rps)
        ),
        format!(
            "podsWithHeadroom = ceil({pods_needed} × (1 + {}%)) = {pods_with_headroom}",
            fmt_num(headroom)
        ),
    ];

    let max_replicas = match svc.replicas.max {
        Some(m) => {
            basis.push(format!(
                "maxReplicas = {m} (pinned; derived would be {pods_with_headroom})"
            ));
            u64::from(m)
        }
        None => {
            basis.push(format!(
                "maxReplicas = podsWithHeadroom = {pods_with_headroom}"
            ));
            pods_with_headroom
        }
    };
    let max_capacity_rps = max_replicas as f64 * svc.per_pod_rps;

    let min_load = spec.capacity.min_load_percent;
    let derived_min = ceil(rps * min_load / 100.0 / svc.per_pod_rps).max(2);
    let min_replicas = match svc.replicas.min {
        Some(m) => {
            basis.push(format!(
                "minReplicas = {m} (pinned; derived would be {derived_min})"
            ));
            u64::from(m)
        }
        None => {
            let m = derived_min.min(max_replicas);
            basis.push(format!(
                "minReplicas = max(2, ceil({} × {}% / {})) = {m}",
                fmt_num(rps),
                fmt_num(min_load),
                fmt_num(svc.per_pod_rps)
            ));
            m
        }
    };
    if min_replicas > max_replicas {
        findings.push(Finding {
            code: INCONSISTENT_SPEC,
            severity: Severity::Error,
            message: format!(
                "minReplicas {min_replicas} is above maxReplicas {max_replicas}; the HPA rejects that"
            ),
            path: path("replicas.min"),
        });
    }

    let (min_available, max_unavailable) = match (
        svc.disruption_budget.min_available,
        svc.disruption_budget.max_unavailable,
    ) {
        (Some(_), Some(_)) => {
            findings.push(Finding {
                code: INCONSISTENT_SPEC,
                severity: Severity::Error,
                message: "a PodDisruptionBudget takes minAvailable or maxUnavailable, not both"
                    .into(),
                path: path("disruptionBudget"),
            });
            (None, Some(1))
        }
        (Some(m), None) => {
            basis.push(format!("pdb.minAvailable = {m} (pinned)"));
            (Some(u64::from(m)), None)
        }
        (None, Some(m)) => {
            basis.push(format!("pdb.maxUnavailable = {m} (pinned)"));
            (None, Some(u64::from(m)))
        }
        (None, None) if min_replicas >= 2 => {
            let m = min_replicas.div_ceil(2);
            basis.push(format!(
                "pdb.minAvailable = ceil(minReplicas {min_replicas} / 2) = {m}"
            ));
            (Some(m), None)
        }
        (None, None) => {
            basis.push("pdb.maxUnavailable = 1 (a single replica cannot keep a minimum while it is drained)".into());
            (None, Some(1))
        }
    };

    let port_of = |p: &spec::Probe| ProbePlan {
        path: p.path.clone(),
        port: p.port.unwrap_or(svc.port),
        initial_delay_seconds: p.initial_delay_seconds,
        period_seconds: p.period_seconds,
        timeout_seconds: p.timeout_seconds,
        success_threshold: p.success_threshold,
        failure_threshold: p.failure_threshold,
    };

    ServicePlan {
        name: name.to_string(),
        image: svc.image.clone(),
        port: svc.port,
        rps,
        per_pod_rps: svc.per_pod_rps,
        pods_needed,
        pods_with_headroom,
        min_replicas,
        max_replicas,
        min_pinned: svc.replicas.min.is_some(),
        max_pinned: svc.replicas.max.is_some(),
        max_capacity_rps,
        min_available,
        max_unavailable,
        scaling: svc.scaling.clone(),
        resources: svc.resources.clone(),
        readiness: port_of(&svc.probes.readiness),
        // Liveness probes must never succeed only after readiness would: a fixed ordering.
        liveness: ProbePlan {
            success_threshold: 1,
            ..port_of(&svc.probes.liveness)
        },
        expose: svc.expose.clone(),
        placement: svc.placement.clone(),
        traffic_from: svc.traffic.from.clone(),
        calls: siblings
            .get(&Some(name))
            .map_or(&[][..], |f| &f.services)
            .iter()
            .map(|(n, s)| Callee {
                name: n.to_string(),
                port: s.port,
            })
            .collect(),
        uses_redis: svc.redis_pool.is_some(),
        capacity: capacity::service_resources(min_replicas, max_replicas, &svc.resources),
        env: service_env(name, svc, redis, findings),
        basis,
    }
}

/// For each traffic source (`None`: the SLO target), the services it feeds, in name order,
/// and the sum of their weights; computed once, because looking them up per service is
/// quadratic.
type Siblings<'a> = BTreeMap<Option<&'a str>, Fanout<'a>>;

#[derive(Default)]
struct Fanout<'a> {
    services: Vec<(&'a str, &'a spec::Service)>,
    weight: f64,
}

fn siblings(spec: &Spec) -> Siblings<'_> {
    let mut siblings = Siblings::new();
    for (name, svc) in &spec.services {
        let fanout = siblings.entry(svc.traffic.from.as_deref()).or_default();
        fanout.services.push((name, svc));
        fanout.weight += svc.traffic.weight.unwrap_or(1.0);
    }
    siblings
}

fn rps_basis(svc: &spec::Service, siblings: &Siblings, rps: f64) -> String {
    let from = svc.traffic.from.as_deref();
    let (count, total) = siblings
        .get(&from)
        .map_or((1, 1.0), |f| (f.services.len(), f.weight));
    let parent = from.map_or("the SLO target".to_string(), |f| format!("{f}'s"));
    if count == 1 {
        format!("{} ({parent})", fmt_num(rps))
    } else {
        let w = svc.traffic.weight.unwrap_or(1.0);
        format!(
            "{parent} RPS × weight {} / {} = {}",
            fmt_num(w),
            fmt_num(total),
            fmt_num(rps)
        )
    }
}

fn service_env(
    name: &str,
    svc: &spec::Service,
    redis: Option<&RedisPlan>,
    findings: &mut Vec<Finding>,
) -> Vec<EnvVar> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    if let Some(p) = &svc.redis_pool {
        env.insert("REDIS_POOL_SIZE".into(), p.size.to_string());
        env.insert("REDIS_POOL_TIMEOUT".into(), p.timeout.to_string());
        if let Some(r) = redis {
            env.insert(
                "REDIS_ADDR".into(),
                format!("{}:{}", r.master_service, r.port),
            );
            env.insert(
                "REDIS_READ_ADDR".into(),
                format!("{}:{}", r.replicas_service, r.port),
            );
        }
    }
    if let Some(h) = &svc.http_client {
        env.insert("HTTP_MAX_IDLE_CONNS".into(), h.max_idle_conns.to_string());
        env.insert(
            "HTTP_MAX_IDLE_CONNS_PER_HOST".into(),
            h.max_idle_conns_per_host.to_string(),
        );
        env.insert("HTTP_TIMEOUT".into(), h.timeout.to_string());
    }
    if let Some(c) = &svc.circuit_breaker {
        env.insert("CIRCUIT_BREAKER_THRESHOLD".into(), c.threshold.to_string());
        env.insert("CIRCUIT_BREAKER_TIMEOUT".into(), c.timeout.to_string());
    }
    if let Some(r) = &svc.rate_limit {
        env.insert("RATE_LIMIT_RPS".into(), r.rps.to_string());
        env.insert("RATE_LIMIT_BURST".into(), r.burst.to_string());
    }
    for (k, v) in &svc.env {
        if env.contains_key(k) {
            findings.push(Finding {
                code: INCONSISTENT_SPEC,
                severity: Severity::Error,
                message: format!(
                    "{k} is already set from a typed field (redisPool, httpClient, circuitBreaker, rateLimit); set it there"
                ),
                path: format!("services.{name}.env.{k}"),
            });
        } else {
            env.insert(k.clone(), v.clone());
        }
    }
    env.into_iter()
        .map(|(name, value)| EnvVar { name, value })
        .collect()
}

fn redis_plan(spec: &Spec, r: &spec::Redis) -> RedisPlan {
    let master_service = "redis-master".to_string();
    RedisPlan {
        image: r.image.clone(),
        replicas: r.replicas,
        port: r.port,
        maxmemory: r.maxmemory.to_string(),
        maxmemory_bytes: r.maxmemory.bytes,
        maxmemory_policy: serde_json::to_value(r.maxmemory_policy)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        maxclients: r.maxclients,
        persistence: r.persistence,
        password_secret: r.password_secret.clone(),
        disabled_commands: r.disabled_commands.clone(),
        resources: r.resources.clone(),
        master_host: format!(
            "redis-master-0.{master_service}.{}.svc.cluster.local",
            spec.namespace
        ),
        master_service,
        replicas_headless_service: "redis-replicas-headless".into(),
        replicas_service: "redis-replicas".into(),
    }
}
