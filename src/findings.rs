//! The finding codes: one table, read by the planner (codes), `tacosgen explain CODE` and the
//! README (a test checks the README lists every code with its title).
//!
//! Codes are stable: a code is never reused for a different problem, so specs can acknowledge
//! them by code and scripts can match on them.

use crate::plan::{Finding, Severity};
use crate::spec::Acknowledgement;

/// One finding code and its documentation.
#[derive(Debug, Clone, Copy)]
pub struct CodeInfo {
    pub code: &'static str,
    pub title: &'static str,
    /// What the check computes and why it matters.
    pub explanation: &'static str,
    /// What to change in the spec.
    pub fix: &'static str,
}

pub const MAX_REPLICAS: &str = "TG001";
pub const PDB_BLOCKS_EVICTIONS: &str = "TG002";
pub const NODE_POOL_LIMITS: &str = "TG003";
pub const RATE_LIMIT: &str = "TG004";
pub const REDIS_CONNECTIONS: &str = "TG005";
pub const REDIS_MEMORY: &str = "TG006";
pub const REDIS_PERSISTENCE: &str = "TG007";
pub const SESSION_AFFINITY: &str = "TG008";
pub const PROBES: &str = "TG009";
pub const ALERTS: &str = "TG010";
pub const LOAD_TEST_VUS: &str = "TG011";
pub const HPA_SCALE_UP: &str = "TG012";
pub const ERROR_BUDGET: &str = "TG013";
pub const INCONSISTENT_SPEC: &str = "TG014";
pub const UNKNOWN_INSTANCE_TYPE: &str = "TG015";
pub const ACKNOWLEDGEMENT: &str = "TG016";
pub const IMAGE_DIGEST: &str = "TG017";

/// Every code, in order.
pub const CODES: &[CodeInfo] = &[
    CodeInfo {
        code: MAX_REPLICAS,
        title: "maxReplicas cannot carry the service's RPS",
        explanation: "The HPA never runs more than maxReplicas pods, so maxReplicas × perPodRps is the \
most the service can carry. Below the service's RPS (its share of slo.targetRps) the SLO cannot be \
met at peak: error. Below podsWithHeadroom (podsNeeded × (1 + capacity.headroomPercent/100)) the \
service runs without the headroom the spec asks for: warning.",
        fix: "Remove the `replicas.max` pin (the planner then derives podsWithHeadroom) or raise it; \
or raise `perPodRps` if a load test of one pod measured more.",
    },
    CodeInfo {
        code: PDB_BLOCKS_EVICTIONS,
        title: "PodDisruptionBudget blocks every voluntary eviction",
        explanation: "A PDB whose minAvailable is at least minReplicas, or whose maxUnavailable is 0, \
allows no eviction while the Deployment runs at its minimum. Node drains, Karpenter consolidation, \
drift and expiry then hang until someone deletes the PDB. tacosgen also renders \
`unhealthyPodEvictionPolicy: AlwaysAllow`, so pods that are not ready never block a drain.",
        fix: "Remove the `disruptionBudget` pin (the planner derives minAvailable = ceil(minReplicas / 2)) \
or pin `maxUnavailable: 1` (it scales with the HPA).",
    },
    CodeInfo {
        code: NODE_POOL_LIMITS,
        title: "workloads do not fit the NodePool limits",
        explanation: "Karpenter stops launching nodes once the summed capacity of a pool's nodes reaches \
its `limits`. tacosgen sums the requests of every workload at maxReplicas (Redis master and replicas \
included), divides by the allocatable CPU, memory and pod slots of the pool's first instance type \
(capacity minus the EKS kube-reserved formula and the 100Mi eviction threshold, see README) and \
compares the nodes needed with the nodes the limits allow. Requests that do not fit are an error (pods \
stay Pending at peak); limits at peak above the pool limits, or a pinned `nodes` count the limits \
do not allow, are warnings.",
        fix: "Raise `nodePools.<pool>.limits`, choose a larger instance type, lower requests, or change \
the pinned `nodes` count used for cost.",
    },
    CodeInfo {
        code: RATE_LIMIT,
        title: "per-pod rate limit above per-pod capacity",
        explanation: "A limiter set above what a pod sustains never fires before the pod saturates: \
between perPodRps and the limit the pod queues, P99 exceeds the SLO and errors start while the \
limiter stays idle. The limit should be at or below the measured capacity (about 90 % of it).",
        fix: "Lower `rateLimit.rps` to the suggested value (90 % of perPodRps), or raise `perPodRps` if a \
load test measured more.",
    },
    CodeInfo {
        code: REDIS_CONNECTIONS,
        title: "Redis connections above maxclients",
        explanation: "Every pod of a service with a `redisPool` may open `size` connections. At \
maxReplicas the clients hold Σ maxReplicas × pool size connections, plus one per read replica for \
replication. Above `redis.maxclients` (default 10000) Redis refuses new connections with \"max \
number of clients reached\": error. A rolling update surges 25 % more pods (maxSurge in the \
Deployment); if that surge does not fit: warning.",
        fix: "Raise `redis.maxclients` (Redis caps it at the file-descriptor limit minus 32), or lower \
`redisPool.size` or `replicas.max`.",
    },
    CodeInfo {
        code: REDIS_MEMORY,
        title: "Redis container memory limit too small for maxmemory",
        explanation: "`maxmemory` bounds the data set only. Allocator fragmentation and overhead (about \
20 %), and on the master one replication output buffer per replica (`client-output-buffer-limit \
replica 256mb`) come on top; replicas ignore maxmemory by default (`replica-ignore-maxmemory yes`) \
and grow with the master. A limit below maxmemory is an error; below maxmemory × 1.2 + replicas × \
256 MiB a warning: the kernel OOM-kills Redis, and a master without persistence then restarts empty \
(see TG007).",
        fix: "Raise `redis.resources.limits.memory` to the suggested value or lower `redis.maxmemory`.",
    },
    CodeInfo {
        code: REDIS_PERSISTENCE,
        title: "Redis replicas behind a master without persistence",
        explanation: "The Redis replication docs (\"Safety of replication when master has persistence \
turned off\"): a master without persistence that restarts comes back empty and its replicas copy the \
empty data set. Kubernetes always restarts the pod, and Karpenter consolidation and expiry evict it \
routinely, so this will happen.",
        fix: "Either set `redis.dataDisposable: true` (the data is a cache), or `redis.persistence: aof`, \
or protect the master (Sentinel or an operator that starts nodes as replicas, \
`karpenter.sh/do-not-disrupt`).",
    },
    CodeInfo {
        code: SESSION_AFFINITY,
        title: "ClientIP session affinity behind NodePort/LoadBalancer",
        explanation: "Affinity is keyed on the source IP kube-proxy sees. Behind a load balancer, NAT or \
proxy, and from a single load generator, that is a handful of IPs, so traffic collapses onto a few \
pods for the affinity timeout (default 10800 s) and HPA scale-out does not rebalance it.",
        fix: "Set `expose.sessionAffinity: None` and keep the service stateless (state lives in Redis).",
    },
    CodeInfo {
        code: PROBES,
        title: "probe timing that restarts or misroutes pods",
        explanation: "A probe timeout at or above its period overlaps the next probe. A liveness probe \
that starts before readiness, or gives up sooner than readiness does, restarts a pod that is only \
slow. A liveness probe that kills before start-up finishes (initialDelay + period × failureThreshold \
≤ start-up) causes a restart loop (error); one whose initial delay is shorter than start-up relies on \
failureThreshold slack (warning). Start-up is `probes.startupSeconds`, or the readiness initial delay \
when not declared.",
        fix: "Adjust `probes.*` timings: timeout below period, liveness initial delay at or above \
start-up, liveness period × failureThreshold above readiness period × failureThreshold.",
    },
    CodeInfo {
        code: ALERTS,
        title: "alert thresholds that cannot fire as intended",
        explanation: "RPS alerts fire at the target less a margin (`alerts.rpsWarningMargin`, \
`alerts.rpsCriticalMargin`); the warning must fire below the critical threshold, both must be above \
0, and both must be below the RPS maxReplicas can carry (traffic saturates first otherwise). A P99 \
alert threshold above the SLO lets the SLO be breached silently.",
        fix: "Make the warning margin larger than the critical margin, keep margins below the target, \
and `alerts.latencyP99Ms` at or below `slo.latencyP99Ms`.",
    },
    CodeInfo {
        code: LOAD_TEST_VUS,
        title: "load-test VUs too few for the rate (Little's law), or expected saturation",
        explanation: "A closed-model virtual user sends one request at a time, so N VUs at latency L \
drive at most N / L requests per second (Little's law): VUs ≥ RPS × P99 seconds. The guide's 1,000 \
VUs cannot drive 30,000 RPS at 100 ms (they need 3,000), and when latency rises throughput falls, \
hiding the slowdown (warning). A phase above what maxReplicas can carry is expected saturation (info).",
        fix: "Raise `loadTest.phases[].vus` to the suggested value, or better drop `vus` and let the \
generated k6 script use an arrival-rate executor sized by Little's law.",
    },
    CodeInfo {
        code: HPA_SCALE_UP,
        title: "HPA scale-up slower than the load-test ramp",
        explanation: "The HPA adds at most max(scaleUpPods, scaleUpPercent % of the pods) per \
scaleUpPeriodSeconds (Kubernetes default: 4 pods or 100 % per 15 s), aiming at targetCpuPercent, and \
a new pod serves only once ready. tacosgen simulates each ramp phase and reports when the ready pods \
carry less than the ramp's rate (warning); a step to a higher rate reports how long scale-up takes \
(info).",
        fix: "Raise `replicas.min`, `scaling.scaleUpPods`/`scaleUpPercent`, or lengthen the ramp.",
    },
    CodeInfo {
        code: ERROR_BUDGET,
        title: "error budget of the availability SLO",
        explanation: "An availability of A % allows (100 − A) % of a 730-hour month of unavailability: \
99.9 % is 43.8 minutes a month. Shown so that maintenance windows and risky rollouts can be weighed \
against it.",
        fix: "Nothing to change; this is information.",
    },
    CodeInfo {
        code: INCONSISTENT_SPEC,
        title: "inconsistent spec",
        explanation: "Fields that contradict each other: a node pool or traffic source that does not \
exist, traffic sources forming a cycle, minReplicas above maxReplicas, a PDB with both minAvailable \
and maxUnavailable, an environment variable also set by a typed field, a load-test phase with \
neither rate nor vus.",
        fix: "Fix the field named in the message.",
    },
    CodeInfo {
        code: UNKNOWN_INSTANCE_TYPE,
        title: "instance type not in the catalogue",
        explanation: "Node counts and cost need the vCPU, memory and price of a pool's first instance \
type. The built-in catalogue covers common m5/m6i/c5/c6i/r5/r6i/m6g/r6g sizes; others must be \
declared.",
        fix: "Add the type under `instanceTypes: {<type>: {vcpu, memoryGiB, hourlyUsd}}`.",
    },
    CodeInfo {
        code: ACKNOWLEDGEMENT,
        title: "acknowledgement that does not apply",
        explanation: "`acknowledge` accepts warnings on purpose. An error cannot be acknowledged (it \
would produce manifests that cannot carry the SLO) and an entry matching no warning is stale.",
        fix: "Fix the error instead, or remove the stale entry from `acknowledge`.",
    },
    CodeInfo {
        code: IMAGE_DIGEST,
        title: "production image not pinned by digest",
        explanation: "In a spec with `production: true`, every image (services and Redis) should be \
`repo@sha256:<digest>` or `repo:tag@sha256:<digest>`. A tag is mutable: the registry can serve other \
code under it than the one reviewed and tested, and two nodes can run different code for the same \
manifest. A digest makes the manifest say exactly what runs.",
        fix: "Pin the image: `image: ghcr.io/org/api:1.8.2@sha256:<digest>` (the digest from \
`crane digest` or `docker buildx imagetools inspect`), or acknowledge TG017 with the reason.",
    },
];

/// The documentation of `code` (case-insensitive).
pub fn explain(code: &str) -> Option<&'static CodeInfo> {
    CODES.iter().find(|c| c.code.eq_ignore_ascii_case(code))
}

/// Applies the spec's acknowledgements: warnings with an acknowledged code become info with the
/// reason; acknowledging an error is itself an error, and an entry matching no warning is a
/// warning.
pub fn acknowledge(findings: &mut Vec<Finding>, acks: &[Acknowledgement]) {
    let mut extra = Vec::new();
    for (i, ack) in acks.iter().enumerate() {
        let path = format!("acknowledge.{i}.code");
        if explain(&ack.code).is_none() {
            extra.push(Finding {
                code: ACKNOWLEDGEMENT,
                severity: Severity::Error,
                message: format!(
                    "{} is not a finding code; run `tacosgen explain` for the list",
                    ack.code
                ),
                path,
            });
            continue;
        }
        let mut warnings = 0;
        let mut errors = 0;
        for f in findings.iter_mut().filter(|f| f.code == ack.code) {
            match f.severity {
                Severity::Warning => {
                    warnings += 1;
                    f.severity = Severity::Info;
                    f.message = format!("{} (acknowledged: {})", f.message, ack.reason);
                }
                Severity::Error => errors += 1,
                Severity::Info => {}
            }
        }
        if errors > 0 {
            extra.push(Finding {
                code: ACKNOWLEDGEMENT,
                severity: Severity::Error,
                message: format!(
                    "{} has {errors} error(s) here, and errors cannot be acknowledged; fix them",
                    ack.code
                ),
                path,
            });
        } else if warnings == 0 {
            extra.push(Finding {
                code: ACKNOWLEDGEMENT,
                severity: Severity::Warning,
                message: format!(
                    "no {} warning to acknowledge; remove this stale entry",
                    ack.code
                ),
                path,
            });
        }
    }
    findings.extend(extra);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sequential_and_documented() {
        for (i, c) in CODES.iter().enumerate() {
            assert_eq!(c.code, format!("TG{:03}", i + 1));
            assert!(!c.title.is_empty() && !c.explanation.is_empty() && !c.fix.is_empty());
        }
        assert_eq!(explain("tg007").map(|c| c.code), Some(REDIS_PERSISTENCE));
        assert!(explain("TG999").is_none());
    }

    fn finding(code: &'static str, severity: Severity) -> Finding {
        Finding {
            code,
            severity,
            message: "m".into(),
            path: "p".into(),
        }
    }

    fn ack(code: &str) -> Acknowledgement {
        Acknowledgement {
            code: code.into(),
            reason: "cache only".into(),
        }
    }

    #[test]
    fn acknowledged_warning_becomes_info_with_reason() {
        let mut f = vec![finding(REDIS_PERSISTENCE, Severity::Warning)];
        acknowledge(&mut f, &[ack("TG007")]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
        assert_eq!(f[0].message, "m (acknowledged: cache only)");
    }

    #[test]
    fn acknowledging_an_error_is_an_error_and_stale_entries_warn() {
        let mut f = vec![finding(MAX_REPLICAS, Severity::Error)];
        acknowledge(&mut f, &[ack("TG001"), ack("TG008"), ack("TG999")]);
        let added: Vec<_> = f[1..]
            .iter()
            .map(|f| (f.severity, f.path.as_str()))
            .collect();
        assert_eq!(
            added,
            [
                (Severity::Error, "acknowledge.0.code"),
                (Severity::Warning, "acknowledge.1.code"),
                (Severity::Error, "acknowledge.2.code"),
            ]
        );
        assert_eq!(f[0].severity, Severity::Error);
    }
}
