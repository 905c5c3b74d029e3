//! The rate limiter: fixed one-minute windows with quarantine.
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

/// The wall clock, read cheaply: the time-stamp counter (through `quanta`,
/// calibrated against the OS clock) anchored to [`SystemTime`] and anchored
/// again every second, so a step of the wall clock is followed within a
/// second. About 10 ns a reading where the OS clock takes 30; the default
/// clock of [`RateLimiter::new`].
///
/// [`SystemTime`]: std::time::SystemTime
#[derive(Debug)]
pub struct FastClock {
    clock: quanta::Clock,
    /// The counter's reading at creation: monotonic time starts there.
    base: u64,
    /// Wall time minus monotonic time, in milliseconds.
    offset: AtomicI64,
    /// Monotonic time of the next anchoring.
    next_anchor: AtomicI64,
}

impl Default for FastClock {
    fn default() -> FastClock {
        FastClock::new()
    }
}

impl FastClock {
    /// A clock anchored now.
    pub fn new() -> FastClock {
        let clock = quanta::Clock::new();
        let base = clock.raw();
        let c = FastClock {
            clock,
            base,
            offset: AtomicI64::new(0),
            next_anchor: AtomicI64::new(0),
        };
        c.anchor(0);
        c
    }

    fn monotonic_millis(&self, raw: u64) -> Millis {
        let nanos = self.clock.delta_as_nanos(self.base, raw);
        Millis::try_from(nanos / 1_000_000).unwrap_or(Millis::MAX)
    }

    fn anchor(&self, mono: Millis) {
        let wall = SystemClock.now_millis();
        self.offset
            .store(wall.saturating_sub(mono), Ordering::Relaxed);
        self.next_anchor
            .store(mono.saturating_add(1000), Ordering::Relaxed);
    }
}

impl Clock for FastClock {
    fn now_millis(&self) -> Millis {
        let mono = self.monotonic_millis(self.clock.raw());
        if mono >= self.next_anchor.load(Ordering::Relaxed) {
            self.anchor(mono);
        }
        mono.saturating_add(self.offset.load(Ordering::Relaxed))
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

/// No counter for this catalog request yet.
const NO_SLOT: u8 = u8::MAX;

/// Counters a client entry holds itself; more go to a list beside it.
const INLINE_COUNTERS: usize = 24;

/// One client's counters. A catalog request finds its counter through
/// `slots` (indexed by catalog id) in one step, and the first counters live
/// in the entry itself: an admission reads one entry, in one table, with no
/// pointer to follow.
#[derive(Debug)]
struct ClientCounters {
    client: ClientName,
    /// The client's hash, for growing the table without hashing again.
    hash: u64,
    /// For each catalog id, the position of its counter (`NO_SLOT`: none).
    slots: [u8; catalog::SIZE],
    /// How many counters are in use, inline and beyond.
    used: u8,
    inline: [Stored; INLINE_COUNTERS],
    more: Vec<Stored>,
    /// Counters of request names outside the catalog.
    others: Vec<(Box<str>, Stored)>,
}

impl ClientCounters {
    fn new(client: &str, hash: u64) -> ClientCounters {
        ClientCounters {
            client: ClientName::new(client),
            hash,
            slots: [NO_SLOT; catalog::SIZE],
            used: 0,
            inline: [Stored::Forever; INLINE_COUNTERS],
            more: Vec::new(),
            others: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        usize::from(self.used) + self.others.len()
    }

    fn at(&self, pos: u8) -> Option<&Stored> {
        let pos = usize::from(pos);
        match pos.checked_sub(INLINE_COUNTERS) {
            None => self.inline.get(pos),
            Some(i) => self.more.get(i),
        }
    }

    fn at_mut(&mut self, pos: u8) -> Option<&mut Stored> {
        let pos = usize::from(pos);
        match pos.checked_sub(INLINE_COUNTERS) {
            None => self.inline.get_mut(pos),
            Some(i) => self.more.get_mut(i),
        }
    }

    /// Appends a counter; its position.
    fn push(&mut self, s: Stored) -> Option<u8> {
        let pos = self.used;
        match usize::from(pos).checked_sub(INLINE_COUNTERS) {
            None => *self.inline.get_mut(usize::from(pos))? = s,
            Some(_) => self.more.push(s),
        }
        self.used = pos.checked_add(1)?;
        Some(pos)
    }

    fn get(&self, id: Option<RequestId>, request: &str) -> Option<Stored> {
        match id {
            Some(id) => self.at(*self.slots.get(id.index())?).copied(),
            None => self
                .others
                .iter()
                .find(|(n, _)| **n == *request)
                .map(|(_, s)| *s),
        }
    }

    /// Applies one request; also says whether a counter was added.
    fn admit(
        &mut self,
        id: Option<RequestId>,
        request: &str,
        limit: Limit,
        now: Millis,
    ) -> (Admission, bool) {
        let existing = match id {
            Some(id) => {
                let slot = self.slots.get(id.index()).copied().unwrap_or(NO_SLOT);
                self.at_mut(slot)
            }
            None => self
                .others
                .iter_mut()
                .find(|(n, _)| **n == *request)
                .map(|(_, s)| s),
        };
        if let Some(state) = existing {
            let (next, admission) = step(Some((*state).into()), limit, now);
            *state = next.into();
            return (admission, false);
        }
        let (state, admission) = step(None, limit, now);
        match id {
            // At most one counter per catalog id, so positions fit a byte.
            Some(id) => {
                if let Some(pos) = self.push(state.into())
                    && let Some(slot) = self.slots.get_mut(id.index())
                {
                    *slot = pos;
                }
            }
            None => self.others.push((request.into(), state.into())),
        }
        (admission, true)
    }

    /// Drops the counters idle at `now`.
    fn sweep(&mut self, now: Millis) {
        let old = ClientCounters {
            client: ClientName::new(""),
            hash: 0,
            slots: self.slots,
            used: self.used,
            inline: self.inline,
            more: std::mem::take(&mut self.more),
            others: Vec::new(),
        };
        self.used = 0;
        for id in 0..catalog::SIZE {
            let kept = old
                .slots
                .get(id)
                .and_then(|&pos| old.at(pos))
                .filter(|s| !is_idle((**s).into(), now))
                .copied();
            let pos = kept.and_then(|s| self.push(s)).unwrap_or(NO_SLOT);
            if let Some(slot) = self.slots.get_mut(id) {
                *slot = pos;
            }
        }
        self.others.retain(|(_, s)| !is_idle((*s).into(), now));
    }
}

struct ShardState {
    clients: HashTable<ClientCounters>,
    counters: usize,
    sweep_at: usize,
}

/// A shard on cache lines of its own: threads working on different shards
/// never write to the same line.
#[repr(align(128))]
struct Shard(Mutex<ShardState>);

/// In-memory counters, sharded by client so requests of different clients
/// rarely contend.
///
/// An admission hashes the client once (SipHash with a random key: clients
/// cannot choose colliding ids); the hash picks the shard and the client's
/// entry, which holds its id (inline when short) and, per catalog request,
/// where its counter is. Idle counters are swept when a shard doubles in
/// size, so memory stays proportional to the counters in use.
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
                clients: HashTable::new(),
                counters: 0,
                sweep_at: FIRST_SWEEP,
            }))
        });
        MemoryStore {
            shards,
            hasher: RandomState::new(),
        }
    }

    /// The client's hash and shard. The shard comes from bits the table
    /// does not use for its slots or tags.
    // The index is masked to the number of shards, never input itself.
    #[allow(clippy::indexing_slicing)]
    fn shard(&self, client: &str) -> (u64, &Mutex<ShardState>) {
        let hash = self.hasher.hash_one(client);
        (hash, &self.shards[((hash >> 32) as usize) & (SHARDS - 1)].0)
    }

    /// How many counters are held.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(&s.0).counters).sum()
    }

    /// Whether no counter is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The state of a counter, if held.
    pub fn state(&self, client: &str, request: &str) -> Option<CounterState> {
        let (hash, shard) = self.shard(client);
        lock(shard)
            .clients
            .find(hash, |c| c.client.is(client))?
            .get(catalog::lookup(request), request)
            .map(Into::into)
    }
}

/// Locks a shard; a poisoned lock (a panic elsewhere) still holds valid
/// counters, so it is used as is.
fn lock(m: &Mutex<ShardState>) -> std::sync::MutexGuard<'_, ShardState> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn sweep(shard: &mut ShardState, now: Millis) -> usize {
    let before = shard.counters;
    let mut kept = 0;
    shard.clients.retain(|c| {
        c.sweep(now);
        kept += c.len();
        c.len() > 0
    });
    shard.counters = kept;
    shard.sweep_at = (kept * 2).max(FIRST_SWEEP);
    before - kept
}

impl CounterStore for MemoryStore {
    fn admit(&self, client: &str, request: &str, limit: Limit, now: Millis) -> Admission {
        self.admit_known(client, request, catalog::lookup(request), limit, now)
    }

    fn admit_known(
        &self,
        client: &str,
        request: &str,
        id: Option<RequestId>,
        limit: Limit,
        now: Millis,
    ) -> Admission {
        let (hash, shard) = self.shard(client);
        let mut guard = lock(shard);
        let shard = &mut *guard;
        let entry = shard
            .clients
            .entry(hash, |c| c.client.is(client), |c| c.hash)
            .or_insert_with(|| ClientCounters::new(client, hash));
        let (admission, added) = entry.into_mut().admit(id, request, limit, now);
        if added {
            shard.counters += 1;
            if shard.counters > shard.sweep_at {
                sweep(shard, now);
            }
        }
        admission
    }

    fn end_session(&self, client: &str) {
        let (hash, shard) = self.shard(client);
        let mut shard = lock(shard);
        if let Ok(entry) = shard.clients.find_entry(hash, |c| c.client.is(client)) {
            let (removed, _) = entry.remove();
            shard.counters -= removed.len();
        }
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
pub struct RateLimiter<S: CounterStore = MemoryStore, C: Clock = FastClock> {
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
    /// A limiter for these limits with in-memory counters and the wall
    /// clock ([`FastClock`]).
    pub fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter {
            by_id: limits_by_id(&limits),
            limits,
            store: MemoryStore::new(),
            clock: FastClock::new(),
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
    fn a_client_with_every_catalog_request_keeps_its_counters_through_sweeps() {
        let s = MemoryStore::new();
        let l = limit(5, 30);
        let w = 1_700_000_040_000;
        // Odd ids are counted in an old window, even ones in a new one.
        for (i, id) in catalog::all().enumerate() {
            let t = if i % 2 == 0 { w + 60_000 } else { w };
            s.admit("c", id.name(), l, t);
            s.admit("c", id.name(), l, t);
        }
        s.admit("c", "newns.x", l, w);
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
            assert_eq!(s.admit("c", id.name(), l, w + 60_001), Admission::Admitted);
            assert_eq!(
                s.state("c", id.name()),
                Some(CounterState::Counting {
                    window: w + 60_000,
                    count: 3
                })
            );
        }
    }

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
        assert_send_sync::<RateLimiter<MemoryStore, ManualClock>>();
    }
}
