//! Monitoring and load tests: the PrometheusRule against its CRD schema and the real
//! `promtool`, the k6 script through Node's parser, the dashboard's queries, and the numbers
//! against the plan and the SLO.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use tacosgen::observe::{AlertRule, metric_names};
use tacosgen::plan::Plan;
use tacosgen::spec::Spec;

const ENVS: [&str; 3] = ["prod", "staging", "dev"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shared() -> PathBuf {
    let beside = repo().join("../shared");
    if beside.join("data").is_dir() {
        beside
    } else {
        PathBuf::from("/work/shared")
    }
}

/// The spec, its plan and its rendered files (path → content), through the library.
struct Built {
    spec: Spec,
    plan: std::sync::Arc<Plan>,
    files: Vec<(String, String)>,
}

fn build_at(root: &Path, spec_path: &Path) -> Built {
    let mut sources = Default::default();
    let loaded = tacosgen::load::load(spec_path, root, &mut sources).expect("spec loads");
    let spec = tacosgen::validate::validate(&loaded).expect("spec is valid");
    let mut compiler = tacosgen::Compiler::new(root.to_path_buf(), None);
    let compiled = match compiler.compile(spec_path) {
        Ok(c) => c,
        Err(e) => panic!("{} does not compile: {e:?}", spec_path.display()),
    };
    Built {
        spec,
        plan: compiled.planned.plan,
        files: compiled
            .files
            .into_iter()
            .map(|f| (f.path, f.content))
            .collect(),
    }
}

fn build(env: &str) -> Built {
    build_at(&repo(), &repo().join(format!("environments/{env}.yaml")))
}

impl Built {
    fn file(&self, path: &str) -> &str {
        self.files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, c)| c.as_str())
            .unwrap_or_else(|| panic!("{path} was not generated"))
    }

    /// The single YAML document of a generated file.
    fn yaml(&self, path: &str) -> Value {
        let docs = tacosgen::verify::split_documents(self.file(path));
        assert_eq!(docs.len(), 1, "{path} holds one object");
        serde_saphyr::from_str(docs[0].1).expect("generated YAML parses")
    }

    fn rules(&self) -> Vec<&AlertRule> {
        self.plan
            .monitoring
            .groups
            .iter()
            .flat_map(|g| g.rules.iter())
            .collect()
    }

    fn dashboard(&self) -> Value {
        let cm = self.yaml("monitoring/dashboard.yaml");
        let text = cm["data"]
            .as_object()
            .and_then(|d| d.values().next())
            .and_then(Value::as_str)
            .expect("dashboard ConfigMap has one data entry");
        serde_json::from_str(text).expect("dashboard JSON parses")
    }
}

/// The CRD's openAPIV3Schema with `additionalProperties: false` wherever it lists
/// `properties` without saying what else is allowed, so unknown fields fail as the API
/// server's pruning would silently drop them.
fn strict_crd_schema(file: &str) -> Value {
    fn close(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                    map.insert("additionalProperties".into(), Value::Bool(false));
                }
                map.values_mut().for_each(close);
            }
            Value::Array(items) => items.iter_mut().for_each(close),
            _ => {}
        }
    }
    let text = std::fs::read_to_string(shared().join("data").join(file)).expect("CRD file");
    let crd: Value = serde_saphyr::from_str(&text).expect("CRD parses");
    let mut schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone();
    close(&mut schema);
    schema
}

#[test]
fn prometheusrule_matches_its_crd_schema_and_unknown_fields_fail() {
    let schema =
        strict_crd_schema("prometheus-operator-v0.93.0-monitoring.coreos.com_prometheusrules.yaml");
    let validator = jsonschema::validator_for(&schema).expect("CRD schema compiles");
    for env in ENVS {
        let rule = build(env).yaml("monitoring/prometheusrule.yaml");
        let errors: Vec<String> = validator
            .iter_errors(&rule)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{env}: {errors:#?}");
        let mut typo = rule.clone();
        typo["spec"]["groups"][0]["rules"][0]["fro"] = json!("5m");
        assert!(
            !validator.is_valid(&typo),
            "the strict schema rejects `fro`"
        );
    }
}

/// The rule groups as promtool reads them (the PrometheusRule's `spec`).
fn write_rule_file(dir: &Path, built: &Built) -> PathBuf {
    let rule = built.yaml("monitoring/prometheusrule.yaml");
    let path = dir.join("rules.yaml");
    std::fs::write(&path, serde_json::to_string_pretty(&rule["spec"]).unwrap()).unwrap();
    path
}

#[test]
fn promtool_checks_the_rules() {
    for env in ENVS {
        let built = build(env);
        let dir = tempfile::tempdir().unwrap();
        let rules = write_rule_file(dir.path(), &built);
        promtool(env, "check", &rules);
    }
}

/// Runs `promtool <command> rules <file>` and fails the test with its output unless it passes.
fn promtool(env: &str, command: &str, file: &Path) {
    let out = common::tools::command("promtool")
        .args([command, "rules"])
        .arg(file)
        .output()
        .unwrap();
    common::tools::assert_success(&out, &format!("{env}: promtool {command} rules"));
}

/// Input series (promtool notation) that put one alert's expression above or below its
/// threshold, and the labels the alert then carries besides the rule's own. These are the
/// series the default exporters publish (Micrometer, cAdvisor, kube-state-metrics,
/// redis_exporter); only the thresholds come from the plan.
fn series_for(rule: &AlertRule, ns: &str, entry: &str, fire: bool) -> (Vec<Value>, Value) {
    let t = rule.threshold;
    // Counters: `0+<per minute>x60` increases at `per second` with the 1m test interval.
    let counter = |series: String, per_second: f64| json!({"series": series, "values": format!("0+{}x60", per_second * 60.0)});
    let gauge =
        |series: String, value: f64| json!({"series": series, "values": format!("{value}x60")});
    let app = |extra: &str| {
        format!("http_server_requests_seconds_count{{namespace=\"{ns}\", job=\"{entry}\"{extra}}}")
    };
    let redis = |name: &str| {
        format!(
            "redis_{name}{{namespace=\"{ns}\", job=\"redis-exporter\", instance=\"redis-master-0\"}}"
        )
    };
    let redis_labels = json!({"job": "redis-exporter", "instance": "redis-master-0"});
    let svc = rule.labels.get("service").cloned().unwrap_or_default();
    let none = json!({});
    match rule.alert.as_str() {
        "HighRequestRate" | "CriticalRequestRate" => (
            vec![counter(
                app(", status=\"200\""),
                if fire { t * 1.05 } else { t * 0.95 },
            )],
            none,
        ),
        "RequestMetricsAbsent" => (
            if fire {
                vec![]
            } else {
                vec![counter(app(", status=\"200\""), 10.0)]
            },
            none,
        ),
        "LatencyP99AboveSlo" => {
            // Cumulative buckets per second: above, 10 % of requests are slower than the
            // threshold; below, all are faster than half of it.
            let shares: [(String, f64, f64); 4] = [
                (format!("{}", t / 2.0), 50.0, 100.0),
                (format!("{t}"), 90.0, 100.0),
                (format!("{}", t * 2.0), 100.0, 100.0),
                ("+Inf".into(), 100.0, 100.0),
            ];
            let series = shares
                .iter()
                .map(|(le, above, below)| {
                    counter(
                        format!(
                            "http_server_requests_seconds_bucket{{namespace=\"{ns}\", job=\"{entry}\", le=\"{le}\"}}"
                        ),
                        if fire { *above } else { *below },
                    )
                })
                .collect();
            (series, none)
        }
        "HighErrorRate" => {
            let ratio = if fire { t * 2.0 } else { t / 2.0 };
            (
                vec![
                    counter(app(", status=\"500\""), 1000.0 * ratio),
                    counter(app(", status=\"200\""), 1000.0 * (1.0 - ratio)),
                ],
                none,
            )
        }
        "HighCpuUsage" => (
            vec![
                counter(
                    format!(
                        "container_cpu_usage_seconds_total{{namespace=\"{ns}\", container=\"{svc}\", pod=\"{svc}-0\"}}"
                    ),
                    if fire { t * 1.1 } else { t * 0.9 },
                ),
                gauge(
                    format!(
                        "kube_pod_container_resource_requests{{namespace=\"{ns}\", container=\"{svc}\", pod=\"{svc}-0\", resource=\"cpu\", unit=\"core\"}}"
                    ),
                    1.0,
                ),
            ],
            none,
        ),
        "HpaAtMaxReplicas" => (
            vec![gauge(
                format!(
                    "kube_horizontalpodautoscaler_status_current_replicas{{namespace=\"{ns}\", horizontalpodautoscaler=\"{svc}\"}}"
                ),
                if fire { t } else { t - 1.0 },
            )],
            none,
        ),
        "RedisDown" => (
            vec![gauge(redis("up"), if fire { 0.0 } else { 1.0 })],
            redis_labels,
        ),
        "RedisReplicaLinkDown" => (
            vec![gauge(redis("master_link_up"), if fire { 0.0 } else { 1.0 })],
            redis_labels,
        ),
        "RedisReplicasMissing" => (
            vec![gauge(
                redis("connected_slaves"),
                if fire { t - 1.0 } else { t },
            )],
            none,
        ),
        "RedisMemoryNearMax" => (
            vec![gauge(
                redis("memory_used_bytes"),
                (if fire { t * 1.05 } else { t * 0.95 }).round(),
            )],
            redis_labels,
        ),
        "RedisEvictionsHigh" => (
            vec![counter(
                redis("evicted_keys_total"),
                if fire { t * 2.0 } else { t / 2.0 },
            )],
            none,
        ),
        "RedisHitRateLow" => {
            let hit = if fire { t / 2.0 } else { (1.0 + t) / 2.0 };
            (
                vec![
                    counter(redis("keyspace_hits_total"), 1000.0 * hit),
                    counter(redis("keyspace_misses_total"), 1000.0 * (1.0 - hit)),
                ],
                none,
            )
        }
        other => panic!("alert {other} has no unit test: add its series here"),
    }
}

/// A `for` duration in minutes (the rules use whole minutes).
fn minutes(d: &str) -> u64 {
    d.strip_suffix('m')
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("`for: {d}` is not whole minutes"))
}

#[test]
fn promtool_unit_tests_fire_above_and_stay_silent_below_each_threshold() {
    for env in ENVS {
        let built = build(env);
        let dir = tempfile::tempdir().unwrap();
        write_rule_file(dir.path(), &built);
        let ns = &built.plan.namespace;
        let entry = &built.plan.monitoring.entry_points[0];
        let mut tests = Vec::new();
        for rule in built.rules() {
            for fire in [true, false] {
                let (series, extra) = series_for(rule, ns, entry, fire);
                let mut labels = json!(rule.labels);
                for (k, v) in extra.as_object().unwrap() {
                    labels[k] = v.clone();
                }
                let expected = if fire {
                    json!([{
                        "exp_labels": labels,
                        "exp_annotations": {
                            "summary": rule.summary,
                            "description": rule.description,
                            "runbook_url": rule.runbook_url,
                        }
                    }])
                } else {
                    json!([])
                };
                tests.push(json!({
                    "name": format!("{} {}", rule.alert, if fire { "fires" } else { "stays silent" }),
                    "interval": "1m",
                    "input_series": series,
                    "alert_rule_test": [{
                        "eval_time": format!("{}m", minutes(&rule.for_) + 10),
                        "alertname": rule.alert,
                        "exp_alerts": expected,
                    }]
                }));
            }
        }
        let file = dir.path().join("tests.yaml");
        let unit =
            json!({"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests});
        std::fs::write(&file, serde_json::to_string_pretty(&unit).unwrap()).unwrap();
        promtool(env, "test", &file);
        // Every alert was exercised both ways.
        assert_eq!(tests.len(), 2 * built.rules().len());
    }
}

#[test]
fn k6_script_parses_as_an_es_module() {
    for env in ENVS {
        let built = build(env);
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("k6.mjs");
        std::fs::write(&script, built.file("loadtest/k6.js")).unwrap();
        let out = Command::new("node")
            .arg("--check")
            .arg(&script)
            .output()
            .expect("node runs");
        assert!(
            out.status.success(),
            "{env}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The script's `options` object, evaluated by Node (k6's own modules are not needed for it).
fn k6_options(script: &str) -> Value {
    let start = script
        .find("export const options = ")
        .expect("options exported")
        + "export const options = ".len();
    let end = start + script[start..].find("\n};\n").expect("options end") + 2;
    let out = Command::new("node")
        .arg("-e")
        .arg(format!(
            "process.stdout.write(JSON.stringify({}))",
            &script[start..end]
        ))
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Scenario rates and VU bounds of the script equal the planner's and follow from the spec:
/// each phase's rate (or `vus` / P99 by Little's law), preAllocatedVUs = ceil(rate × P99),
/// maxVUs = ceil(that × maxVusFactor), start times chaining the durations.
fn assert_scenarios_follow_the_spec(built: &Built) {
    let options = k6_options(built.file("loadtest/k6.js"));
    let spec = &built.spec;
    let p99 = spec.slo.latency_p99_ms / 1000.0;
    let mut start = 0;
    let mut previous = 0.0;
    assert_eq!(
        built.plan.load_test.scenarios.len(),
        spec.load_test.phases.len()
    );
    for (phase, planned) in spec
        .load_test
        .phases
        .iter()
        .zip(&built.plan.load_test.scenarios)
    {
        let s = &options["scenarios"][&phase.name];
        let rate = match &phase.rate {
            Some(r) => r.resolve(spec.slo.target_rps),
            None => f64::from(phase.vus.unwrap()) / p99,
        }
        .round();
        let peak: f64 = if phase.ramp { rate.max(previous) } else { rate };
        let pre = (peak * p99 - 1e-9).ceil();
        let max = (pre * spec.load_test.max_vus_factor - 1e-9).ceil();
        if phase.ramp {
            assert_eq!(s["executor"], "ramping-arrival-rate");
            assert_eq!(s["startRate"].as_f64(), Some(previous));
            assert_eq!(s["stages"][0]["target"].as_f64(), Some(rate));
        } else {
            assert_eq!(s["executor"], "constant-arrival-rate");
            assert_eq!(s["rate"].as_f64(), Some(rate), "{}", phase.name);
        }
        assert_eq!(s["preAllocatedVUs"].as_f64(), Some(pre), "{}", phase.name);
        assert_eq!(s["maxVUs"].as_f64(), Some(max), "{}", phase.name);
        assert_eq!(s["startTime"], format!("{start}s"));
        assert_eq!(planned.rate as f64, rate);
        assert_eq!(planned.pre_allocated_vus as f64, pre);
        assert_eq!(planned.max_vus as f64, max);
        start += phase.duration.seconds;
        previous = rate;
    }
    let t = &options["thresholds"];
    assert_eq!(
        t["http_req_duration"],
        json!([format!("p(99)<{}", spec.slo.latency_p99_ms)])
    );
    assert_eq!(
        t["http_req_failed"],
        json!([format!("rate<{}", spec.alerts.error_rate_percent / 100.0)])
    );
    assert_eq!(t["dropped_iterations"], json!(["count<1"]));
}

#[test]
fn k6_scenarios_equal_the_planned_rates_and_vu_bounds() {
    for env in ENVS {
        assert_scenarios_follow_the_spec(&build(env));
    }
}

#[test]
fn prod_reproduces_the_guides_thresholds_and_phases() {
    let built = build("prod");
    let threshold = |name: &str| {
        built
            .rules()
            .into_iter()
            .find(|r| r.alert == name)
            .unwrap()
            .threshold
    };
    assert_eq!(threshold("HighRequestRate"), 28000.0);
    assert_eq!(threshold("CriticalRequestRate"), 29000.0);
    let options = k6_options(built.file("loadtest/k6.js"));
    let rate = |name: &str| {
        let s = &options["scenarios"][name];
        s["rate"]
            .as_f64()
            .or_else(|| s["stages"][0]["target"].as_f64())
            .unwrap()
    };
    assert_eq!(
        ["warm-up", "ramp-up", "peak", "stress"].map(rate),
        [1000.0, 10000.0, 30000.0, 40000.0]
    );
    let rule = built.file("monitoring/prometheusrule.yaml");
    assert!(rule.contains("> 28000\n") && rule.contains("> 29000\n"));
}

#[test]
fn dashboard_queries_name_metrics_the_alerts_use_or_the_spec_declares() {
    for env in ENVS {
        let built = build(env);
        let dashboard = built.dashboard();
        let m = &built.spec.monitoring.metrics;
        let mut known: BTreeSet<String> = built
            .rules()
            .iter()
            .flat_map(|r| metric_names(&r.expr))
            .collect();
        known.extend(
            [
                &m.requests,
                &m.request_duration_bucket,
                &m.cpu_usage,
                &m.memory_usage,
                &m.resource_requests,
                &m.hpa_current_replicas,
            ]
            .map(String::clone),
        );
        let exprs = dashboard_exprs(&dashboard);
        assert!(exprs.len() >= 7, "{env}: panels for the guide's metrics");
        for expr in exprs {
            let names = metric_names(&expr);
            assert!(!names.is_empty(), "{env}: query names no metric: {expr}");
            for name in names {
                let redis = name.starts_with(&format!("{}_", m.redis_prefix));
                assert!(
                    known.contains(&name) || redis,
                    "{env}: dashboard metric {name} is neither alerted on nor declared"
                );
            }
        }
        let titles: Vec<&str> = dashboard["panels"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["title"].as_str())
            .collect();
        for s in &built.plan.services {
            let title = format!(
                "{} pods (min {}, max {})",
                s.name, s.min_replicas, s.max_replicas
            );
            assert!(titles.contains(&title.as_str()), "{env}: {title}");
        }
    }
}

#[test]
fn changing_the_slo_moves_thresholds_scenario_rates_and_vu_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let envs = repo().join("environments");
    std::fs::copy(envs.join("base.yaml"), dir.path().join("base.yaml")).unwrap();
    let prod = std::fs::read_to_string(envs.join("prod.yaml")).unwrap();
    let changed = prod.replace(
        "slo:\n  targetRps: 30000\n",
        "slo:\n  targetRps: 45000\n  latencyP99Ms: 200\n",
    );
    assert_ne!(
        changed, prod,
        "prod.yaml states its SLO as the test expects"
    );
    let spec_path = dir.path().join("prod.yaml");
    std::fs::write(&spec_path, changed).unwrap();
    let before = build("prod");
    let after = build_at(dir.path(), &spec_path);

    let threshold = |b: &Built, name: &str| {
        b.rules()
            .into_iter()
            .find(|r| r.alert == name)
            .unwrap()
            .threshold
    };
    // Margins 2,000 / 1,000 from the spec, now below 45,000; P99 at 200 ms.
    assert_eq!(threshold(&after, "HighRequestRate"), 43000.0);
    assert_eq!(threshold(&after, "CriticalRequestRate"), 44000.0);
    assert_eq!(threshold(&after, "LatencyP99AboveSlo"), 0.2);
    assert_ne!(
        threshold(&before, "HighRequestRate"),
        threshold(&after, "HighRequestRate")
    );
    let rule = after.file("monitoring/prometheusrule.yaml");
    assert!(rule.contains("> 43000\n") && rule.contains("> 0.2\n"));

    assert_scenarios_follow_the_spec(&after);
    let peak = |b: &Built| {
        let s = b
            .plan
            .load_test
            .scenarios
            .iter()
            .find(|s| s.name == "peak")
            .unwrap()
            .clone();
        (s.rate, s.pre_allocated_vus, s.max_vus)
    };
    // 45,000 RPS × 0.2 s = 9,000 VUs (3,000 before).
    assert_eq!(peak(&after), (45000, 9000, 18000));
    assert_ne!(peak(&before), peak(&after));
    let warm = &after.plan.load_test.scenarios[0];
    assert_eq!(warm.rate, 500, "100 VUs / 0.2 s");
}

#[test]
fn a_critical_margin_not_below_the_warning_margin_is_flagged_and_denied_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let envs = repo().join("environments");
    std::fs::copy(envs.join("base.yaml"), dir.path().join("base.yaml")).unwrap();
    let prod = std::fs::read_to_string(envs.join("prod.yaml")).unwrap();
    let swapped = prod.replace("rpsCriticalMargin: 1000", "rpsCriticalMargin: 3000");
    assert_ne!(swapped, prod);
    std::fs::write(dir.path().join("prod.yaml"), swapped).unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tacosgen"))
            .current_dir(dir.path())
            .args(["build", "prod.yaml", "--out"])
            .arg(dir.path().join("out"))
            .args(extra)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    // The planner's TG010: the warning threshold (28,000) is above the critical one (27,000).
    let out = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("[TG010]"), "{stderr}");
    assert!(
        stderr.contains("warning threshold 28,000 is not below the critical threshold 27,000"),
        "{stderr}"
    );
    let out = run(&["--deny-warnings"]);
    assert_eq!(out.status.code(), Some(1));
}

/// Every `expr` of a dashboard's panels.
fn dashboard_exprs(dashboard: &Value) -> Vec<String> {
    dashboard["panels"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter_map(|t| t["expr"].as_str().map(String::from))
        .collect()
}
