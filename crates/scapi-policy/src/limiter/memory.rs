//! The in-memory counter store: sharded by client, bounded per client.

use crate::catalog;
use crate::hashing::RandomKeys;
use hashbrown::HashTable;
use std::hash::BuildHasher;
use std::sync::Mutex;

use super::*;

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

    /// Drops counters that are idle at `now` (dropping them changes no
    /// decision); returns how many.
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
