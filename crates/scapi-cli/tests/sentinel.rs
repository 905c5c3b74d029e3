//! `scapi serve --store redis+sentinel://…` through a real failover: a
//! `redis-server` master, its replica and a `redis-sentinel` (Debian's
//! packages) on free loopback ports. The master is killed by its PID;
//! when Sentinel promotes the replica, counting resumes on it without a
//! restart of the service — the counters replicated before the failure
//! included — and in the gap requests get the configured failure mode
//! (here closed: `deny` / `store-unavailable`). Nothing waits a fixed
//! time: every step polls for the state it needs, with a generous bound.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::redis_server::{Server, free_port};
use scapi_testkit::service::Service;
use scapi_testkit::tools;
use serde_json::json;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Polls `f` every 50 ms until it gives `Some`, for at most two minutes.
fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A `redis-sentinel`, stopped by its PID.
struct Sentinel {
    child: Child,
    port: u16,
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn counting_resumes_on_the_promoted_replica_without_a_restart() {
    if !(tools::have("redis-server", "redis-server")
        && tools::have("redis-cli", "redis-tools")
        && tools::have("redis-sentinel", "redis-sentinel"))
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut master = Server::start_in(&dir.path().join("master"), &[]);
    let m = master.port.to_string();
    let replica = Server::start_in(
        &dir.path().join("replica"),
        &["--replicaof", "127.0.0.1", &m],
    );
    until("the replica is in sync", || {
        cli(replica.port, &["INFO", "replication"])
            .contains("master_link_status:up")
            .then_some(())
    });
    let port = free_port();
    let conf = dir.path().join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\ndir {}\n\
             sentinel monitor group 127.0.0.1 {m} 1\n\
             sentinel down-after-milliseconds group 500\n\
             sentinel failover-timeout group 3000\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let sentinel = Sentinel {
        child: Command::new("redis-sentinel")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        port,
    };
    until("Sentinel knows the master and its replica", || {
        let replicas = cli(sentinel.port, &["SENTINEL", "replicas", "group"]);
        (cli(
            sentinel.port,
            &["SENTINEL", "get-master-addr-by-name", "group"],
        )
        .contains(&m)
            && replicas.contains(&replica.port.to_string()))
        .then_some(())
    });
    // Two dials a minute; past them, quarantined until the session ends.
    let policy = dir.path().join("wwews.cfg");
    std::fs::write(
        &policy,
        "[interaction-workspace]\n\
         service-client-api.accepted-web-content-origins=https://crm.example.com (voice.dial)\n\
         service-client-api.rate-limit.voice.dial=2\n\
         service-client-api.rate-limit-quarantine-delay=0\n",
    )
    .unwrap();
    let url = format!("redis+sentinel://127.0.0.1:{port}/group");
    let s = Service::start(
        Path::new(env!("CARGO_BIN_EXE_scapi")),
        &[
            policy.to_str().unwrap(),
            "--no-watch",
            "--store",
            &url,
            "--store-prefix",
            "fleet",
            "--store-failure",
            "closed",
        ],
        dir.path(),
    );
    let dial = |client: &str| {
        let v = s.post_json(
            "/v1/check",
            &json!({"origin": "https://crm.example.com", "request": "voice.dial", "client": client}),
        );
        format!(
            "{}/{}",
            v["outcome"].as_str().unwrap(),
            v["reason"].as_str().unwrap()
        )
    };
    assert_eq!(
        [dial("a"), dial("a"), dial("a")],
        ["allow/granted", "allow/granted", "rate-limited/rate-limit"]
    );
    assert_eq!(dial("a"), "ignored/quarantine");
    let key = "fleet:{a}:r:voice.dial";
    let state = cli(master.port, &["GET", key]);
    assert_eq!(state, "F");
    until("the replica has the quarantine", || {
        (cli(replica.port, &["GET", key]) == state).then_some(())
    });
    master.kill();
    // Until Sentinel promotes the replica, the store fails closed; then
    // counting resumes there, without a restart.
    let mut seen = Vec::new();
    until("counting resumes on the promoted replica", || {
        let d = dial("b");
        seen.push(d.clone());
        (d == "allow/granted").then_some(())
    });
    assert!(
        seen.iter()
            .all(|d| d == "deny/store-unavailable" || d == "allow/granted"),
        "{seen:?}"
    );
    assert!(
        cli(
            sentinel.port,
            &["SENTINEL", "get-master-addr-by-name", "group"]
        )
        .contains(&replica.port.to_string())
    );
    // What was counted before the failure holds on the new master…
    assert_eq!(dial("a"), "ignored/quarantine");
    // …and what is counted now is counted there.
    assert!(!cli(replica.port, &["GET", "fleet:{b}:r:voice.dial"]).is_empty());
    let status = s.status_until(|v| v["store"]["degraded"] == false);
    assert_eq!(status["store"]["mode"], "redis-sentinel");
    assert_eq!(status["store"]["failure"], "closed");
    assert!(!s.stderr().contains("panicked"), "{}", s.stderr());
}
