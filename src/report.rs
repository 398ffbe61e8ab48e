//! The capacity report of `tacosgen plan --output json`: the plan's numbers, without the
//! rendering details (images, probes, env) the templates also get.

use serde::Serialize;

use crate::capacity::{Cost, Nodes, PoolCapacity, RedisCapacity, ServiceResources, Totals};
use crate::checks::{AlertThresholds, PhaseReport};
use crate::plan::{Finding, Plan};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report<'a> {
    pub environment: &'a str,
    pub source: &'a str,
    pub target_rps: f64,
    pub latency_p99_ms: f64,
    pub availability_percent: f64,
    pub headroom_percent: f64,
    /// Entry RPS the maximum replica counts carry.
    pub capacity_rps: f64,
    pub error_budget_minutes_per_month: f64,
    pub services: Vec<ServiceReport<'a>>,
    pub redis: Option<&'a RedisCapacity>,
    pub totals: &'a Totals,
    pub node_pools: &'a [PoolCapacity],
    pub nodes: Option<&'a Nodes>,
    pub cost: Option<&'a Cost>,
    pub alerts: &'a AlertThresholds,
    pub load_test: &'a [PhaseReport],
    pub basis: &'a [String],
    pub findings: &'a [Finding],
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceReport<'a> {
    pub name: &'a str,
    pub rps: f64,
    pub per_pod_rps: f64,
    pub pods_needed: u64,
    pub pods_with_headroom: u64,
    pub min_replicas: u64,
    pub max_replicas: u64,
    pub min_pinned: bool,
    pub max_pinned: bool,
    pub max_capacity_rps: f64,
    pub min_available: Option<u64>,
    pub max_unavailable: Option<u64>,
    #[serde(flatten)]
    pub resources: &'a ServiceResources,
    pub basis: &'a [String],
}

impl<'a> Report<'a> {
    pub fn new(plan: &'a Plan) -> Report<'a> {
        let c = &plan.capacity;
        Report {
            environment: &plan.environment,
            source: &plan.source,
            target_rps: plan.target_rps,
            latency_p99_ms: plan.latency_p99_ms,
            availability_percent: plan.availability_percent,
            headroom_percent: plan.headroom_percent,
            capacity_rps: c.capacity_rps,
            error_budget_minutes_per_month: c.error_budget_minutes_per_month,
            services: plan
                .services
                .iter()
                .map(|s| ServiceReport {
                    name: &s.name,
                    rps: s.rps,
                    per_pod_rps: s.per_pod_rps,
                    pods_needed: s.pods_needed,
                    pods_with_headroom: s.pods_with_headroom,
                    min_replicas: s.min_replicas,
                    max_replicas: s.max_replicas,
                    min_pinned: s.min_pinned,
                    max_pinned: s.max_pinned,
                    max_capacity_rps: s.max_capacity_rps,
                    min_available: s.min_available,
                    max_unavailable: s.max_unavailable,
                    resources: &s.capacity,
                    basis: &s.basis,
                })
                .collect(),
            redis: c.redis.as_ref(),
            totals: &c.totals,
            node_pools: &c.node_pools,
            nodes: c.nodes.as_ref(),
            cost: c.cost.as_ref(),
            alerts: &c.alerts,
            load_test: &c.load_test,
            basis: &c.basis,
            findings: &plan.findings,
        }
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}
