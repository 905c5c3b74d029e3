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

use crate::catalog::{self, RequestId};
use crate::hashing::RandomKeys;
use crate::policy::{Quarantine, RateLimits, WINDOW_SECONDS};
use hashbrown::HashTable;
use serde::Serialize;
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

#[cfg(feature = "fast-clock")]
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

#[cfg(feature = "fast-clock")]
impl Default for FastClock {
    fn default() -> FastClock {
        FastClock::new()
    }
}

#[cfg(feature = "fast-clock")]
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

#[cfg(feature = "fast-clock")]
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
        /// Requests already admitted in the window holding `until`: the
        /// window's count when the quarantine ends in the window it started
        /// in, so the window's budget is not granted again; 0 when it ends
        /// in a later window (or never).
        count: u32,
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
    let current = window_start(now);
    let (window, count) = match state {
        None => (current, 0),
        // Over: counting resumes, in the window the quarantine started in
        // if it is still the current one (its admissions still count).
        Some(CounterState::Quarantined {
            until: Some(end),
            count,
        }) if now >= end => {
            if current == window_start(end) {
                (current, count)
            } else {
                (current, 0)
            }
        }
        Some(q @ CounterState::Quarantined { until, .. }) => {
            return (q, Admission::Ignored { until });
        }
        // The window never moves back, so an earlier timestamp gains nothing.
        Some(CounterState::Counting { window, count }) => {
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
    // A request stamped before its counter's window is taken at the
    // window's start: an earlier timestamp does not end a quarantine sooner.
    let start = now.max(window);
    let until = match limit.quarantine {
        Quarantine::Seconds(s) => {
            Some(start.saturating_add(Millis::from(s.get()).saturating_mul(1000)))
        }
        Quarantine::Forever => None,
    };
    // What the window admitted still counts if the quarantine ends in it
    // (it never ends in an earlier one).
    let count = match until {
        Some(end) if window_start(end) == window => count,
        _ => 0,
    };
    (
        CounterState::Quarantined { until, count },
        Admission::Limited { until },
    )
}

/// Whether a counter behaves exactly like a fresh one at `now`, so it can be
/// dropped.
pub fn is_idle(state: CounterState, now: Millis) -> bool {
    match state {
        CounterState::Counting { window, .. } => window < window_start(now),
        CounterState::Quarantined {
            until: Some(end),
            count,
        } => now >= end && (count == 0 || window_start(end) < window_start(now)),
        CounterState::Quarantined { until: None, .. } => false,
    }
}

/// When a store applies a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum At {
    /// Now, by the store's own clock: one clock for every broker that
    /// shares the store (a network store reads its server's time).
    Now,
    /// At this time, given by the caller (tests, replaying request files).
    Time(Millis),
}

/// One counter: a client and a request name.
///
/// The request's catalog id, if it has one, is looked up once when the key
/// is made, so no store needs to look it up again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CounterKey<'a> {
    client: &'a str,
    request: &'a str,
    id: Option<RequestId>,
}

impl<'a> CounterKey<'a> {
    /// The key of `client`'s counter for `request`.
    pub fn new(client: &'a str, request: &'a str) -> CounterKey<'a> {
        CounterKey {
            client,
            request,
            id: catalog::lookup(request),
        }
    }

    /// The client (agent session, iframe connection).
    pub fn client(&self) -> &'a str {
        self.client
    }

    /// The request name.
    pub fn request(&self) -> &'a str {
        self.request
    }

    /// The request's catalog id, when it is a catalog request.
    pub fn catalog_id(&self) -> Option<RequestId> {
        self.id
    }
}

/// Where counters live, for a broker that calls it from ordinary threads.
///
/// A store applies [`step`] atomically per (client, request) key — one
/// transaction, or one round trip for a network store — so brokers sharing
/// it admit exactly the limit between them. Every call may fail (a network
/// store may be unreachable); [`MemoryStore`] never does.
pub trait CounterStore: Send + Sync {
    /// Why a call failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Applies one request for `key` at `at`.
    fn admit(&self, key: CounterKey<'_>, limit: Limit, at: At) -> Result<Admission, Self::Error>;

    /// Drops every counter of a client whose session ended (this also ends
    /// its quarantines "until the session ends").
    fn end_session(&self, client: &str) -> Result<(), Self::Error>;
}

/// [`CounterStore`] for brokers on an async runtime: the same contract,
/// with calls that wait for the store without blocking a thread.
pub trait AsyncCounterStore: Send + Sync {
    /// Why a call failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Applies one request for `key` at `at`.
    fn admit(
        &self,
        key: CounterKey<'_>,
        limit: Limit,
        at: At,
    ) -> impl Future<Output = Result<Admission, Self::Error>> + Send;

    /// Drops every counter of a client whose session ended.
    fn end_session(&self, client: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;
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
    Until { until: Millis, count: u32 },
    Forever,
}

impl From<CounterState> for Stored {
    fn from(s: CounterState) -> Stored {
        match s {
            CounterState::Counting { window, count } => Stored::Counting { window, count },
            CounterState::Quarantined {
                until: Some(until),
                count,
            } => Stored::Until { until, count },
            CounterState::Quarantined { until: None, .. } => Stored::Forever,
        }
    }
}

impl From<Stored> for CounterState {
    fn from(s: Stored) -> CounterState {
        match s {
            Stored::Counting { window, count } => CounterState::Counting { window, count },
            Stored::Until { until, count } => CounterState::Quarantined {
                until: Some(until),
                count,
            },
            Stored::Forever => CounterState::Quarantined {
                until: None,
                count: 0,
            },
        }
    }
}

/// Applies one request to a stored counter.
fn apply(state: &mut Stored, limit: Limit, now: Millis) -> Admission {
    let (next, admission) = step(Some((*state).into()), limit, now);
    *state = next.into();
    admission
}

/// No counter for this catalog request yet.
const NO_SLOT: u8 = u8::MAX;

/// Counters a client entry holds itself; more go to a list beside it.
const INLINE_COUNTERS: usize = 24;

/// Counters a client may have for request names outside the catalog. A
/// frame granted a pattern chooses its own names: past this many, its
/// further names share one counter (see the module documentation).
pub const MAX_OTHER_NAMES: usize = 64;

/// Counters of request names outside the catalog: a table keyed by name,
/// at most [`MAX_OTHER_NAMES`] of them, and the counter the rest share.
#[derive(Debug, Default)]
struct OtherCounters {
    table: HashTable<(Box<str>, Stored)>,
    overflow: Option<Stored>,
}

impl OtherCounters {
    fn len(&self) -> usize {
        self.table.len() + usize::from(self.overflow.is_some())
    }

    /// Whether a name without a counter of its own counts on the shared
    /// one: while the shared counter holds state (it goes only once idle),
    /// and when the table is full. A name that counted there must not get a
    /// fresh counter because a sweep made room in the table.
    /// (An idle shared counter is as good as gone, as its Redis key is.)
    fn shared(&self, now: Option<Millis>) -> bool {
        let live = match (self.overflow, now) {
            (Some(o), Some(now)) => !is_idle(o.into(), now),
            (o, None) => o.is_some(),
            (None, _) => false,
        };
        live || self.table.len() >= MAX_OTHER_NAMES
    }

    fn get(&self, hasher: &RandomKeys, request: &str) -> Option<Stored> {
        let h = hasher.hash_one(request);
        match self.table.find(h, |(n, _)| **n == *request) {
            Some((_, s)) => Some(*s),
            None if self.shared(None) => self.overflow,
            None => None,
        }
    }

    /// Applies one request; also says whether a counter was added.
    fn admit(
        &mut self,
        hasher: &RandomKeys,
        request: &str,
        limit: Limit,
        now: Millis,
    ) -> (Admission, bool) {
        let h = hasher.hash_one(request);
        if let Some((_, state)) = self.table.find_mut(h, |(n, _)| **n == *request) {
            return (apply(state, limit, now), false);
        }
        if !self.shared(Some(now)) {
            let (state, admission) = step(None, limit, now);
            self.table
                .insert_unique(h, (request.into(), state.into()), |(n, _)| {
                    hasher.hash_one(&**n)
                });
            return (admission, true);
        }
        match &mut self.overflow {
            Some(state) => (apply(state, limit, now), false),
            None => {
                let (state, admission) = step(None, limit, now);
                self.overflow = Some(state.into());
                (admission, true)
            }
        }
    }

    fn sweep(&mut self, now: Millis) {
        self.table.retain(|(_, s)| !is_idle((*s).into(), now));
        if self.overflow.is_some_and(|s| is_idle(s.into(), now)) {
            self.overflow = None;
        }
    }
}

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
    others: OtherCounters,
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
            others: OtherCounters::default(),
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

    fn get(&self, hasher: &RandomKeys, key: CounterKey<'_>) -> Option<Stored> {
        match key.id {
            Some(id) => self.at(*self.slots.get(id.index())?).copied(),
            None => self.others.get(hasher, key.request),
        }
    }

    /// Applies one request; also says whether a counter was added.
    fn admit(
        &mut self,
        hasher: &RandomKeys,
        key: CounterKey<'_>,
        limit: Limit,
        now: Millis,
    ) -> (Admission, bool) {
        let Some(id) = key.id else {
            return self.others.admit(hasher, key.request, limit, now);
        };
        let slot = self.slots.get(id.index()).copied().unwrap_or(NO_SLOT);
        if let Some(state) = self.at_mut(slot) {
            return (apply(state, limit, now), false);
        }
        let (state, admission) = step(None, limit, now);
        // At most one counter per catalog id, so positions fit a byte.
        if let Some(pos) = self.push(state.into())
            && let Some(slot) = self.slots.get_mut(id.index())
        {
            *slot = pos;
        }
        (admission, true)
    }

    /// Drops the counters idle at `now`.
    fn sweep(&mut self, now: Millis) {
        let old_slots = self.slots;
        let old_inline = self.inline;
        let old_more = std::mem::take(&mut self.more);
        let at = |pos: u8| {
            let pos = usize::from(pos);
            match pos.checked_sub(INLINE_COUNTERS) {
                None => old_inline.get(pos),
                Some(i) => old_more.get(i),
            }
        };
        self.used = 0;
        for id in 0..catalog::SIZE {
            let kept = old_slots
                .get(id)
                .and_then(|&pos| at(pos))
                .filter(|s| !is_idle((**s).into(), now))
                .copied();
            let pos = kept.and_then(|s| self.push(s)).unwrap_or(NO_SLOT);
            if let Some(slot) = self.slots.get_mut(id) {
                *slot = pos;
            }
        }
        self.others.sweep(now);
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

/// The clock [`MemoryStore::new`] and [`RateLimiter::new`] use: the
/// time-stamp counter ([`FastClock`]) with the `fast-clock` feature, else
/// the operating system's ([`SystemClock`]).
#[cfg(feature = "fast-clock")]
pub type DefaultClock = FastClock;
/// The clock [`MemoryStore::new`] and [`RateLimiter::new`] use: the
/// time-stamp counter ([`FastClock`]) with the `fast-clock` feature, else
/// the operating system's ([`SystemClock`]).
#[cfg(not(feature = "fast-clock"))]
pub type DefaultClock = SystemClock;

/// In-memory counters, sharded by client so requests of different clients
/// rarely contend. Never fails; its clock gives the time of [`At::Now`].
///
/// An admission hashes the client once (SipHash with a random key: clients
/// cannot choose colliding ids); the hash picks the shard and the client's
/// entry, which holds its id (inline when short) and, per catalog request,
/// where its counter is. Idle counters are swept when a shard doubles in
/// size, so memory stays proportional to the counters in use.
pub struct MemoryStore<C: Clock = DefaultClock> {
    shards: [Shard; SHARDS],
    hasher: RandomKeys,
    clock: C,
}

const SHARDS: usize = 64;
const FIRST_SWEEP: usize = 1024;

impl Default for MemoryStore {
    fn default() -> MemoryStore {
        MemoryStore::new()
    }
}

impl<C: Clock> std::fmt::Debug for MemoryStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("counters", &self.len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store on the [`DefaultClock`].
    pub fn new() -> MemoryStore {
        MemoryStore::with_clock(DefaultClock::default())
    }
}

impl<C: Clock> MemoryStore<C> {
    /// An empty store whose [`At::Now`] is `clock`'s time.
    pub fn with_clock(clock: C) -> MemoryStore<C> {
        let shards = std::array::from_fn(|_| {
            Shard(Mutex::new(ShardState {
                clients: HashTable::new(),
                counters: 0,
                sweep_at: FIRST_SWEEP,
            }))
        });
        MemoryStore {
            shards,
            hasher: RandomKeys::new(),
            clock,
        }
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
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
        let key = CounterKey::new(client, request);
        let (hash, shard) = self.shard(client);
        lock(shard)
            .clients
            .find(hash, |c| c.client.is(client))?
            .get(&self.hasher, key)
            .map(Into::into)
    }

    /// Applies one request. Allocates nothing once the client's counter
    /// for the request exists.
    pub fn admit(&self, key: CounterKey<'_>, limit: Limit, at: At) -> Admission {
        let now = match at {
            At::Now => self.clock.now_millis(),
            At::Time(t) => t,
        };
        let (hash, shard) = self.shard(key.client);
        let mut guard = lock(shard);
        let shard = &mut *guard;
        let entry = shard
            .clients
            .entry(hash, |c| c.client.is(key.client), |c| c.hash)
            .or_insert_with(|| ClientCounters::new(key.client, hash));
        let (admission, added) = entry.into_mut().admit(&self.hasher, key, limit, now);
        if added {
            shard.counters += 1;
            if shard.counters > shard.sweep_at {
                sweep(shard, now);
            }
        }
        admission
    }

    /// Drops every counter of a client.
    pub fn end_session(&self, client: &str) {
        let (hash, shard) = self.shard(client);
        let mut shard = lock(shard);
        if let Ok(entry) = shard.clients.find_entry(hash, |c| c.client.is(client)) {
            let (removed, _) = entry.remove();
            shard.counters -= removed.len();
        }
    }

    /// Drops counters that are idle at `now` ([`is_idle`]); returns how many.
    pub fn evict_idle(&self, now: Millis) -> usize {
        self.shards
            .iter()
            .map(|s| sweep(&mut lock(&s.0), now))
            .sum()
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
    // A table keeps its capacity when entries go: after a burst of clients
    // that are now idle, give the memory back (in WebAssembly, to the
    // allocator, for the next clients), keeping room for the clients left.
    let clients = shard.clients.len();
    if shard.clients.capacity() > 4 * clients.max(FIRST_SWEEP / 4) {
        shard.clients.shrink_to(2 * clients, |c| c.hash);
    }
    before - kept
}

impl<C: Clock> CounterStore for MemoryStore<C> {
    type Error = std::convert::Infallible;

    fn admit(&self, key: CounterKey<'_>, limit: Limit, at: At) -> Result<Admission, Self::Error> {
        Ok(MemoryStore::admit(self, key, limit, at))
    }

    fn end_session(&self, client: &str) -> Result<(), Self::Error> {
        MemoryStore::end_session(self, client);
        Ok(())
    }
}

impl<C: Clock> AsyncCounterStore for MemoryStore<C> {
    type Error = std::convert::Infallible;

    fn admit(
        &self,
        key: CounterKey<'_>,
        limit: Limit,
        at: At,
    ) -> impl Future<Output = Result<Admission, Self::Error>> + Send {
        std::future::ready(Ok(MemoryStore::admit(self, key, limit, at)))
    }

    fn end_session(&self, client: &str) -> impl Future<Output = Result<(), Self::Error>> + Send {
        MemoryStore::end_session(self, client);
        std::future::ready(Ok(()))
    }
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
        self.admit_when(CounterKey::new(client, request), At::Now)
    }

    /// Admits one request at a given time.
    pub fn admit_at(
        &self,
        client: &str,
        request: &str,
        now: Millis,
    ) -> Result<Admission, S::Error> {
        self.admit_when(CounterKey::new(client, request), At::Time(now))
    }

    fn admit_when(&self, key: CounterKey<'_>, at: At) -> Result<Admission, S::Error> {
        match self.limit_of(key) {
            Some(limit) => self.store.admit(key, limit, at),
            None => Ok(Admission::Admitted),
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
        self.admit_async_when(CounterKey::new(client, request), At::Now)
            .await
    }

    /// [`admit_at`](RateLimiter::admit_at) for a store on an async runtime.
    pub async fn admit_async_at(
        &self,
        client: &str,
        request: &str,
        now: Millis,
    ) -> Result<Admission, S::Error> {
        self.admit_async_when(CounterKey::new(client, request), At::Time(now))
            .await
    }

    async fn admit_async_when(&self, key: CounterKey<'_>, at: At) -> Result<Admission, S::Error> {
        match self.limit_of(key) {
            Some(limit) => self.store.admit(key, limit, at).await,
            None => Ok(Admission::Admitted),
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
            assert_eq!(adm(&s, "c", "voice.dial", l, t0 + i), Admission::Admitted);
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
            assert_eq!(
                adm(&s, "c", "voice.dial", l, t0 + 30_010),
                Admission::Admitted
            );
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
        assert_eq!(adm(&s, "c", "r.x", l, w + 59_000), Admission::Admitted);
        assert_eq!(adm(&s, "c", "r.x", l, w + 59_999), Admission::Admitted);
        // The next window starts a new count, one ms later.
        assert_eq!(adm(&s, "c", "r.x", l, w + 60_000), Admission::Admitted);
    }

    #[test]
    fn forever_and_separate_keys() {
        let s = MemoryStore::new();
        let l = limit(1, 0);
        assert_eq!(adm(&s, "a", "r.x", l, 0), Admission::Admitted);
        assert_eq!(
            adm(&s, "a", "r.x", l, 1),
            Admission::Limited { until: None }
        );
        assert_eq!(
            adm(&s, "a", "r.x", l, Millis::MAX),
            Admission::Ignored { until: None }
        );
        assert_eq!(adm(&s, "b", "r.x", l, 2), Admission::Admitted);
        assert_eq!(adm(&s, "a", "r.y", l, 2), Admission::Admitted);
        s.end_session("a");
        assert_eq!(adm(&s, "a", "r.x", l, 3), Admission::Admitted);
    }

    #[test]
    fn a_clock_going_back_grants_nothing() {
        let s = MemoryStore::new();
        let l = limit(2, 30);
        let t = 10 * WINDOW_MILLIS;
        assert_eq!(adm(&s, "c", "r.x", l, t), Admission::Admitted);
        assert_eq!(adm(&s, "c", "r.x", l, t + 1), Admission::Admitted);
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
            assert_eq!(
                adm(&s, "c", "voice.dial", l, w + i * 1000),
                Admission::Admitted
            );
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
            assert_eq!(
                adm(&s, "c", "voice.dial", l, w + 65_000 + i),
                Admission::Admitted
            );
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
            assert_eq!(
                adm(&s, "c", "voice.dial", six, w + 95_010),
                Admission::Admitted
            );
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
            assert_eq!(adm(&s, "c", id.name(), l, w + 60_001), Admission::Admitted);
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
            assert_eq!(adm(&s, "c", &format!("x.n{i}"), l, 0), Admission::Admitted);
        }
        assert!(matches!(
            adm(&s, "c", "x.n0", l, 1),
            Admission::Limited { .. }
        ));
        // The rest share one: the second new name is already over the limit.
        assert_eq!(adm(&s, "c", "x.more1", l, 2), Admission::Admitted);
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
        assert_eq!(adm(&s, "d", "x.more2", l, 5), Admission::Admitted);
        assert_eq!(adm(&s, "c", "voice.dial", l, 5), Admission::Admitted);
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
        assert_eq!(
            adm(&s, "c", "x.target", l, WINDOW_MILLIS),
            Admission::Admitted
        );
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
        assert_eq!(s.admit(key, l, At::Now), Admission::Admitted);
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
        assert_eq!(a, Admission::Admitted);
        let Ok(a) = limiter.admit_at("c", "agent.get", 1);
        assert!(matches!(a, Admission::Limited { .. }));
    }
}
