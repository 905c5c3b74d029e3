//! Fleet-store benchmarks against a real `redis-server` on a free loopback
//! port (started here, stopped by its PID), each beside a baseline measured
//! in the same run:
//!
//! * R1 one caller admitting through Redis, beside `redis-benchmark`
//!   running the same `EVALSHA` with one connection;
//! * R2 concurrent callers (tasks sharing the store's multiplexed
//!   connection), beside `redis-benchmark` with as many connections;
//! * R3 an admission while quarantined, answered locally, beside the
//!   in-memory store's answer for the same.
//!
//! Every admission is of a distinct client, under a limit never reached,
//! so each one runs the whole script (a `GET` and a `SET`) in both.
//! `R_CALLERS` sets R2's concurrency (default 32).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use criterion::Criterion;
use scapi_policy::limiter::{AsyncCounterStore, At, CounterKey, CounterStore, Limit, MemoryStore};
use scapi_policy::policy::Quarantine;
use scapi_redis::{ADMIT_SCRIPT, FailureMode, RedisConfig, RedisStore};
use scapi_testkit::redis_server::Server;
use std::hint::black_box;
use std::num::NonZeroU32;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SESSION_CAP_MS: u64 = 12 * 3600 * 1000;

/// A limit never reached.
fn unlimited() -> Limit {
    Limit {
        per_minute: NonZeroU32::new(u32::MAX).unwrap(),
        quarantine: Quarantine::from_option(60),
    }
}

fn store(server: &Server, prefix: &str) -> RedisStore {
    RedisStore::connect(
        &server.url(),
        RedisConfig {
            prefix: prefix.into(),
            failure: FailureMode::Closed,
            timeout: Duration::from_secs(2),
            ..RedisConfig::default()
        },
    )
    .unwrap()
}

/// `redis-benchmark` running the admission script with `clients`
/// connections: requests per second.
fn redis_benchmark(server: &Server, clients: usize, n: usize) -> f64 {
    let sha = server
        .cli(&["SCRIPT", "LOAD", ADMIT_SCRIPT])
        .trim()
        .to_string();
    assert_eq!(sha.len(), 40, "SCRIPT LOAD: {sha}");
    let t = "rb:{__rand_int__}";
    let out = Command::new("redis-benchmark")
        .args(["-p", &server.port.to_string(), "-c", &clients.to_string()])
        .args(["-n", &n.to_string(), "-r", "100000000", "--csv"])
        .args(["EVALSHA", &sha, "4"])
        .args([
            &format!("{t}:r:voice.dial"),
            &format!("{t}:keys"),
            &format!("{t}:others"),
            &format!("{t}:overflow"),
        ])
        .args(["", &u32::MAX.to_string(), "60000", "0", "64"])
        .arg(SESSION_CAP_MS.to_string())
        .output()
        .expect("redis-benchmark runs (it comes with redis-server)");
    let text = String::from_utf8_lossy(&out.stdout);
    // "test","rps",...  then  "EVALSHA ...","12345.67",...
    text.lines()
        .nth(1)
        .and_then(|l| l.split("\",\"").nth(1))
        .and_then(|rps| rps.parse().ok())
        .unwrap_or_else(|| panic!("redis-benchmark printed: {text}"))
}

/// Our admissions per second with one caller, over `n` distinct clients.
fn ours_sequential(store: &RedisStore, n: usize, round: usize) -> f64 {
    let clients: Vec<String> = (0..n).map(|i| format!("s{round}-{i}")).collect();
    let start = Instant::now();
    for c in &clients {
        let a = CounterStore::admit(
            store,
            CounterKey::new(c, "voice.dial"),
            unlimited(),
            At::Now,
        );
        assert!(a.unwrap().is_admitted());
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Our admissions per second with `callers` concurrent tasks sharing one
/// store.
fn ours_concurrent(store: &Arc<RedisStore>, callers: usize, n: usize, round: usize) -> f64 {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let per = n / callers;
    let start = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..callers)
            .map(|t| {
                let store = Arc::clone(store);
                tokio::spawn(async move {
                    for i in 0..per {
                        let c = format!("c{round}-{t}-{i}");
                        let key = CounterKey::new(&c, "voice.dial");
                        let a = AsyncCounterStore::admit(&*store, key, unlimited(), At::Now).await;
                        assert!(a.unwrap().is_admitted());
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    (per * callers) as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let server = Server::start();
    let callers: usize = std::env::var("R_CALLERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let mut rows = Vec::new();

    // R1, R2: rounds alternate ours and redis-benchmark, so both see the
    // same machine; the median of each.
    let s = store(&server, "r1");
    let shared = Arc::new(store(&server, "r2"));
    let (mut r1, mut b1, mut r2, mut b2) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..5 {
        r1.push(ours_sequential(&s, 20_000, round));
        b1.push(redis_benchmark(&server, 1, 20_000));
        r2.push(ours_concurrent(&shared, callers, 200_000, round));
        b2.push(redis_benchmark(&server, callers, 200_000));
        server.cli(&["FLUSHALL"]);
    }
    let (r1, b1, r2, b2) = (median(r1), median(b1), median(r2), median(b2));
    rows.push((
        "R1 admit through Redis, 1 caller".to_string(),
        format!("{:.0} admissions/s", r1),
        format!("{:.0} EVALSHA/s", b1),
        format!("{:.2}× redis-benchmark -c 1", r1 / b1),
    ));
    rows.push((
        format!("R2 admit through Redis, {callers} callers"),
        format!("{:.0} admissions/s", r2),
        format!("{:.0} EVALSHA/s", b2),
        format!("{:.2}× redis-benchmark -c {callers}", r2 / b2),
    ));

    // R3: a quarantined admission is answered without a round trip.
    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    let q = Limit {
        per_minute: NonZeroU32::new(1).unwrap(),
        quarantine: Quarantine::from_option(600),
    };
    let key = CounterKey::new("agent-q", "voice.dial");
    for _ in 0..2 {
        let _ = CounterStore::admit(&s, key, q, At::Now).unwrap();
    }
    let memory = MemoryStore::new();
    for _ in 0..2 {
        memory.admit(key, q, At::Now);
    }
    let remote_before = s.stats().remote;
    let mut g = c.benchmark_group("R3");
    g.bench_function("redis store, quarantined", |b| {
        b.iter(|| CounterStore::admit(&s, black_box(key), q, At::Now))
    });
    g.bench_function("memory store, quarantined", |b| {
        b.iter(|| memory.admit(black_box(key), q, At::Now))
    });
    g.finish();
    assert_eq!(
        s.stats().remote,
        remote_before,
        "a quarantine went to Redis"
    );
    let ns = |id: &str| {
        let path = format!("{}/criterion/R3/{id}/new/estimates.json", target_dir());
        let text = std::fs::read_to_string(&path).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["mean"]["point_estimate"].as_f64()
    };
    if let (Some(ours), Some(mem)) = (
        ns("redis store, quarantined"),
        ns("memory store, quarantined"),
    ) {
        rows.push((
            "R3 admit while quarantined (local)".to_string(),
            format!("{ours:.1} ns/admission"),
            format!("{mem:.1} ns in memory"),
            format!("{:.2}× the in-memory store", ours / mem),
        ));
    }
    print_table(&rows);
}

fn target_dir() -> String {
    std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../target").to_string())
}

fn print_table(rows: &[(String, String, String, String)]) {
    eprintln!();
    eprintln!(
        "{:<40}  {:<26}  {:<20}  ratio",
        "workload", "scapi", "baseline"
    );
    for (a, b, c, d) in rows {
        eprintln!("{a:<40}  {b:<26}  {c:<20}  {d}");
    }
}
