//! The plan as the templates read it: minijinja objects that read the plan's own fields when
//! a template asks for one, instead of a copy of the whole plan in minijinja values.
//!
//! Why: the copy was made before any template could start and freed after the last one.
//! At 1,000 services it took ~5 ms (on two cores) to build and ~2.4 ms to free, while a
//! template reads a few fields of each struct once or twice (BENCHMARKS.md, step 50). An
//! object here is a pointer into the plan and a reference; scalars and strings are made when read (strings up to 22 bytes
//! without allocating), nested structs and lists become objects of their own.
//!
//! What a template sees is exactly the plan's serialization (`#[derive(Serialize)]`): the
//! same keys in the same order and the same values; a test compares the two for every
//! field. Types read a few times per template are converted when read, through serde (see
//! [`eager!`]); those read inside per-service or per-rule loops are objects.
//!
//! Soundness: an object points into a plan that an `Arc` owns and that no one changes while
//! it is shared; the object holds a reference to that `Arc` (through its job's [`Keep`]), so
//! the plan outlives every object, on whichever thread a template runs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use minijinja::Value;
use minijinja::value::{Enumerator, Object, ObjectRepr};

use crate::capacity::{Capacity, ServiceResources};
use crate::observe::{
    AlertRule, Dashboard, Emergency, LoadTestPlan, MonitoringPlan, RuleGroup, RunbookSection,
};
use crate::plan::{Callee, EnvVar, Finding, NodePoolPlan, Plan, ProbePlan, RedisPlan, ServicePlan};
use crate::spec;
use crate::units::{Cpu, Memory};

/// The plan as one render job's templates see it. Each job gets its own [`Keep`]: the
/// objects of a job then count references on that job's thread only (a counter shared by
/// both cores moves between them at every object made or dropped).
pub(crate) fn root(plan: &Arc<Plan>) -> Value {
    let keep = Keep {
        _plan: Arc::new(Arc::clone(plan)),
    };
    // SAFETY: `keep` holds this very plan.
    unsafe { (**plan).to_value(&keep) }
}

/// Keeps the plan alive for the objects of one render job.
#[derive(Clone)]
pub(crate) struct Keep {
    #[expect(
        clippy::redundant_allocation,
        reason = "a counter of the job's own: the plan's is shared by every job"
    )]
    _plan: Arc<Arc<Plan>>,
}

/// How a field of the plan becomes a template value.
trait ToValue {
    /// # Safety
    /// `self` is part of the plan `keep` holds: the value may point to it.
    unsafe fn to_value(&self, keep: &Keep) -> Value;
}

/// A struct the templates read field by field (see [`fields!`]).
trait Fields: Sync + 'static {
    /// Its keys as serde names them, in declaration order.
    const KEYS: &'static [&'static str];
    /// # Safety
    /// As [`ToValue::to_value`]: `self` is part of the plan `keep` holds.
    unsafe fn field(&self, key: &str, keep: &Keep) -> Option<Value>;
}

/// Something inside the plan `keep` holds.
pub(crate) struct At<T: ?Sized + 'static> {
    keep: Keep,
    at: *const T,
}

// SAFETY: `at` points into the plan `keep` keeps alive, which is not changed while it is
// shared (module notes); a shared reference to it may be used on any thread when `T: Sync`.
unsafe impl<T: ?Sized + Sync> Send for At<T> {}
unsafe impl<T: ?Sized + Sync> Sync for At<T> {}

impl<T: ?Sized> At<T> {
    /// # Safety
    /// `at` is part of the plan `keep` holds.
    unsafe fn new(keep: &Keep, at: &T) -> Self {
        At {
            keep: keep.clone(),
            at,
        }
    }

    fn get(&self) -> &T {
        // SAFETY: see `Send` above: the pointee lives as long as `self.keep`, unchanged.
        unsafe { &*self.at }
    }
}

impl<T: ?Sized> fmt::Debug for At<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plan view of {}", std::any::type_name::<T>())
    }
}

impl<T: Fields> Object for At<T> {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        // SAFETY: what an `At` points to is part of its `keep`'s plan (`At::new`).
        unsafe { self.get().field(key, &self.keep) }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(T::KEYS)
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(T::KEYS.len())
    }
}

impl<T: ToValue + Sync + 'static> Object for At<[T]> {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let item = self.get().get(key.as_usize()?)?;
        // SAFETY: an item of a list of the plan is part of the plan.
        Some(unsafe { item.to_value(&self.keep) })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.get().len())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.get().len())
    }
}

/// A map of strings (labels), read in place by `yaml_entries` (see [`entries`]).
pub(crate) type StrMap = At<BTreeMap<String, String>>;

impl Object for StrMap {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        self.get().get(key).map(|v| Value::from(v.as_str()))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.get().keys().map(|k| Value::from(k.as_str())).collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.get().len())
    }
}

/// The entries of a map made by [`ToValue`] for a `BTreeMap<String, String>`, if `map` is one.
pub(crate) fn entries(map: &Value) -> Option<impl Iterator<Item = (&str, &str)>> {
    let map = map.downcast_object_ref::<StrMap>()?;
    Some(map.get().iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

impl ToValue for BTreeMap<String, String> {
    unsafe fn to_value(&self, keep: &Keep) -> Value {
        // SAFETY: the caller's contract.
        Value::from_object(unsafe { At::new(keep, self) })
    }
}

impl<T: ToValue + Sync + 'static> ToValue for Vec<T> {
    unsafe fn to_value(&self, keep: &Keep) -> Value {
        // SAFETY: the caller's contract.
        Value::from_object(unsafe { At::<[T]>::new(keep, self.as_slice()) })
    }
}

impl<T: ToValue> ToValue for Option<T> {
    unsafe fn to_value(&self, keep: &Keep) -> Value {
        match self {
            // SAFETY: the caller's contract.
            Some(v) => unsafe { v.to_value(keep) },
            None => Value::from(()),
        }
    }
}

impl ToValue for String {
    unsafe fn to_value(&self, _: &Keep) -> Value {
        Value::from(self.as_str())
    }
}

/// Scalars: what serde gives them (`u16`/`u32`/`u64` unsigned integers, `f64` floats).
macro_rules! scalars {
    ($($ty:ty),*) => {$(
        impl ToValue for $ty {
            unsafe fn to_value(&self, _: &Keep) -> Value {
                Value::from(*self)
            }
        }
    )*};
}

scalars!(bool, u16, u32, u64, f64);

/// Types converted through serde when read: enums, small leaves, and parts a template reads
/// once (the capacity report's tables, the load test, node pools, findings).
macro_rules! eager {
    ($($ty:ty),*) => {$(
        impl ToValue for $ty {
            unsafe fn to_value(&self, _: &Keep) -> Value {
                Value::from(minijinja::value::Serde(self))
            }
        }
    )*};
}

eager!(
    Cpu,
    Memory,
    BTreeSet<String>,
    spec::ServiceType,
    spec::SessionAffinity,
    spec::AntiAffinityMode,
    spec::Persistence,
    spec::SecretRef,
    Capacity,
    LoadTestPlan,
    NodePoolPlan,
    Finding
);

/// Structs read as objects: each key (as serde names it, in declaration order) with the
/// field that holds it. The test below keeps the lists equal to the serialization.
macro_rules! fields {
    ($($ty:ty { $($key:literal => $field:ident),* $(,)? })*) => {$(
        impl Fields for $ty {
            const KEYS: &'static [&'static str] = &[$($key),*];
            unsafe fn field(&self, key: &str, keep: &Keep) -> Option<Value> {
                // SAFETY: a field of a part of the plan is part of the plan.
                Some(unsafe {
                    match key {
                        $($key => self.$field.to_value(keep),)*
                        _ => return None,
                    }
                })
            }
        }

        impl ToValue for $ty {
            unsafe fn to_value(&self, keep: &Keep) -> Value {
                // SAFETY: the caller's contract.
                Value::from_object(unsafe { At::new(keep, self) })
            }
        }
    )*};
}

fields! {
    Plan {
        "environment" => environment,
        "namespace" => namespace,
        "source" => source,
        "header" => header,
        "labels" => labels,
        "targetRps" => target_rps,
        "latencyP99Ms" => latency_p99_ms,
        "availabilityPercent" => availability_percent,
        "headroomPercent" => headroom_percent,
        "services" => services,
        "redis" => redis,
        "nodePools" => node_pools,
        "capacity" => capacity,
        "monitoring" => monitoring,
        "loadTest" => load_test,
        "findings" => findings,
    }
    ServicePlan {
        "name" => name,
        "image" => image,
        "port" => port,
        "rps" => rps,
        "perPodRps" => per_pod_rps,
        "podsNeeded" => pods_needed,
        "podsWithHeadroom" => pods_with_headroom,
        "minReplicas" => min_replicas,
        "maxReplicas" => max_replicas,
        "minPinned" => min_pinned,
        "maxPinned" => max_pinned,
        "maxCapacityRps" => max_capacity_rps,
        "minAvailable" => min_available,
        "maxUnavailable" => max_unavailable,
        "scaling" => scaling,
        "resources" => resources,
        "readiness" => readiness,
        "liveness" => liveness,
        "expose" => expose,
        "placement" => placement,
        "trafficFrom" => traffic_from,
        "calls" => calls,
        "usesRedis" => uses_redis,
        "capacity" => capacity,
        "env" => env,
        "basis" => basis,
    }
    spec::Scaling {
        "targetCpuPercent" => target_cpu_percent,
        "scaleUpPods" => scale_up_pods,
        "scaleUpPercent" => scale_up_percent,
        "scaleUpPeriodSeconds" => scale_up_period_seconds,
        "scaleDownStabilizationSeconds" => scale_down_stabilization_seconds,
    }
    spec::Resources {
        "requests" => requests,
        "limits" => limits,
    }
    spec::CpuMemory {
        "cpu" => cpu,
        "memory" => memory,
    }
    ProbePlan {
        "path" => path,
        "port" => port,
        "initialDelaySeconds" => initial_delay_seconds,
        "periodSeconds" => period_seconds,
        "timeoutSeconds" => timeout_seconds,
        "successThreshold" => success_threshold,
        "failureThreshold" => failure_threshold,
    }
    spec::Expose {
        "type" => service_type,
        "port" => port,
        "sessionAffinity" => session_affinity,
        "sessionAffinityTimeoutSeconds" => session_affinity_timeout_seconds,
    }
    spec::Placement {
        "antiAffinity" => anti_affinity,
        "zoneSpread" => zone_spread,
        "nodePool" => node_pool,
    }
    spec::AntiAffinity {
        "mode" => mode,
        "weight" => weight,
        "topologyKey" => topology_key,
    }
    Callee {
        "name" => name,
        "port" => port,
    }
    EnvVar {
        "name" => name,
        "value" => value,
    }
    ServiceResources {
        "cpuRequestCoresAtMin" => cpu_request_cores_at_min,
        "cpuRequestCoresAtMax" => cpu_request_cores_at_max,
        "cpuLimitCoresAtMax" => cpu_limit_cores_at_max,
        "memoryRequestGiBAtMin" => memory_request_gib_at_min,
        "memoryRequestGiBAtMax" => memory_request_gib_at_max,
        "memoryLimitGiBAtMax" => memory_limit_gib_at_max,
    }
    RedisPlan {
        "image" => image,
        "replicas" => replicas,
        "port" => port,
        "maxmemory" => maxmemory,
        "maxmemoryBytes" => maxmemory_bytes,
        "maxmemoryPolicy" => maxmemory_policy,
        "maxclients" => maxclients,
        "persistence" => persistence,
        "passwordSecret" => password_secret,
        "disabledCommands" => disabled_commands,
        "resources" => resources,
        "masterHost" => master_host,
        "masterService" => master_service,
        "replicasHeadlessService" => replicas_headless_service,
        "replicasService" => replicas_service,
    }
    MonitoringPlan {
        "ruleName" => rule_name,
        "ruleLabels" => rule_labels,
        "groups" => groups,
        "runbookPath" => runbook_path,
        "metrics" => metrics,
        "entryPoints" => entry_points,
        "capacityRps" => capacity_rps,
        "emergency" => emergency,
        "sections" => sections,
        "maxCpuCores" => max_cpu_cores,
        "maxMemoryGib" => max_memory_gib,
        "dashboard" => dashboard,
    }
    RuleGroup {
        "name" => name,
        "rules" => rules,
    }
    AlertRule {
        "alert" => alert,
        "expr" => expr,
        "for" => for_,
        "threshold" => threshold,
        "labels" => labels,
        "summary" => summary,
        "description" => description,
        "runbookUrl" => runbook_url,
        "anchor" => anchor,
        "meaning" => meaning,
        "actions" => actions,
    }
    RunbookSection {
        "alert" => alert,
        "severity" => severity,
        "fires" => fires,
        "meaning" => meaning,
        "actions" => actions,
    }
    Emergency {
        "service" => service,
        "scaleTo" => scale_to,
        "minReplicas" => min_replicas,
        "maxReplicas" => max_replicas,
    }
    Dashboard {
        "name" => name,
        "labels" => labels,
        "fileName" => file_name,
        "json" => json,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use minijinja::value::ValueKind;

    use super::*;

    /// `view` reads as `whole` does: the same kinds, the same keys in the same order, the
    /// same items, and scalars of the same type and value (compared by their debug form, so
    /// an integer does not pass for a float).
    fn assert_same(view: &Value, whole: &Value, path: &str) {
        assert_eq!(view.kind(), whole.kind(), "{path}");
        assert_eq!(view.len(), whole.len(), "{path}: length");
        match whole.kind() {
            ValueKind::Map => {
                let keys: Vec<Value> = whole.try_iter().unwrap().collect();
                assert_eq!(view.try_iter().unwrap().collect::<Vec<_>>(), keys, "{path}");
                for key in keys {
                    let name = key.as_str().unwrap();
                    let at = format!("{path}.{name}");
                    let value = view.get_attr(name).unwrap();
                    assert_same(&value, &whole.get_attr(name).unwrap(), &at);
                    assert_same(&view.get_item(&key).unwrap(), &value, &at);
                }
                assert!(view.get_attr("noSuchField").unwrap().is_undefined());
            }
            ValueKind::Seq => {
                let items: Vec<Value> = whole.try_iter().unwrap().collect();
                for (i, (a, b)) in view.try_iter().unwrap().zip(&items).enumerate() {
                    assert_same(&a, b, &format!("{path}[{i}]"));
                }
                if !items.is_empty() {
                    let last = Value::from(-1);
                    let at = format!("{path}[-1]");
                    assert_same(&view.get_item(&last).unwrap(), &items[items.len() - 1], &at);
                }
            }
            _ => assert_eq!(format!("{view:?}"), format!("{whole:?}"), "{path}"),
        }
    }

    #[test]
    fn templates_see_the_plan_as_it_serializes() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir().unwrap();
        let synth = dir.path().join("synth.yaml");
        std::fs::write(&synth, crate::synth::spec(12)).unwrap();
        let specs = [
            (repo, repo.join("environments/prod.yaml")),
            (repo, repo.join("examples/small-api.yaml")),
            (repo, repo.join("examples/large-platform.yaml")),
            (dir.path(), synth),
        ];
        for (root_dir, spec) in specs {
            let mut compiler = crate::Compiler::new(root_dir.to_path_buf(), None);
            let plan = compiler.plan(&spec).unwrap().plan;
            let whole = Value::from(minijinja::value::Serde(&*plan));
            let view = root(&plan);
            assert_same(&view, &whole, &spec.display().to_string());
            // What `tojson` writes.
            assert_eq!(
                serde_json::to_string(&view).unwrap(),
                serde_json::to_string(&whole).unwrap()
            );
        }
    }
}
