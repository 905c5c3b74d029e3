//! The shared rate limiter under load and against a reference model.
//!
//! * Many threads hammering the same counters admit exactly the limit per
//!   window, limit exactly once, then ignore until the quarantine ends; a
//!   quarantine that ends in the window it started in admits nothing more
//!   in that window — never one request more than the limit per window.
//! * Sessions ending and idle sweeps racing with admissions neither deadlock
//!   nor lose the counters still in use.
//! * On random timelines (time going backwards included, several clients and
//!   requests, per-request overrides, quarantine forever) a naive model of
//!   the README's rate-limit semantics and the limiter agree on every request.
//!
//! Every threaded test runs under a watchdog: a deadlock fails the test
//! instead of hanging CI.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use scapi_policy::limiter::{Admission, Headroom, ManualClock, MemoryStore, Millis, RateLimiter};
use scapi_policy::policy::{Quarantine, RateLimits};
use std::collections::{BTreeMap, HashMap};
use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const THREADS: usize = 8;
const MINUTE: Millis = 60_000;
/// A window start (2026-11-21T00:00:00Z).
const W: Millis = 1_795_219_200_000;

/// Runs `body` on its own thread and fails if it does not finish in time.
fn watchdog(name: &str, body: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        body();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(()) => handle.join().unwrap(),
        // The body panicked: re-raise its failure.
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(e) = handle.join() {
                std::panic::resume_unwind(e);
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{name}: no progress in 120 s (deadlock?)")
        }
    }
}

fn limits(default: u32, quarantine: u32) -> RateLimits {
    RateLimits {
        default,
        per_request: BTreeMap::new(),
        quarantine: Quarantine::from_option(quarantine),
    }
}

#[derive(Default, Debug, PartialEq, Eq, Clone, Copy)]
struct Tally {
    admitted: usize,
    limited: usize,
    ignored: usize,
}

impl Tally {
    fn add(&mut self, a: Admission) {
        match a {
            Admission::Admitted(_) => self.admitted += 1,
            Admission::Limited { .. } => self.limited += 1,
            Admission::Ignored { .. } => self.ignored += 1,
        }
    }
}

/// `THREADS` threads send `per_thread` requests for every (client, request)
/// key at time `t`, interleaved so that all threads contend for the same
/// counters; returns the tally per key.
fn hammer(
    limiter: &RateLimiter<MemoryStore<ManualClock>>,
    keys: &[(String, &'static str)],
    per_thread: usize,
    t: Millis,
) -> HashMap<(String, &'static str), Tally> {
    let start = Barrier::new(THREADS);
    let tallies: Vec<HashMap<(String, &'static str), Tally>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let start = &start;
                s.spawn(move || {
                    let mut mine: HashMap<(String, &'static str), Tally> = HashMap::new();
                    start.wait();
                    for round in 0..per_thread {
                        // Each thread walks the keys from a different place.
                        for k in 0..keys.len() {
                            let (client, request) = &keys[(k + i * 7 + round) % keys.len()];
                            let Ok(a) = limiter.admit_at(client, request, t);
                            mine.entry((client.clone(), request)).or_default().add(a);
                        }
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut total: HashMap<(String, &'static str), Tally> = HashMap::new();
    for m in tallies {
        for (k, v) in m {
            let t = total.entry(k).or_default();
            t.admitted += v.admitted;
            t.limited += v.limited;
            t.ignored += v.ignored;
        }
    }
    total
}

fn keys() -> Vec<(String, &'static str)> {
    let mut keys = Vec::new();
    for c in 0..16 {
        for r in [
            "voice.dial",
            "agent.get",
            "interaction.setUserData",
            "media.x",
        ] {
            keys.push((format!("agent-{c}"), r));
        }
    }
    keys
}

#[test]
fn threads_admit_exactly_the_limit_and_honour_the_quarantine() {
    watchdog("exact admissions", || {
        const LIMIT: usize = 50;
        const PER_THREAD: usize = 40;
        let limiter =
            RateLimiter::with_store(limits(50, 30), MemoryStore::with_clock(ManualClock::new(W)));
        let keys = keys();
        let sent = THREADS * PER_THREAD;
        // Window 1, one second in: exactly L admitted, one limited, the rest
        // ignored, for every key, however the threads interleave.
        let t0 = W + 1_000;
        for (k, t) in hammer(&limiter, &keys, PER_THREAD, t0) {
            let want = Tally {
                admitted: LIMIT,
                limited: 1,
                ignored: sent - LIMIT - 1,
            };
            assert_eq!(t, want, "{k:?} at the start");
        }
        // 29.999 s later, in the same quarantine: nothing gets through.
        for (k, t) in hammer(&limiter, &keys, PER_THREAD, t0 + 29_999) {
            assert_eq!((t.admitted, t.limited, t.ignored), (0, 0, sent), "{k:?}");
        }
        // The quarantine (from t0) ends at t0 + 30 s, in the same window,
        // which has admitted its L already: refused again (one error
        // result, a new quarantine until t0 + 60 s), nothing admitted.
        for (k, t) in hammer(&limiter, &keys, PER_THREAD, t0 + 30_000) {
            assert_eq!((t.admitted, t.limited), (0, 1), "{k:?} after quarantine");
        }
        // The next window does not end a running quarantine.
        for (k, t) in hammer(&limiter, &keys, PER_THREAD, W + MINUTE) {
            assert_eq!(t.admitted, 0, "{k:?} in the next window");
        }
        // After it ends, a fresh count in the window of that instant.
        for (k, t) in hammer(&limiter, &keys, PER_THREAD, t0 + 60_000) {
            assert_eq!((t.admitted, t.limited), (LIMIT, 1), "{k:?} later");
        }
        assert_eq!(limiter.store().len(), keys.len());
    });
}

#[test]
fn under_the_limit_everything_is_admitted_and_windows_reset() {
    watchdog("windows", || {
        let limiter = RateLimiter::with_store(
            limits(u32::try_from(THREADS).unwrap() * 10 + 1, 30),
            MemoryStore::with_clock(ManualClock::new(W)),
        );
        let keys = keys();
        // The third run's clock has gone back into the first window: its
        // requests count in the counters' newer window, which has room for
        // exactly one more.
        for (run, t) in [W + 5_000, W + MINUTE + 5_000, W + MINUTE - 1]
            .into_iter()
            .enumerate()
        {
            for (k, tally) in hammer(&limiter, &keys, 10, t) {
                let (admitted, limited) = if run == 2 { (1, 1) } else { (THREADS * 10, 0) };
                assert_eq!(
                    (tally.admitted, tally.limited),
                    (admitted, limited),
                    "{k:?} run {run}"
                );
            }
        }
    });
}

#[test]
fn forever_quarantine_lasts_until_the_session_ends() {
    watchdog("forever", || {
        let limiter =
            RateLimiter::with_store(limits(3, 0), MemoryStore::with_clock(ManualClock::new(W)));
        let keys = keys();
        for (_, t) in hammer(&limiter, &keys, 5, W) {
            assert_eq!((t.admitted, t.limited), (3, 1));
        }
        for (_, t) in hammer(&limiter, &keys, 5, W + 365 * 24 * 60 * MINUTE) {
            assert_eq!(t.admitted, 0);
        }
        for c in 0..16 {
            limiter.store().end_session(&format!("agent-{c}"));
        }
        assert!(limiter.store().is_empty());
        for (_, t) in hammer(&limiter, &keys, 5, W + 2 * MINUTE) {
            assert_eq!((t.admitted, t.limited), (3, 1));
        }
    });
}

#[test]
fn sessions_ending_and_sweeps_race_with_admissions_safely() {
    watchdog("races", || {
        let limiter =
            RateLimiter::with_store(limits(5, 1), MemoryStore::with_clock(ManualClock::new(W)));
        let done = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for i in 0..THREADS {
                let limiter = &limiter;
                let done = &done;
                s.spawn(move || {
                    for n in 0..20_000i64 {
                        let client = format!("c{}", (n * 7 + i as i64) % 3000);
                        let t = W + n * 37 % (5 * MINUTE);
                        match n % 97 {
                            0 => limiter.store().end_session(&client),
                            1 if i == 0 => {
                                limiter.store().evict_idle(t);
                            }
                            _ => {
                                let Ok(_) = limiter.admit_at(&client, "voice.dial", t);
                            }
                        }
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(done.load(Ordering::SeqCst), THREADS);
        // Idle counters can all be dropped once time has moved on; the store
        // stays consistent.
        limiter.store().evict_idle(W + 100 * MINUTE);
        assert!(limiter.store().is_empty());
    });
}

/// A counter of the model: the window start, the requests admitted in it,
/// and the quarantine, if one runs (`Some(None)`: forever).
type ModelCounter = (Millis, u32, Option<Option<Millis>>);

/// The rate-limit rules of the README's rate-limit semantics, written out naively per key.
#[derive(Debug, Default)]
struct Model {
    keys: HashMap<(u8, u8), ModelCounter>,
}

impl Model {
    fn admit(&mut self, limits: &RateLimits, key: (u8, u8), name: &str, t: Millis) -> Admission {
        let limit = limits
            .per_request
            .get(name)
            .copied()
            .unwrap_or(limits.default);
        if limit == 0 {
            return Admission::Admitted(None);
        }
        let window_of = |t: Millis| t.div_euclid(MINUTE) * MINUTE;
        let (window, count, quarantine) = self.keys.entry(key).or_insert((window_of(t), 0, None));
        match *quarantine {
            Some(Some(end)) if t >= end => *quarantine = None,
            Some(until) => return Admission::Ignored { until },
            None => {}
        }
        // A new window starts a new count; an older one counts in the newer.
        if window_of(t) > *window {
            *window = window_of(t);
            *count = 0;
        }
        if *count < limit {
            *count += 1;
            return Admission::Admitted(Some(Headroom {
                limit,
                remaining: limit - *count,
                reset_at: *window + MINUTE,
            }));
        }
        // Stamped before the counter's window: from the window's start.
        let until = limits
            .quarantine
            .seconds()
            .map(|s| t.max(*window) + Millis::from(s) * 1000);
        *quarantine = Some(until);
        Admission::Limited { until }
    }
}

const NAMES: [&str; 3] = ["voice.dial", "agent.get", "media.x"];

/// Time between requests: mostly whole seconds (so quarantine ends and
/// window edges are hit exactly), sometimes milliseconds, sometimes back.
fn step() -> impl Strategy<Value = Millis> {
    prop_oneof![
        3 => (-5i64..40).prop_map(|s| s * 1000),
        1 => -70_000i64..90_000,
        1 => Just(0i64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn limiter_agrees_with_the_model(
        default in 0u32..4,
        dial in proptest::option::of(0u32..4),
        quarantine in prop_oneof![Just(0u32), 1u32..90],
        steps in proptest::collection::vec((0u8..2, 0u8..3, step()), 1..300),
    ) {
        let mut limits = limits(default, quarantine);
        if let Some(d) = dial {
            limits.per_request.insert("voice.dial".into(), d);
        }
        let limiter = RateLimiter::with_store(limits.clone(), MemoryStore::with_clock(ManualClock::new(W)));
        let mut model = Model::default();
        let mut t = W;
        for (i, (client, name, dt)) in steps.into_iter().enumerate() {
            // Mostly forward, sometimes back.
            t += dt;
            let request = NAMES[usize::from(name)];
            let want = model.admit(&limits, (client, name), request, t);
            let Ok(got) = limiter.admit_at(&format!("client-{client}"), request, t);
            prop_assert_eq!(got, want, "step {} ({} {} at {})", i, client, request, t);
        }
    }

    /// The promise an administrator reads: at most L admissions per
    /// (client, request, window), whatever the quarantine and the timing.
    #[test]
    fn never_more_than_the_limit_per_window(
        default in 1u32..6,
        quarantine in prop_oneof![Just(0u32), 1u32..130],
        steps in proptest::collection::vec((0u8..2, 0u8..3, 0i64..20_000), 1..400),
    ) {
        let limiter = RateLimiter::with_store(
            limits(default, quarantine),
            MemoryStore::with_clock(ManualClock::new(W)),
        );
        let mut admitted: HashMap<(u8, u8, Millis), u32> = HashMap::new();
        let mut t = W;
        for (client, name, dt) in steps {
            t += dt;
            let request = NAMES[usize::from(name)];
            let Ok(a) = limiter.admit_at(&format!("client-{client}"), request, t);
            if a.is_admitted() {
                let n = admitted.entry((client, name, t.div_euclid(MINUTE))).or_default();
                *n += 1;
                prop_assert!(*n <= default, "{} admitted in one window of {} {}", n, client, request);
            }
        }
    }
}
