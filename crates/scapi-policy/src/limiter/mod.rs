//! The rate limiter: fixed one-minute windows with quarantine.
//!
//! Counters are kept per (client, request name). With a limit L > 0, the
//! first L requests of a window aligned to the Unix epoch are admitted; the
//! next one gets the rate-limit error result and starts the quarantine of
//! that (client, request) at that instant; during the quarantine every
//! request of that type is ignored. **At most L requests are admitted per
//! (client, request, window), always**: the quarantine is a penalty on top
//! of the window, not a reset of it — a request after the quarantine, in a
//! window that already admitted L, is refused again (error result, new
//! quarantine). A quarantine delay of 0 lasts until the session ends.
//!
//! The transition is one pure function, [`step`]; a store applies it
//! atomically per key. [`CounterStore`] is the contract, written for a
//! store across a network as much as for memory: every call may fail, the
//! time is the caller's or the store's own ([`At`]), and
//! [`AsyncCounterStore`] is the same contract for brokers on an async
//! runtime, whose threads must not block on a round trip. The in-memory
//! [`MemoryStore`] implements both and never fails.
//!
//! **Time going backwards** never grants budget: a counter's window never
//! moves back, so a request stamped earlier than the counter's window counts
//! in that window (and a quarantine it starts starts at the window's start,
//! not earlier); a quarantine ends only when time reaches its end.
//!
//! **Memory per client is bounded.** A frame granted a pattern (`*`,
//! `agent.*`) chooses its own request names. A client has at most one
//! counter per catalog request and [`MAX_OTHER_NAMES`] counters for names
//! outside the catalog; further names share one more counter, checked
//! against each request's own limit — such a client is limited sooner,
//! never later, and never unlimited.

mod clock;
mod memory;
mod step;
mod store;

#[cfg(feature = "fast-clock")]
pub use clock::FastClock;
pub use clock::{Clock, DefaultClock, ManualClock, SystemClock};
pub use memory::{MAX_OTHER_NAMES, MemoryStore};
pub(crate) use step::is_idle;
pub use step::{Admission, CounterState, Headroom, Limit, step};
pub use store::{AsyncCounterStore, At, CounterKey, CounterStore};

use crate::catalog;
use crate::policy::{Quarantine, RateLimits, WINDOW_SECONDS};
use serde::Serialize;
use std::num::NonZeroU32;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

const WINDOW_MILLIS: Millis = WINDOW_SECONDS as Millis * 1000;

/// The start of the window holding `t`: `floor(t / 60 s) * 60 s`.
pub fn window_start(t: Millis) -> Millis {
    t.div_euclid(WINDOW_MILLIS).saturating_mul(WINDOW_MILLIS)
}

/// The rate limiter of a policy: its limits and a counter store.
/// `Send + Sync`; share it between the threads (or tasks) of a broker.
pub struct RateLimiter<S = MemoryStore> {
    limits: RateLimits,
    /// The limit of every catalog request, by id.
    by_id: Box<[u32]>,
    store: S,
}

impl<S> std::fmt::Debug for RateLimiter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn limits_by_id(limits: &RateLimits) -> Box<[u32]> {
    catalog::all()
        .map(|id| limits.limit_for(id.name()))
        .collect()
}

impl RateLimiter {
    /// A limiter for these limits with in-memory counters on the
    /// [`DefaultClock`].
    pub fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter::with_store(limits, MemoryStore::new())
    }
}

impl<S> RateLimiter<S> {
    /// A limiter with a given store.
    pub fn with_store(limits: RateLimits, store: S) -> RateLimiter<S> {
        RateLimiter {
            by_id: limits_by_id(&limits),
            limits,
            store,
        }
    }

    /// The limits.
    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// The limit of a request name, if it has one (0 = unlimited = `None`).
    pub fn limit_for(&self, request: &str) -> Option<Limit> {
        self.limit_of(CounterKey::new("", request))
    }

    fn limit_of(&self, key: CounterKey<'_>) -> Option<Limit> {
        let n = match key.id {
            Some(id) => self.by_id.get(id.index()).copied().unwrap_or(0),
            None => self.limits.limit_for(key.request),
        };
        NonZeroU32::new(n).map(|per_minute| Limit {
            per_minute,
            quarantine: self.limits.quarantine,
        })
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }
}

impl<S: CounterStore> RateLimiter<S> {
    /// Admits one request now, by the store's clock (call it only for
    /// requests the policy allowed). A request without a limit is admitted
    /// without asking the store.
    pub fn admit(&self, client: &str, request: &str) -> Result<Admission, S::Error> {
        self.admit_key(CounterKey::new(client, request), At::Now)
    }

    /// Admits one request at a given time.
    pub fn admit_at(
        &self,
        client: &str,
        request: &str,
        now: Millis,
    ) -> Result<Admission, S::Error> {
        self.admit_key(CounterKey::new(client, request), At::Time(now))
    }

    /// Admits one request now ([`At::Now`]) or at a given time.
    pub fn admit_when(&self, client: &str, request: &str, at: At) -> Result<Admission, S::Error> {
        self.admit_key(CounterKey::new(client, request), at)
    }

    pub(crate) fn admit_key(&self, key: CounterKey<'_>, at: At) -> Result<Admission, S::Error> {
        match self.limit_of(key) {
            Some(limit) => self.store.admit(key, limit, at),
            None => Ok(Admission::Admitted(None)),
        }
    }

    /// Ends a client's session: its counters go, and with them its
    /// quarantines "until the session ends".
    pub fn end_session(&self, client: &str) -> Result<(), S::Error> {
        self.store.end_session(client)
    }
}

impl<S: AsyncCounterStore> RateLimiter<S> {
    /// [`admit`](RateLimiter::admit) for a store on an async runtime.
    pub async fn admit_async(&self, client: &str, request: &str) -> Result<Admission, S::Error> {
        self.admit_async_key(CounterKey::new(client, request), At::Now)
            .await
    }

    /// [`admit_at`](RateLimiter::admit_at) for a store on an async runtime.
    pub async fn admit_async_at(
        &self,
        client: &str,
        request: &str,
        now: Millis,
    ) -> Result<Admission, S::Error> {
        self.admit_async_key(CounterKey::new(client, request), At::Time(now))
            .await
    }

    /// [`admit_when`](RateLimiter::admit_when) for a store on an async
    /// runtime.
    pub async fn admit_async_when(
        &self,
        client: &str,
        request: &str,
        at: At,
    ) -> Result<Admission, S::Error> {
        self.admit_async_key(CounterKey::new(client, request), at)
            .await
    }

    pub(crate) async fn admit_async_key(
        &self,
        key: CounterKey<'_>,
        at: At,
    ) -> Result<Admission, S::Error> {
        match self.limit_of(key) {
            Some(limit) => self.store.admit(key, limit, at).await,
            None => Ok(Admission::Admitted(None)),
        }
    }

    /// [`end_session`](RateLimiter::end_session) for a store on an async
    /// runtime.
    pub async fn end_session_async(&self, client: &str) -> Result<(), S::Error> {
        self.store.end_session(client).await
    }
}

/// The error result of the request that exceeds a rate limit, byte for byte
/// as WWE sends it (with the request echoed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitResult {
    /// The explanation.
    pub error_message: String,
    /// The request name.
    pub request: String,
}

impl RateLimitResult {
    /// The result for `request` with this quarantine.
    pub fn new(request: &str, quarantine: Quarantine) -> RateLimitResult {
        let tail = match quarantine {
            Quarantine::Seconds(s) => format!("for {s} seconds."),
            Quarantine::Forever => "forever.".to_string(),
        };
        RateLimitResult {
            error_message: format!(
                "The rate limit for the request '{request}' has been reached.\nFurther requests of the same type will be ignored {tail}"
            ),
            request: request.to_string(),
        }
    }

    /// The result as WWE writes it: `{"errorMessage": "…", "request": "…"}`.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"errorMessage\": {}, \"request\": {}}}",
            serde_json::to_string(&self.error_message).unwrap_or_default(),
            serde_json::to_string(&self.request).unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adm(s: &MemoryStore, client: &str, request: &str, l: Limit, t: Millis) -> Admission {
        s.admit(CounterKey::new(client, request), l, At::Time(t))
    }

    fn limit(n: u32, q: u32) -> Limit {
        Limit {
            per_minute: NonZeroU32::new(n).unwrap(),
            quarantine: Quarantine::from_option(q),
        }
    }

    #[test]
    fn the_l_plus_first_request_is_limited_then_ignored_then_counted_again() {
        let s = MemoryStore::new();
        let l = limit(4, 30);
        let t0 = 1_700_000_040_000 + 40_000; // 40 s into a window
        for i in 0..4 {
            assert!(adm(&s, "c", "voice.dial", l, t0 + i).is_admitted());
        }
        let limited = adm(&s, "c", "voice.dial", l, t0 + 10);
        assert_eq!(
            limited,
            Admission::Limited {
                until: Some(t0 + 10 + 30_000)
            }
        );
        assert_eq!(
            adm(&s, "c", "voice.dial", l, t0 + 29_000),
            Admission::Ignored {
                until: Some(t0 + 30_010)
            }
        );
        // Quarantine over (mid-window of the next minute): counting from zero.
        for _ in 0..4 {
            assert!(adm(&s, "c", "voice.dial", l, t0 + 30_010).is_admitted());
        }
        assert!(matches!(
            adm(&s, "c", "voice.dial", l, t0 + 30_020),
            Admission::Limited { .. }
        ));
    }

    #[test]
    fn windows_are_aligned_to_the_epoch() {
        let s = MemoryStore::new();
        let l = limit(2, 30);
        let w = 1_700_000_040_000; // a window start
        assert_eq!(window_start(w + 59_999), w);
        assert!(adm(&s, "c", "r.x", l, w + 59_000).is_admitted());
        assert!(adm(&s, "c", "r.x", l, w + 59_999).is_admitted());
        // The next window starts a new count, one ms later.
        assert!(adm(&s, "c", "r.x", l, w + 60_000).is_admitted());
    }

    #[test]
    fn forever_and_separate_keys() {
        let s = MemoryStore::new();
        let l = limit(1, 0);
        assert!(adm(&s, "a", "r.x", l, 0).is_admitted());
        assert_eq!(
            adm(&s, "a", "r.x", l, 1),
            Admission::Limited { until: None }
        );
        assert_eq!(
            adm(&s, "a", "r.x", l, Millis::MAX),
            Admission::Ignored { until: None }
        );
        assert!(adm(&s, "b", "r.x", l, 2).is_admitted());
        assert!(adm(&s, "a", "r.y", l, 2).is_admitted());
        s.end_session("a");
        assert!(adm(&s, "a", "r.x", l, 3).is_admitted());
    }

    #[test]
    fn a_clock_going_back_grants_nothing() {
        let s = MemoryStore::new();
        let l = limit(2, 30);
        let t = 10 * WINDOW_MILLIS;
        assert!(adm(&s, "c", "r.x", l, t).is_admitted());
        assert!(adm(&s, "c", "r.x", l, t + 1).is_admitted());
        // Back into the previous window: still the same, full window.
        assert!(matches!(
            adm(&s, "c", "r.x", l, t - 5_000),
            Admission::Limited { .. }
        ));
        assert!(matches!(
            adm(&s, "c", "r.x", l, Millis::MIN),
            Admission::Ignored { .. }
        ));
    }

    #[test]
    fn arithmetic_saturates() {
        let l = Limit {
            per_minute: NonZeroU32::MAX,
            quarantine: Quarantine::from_option(u32::MAX),
        };
        let (s, a) = step(
            Some(CounterState::Counting {
                window: window_start(Millis::MAX),
                count: u32::MAX,
            }),
            l,
            Millis::MAX,
        );
        assert_eq!(
            a,
            Admission::Limited {
                until: Some(Millis::MAX)
            }
        );
        assert_eq!(
            s,
            CounterState::Quarantined {
                until: Some(Millis::MAX),
                count: u32::MAX
            }
        );
        assert_eq!(window_start(Millis::MIN), Millis::MIN);
    }

    #[test]
    fn idle_counters_are_evicted() {
        let s = MemoryStore::new();
        let l = limit(5, 30);
        for i in 0..100 {
            adm(&s, &format!("c{i}"), "r.x", l, 0);
        }
        adm(&s, "q", "r.x", limit(1, 0), 0);
        adm(&s, "q", "r.x", limit(1, 0), 0);
        assert_eq!(s.len(), 101);
        assert_eq!(s.evict_idle(WINDOW_MILLIS), 100);
        assert_eq!(
            s.state("q", "r.x"),
            Some(CounterState::Quarantined {
                until: None,
                count: 0
            })
        );
    }

    /// The vendor's example read literally: `rate-limit.voice.dial=4` with
    /// the default 30 s quarantine admits 4 in the minute, not 8.
    #[test]
    fn a_quarantine_ending_in_its_window_admits_nothing_more_there() {
        let s = MemoryStore::new();
        let l = limit(4, 30);
        let w = 1_700_000_040_000;
        for i in 0..4 {
            assert!(adm(&s, "c", "voice.dial", l, w + i * 1000).is_admitted());
        }
        let first = Admission::Limited {
            until: Some(w + 34_000),
        };
        assert_eq!(adm(&s, "c", "voice.dial", l, w + 4_000), first);
        assert_eq!(
            s.state("c", "voice.dial"),
            Some(CounterState::Quarantined {
                until: Some(w + 34_000),
                count: 4
            })
        );
        // 35 s: the quarantine is over, the window still has its 4.
        assert_eq!(
            adm(&s, "c", "voice.dial", l, w + 35_000),
            Admission::Limited {
                until: Some(w + 65_000)
            }
        );
        for t in [36_000, 37_000, 38_000, 64_999] {
            assert!(matches!(
                adm(&s, "c", "voice.dial", l, w + t),
                Admission::Ignored { .. }
            ));
        }
        // The new quarantine ends in the next window: a fresh count there.
        assert!(!is_idle(s.state("c", "voice.dial").unwrap(), w + 59_999));
        for i in 0..4 {
            assert!(adm(&s, "c", "voice.dial", l, w + 65_000 + i).is_admitted());
        }
        assert!(matches!(
            adm(&s, "c", "voice.dial", l, w + 65_010),
            Admission::Limited { .. }
        ));
        // A changed limit applies from the next request: the window's
        // count (4) is kept through the quarantine, so 6 admits 2 more.
        let six = limit(6, 30);
        assert!(matches!(
            adm(&s, "c", "voice.dial", six, w + 95_009),
            Admission::Ignored { .. }
        ));
        for _ in 0..2 {
            assert!(adm(&s, "c", "voice.dial", six, w + 95_010).is_admitted());
        }
        assert!(matches!(
            adm(&s, "c", "voice.dial", six, w + 95_011),
            Admission::Limited { .. }
        ));
    }

    #[test]
    fn the_error_result_is_byte_exact() {
        let r = RateLimitResult::new("voice.dial", Quarantine::from_option(30));
        assert_eq!(
            r.to_json(),
            r#"{"errorMessage": "The rate limit for the request 'voice.dial' has been reached.\nFurther requests of the same type will be ignored for 30 seconds.", "request": "voice.dial"}"#
        );
        assert!(
            RateLimitResult::new("email.create", Quarantine::Forever)
                .error_message
                .ends_with("ignored forever.")
        );
    }

    #[test]
    fn a_client_with_every_catalog_request_keeps_its_counters_through_sweeps() {
        let s = MemoryStore::new();
        let l = limit(5, 30);
        let w = 1_700_000_040_000;
        // Odd ids are counted in an old window, even ones in a new one.
        for (i, id) in catalog::all().enumerate() {
            let t = if i % 2 == 0 { w + 60_000 } else { w };
            adm(&s, "c", id.name(), l, t);
            adm(&s, "c", id.name(), l, t);
        }
        adm(&s, "c", "newns.x", l, w);
        assert_eq!(s.len(), catalog::SIZE + 1);
        // At the new window the old ones are idle.
        let dropped = s.evict_idle(w + 60_000);
        assert_eq!(dropped, catalog::SIZE / 2 + 1);
        for (i, id) in catalog::all().enumerate() {
            let want = (i % 2 == 0).then_some(CounterState::Counting {
                window: w + 60_000,
                count: 2,
            });
            assert_eq!(s.state("c", id.name()), want, "{}", id.name());
        }
        // Counting goes on where it was, past the inline ones.
        for id in catalog::all().step_by(2) {
            assert!(adm(&s, "c", id.name(), l, w + 60_001).is_admitted());
            assert_eq!(
                s.state("c", id.name()),
                Some(CounterState::Counting {
                    window: w + 60_000,
                    count: 3
                })
            );
        }
    }

    #[cfg(feature = "fast-clock")]
    #[test]
    fn the_fast_clock_tells_wall_time() {
        let fast = FastClock::new();
        for _ in 0..1000 {
            let (a, b) = (fast.now_millis(), SystemClock.now_millis());
            assert!((a - b).abs() < 1000, "{a} vs {b}");
        }
    }

    #[test]
    fn limiter_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RateLimiter>();
        assert_send_sync::<RateLimiter<MemoryStore<ManualClock>>>();
    }

    #[test]
    fn names_outside_the_catalog_are_bounded_per_client_and_still_limited() {
        let s = MemoryStore::new();
        let l = limit(1, 30);
        // Each of the first names has a counter of its own.
        for i in 0..MAX_OTHER_NAMES {
            assert!(adm(&s, "c", &format!("x.n{i}"), l, 0).is_admitted());
        }
        assert!(matches!(
            adm(&s, "c", "x.n0", l, 1),
            Admission::Limited { .. }
        ));
        // The rest share one: the second new name is already over the limit.
        assert!(adm(&s, "c", "x.more1", l, 2).is_admitted());
        assert!(matches!(
            adm(&s, "c", "x.more2", l, 3),
            Admission::Limited { .. }
        ));
        assert!(matches!(
            adm(&s, "c", "x.more3", l, 4),
            Admission::Ignored { .. }
        ));
        assert_eq!(s.len(), MAX_OTHER_NAMES + 1);
        // Another client is not affected; catalog names keep their own.
        assert!(adm(&s, "d", "x.more2", l, 5).is_admitted());
        assert!(adm(&s, "c", "voice.dial", l, 5).is_admitted());
        // Idle counters go, the shared one with them.
        assert_eq!(s.evict_idle(10 * WINDOW_MILLIS), MAX_OTHER_NAMES + 3);
    }

    /// A sweep that empties the table does not give a name that counted
    /// on the shared counter a fresh one of its own.
    #[test]
    fn a_name_on_the_shared_counter_stays_there_through_sweeps() {
        let s = MemoryStore::new();
        let l = limit(1, 0);
        for i in 0..MAX_OTHER_NAMES {
            adm(&s, "c", &format!("x.n{i}"), l, 0);
        }
        // `x.target` shares the overflow counter and is quarantined forever.
        assert!(adm(&s, "c", "x.target", l, WINDOW_MILLIS).is_admitted());
        assert_eq!(
            adm(&s, "c", "x.target", l, WINDOW_MILLIS + 1),
            Admission::Limited { until: None }
        );
        // The named counters are idle a window later; the shared one is not.
        assert_eq!(s.evict_idle(2 * WINDOW_MILLIS), MAX_OTHER_NAMES);
        assert_eq!(
            adm(&s, "c", "x.target", l, 3 * WINDOW_MILLIS),
            Admission::Ignored { until: None }
        );
        assert_eq!(
            adm(&s, "c", "x.brand-new", l, 3 * WINDOW_MILLIS),
            Admission::Ignored { until: None }
        );
    }

    #[test]
    fn the_store_clock_gives_now() {
        let s = MemoryStore::with_clock(ManualClock::new(5_000));
        let l = limit(1, 30);
        let key = CounterKey::new("c", "voice.dial");
        assert!(s.admit(key, l, At::Now).is_admitted());
        assert_eq!(
            s.admit(key, l, At::Now),
            Admission::Limited {
                until: Some(35_000)
            }
        );
        let limiter = RateLimiter::with_store(
            RateLimits {
                default: 1,
                ..RateLimits::default()
            },
            MemoryStore::with_clock(ManualClock::new(0)),
        );
        let Ok(a) = limiter.admit("c", "agent.get");
        assert!(a.is_admitted());
        let Ok(a) = limiter.admit_at("c", "agent.get", 1);
        assert!(matches!(a, Admission::Limited { .. }));
    }
}
