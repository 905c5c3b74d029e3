//! The fleet store against a real `redis-server` (never a mock): the
//! script equals the limiter's `step` (eval cases: `cases.rs`), a fleet of
//! processes admits exactly the limit, failures are decisions, keys expire
//! and sessions end cleanly, and a Cluster keeps one client in one slot.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

/// Whether a real Redis can be started here.
fn redis() -> bool {
    scapi_testkit::tools::have("redis-server", "redis-server")
        && scapi_testkit::tools::have("redis-cli", "redis-tools")
}

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use scapi_policy::limiter::{
    Admission, At, CounterKey, CounterStore, Limit, ManualClock, MemoryStore, Millis, RateLimiter,
};
use scapi_policy::policy::{Quarantine, RateLimits};
use scapi_redis::{FailureMode, RedisConfig, RedisStore, RedisStoreErrorKind};
use scapi_testkit::redis_server::{Cluster, Server};
use std::num::NonZeroU32;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A start of a window, in 2026.
const W: Millis = 1_795_168_800_000;

static PREFIX: AtomicUsize = AtomicUsize::new(0);

/// A store on `server` with keys of its own.
fn store(server: &Server, failure: FailureMode) -> RedisStore {
    let n = PREFIX.fetch_add(1, Ordering::Relaxed);
    RedisStore::connect(
        &server.url(),
        RedisConfig {
            prefix: format!("t{}-{n}", std::process::id()),
            failure,
            retry_after: Duration::from_millis(200),
            ..RedisConfig::default()
        },
    )
    .unwrap()
}

/// The runtime of an async broker.
fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A limiter of `per_minute` requests of each name, on `store`.
fn limiter(per_minute: u32, store: RedisStore) -> RateLimiter<RedisStore> {
    RateLimiter::with_store(
        RateLimits {
            default: per_minute,
            ..RateLimits::default()
        },
        store,
    )
}

fn limit(n: u32, q: u32) -> Limit {
    Limit {
        per_minute: NonZeroU32::new(n).unwrap(),
        quarantine: Quarantine::from_option(q),
    }
}

/// Random timelines: two clients, catalog names and names outside it,
/// times mostly forward and sometimes back, small limits and quarantines
/// (0 is forever).
fn timeline() -> impl Strategy<Value = (u32, u32, Vec<(u8, u8, i64)>)> {
    let dt = prop_oneof![
        6 => 0i64..2_000,
        2 => 10_000i64..70_000,
        1 => -30_000i64..0,
    ];
    (
        1u32..4,
        prop_oneof![Just(0u32), 1u32..90],
        proptest::collection::vec((0u8..2, 0u8..4, dt), 1..120),
    )
}

const NAMES: [&str; 4] = ["voice.dial", "agent.get", "custom.one", "custom.two"];

#[test]
fn the_script_is_step_on_random_timelines() {
    if !redis() {
        return;
    }
    let server = Server::start();
    let mut runner = TestRunner::new(Config::with_cases(64));
    runner
        .run(&timeline(), |(n, q, steps)| {
            let redis = store(&server, FailureMode::Closed);
            let memory = MemoryStore::with_clock(ManualClock::new(0));
            let mut t = W;
            for (i, (client, name, dt)) in steps.into_iter().enumerate() {
                t += dt;
                let client = format!("agent-{client}");
                let key = CounterKey::new(&client, NAMES[usize::from(name)]);
                let want = memory.admit(key, limit(n, q), At::Time(t));
                let got = CounterStore::admit(&redis, key, limit(n, q), At::Time(t))
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(got, want, "step {} ({:?} at {})", i, key, t);
            }
            Ok(())
        })
        .unwrap();
}

/// Past the bound of names outside the catalog, memory and Redis share
/// alike: a name on the shared counter stays there (its forever quarantine
/// holds), and a new name joins it while it lives.
#[test]
fn names_past_the_bound_share_alike_in_redis() {
    if !redis() {
        return;
    }
    let server = Server::start();
    let redis = store(&server, FailureMode::Closed);
    let memory = MemoryStore::with_clock(ManualClock::new(0));
    let l = limit(1, 0);
    let mut steps: Vec<(String, i64)> = (0..64).map(|i| (format!("x.n{i}"), W)).collect();
    steps.extend([
        ("x.target".to_string(), W + 60_000),
        ("x.target".to_string(), W + 60_001),
        ("x.target".to_string(), W + 180_000),
        ("x.other".to_string(), W + 180_001),
        ("x.n3".to_string(), W + 180_002),
    ]);
    for (i, (name, t)) in steps.iter().enumerate() {
        let key = CounterKey::new("agent-1", name);
        let want = memory.admit(key, l, At::Time(*t));
        let got = CounterStore::admit(&redis, key, l, At::Time(*t)).unwrap();
        assert_eq!(got, want, "step {i}: {name} at {t}");
    }
    let key = CounterKey::new("agent-1", "x.other");
    assert_eq!(
        memory.admit(key, l, At::Time(W + 180_003)),
        Admission::Ignored { until: None }
    );
}

/// A replay's times are not the server's: its keys live for the session
/// cap, so a replay slower than its items' times still counts them.
#[test]
fn replayed_keys_outlive_the_replay() {
    if !redis() {
        return;
    }
    let server = Server::start();
    let redis = store(&server, FailureMode::Closed);
    let key = CounterKey::new("agent-1", "voice.dial");
    let got = CounterStore::admit(&redis, key, limit(1, 30), At::Time(W)).unwrap();
    assert!(got.is_admitted());
    let name = redis.counter_key("agent-1", "voice.dial");
    let ttl: i64 = server.cli(&["PTTL", &name]).trim().parse().unwrap();
    let cap = i64::try_from(RedisConfig::default().session_cap.as_millis()).unwrap();
    assert!(ttl > cap - 60_000, "{ttl} ms left of a {cap} ms cap");
}

/// The promise, through Redis: on random timelines (time only forward), at
/// most L admissions per (client, request, window).
#[test]
fn never_more_than_the_limit_per_window_in_redis() {
    if !redis() {
        return;
    }
    let server = Server::start();
    let steps = proptest::collection::vec((0u8..2, 0u8..4, 0i64..20_000), 1..200);
    let mut runner = TestRunner::new(Config::with_cases(32));
    runner
        .run(
            &(1u32..5, prop_oneof![Just(0u32), 1u32..130], steps),
            |(n, q, steps)| {
                let redis = store(&server, FailureMode::Closed);
                let mut admitted = std::collections::HashMap::new();
                let mut t = W;
                for (client, name, dt) in steps {
                    t += dt;
                    let client = format!("agent-{client}");
                    let key = CounterKey::new(&client, NAMES[usize::from(name)]);
                    let got = CounterStore::admit(&redis, key, limit(n, q), At::Time(t))
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    if got.is_admitted() {
                        let c = admitted
                            .entry((client, name, t.div_euclid(60_000)))
                            .or_insert(0);
                        *c += 1;
                        prop_assert!(*c <= n, "{} admitted in one window", c);
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

/// A server that requires a password refuses a store without it, or with
/// a wrong one, when it connects (not by denying every request later); the
/// password is never in a message.
#[test]
fn a_locked_server_refuses_at_connect_and_keeps_the_secret() {
    if !redis() {
        return;
    }
    let dir = std::env::temp_dir().join(format!(
        "scapi-redis-locked-{}-{}",
        std::process::id(),
        scapi_testkit::redis_server::free_port()
    ));
    let server = Server::start_in(&dir, &["--requirepass", "s3cret"]);
    let host = format!("127.0.0.1:{}", server.port);
    for url in [
        format!("redis://{host}"),
        format!("redis://:wrong-s3cret@{host}"),
    ] {
        let e = RedisStore::connect(&url, RedisConfig::default()).unwrap_err();
        assert_eq!(e.kind(), RedisStoreErrorKind::Refused, "{e}");
        assert!(!e.to_string().contains("s3cret"), "{e}");
        // The client library's error is kept, and does not show it either.
        let source = std::error::Error::source(&e).expect("the redis error");
        assert!(!source.to_string().contains("s3cret"), "{source}");
        assert!(
            e.to_string().contains("redis://USER:PASSWORD@HOST:PORT"),
            "{e}"
        );
    }
    let store =
        RedisStore::connect(&format!("redis://:s3cret@{host}"), RedisConfig::default()).unwrap();
    let key = CounterKey::new("agent-1", "voice.dial");
    let admitted = CounterStore::admit(&store, key, limit(1, 30), At::Now).unwrap();
    assert!(admitted.is_admitted());
    assert!(!format!("{store:?}").contains("s3cret"));
}

/// One broker process of the fleet test: 4 threads admitting the same
/// keys, all in one window; prints what it got per key.
#[test]
#[ignore = "a broker process of `a_fleet_admits_exactly_the_limit`, which runs it"]
fn fleet_child() {
    let Ok(spec) = std::env::var("SCAPI_FLEET_CHILD") else {
        return;
    };
    let (url, prefix) = spec.split_once(' ').unwrap();
    let store = RedisStore::connect(
        url,
        RedisConfig {
            prefix: prefix.to_string(),
            failure: FailureMode::Closed,
            ..RedisConfig::default()
        },
    )
    .unwrap();
    let limits = RateLimits {
        default: 25,
        ..RateLimits::default()
    };
    let limiter = RateLimiter::with_store(limits, store);
    let results: Vec<[usize; 3]> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let mut got = [0usize; 3];
                    for i in 0..200 {
                        let (client, request) = ["agent-1", "agent-2"]
                            .iter()
                            .zip(["voice.dial", "custom.name"])
                            .nth(i % 2)
                            .unwrap();
                        let a = limiter.admit_at(client, request, W + 5_000).unwrap();
                        got[match a {
                            Admission::Admitted(_) => 0,
                            Admission::Limited { .. } => 1,
                            Admission::Ignored { .. } => 2,
                        }] += 1;
                    }
                    got
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let total = results.iter().fold([0; 3], |acc, r| {
        [acc[0] + r[0], acc[1] + r[1], acc[2] + r[2]]
    });
    println!("FLEET {} {} {}", total[0], total[1], total[2]);
}

/// 4 broker processes × 4 threads share one Redis: per (client, request)
/// and window, exactly the limit is admitted and exactly one request is
/// limited, whichever broker it reached.
#[test]
fn a_fleet_admits_exactly_the_limit() {
    if !redis() {
        return;
    }
    let server = Server::start();
    let prefix = format!("fleet-{}", std::process::id());
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args(["fleet_child", "--exact", "--ignored", "--nocapture"])
                .env("SCAPI_FLEET_CHILD", format!("{} {prefix}", server.url()))
                .output()
                .unwrap()
        })
        .collect();
    // (They ran one after the other here; run them at once too.)
    let concurrent: Vec<_> = (0..4)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args(["fleet_child", "--exact", "--ignored", "--nocapture"])
                .env(
                    "SCAPI_FLEET_CHILD",
                    format!("{} {prefix}-concurrent", server.url()),
                )
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let concurrent: Vec<_> = concurrent
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for (what, outputs) in [("in turn", children), ("at once", concurrent)] {
        let mut total = [0usize; 3];
        for o in &outputs {
            let text = String::from_utf8_lossy(&o.stdout);
            let line = text
                .lines()
                .find_map(|l| l.strip_prefix("FLEET "))
                .unwrap_or_else(|| panic!("{what}: a child printed nothing: {text}"));
            for (t, n) in total.iter_mut().zip(line.split(' ')) {
                *t += n.parse::<usize>().unwrap();
            }
        }
        // Two keys, 4 × 4 × 100 requests each, limit 25 per window.
        assert_eq!(total, [2 * 25, 2, 2 * (1600 - 26)], "{what}");
    }
}

/// Quarantines and session ends are seen across brokers; a quarantine
/// is answered locally without a round trip.
#[test]
fn quarantines_and_session_ends_cross_brokers() {
    if !redis() {
        return;
    }
    let server = Server::start();
    let prefix = format!("cross-{}", std::process::id());
    let broker = || {
        RedisStore::connect(
            &server.url(),
            RedisConfig {
                prefix: prefix.clone(),
                ..RedisConfig::default()
            },
        )
        .unwrap()
    };
    let (a, b) = (broker(), broker());
    let key = CounterKey::new("agent-1", "voice.dial");
    let forever = limit(1, 0);
    assert!(a.admit(key, forever, At::Now).unwrap().is_admitted());
    assert_eq!(
        b.admit(key, forever, At::Now).unwrap(),
        Admission::Limited { until: None }
    );
    assert_eq!(
        a.admit(key, forever, At::Now).unwrap(),
        Admission::Ignored { until: None }
    );
    // Answered by b's own record, without Redis.
    let before = b.stats();
    assert_eq!(
        b.admit(key, forever, At::Now).unwrap(),
        Admission::Ignored { until: None }
    );
    assert_eq!(b.stats().local_quarantine, before.local_quarantine + 1);
    assert_eq!(b.stats().remote, before.remote);
    // A ends the session; b sees it once its record is due (a second).
    CounterStore::end_session(&a, "agent-1").unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert!(b.admit(key, forever, At::Now).unwrap().is_admitted());
    // A fixed quarantine, with the server's clock: ends when it ends.
    let key = CounterKey::new("agent-2", "voice.dial");
    let short = limit(1, 1);
    assert!(a.admit(key, short, At::Now).unwrap().is_admitted());
    let Admission::Limited { until: Some(until) } = b.admit(key, short, At::Now).unwrap() else {
        panic!("limited")
    };
    assert!(matches!(
        a.admit(key, short, At::Now).unwrap(),
        Admission::Ignored { until: Some(u) } if u == until
    ));
    std::thread::sleep(Duration::from_millis(1100));
    // Over: admitted in a new window, or — the window having admitted its
    // one already — refused again with a new quarantine.
    match a.admit(key, short, At::Now).unwrap() {
        Admission::Admitted(_) => {}
        Admission::Limited { until: Some(u) } => assert!(u > until),
        other => panic!("the quarantine is over, yet {other:?}"),
    }
}

/// Redis killed mid-run and restarted: fail-open counts locally and says
/// so, fail-closed refuses; both go back to Redis on their own.
#[test]
fn failure_is_a_decision_and_recovers() {
    if !redis() {
        return;
    }
    let mut server = Server::start();
    let open = store(&server, FailureMode::Open);
    let closed = store(&server, FailureMode::Closed);
    let l = limit(1000, 30);
    let key = CounterKey::new("agent-1", "agent.get");
    for s in [&open, &closed] {
        assert!(s.admit(key, l, At::Now).unwrap().is_admitted());
    }
    server.kill();
    assert!(open.admit(key, l, At::Now).unwrap().is_admitted());
    let stats = open.stats();
    assert!(
        stats.degraded && stats.fallbacks >= 1 && stats.failures >= 1,
        "{stats:?}"
    );
    let e = closed.admit(key, l, At::Now).unwrap_err();
    assert_eq!(e.kind(), RedisStoreErrorKind::Unavailable, "{e}");
    // While it waits, no round trip (no new failure; at most one if the
    // wait ran out on a slow machine), and every request it refuses is
    // counted, not only the call that failed.
    let failures = closed.stats().failures;
    for _ in 0..100 {
        let _ = closed.admit(key, l, At::Now);
        assert!(open.admit(key, l, At::Now).unwrap().is_admitted());
    }
    assert!(
        closed.stats().failures <= failures + 1,
        "{:?}",
        closed.stats()
    );
    assert_eq!(closed.stats().refused, 101, "{:?}", closed.stats());
    server.restart();
    std::thread::sleep(Duration::from_millis(300));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while closed.admit(key, l, At::Now).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "fail-closed never recovered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let remote = open.stats().remote;
    while open.stats().remote == remote {
        assert!(
            std::time::Instant::now() < deadline,
            "fail-open never recovered"
        );
        assert!(open.admit(key, l, At::Now).unwrap().is_admitted());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!open.stats().degraded);
    // Counting resumed in Redis.
    assert!(server.cli(&["DBSIZE"]).trim().parse::<u64>().unwrap() > 0);
}

/// The keys of a run.
fn keys(server: &Server, pattern: &str) -> Vec<String> {
    server
        .cli(&["--scan", "--pattern", pattern])
        .lines()
        .map(str::to_string)
        .filter(|k| !k.is_empty())
        .collect()
}

/// Every key has a TTL; a forever quarantine lasts at most the session
/// cap; `end_session` leaves no key of the client.
#[test]
fn keys_expire_and_sessions_end_cleanly() {
    if !redis() {
        return;
    }
    let server = Server::start();
    let s = RedisStore::connect(
        &server.url(),
        RedisConfig {
            prefix: "ttl".into(),
            session_cap: Duration::from_secs(600),
            ..RedisConfig::default()
        },
    )
    .unwrap();
    for client in ["agent-1", "agent-{2}"] {
        for request in ["voice.dial", "agent.get"] {
            for _ in 0..3 {
                s.admit(CounterKey::new(client, request), limit(2, 0), At::Now)
                    .unwrap();
            }
        }
        // More names outside the catalog than a client may have.
        for i in 0..70 {
            let name = format!("custom.n{i}");
            s.admit(CounterKey::new(client, &name), limit(5, 30), At::Now)
                .unwrap();
        }
    }
    let all = keys(&server, "ttl:*");
    // Per client: 2 counters, 64 names, the overflow and two sets.
    assert_eq!(all.len(), 2 * (2 + 64 + 1 + 2), "{all:?}");
    for k in &all {
        let ttl: i64 = server.cli(&["PTTL", k]).trim().parse().unwrap();
        assert!(ttl > 0 && ttl <= 600_000, "{k}: {ttl}");
    }
    CounterStore::end_session(&s, "agent-{2}").unwrap();
    let left = keys(&server, "ttl:*");
    assert_eq!(left.len(), 2 + 64 + 1 + 2);
    assert!(
        left.iter().all(|k| k.starts_with("ttl:{agent-1}")),
        "{left:?}"
    );
    CounterStore::end_session(&s, "agent-1").unwrap();
    assert!(keys(&server, "ttl:*").is_empty());
}

/// A Cluster of three masters: one client's keys are in one slot, so its
/// admissions (and the script's four keys) go to one node.
#[test]
fn a_cluster_keeps_a_client_in_one_slot() {
    if !redis() {
        return;
    }
    let cluster = Cluster::start();
    let urls = cluster.urls();
    let nodes: Vec<&str> = urls.iter().map(String::as_str).collect();
    let s = RedisStore::connect_cluster(
        &nodes,
        RedisConfig {
            prefix: "cl".into(),
            ..RedisConfig::default()
        },
    )
    .unwrap();
    let mut slots = std::collections::BTreeMap::new();
    for c in 0..20 {
        let client = format!("agent-{c}");
        for request in ["voice.dial", "agent.get", "custom.x"] {
            let key = CounterKey::new(&client, request);
            assert!(s.admit(key, limit(1, 30), At::Now).unwrap().is_admitted());
            assert!(matches!(
                s.admit(key, limit(1, 30), At::Now).unwrap(),
                Admission::Limited { .. }
            ));
            let slot =
                cluster.nodes[0].cli(&["CLUSTER", "KEYSLOT", &s.counter_key(&client, request)]);
            slots
                .entry(client.clone())
                .or_insert_with(Vec::new)
                .push(slot);
        }
        CounterStore::end_session(&s, &client).unwrap();
    }
    for (client, s) in &slots {
        assert!(s.windows(2).all(|w| w[0] == w[1]), "{client}: {s:?}");
    }
    // Twenty clients spread over the nodes.
    let distinct: std::collections::BTreeSet<_> = slots.values().map(|s| s[0].clone()).collect();
    assert!(distinct.len() > 3);
}

/// An async broker connects, admits and drops its store on its runtime;
/// the blocking calls refuse to run there instead of stalling it.
#[test]
fn async_brokers_never_block_their_runtime() {
    if !redis() {
        return;
    }
    let server = Server::start();
    let url = server.url();
    let rt = current_thread();
    rt.block_on(async {
        let e = RedisStore::connect(&url, RedisConfig::default()).unwrap_err();
        assert_eq!(e.kind(), RedisStoreErrorKind::Usage);
        assert!(e.to_string().contains("connect_async"), "{e}");
        let store = RedisStore::connect_async(&url, RedisConfig::default())
            .await
            .unwrap();
        let limiter = limiter(2, store);
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(
                limiter
                    .admit_async_at("agent-9", "agent.get", W)
                    .await
                    .unwrap(),
            );
        }
        assert!(got[..2].iter().all(|a| a.is_admitted()));
        assert!(matches!(got[2], Admission::Limited { .. }));
        assert!(matches!(got[3], Admission::Ignored { .. }));
        let e = limiter.admit_at("agent-10", "agent.get", W).unwrap_err();
        assert!(e.to_string().contains("admit_async"), "{e}");
        limiter.end_session_async("agent-9").await.unwrap();
        assert!(
            limiter
                .admit_async_at("agent-9", "agent.get", W)
                .await
                .unwrap()
                .is_admitted()
        );
        // A failed connection and a dropped store, both inside the runtime.
        let e = RedisStore::connect_async("redis://127.0.0.1:1", RedisConfig::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), RedisStoreErrorKind::Unavailable, "{e}");
        drop(limiter);
    });
    let e = RedisStore::connect("http://example.com", RedisConfig::default()).unwrap_err();
    assert_eq!(e.kind(), RedisStoreErrorKind::Usage, "{e}");
}

/// The crate README's `redis-cli` session, run against a real server: the
/// script's contract as documented for brokers in other languages.
#[test]
fn the_readme_calls_the_script_as_documented() {
    if !redis() {
        return;
    }
    let server = Server::start();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut ran = 0;
    let mut in_console = false;
    let mut session: Vec<(String, Vec<String>)> = Vec::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_console = line == "```console";
            continue;
        }
        if !in_console {
            continue;
        }
        match line.strip_prefix("$ ") {
            Some(cmd) => session.push((cmd.to_string(), Vec::new())),
            None => session.last_mut().unwrap().1.push(line.to_string()),
        }
    }
    for (cmd, shown) in session {
        let cmd = cmd.replacen("redis-cli ", &format!("redis-cli -p {} ", server.port), 1);
        let out = Command::new("sh")
            .args(["-c", &cmd])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .output()
            .unwrap();
        let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(got, shown, "{cmd}");
        ran += 1;
    }
    assert_eq!(ran, 3);
    assert_eq!(server.cli(&["DBSIZE"]).trim(), "0");
}

/// Deferred stores take their URL at once and Redis when it answers: a
/// bad URL is refused now; while no server (or no Sentinel) answers,
/// admissions follow the failure mode (open: counted in memory) and the
/// store says it is degraded; a server that comes up is counted in, with
/// no new store.
#[test]
fn deferred_stores_count_in_redis_once_it_answers() {
    if !redis() {
        return;
    }
    let mut server = Server::start();
    server.kill();
    let url = server.url();
    let rt = current_thread();
    rt.block_on(async {
        let e = RedisStore::connect_deferred_async("http://example.com", RedisConfig::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), RedisStoreErrorKind::Usage, "{e}");
        let e = RedisStore::connect_sentinel_deferred_async(
            "redis+sentinel://127.0.0.1:1",
            RedisConfig::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(e.kind(), RedisStoreErrorKind::Usage, "{e}");
        let open = RedisConfig {
            failure: FailureMode::Open,
            retry_after: Duration::from_millis(50),
            ..RedisConfig::default()
        };
        // No Sentinel listens: counted in memory, degraded.
        let sentinel = RedisStore::connect_sentinel_deferred_async(
            &format!("redis+sentinel://127.0.0.1:{}/mymaster", server.port),
            open.clone(),
        )
        .await
        .unwrap();
        assert!(sentinel.stats().degraded);
        let limiter = limiter(2, sentinel);
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(limiter.admit_async_at("a", "agent.get", W).await.unwrap());
        }
        assert!(got[..2].iter().all(|a| a.is_admitted()));
        assert!(matches!(got[2], Admission::Limited { .. }));
        assert!(limiter.store().stats().fallbacks > 0);

        let store = RedisStore::connect_deferred_async(&url, open)
            .await
            .unwrap();
        assert!(store.stats().degraded);
        let limiter = self::limiter(2, store);
        assert!(
            limiter
                .admit_async_at("b", "agent.get", W)
                .await
                .unwrap()
                .is_admitted()
        );
        assert_eq!(limiter.store().stats().remote, 0);
        server.restart();
        // After the back-off, the next admission connects and counts there.
        let start = std::time::Instant::now();
        while limiter.store().stats().remote == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "never reached Redis"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = limiter.admit_async_at("c", "agent.get", W).await.unwrap();
        }
        assert!(!limiter.store().stats().degraded);
        assert!(server.cli(&["KEYS", "*"]).contains("{c}"));
    });
}

/// A deferred store never makes an admission wait for its connection:
/// against a listener that accepts and never answers (a connection
/// attempt that would hang for the five minutes of its timeouts), fifty
/// admissions in a row all answer from the failure mode, and only one
/// attempt runs at a time.
#[test]
fn a_deferred_store_never_waits_for_its_connection() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&accepted);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            held.push(s);
        }
    });
    let rt = current_thread();
    rt.block_on(async {
        let config = RedisConfig {
            failure: FailureMode::Open,
            connect_timeout: Duration::from_secs(150),
            timeout: Duration::from_secs(150),
            retry_after: Duration::ZERO,
            ..RedisConfig::default()
        };
        let store =
            RedisStore::connect_deferred_async(&format!("redis://127.0.0.1:{port}"), config)
                .await
                .unwrap();
        let limiter = limiter(1000, store);
        // Waiting for the connection, the first admission alone would take
        // the five minutes of its timeouts: a minute for all of them turns
        // that into a failure rather than a hang.
        let admitted = tokio::time::timeout(Duration::from_secs(60), async {
            for i in 0..50 {
                let a = limiter
                    .admit_async_at(&format!("agent-{i}"), "agent.get", W)
                    .await
                    .unwrap();
                assert!(a.is_admitted());
            }
        })
        .await;
        assert!(admitted.is_ok(), "an admission waited for the connection");
        assert_eq!(limiter.store().stats().remote, 0);
        assert!(limiter.store().stats().degraded);
    });
    // One attempt (its client may open a second connection on retry).
    assert!(accepted.load(Ordering::SeqCst) <= 2, "{accepted:?}");
}
