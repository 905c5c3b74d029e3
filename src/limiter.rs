//! The rate limiter: fixed one-minute windows with quarantine (SPEC §3).
//!
//! Counters are kept per (client, request name). With a limit L > 0, the
//! first L requests of a window aligned to the Unix epoch are admitted; the
//! next one gets the rate-limit error result and starts the quarantine of
//! that (client, request) at that instant; during the quarantine every
//! request of that type is ignored; when it ends the counter starts again
//! from zero. A quarantine delay of 0 lasts until the session ends.
//!
//! The transition is one pure function, [`step`]; a [`CounterStore`] applies
//! it atomically per key (the in-memory [`MemoryStore`] here; a shared store
//! for broker fleets can implement the same trait). Time comes from a
//! [`Clock`], so tests and `scapi eval` drive it.
//!
//! **Time going backwards** never grants budget: a counter's window never
//! moves back, so a request stamped earlier than the counter's window counts
//! in that window; a quarantine ends only when time reaches its end.

use crate::catalog::{self, RequestId};
use crate::policy::{Quarantine, RateLimits, WINDOW_SECONDS};
use hashbrown::HashTable;
use serde::Serialize;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

const WINDOW_MILLIS: Millis = WINDOW_SECONDS as Millis * 1000;

/// The start of the window holding `t`: `floor(t / 60 s) * 60 s`.
pub fn window_start(t: Millis) -> Millis {
    t.div_euclid(WINDOW_MILLIS).saturating_mul(WINDOW_MILLIS)
}

/// Where the limiter gets the time.
pub trait Clock: Send + Sync {
    /// Now, in milliseconds since the Unix epoch.
    fn now_millis(&self) -> Millis;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> Millis {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        // 64-bit arithmetic: `as_millis` works in 128 bits, a measurable
        // part of an admission.
        Millis::try_from(d.as_secs())
            .unwrap_or(Millis::MAX / 1000)
            .saturating_mul(1000)
            .saturating_add(Millis::from(d.subsec_millis()))
    }
}

/// A clock set by hand (tests, replaying request files).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock at `t`.
    pub fn new(t: Millis) -> ManualClock {
        ManualClock(AtomicI64::new(t))
    }

    /// Sets the time.
    pub fn set(&self, t: Millis) {
        self.0.store(t, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

/// The limit applying to one counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limit {
    /// Requests admitted per window.
    pub per_minute: NonZeroU32,
    /// The quarantine after the limit is exceeded.
    pub quarantine: Quarantine,
}

/// The state of one (client, request) counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CounterState {
    /// Counting requests in the window starting at `window`.
    Counting {
        /// Window start.
        window: Millis,
        /// Requests admitted in it.
        count: u32,
    },
    /// Ignoring requests until `until` (`None`: until the session ends).
    Quarantined {
        /// End of the quarantine.
        until: Option<Millis>,
    },
}

/// What the limiter does with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Admission {
    /// Passed on.
    Admitted,
    /// Over the limit: answered with the rate-limit error result; the
    /// request type is quarantined until `until` (`None`: forever).
    Limited {
        /// End of the quarantine that starts now.
        until: Option<Millis>,
    },
    /// Quarantined: no answer.
    Ignored {
        /// End of the quarantine.
        until: Option<Millis>,
    },
}

/// One request at `now` against a counter (`None`: never seen). Returns the
/// new state and the admission. Pure: stores apply it atomically.
pub fn step(state: Option<CounterState>, limit: Limit, now: Millis) -> (CounterState, Admission) {
    let fresh = CounterState::Counting {
        window: window_start(now),
        count: 0,
    };
    let (window, count) = match state.unwrap_or(fresh) {
        CounterState::Quarantined { until: Some(end) } if now >= end => (window_start(now), 0),
        q @ CounterState::Quarantined { until } => return (q, Admission::Ignored { until }),
        // The window never moves back, so an earlier timestamp gains nothing.
        CounterState::Counting { window, count } => {
            let current = window_start(now);
            if current > window {
                (current, 0)
            } else {
                (window, count)
            }
        }
    };
    if count < limit.per_minute.get() {
        return (
            CounterState::Counting {
                window,
                count: count.saturating_add(1),
            },
            Admission::Admitted,
        );
    }
    let until = match limit.quarantine {
        Quarantine::Seconds(s) => {
            Some(now.saturating_add(Millis::from(s.get()).saturating_mul(1000)))
        }
        Quarantine::Forever => None,
    };
    (
        CounterState::Quarantined { until },
        Admission::Limited { until },
    )
}

/// Whether a counter behaves exactly like a fresh one at `now`, so it can be
/// dropped.
pub fn is_idle(state: CounterState, now: Millis) -> bool {
    match state {
        CounterState::Counting { window, .. } => window < window_start(now),
        CounterState::Quarantined { until: Some(end) } => now >= end,
        CounterState::Quarantined { until: None } => false,
    }
}

/// Where counters live. Implementations apply [`step`] atomically per
/// (client, request) key.
pub trait CounterStore: Send + Sync {
    /// Applies one request of `client` for `request` at `now`.
    fn admit(&self, client: &str, request: &str, limit: Limit, now: Millis) -> Admission;

    /// [`admit`](CounterStore::admit) when the caller has looked the
    /// request up in the catalog already (`id`), so a store keyed by catalog
    /// id need not look again.
    fn admit_known(
        &self,
        client: &str,
        request: &str,
        id: Option<RequestId>,
        limit: Limit,
        now: Millis,
    ) -> Admission {
        let _ = id;
        self.admit(client, request, limit, now)
    }

    /// Drops every counter of a client whose session ended (this also ends
    /// its quarantines "until the session ends").
    fn end_session(&self, client: &str);

    /// Drops counters that are idle at `now` ([`is_idle`]); returns how many.
    fn evict_idle(&self, now: Millis) -> usize;
}

/// A counter's request: a catalog id (compared as a byte) or another name.
#[derive(Debug)]
enum RequestKey {
    Catalog(RequestId),
    Other(Box<str>),
}

impl RequestKey {
    fn new(id: Option<RequestId>, name: &str) -> RequestKey {
        match id {
            Some(id) => RequestKey::Catalog(id),
            None => RequestKey::Other(name.into()),
        }
    }

    fn is(&self, id: Option<RequestId>, name: &str) -> bool {
        match (self, id) {
            (RequestKey::Catalog(a), Some(b)) => *a == b,
            (RequestKey::Other(a), None) => **a == *name,
            _ => false,
        }
    }
}

/// Client ids up to this many bytes (nearly all) are kept in the counter
/// itself.
const INLINE_CLIENT: usize = 22;

/// A client id, inline when short, so that finding a counter reads one
/// entry and no string elsewhere.
#[derive(Debug)]
enum ClientName {
    Inline { len: u8, bytes: [u8; INLINE_CLIENT] },
    Heap(Box<str>),
}

impl ClientName {
    fn new(s: &str) -> ClientName {
        let mut bytes = [0u8; INLINE_CLIENT];
        match (bytes.get_mut(..s.len()), u8::try_from(s.len())) {
            (Some(prefix), Ok(len)) => {
                prefix.copy_from_slice(s.as_bytes());
                ClientName::Inline { len, bytes }
            }
            _ => ClientName::Heap(s.into()),
        }
    }

    fn is(&self, s: &str) -> bool {
        match self {
            ClientName::Inline { len, bytes } => {
                bytes.get(..usize::from(*len)) == Some(s.as_bytes())
            }
            ClientName::Heap(h) => **h == *s,
        }
    }
}

/// A counter's state as stored: 16 bytes, where [`CounterState`] takes 24.
#[derive(Clone, Copy, Debug)]
enum Stored {
    Counting { window: Millis, count: u32 },
    Until(Millis),
    Forever,
}

impl From<CounterState> for Stored {
    fn from(s: CounterState) -> Stored {
        match s {
            CounterState::Counting { window, count } => Stored::Counting { window, count },
            CounterState::Quarantined { until: Some(t) } => Stored::Until(t),
            CounterState::Quarantined { until: None } => Stored::Forever,
        }
    }
}

impl From<Stored> for CounterState {
    fn from(s: Stored) -> CounterState {
        match s {
            Stored::Counting { window, count } => CounterState::Counting { window, count },
            Stored::Until(t) => CounterState::Quarantined { until: Some(t) },
            Stored::Forever => CounterState::Quarantined { until: None },
        }
    }
}

/// One (client, request) counter: 56 bytes, one cache line.
#[derive(Debug)]
struct Counter {
    client: ClientName,
    request: RequestKey,
    state: Stored,
}

struct ShardState {
    counters: HashTable<Counter>,
    sweep_at: usize,
}

/// A shard on cache lines of its own: threads working on different shards
/// never write to the same line.
#[repr(align(128))]
struct Shard(Mutex<ShardState>);

/// In-memory counters, sharded by client so requests of different clients
/// rarely contend, and all of a client's counters share a shard.
///
/// An admission hashes the client once (SipHash with a random key: clients
/// cannot choose colliding ids); that hash picks the shard, and mixed with
/// the request's catalog id it finds the counter. A counter holds its
/// client id (inline when short) and its state, so an admission reads one
/// table entry. Idle counters are swept when a shard doubles in size, so
/// memory stays proportional to the counters in use.
pub struct MemoryStore {
    shards: [Shard; SHARDS],
    hasher: RandomState,
}

const SHARDS: usize = 64;
const FIRST_SWEEP: usize = 1024;

impl Default for MemoryStore {
    fn default() -> MemoryStore {
        MemoryStore::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("counters", &self.len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        let shards = std::array::from_fn(|_| {
            Shard(Mutex::new(ShardState {
                counters: HashTable::new(),
                sweep_at: FIRST_SWEEP,
            }))
        });
        MemoryStore {
            shards,
            hasher: RandomState::new(),
        }
    }

    /// The client's shard and the counter's hash. The shard comes from
    /// bits of the client's hash the table does not use for its slots or
    /// tags; the counter's hash mixes in the request.
    // The index is masked to the number of shards, never input itself.
    #[allow(clippy::indexing_slicing)]
    fn locate(
        &self,
        client: &str,
        id: Option<RequestId>,
        request: &str,
    ) -> (&Mutex<ShardState>, u64) {
        let h = self.hasher.hash_one(client);
        let shard = &self.shards[((h >> 32) as usize) & (SHARDS - 1)].0;
        (shard, h ^ self.request_hash(id, request))
    }

    fn request_hash(&self, id: Option<RequestId>, request: &str) -> u64 {
        match id {
            Some(id) => (id.index() as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            None => self.hasher.hash_one(request).rotate_left(17),
        }
    }

    /// A stored counter's hash, computed again when the table grows.
    fn rehash(&self, c: &Counter) -> u64 {
        let client = match &c.client {
            ClientName::Inline { len, bytes } => self.hasher.hash_one(
                std::str::from_utf8(bytes.get(..usize::from(*len)).unwrap_or(&[])).unwrap_or(""),
            ),
            ClientName::Heap(h) => self.hasher.hash_one(&**h),
        };
        let request = match &c.request {
            RequestKey::Catalog(id) => self.request_hash(Some(*id), ""),
            RequestKey::Other(name) => self.request_hash(None, name),
        };
        client ^ request
    }

    /// How many counters are held.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(&s.0).counters.len()).sum()
    }

    /// Whether no counter is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The state of a counter, if held.
    pub fn state(&self, client: &str, request: &str) -> Option<CounterState> {
        let id = catalog::lookup(request);
        let (shard, hash) = self.locate(client, id, request);
        lock(shard)
            .counters
            .find(hash, |c| c.request.is(id, request) && c.client.is(client))
            .map(|c| c.state.into())
    }

    fn admit_id(
        &self,
        client: &str,
        request: &str,
        id: Option<RequestId>,
        limit: Limit,
        now: Millis,
    ) -> Admission {
        let (shard, hash) = self.locate(client, id, request);
        let mut guard = lock(shard);
        let shard = &mut *guard;
        let found = shard
            .counters
            .find_mut(hash, |c| c.request.is(id, request) && c.client.is(client));
        if let Some(c) = found {
            let (next, admission) = step(Some(c.state.into()), limit, now);
            c.state = next.into();
            return admission;
        }
        let (state, admission) = step(None, limit, now);
        shard.counters.insert_unique(
            hash,
            Counter {
                client: ClientName::new(client),
                request: RequestKey::new(id, request),
                state: state.into(),
            },
            |c| self.rehash(c),
        );
        if shard.counters.len() > shard.sweep_at {
            sweep(shard, now);
        }
        admission
    }
}

/// Locks a shard; a poisoned lock (a panic elsewhere) still holds valid
/// counters, so it is used as is.
fn lock(m: &Mutex<ShardState>) -> std::sync::MutexGuard<'_, ShardState> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn sweep(shard: &mut ShardState, now: Millis) -> usize {
    let before = shard.counters.len();
    shard.counters.retain(|c| !is_idle(c.state.into(), now));
    let kept = shard.counters.len();
    shard.sweep_at = (kept * 2).max(FIRST_SWEEP);
    before - kept
}

impl CounterStore for MemoryStore {
    fn admit(&self, client: &str, request: &str, limit: Limit, now: Millis) -> Admission {
        self.admit_id(client, request, catalog::lookup(request), limit, now)
    }

    fn admit_known(
        &self,
        client: &str,
        request: &str,
        id: Option<RequestId>,
        limit: Limit,
        now: Millis,
    ) -> Admission {
        self.admit_id(client, request, id, limit, now)
    }

    fn end_session(&self, client: &str) {
        // All of a client's counters are in the shard its hash picks.
        let (shard, _) = self.locate(client, None, "");
        lock(shard).counters.retain(|c| !c.client.is(client));
    }

    fn evict_idle(&self, now: Millis) -> usize {
        self.shards
            .iter()
            .map(|s| sweep(&mut lock(&s.0), now))
            .sum()
    }
}

/// The rate limiter of a policy: limits, a counter store and a clock.
/// `Send + Sync`; share it between the threads of a broker.
pub struct RateLimiter<S: CounterStore = MemoryStore, C: Clock = SystemClock> {
    limits: RateLimits,
    /// The limit of every catalog request, by id.
    by_id: Box<[u32]>,
    store: S,
    clock: C,
}

fn limits_by_id(limits: &RateLimits) -> Box<[u32]> {
    catalog::all()
        .map(|id| limits.limit_for(id.name()))
        .collect()
}

impl RateLimiter {
    /// A limiter for these limits with in-memory counters and the system clock.
    pub fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter {
            by_id: limits_by_id(&limits),
            limits,
            store: MemoryStore::new(),
            clock: SystemClock,
        }
    }
}

impl<S: CounterStore, C: Clock> RateLimiter<S, C> {
    /// A limiter with a given store and clock.
    pub fn with(limits: RateLimits, store: S, clock: C) -> RateLimiter<S, C> {
        RateLimiter {
            by_id: limits_by_id(&limits),
            limits,
            store,
            clock,
        }
    }

    /// The limit of a request name, if it has one (0 = unlimited = `None`).
    pub fn limit_for(&self, request: &str) -> Option<Limit> {
        self.limit_of(catalog::lookup(request), request)
    }

    fn limit_of(&self, id: Option<RequestId>, request: &str) -> Option<Limit> {
        let n = match id {
            Some(id) => self.by_id.get(id.index()).copied().unwrap_or(0),
            None => self.limits.limit_for(request),
        };
        NonZeroU32::new(n).map(|per_minute| Limit {
            per_minute,
            quarantine: self.limits.quarantine,
        })
    }

    /// Admits one request now (call it only for requests the policy allowed).
    pub fn admit(&self, client: &str, request: &str) -> Admission {
        self.admit_at(client, request, self.clock.now_millis())
    }

    /// Admits one request at a given time.
    pub fn admit_at(&self, client: &str, request: &str, now: Millis) -> Admission {
        let id = catalog::lookup(request);
        match self.limit_of(id, request) {
            Some(limit) => self.store.admit_known(client, request, id, limit, now),
            None => Admission::Admitted,
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
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
            assert_eq!(s.admit("c", "voice.dial", l, t0 + i), Admission::Admitted);
        }
        let limited = s.admit("c", "voice.dial", l, t0 + 10);
        assert_eq!(
            limited,
            Admission::Limited {
                until: Some(t0 + 10 + 30_000)
            }
        );
        assert_eq!(
            s.admit("c", "voice.dial", l, t0 + 29_000),
            Admission::Ignored {
                until: Some(t0 + 30_010)
            }
        );
        // Quarantine over (mid-window of the next minute): counting from zero.
        for _ in 0..4 {
            assert_eq!(
                s.admit("c", "voice.dial", l, t0 + 30_010),
                Admission::Admitted
            );
        }
        assert!(matches!(
            s.admit("c", "voice.dial", l, t0 + 30_020),
            Admission::Limited { .. }
        ));
    }

    #[test]
    fn windows_are_aligned_to_the_epoch() {
        let s = MemoryStore::new();
        let l = limit(2, 30);
        let w = 1_700_000_040_000; // a window start
        assert_eq!(window_start(w + 59_999), w);
        assert_eq!(s.admit("c", "r.x", l, w + 59_000), Admission::Admitted);
        assert_eq!(s.admit("c", "r.x", l, w + 59_999), Admission::Admitted);
        // The next window starts a new count, one ms later.
        assert_eq!(s.admit("c", "r.x", l, w + 60_000), Admission::Admitted);
    }

    #[test]
    fn forever_and_separate_keys() {
        let s = MemoryStore::new();
        let l = limit(1, 0);
        assert_eq!(s.admit("a", "r.x", l, 0), Admission::Admitted);
        assert_eq!(
            s.admit("a", "r.x", l, 1),
            Admission::Limited { until: None }
        );
        assert_eq!(
            s.admit("a", "r.x", l, Millis::MAX),
            Admission::Ignored { until: None }
        );
        assert_eq!(s.admit("b", "r.x", l, 2), Admission::Admitted);
        assert_eq!(s.admit("a", "r.y", l, 2), Admission::Admitted);
        s.end_session("a");
        assert_eq!(s.admit("a", "r.x", l, 3), Admission::Admitted);
    }

    #[test]
    fn a_clock_going_back_grants_nothing() {
        let s = MemoryStore::new();
        let l = limit(2, 30);
        let t = 10 * WINDOW_MILLIS;
        assert_eq!(s.admit("c", "r.x", l, t), Admission::Admitted);
        assert_eq!(s.admit("c", "r.x", l, t + 1), Admission::Admitted);
        // Back into the previous window: still the same, full window.
        assert!(matches!(
            s.admit("c", "r.x", l, t - 5_000),
            Admission::Limited { .. }
        ));
        assert!(matches!(
            s.admit("c", "r.x", l, Millis::MIN),
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
                until: Some(Millis::MAX)
            }
        );
        assert_eq!(window_start(Millis::MIN), Millis::MIN);
    }

    #[test]
    fn idle_counters_are_evicted() {
        let s = MemoryStore::new();
        let l = limit(5, 30);
        for i in 0..100 {
            s.admit(&format!("c{i}"), "r.x", l, 0);
        }
        s.admit("q", "r.x", limit(1, 0), 0);
        s.admit("q", "r.x", limit(1, 0), 0);
        assert_eq!(s.len(), 101);
        assert_eq!(s.evict_idle(WINDOW_MILLIS), 100);
        assert_eq!(
            s.state("q", "r.x"),
            Some(CounterState::Quarantined { until: None })
        );
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
    fn limiter_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RateLimiter>();
        assert_send_sync::<RateLimiter<MemoryStore, ManualClock>>();
    }
}
