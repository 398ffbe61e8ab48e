//! The resource and cost model of a plan: CPU and memory of every workload at min and at max
//! replicas, nodes needed per node pool, cost, and the NodePool-limit finding (TG003).
//!
//! Part of the **plan** stage: a pure function of the spec and the replica counts the planner
//! derived.
//!
//! Allocatable per node is the instance's capacity less what the kubelet keeps for itself, the
//! way EKS AMIs (and Karpenter, for its scheduling simulation) reserve it:
//! - CPU `kube-reserved`: 6 % of the first core, 1 % of the second, 0.5 % of the third and fourth,
//!   0.25 % of every further core (8 vCPU: 90m);
//! - memory `kube-reserved`: 255 MiB + 11 MiB per pod the node can hold (`maxPods`, the VPC CNI's
//!   ENI limit), plus the `evictionHard` threshold `memory.available<100Mi`.
//!
//! Node counts divide the summed requests by allocatable per node and take the largest of the
//! CPU, memory and pod-slot counts: a lower bound that assumes perfect bin packing and no
//! DaemonSets.

use serde::Serialize;

use crate::checks::{AlertThresholds, Derived, PhaseReport};
use crate::findings::{NODE_POOL_LIMITS, UNKNOWN_INSTANCE_TYPE};
use crate::plan::{Finding, RedisPlan, ServicePlan, Severity};
use crate::spec::{self, Spec};

/// Hours in the month that costs and error budgets use (365 × 24 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;
/// Memory the kubelet keeps free before it evicts (`evictionHard: memory.available<100Mi`).
const EVICTION_HARD_MIB: f64 = 100.0;
/// Pods per node where neither the catalogue nor the spec says (the kubelet default).
const DEFAULT_MAX_PODS: u32 = 110;

/// An instance type: size, on-demand price and pod slots.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceSpec {
    pub vcpu: u32,
    #[serde(rename = "memoryGiB")]
    pub memory_gib: f64,
    pub hourly_usd: f64,
    pub max_pods: u32,
}

/// Built-in catalogue: (type, vCPU, GiB, on-demand USD/hour, maxPods). Prices are the public
/// EC2 on-demand list prices for Linux in us-east-1 (as published by AWS in 2024-2025); maxPods
/// is the VPC CNI's ENI limit from the EKS AMI's `eni-max-pods.txt`. Other regions, newer
/// prices or other types go in the spec's `instanceTypes`, which override these.
const CATALOGUE: &[(&str, u32, f64, f64, u32)] = &[
    ("m5.large", 2, 8.0, 0.096, 29),
    ("m5.xlarge", 4, 16.0, 0.192, 58),
    ("m5.2xlarge", 8, 32.0, 0.384, 58),
    ("m5.4xlarge", 16, 64.0, 0.768, 234),
    ("m6i.large", 2, 8.0, 0.096, 29),
    ("m6i.xlarge", 4, 16.0, 0.192, 58),
    ("m6i.2xlarge", 8, 32.0, 0.384, 58),
    ("m6i.4xlarge", 16, 64.0, 0.768, 234),
    ("m6g.large", 2, 8.0, 0.077, 29),
    ("m6g.xlarge", 4, 16.0, 0.154, 58),
    ("m6g.2xlarge", 8, 32.0, 0.308, 58),
    ("m6g.4xlarge", 16, 64.0, 0.616, 234),
    ("c5.large", 2, 4.0, 0.085, 29),
    ("c5.xlarge", 4, 8.0, 0.17, 58),
    ("c5.2xlarge", 8, 16.0, 0.34, 58),
    ("c5.4xlarge", 16, 32.0, 0.68, 234),
    ("c6i.large", 2, 4.0, 0.085, 29),
    ("c6i.xlarge", 4, 8.0, 0.17, 58),
    ("c6i.2xlarge", 8, 16.0, 0.34, 58),
    ("c6i.4xlarge", 16, 32.0, 0.68, 234),
    ("r5.large", 2, 16.0, 0.126, 29),
    ("r5.xlarge", 4, 32.0, 0.252, 58),
    ("r5.2xlarge", 8, 64.0, 0.504, 58),
    ("r5.4xlarge", 16, 128.0, 1.008, 234),
    ("r6i.large", 2, 16.0, 0.126, 29),
    ("r6i.xlarge", 4, 32.0, 0.252, 58),
    ("r6i.2xlarge", 8, 64.0, 0.504, 58),
    ("r6i.4xlarge", 16, 128.0, 1.008, 234),
    ("r6g.large", 2, 16.0, 0.1008, 29),
    ("r6g.xlarge", 4, 32.0, 0.2016, 58),
    ("r6g.2xlarge", 8, 64.0, 0.4032, 58),
    ("r6g.4xlarge", 16, 128.0, 0.8064, 234),
];

/// The instance type `name`: the spec's entry if it declares one, else the built-in one.
pub fn instance(spec: &Spec, name: &str) -> Option<InstanceSpec> {
    let builtin = CATALOGUE.iter().find(|(n, ..)| *n == name);
    if let Some(t) = spec.instance_types.get(name) {
        return Some(InstanceSpec {
            vcpu: t.vcpu,
            memory_gib: t.memory_gib,
            hourly_usd: t.hourly_usd,
            max_pods: t
                .max_pods
                .or(builtin.map(|b| b.4))
                .unwrap_or(DEFAULT_MAX_PODS),
        });
    }
    builtin.map(
        |&(_, vcpu, memory_gib, hourly_usd, max_pods)| InstanceSpec {
            vcpu,
            memory_gib,
            hourly_usd,
            max_pods,
        },
    )
}

/// CPU the kubelet reserves on a node with `vcpu` cores (EKS/GKE kube-reserved formula).
pub fn reserved_cpu_cores(vcpu: u32) -> f64 {
    let v = f64::from(vcpu);
    let tier = |from: f64, to: f64| (v.min(to) - from).max(0.0);
    tier(0.0, 1.0) * 0.06
        + tier(1.0, 2.0) * 0.01
        + tier(2.0, 4.0) * 0.005
        + (v - 4.0).max(0.0) * 0.0025
}

/// Memory the kubelet reserves plus the eviction threshold, in GiB (EKS formula).
pub fn reserved_memory_gib(max_pods: u32) -> f64 {
    (255.0 + 11.0 * f64::from(max_pods) + EVICTION_HARD_MIB) / 1024.0
}

/// Rounds away floating-point noise (1e-6), so reports and JSON show 48.5, not 48.500000001.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Rounds to cents.
fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A number for messages and basis lines: thousands grouped, at most two decimals.
pub fn num(x: f64) -> String {
    let r = (x * 100.0).round() / 100.0;
    let int = r.trunc() as i64;
    let s = int.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    let frac = ((r - r.trunc()).abs() * 100.0).round() as u64;
    let sign = if r < 0.0 { "-" } else { "" };
    match frac {
        0 => format!("{sign}{out}"),
        f if f % 10 == 0 => format!("{sign}{out}.{}", f / 10),
        f => format!("{sign}{out}.{f:02}"),
    }
}

/// US dollars: cents, or up to four decimals for sub-cent prices ($0.384, $0.2016).
pub fn usd(x: f64) -> String {
    let whole = num(x.trunc());
    let frac = ((x - x.trunc()) * 10_000.0).round() as u64;
    let digits = format!("{frac:04}");
    let digits = digits.trim_end_matches('0');
    format!("${whole}.{digits:0<2}")
}

/// CPU and memory of a service at its replica bounds (or of several, summed).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceResources {
    pub cpu_request_cores_at_min: f64,
    pub cpu_request_cores_at_max: f64,
    pub cpu_limit_cores_at_max: f64,
    #[serde(rename = "memoryRequestGiBAtMin")]
    pub memory_request_gib_at_min: f64,
    #[serde(rename = "memoryRequestGiBAtMax")]
    pub memory_request_gib_at_max: f64,
    #[serde(rename = "memoryLimitGiBAtMax")]
    pub memory_limit_gib_at_max: f64,
}

impl ServiceResources {
    fn add(&mut self, r: &ServiceResources) {
        for (sum, x) in [
            (
                &mut self.cpu_request_cores_at_min,
                r.cpu_request_cores_at_min,
            ),
            (
                &mut self.cpu_request_cores_at_max,
                r.cpu_request_cores_at_max,
            ),
            (&mut self.cpu_limit_cores_at_max, r.cpu_limit_cores_at_max),
            (
                &mut self.memory_request_gib_at_min,
                r.memory_request_gib_at_min,
            ),
            (
                &mut self.memory_request_gib_at_max,
                r.memory_request_gib_at_max,
            ),
            (&mut self.memory_limit_gib_at_max, r.memory_limit_gib_at_max),
        ] {
            *sum = round6(*sum + x);
        }
    }
}

/// Requests and limits of `min` and `max` pods of `r`.
pub fn service_resources(min: u64, max: u64, r: &spec::Resources) -> ServiceResources {
    let (min, max) = (min as f64, max as f64);
    ServiceResources {
        cpu_request_cores_at_min: round6(min * r.requests.cpu.cores()),
        cpu_request_cores_at_max: round6(max * r.requests.cpu.cores()),
        cpu_limit_cores_at_max: round6(max * r.limits.cpu.cores()),
        memory_request_gib_at_min: round6(min * r.requests.memory.gib()),
        memory_request_gib_at_max: round6(max * r.requests.memory.gib()),
        memory_limit_gib_at_max: round6(max * r.limits.memory.gib()),
    }
}

/// The resource, node and cost report of a plan.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Capacity {
    /// Entry-point RPS the maximum replica counts carry (the tightest service decides).
    pub capacity_rps: f64,
    /// Minutes a month (730 h) the availability SLO allows to be down.
    pub error_budget_minutes_per_month: f64,
    pub redis: Option<RedisCapacity>,
    pub totals: Totals,
    pub node_pools: Vec<PoolCapacity>,
    /// All pools together (absent when a pool's instance type is unknown or there are none).
    pub nodes: Option<Nodes>,
    pub cost: Option<Cost>,
    pub alerts: AlertThresholds,
    pub load_test: Vec<PhaseReport>,
    /// The calculation basis of the totals, nodes and cost.
    pub basis: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedisCapacity {
    /// Master plus read replicas.
    pub pods: u64,
    pub cpu_request_cores: f64,
    pub cpu_limit_cores: f64,
    #[serde(rename = "memoryRequestGiB")]
    pub memory_request_gib: f64,
    #[serde(rename = "memoryLimitGiB")]
    pub memory_limit_gib: f64,
    pub managed_alternative: Option<ManagedCost>,
}

/// A managed Redis the spec compares the in-cluster one with.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedCost {
    pub instance_type: String,
    pub nodes: u32,
    pub hourly_usd: f64,
    pub monthly_usd: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub pods_at_min: u64,
    pub pods_at_max: u64,
    #[serde(flatten)]
    pub resources: ServiceResources,
}

impl Totals {
    fn add(&mut self, pods_min: u64, pods_max: u64, r: &ServiceResources) {
        self.pods_at_min += pods_min;
        self.pods_at_max += pods_max;
        self.resources.add(r);
    }
}

/// One node pool: its workloads, nodes needed and cost.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolCapacity {
    pub name: String,
    pub instance_type: String,
    pub instance: InstanceSpec,
    pub allocatable_cpu_cores: f64,
    #[serde(rename = "allocatableMemoryGiB")]
    pub allocatable_memory_gib: f64,
    /// Workloads counted on this pool (pinned to it, or unpinned on the first pool).
    pub workloads: Vec<String>,
    pub totals: Totals,
    pub count_at_min: u64,
    pub count_at_requests: u64,
    pub count_at_limits: u64,
    /// Most nodes of this type the pool's `limits` let Karpenter launch.
    pub max_nodes_within_limits: u64,
    pub pinned_nodes: Option<u32>,
    /// Nodes costed: the pinned count, else countAtRequests.
    pub costed_nodes: u64,
    pub hourly_usd: f64,
    pub monthly_usd: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Nodes {
    /// The instance type of the pools (comma-separated when they differ).
    pub instance_type: String,
    pub count_at_min: u64,
    pub count_at_requests: u64,
    pub count_at_limits: u64,
    pub costed: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    pub nodes: u64,
    pub hourly_usd: f64,
    pub monthly_usd: f64,
}

/// A workload's pods at min and max and its resources.
struct Workload<'a> {
    name: String,
    pool: Option<&'a str>,
    pods_min: u64,
    pods_max: u64,
    resources: ServiceResources,
    requests: &'a spec::CpuMemory,
    limits: &'a spec::CpuMemory,
}

/// Builds the resource, node and cost report and its findings; `derived` is what the checks
/// computed (alert thresholds, load-test phases), carried into the report.
pub fn capacity(
    spec: &Spec,
    services: &[ServicePlan],
    redis: Option<&RedisPlan>,
    derived: Derived,
    findings: &mut Vec<Finding>,
) -> Capacity {
    let mut basis = Vec::new();
    let mut workloads: Vec<Workload> = services
        .iter()
        .map(|s| Workload {
            name: s.name.clone(),
            pool: s.placement.node_pool.as_deref(),
            pods_min: s.min_replicas,
            pods_max: s.max_replicas,
            resources: s.capacity.clone(),
            requests: &s.resources.requests,
            limits: &s.resources.limits,
        })
        .collect();
    let redis_capacity = redis.map(|r| {
        let pods = 1 + u64::from(r.replicas);
        let res = service_resources(pods, pods, &r.resources);
        workloads.push(Workload {
            name: format!("redis (1 master + {} replicas)", r.replicas),
            pool: None,
            pods_min: pods,
            pods_max: pods,
            resources: res.clone(),
            requests: &r.resources.requests,
            limits: &r.resources.limits,
        });
        RedisCapacity {
            pods,
            cpu_request_cores: res.cpu_request_cores_at_max,
            cpu_limit_cores: res.cpu_limit_cores_at_max,
            memory_request_gib: res.memory_request_gib_at_max,
            memory_limit_gib: res.memory_limit_gib_at_max,
            managed_alternative: spec
                .redis
                .as_ref()
                .and_then(|r| r.managed_alternative.as_ref())
                .map(|m| {
                    let hourly = round6(f64::from(m.nodes) * m.hourly_usd);
                    ManagedCost {
                        instance_type: m.instance_type.clone(),
                        nodes: m.nodes,
                        hourly_usd: hourly,
                        monthly_usd: cents(hourly * HOURS_PER_MONTH),
                    }
                }),
        }
    });

    let mut totals = Totals::default();
    for w in &workloads {
        totals.add(w.pods_min, w.pods_max, &w.resources);
        basis.push(format!(
            "{}: {} pods at max × ({}, {}) requested = {} cores, {} GiB; limits ({}, {}) = {} cores, {} GiB",
            w.name,
            w.pods_max,
            w.requests.cpu,
            w.requests.memory,
            num(w.resources.cpu_request_cores_at_max),
            num(w.resources.memory_request_gib_at_max),
            w.limits.cpu,
            w.limits.memory,
            num(w.resources.cpu_limit_cores_at_max),
            num(w.resources.memory_limit_gib_at_max),
        ));
    }
    let sum = |f: fn(&ServiceResources) -> f64| {
        workloads
            .iter()
            .map(|w| num(f(&w.resources)))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    basis.push(format!(
        "requests at max = {} = {} cores; {} = {} GiB",
        sum(|r| r.cpu_request_cores_at_max),
        num(totals.resources.cpu_request_cores_at_max),
        sum(|r| r.memory_request_gib_at_max),
        num(totals.resources.memory_request_gib_at_max),
    ));

    // Unpinned workloads land on the first pool by name: the spec has no pool weights.
    let default_pool = spec.node_pools.keys().next().map(String::as_str);
    let mut node_pools = Vec::new();
    let mut all_known = !spec.node_pools.is_empty();
    for (name, pool) in &spec.node_pools {
        let type_name = &pool.instance_types[0];
        let Some(inst) = instance(spec, type_name) else {
            all_known = false;
            findings.push(Finding {
                code: UNKNOWN_INSTANCE_TYPE,
                severity: Severity::Warning,
                message: format!(
                    "instance type {type_name:?} is not in the built-in catalogue, so nodes and cost of pool {name} are not computed; declare it under instanceTypes.{type_name} with vcpu, memoryGiB and hourlyUsd"
                ),
                path: format!("nodePools.{name}.instanceTypes.0"),
            });
            continue;
        };
        let mine: Vec<&Workload> = workloads
            .iter()
            .filter(|w| w.pool.or(default_pool) == Some(name.as_str()))
            .collect();
        let mut t = Totals::default();
        for w in &mine {
            t.add(w.pods_min, w.pods_max, &w.resources);
        }
        node_pools.push(pool_capacity(
            name, pool, type_name, inst, mine, t, &mut basis, findings,
        ));
    }

    let nodes = (all_known && !node_pools.is_empty()).then(|| {
        let mut types: Vec<&str> = node_pools
            .iter()
            .map(|p| p.instance_type.as_str())
            .collect();
        types.dedup();
        Nodes {
            instance_type: types.join(", "),
            count_at_min: node_pools.iter().map(|p| p.count_at_min).sum(),
            count_at_requests: node_pools.iter().map(|p| p.count_at_requests).sum(),
            count_at_limits: node_pools.iter().map(|p| p.count_at_limits).sum(),
            costed: node_pools.iter().map(|p| p.costed_nodes).sum(),
        }
    });
    let cost = nodes.as_ref().map(|n| {
        let hourly = round6(node_pools.iter().map(|p| p.hourly_usd).sum());
        Cost {
            nodes: n.costed,
            hourly_usd: hourly,
            monthly_usd: cents(hourly * HOURS_PER_MONTH),
        }
    });
    if let (Some(r), Some(c)) = (&redis_capacity, &cost)
        && let Some(m) = &r.managed_alternative
    {
        basis.push(format!(
            "redis: in-cluster on the nodes above ({} pods, {} cores, {} GiB requested, inside the {}/month); managed alternative {} × {} at {}/hour = {}/month",
            r.pods,
            num(r.cpu_request_cores),
            num(r.memory_request_gib),
            usd(c.monthly_usd),
            m.nodes,
            m.instance_type,
            usd(m.hourly_usd),
            usd(m.monthly_usd)
        ));
    }

    Capacity {
        capacity_rps: capacity_rps(spec, services),
        error_budget_minutes_per_month: round6(
            (100.0 - spec.slo.availability_percent) / 100.0 * HOURS_PER_MONTH * 60.0,
        ),
        redis: redis_capacity,
        totals,
        node_pools,
        nodes,
        cost,
        alerts: derived.alerts,
        load_test: derived.load_test,
        basis,
    }
}

/// The entry RPS at which the first service reaches maxReplicas × perPodRps.
pub fn capacity_rps(spec: &Spec, services: &[ServicePlan]) -> f64 {
    let ratio = services
        .iter()
        .filter(|s| s.rps > 0.0)
        .map(|s| s.max_capacity_rps / s.rps)
        .fold(f64::INFINITY, f64::min);
    if ratio.is_finite() {
        round6(spec.slo.target_rps * ratio)
    } else {
        0.0
    }
}

fn ceil_div(a: f64, b: f64) -> u64 {
    // 1e-9 absorbs float noise so 48 / 8 is 6 nodes, not 7.
    ((a / b) - 1e-9).ceil().max(0.0) as u64
}

#[allow(clippy::too_many_arguments)]
fn pool_capacity(
    name: &str,
    pool: &spec::NodePool,
    type_name: &str,
    inst: InstanceSpec,
    workloads: Vec<&Workload>,
    t: Totals,
    basis: &mut Vec<String>,
    findings: &mut Vec<Finding>,
) -> PoolCapacity {
    let path = |field: &str| format!("nodePools.{name}.{field}");
    let reserved_cpu = reserved_cpu_cores(inst.vcpu);
    let reserved_mem = reserved_memory_gib(inst.max_pods);
    let alloc_cpu = round6(f64::from(inst.vcpu) - reserved_cpu);
    let alloc_mem = round6(inst.memory_gib - reserved_mem);
    basis.push(format!(
        "pool {name}: allocatable per {type_name} = {} vCPU − {} kube-reserved = {} cores; {} GiB − (255Mi + 11Mi × {} pods kube-reserved + 100Mi eviction) = {} GiB; {} pods",
        inst.vcpu,
        num(reserved_cpu),
        num(alloc_cpu),
        num(inst.memory_gib),
        inst.max_pods,
        num(alloc_mem),
        inst.max_pods,
    ));
    let pods = f64::from(inst.max_pods);
    let count = |cpu: f64, mem: f64, n: u64| {
        let c = (
            ceil_div(cpu, alloc_cpu),
            ceil_div(mem, alloc_mem),
            ceil_div(n as f64, pods),
        );
        (c.0.max(c.1).max(c.2), c)
    };
    let (at_min, _) = count(
        t.resources.cpu_request_cores_at_min,
        t.resources.memory_request_gib_at_min,
        t.pods_at_min,
    );
    let (at_req, c) = count(
        t.resources.cpu_request_cores_at_max,
        t.resources.memory_request_gib_at_max,
        t.pods_at_max,
    );
    basis.push(format!(
        "pool {name}: countAtRequests = max(ceil({} cores / {}), ceil({} GiB / {}), ceil({} pods / {})) = max({}, {}, {}) = {at_req}",
        num(t.resources.cpu_request_cores_at_max),
        num(alloc_cpu),
        num(t.resources.memory_request_gib_at_max),
        num(alloc_mem),
        t.pods_at_max,
        inst.max_pods,
        c.0,
        c.1,
        c.2
    ));
    let (at_lim, _) = count(
        t.resources.cpu_limit_cores_at_max,
        t.resources.memory_limit_gib_at_max,
        t.pods_at_max,
    );
    basis.push(format!(
        "pool {name}: countAtLimits = max(ceil({} cores / {}), ceil({} GiB / {}), ceil({} pods / {})) = {at_lim}; countAtMin = {at_min}",
        num(t.resources.cpu_limit_cores_at_max),
        num(alloc_cpu),
        num(t.resources.memory_limit_gib_at_max),
        num(alloc_mem),
        t.pods_at_max,
        inst.max_pods,
    ));
    let limit_cpu = pool.limits.cpu.cores();
    let limit_mem = pool.limits.memory.gib();
    let max_nodes = (limit_cpu / f64::from(inst.vcpu) + 1e-9)
        .floor()
        .min((limit_mem / inst.memory_gib + 1e-9).floor())
        .max(0.0) as u64;
    basis.push(format!(
        "pool {name}: limits ({}, {}) allow min(floor({} / {}), floor({} / {})) = {max_nodes} × {type_name}",
        pool.limits.cpu,
        pool.limits.memory,
        num(limit_cpu),
        inst.vcpu,
        num(limit_mem),
        num(inst.memory_gib),
    ));

    let names = workloads
        .iter()
        .map(|w| w.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if t.resources.cpu_request_cores_at_max > limit_cpu + 1e-9
        || t.resources.memory_request_gib_at_max > limit_mem + 1e-9
    {
        findings.push(Finding {
            code: NODE_POOL_LIMITS,
            severity: Severity::Error,
            message: format!(
                "requests at maxReplicas ({} cores, {} GiB for {names}) exceed the pool limits ({}, {}); pods stay Pending at peak; raise limits to at least {} cores and {} GiB",
                num(t.resources.cpu_request_cores_at_max),
                num(t.resources.memory_request_gib_at_max),
                pool.limits.cpu,
                pool.limits.memory,
                num(t.resources.cpu_request_cores_at_max.ceil()),
                num(t.resources.memory_request_gib_at_max.ceil()),
            ),
            path: path("limits"),
        });
    } else if at_req > max_nodes {
        findings.push(Finding {
            code: NODE_POOL_LIMITS,
            severity: Severity::Error,
            message: format!(
                "requests at maxReplicas need {at_req} × {type_name}, but the limits ({}, {}) let Karpenter launch only {max_nodes}; raise limits to at least {} cores and {} GiB",
                pool.limits.cpu,
                pool.limits.memory,
                at_req * u64::from(inst.vcpu),
                num(at_req as f64 * inst.memory_gib),
            ),
            path: path("limits"),
        });
    } else if t.resources.cpu_limit_cores_at_max > limit_cpu + 1e-9
        || t.resources.memory_limit_gib_at_max > limit_mem + 1e-9
    {
        findings.push(Finding {
            code: NODE_POOL_LIMITS,
            severity: Severity::Warning,
            message: format!(
                "limits at maxReplicas ({} cores, {} GiB) exceed the pool limits ({}, {}): pods bursting to their limits at peak will be throttled or OOM-killed",
                num(t.resources.cpu_limit_cores_at_max),
                num(t.resources.memory_limit_gib_at_max),
                pool.limits.cpu,
                pool.limits.memory,
            ),
            path: path("limits"),
        });
    }
    if let Some(n) = pool.nodes {
        let n64 = u64::from(n);
        if n64 > max_nodes {
            findings.push(Finding {
                code: NODE_POOL_LIMITS,
                severity: Severity::Warning,
                message: format!(
                    "nodes: {n} × {type_name} ({} vCPU, {} GiB) is more than the pool limits ({}, {}) let Karpenter launch ({max_nodes}), so the cost is for nodes that cannot exist; raise limits or lower nodes",
                    n64 * u64::from(inst.vcpu),
                    num(n as f64 * inst.memory_gib),
                    pool.limits.cpu,
                    pool.limits.memory,
                ),
                path: path("nodes"),
            });
        } else if n64 < at_req {
            findings.push(Finding {
                code: NODE_POOL_LIMITS,
                severity: Severity::Warning,
                message: format!(
                    "nodes: {n} is fewer than the {at_req} × {type_name} the requests at maxReplicas need, so the cost is understated; set nodes to at least {at_req}"
                ),
                path: path("nodes"),
            });
        }
    }
    let costed = pool.nodes.map_or(at_req, u64::from);
    let hourly = round6(costed as f64 * inst.hourly_usd);
    let monthly = cents(hourly * HOURS_PER_MONTH);
    basis.push(format!(
        "pool {name}: cost = {costed} nodes ({}) × {}/hour = {}/hour × {} h = {}/month",
        if pool.nodes.is_some() {
            "pinned"
        } else {
            "countAtRequests"
        },
        usd(inst.hourly_usd),
        usd(hourly),
        num(HOURS_PER_MONTH),
        usd(monthly)
    ));
    PoolCapacity {
        name: name.to_string(),
        instance_type: type_name.to_string(),
        instance: inst,
        allocatable_cpu_cores: alloc_cpu,
        allocatable_memory_gib: alloc_mem,
        workloads: workloads.iter().map(|w| w.name.clone()).collect(),
        totals: t,
        count_at_min: at_min,
        count_at_requests: at_req,
        count_at_limits: at_lim,
        max_nodes_within_limits: max_nodes,
        pinned_nodes: pool.nodes,
        costed_nodes: costed,
        hourly_usd: hourly,
        monthly_usd: monthly,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservation_follows_the_eks_formula() {
        assert!((reserved_cpu_cores(8) - 0.09).abs() < 1e-9);
        assert!((reserved_cpu_cores(1) - 0.06).abs() < 1e-9);
        assert!((reserved_cpu_cores(2) - 0.07).abs() < 1e-9);
        assert!((reserved_memory_gib(58) * 1024.0 - 993.0).abs() < 1e-9);
    }

    #[test]
    fn numbers_and_dollars_format_for_people() {
        assert_eq!(num(48.5), "48.5");
        assert_eq!(num(31.0302734), "31.03");
        assert_eq!(num(30000.0), "30,000");
        assert_eq!(usd(5606.4), "$5,606.40");
        assert_eq!(usd(0.384), "$0.384");
        assert_eq!(usd(7.68), "$7.68");
    }
}
