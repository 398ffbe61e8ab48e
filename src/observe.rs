//! Monitoring and load tests derived from the SLO (part of the **plan** stage).
//!
//! A pure function from the spec and the service plans to the alert rules (with their runbook
//! text), the Grafana dashboard and the k6 scenarios. Every threshold is computed here from the
//! SLO and the `alerts` settings, never written in a template, so changing the target moves
//! the alerts, the dashboard lines and the load test together.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::capacity::Capacity;
use crate::checks::{AlertThresholds, PhaseReport};
use crate::par;
use crate::plan::{RedisPlan, ServicePlan, fmt_num};
use crate::spec::{EvictionPolicy, Spec};

/// Rate window of the request-rate alerts: at least 4 scrapes at a 30 s scrape interval.
const RPS_WINDOW: &str = "2m";
/// Rate window of ratios and quantiles, which need more samples to be stable.
const RATIO_WINDOW: &str = "5m";

/// Alert rules, the runbook's emergency commands and the dashboard.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringPlan {
    /// Name of the PrometheusRule object.
    pub rule_name: String,
    pub rule_labels: BTreeMap<String, String>,
    pub groups: Vec<RuleGroup>,
    /// Path of the runbook relative to the repository root.
    pub runbook_path: String,
    /// Every metric the rules and the dashboard query.
    pub metrics: BTreeSet<String>,
    /// Entry points (the services that receive the SLO target).
    pub entry_points: Vec<String>,
    /// RPS the whole system carries with every service at maxReplicas (the service that runs
    /// out first sets it), in SLO-target terms.
    pub capacity_rps: f64,
    pub emergency: Vec<Emergency>,
    /// Runbook sections, one per alert name, in rule order.
    pub sections: Vec<RunbookSection>,
    /// CPU cores and memory (GiB) the pods request with every service at maxReplicas and
    /// Redis at its planned size: what the node pools must hold.
    pub max_cpu_cores: f64,
    pub max_memory_gib: f64,
    pub dashboard: Dashboard,
}

/// One alert's runbook section; rules of the same alert (per service) share it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunbookSection {
    pub alert: String,
    pub severity: String,
    /// Each rule's summary and `for`.
    pub fires: Vec<String>,
    pub meaning: String,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleGroup {
    pub name: String,
    pub rules: Vec<AlertRule>,
}

/// One alerting rule and its runbook section.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRule {
    pub alert: String,
    pub expr: String,
    /// Prometheus `for`.
    #[serde(rename = "for")]
    pub for_: String,
    /// The number the expression compares with.
    pub threshold: f64,
    /// Labels of the alert, including `severity`.
    pub labels: BTreeMap<String, String>,
    pub summary: String,
    pub description: String,
    pub runbook_url: String,
    /// Heading of its runbook section (several rules may share one).
    pub anchor: String,
    /// What it means, for the runbook.
    pub meaning: String,
    /// What to do, for the runbook.
    pub actions: Vec<String>,
}

impl AlertRule {
    pub fn severity(&self) -> &str {
        self.labels.get("severity").map_or("", String::as_str)
    }
}

/// Manual scaling bounds of one service, for the runbook.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Emergency {
    pub service: String,
    /// Replicas to scale to by hand: the count that carries the target with headroom,
    /// within the HPA's bounds.
    pub scale_to: u64,
    pub min_replicas: u64,
    pub max_replicas: u64,
}

/// The Grafana dashboard ConfigMap.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub file_name: String,
    /// The dashboard JSON (pretty-printed).
    pub json: String,
}

/// The k6 load test.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadTestPlan {
    pub scenarios: Vec<Scenario>,
    /// k6 thresholds: metric → conditions.
    pub thresholds: BTreeMap<String, Vec<String>>,
    pub max_vus_factor: f64,
    /// The most VUs any scenario may use: what the load generator must hold.
    #[serde(rename = "maxVUs")]
    pub max_vus: u64,
    pub total_seconds: u64,
    /// An in-cluster URL of the (first) entry point, for the usage line.
    pub example_url: String,
    /// Entry points pinning each client IP to one pod (sessionAffinity ClientIP).
    pub client_ip_affinity: Vec<String>,
}

/// One phase as a k6 scenario with an arrival-rate executor.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scenario {
    pub name: String,
    /// `constant-arrival-rate` or `ramping-arrival-rate`.
    pub executor: String,
    /// Offset from the test start (k6 duration).
    pub start_time: String,
    pub duration: String,
    pub duration_seconds: u64,
    /// Iterations (requests) per second held, or reached at the end of a ramp.
    pub rate: u64,
    /// Rate a ramp starts from (the previous phase's rate).
    pub start_rate: Option<u64>,
    #[serde(rename = "preAllocatedVUs")]
    pub pre_allocated_vus: u64,
    #[serde(rename = "maxVUs")]
    pub max_vus: u64,
    pub basis: Vec<String>,
}

/// Derives monitoring and the load test from the planner's numbers (capacity, alert
/// thresholds, phase rates), which the planner has already checked (TG010, TG011).
pub fn observe(
    spec: &Spec,
    services: &[ServicePlan],
    redis: Option<&RedisPlan>,
    capacity: &Capacity,
) -> (MonitoringPlan, LoadTestPlan) {
    let entry_points: Vec<String> = services
        .iter()
        .filter(|s| s.traffic_from.is_none())
        .map(|s| s.name.clone())
        .collect();
    let capacity_rps = capacity.capacity_rps;
    let runbook_path = format!("out/{}/RUNBOOK.md", spec.environment);
    let runbook_base = match &spec.monitoring.runbook_base_url {
        Some(base) => format!("{}/{runbook_path}", base.trim_end_matches('/')),
        None => runbook_path.clone(),
    };
    let q = Queries::new(spec, &entry_points);
    // The dashboard (one panel per service) does not depend on the rules: for large
    // environments it is built on the second core meanwhile.
    let rules = || {
        let mut groups = vec![
            RuleGroup {
                name: format!("{}.slo", spec.environment),
                rules: slo_rules(spec, &q, capacity_rps, &capacity.alerts),
            },
            RuleGroup {
                name: format!("{}.capacity", spec.environment),
                rules: capacity_rules(spec, &q, services),
            },
        ];
        if let Some(r) = redis {
            groups.push(RuleGroup {
                name: format!("{}.redis", spec.environment),
                rules: redis_rules(spec, &q, r),
            });
        }
        for rule in groups.iter_mut().flat_map(|g| g.rules.iter_mut()) {
            rule.runbook_url = format!("{runbook_base}#{}", rule.anchor.to_lowercase());
            rule.labels
                .insert("namespace".into(), spec.namespace.clone());
        }
        let emergency: Vec<Emergency> = services
            .iter()
            .map(|s| Emergency {
                service: s.name.clone(),
                // Not `clamp`: with a plan error min may exceed max, and clamp would panic.
                scale_to: s.pods_with_headroom.max(s.min_replicas).min(s.max_replicas),
                min_replicas: s.min_replicas,
                max_replicas: s.max_replicas,
            })
            .collect();
        let mut sections: Vec<RunbookSection> = Vec::new();
        for rule in groups.iter().flat_map(|g| g.rules.iter()) {
            let fires = format!("{} (for {})", rule.summary, rule.for_);
            match sections.iter_mut().find(|s| s.alert == rule.anchor) {
                Some(s) => s.fires.push(fires),
                None => sections.push(RunbookSection {
                    alert: rule.anchor.clone(),
                    severity: rule.severity().to_string(),
                    fires: vec![fires],
                    meaning: rule.meaning.clone(),
                    actions: rule.actions.clone(),
                }),
            }
        }
        (groups, emergency, sections)
    };
    let ((groups, emergency, sections), (dashboard, dashboard_exprs)) = par::join(
        par::threads_for(services.len(), par::MIN_SERVICES) > 1,
        rules,
        || dashboard(spec, &q, services, redis),
    );
    let max_cpu_cores = capacity.totals.resources.cpu_request_cores_at_max;
    let max_memory_gib = capacity.totals.resources.memory_request_gib_at_max;
    let mut names = BTreeSet::new();
    for expr in groups
        .iter()
        .flat_map(|g| g.rules.iter().map(|r| r.expr.as_str()))
        .chain(dashboard_exprs.iter().map(String::as_str))
    {
        add_metric_names(expr, &mut names);
    }
    let metrics = names.into_iter().map(String::from).collect();
    let monitoring = MonitoringPlan {
        rule_name: "tacosgen-alerts".into(),
        rule_labels: spec.monitoring.rule_labels.clone(),
        groups,
        runbook_path,
        metrics,
        entry_points: entry_points.clone(),
        capacity_rps,
        emergency,
        sections,
        max_cpu_cores,
        max_memory_gib,
        dashboard,
    };
    let load_test = load_test(spec, services, capacity_rps, &capacity.load_test);
    (monitoring, load_test)
}

/// PromQL selectors of this environment.
struct Queries<'a> {
    spec: &'a Spec,
    /// `namespace="ns"`.
    ns: String,
    /// `namespace="ns", job=~"a|b"`: the entry points' request series.
    entry: String,
}

impl<'a> Queries<'a> {
    fn new(spec: &'a Spec, entry_points: &[String]) -> Queries<'a> {
        let l = &spec.monitoring.labels;
        let ns = format!("{}=\"{}\"", l.namespace, spec.namespace);
        // Service names are DNS labels: no regex metacharacters besides the literal `-`.
        let entry = format!("{ns}, {}=~\"{}\"", l.service, entry_points.join("|"));
        Queries { spec, ns, entry }
    }

    fn rps(&self) -> String {
        let m = &self.spec.monitoring.metrics;
        format!("sum(rate({}{{{}}}[{RPS_WINDOW}]))", m.requests, self.entry)
    }

    fn error_ratio(&self) -> String {
        let m = &self.spec.monitoring.metrics;
        let status = &self.spec.monitoring.labels.status;
        format!(
            "sum(rate({r}{{{e}, {status}=~\"5..\"}}[{RATIO_WINDOW}])) / sum(rate({r}{{{e}}}[{RATIO_WINDOW}]))",
            r = m.requests,
            e = self.entry
        )
    }

    fn quantile(&self, q: f64) -> String {
        let m = &self.spec.monitoring.metrics;
        format!(
            "histogram_quantile({q}, sum by (le) (rate({}{{{}}}[{RATIO_WINDOW}])))",
            m.request_duration_bucket, self.entry
        )
    }

    /// Usage of `resource` (`cpu` or `memory`) over requests, for containers matching
    /// `matcher` (e.g. `="web"` or `=~"a|b"`), summed `by` the given labels.
    fn usage_of_requests(&self, resource: &str, matcher: &str, by: &str) -> String {
        let m = &self.spec.monitoring.metrics;
        let c = &self.spec.monitoring.labels.container;
        let usage = if resource == "cpu" {
            format!(
                "rate({}{{{}, {c}{matcher}}}[{RATIO_WINDOW}])",
                m.cpu_usage, self.ns
            )
        } else {
            format!("{}{{{}, {c}{matcher}}}", m.memory_usage, self.ns)
        };
        format!(
            "sum{by}({usage}) / sum{by}({}{{{}, {c}{matcher}, resource=\"{resource}\"}})",
            m.resource_requests, self.ns
        )
    }

    fn hpa_replicas(&self, service: &str) -> String {
        format!(
            "max({}{{{}, horizontalpodautoscaler=\"{service}\"}})",
            self.spec.monitoring.metrics.hpa_current_replicas, self.ns
        )
    }

    fn redis(&self, suffix: &str) -> String {
        let mon = &self.spec.monitoring;
        format!(
            "{}_{suffix}{{{}, {}=\"{}\"}}",
            mon.metrics.redis_prefix, self.ns, mon.labels.service, mon.redis_job
        )
    }

    fn redis_hit_rate(&self) -> String {
        let hits = format!(
            "sum(rate({}[{RATIO_WINDOW}]))",
            self.redis("keyspace_hits_total")
        );
        let misses = format!(
            "sum(rate({}[{RATIO_WINDOW}]))",
            self.redis("keyspace_misses_total")
        );
        format!("{hits} / ({hits} + {misses})")
    }
}

/// A number as PromQL writes it (shortest exact decimal).
fn prom(x: f64) -> String {
    format!("{x}")
}

/// Thousands grouped, at most two decimals, no trailing zeros: `28,000`, `99.9`, `93.33`.
fn human(x: f64) -> String {
    let s = fmt_num(x);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn pct(x: f64) -> String {
    format!("{} %", human(x))
}

#[allow(clippy::too_many_arguments)] // one call per alert reads best with positional texts
fn rule(
    alert: &str,
    severity: &str,
    for_: &str,
    expr: String,
    threshold: f64,
    summary: String,
    description: String,
    meaning: String,
    actions: Vec<String>,
) -> AlertRule {
    AlertRule {
        alert: alert.into(),
        expr,
        for_: for_.into(),
        threshold,
        labels: BTreeMap::from([("severity".into(), severity.into())]),
        summary,
        description,
        runbook_url: String::new(),
        anchor: alert.into(),
        meaning,
        actions,
    }
}

fn slo_rules(
    spec: &Spec,
    q: &Queries,
    capacity: f64,
    thresholds: &AlertThresholds,
) -> Vec<AlertRule> {
    let target = spec.slo.target_rps;
    let a = &spec.alerts;
    let warn = thresholds.rps_warning;
    let crit = thresholds.rps_critical;
    let warn_margin = target - warn;
    let crit_margin = target - crit;
    let entry = q.entry_points_text();
    let share = |t: f64| pct(100.0 * t / target);
    let scale_actions = vec![
        format!(
            "Check the dashboard's pod-count panels: the HPA should already be adding pods; the services carry {} RPS at maxReplicas.",
            human(capacity)
        ),
        "If the HPA lags, scale by hand with the emergency commands below (N within the HPA bounds) and check that Karpenter adds nodes (`kubectl get nodeclaims`).".into(),
        "If the traffic is not expected (a load test, a retry storm, abuse), find its source before adding capacity.".into(),
    ];
    let slo_s = spec.slo.latency_p99_ms / 1000.0;
    let p99_ms = a.latency_p99_ms.unwrap_or(spec.slo.latency_p99_ms);
    let err = a.error_rate_percent;
    vec![
        rule(
            "HighRequestRate",
            "warning",
            "5m",
            format!("{} > {}", q.rps(), prom(warn)),
            warn,
            format!("Request rate above {} RPS", human(warn)),
            format!(
                "Requests to {entry} exceed {} RPS ({} of the {} RPS SLO target, margin {} RPS) for 5 minutes.",
                human(warn),
                share(warn),
                human(target),
                human(warn_margin)
            ),
            format!(
                "Traffic is within {} RPS of the {} RPS the system is sized for; above the target the latency SLO is no longer planned for.",
                human(warn_margin),
                human(target)
            ),
            scale_actions.clone(),
        ),
        rule(
            "CriticalRequestRate",
            "critical",
            "2m",
            format!("{} > {}", q.rps(), prom(crit)),
            crit,
            format!("Request rate above {} RPS", human(crit)),
            format!(
                "Requests to {entry} exceed {} RPS ({} of the {} RPS SLO target, margin {} RPS) for 2 minutes.",
                human(crit),
                share(crit),
                human(target),
                human(crit_margin)
            ),
            format!(
                "Traffic is within {} RPS of the target; another step up leaves the planned capacity.",
                human(crit_margin)
            ),
            scale_actions,
        ),
        rule(
            "RequestMetricsAbsent",
            "warning",
            "10m",
            format!(
                "absent({}{{{}}})",
                spec.monitoring.metrics.requests, q.entry
            ),
            0.0,
            "No request metrics from the entry points".into(),
            format!(
                "No {} series for {entry} for 10 minutes: the rate, latency and error alerts cannot fire.",
                spec.monitoring.metrics.requests
            ),
            "Prometheus scrapes no request metrics of the entry points, so the SLO alerts are blind (a ratio without samples never fires).".into(),
            vec![
                format!("Check the pods: `kubectl get pods -n {}`.", spec.namespace),
                "Check the scrape target in Prometheus (Status → Targets) and the ServiceMonitor selecting the entry points.".into(),
                "Check that monitoring.metrics.requests and monitoring.labels in the spec match the application's instrumentation.".into(),
            ],
        ),
        rule(
            "LatencyP99AboveSlo",
            "warning",
            "5m",
            format!("{} > {}", q.quantile(0.99), prom(p99_ms / 1000.0)),
            p99_ms / 1000.0,
            format!("P99 latency above {} ms", human(p99_ms)),
            format!(
                "The 99th-percentile latency of {entry} is above {} ms (SLO {} ms) for 5 minutes. The histogram {} needs a bucket boundary at {} s for this to be exact.",
                human(p99_ms),
                human(spec.slo.latency_p99_ms),
                spec.monitoring.metrics.request_duration_bucket,
                prom(slo_s)
            ),
            "Requests are slower than the latency objective. Usual causes: CPU saturation (pods at their limit, throttling), a slow backend or Redis, or too few pods.".into(),
            vec![
                "Compare the P50/P95/P99 panels: a P99-only rise points at a slow dependency or GC; all three rising points at saturation.".into(),
                "Check the CPU panel and HighCpuUsage: saturated pods need more replicas (emergency commands below).".into(),
                "Check the Redis command latency panel and the backends' latency.".into(),
            ],
        ),
        rule(
            "HighErrorRate",
            "critical",
            "5m",
            format!("{} > {}", q.error_ratio(), prom(err / 100.0)),
            err / 100.0,
            format!("5xx ratio above {}", pct(err)),
            format!(
                "More than {} of the requests to {entry} fail with a 5xx status for 5 minutes (availability objective {}).",
                pct(err),
                pct(spec.slo.availability_percent)
            ),
            "Users see server errors; at this ratio the availability objective is being spent fast.".into(),
            vec![
                format!(
                    "Find the failing pods: `kubectl get pods -n {}` (restarts, not ready) and their logs.",
                    spec.namespace
                ),
                "If a rollout just happened, roll it back: `kubectl rollout undo deployment <service> -n <namespace>`.".into(),
                "If the circuit breakers opened, check the backend they protect and Redis (RedisDown).".into(),
                "Restart a stuck service with the rollout restart command below.".into(),
            ],
        ),
    ]
}

impl Queries<'_> {
    fn entry_points_text(&self) -> String {
        let names: Vec<&str> = self
            .spec
            .services
            .iter()
            .filter(|(_, s)| s.traffic.from.is_none())
            .map(|(n, _)| n.as_str())
            .collect();
        names.join(", ")
    }
}

fn capacity_rules(spec: &Spec, q: &Queries, services: &[ServicePlan]) -> Vec<AlertRule> {
    let cpu = spec.alerts.cpu_percent_of_requests;
    let mut rules = Vec::new();
    for s in services {
        let mut r = rule(
            "HighCpuUsage",
            "warning",
            "10m",
            format!(
                "{} > {}",
                q.usage_of_requests("cpu", &format!("=\"{}\"", s.name), ""),
                prom(cpu / 100.0)
            ),
            cpu / 100.0,
            format!("{} CPU above {} of requests", s.name, pct(cpu)),
            format!(
                "{} pods use more than {} of their {} CPU request on average for 10 minutes; the HPA targets {}.",
                s.name,
                pct(cpu),
                s.resources.requests.cpu,
                pct(f64::from(s.scaling.target_cpu_percent))
            ),
            "Pods work well above the utilisation the HPA aims for: either the HPA cannot add pods (at maxReplicas, no nodes) or the load grew faster than it scales.".into(),
            vec![
                "Check HpaAtMaxReplicas and pending pods (`kubectl get pods --field-selector=status.phase=Pending`).".into(),
                "Scale by hand with the emergency commands below if the HPA lags.".into(),
                "If per-pod throughput dropped (a regression), compare RPS per pod with the spec's perPodRps.".into(),
            ],
        );
        r.labels.insert("service".into(), s.name.clone());
        rules.push(r);
    }
    for s in services {
        let mut r = rule(
            "HpaAtMaxReplicas",
            "warning",
            "10m",
            format!("{} >= {}", q.hpa_replicas(&s.name), s.max_replicas),
            s.max_replicas as f64,
            format!("{} at maxReplicas {}", s.name, s.max_replicas),
            format!(
                "The {} HPA has run {} replicas (its maximum, {} RPS) for 10 minutes: it has no room left to scale.",
                s.name,
                s.max_replicas,
                human(s.max_capacity_rps)
            ),
            "The HPA cannot add pods; any further load raises CPU and latency.".into(),
            vec![
                "Check whether the load is expected (HighRequestRate) and whether pods are slower than planned (HighCpuUsage).".into(),
                "Raise maxReplicas through the spec (replicas.max or the SLO), rebuild and deploy; manual scaling above maxReplicas is undone by the HPA.".into(),
                "Check that the node pool limits leave room for the extra pods.".into(),
            ],
        );
        r.labels.insert("service".into(), s.name.clone());
        rules.push(r);
    }
    rules
}

fn redis_rules(spec: &Spec, q: &Queries, r: &RedisPlan) -> Vec<AlertRule> {
    let a = &spec.alerts;
    let ns = &spec.namespace;
    let mut rules = vec![rule(
        "RedisDown",
        "critical",
        "1m",
        format!("{} == 0", q.redis("up")),
        0.0,
        "Redis instance down".into(),
        "redis_exporter cannot reach a Redis instance for 1 minute.".into(),
        "A Redis pod is down or refuses connections: on the master, writes fail and the cache is lost (persistence off).".into(),
        vec![
            format!("`kubectl get pods -n {ns} -l app.kubernetes.io/component=cache` and the pod's events and logs."),
            format!("Restart the master with `kubectl rollout restart statefulset redis-master -n {ns}`; the replicas resynchronise from it."),
        ],
    )];
    if r.replicas > 0 {
        rules.push(rule(
            "RedisReplicaLinkDown",
            "warning",
            "2m",
            format!("{} == 0", q.redis("master_link_up")),
            0.0,
            "Redis replica lost its master".into(),
            format!(
                "A replica has had no link to {} for 2 minutes and serves stale reads.",
                r.master_host
            ),
            "A replica cannot replicate from the master; reads from it are stale.".into(),
            vec![
                "Check RedisDown for the master and the replica's logs.".into(),
                format!("Restart the replicas: `kubectl rollout restart statefulset redis-replicas -n {ns}`."),
            ],
        ));
        rules.push(rule(
            "RedisReplicasMissing",
            "warning",
            "5m",
            format!("max({}) < {}", q.redis("connected_slaves"), r.replicas),
            f64::from(r.replicas),
            format!("Fewer than {} Redis replicas connected", r.replicas),
            format!(
                "The master has had fewer than the planned {} replicas connected for 5 minutes; reads concentrate on the rest.",
                r.replicas
            ),
            "Read capacity is below the plan.".into(),
            vec![format!(
                "`kubectl get statefulset redis-replicas -n {ns}` and the missing pods' events."
            )],
        ));
    }
    let mem = r.maxmemory_bytes as f64 * a.redis_memory_percent / 100.0;
    let evicting = spec
        .redis
        .as_ref()
        .is_some_and(|s| s.maxmemory_policy != EvictionPolicy::Noeviction);
    rules.push(rule(
        "RedisMemoryNearMax",
        if evicting { "warning" } else { "critical" },
        "5m",
        format!("{} > {}", q.redis("memory_used_bytes"), prom(mem)),
        mem,
        format!("Redis memory above {} of maxmemory {}", pct(a.redis_memory_percent), r.maxmemory),
        format!(
            "A Redis instance uses more than {} bytes ({} of maxmemory {}, policy {}) for 5 minutes.",
            prom(mem),
            pct(a.redis_memory_percent),
            r.maxmemory,
            r.maxmemory_policy
        ),
        if evicting {
            format!("Redis is about to evict keys ({}): expected once the cache is warm, a problem if RedisEvictionsHigh or RedisHitRateLow fire too.", r.maxmemory_policy)
        } else {
            "With noeviction, writes fail with OOM errors once maxmemory is reached.".into()
        },
        vec![
            "Check the hit-rate and eviction panels.".into(),
            "Raise redis.maxmemory (and the container memory) in the spec if the working set outgrew it.".into(),
        ],
    ));
    rules.push(rule(
        "RedisEvictionsHigh",
        "warning",
        "10m",
        format!(
            "sum(rate({}[{RATIO_WINDOW}])) > {}",
            q.redis("evicted_keys_total"),
            prom(a.redis_evictions_per_second)
        ),
        a.redis_evictions_per_second,
        format!(
            "Redis evicts more than {} keys/s",
            human(a.redis_evictions_per_second)
        ),
        format!(
            "Redis has evicted more than {} keys per second for 10 minutes (maxmemory {}).",
            human(a.redis_evictions_per_second),
            r.maxmemory
        ),
        "The cache is smaller than its working set; evicted keys turn into backend requests."
            .into(),
        vec!["Raise redis.maxmemory in the spec, or shorten what is cached.".into()],
    ));
    rules.push(rule(
        "RedisHitRateLow",
        "warning",
        "15m",
        format!(
            "{} < {}",
            q.redis_hit_rate(),
            prom(a.redis_hit_rate_percent / 100.0)
        ),
        a.redis_hit_rate_percent / 100.0,
        format!("Redis hit rate below {}", pct(a.redis_hit_rate_percent)),
        format!(
            "Fewer than {} of Redis key lookups hit for 15 minutes.",
            pct(a.redis_hit_rate_percent)
        ),
        "Most lookups miss and fall through to the backends, which then carry load they are not sized for.".into(),
        vec![
            "After a Redis restart (persistence off) the cache is empty: expect a low hit rate until it warms up.".into(),
            "Otherwise check RedisEvictionsHigh and the key TTLs.".into(),
        ],
    ));
    rules
}

/// The dashboard ConfigMap's fields and the queries of its panels.
fn dashboard(
    spec: &Spec,
    q: &Queries,
    services: &[ServicePlan],
    redis: Option<&RedisPlan>,
) -> (Dashboard, Vec<String>) {
    let target = spec.slo.target_rps;
    let a = &spec.alerts;
    let warn = target - a.rps_warning_margin.resolve(target);
    let crit = target - a.rps_critical_margin.resolve(target);
    let slo_s = spec.slo.latency_p99_ms / 1000.0;
    let all = services
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join("|");
    let by = format!(" by ({}) ", spec.monitoring.labels.container);
    let legend_container = format!("{{{{{}}}}}", spec.monitoring.labels.container);
    let mut panels = vec![
        panel(
            "Requests per second vs target",
            "reqps",
            &[(q.rps(), "RPS")],
            &[(warn, "orange"), (crit, "red"), (target, "dark-red")],
        ),
        panel(
            "Latency P50 / P95 / P99 vs SLO",
            "s",
            &[
                (q.quantile(0.5), "P50"),
                (q.quantile(0.95), "P95"),
                (q.quantile(0.99), "P99"),
            ],
            &[(slo_s, "red")],
        ),
        panel(
            "5xx error ratio",
            "percentunit",
            &[(q.error_ratio(), "5xx")],
            &[(a.error_rate_percent / 100.0, "red")],
        ),
        panel(
            "CPU use, share of requests",
            "percentunit",
            &[(
                q.usage_of_requests("cpu", &format!("=~\"{all}\""), &by),
                &legend_container,
            )],
            &[(a.cpu_percent_of_requests / 100.0, "orange")],
        ),
        panel(
            "Memory use, share of requests",
            "percentunit",
            &[(
                q.usage_of_requests("memory", &format!("=~\"{all}\""), &by),
                &legend_container,
            )],
            &[],
        ),
    ];
    for s in services {
        panels.push(panel(
            &format!(
                "{} pods (min {}, max {})",
                s.name, s.min_replicas, s.max_replicas
            ),
            "short",
            &[(q.hpa_replicas(&s.name), "replicas")],
            &[
                (s.min_replicas as f64, "blue"),
                (s.max_replicas as f64, "red"),
            ],
        ));
    }
    if redis.is_some() {
        panels.push(panel(
            "Redis hit rate",
            "percentunit",
            &[(q.redis_hit_rate(), "hit rate")],
            &[(a.redis_hit_rate_percent / 100.0, "green")],
        ));
        panels.push(panel(
            "Redis command latency",
            "s",
            &[(
                format!(
                    "sum by (cmd) (rate({}[{RATIO_WINDOW}])) / sum by (cmd) (rate({}[{RATIO_WINDOW}]))",
                    q.redis("commands_duration_seconds_total"),
                    q.redis("commands_total")
                ),
                "{{cmd}}",
            )],
            &[],
        ));
    }
    for (i, p) in panels.iter_mut().enumerate() {
        p.id = i + 1;
        p.grid_pos = GridPos {
            h: 8,
            w: 12,
            x: (i % 2) * 12,
            y: (i / 2) * 8,
        };
    }
    let exprs = panels
        .iter()
        .flat_map(|p| p.targets.iter().map(|t| t.expr.clone()))
        .collect();
    let value = DashboardJson {
        editable: false,
        panels,
        refresh: "30s",
        schema_version: 39,
        tags: ["tacosgen", &spec.environment],
        templating: Templating {
            list: [Variable {
                label: "Data source",
                name: "datasource",
                query: "prometheus",
                type_: "datasource",
            }],
        },
        time: TimeRange {
            from: "now-1h",
            to: "now",
        },
        title: format!("tacosgen {} ({})", spec.environment, spec.namespace),
        uid: format!("tacosgen-{}", spec.environment),
    };
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    (
        Dashboard {
            name: "tacosgen-dashboard".into(),
            labels: spec.monitoring.dashboard_labels.clone(),
            file_name: format!("tacosgen-{}.json", spec.environment),
            json: text,
        },
        exprs,
    )
}

// The Grafana dashboard JSON, serialized straight from these types (no `serde_json::Value`
// tree per panel: 1,000 services make 1,000 panels). Fields are declared in sorted order, as
// a JSON object map would print them, so the committed dashboards keep their bytes.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DashboardJson<'a> {
    editable: bool,
    panels: Vec<Panel<'a>>,
    refresh: &'static str,
    schema_version: u32,
    tags: [&'a str; 2],
    templating: Templating,
    time: TimeRange,
    title: String,
    uid: String,
}

#[derive(Serialize)]
struct Templating {
    list: [Variable; 1],
}

#[derive(Serialize)]
struct Variable {
    label: &'static str,
    name: &'static str,
    query: &'static str,
    #[serde(rename = "type")]
    type_: &'static str,
}

#[derive(Serialize)]
struct TimeRange {
    from: &'static str,
    to: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Panel<'a> {
    datasource: Datasource,
    field_config: FieldConfig<'a>,
    grid_pos: GridPos,
    id: usize,
    targets: Vec<Target<'a>>,
    title: String,
    #[serde(rename = "type")]
    type_: &'static str,
}

#[derive(Serialize)]
struct Datasource {
    #[serde(rename = "type")]
    type_: &'static str,
    uid: &'static str,
}

const PROMETHEUS: Datasource = Datasource {
    type_: "prometheus",
    uid: "${datasource}",
};

#[derive(Serialize)]
struct FieldConfig<'a> {
    defaults: Defaults<'a>,
    overrides: [(); 0],
}

#[derive(Serialize)]
struct Defaults<'a> {
    custom: Custom,
    thresholds: Thresholds<'a>,
    unit: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Custom {
    thresholds_style: Mode,
}

#[derive(Serialize)]
struct Mode {
    mode: &'static str,
}

#[derive(Serialize)]
struct Thresholds<'a> {
    mode: &'static str,
    steps: Vec<Step<'a>>,
}

#[derive(Serialize)]
struct Step<'a> {
    color: &'a str,
    value: Option<f64>,
}

#[derive(Serialize, Default)]
struct GridPos {
    h: usize,
    w: usize,
    x: usize,
    y: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Target<'a> {
    datasource: Datasource,
    expr: String,
    legend_format: &'a str,
    ref_id: &'static str,
}

/// A time-series panel; thresholds are drawn as lines.
fn panel<'a>(
    title: &str,
    unit: &'a str,
    queries: &[(String, &'a str)],
    lines: &[(f64, &'a str)],
) -> Panel<'a> {
    let refs = ["A", "B", "C", "D", "E", "F"];
    let targets = queries
        .iter()
        .zip(refs)
        .map(|((expr, legend), r)| Target {
            datasource: PROMETHEUS,
            expr: expr.clone(),
            legend_format: legend,
            ref_id: r,
        })
        .collect();
    let mut steps = vec![Step {
        color: "green",
        value: None,
    }];
    steps.extend(lines.iter().map(|&(v, color)| Step {
        color,
        value: Some(v),
    }));
    Panel {
        datasource: PROMETHEUS,
        field_config: FieldConfig {
            defaults: Defaults {
                custom: Custom {
                    thresholds_style: Mode {
                        mode: if lines.is_empty() { "off" } else { "line" },
                    },
                },
                thresholds: Thresholds {
                    mode: "absolute",
                    steps,
                },
                unit,
            },
            overrides: [],
        },
        grid_pos: GridPos::default(),
        id: 0,
        targets,
        title: title.to_string(),
        type_: "timeseries",
    }
}

/// Metric names in a PromQL expression: identifiers directly followed by a `{` selector.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    add_metric_names(expr, &mut names);
    names.into_iter().map(String::from).collect()
}

/// [`metric_names`] into a set borrowing from the expressions: at 1,000 services the same
/// few names recur in ~3,000 expressions, and a `String` per occurrence cost ~5 M
/// instructions (BENCHMARKS.md, step 48).
fn add_metric_names<'e>(expr: &'e str, names: &mut BTreeSet<&'e str>) {
    let bytes = expr.as_bytes();
    let mut start = None;
    let mut quoted = false;
    for (i, &b) in bytes.iter().enumerate() {
        // Label values are strings: skip them (PromQL escapes quotes inside with `\`).
        if quoted {
            quoted = !(b == b'"' && bytes[i - 1] != b'\\');
            continue;
        }
        if b == b'"' {
            quoted = true;
            start = None;
            continue;
        }
        let ident = b.is_ascii_alphanumeric() || b == b'_' || b == b':';
        match (ident, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if b == b'{' && !bytes[s].is_ascii_digit() {
                    names.insert(&expr[s..i]);
                }
                start = None;
            }
            _ => {}
        }
    }
}

fn load_test(
    spec: &Spec,
    services: &[ServicePlan],
    capacity: f64,
    phases: &[PhaseReport],
) -> LoadTestPlan {
    let p99_s = spec.slo.latency_p99_ms / 1000.0;
    let factor = spec.load_test.max_vus_factor;
    let target = spec.slo.target_rps;
    let mut scenarios: Vec<Scenario> = Vec::new();
    let mut start = 0;
    let mut previous: u64 = 0;
    for (phase, planned) in spec.load_test.phases.iter().zip(phases) {
        let exact = planned.rps;
        let how = match (&phase.rate, phase.vus) {
            (Some(r), _) if exact == r.resolve(1.0) => format!("rate {} RPS", human(exact)),
            (Some(r), _) => format!(
                "rate {r} of the {} RPS target = {} RPS",
                human(target),
                human(exact)
            ),
            (None, Some(vus)) => format!(
                "rate = {vus} VUs / {} s (P99) = {} RPS (Little's law)",
                prom(p99_s),
                human(exact)
            ),
            (None, None) => String::new(),
        };
        // k6 rates are whole iterations per time unit.
        let rate = (exact.round() as u64).max(1);
        let peak = if phase.ramp { rate.max(previous) } else { rate };
        let pre = crate::plan::ceil(peak as f64 * p99_s).max(1);
        let max_vus = crate::plan::ceil(pre as f64 * factor).max(pre);
        let mut basis = vec![
            how,
            format!(
                "preAllocatedVUs = ceil({} RPS × {} s) = {pre} (Little's law at the P99 SLO)",
                human(peak as f64),
                prom(p99_s)
            ),
            format!("maxVUs = ceil({pre} × {}) = {max_vus}", prom(factor)),
        ];
        if let Some(vus) = phase.vus
            && phase.rate.is_some()
            && u64::from(vus) < pre
        {
            basis.push(format!(
                "the planned {vus} VUs could drive only {} RPS at {} ms; an arrival-rate executor allocates VUs instead",
                human(f64::from(vus) / p99_s),
                human(spec.slo.latency_p99_ms)
            ));
        }
        if capacity > 0.0 {
            basis.push(format!(
                "{} of the {} RPS the services carry at maxReplicas",
                pct(100.0 * peak as f64 / capacity),
                human(capacity)
            ));
        }
        scenarios.push(Scenario {
            name: phase.name.clone(),
            executor: if phase.ramp {
                "ramping-arrival-rate"
            } else {
                "constant-arrival-rate"
            }
            .into(),
            start_time: format!("{start}s"),
            duration: format!("{}s", phase.duration.seconds),
            duration_seconds: phase.duration.seconds,
            rate,
            start_rate: phase.ramp.then_some(previous),
            pre_allocated_vus: pre,
            max_vus,
            basis,
        });
        start += phase.duration.seconds;
        previous = rate;
    }
    let thresholds = BTreeMap::from([
        (
            "http_req_duration".to_string(),
            vec![format!("p(99)<{}", prom(spec.slo.latency_p99_ms))],
        ),
        (
            "http_req_failed".to_string(),
            vec![format!(
                "rate<{}",
                prom(spec.alerts.error_rate_percent / 100.0)
            )],
        ),
        // Any dropped iteration means the generator did not offer the planned rate.
        (
            "dropped_iterations".to_string(),
            vec!["count<1".to_string()],
        ),
    ]);
    let entry = services.iter().find(|s| s.traffic_from.is_none());
    LoadTestPlan {
        max_vus: scenarios.iter().map(|s| s.max_vus).max().unwrap_or(0),
        scenarios,
        thresholds,
        max_vus_factor: factor,
        total_seconds: start,
        example_url: entry.map_or_else(String::new, |s| {
            format!(
                "http://{}.{}.svc.cluster.local:{}/",
                s.name, spec.namespace, s.expose.port
            )
        }),
        client_ip_affinity: services
            .iter()
            .filter(|s| {
                s.traffic_from.is_none()
                    && s.expose.session_affinity == crate::spec::SessionAffinity::ClientIP
            })
            .map(|s| s.name.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_metric_names_in_selectors_only() {
        let names = metric_names(
            "histogram_quantile(0.99, sum by (le) (rate(a_bucket{x=\"y{\"}[5m]))) / b:c{d=\"e\"}",
        );
        assert_eq!(
            names,
            BTreeSet::from(["a_bucket".to_string(), "b:c".to_string()])
        );
    }
}
