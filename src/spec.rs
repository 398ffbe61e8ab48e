//! The spec: what a team writes in `environments/<env>.yaml`.
//!
//! These structs are the single source of truth: serde parses them, schemars derives the
//! committed JSON Schema (`schemas/tacosgen.schema.json`) from them, and their doc comments are
//! the field documentation shown by editors and `tacosgen explain FIELD`. The spec states
//! intent (SLO, per-pod throughput, headroom); replica counts are derived by the planner and
//! may only be pinned as overrides.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::units::{Cpu, Duration, Memory, Rate, RedisSize};

/// A tacosgen environment spec.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spec {
    /// A base spec this one extends, relative to this file (deep merge: maps merge by key, lists
    /// and scalars replace). The base must live inside the same repository.
    #[serde(default)]
    pub extends: Option<String>,
    /// Environment name (a DNS-1123 label); output goes to `out/<environment>/`.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), length(max = 63))]
    pub environment: String,
    /// Kubernetes namespace of every workload.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), length(max = 63))]
    pub namespace: String,
    /// A production environment gets the stricter checks: images must be pinned by digest
    /// (TG017), since a tag can be moved to other code after review.
    #[serde(default)]
    pub production: bool,
    /// Labels added to every object (in addition to the `app.kubernetes.io/*` labels).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The service level objective everything else is derived from.
    pub slo: Slo,
    /// How capacity is derived from the SLO.
    #[serde(default)]
    pub capacity: CapacityPolicy,
    /// Fields merged under every entry of `services` (the entry wins), so shared settings are
    /// written once. Takes any field of a service.
    #[serde(default)]
    #[schemars(schema_with = "crate::validate::service_defaults_schema")]
    pub service_defaults: Option<serde_json::Value>,
    /// The HTTP services, keyed by name (a DNS-1123 label).
    pub services: BTreeMap<String, Service>,
    /// The in-cluster Redis (one master, N read replicas). Omit for none.
    #[serde(default)]
    pub redis: Option<Redis>,
    /// Karpenter node pools, keyed by name.
    #[serde(default)]
    pub node_pools: BTreeMap<String, NodePool>,
    /// Extra or overriding entries of the built-in instance-type catalogue, keyed by type name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub instance_types: BTreeMap<String, InstanceType>,
    /// Alert thresholds, derived from the SLO where they are relative.
    #[serde(default)]
    pub alerts: Alerts,
    /// The load-test phases.
    #[serde(default)]
    pub load_test: LoadTest,
    /// Metric and label names the alerts and the dashboard query, and where they are published.
    #[serde(default)]
    pub monitoring: Monitoring,
    /// Warnings this environment accepts on purpose, each with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acknowledge: Vec<Acknowledgement>,
}

/// Service level objective.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Slo {
    /// Peak requests per second the entry points must carry.
    #[schemars(range(min = 1))]
    pub target_rps: f64,
    /// 99th-percentile latency objective in milliseconds.
    #[schemars(range(min = 1))]
    pub latency_p99_ms: f64,
    /// Availability objective in percent (e.g. 99.9).
    #[schemars(range(min = 0, max = 100))]
    pub availability_percent: f64,
}

/// How replica counts are derived.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CapacityPolicy {
    /// Extra capacity above what the target needs, in percent: maxReplicas =
    /// ceil(podsNeeded × (1 + headroom/100)).
    #[serde(default = "default_headroom")]
    #[schemars(range(min = 0, max = 1000))]
    pub headroom_percent: f64,
    /// Share of the target the minimum replica count must carry without scaling (off-peak
    /// load), in percent: minReplicas = max(2, ceil(rps × minLoad/100 ÷ perPodRps)).
    #[serde(default = "default_min_load")]
    #[schemars(range(min = 0, max = 100))]
    pub min_load_percent: f64,
}

fn default_headroom() -> f64 {
    50.0
}
fn default_min_load() -> f64 {
    30.0
}

impl Default for CapacityPolicy {
    fn default() -> Self {
        CapacityPolicy {
            headroom_percent: default_headroom(),
            min_load_percent: default_min_load(),
        }
    }
}

/// One HTTP service (Deployment, Service, HPA, PDB, ConfigMap, ServiceAccount).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Service {
    /// Container image, `repo:tag` or pinned `repo@sha256:<digest>`.
    #[schemars(length(min = 1))]
    pub image: String,
    /// Requests per second one pod sustains within the latency SLO (measured, e.g. by a
    /// load test of a single pod).
    #[schemars(range(min = 0.001))]
    pub per_pod_rps: f64,
    /// Where this service's traffic comes from.
    #[serde(default)]
    pub traffic: Traffic,
    /// Replica bounds. Derived from the SLO unless pinned here.
    #[serde(default)]
    pub replicas: ReplicaPins,
    /// PodDisruptionBudget. Derived (minAvailable = ceil(minReplicas / 2)) unless pinned.
    #[serde(default)]
    pub disruption_budget: DisruptionBudget,
    /// HPA scaling behaviour.
    #[serde(default)]
    pub scaling: Scaling,
    /// Container resources.
    pub resources: Resources,
    /// Container port the application listens on.
    #[serde(default = "default_container_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// Readiness and liveness probes.
    #[serde(default)]
    pub probes: Probes,
    /// The Kubernetes Service in front of the pods.
    #[serde(default)]
    pub expose: Expose,
    /// How pods spread over nodes and zones.
    #[serde(default)]
    pub placement: Placement,
    /// Redis connection pool (REDIS_POOL_SIZE, REDIS_POOL_TIMEOUT). Omit if the service does
    /// not use Redis.
    #[serde(default)]
    pub redis_pool: Option<RedisPool>,
    /// Outgoing HTTP client settings (HTTP_MAX_IDLE_CONNS, HTTP_MAX_IDLE_CONNS_PER_HOST,
    /// HTTP_TIMEOUT).
    #[serde(default)]
    pub http_client: Option<HttpClient>,
    /// Circuit breaker (CIRCUIT_BREAKER_THRESHOLD, CIRCUIT_BREAKER_TIMEOUT).
    #[serde(default)]
    pub circuit_breaker: Option<CircuitBreaker>,
    /// Per-pod rate limit (RATE_LIMIT_RPS, RATE_LIMIT_BURST).
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Further environment variables (name → value), merged into the ConfigMap.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

fn default_container_port() -> u16 {
    8000
}

/// Where a service's requests come from.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Traffic {
    /// The service that calls this one. Omit for an entry point, which receives the SLO
    /// target. Services with the same `from` split its traffic by `weight`.
    #[serde(default)]
    pub from: Option<String>,
    /// Relative share among the services with the same `from` (default 1: an even split), at
    /// most 1,000,000: shares stay finite when summed (weights near the largest float once
    /// summed to infinity and silently gave every sibling 0 RPS).
    #[serde(default)]
    #[schemars(range(min = 0.000001, max = 1000000))]
    pub weight: Option<f64>,
}

/// Replica bounds that override what the planner derives.
// Counts and seconds that reach Kubernetes objects are int32 there, hence the 2147483647 maxima
// here and below: the schema refuses them at the spec's line instead of verify at the template's.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReplicaPins {
    /// Pinned HPA minReplicas.
    #[serde(default)]
    #[schemars(range(min = 1, max = 2147483647))]
    pub min: Option<u32>,
    /// Pinned HPA maxReplicas (must carry the service's RPS).
    #[serde(default)]
    #[schemars(range(min = 1, max = 2147483647))]
    pub max: Option<u32>,
}

/// PodDisruptionBudget pins (at most one of the two).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DisruptionBudget {
    /// Pinned minAvailable.
    #[serde(default)]
    #[schemars(range(max = 2147483647))]
    pub min_available: Option<u32>,
    /// Pinned maxUnavailable (scales better with an HPA than minAvailable).
    #[serde(default)]
    #[schemars(range(max = 2147483647))]
    pub max_unavailable: Option<u32>,
}

/// HPA behaviour.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Scaling {
    /// Average CPU utilisation (percent of requests) the HPA keeps.
    #[serde(default = "default_target_cpu")]
    #[schemars(range(min = 1, max = 100))]
    pub target_cpu_percent: u32,
    /// Scale-up: at most this many pods per period...
    #[serde(default = "default_scale_up_pods")]
    #[schemars(range(min = 1, max = 2147483647))]
    pub scale_up_pods: u32,
    /// ...or this percentage of the current pods per period, whichever is more.
    #[serde(default = "default_scale_up_percent")]
    #[schemars(range(min = 1, max = 2147483647))]
    pub scale_up_percent: u32,
    /// Scale-up policy period in seconds.
    #[serde(default = "default_scale_period")]
    #[schemars(range(min = 1, max = 1800))]
    pub scale_up_period_seconds: u32,
    /// Scale-down stabilization window in seconds.
    #[serde(default = "default_scale_down_window")]
    #[schemars(range(min = 0, max = 3600))]
    pub scale_down_stabilization_seconds: u32,
}

fn default_target_cpu() -> u32 {
    70
}
fn default_scale_up_pods() -> u32 {
    4
}
fn default_scale_up_percent() -> u32 {
    100
}
fn default_scale_period() -> u32 {
    15
}
fn default_scale_down_window() -> u32 {
    300
}

impl Default for Scaling {
    fn default() -> Self {
        Scaling {
            target_cpu_percent: default_target_cpu(),
            scale_up_pods: default_scale_up_pods(),
            scale_up_percent: default_scale_up_percent(),
            scale_up_period_seconds: default_scale_period(),
            scale_down_stabilization_seconds: default_scale_down_window(),
        }
    }
}

/// Container requests and limits.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    pub requests: CpuMemory,
    pub limits: CpuMemory,
}

/// A CPU and memory pair.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CpuMemory {
    pub cpu: Cpu,
    pub memory: Memory,
}

/// Readiness and liveness probes.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Probes {
    #[serde(default = "default_readiness")]
    pub readiness: Probe,
    #[serde(default = "default_liveness")]
    pub liveness: Probe,
    /// Measured seconds from container start until the app serves; the planner checks that
    /// liveness cannot kill a pod still starting (default: the readiness initial delay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_seconds: Option<u32>,
}

impl Default for Probes {
    fn default() -> Self {
        Probes {
            readiness: default_readiness(),
            liveness: default_liveness(),
            startup_seconds: None,
        }
    }
}

fn default_readiness() -> Probe {
    Probe {
        path: "/readyz".into(),
        port: None,
        initial_delay_seconds: 5,
        period_seconds: 3,
        timeout_seconds: 2,
        success_threshold: 1,
        failure_threshold: 2,
    }
}

fn default_liveness() -> Probe {
    Probe {
        path: "/healthz".into(),
        port: None,
        initial_delay_seconds: 30,
        period_seconds: 10,
        timeout_seconds: 5,
        success_threshold: 1,
        failure_threshold: 3,
    }
}

/// An HTTP GET probe.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Probe {
    /// HTTP path, starting with `/`.
    #[schemars(regex(pattern = r"^/"))]
    pub path: String,
    /// Port (default: the service's container port).
    #[serde(default)]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
    /// Seconds after the container starts before the first probe.
    #[serde(default)]
    #[schemars(range(max = 2147483647))]
    pub initial_delay_seconds: u32,
    /// Seconds between probes.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 2147483647))]
    pub period_seconds: u32,
    /// Seconds after which a probe counts as failed.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 2147483647))]
    pub timeout_seconds: u32,
    /// Consecutive successes after a failure before the probe counts as passing again.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 2147483647))]
    pub success_threshold: u32,
    /// Consecutive failures before the pod is marked unready (readiness) or restarted (liveness).
    #[serde(default = "three")]
    #[schemars(range(min = 1, max = 2147483647))]
    pub failure_threshold: u32,
}

fn one() -> u32 {
    1
}
fn three() -> u32 {
    3
}

/// The Kubernetes Service.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expose {
    /// Service type: `ClusterIP` (in-cluster only), `NodePort` or `LoadBalancer`.
    #[serde(default, rename = "type")]
    pub service_type: ServiceType,
    /// Service port (targets the container port).
    #[serde(default = "default_service_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// `None`, or `ClientIP` to send a client's requests to the same pod.
    #[serde(default)]
    pub session_affinity: SessionAffinity,
    /// ClientIP affinity timeout in seconds (Kubernetes default 10800).
    #[serde(default)]
    #[schemars(range(min = 1, max = 86400))]
    pub session_affinity_timeout_seconds: Option<u32>,
}

fn default_service_port() -> u16 {
    80
}

impl Default for Expose {
    fn default() -> Self {
        Expose {
            service_type: ServiceType::default(),
            port: default_service_port(),
            session_affinity: SessionAffinity::default(),
            session_affinity_timeout_seconds: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum ServiceType {
    #[default]
    ClusterIP,
    NodePort,
    LoadBalancer,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum SessionAffinity {
    #[default]
    None,
    ClientIP,
}

/// Pod placement.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Placement {
    /// Pod anti-affinity between replicas of this service.
    #[serde(default = "default_anti_affinity")]
    pub anti_affinity: AntiAffinity,
    /// Spread replicas evenly over zones (`topology.kubernetes.io/zone`, maxSkew 1).
    #[serde(default = "yes")]
    pub zone_spread: bool,
    /// Node pool the pods must run on (by `karpenter.sh/nodepool` label). Omit for any.
    #[serde(default)]
    pub node_pool: Option<String>,
}

fn yes() -> bool {
    true
}

impl Default for Placement {
    fn default() -> Self {
        Placement {
            anti_affinity: default_anti_affinity(),
            zone_spread: true,
            node_pool: None,
        }
    }
}

fn default_anti_affinity() -> AntiAffinity {
    AntiAffinity {
        mode: AntiAffinityMode::Preferred,
        weight: 100,
        topology_key: "kubernetes.io/hostname".into(),
    }
}

/// Pod anti-affinity.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AntiAffinity {
    /// `preferred` (spread when possible) or `required` (never two replicas on one topology domain).
    pub mode: AntiAffinityMode,
    /// Weight of the preferred term (1-100).
    #[serde(default = "hundred")]
    #[schemars(range(min = 1, max = 100))]
    pub weight: u32,
    /// Node label that defines the topology domain (default `kubernetes.io/hostname`: one node).
    #[serde(default = "hostname")]
    pub topology_key: String,
}

fn hundred() -> u32 {
    100
}
fn hostname() -> String {
    "kubernetes.io/hostname".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AntiAffinityMode {
    /// preferredDuringSchedulingIgnoredDuringExecution.
    Preferred,
    /// requiredDuringSchedulingIgnoredDuringExecution: caps replicas at the node count.
    Required,
    None,
}

/// Redis client pool of a service.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedisPool {
    /// Connections per pod.
    #[schemars(range(min = 1))]
    pub size: u32,
    pub timeout: Duration,
}

/// Outgoing HTTP client settings.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpClient {
    /// Idle keep-alive connections kept in total (HTTP_MAX_IDLE_CONNS).
    #[schemars(range(min = 1))]
    pub max_idle_conns: u32,
    /// Idle keep-alive connections kept per upstream host (HTTP_MAX_IDLE_CONNS_PER_HOST).
    #[schemars(range(min = 1))]
    pub max_idle_conns_per_host: u32,
    pub timeout: Duration,
}

/// Circuit breaker.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CircuitBreaker {
    /// Consecutive failures that open the breaker.
    #[schemars(range(min = 1))]
    pub threshold: u32,
    /// How long the breaker stays open.
    pub timeout: Duration,
}

/// Per-pod rate limit.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RateLimit {
    /// Requests per second one pod admits (RATE_LIMIT_RPS); keep it below perPodRps.
    #[schemars(range(min = 1))]
    pub rps: u32,
    /// Requests admitted at once above the rate (RATE_LIMIT_BURST).
    #[schemars(range(min = 1))]
    pub burst: u32,
}

/// In-cluster Redis: one master StatefulSet, one replica StatefulSet.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Redis {
    /// Redis container image.
    #[serde(default = "default_redis_image")]
    pub image: String,
    /// Number of read replicas.
    #[serde(default = "default_redis_replicas")]
    #[schemars(range(min = 0, max = 32))]
    pub replicas: u32,
    /// Redis port.
    #[serde(default = "default_redis_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// `maxmemory` (e.g. `512mb`).
    pub maxmemory: RedisSize,
    /// What Redis evicts when maxmemory is reached (`maxmemory-policy`).
    #[serde(default)]
    pub maxmemory_policy: EvictionPolicy,
    /// `maxclients` (Redis default 10000).
    #[serde(default = "default_maxclients")]
    #[schemars(range(min = 1))]
    pub maxclients: u32,
    /// Persistence of the master: `off` (save "" and appendonly no), `rdb` or `aof`.
    #[serde(default)]
    pub persistence: Persistence,
    /// The data is a cache that may be lost at any time (a master restarted without
    /// persistence comes back empty and the replicas copy that).
    #[serde(default)]
    pub data_disposable: bool,
    /// The existing Secret holding the password (tacosgen never writes secret values).
    pub password_secret: SecretRef,
    /// Commands disabled with `rename-command X ""`.
    #[serde(default = "default_disabled_commands")]
    pub disabled_commands: Vec<String>,
    pub resources: Resources,
    /// A managed Redis to compare the in-cluster one with in the capacity report (e.g. an
    /// ElastiCache node type and its price); informational only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_alternative: Option<ManagedRedis>,
}

/// A managed Redis offering and its price.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManagedRedis {
    /// The offering, e.g. `cache.r6g.xlarge`.
    #[schemars(length(min = 1))]
    pub instance_type: String,
    /// Price of one node in USD per hour.
    #[schemars(range(min = 0))]
    pub hourly_usd: f64,
    /// Nodes (primary plus replicas).
    #[serde(default = "one")]
    #[schemars(range(min = 1))]
    pub nodes: u32,
}

fn default_redis_image() -> String {
    "redis:7.4".into()
}
fn default_redis_replicas() -> u32 {
    3
}
fn default_redis_port() -> u16 {
    6379
}
fn default_maxclients() -> u32 {
    10000
}
fn default_disabled_commands() -> Vec<String> {
    ["FLUSHALL", "FLUSHDB", "DEBUG", "KEYS"]
        .map(String::from)
        .to_vec()
}

/// A key of an existing Secret.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretRef {
    /// Name of the Secret.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"))]
    pub name: String,
    /// Key in the Secret whose value is the password.
    pub key: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EvictionPolicy {
    #[default]
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    Noeviction,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Persistence {
    #[default]
    Off,
    Rdb,
    Aof,
}

/// A Karpenter NodePool and its EC2NodeClass.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodePool {
    /// Allowed EC2 instance types; the first is used for node counts and cost.
    #[schemars(length(min = 1))]
    pub instance_types: Vec<String>,
    /// Karpenter capacity types, in order of preference: `on-demand`, `spot`, `reserved`.
    #[serde(default = "default_capacity_types")]
    pub capacity_types: Vec<CapacityType>,
    /// Karpenter limits: the pool never grows beyond them.
    pub limits: PoolLimits,
    #[serde(default)]
    pub consolidation: Consolidation,
    /// Node lifetime before replacement (Karpenter `expireAfter`).
    #[serde(default = "default_expire_after")]
    pub expire_after: Duration,
    /// At most this share of nodes disrupted at once (Karpenter budget, e.g. "10%").
    #[serde(default = "default_budget")]
    #[schemars(regex(pattern = r"^((100|[0-9]{1,2})%|[0-9]+)$"))]
    pub disruption_budget: String,
    /// Node count to cost (otherwise the planner's count at requests).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub nodes: Option<u32>,
    /// The EC2NodeClass.
    pub node_class: NodeClass,
}

fn default_capacity_types() -> Vec<CapacityType> {
    vec![CapacityType::OnDemand]
}
fn default_expire_after() -> Duration {
    Duration::parse("720h").expect("valid literal")
}
fn default_budget() -> String {
    "10%".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CapacityType {
    OnDemand,
    Spot,
    Reserved,
}

/// NodePool limits.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PoolLimits {
    pub cpu: Cpu,
    pub memory: Memory,
}

/// Karpenter consolidation.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Consolidation {
    /// `WhenEmpty` or `WhenEmptyOrUnderutilized` (karpenter.sh/v1; the v1beta1 name
    /// `WhenUnderutilized` is rejected by every Karpenter API version together with `after`).
    #[serde(default)]
    pub policy: ConsolidationPolicy,
    /// `consolidateAfter`.
    #[serde(default = "default_consolidate_after")]
    pub after: Duration,
}

fn default_consolidate_after() -> Duration {
    Duration::parse("5m").expect("valid literal")
}

impl Default for Consolidation {
    fn default() -> Self {
        Consolidation {
            policy: ConsolidationPolicy::default(),
            after: default_consolidate_after(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum ConsolidationPolicy {
    WhenEmpty,
    #[default]
    WhenEmptyOrUnderutilized,
}

/// EC2NodeClass settings.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeClass {
    /// IAM role of the nodes.
    pub role: String,
    /// AMI alias `family@version`, e.g. `al2023@v20251023` (`@latest` drifts on every release).
    #[schemars(regex(pattern = r"^[a-z0-9]+@(v[0-9.]+|latest)$"))]
    pub ami_alias: String,
    /// Tags selecting the subnets.
    pub subnet_tags: BTreeMap<String, String>,
    /// Tags selecting the security groups.
    pub security_group_tags: BTreeMap<String, String>,
}

/// An instance type for node counts and cost.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InstanceType {
    /// Virtual CPUs of one instance.
    #[schemars(range(min = 1))]
    pub vcpu: u32,
    /// Memory of one instance in GiB.
    #[serde(rename = "memoryGiB")]
    #[schemars(range(min = 1))]
    pub memory_gib: f64,
    /// On-demand price in USD per hour.
    #[schemars(range(min = 0))]
    pub hourly_usd: f64,
    /// Pods a node can hold (VPC CNI ENI limit; default: the built-in entry's, else 110).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_pods: Option<u32>,
}

/// Alert thresholds.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Alerts {
    /// RPS warning fires this far below the target (`2000` RPS, or `"7%"` of the target).
    #[serde(default = "default_rps_warning_margin")]
    pub rps_warning_margin: Rate,
    /// RPS critical fires this far below the target.
    #[serde(default = "default_rps_critical_margin")]
    pub rps_critical_margin: Rate,
    /// P99 latency warning threshold in ms (default: the SLO).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub latency_p99_ms: Option<f64>,
    /// 5xx ratio critical threshold in percent.
    #[serde(default = "default_error_rate")]
    #[schemars(range(min = 0, max = 100))]
    pub error_rate_percent: f64,
    /// CPU warning threshold, percent of requests.
    #[serde(default = "default_cpu_alert")]
    #[schemars(range(min = 1, max = 1000))]
    pub cpu_percent_of_requests: f64,
    /// Redis memory warning threshold, percent of `maxmemory`.
    #[serde(default = "default_redis_memory_alert")]
    #[schemars(range(min = 1, max = 100))]
    pub redis_memory_percent: f64,
    /// Redis key-space hit-rate warning threshold in percent (fires below it).
    #[serde(default = "default_redis_hit_rate_alert")]
    #[schemars(range(min = 0, max = 100))]
    pub redis_hit_rate_percent: f64,
    /// Redis evictions per second above which the cache is too small for its working set.
    #[serde(default = "default_redis_evictions_alert")]
    #[schemars(range(min = 0))]
    pub redis_evictions_per_second: f64,
}

fn default_rps_warning_margin() -> Rate {
    Rate::parse("7%").expect("valid literal")
}
fn default_rps_critical_margin() -> Rate {
    Rate::parse("3%").expect("valid literal")
}
fn default_error_rate() -> f64 {
    1.0
}
fn default_cpu_alert() -> f64 {
    80.0
}
fn default_redis_memory_alert() -> f64 {
    90.0
}
fn default_redis_hit_rate_alert() -> f64 {
    80.0
}
fn default_redis_evictions_alert() -> f64 {
    100.0
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            rps_warning_margin: default_rps_warning_margin(),
            rps_critical_margin: default_rps_critical_margin(),
            latency_p99_ms: None,
            error_rate_percent: default_error_rate(),
            cpu_percent_of_requests: default_cpu_alert(),
            redis_memory_percent: default_redis_memory_alert(),
            redis_hit_rate_percent: default_redis_hit_rate_alert(),
            redis_evictions_per_second: default_redis_evictions_alert(),
        }
    }
}

/// Load-test plan.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoadTest {
    /// Phases, run in order.
    #[serde(default)]
    pub phases: Vec<LoadPhase>,
    /// k6 `maxVUs` = this × `preAllocatedVUs` (Little's law at the SLO latency), so requests up
    /// to this many times slower than the SLO still keep the arrival rate before k6 drops
    /// iterations.
    #[serde(default = "default_max_vus_factor")]
    #[schemars(range(min = 1, max = 100))]
    pub max_vus_factor: f64,
}

fn default_max_vus_factor() -> f64 {
    2.0
}

impl Default for LoadTest {
    fn default() -> Self {
        LoadTest {
            phases: Vec::new(),
            max_vus_factor: default_max_vus_factor(),
        }
    }
}

/// One load-test phase.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoadPhase {
    /// Phase name (a DNS-1123 label, used as the k6 scenario name).
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub name: String,
    pub duration: Duration,
    /// Arrival rate reached in this phase: RPS, or relative to the SLO target (`"1/3"`,
    /// `"100%"`). Omitted: what `vus` can drive at the SLO latency (Little's law).
    #[serde(default)]
    pub rate: Option<Rate>,
    /// Virtual users the guide planned for this phase (checked against Little's law).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub vus: Option<u32>,
    /// Ramp linearly from the previous phase's rate instead of holding the rate.
    #[serde(default)]
    pub ramp: bool,
}

/// A warning accepted on purpose.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Acknowledgement {
    /// Finding code, e.g. `TG007`.
    #[schemars(regex(pattern = r"^TG[0-9]{3}$"))]
    pub code: String,
    /// Why this environment accepts it.
    #[schemars(length(min = 1))]
    pub reason: String,
}

/// What the alerts and the dashboard query and where they are published. The defaults match
/// Spring Boot/Micrometer request metrics scraped by the Prometheus Operator, cAdvisor,
/// kube-state-metrics, redis_exporter and kube-prometheus-stack's rule and dashboard selectors.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Monitoring {
    /// Labels of the PrometheusRule; they must match the Prometheus `ruleSelector`.
    #[serde(default = "default_rule_labels")]
    pub rule_labels: BTreeMap<String, String>,
    /// Labels of the dashboard ConfigMap; the Grafana sidecar loads ConfigMaps carrying them.
    #[serde(default = "default_dashboard_labels")]
    pub dashboard_labels: BTreeMap<String, String>,
    /// Base URL the repository is browsed at (e.g. `https://github.com/org/repo/blob/main`);
    /// each alert's `runbook_url` is `<base>/out/<env>/RUNBOOK.md#<alert>`. Omitted: the
    /// repository-relative path.
    #[serde(default)]
    #[schemars(regex(pattern = r"^https?://[^\s]+$"))]
    pub runbook_base_url: Option<String>,
    #[serde(default)]
    pub metrics: MetricNames,
    #[serde(default)]
    pub labels: LabelNames,
    /// Value of the `labels.service` label on redis_exporter's series.
    #[serde(default = "default_redis_job")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_.:/-]+$"))]
    pub redis_job: String,
}

fn default_rule_labels() -> BTreeMap<String, String> {
    BTreeMap::from([("release".into(), "kube-prometheus-stack".into())])
}
fn default_dashboard_labels() -> BTreeMap<String, String> {
    BTreeMap::from([("grafana_dashboard".into(), "1".into())])
}
fn default_redis_job() -> String {
    "redis-exporter".into()
}

impl Default for Monitoring {
    fn default() -> Self {
        Monitoring {
            rule_labels: default_rule_labels(),
            dashboard_labels: default_dashboard_labels(),
            runbook_base_url: None,
            metrics: MetricNames::default(),
            labels: LabelNames::default(),
            redis_job: default_redis_job(),
        }
    }
}

/// Prometheus metric names.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MetricNames {
    /// Counter of HTTP requests served, with the status code as a label.
    #[serde(default = "default_requests_metric")]
    #[schemars(regex(pattern = r"^[A-Za-z_:][A-Za-z0-9_:]*$"))]
    pub requests: String,
    /// Buckets (`le`, in seconds) of the request-duration histogram. It needs a bucket boundary
    /// at the SLO latency: `histogram_quantile` interpolates inside a bucket.
    #[serde(default = "default_duration_bucket_metric")]
    #[schemars(regex(pattern = r"^[A-Za-z_:][A-Za-z0-9_:]*$"))]
    pub request_duration_bucket: String,
    /// CPU seconds used per container (cAdvisor).
    #[serde(default = "default_cpu_metric")]
    #[schemars(regex(pattern = r"^[A-Za-z_:][A-Za-z0-9_:]*$"))]
    pub cpu_usage: String,
    /// Memory bytes used per container (cAdvisor).
    #[serde(default = "default_memory_metric")]
    #[schemars(regex(pattern = r"^[A-Za-z_:][A-Za-z0-9_:]*$"))]
    pub memory_usage: String,
    /// Container resource requests with a `resource` label (kube-state-metrics).
    #[serde(default = "default_requests_resource_metric")]
    #[schemars(regex(pattern = r"^[A-Za-z_:][A-Za-z0-9_:]*$"))]
    pub resource_requests: String,
    /// Current replicas of each HPA, labelled `horizontalpodautoscaler` (kube-state-metrics).
    #[serde(default = "default_hpa_metric")]
    #[schemars(regex(pattern = r"^[A-Za-z_:][A-Za-z0-9_:]*$"))]
    pub hpa_current_replicas: String,
    /// Prefix of redis_exporter's metrics (its `--namespace`): `<prefix>_up`,
    /// `<prefix>_keyspace_hits_total`, ...
    #[serde(default = "default_redis_prefix")]
    #[schemars(regex(pattern = r"^[A-Za-z_:][A-Za-z0-9_:]*$"))]
    pub redis_prefix: String,
}

fn default_requests_metric() -> String {
    "http_server_requests_seconds_count".into()
}
fn default_duration_bucket_metric() -> String {
    "http_server_requests_seconds_bucket".into()
}
fn default_cpu_metric() -> String {
    "container_cpu_usage_seconds_total".into()
}
fn default_memory_metric() -> String {
    "container_memory_working_set_bytes".into()
}
fn default_requests_resource_metric() -> String {
    "kube_pod_container_resource_requests".into()
}
fn default_hpa_metric() -> String {
    "kube_horizontalpodautoscaler_status_current_replicas".into()
}
fn default_redis_prefix() -> String {
    "redis".into()
}

impl Default for MetricNames {
    fn default() -> Self {
        MetricNames {
            requests: default_requests_metric(),
            request_duration_bucket: default_duration_bucket_metric(),
            cpu_usage: default_cpu_metric(),
            memory_usage: default_memory_metric(),
            resource_requests: default_requests_resource_metric(),
            hpa_current_replicas: default_hpa_metric(),
            redis_prefix: default_redis_prefix(),
        }
    }
}

/// Prometheus label names.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LabelNames {
    /// Label holding the Kubernetes namespace.
    #[serde(default = "default_namespace_label")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub namespace: String,
    /// Label whose value is the service name on the request metrics (a ServiceMonitor sets
    /// `job` to the Service's name).
    #[serde(default = "default_service_label")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub service: String,
    /// Label holding the HTTP status code on the request counter.
    #[serde(default = "default_status_label")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub status: String,
    /// Label holding the container name on the cAdvisor and kube-state-metrics series.
    #[serde(default = "default_container_label")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub container: String,
}

fn default_namespace_label() -> String {
    "namespace".into()
}
fn default_service_label() -> String {
    "job".into()
}
fn default_status_label() -> String {
    "status".into()
}
fn default_container_label() -> String {
    "container".into()
}

impl Default for LabelNames {
    fn default() -> Self {
        LabelNames {
            namespace: default_namespace_label(),
            service: default_service_label(),
            status: default_status_label(),
            container: default_container_label(),
        }
    }
}
