//! `cargo bench`: scapi's workloads, each beside a baseline measured in the
//! same run, then a table of the ratios (README "Performance").
//!
//! * W1 lint + compile of synthetic exports (1k, 10k, 100k origins) in MB/s,
//!   against `serde_json` parsing a JSON document of the same entries.
//! * W2 `Policy::check` on a 10k-origin policy, ns per decision, against a
//!   naive `HashMap<String, HashSet<String>>` lookup of the same pairs.
//! * W3 limiter admission, 1 and 2 threads, 10k clients × 20 request names,
//!   against `governor`'s keyed limiter on the same stream.
//! * W4 `scapi eval` on 1M JSON Lines requests (parse, decide, write the
//!   JSON report), against just parsing those lines with `serde_json`.
//! * W6 limiter admission for one client that uses many request names
//!   outside the catalog (a frame granted `*` chooses its own): 1M distinct
//!   names against 1k names, per admission.
//!
//! W5 (memory) is `benches/memory.rs`: it counts allocations, which would
//! tax every workload here.
//!
//! `cargo bench -- W2` runs one workload; the ratio table lists what ran.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::bench::naive_map;
use scapi_testkit::generator;

use criterion::{BenchmarkId, Criterion, Throughput};
use serde_json::Value;
use std::collections::HashMap;
use std::hint::black_box;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

fn options() -> scapi::Options {
    scapi::Options::default()
}

/// The same entries as the export, as a JSON document: what a policy tool
/// reading JSON would parse.
fn json_of_export(export: &str) -> String {
    let c = scapi::compile("gen.cfg", export.as_bytes(), &options());
    let policy = c.policy.unwrap();
    let entries: Vec<Value> = policy
        .origins()
        .map(|o| {
            serde_json::json!({
                "origin": o.origin,
                "allow": o.grant.allow().iter().map(ToString::to_string).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::to_string(&serde_json::json!({
        "origins": entries,
        "rateLimit": 120,
        "readAllowed": (0..50).map(|k| format!("Key{k}")).collect::<Vec<_>>(),
    }))
    .unwrap()
}

fn w1(c: &mut Criterion) {
    if !selected("W1") {
        return;
    }
    use generator::Filters;
    let cases = [
        ("", 1_000, Filters::Profiles),
        ("", 10_000, Filters::Profiles),
        ("", 100_000, Filters::Profiles),
        (" distinct", 1_000, Filters::Distinct),
        (" distinct", 100_000, Filters::Distinct),
    ];
    for (kind, n, filters) in cases {
        let export = generator::export_with(n, 1, filters);
        let json = json_of_export(&export);
        let mut g = c.benchmark_group(format!("W1{kind}"));
        g.sample_size(if n >= 100_000 { 10 } else { 30 });
        g.throughput(Throughput::Bytes(export.len() as u64));
        g.bench_function(BenchmarkId::new("scapi lint+compile", n), |b| {
            b.iter(|| {
                let c = scapi::compile("gen.cfg", black_box(export.as_bytes()), &options());
                assert!(!c.has_errors());
                c
            })
        });
        g.throughput(Throughput::Bytes(json.len() as u64));
        g.bench_function(BenchmarkId::new("serde_json parse", n), |b| {
            b.iter(|| serde_json::from_str::<Value>(black_box(&json)).unwrap())
        });
        g.finish();
        SIZES.with(|s| {
            s.borrow_mut()
                .insert(format!("W1{kind}/scapi lint+compile/{n}"), export.len());
            s.borrow_mut()
                .insert(format!("W1{kind}/serde_json parse/{n}"), json.len());
        });
    }
}

/// (origin, request) pairs from the generator's request stream: allowed
/// requests, unknown and non-canonical origins, requests the filters refuse,
/// names outside the catalog.
fn pairs(n_origins: usize, count: usize) -> Vec<(String, String)> {
    let text = generator::requests(count, n_origins, 3);
    let items = scapi_tools::eval::parse_items(&text, scapi_tools::eval::RequestsFormat::JsonLines)
        .unwrap();
    items
        .into_iter()
        .filter_map(|i| match i.kind {
            scapi_tools::eval::ItemKind::Request(r) => Some((r.origin, r.request)),
            _ => None,
        })
        .collect()
}

fn w2(c: &mut Criterion) {
    if !selected("W2") {
        return;
    }
    let export = generator::export(10_000, 1);
    let policy = scapi::compile("gen.cfg", export.as_bytes(), &options())
        .policy
        .unwrap();
    // Indexed, as a broker's policy is before it serves.
    policy.index_origins();
    let pairs = pairs(10_000, 8192);
    let naive = naive_map(&policy);
    // Warm the lazily built glob sets, as a running broker has.
    for (o, r) in &pairs {
        policy.check(o, r);
    }
    let mut g = c.benchmark_group("W2");
    g.throughput(Throughput::Elements(pairs.len() as u64));
    g.bench_function("scapi check", |b| {
        b.iter(|| {
            let mut allowed = 0usize;
            for (o, r) in &pairs {
                allowed += usize::from(policy.check(black_box(o), black_box(r)).is_allowed());
            }
            allowed
        })
    });
    g.bench_function("naive map", |b| {
        b.iter(|| {
            let mut allowed = 0usize;
            for (o, r) in &pairs {
                allowed += usize::from(
                    naive
                        .get(black_box(o.as_str()))
                        .is_some_and(|s| s.contains(black_box(r.as_str()))),
                );
            }
            allowed
        })
    });
    g.finish();
    // Paired rounds, as W3's: the two run back to back, each first in
    // every other round, and the median over pairs of rounds of the ratio
    // of their times is the figure (separate measurements of the naive map
    // swing by more than 2× on this machine).
    let ours = || {
        let t = Instant::now();
        let mut allowed = 0usize;
        for _ in 0..20 {
            for (o, r) in &pairs {
                allowed += usize::from(policy.check(black_box(o), black_box(r)).is_allowed());
            }
        }
        black_box(allowed);
        t.elapsed().as_secs_f64()
    };
    let theirs = || {
        let t = Instant::now();
        let mut allowed = 0usize;
        for _ in 0..20 {
            for (o, r) in &pairs {
                allowed += usize::from(
                    naive
                        .get(black_box(o.as_str()))
                        .is_some_and(|s| s.contains(black_box(r.as_str()))),
                );
            }
        }
        black_box(allowed);
        t.elapsed().as_secs_f64()
    };
    let rounds: Vec<(f64, f64)> = (0..22)
        .map(|round| {
            if round % 2 == 0 {
                let a = ours();
                (a, theirs())
            } else {
                let b = theirs();
                (ours(), b)
            }
        })
        .collect();
    let per = |s: f64| s * 1e9 / (20 * pairs.len()) as f64;
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let ratio = median(
        rounds
            .chunks_exact(2)
            .map(|p| p.iter().map(|r| r.0).sum::<f64>() / p.iter().map(|r| r.1).sum::<f64>())
            .collect(),
    );
    W2_PAIRED.with(|w| {
        *w.borrow_mut() = Some((
            median(rounds.iter().map(|r| per(r.0)).collect()),
            median(rounds.iter().map(|r| per(r.1)).collect()),
            ratio,
        ))
    });
    let mix = pairs.iter().fold([0usize; 4], |mut m, (o, r)| {
        let d = policy.check(o, r);
        let k = match d.reason {
            _ if scapi_policy::catalog::lookup(r).is_none() => 3,
            scapi_policy::decision::Reason::Granted => 0,
            scapi_policy::decision::Reason::RequestNotPermitted => 1,
            _ => 2,
        };
        m[k] += 1;
        m
    });
    eprintln!(
        "W2 mix of {} pairs: {} allowed, {} denied by filter, {} denied by origin, {} names outside the catalog",
        pairs.len(),
        mix[0],
        mix[1],
        mix[2],
        mix[3]
    );
}

/// W7: a broker's whole decision (`Active::decide`: check, limit) on the
/// W2 pairs, with the handle's metrics counting it and without. The two run
/// back to back in rounds, each starting from a different variant, as W3's
/// limiters do (a separate measurement of each swings by more than the
/// difference); the median of the per-round differences is what metrics
/// cost per decision. A candidate beside the active policy and a decision
/// log formatting every record are measured the same way.
fn w7(_: &mut Criterion) {
    if !selected("W7") {
        return;
    }
    let export = generator::export(10_000, 1);
    let policy = scapi::compile("gen.cfg", export.as_bytes(), &options())
        .policy
        .unwrap();
    let pairs = pairs(10_000, 8192);
    let handle = |metrics: bool| {
        scapi_policy::PolicyHandle::with_store(
            policy.clone(),
            scapi_policy::limiter::MemoryStore::with_clock(
                scapi_policy::limiter::ManualClock::new(0),
            ),
        )
        .with_metrics(metrics.then(scapi_policy::metrics::Metrics::default))
    };
    /// A sink that formats each record as a file sink would, then drops it.
    struct Formatting;
    impl scapi_policy::log::DecisionSink for Formatting {
        fn record(&self, record: scapi_policy::log::DecisionRecord) {
            black_box(record.to_json_line());
        }
    }
    let candidate = handle(true);
    candidate.set_candidate(Some(policy.clone()));
    let logged = handle(true).with_decision_log(
        std::sync::Arc::new(Formatting),
        scapi_policy::log::ClientHasher::new(b"salt"),
    );
    let variants = [handle(false), handle(true), candidate, logged];
    let actives: Vec<_> = variants.iter().map(|h| h.current()).collect();
    const PASSES: usize = 40;
    let pass = |active: &scapi_policy::handle::Active<_>| {
        let t = std::time::Instant::now();
        let mut allowed = 0usize;
        for _ in 0..PASSES {
            for (o, r) in &pairs {
                let call = scapi_policy::handle::Call {
                    at: scapi_policy::limiter::At::Time(1_000),
                    ..scapi_policy::handle::Call::new(black_box(o), black_box(r), "agent-1")
                };
                allowed += usize::from(
                    active.decide(&call).enforced() == scapi_policy::decision::Outcome::Allow,
                );
            }
        }
        black_box(allowed);
        t.elapsed().as_secs_f64() * 1e9 / (PASSES * pairs.len()) as f64
    };
    // Warm every variant: counters exist, caches filled.
    for a in &actives {
        pass(a);
    }
    // Each round runs every variant, starting from a different one.
    let mut rounds: Vec<Vec<f64>> = Vec::new();
    for round in 0..32 {
        let mut times = vec![0.0; actives.len()];
        for k in 0..actives.len() {
            let i = (round + k) % actives.len();
            times[i] = pass(&actives[i]);
        }
        rounds.push(times);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let time = |i: usize| median(rounds.iter().map(|r| r[i]).collect());
    let added = |i: usize| median(rounds.iter().map(|r| r[i] - r[0]).collect());
    let (with, without) = (time(1), time(0));
    eprintln!(
        "W7 decide without metrics {without:.1} ns; added (median of 32 rounds): metrics {:+.1} ns, a candidate {:+.1} ns, a formatted log record {:+.1} ns",
        added(1),
        added(2),
        added(3)
    );
    W7_EXTRAS.with(|w| *w.borrow_mut() = Some((added(2), added(3))));
    let added = added(1);
    W7.with(|w| *w.borrow_mut() = Some((with, without, added)));
}

const NAMES: [&str; 20] = [
    "agent.get",
    "agent.getState",
    "agent.setState",
    "voice.dial",
    "voice.hangUp",
    "voice.holdCall",
    "interaction.getInteractions",
    "interaction.getByInteractionId",
    "interaction.setUserData",
    "interaction.deleteUserData",
    "system.popupToast",
    "email.create",
    "auth.getJwtToken",
    "media.setState",
    "media.getMediaList",
    "chat.create",
    "workitem.create",
    "outbound.getRecords",
    "voice.startCallMonitoring",
    "newns.request",
];

/// 10k clients × 20 request names, in a shuffled order.
fn admission_stream() -> Vec<(String, &'static str)> {
    let mut rng = generator::Rng::new(11);
    let mut stream: Vec<(String, &'static str)> = (0..10_000)
        .flat_map(|c| NAMES.iter().map(move |n| (format!("agent-{c}"), *n)))
        .collect();
    for i in (1..stream.len()).rev() {
        let j = rng.below(i + 1);
        stream.swap(i, j);
    }
    stream
}

const PER_MINUTE: u32 = 1_000_000;

fn w3(c: &mut Criterion) {
    use governor::{Quota, RateLimiter as Governor};
    let stream = admission_stream();
    let limits = scapi_policy::policy::RateLimits {
        default: PER_MINUTE,
        per_request: Default::default(),
        quarantine: scapi_policy::policy::Quarantine::from_option(30),
    };
    let quota = Quota::per_minute(NonZeroU32::new(PER_MINUTE).unwrap());
    let mut g = c.benchmark_group("W3");
    g.throughput(Throughput::Elements(stream.len() as u64));
    // Steady state, as in a broker during a shift: every counter exists
    // (one warm pass), and each pass admits the whole stream again.
    let ours = scapi_policy::limiter::RateLimiter::with_store(
        limits,
        scapi_policy::limiter::MemoryStore::with_clock(scapi_policy::limiter::FastClock::new()),
    );
    for (client, name) in &stream {
        let Ok(_) = ours.admit(client, name);
    }
    let theirs = Governor::keyed(quota);
    for key in &stream {
        let _ = theirs.check_key(key);
    }
    if !selected("W3") {
        return;
    }
    // `W3_ONLY=scapi` (or `governor`) times 50 passes of one limiter and
    // exits: a process to profile with `perf record`. `W3_ONLY=hash` only
    // hashes each client id, the part of an admission no limiter avoids.
    if let Ok(only) = std::env::var("W3_ONLY") {
        use std::hash::BuildHasher;
        let hasher = std::hash::RandomState::new();
        let t = Instant::now();
        for _ in 0..50 {
            if only == "hash" {
                run_split(1, &stream, |(client, _)| {
                    black_box(hasher.hash_one(client));
                });
            } else if only == "scapi" {
                run_split(1, &stream, |(client, name)| {
                    let Ok(a) = ours.admit(client, name);
                    black_box(a);
                });
            } else {
                run_split(1, &stream, |key| {
                    let _ = black_box(theirs.check_key(key));
                });
            }
        }
        eprintln!(
            "{only}: {:.1} ns",
            t.elapsed().as_secs_f64() * 1e9 / (50 * stream.len()) as f64
        );
        std::process::exit(0);
    }
    // This machine's neighbours make memory-bound timings swing by 2× from
    // one second to the next, so the two limiters run back to back in
    // rounds. The pass that runs first in a round is slower (by up to a
    // third, whichever limiter it is), so the order alternates and the ratio
    // is taken over two consecutive rounds, where each went first once: the
    // median of those 11 ratios is reported. (A median of single-round
    // ratios picks one of two clusters, ~0.75× or ~1.2×, by chance.)
    for threads in [1usize, 2] {
        let mut rounds = Vec::new();
        for round in 0..22 {
            let ours_pass = || {
                run_split(threads, &stream, |(client, name)| {
                    let Ok(a) = ours.admit(client, name);
                    black_box(a);
                })
            };
            let theirs_pass = || {
                run_split(threads, &stream, |key| {
                    let _ = black_box(theirs.check_key(key));
                })
            };
            let (a, b) = if round % 2 == 0 {
                let a = ours_pass();
                (a, theirs_pass())
            } else {
                let b = theirs_pass();
                (ours_pass(), b)
            };
            rounds.push((a.as_secs_f64(), b.as_secs_f64()));
        }
        let per = |s: f64| s * 1e9 / stream.len() as f64;
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
        };
        let ours_ns = median(rounds.iter().map(|r| per(r.0)).collect());
        let theirs_ns = median(rounds.iter().map(|r| per(r.1)).collect());
        let ratio = median(
            rounds
                .chunks_exact(2)
                .map(|p| p.iter().map(|r| r.0).sum::<f64>() / p.iter().map(|r| r.1).sum::<f64>())
                .collect(),
        );
        if std::env::var_os("W3_ROUNDS").is_some() {
            for (i, r) in rounds.iter().enumerate() {
                let first = if i % 2 == 0 { "scapi" } else { "governor" };
                eprintln!(
                    "W3 {threads} thread(s), round {i} ({first} first): {:.1} / {:.1} ns",
                    per(r.0),
                    per(r.1)
                );
            }
        }
        PAIRED.with(|p| p.borrow_mut().push((threads, ours_ns, theirs_ns, ratio)));
    }
    for threads in [1usize, 2] {
        g.bench_function(BenchmarkId::new("scapi admit", threads), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        run_split(threads, &stream, |(client, name)| {
                            let Ok(a) = ours.admit(client, name);
                            black_box(a);
                        })
                    })
                    .sum()
            })
        });
        g.bench_function(BenchmarkId::new("governor keyed", threads), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        run_split(threads, &stream, |key| {
                            let _ = black_box(theirs.check_key(key));
                        })
                    })
                    .sum()
            })
        });
    }
    g.finish();
}

/// Runs `f` over the stream split between `threads` threads; the wall time.
fn run_split<T: Sync>(threads: usize, stream: &[T], f: impl Fn(&T) + Sync) -> Duration {
    let chunk = stream.len().div_ceil(threads);
    let start = Instant::now();
    std::thread::scope(|s| {
        for part in stream.chunks(chunk) {
            let f = &f;
            s.spawn(move || part.iter().for_each(f));
        }
    });
    start.elapsed()
}

fn w4(c: &mut Criterion) {
    if !selected("W4") {
        return;
    }
    let export = generator::export(10_000, 1);
    let policy = scapi::compile("gen.cfg", export.as_bytes(), &options())
        .policy
        .unwrap();
    policy.index_origins();
    let requests = generator::requests(1_000_000, 10_000, 5);
    let mut g = c.benchmark_group("W4");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1_000_000));
    g.bench_function("scapi eval --format json", |b| {
        b.iter(|| {
            // Every byte of the report is produced; the sink stands in for
            // standard output.
            let mut out = std::io::sink();
            scapi_tools::eval::run_text(
                &policy,
                black_box(&requests),
                scapi_tools::eval::RequestsFormat::JsonLines,
                scapi_tools::eval::ReportFormat::Json,
                &mut out,
            )
            .unwrap()
        })
    });
    g.bench_function("serde_json parse of the lines", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for line in black_box(&requests).lines() {
                let v: Value = serde_json::from_str(line).unwrap();
                n += usize::from(v.is_object());
            }
            n
        })
    });
    g.finish();
}

/// W6: one client, a limit on every name, `n` distinct names outside the
/// catalog used in turn; each iteration admits a million requests.
fn w6(c: &mut Criterion) {
    if !selected("W6") {
        return;
    }
    let mut g = c.benchmark_group("W6");
    g.sample_size(10);
    let limits = scapi_policy::policy::RateLimits {
        default: 1_000_000,
        ..Default::default()
    };
    const ADMISSIONS: usize = 1_000_000;
    g.throughput(Throughput::Elements(ADMISSIONS as u64));
    for n in [1_000usize, 1_000_000] {
        let names: Vec<String> = (0..n).map(|i| format!("custom.request{i}")).collect();
        let limiter = scapi_policy::limiter::RateLimiter::with_store(
            limits.clone(),
            scapi_policy::limiter::MemoryStore::with_clock(
                scapi_policy::limiter::ManualClock::new(0),
            ),
        );
        g.bench_function(BenchmarkId::new("scapi admit, distinct names", n), |b| {
            b.iter(|| {
                for i in 0..ADMISSIONS {
                    let name = &names[i % n];
                    let Ok(a) = limiter.admit_at("agent-1", name, 1_000);
                    black_box(a);
                }
            })
        });
    }
    g.finish();
}

thread_local! {
    /// W7: decide with metrics, without, and the added cost (ns).
    static W7: std::cell::RefCell<Option<(f64, f64, f64)>> = const { std::cell::RefCell::new(None) };
    /// W7: what a candidate and a formatted log record add (ns).
    static W7_EXTRAS: std::cell::RefCell<Option<(f64, f64)>> = const { std::cell::RefCell::new(None) };
    /// W2 paired rounds: our median, the naive map's, median ratio.
    static W2_PAIRED: std::cell::RefCell<Option<(f64, f64, f64)>> = const { std::cell::RefCell::new(None) };
    /// W3 paired rounds: threads, our median, governor's, median ratio.
    static PAIRED: std::cell::RefCell<Vec<(usize, f64, f64, f64)>> = const { std::cell::RefCell::new(Vec::new()) };
    static SIZES: std::cell::RefCell<HashMap<String, usize>> = std::cell::RefCell::new(HashMap::new());
}

/// Criterion's mean estimate of one benchmark, in nanoseconds per iteration.
fn mean_ns(id: &str) -> Option<f64> {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()?
        .join("criterion")
        .join(id)
        .join("new/estimates.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(dir).ok()?).ok()?;
    v.pointer("/mean/point_estimate")?.as_f64()
}

fn report() {
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    let size = |id: &str| SIZES.with(|s| s.borrow().get(id).copied());
    let mut per_origin = Vec::new();
    for (kind, n) in [
        ("", 1_000usize),
        ("", 10_000),
        ("", 100_000),
        (" distinct", 1_000),
        (" distinct", 100_000),
    ] {
        let (ours, base) = (
            format!("W1{kind}/scapi lint+compile/{n}"),
            format!("W1{kind}/serde_json parse/{n}"),
        );
        if let (Some(a), Some(b), Some(sa), Some(sb)) =
            (mean_ns(&ours), mean_ns(&base), size(&ours), size(&base))
        {
            let mbps = |bytes: usize, ns: f64| bytes as f64 / ns * 1e3;
            if kind.is_empty() {
                per_origin.push(a / n as f64);
            }
            let label = if kind.is_empty() {
                format!("W1 lint+compile, {n} origins")
            } else {
                format!("W1 worst case: every list distinct, {n}")
            };
            rows.push((
                label,
                format!("{:.0} MB/s ({:.0} ns/origin)", mbps(sa, a), a / n as f64),
                format!("{:.0} MB/s", mbps(sb, b)),
                format!("{:.2}× serde_json", mbps(sa, a) / mbps(sb, b)),
            ));
        }
    }
    if let (Some(lo), Some(hi)) = (
        per_origin.iter().copied().reduce(f64::min),
        per_origin.iter().copied().reduce(f64::max),
    ) {
        rows.push((
            "W1 cost per origin, 1k → 100k".into(),
            format!("{:.0}–{:.0} ns", lo, hi),
            "flat".into(),
            format!("{:.2}× spread", hi / lo),
        ));
    }
    if let (Some(a), Some(b)) = (mean_ns("W2/scapi check"), mean_ns("W2/naive map")) {
        rows.push((
            "W2 check, 10k-origin policy".into(),
            format!("{:.1} ns/decision", a / 8192.0),
            format!("{:.1} ns/lookup", b / 8192.0),
            format!("{:.2}× naive", a / b),
        ));
    }
    if let Some((a, b, ratio)) = W2_PAIRED.with(|w| *w.borrow()) {
        rows.push((
            "W2 check, paired rounds".into(),
            format!("{a:.1} ns/decision"),
            format!("{b:.1} ns/lookup"),
            format!("{ratio:.2}× naive's time (paired)"),
        ));
    }
    for (t, a, b, ratio) in PAIRED.with(|p| p.borrow().clone()) {
        rows.push((
            format!("W3 admit, {t} thread{}", if t == 1 { "" } else { "s" }),
            format!("{a:.1} ns/request"),
            format!("{b:.1} ns/request"),
            format!("{ratio:.2}× governor's time (paired)"),
        ));
    }
    if let (Some(a), Some(b)) = (
        mean_ns("W4/scapi eval --format json"),
        mean_ns("W4/serde_json parse of the lines"),
    ) {
        rows.push((
            "W4 eval, 1M JSONL requests".into(),
            format!("{:.2} M decisions/s", 1e3 / a * 1e6),
            format!("{:.2} M lines/s", 1e3 / b * 1e6),
            format!("{:.2}× the parse floor", b / a),
        ));
    }
    if let Some((with, without, added)) = W7.with(|w| *w.borrow()) {
        rows.push((
            "W7 decide (check + limit), metrics on".into(),
            format!("{with:.1} ns/decision"),
            format!("off: {without:.1} ns/decision"),
            format!("{added:+.1} ns for metrics (paired)"),
        ));
    }
    if let Some((candidate, log)) = W7_EXTRAS.with(|w| *w.borrow()) {
        rows.push((
            "W7 … plus a candidate; plus a log record".into(),
            format!("{candidate:+.1} ns; {log:+.1} ns"),
            "metrics off".into(),
            "(rules of thumb)".into(),
        ));
    }
    if let (Some(a), Some(b)) = (
        mean_ns("W6/scapi admit, distinct names/1000000"),
        mean_ns("W6/scapi admit, distinct names/1000"),
    ) {
        rows.push((
            "W6 admit, one client, 1M names outside the catalog".into(),
            format!("{:.1} ns/request", a / 1e6),
            format!("1k names: {:.1} ns/request", b / 1e6),
            format!("{:.2}× the 1k cost", a / b),
        ));
    }
    scapi_testkit::bench::print_table(&rows);
}

/// Whether the command line's filters (`cargo bench -- W2`) select a
/// workload; no filter selects all.
fn selected(workload: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty()
        || filters
            .iter()
            .any(|f| f.contains(workload) || workload.contains(f.as_str()))
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    // W3 first: its memory-bound passes are measured on a heap no other
    // workload has fragmented yet.
    w3(&mut c);
    w1(&mut c);
    w2(&mut c);
    w4(&mut c);
    w6(&mut c);
    w7(&mut c);
    c.final_summary();
    report();
}
