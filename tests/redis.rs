//! The generated redis.conf files run in a real redis-server: a master and a replica on
//! loopback, with only bind/port/dir/replicaof rewritten for this machine.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "test-only-password";

/// A server process, killed by pid when dropped (also when the test panics).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The generated config with the network and data directory rewritten for loopback.
fn localize(conf: &str, port: u16, dir: &Path, master_port: Option<u16>) -> String {
    conf.lines()
        .map(|l| match l.split_whitespace().next() {
            Some("bind") => "bind 127.0.0.1".to_string(),
            Some("port") => format!("port {port}"),
            Some("dir") => format!("dir {}", dir.display()),
            Some("replicaof") => format!("replicaof 127.0.0.1 {}", master_port.unwrap()),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn start(conf: &str, dir: &Path, name: &str, port: u16) -> Server {
    let path = dir.join(name);
    std::fs::write(&path, conf).unwrap();
    // As in the StatefulSet: the password arrives as arguments, never in the file.
    let child = Command::new(common::tools::tool("redis-server"))
        .arg(&path)
        .args([
            "--requirepass",
            PASSWORD,
            "--masterauth",
            PASSWORD,
            "--daemonize",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while cli(port, &["PING"]).as_deref() != Some("PONG") {
        assert!(
            Instant::now() < deadline,
            "redis-server with {name} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

fn cli(port: u16, args: &[&str]) -> Option<String> {
    let out = Command::new(common::tools::tool("redis-cli"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-a",
            PASSWORD,
            "--no-auth-warning",
        ])
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn config_get(port: u16, key: &str) -> String {
    let v = cli(port, &["CONFIG", "GET", key]).unwrap();
    v.lines().nth(1).unwrap_or("").to_string()
}

#[test]
fn generated_master_and_replica_configs_replicate_on_loopback() {
    let out = common::build_all();
    let dir = tempfile::tempdir().unwrap();
    let read = |f: &str| std::fs::read_to_string(out.path().join("prod/redis").join(f)).unwrap();
    let (mp, rp) = (free_port(), free_port());
    let _master = start(
        &localize(&read("master.conf"), mp, dir.path(), None),
        dir.path(),
        "master.conf",
        mp,
    );
    let replica_dir = dir.path().join("replica");
    std::fs::create_dir(&replica_dir).unwrap();
    let _replica = start(
        &localize(&read("replica.conf"), rp, &replica_dir, Some(mp)),
        &replica_dir,
        "replica.conf",
        rp,
    );

    for port in [mp, rp] {
        assert_eq!(config_get(port, "maxmemory"), "536870912");
        assert_eq!(config_get(port, "maxmemory-policy"), "allkeys-lru");
        assert_eq!(config_get(port, "save"), "");
        assert_eq!(config_get(port, "appendonly"), "no");
        assert_eq!(config_get(port, "protected-mode"), "yes");
        assert_eq!(config_get(port, "maxclients"), "10000");
    }
    // Renamed-away commands are gone.
    assert!(cli(mp, &["FLUSHALL"]).is_none_or(|r| r.contains("unknown command")));

    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let info = cli(rp, &["INFO", "replication"]).unwrap_or_default();
        if info.contains("master_link_status:up") {
            assert!(info.contains("role:slave"), "{info}");
            break;
        }
        assert!(Instant::now() < deadline, "replica never linked: {info}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Data written to the master reaches the replica, which refuses writes.
    assert_eq!(cli(mp, &["SET", "k", "v"]).as_deref(), Some("OK"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while cli(rp, &["GET", "k"]).as_deref() != Some("v") {
        assert!(Instant::now() < deadline, "value never replicated");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(cli(rp, &["SET", "k", "w"]).is_none_or(|r| r.contains("READONLY")));
}
