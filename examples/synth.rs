//! Prints a synthetic spec of N services (default 100) for whole-process benchmarks:
//! `cargo run --release --example synth -- 1000 > environments/synth.yaml`;
//! with `--peer-json`, the same services as input for the peers in `benches/peers/`.

#[path = "../benches/common/synth.rs"]
mod synth;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let peer = args.iter().any(|a| a == "--peer-json");
    let count = args.iter().find(|a| *a != "--peer-json");
    let n = match count.map(|a| a.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => {
            eprintln!("usage: synth [SERVICES ≥ 1] [--peer-json]");
            std::process::exit(2);
        }
    };
    if peer {
        println!("{}", peer_json(n));
    } else {
        print!("{}", synth::spec(n));
    }
}

/// The services of `spec(n)` as the peers' input (`benches/peers/`): a JSON list with what
/// each peer template needs; replica counts are fixed, since the peers do not plan.
pub fn peer_json(n: usize) -> String {
    let services: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let (requests, limits) = if i % 5 == 2 {
                (("500m", "512Mi"), ("1500m", "768Mi"))
            } else {
                (("250m", "256Mi"), ("1000m", "512Mi"))
            };
            let env = if i % 6 == 3 {
                serde_json::json!({"LOG_LEVEL": "info", "FEATURE_FLAGS": format!("search,cart-v{}", i % 3)})
            } else {
                serde_json::json!({})
            };
            serde_json::json!({
                "name": synth::service_name(i),
                "image": format!("registry.example.com/synth/{}:1.{}.{}", synth::service_name(i), i % 17, i % 5),
                "port": 8000,
                "from": (i > 0).then(|| synth::service_name((i - 1) / synth::FAN_OUT)),
                "env": env,
                "cpuRequest": requests.0,
                "memoryRequest": requests.1,
                "cpuLimit": limits.0,
                "memoryLimit": limits.1,
                "minReplicas": 2,
                "maxReplicas": 2 + i % 7,
                "minAvailable": 1,
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "services": services }))
        .expect("JSON values serialize")
}
