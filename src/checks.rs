//! The planner's cross-checks: every check the guide does by hand (or forgets), each a finding
//! with a stable code (see `findings.rs`) whose message states the numbers and what to change.
//!
//! Part of the **plan** stage: pure functions of the spec and the derived plan.

use serde::Serialize;

use crate::capacity::{HOURS_PER_MONTH, num, round6};
use crate::findings::*;
use crate::plan::{Finding, RedisPlan, ServicePlan, Severity};
use crate::spec::{Persistence, ServiceType, SessionAffinity, Spec};

/// Share of per-pod capacity suggested for a rate limit: it must fire before the pod saturates.
const RATE_LIMIT_SHARE: f64 = 0.9;
/// Allocator fragmentation and overhead on top of `maxmemory`.
const REDIS_OVERHEAD: f64 = 1.2;
/// `client-output-buffer-limit replica 256mb`: the master's buffer per replica at worst.
const REPLICA_OUTPUT_BUFFER_BYTES: u64 = 256 << 20;
/// The Deployments' rolling-update `maxSurge` (templates/deployments.yaml.j2): extra pods, and
/// so extra Redis connections, during a rollout.
const ROLLOUT_SURGE: f64 = 1.25;

/// RPS alert thresholds (the target less the margins).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertThresholds {
    pub rps_warning: f64,
    pub rps_critical: f64,
    pub latency_p99_ms: f64,
}

/// One load-test phase as planned.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseReport {
    pub name: String,
    pub duration_seconds: u64,
    /// Arrival rate reached (stated, or what the stated VUs drive at the SLO latency).
    pub rps: f64,
    pub ramp: bool,
    pub vus: Option<u32>,
    /// VUs a closed model needs for `rps` at the SLO latency (Little's law).
    pub vus_needed: u64,
    /// Above what maxReplicas carry.
    pub saturates: bool,
}

/// What the checks derive besides findings, for the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Derived {
    pub alerts: AlertThresholds,
    pub load_test: Vec<PhaseReport>,
}

/// Runs every check. `capacity_rps` is the entry RPS the maximum replica counts carry.
pub fn check(
    spec: &Spec,
    services: &[ServicePlan],
    redis: Option<&RedisPlan>,
    capacity_rps: f64,
    findings: &mut Vec<Finding>,
) -> Derived {
    let threads = crate::par::threads_for(services.len(), crate::par::MIN_SERVICES);
    let per_service = crate::par::map(services, threads, |svc| {
        let mut found = Vec::new();
        max_replicas(svc, spec.capacity.headroom_percent, &mut found);
        disruption_budget(svc, &mut found);
        rate_limit(spec, svc, &mut found);
        session_affinity(svc, &mut found);
        probes(spec, svc, &mut found);
        found
    });
    findings.extend(per_service.into_iter().flatten());
    if spec.production {
        image_digests(spec, findings);
    }
    if let (Some(r), Some(sr)) = (redis, spec.redis.as_ref()) {
        redis_connections(spec, services, r, findings);
        redis_memory(r, findings);
        if r.persistence == Persistence::Off && r.replicas > 0 && !sr.data_disposable {
            findings.push(Finding {
                code: REDIS_PERSISTENCE,
                severity: Severity::Warning,
                message: format!(
                    "persistence is off and {} replica(s) follow the master: a restarted master comes back empty and the replicas copy the empty data set; set redis.dataDisposable: true if this is a cache, else persistence: aof (or Sentinel/an operator, karpenter.sh/do-not-disrupt on the master)",
                    r.replicas
                ),
                path: "redis.persistence".into(),
            });
        }
    }
    let alerts = alerts(spec, capacity_rps, findings);
    let load_test = load_test(spec, services, capacity_rps, findings);
    let budget = (100.0 - spec.slo.availability_percent) / 100.0 * HOURS_PER_MONTH * 60.0;
    findings.push(Finding {
        code: ERROR_BUDGET,
        severity: Severity::Info,
        message: format!(
            "availability {} % leaves an error budget of {} % of a {}-hour month = {} minutes a month",
            num(spec.slo.availability_percent),
            round6(100.0 - spec.slo.availability_percent),
            num(HOURS_PER_MONTH),
            num(budget)
        ),
        path: "slo.availabilityPercent".into(),
    });
    Derived { alerts, load_test }
}

fn max_replicas(svc: &ServicePlan, headroom: f64, findings: &mut Vec<Finding>) {
    let path = format!("services.{}.replicas.max", svc.name);
    if svc.max_capacity_rps + 1e-9 < svc.rps {
        findings.push(Finding {
            code: MAX_REPLICAS,
            severity: Severity::Error,
            message: format!(
                "maxReplicas {} × {} RPS per pod = {} RPS cannot carry the service's {} RPS; raise max to at least {} ({} with headroom)",
                svc.max_replicas,
                num(svc.per_pod_rps),
                num(svc.max_capacity_rps),
                num(svc.rps),
                svc.pods_needed,
                svc.pods_with_headroom
            ),
            path,
        });
    } else if svc.max_replicas < svc.pods_with_headroom {
        findings.push(Finding {
            code: MAX_REPLICAS,
            severity: Severity::Warning,
            message: format!(
                "maxReplicas {} is below the {} pods the {} % headroom asks for ({} needed for {} RPS); raise max to {} or remove the pin",
                svc.max_replicas,
                svc.pods_with_headroom,
                num(headroom),
                svc.pods_needed,
                num(svc.rps),
                svc.pods_with_headroom
            ),
            path,
        });
    }
}

fn disruption_budget(svc: &ServicePlan, findings: &mut Vec<Finding>) {
    let path = |f: &str| format!("services.{}.disruptionBudget.{f}", svc.name);
    if let Some(m) = svc.min_available
        && m >= svc.min_replicas
    {
        findings.push(Finding {
            code: PDB_BLOCKS_EVICTIONS,
            severity: Severity::Error,
            message: format!(
                "minAvailable {m} ≥ minReplicas {}: at the minimum no pod may be evicted, so node drains and Karpenter consolidation hang; {}",
                svc.min_replicas,
                if svc.min_replicas >= 2 {
                    format!(
                        "use minAvailable: {} (ceil(minReplicas / 2)) or maxUnavailable: 1",
                        svc.min_replicas.div_ceil(2)
                    )
                } else {
                    "use maxUnavailable: 1".to_string()
                }
            ),
            path: path("minAvailable"),
        });
    }
    if svc.max_unavailable == Some(0) {
        findings.push(Finding {
            code: PDB_BLOCKS_EVICTIONS,
            severity: Severity::Error,
            message: "maxUnavailable 0 blocks every voluntary eviction, so node drains and Karpenter consolidation hang; use maxUnavailable: 1".into(),
            path: path("maxUnavailable"),
        });
    }
}

fn rate_limit(spec: &Spec, svc: &ServicePlan, findings: &mut Vec<Finding>) {
    let Some(rl) = spec.services[&svc.name].rate_limit.as_ref() else {
        return;
    };
    if f64::from(rl.rps) > svc.per_pod_rps + 1e-9 {
        let suggested = (svc.per_pod_rps * RATE_LIMIT_SHARE).floor().max(1.0);
        findings.push(Finding {
            code: RATE_LIMIT,
            severity: Severity::Warning,
            message: format!(
                "rate limit {} RPS per pod is above the {} RPS a pod sustains: the pod saturates (P99 over the SLO, errors) before the limiter fires; set rateLimit.rps to {} (90 % of perPodRps)",
                rl.rps,
                num(svc.per_pod_rps),
                num(suggested)
            ),
            path: format!("services.{}.rateLimit.rps", svc.name),
        });
    }
}

/// TG017: in production every image names its digest.
fn image_digests(spec: &Spec, findings: &mut Vec<Finding>) {
    let images = spec
        .services
        .iter()
        .map(|(name, s)| (format!("services.{name}.image"), &s.image))
        .chain(
            spec.redis
                .iter()
                .map(|r| ("redis.image".to_string(), &r.image)),
        );
    for (path, image) in images {
        if !image.contains("@sha256:") {
            findings.push(Finding {
                code: IMAGE_DIGEST,
                severity: Severity::Warning,
                message: format!(
                    "image {image} is pinned by tag only in a production spec; a tag can move, a digest cannot: write {image}@sha256:<digest>"
                ),
                path,
            });
        }
    }
}

fn session_affinity(svc: &ServicePlan, findings: &mut Vec<Finding>) {
    let e = &svc.expose;
    if e.session_affinity == SessionAffinity::ClientIP && e.service_type != ServiceType::ClusterIP {
        findings.push(Finding {
            code: SESSION_AFFINITY,
            severity: Severity::Warning,
            message: format!(
                "sessionAffinity ClientIP behind a {:?} Service: clients behind a load balancer, NAT or one load generator share a few source IPs and stick to a few of the {}-{} pods for {} s; set sessionAffinity: None",
                e.service_type,
                svc.min_replicas,
                svc.max_replicas,
                e.session_affinity_timeout_seconds.unwrap_or(10800)
            ),
            path: format!("services.{}.expose.sessionAffinity", svc.name),
        });
    }
}

fn probes(spec: &Spec, svc: &ServicePlan, findings: &mut Vec<Finding>) {
    let path = |f: &str| format!("services.{}.probes.{f}", svc.name);
    for (kind, p) in [("readiness", &svc.readiness), ("liveness", &svc.liveness)] {
        if p.timeout_seconds >= p.period_seconds {
            findings.push(Finding {
                code: PROBES,
                severity: Severity::Warning,
                message: format!(
                    "{kind} timeoutSeconds {} ≥ periodSeconds {}: a slow probe overlaps the next one; set timeoutSeconds below {}",
                    p.timeout_seconds, p.period_seconds, p.period_seconds
                ),
                path: path(&format!("{kind}.timeoutSeconds")),
            });
        }
    }
    let (r, l) = (&svc.readiness, &svc.liveness);
    let declared = spec.services[&svc.name].probes.startup_seconds;
    let startup = declared.unwrap_or(r.initial_delay_seconds);
    let what = if declared.is_some() {
        "startupSeconds"
    } else {
        "the readiness initialDelaySeconds"
    };
    let kill = l.initial_delay_seconds + l.period_seconds * l.failure_threshold;
    if kill <= startup {
        findings.push(Finding {
            code: PROBES,
            severity: Severity::Error,
            message: format!(
                "liveness kills a starting pod after {} + {} × {} = {kill} s, not later than start-up ({startup} s, {what}): a restart loop; set liveness initialDelaySeconds to at least {startup}",
                l.initial_delay_seconds, l.period_seconds, l.failure_threshold
            ),
            path: path("liveness.initialDelaySeconds"),
        });
    } else if l.initial_delay_seconds < startup {
        findings.push(Finding {
            code: PROBES,
            severity: Severity::Warning,
            message: format!(
                "liveness starts probing after {} s, before start-up ends ({startup} s, {what}); only failureThreshold slack saves a slow start; set liveness initialDelaySeconds to at least {startup}",
                l.initial_delay_seconds
            ),
            path: path("liveness.initialDelaySeconds"),
        });
    }
    let (r_fail, l_fail) = (
        r.period_seconds * r.failure_threshold,
        l.period_seconds * l.failure_threshold,
    );
    if l_fail < r_fail {
        findings.push(Finding {
            code: PROBES,
            severity: Severity::Warning,
            message: format!(
                "liveness restarts a failing pod after {} × {} = {l_fail} s, before readiness takes it out of the Service ({} × {} = {r_fail} s): slow pods are restarted instead of drained; raise liveness periodSeconds or failureThreshold",
                l.period_seconds, l.failure_threshold, r.period_seconds, r.failure_threshold
            ),
            path: path("liveness.failureThreshold"),
        });
    }
}

fn redis_connections(
    spec: &Spec,
    services: &[ServicePlan],
    r: &RedisPlan,
    findings: &mut Vec<Finding>,
) {
    let clients: Vec<(&ServicePlan, u64)> = services
        .iter()
        .filter_map(|s| {
            let pool = spec.services[&s.name].redis_pool.as_ref()?;
            Some((s, u64::from(pool.size)))
        })
        .collect();
    if clients.is_empty() {
        return;
    }
    let replicas = u64::from(r.replicas);
    let steady: u64 = clients.iter().map(|(s, n)| s.max_replicas * n).sum::<u64>() + replicas;
    let surge: u64 = clients
        .iter()
        .map(|(s, n)| (s.max_replicas as f64 * ROLLOUT_SURGE).ceil() as u64 * n)
        .sum::<u64>()
        + replicas;
    let terms = clients
        .iter()
        .map(|(s, n)| format!("{} {} × {n}", s.name, s.max_replicas))
        .collect::<Vec<_>>()
        .join(" + ");
    let max = u64::from(r.maxclients);
    let (severity, what, total) = if steady > max {
        (Severity::Error, "at maxReplicas", steady)
    } else if surge > max {
        (
            Severity::Warning,
            "during a rolling update (+25 % pods)",
            surge,
        )
    } else {
        return;
    };
    findings.push(Finding {
        code: REDIS_CONNECTIONS,
        severity,
        message: format!(
            "Redis clients open {terms} + {replicas} replication link(s) = {} connections {what}, above maxclients {}: Redis refuses the rest; raise maxclients to at least {} or lower redisPool.size",
            num(total as f64),
            num(max as f64),
            num(surge as f64)
        ),
        path: "redis.maxclients".into(),
    });
}

fn redis_memory(r: &RedisPlan, findings: &mut Vec<Finding>) {
    let limit = r.resources.limits.memory.bytes;
    let mib = |b: f64| b / f64::from(1u32 << 20);
    let path = "redis.resources.limits.memory".to_string();
    if r.maxmemory_bytes == 0 {
        findings.push(Finding {
            code: REDIS_MEMORY,
            severity: Severity::Warning,
            message: format!(
                "maxmemory 0 means no limit: Redis grows until the {} container limit OOM-kills it; set redis.maxmemory below the limit",
                r.resources.limits.memory
            ),
            path: "redis.maxmemory".into(),
        });
        return;
    }
    let buffers = u64::from(r.replicas) * REPLICA_OUTPUT_BUFFER_BYTES;
    let required = r.maxmemory_bytes as f64 * REDIS_OVERHEAD + buffers as f64;
    if limit < r.maxmemory_bytes {
        findings.push(Finding {
            code: REDIS_MEMORY,
            severity: Severity::Error,
            message: format!(
                "memory limit {} ({} MiB) is below maxmemory {} ({} MiB): Redis is OOM-killed before it starts evicting; raise the limit to at least {}Mi",
                r.resources.limits.memory,
                num(mib(limit as f64)),
                r.maxmemory,
                num(mib(r.maxmemory_bytes as f64)),
                mib(required).ceil()
            ),
            path,
        });
    } else if (limit as f64) < required {
        findings.push(Finding {
            code: REDIS_MEMORY,
            severity: Severity::Warning,
            message: format!(
                "memory limit {} ({} MiB) is below maxmemory {} × 1.2 + {} replica(s) × 256 MiB output buffer = {} MiB: the master can be OOM-killed during replication; raise the limit to {}Mi or lower maxmemory",
                r.resources.limits.memory,
                num(mib(limit as f64)),
                r.maxmemory,
                r.replicas,
                num(mib(required)),
                mib(required).ceil()
            ),
            path,
        });
    }
}

fn alerts(spec: &Spec, capacity_rps: f64, findings: &mut Vec<Finding>) -> AlertThresholds {
    let target = spec.slo.target_rps;
    let a = &spec.alerts;
    let warning = round6(target - a.rps_warning_margin.resolve(target));
    let critical = round6(target - a.rps_critical_margin.resolve(target));
    let latency = a.latency_p99_ms.unwrap_or(spec.slo.latency_p99_ms);
    for (name, field, thr, margin) in [
        (
            "warning",
            "rpsWarningMargin",
            warning,
            &a.rps_warning_margin,
        ),
        (
            "critical",
            "rpsCriticalMargin",
            critical,
            &a.rps_critical_margin,
        ),
    ] {
        let path = format!("alerts.{field}");
        if thr <= 0.0 {
            findings.push(Finding {
                code: ALERTS,
                severity: Severity::Error,
                message: format!(
                    "the RPS {name} threshold is the target {} less a margin of {} = {}: the alert fires at any traffic; use a margin below the target",
                    num(target),
                    margin,
                    num(thr)
                ),
                path,
            });
        } else if thr > capacity_rps {
            findings.push(Finding {
                code: ALERTS,
                severity: Severity::Warning,
                message: format!(
                    "the RPS {name} threshold {} is above the {} RPS maxReplicas can carry: traffic saturates before the alert fires; raise maxReplicas or the margin",
                    num(thr),
                    num(capacity_rps)
                ),
                path,
            });
        }
    }
    if warning >= critical {
        findings.push(Finding {
            code: ALERTS,
            severity: Severity::Warning,
            message: format!(
                "the RPS warning threshold {} is not below the critical threshold {}: the warning never fires first; make rpsWarningMargin ({}) larger than rpsCriticalMargin ({})",
                num(warning),
                num(critical),
                a.rps_warning_margin,
                a.rps_critical_margin
            ),
            path: "alerts.rpsWarningMargin".into(),
        });
    }
    if latency > spec.slo.latency_p99_ms {
        findings.push(Finding {
            code: ALERTS,
            severity: Severity::Warning,
            message: format!(
                "the P99 alert fires at {} ms, above the {} ms SLO: the SLO is breached without an alert; set alerts.latencyP99Ms to at most {}",
                num(latency),
                num(spec.slo.latency_p99_ms),
                num(spec.slo.latency_p99_ms)
            ),
            path: "alerts.latencyP99Ms".into(),
        });
    }
    AlertThresholds {
        rps_warning: warning,
        rps_critical: critical,
        latency_p99_ms: latency,
    }
}

fn load_test(
    spec: &Spec,
    services: &[ServicePlan],
    capacity_rps: f64,
    findings: &mut Vec<Finding>,
) -> Vec<PhaseReport> {
    let target = spec.slo.target_rps;
    let p99 = spec.slo.latency_p99_ms / 1000.0;
    let mut phases: Vec<PhaseReport> = Vec::new();
    for (i, ph) in spec.load_test.phases.iter().enumerate() {
        let path = |f: &str| format!("loadTest.phases.{i}.{f}");
        let rps = match (&ph.rate, ph.vus) {
            (Some(r), _) => round6(r.resolve(target)),
            (None, Some(v)) => round6(f64::from(v) / p99),
            (None, None) => {
                findings.push(Finding {
                    code: INCONSISTENT_SPEC,
                    severity: Severity::Error,
                    message: format!("phase {} states neither rate nor vus", ph.name),
                    path: format!("loadTest.phases.{i}"),
                });
                0.0
            }
        };
        let vus_needed = ((rps * p99) - 1e-9).ceil().max(0.0) as u64;
        if let Some(v) = ph.vus
            && u64::from(v) < vus_needed
        {
            findings.push(Finding {
                code: LOAD_TEST_VUS,
                severity: Severity::Warning,
                message: format!(
                    "phase {}: {v} VUs at the {} ms SLO latency drive at most {} RPS (Little's law), not {} RPS; it needs {} VUs; use an arrival-rate executor with preAllocatedVUs ≥ {}, or drop vus",
                    ph.name,
                    num(spec.slo.latency_p99_ms),
                    num(f64::from(v) / p99),
                    num(rps),
                    num(vus_needed as f64),
                    num(vus_needed as f64)
                ),
                path: path("vus"),
            });
        }
        let saturates = rps > capacity_rps + 1e-9;
        if saturates {
            findings.push(Finding {
                code: LOAD_TEST_VUS,
                severity: Severity::Info,
                message: format!(
                    "phase {}: {} RPS is above the {} RPS maxReplicas carry: expect saturation (queueing, P99 over the SLO, rate limiting), which is what a stress phase is for",
                    ph.name,
                    num(rps),
                    num(capacity_rps)
                ),
                path: path(if ph.rate.is_some() { "rate" } else { "vus" }),
            });
        }
        let from = phases.last().map_or(0.0, |p| p.rps);
        if rps > from {
            scale_up(
                spec,
                services,
                i,
                &ph.name,
                ph.ramp,
                from,
                rps,
                ph.duration.seconds,
                findings,
            );
        }
        phases.push(PhaseReport {
            name: ph.name.clone(),
            duration_seconds: ph.duration.seconds,
            rps,
            ramp: ph.ramp,
            vus: ph.vus,
            vus_needed,
            saturates,
        });
    }
    phases
}

/// Simulates the HPA over a rise of the entry rate from `from` to `to` (linear over
/// `duration` seconds when `ramp`, else a step) and reports services that fall behind.
///
/// Model: every `scaleUpPeriodSeconds` the HPA looks at the current rate and asks for enough
/// pods to run at `targetCpuPercent`, limited by the scale-up policy (max of +pods and
/// +percent) and maxReplicas; a new pod serves after the readiness initial delay plus
/// `successThreshold` periods. A service falls behind when its ready pods carry less than its
/// share of the rate (and less than maxReplicas carry: beyond that is saturation, TG011).
#[allow(clippy::too_many_arguments)]
fn scale_up(
    spec: &Spec,
    services: &[ServicePlan],
    index: usize,
    phase: &str,
    ramp: bool,
    from: f64,
    to: f64,
    duration: u64,
    findings: &mut Vec<Finding>,
) {
    let target = spec.slo.target_rps;
    let rate_at = |t: f64| {
        if ramp && duration > 0 {
            from + (to - from) * (t / duration as f64).min(1.0)
        } else {
            to
        }
    };
    // (service, seconds behind from, pods ready then, rps asked then) of the earliest lag; for
    // steps, (service, seconds until caught up, from pods, to pods) of the slowest.
    let mut worst: Option<(String, u64, u64, f64)> = None;
    let mut slowest: Option<(String, u64, u64, u64)> = None;
    // A service whose pinned minimum exceeds its maximum already has an error finding; there
    // is no replica range to simulate.
    let simulated = services
        .iter()
        .filter(|s| s.rps > 0.0 && s.min_replicas <= s.max_replicas);
    for s in simulated {
        let share = s.rps / target;
        let per = s.per_pod_rps;
        let util = f64::from(s.scaling.target_cpu_percent) / 100.0;
        let want = |rate: f64| ((share * rate / (per * util)) - 1e-9).ceil().max(0.0) as u64;
        let period = u64::from(s.scaling.scale_up_period_seconds);
        let ready_after = u64::from(s.readiness.initial_delay_seconds)
            + u64::from(s.readiness.period_seconds) * u64::from(s.readiness.success_threshold);
        let start = want(from).clamp(s.min_replicas, s.max_replicas);
        let carried = |pods: u64| pods as f64 * per;
        // Pods decided at each HPA period: (time decided, pods).
        let mut decided: Vec<(u64, u64)> = vec![(0, start)];
        // Saturating: absurd specs (replicas near u64::MAX from a 1e308 field) must still
        // reach the findings that reject them.
        let horizon = if ramp { duration } else { duration.max(3600) };
        let mut t = period;
        while t <= horizon.saturating_add(ready_after) {
            let &(_, cur) = decided.last().expect("start");
            let cap = cur.saturating_add(u64::from(s.scaling.scale_up_pods)).max(
                (cur as f64 * (1.0 + f64::from(s.scaling.scale_up_percent) / 100.0)).ceil() as u64,
            );
            let next = want(rate_at(t as f64))
                .min(cap)
                .min(s.max_replicas)
                .max(cur);
            decided.push((t, next));
            if !ramp && next >= want(to).min(s.max_replicas) {
                break;
            }
            let Some(later) = t.checked_add(period) else {
                break;
            };
            t = later;
        }
        if ramp {
            let behind = |sec: u64, pods: u64| {
                let asked = (share * rate_at(sec as f64)).min(carried(s.max_replicas));
                (carried(pods) + 1e-9 < asked).then_some(asked)
            };
            if let Some((sec, pods, asked)) = first_behind(&decided, ready_after, duration, behind)
                && worst.as_ref().is_none_or(|w| sec < w.1)
            {
                worst = Some((s.name.clone(), sec, pods, asked));
            }
        } else {
            let need = ((share * to / per) - 1e-9).ceil().max(0.0) as u64;
            let need = need.min(s.max_replicas);
            if start >= need {
                continue;
            }
            let done = decided
                .iter()
                .find(|(_, p)| *p >= need)
                .map_or(u64::MAX, |(d, _)| d.saturating_add(ready_after));
            if slowest.as_ref().is_none_or(|w| done > w.1) {
                slowest = Some((s.name.clone(), done, start, need));
            }
        }
    }
    let scaling = |name: &str| {
        let s = services.iter().find(|s| s.name == name).expect("listed");
        format!(
            "the HPA adds max({} pods, {} %) per {} s and a pod serves {} s after it starts",
            s.scaling.scale_up_pods,
            s.scaling.scale_up_percent,
            s.scaling.scale_up_period_seconds,
            s.readiness.initial_delay_seconds
                + s.readiness.period_seconds * s.readiness.success_threshold
        )
    };
    if let Some((name, sec, pods, asked)) = worst {
        let s = services.iter().find(|s| s.name == name).expect("listed");
        let end_pods = ((s.rps / target * to / s.per_pod_rps) - 1e-9).ceil() as u64;
        findings.push(Finding {
            code: HPA_SCALE_UP,
            severity: Severity::Warning,
            message: format!(
                "phase {phase} ramps from {} to {} RPS in {} s, but {name} falls behind after {sec} s: {pods} ready pods carry {} RPS while the ramp asks {}; {}; raise services.{name}.replicas.min to {}, speed up scaling, or lengthen the ramp",
                num(from),
                num(to),
                duration,
                num(pods as f64 * s.per_pod_rps),
                num(asked),
                scaling(&name),
                end_pods.min(s.max_replicas)
            ),
            path: format!("loadTest.phases.{index}.duration"),
        });
    }
    if let Some((name, done, start, need)) = slowest {
        let when = if done == u64::MAX {
            "does not catch up within an hour".to_string()
        } else {
            format!("needs {done} s")
        };
        findings.push(Finding {
            code: HPA_SCALE_UP,
            severity: Severity::Info,
            message: format!(
                "phase {phase} steps from {} to {} RPS: {name} {when} to grow from {start} to {need} pods ({}); requests queue until then",
                num(from),
                num(to),
                scaling(&name)
            ),
            path: format!("loadTest.phases.{index}.rate"),
        });
    }
}

/// The first second of `0..=duration` at which the pods ready then fall behind: `behind(sec,
/// pods)` gives the rate asked if they do. Pods ready at `sec` are those of the last decision
/// (time, pods) at least `ready_after` old (the first decision's from the start), so they
/// stay the same between two decisions' ready times, while the rate a ramp asks only grows:
/// in each such stretch `behind` turns true at most once, and bisection finds where with the
/// same test that trying every second would make (a ramp of 5 minutes at 1,000 services
/// was ~300 tests per service: BENCHMARKS.md, step 49).
fn first_behind(
    decided: &[(u64, u64)],
    ready_after: u64,
    duration: u64,
    behind: impl Fn(u64, u64) -> Option<f64>,
) -> Option<(u64, u64, f64)> {
    let ready = |k: usize| match k {
        0 => 0,
        _ => decided
            .get(k)
            .map_or(u64::MAX, |(d, _)| d.saturating_add(ready_after)),
    };
    for (k, &(_, pods)) in decided.iter().enumerate() {
        let (first, next) = (ready(k), ready(k + 1));
        if first > duration {
            break;
        }
        if next <= first {
            continue; // superseded at the moment it became ready
        }
        let last = (next - 1).min(duration);
        if behind(last, pods).is_none() {
            continue;
        }
        // behind(last) holds, so the first second behind is in first..=last.
        let (mut lo, mut hi) = (first, last);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if behind(mid, pods).is_some() {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return behind(lo, pods).map(|asked| (lo, pods, asked));
    }
    None
}

#[cfg(test)]
mod tests;
