//! Synthetic environment specs of any size for benchmarks and tests: `spec(n)` describes `n`
//! services with the variety of a real system (a traffic tree under one gateway, weighted
//! splits, several node pools, Redis pools, HTTP clients, circuit breakers, rate limits,
//! environment variables), so every template and check does real work per service.

/// Services per tier of the traffic tree: the gateway feeds 8 services, each of those 8 more.
pub const FAN_OUT: usize = 8;
/// Services per node pool.
const SERVICES_PER_POOL: usize = 100;

/// The name of service `i`.
pub fn service_name(i: usize) -> String {
    if i == 0 {
        "gateway".into()
    } else {
        format!("svc-{i:04}")
    }
}

/// A complete, valid spec (no `extends`) for environment `synth` with `n` ≥ 1 services.
pub fn spec(n: usize) -> String {
    assert!(n >= 1, "a spec needs at least one service");
    let pools = n.div_ceil(SERVICES_PER_POOL);
    let mut s = String::with_capacity(600 * n + 4000);
    s.push_str(&format!(
        "# Synthetic spec: {n} services (benches/common/synth.rs).
environment: synth
namespace: synth
labels: {{team: platform}}

slo:
  targetRps: {rps}
  latencyP99Ms: 100
  availabilityPercent: 99.9

capacity:
  headroomPercent: 50

serviceDefaults:
  port: 8000
  probes:
    readiness: {{path: /readyz, initialDelaySeconds: 5, periodSeconds: 3, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 2}}
    liveness: {{path: /healthz, initialDelaySeconds: 30, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3}}
  resources:
    requests: {{cpu: 250m, memory: 256Mi}}
    limits: {{cpu: 1000m, memory: 512Mi}}
  placement:
    antiAffinity: {{mode: preferred, weight: 100, topologyKey: kubernetes.io/hostname}}

services:
",
        rps = 300 * n,
    ));
    for i in 0..n {
        s.push_str(&service(i, pools));
    }
    s.push_str(
        "
redis:
  image: redis:7.4.1
  replicas: 3
  maxmemory: 2gb
  maxclients: 60000
  passwordSecret: {name: redis-auth, key: password}
  dataDisposable: true
  resources:
    requests: {cpu: 500m, memory: 3Gi}
    limits: {cpu: 2000m, memory: 4Gi}

instanceTypes:
  m5.2xlarge: {vcpu: 8, memoryGiB: 32, hourlyUsd: 0.384}
  c5.4xlarge: {vcpu: 16, memoryGiB: 32, hourlyUsd: 0.68}

nodePools:
",
    );
    for p in 0..pools {
        let (types, capacity) = if p % 2 == 0 {
            ("[m5.2xlarge]", "[on-demand]")
        } else {
            ("[c5.4xlarge, m5.2xlarge]", "[spot, on-demand]")
        };
        s.push_str(&format!(
            "  pool-{p}:
    instanceTypes: {types}
    capacityTypes: {capacity}
    limits: {{cpu: \"4000\", memory: 16000Gi}}
    nodeClass:
      role: KarpenterNodeRole-synth
      amiAlias: al2023@v20251117
      subnetTags: {{karpenter.sh/discovery: synth}}
      securityGroupTags: {{karpenter.sh/discovery: synth-{p}}}
"
        ));
    }
    s.push_str(
        "
alerts:
  rpsWarningMargin: 7%
  rpsCriticalMargin: 3%

loadTest:
  phases:
    - {name: warm-up, duration: 1m, rate: \"10%\"}
    - {name: peak, duration: 5m, rate: \"100%\", ramp: true}
",
    );
    s
}

fn service(i: usize, pools: usize) -> String {
    let name = service_name(i);
    let mut s = format!(
        "  {name}:\n    image: registry.example.com/synth/{name}:1.{}.{}\n",
        i % 17,
        i % 5
    );
    if i == 0 {
        s.push_str(
            "    perPodRps: 2000
    resources:
      requests: {cpu: 1000m, memory: 512Mi}
      limits: {cpu: 2000m, memory: 1Gi}
    expose: {type: NodePort, port: 80}
    httpClient: {maxIdleConns: 200, maxIdleConnsPerHost: 50, timeout: 5s}
",
        );
    } else {
        let parent = service_name((i - 1) / FAN_OUT);
        s.push_str(&format!(
            "    perPodRps: {}\n    traffic: {{from: {parent}, weight: {}}}\n",
            [250, 400, 500, 800][i % 4],
            1 + i % 3
        ));
    }
    s.push_str(&format!(
        "    placement: {{nodePool: pool-{}}}\n",
        (i / SERVICES_PER_POOL) % pools
    ));
    if i.is_multiple_of(3) {
        s.push_str("    redisPool: {size: 4, timeout: 2s}\n");
    }
    if i % 4 == 1 {
        s.push_str("    circuitBreaker: {threshold: 5, timeout: 10s}\n");
    }
    if i % 5 == 2 {
        s.push_str("    resources:\n      requests: {cpu: 500m, memory: 512Mi}\n      limits: {cpu: 1500m, memory: 768Mi}\n");
    }
    if i % 6 == 3 {
        s.push_str(&format!(
            "    env: {{LOG_LEVEL: info, FEATURE_FLAGS: \"search,cart-v{}\"}}\n",
            i % 3
        ));
    }
    s
}
