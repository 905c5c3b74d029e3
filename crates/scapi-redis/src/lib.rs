//! # scapi-redis — one rate limit across every broker of a fleet
//!
//! A contact centre runs many broker instances behind a load balancer. With
//! in-process counters each broker grants the full limit, so a fleet of N
//! brokers lets a frame make N times the configured requests per minute.
//! [`RedisStore`] keeps the counters of `scapi-policy`'s
//! [`RateLimiter`](scapi_policy::limiter::RateLimiter) in Redis instead,
//! with exactly the in-memory store's semantics:
//!
//! * **One atomic round trip per admission**: a Lua script
//!   ([`ADMIT_SCRIPT`], shipped as `src/admit.lua`) applies the limiter's
//!   `step` to one (client, request) counter, called with `EVALSHA`; brokers
//!   in other languages can call the same script (see the crate README).
//! * **One clock for the fleet**: [`At::Now`] takes the time from the Redis
//!   server (`TIME`), so every broker sees the same window; a caller may
//!   give its own time instead ([`At::Time`], for tests and replays).
//! * **Cluster-ready**: every key of one client shares a hash tag
//!   (`scapi:{<client>}:…`), so one client's admissions go to one slot.
//! * **Bounded memory**: every key has a TTL; [`end_session`] deletes a
//!   client's counters; a quarantine "until the session ends" lasts at most
//!   the configured session cap; a client's counters for names outside the
//!   catalog are bounded as in memory.
//! * **Quarantines answered locally**: once a client is quarantined for a
//!   request, this broker answers `ignored` without a round trip until the
//!   quarantine ends (a quarantine of fixed length cannot be shortened by
//!   another broker; one "until the session ends" is asked again every
//!   second, so a session ended elsewhere is seen).
//! * **Failure is a decision**: when Redis is out of reach, slow or
//!   restarting, [`FailureMode::Open`] (the default) falls back to local
//!   in-memory counters and says so (a `log` warning and
//!   [`RedisStore::stats`]), [`FailureMode::Closed`] returns an error, which
//!   a broker answers with `deny` / `store-unavailable`. Both try Redis again
//!   after [`RedisConfig::retry_after`] and recover on their own.
//!
//! ```no_run
//! use scapi_policy::limiter::{Admission, RateLimiter};
//! use scapi_redis::{RedisConfig, RedisStore};
//!
//! # let policy = scapi_policy::CompiledPolicy::load("{}").unwrap();
//! let store = RedisStore::connect("redis://127.0.0.1:6379", RedisConfig::default())?;
//! let limiter = RateLimiter::with_store(policy.rate_limits().clone(), store);
//! // From a thread of a broker (an async broker calls `admit_async`):
//! match limiter.admit("agent-1", "voice.dial") {
//!     Ok(Admission::Admitted(_)) => { /* pass the request to WWE */ }
//!     Ok(Admission::Limited { .. }) => { /* answer with the rate-limit error result */ }
//!     Ok(Admission::Ignored { .. }) => { /* no answer at all */ }
//!     Err(_) => { /* fail-closed: deny, reason `store-unavailable` */ }
//! }
//! # Ok::<(), scapi_redis::RedisStoreError>(())
//! ```
//!
//! [`At::Now`]: scapi_policy::limiter::At::Now
//! [`At::Time`]: scapi_policy::limiter::At::Time
//! [`end_session`]: scapi_policy::limiter::CounterStore::end_session
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use hashbrown::HashTable;
use redis::aio::ConnectionManager;
use redis::cluster_async::ClusterConnection;
use scapi_policy::limiter::{
    Admission, AsyncCounterStore, At, Clock, CounterKey, CounterStore, Headroom, Limit,
    MAX_OTHER_NAMES, MemoryStore, Millis,
};
use scapi_policy::policy::Quarantine;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The admission script: the limiter's `step`, applied atomically to one
/// counter. Its header documents its keys, arguments and reply.
pub const ADMIT_SCRIPT: &str = include_str!("admit.lua");

/// The session-end script: deletes every key of one client.
pub const END_SESSION_SCRIPT: &str = include_str!("end_session.lua");

/// What a store does when Redis cannot answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailureMode {
    /// Count locally, in this broker's memory, and say so: requests go on,
    /// each broker limiting alone until Redis is back.
    #[default]
    Open,
    /// Refuse: admissions fail with [`RedisStoreErrorKind::Unavailable`],
    /// which a broker answers with `deny` / `store-unavailable`.
    Closed,
}

/// How a [`RedisStore`] talks to Redis.
#[derive(Clone, Debug)]
pub struct RedisConfig {
    /// The prefix of every key (`scapi`): `<prefix>:{<client>}:r:<request>`.
    pub prefix: String,
    /// How long one admission may wait for Redis before it counts as a
    /// failure.
    pub timeout: Duration,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// What to do when Redis cannot answer.
    pub failure: FailureMode,
    /// The longest a key outlives its last use, and so the longest a
    /// quarantine "until the session ends" lasts if the session's end is
    /// never reported.
    pub session_cap: Duration,
    /// After a failure, how long to stop asking Redis before trying again.
    pub retry_after: Duration,
}

impl Default for RedisConfig {
    fn default() -> RedisConfig {
        RedisConfig {
            prefix: "scapi".into(),
            timeout: Duration::from_millis(100),
            connect_timeout: Duration::from_millis(500),
            failure: FailureMode::Open,
            session_cap: Duration::from_secs(12 * 3600),
            retry_after: Duration::from_secs(1),
        }
    }
}

/// Why a call to the store failed.
#[derive(Clone, Debug)]
pub struct RedisStoreError {
    kind: RedisStoreErrorKind,
    message: String,
    /// The client library's error, when there is one
    /// ([`source`](std::error::Error::source)).
    source: Option<std::sync::Arc<redis::RedisError>>,
}

/// The kind of a [`RedisStoreError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RedisStoreErrorKind {
    /// Occurs when Redis cannot be reached, does not answer in time, or is
    /// being retried after a failure ([`FailureMode::Closed`]).
    Unavailable,
    /// Occurs when Redis answers something the script does not return (a
    /// key of another program under the same prefix, an old script).
    Protocol,
    /// Occurs when the address is not a Redis URL, or the blocking API is
    /// called from inside an async runtime.
    Usage,
    /// Occurs when Redis refuses this client: it requires a password and
    /// none was given (`NOAUTH`), the password or user is wrong
    /// (`WRONGPASS`), or the user may not run the script (`NOPERM`). A
    /// configuration error, reported when connecting rather than as a
    /// denial of every request.
    Refused,
}

impl RedisStoreError {
    fn new(kind: RedisStoreErrorKind, message: impl Into<String>) -> RedisStoreError {
        RedisStoreError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    fn caused_by(mut self, source: std::sync::Arc<redis::RedisError>) -> RedisStoreError {
        self.source = Some(source);
        self
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> RedisStoreErrorKind {
        self.kind
    }
}

impl fmt::Display for RedisStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RedisStoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<redis::RedisError> for RedisStoreError {
    fn from(e: redis::RedisError) -> RedisStoreError {
        let refused = e.kind() == redis::ErrorKind::AuthenticationFailed
            || matches!(e.code(), Some("NOAUTH" | "WRONGPASS" | "NOPERM"));
        let kind = if refused {
            RedisStoreErrorKind::Refused
        } else if e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.is_unrecoverable_error()
        {
            RedisStoreErrorKind::Unavailable
        } else {
            RedisStoreErrorKind::Protocol
        };
        let message = format!("redis: {}", reason(&e));
        RedisStoreError::new(kind, message).caused_by(std::sync::Arc::new(e))
    }
}

/// What a store has done, for a broker's metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Admissions Redis decided.
    pub remote: u64,
    /// Admissions answered `ignored` from the local record of a quarantine,
    /// without a round trip.
    pub local_quarantine: u64,
    /// Admissions counted locally because Redis could not answer
    /// ([`FailureMode::Open`]).
    pub fallbacks: u64,
    /// Calls to Redis that failed.
    pub failures: u64,
    /// Admissions refused because Redis could not answer
    /// ([`FailureMode::Closed`]): each request a failure affected, the
    /// failing call and those refused while the store waits to ask again.
    pub refused: u64,
    /// Whether the store is waiting before it asks Redis again.
    pub degraded: bool,
}

/// A connection to one Redis server, to a Redis Cluster, or to the master
/// Sentinel names. Each multiplexes concurrent callers over its
/// connections, and reconnects by itself.
#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
    Sentinel(Arc<SentinelMaster>),
    /// One server, not reached yet: connected in the background (see
    /// [`DeferredServer`]), then used as `Single` is.
    Deferred(Arc<DeferredServer>),
}

/// A server a store was opened for before it answered
/// ([`RedisStore::connect_deferred_async`]). No admission ever waits for
/// its connection: one attempt at a time runs in the background, and
/// until one succeeds every call answers `Unavailable` at once (so the
/// failure mode decides, and the store's back-off paces the attempts).
struct DeferredServer {
    url: String,
    config: RedisConfig,
    current: Mutex<Option<ConnectionManager>>,
    /// Whether an attempt is running.
    connecting: AtomicBool,
    /// Why the last attempt failed.
    last_error: Mutex<Option<String>>,
}

impl DeferredServer {
    /// The connection, if one was made; else starts an attempt on
    /// `runtime` (unless one is running) and says why there is none.
    fn connection(
        self: &Arc<Self>,
        runtime: &tokio::runtime::Runtime,
    ) -> Result<ConnectionManager, RedisStoreError> {
        if let Some(c) = self.current.lock().ok().and_then(|c| c.clone()) {
            return Ok(c);
        }
        if !self.connecting.swap(true, Ordering::AcqRel) {
            let server = Arc::clone(self);
            runtime.spawn(async move {
                let made = open_manager(&server.url, &server.config).await;
                match made {
                    Ok(c) => {
                        if let Ok(mut current) = server.current.lock() {
                            *current = Some(c);
                        }
                    }
                    Err(e) => {
                        if let Ok(mut last) = server.last_error.lock() {
                            *last = Some(e.to_string());
                        }
                    }
                }
                server.connecting.store(false, Ordering::Release);
            });
        }
        let why = self
            .last_error
            .lock()
            .ok()
            .and_then(|e| e.clone())
            .unwrap_or_else(|| {
                format!(
                    "cannot connect to `{}`: connecting in the background",
                    redact_url(&self.url)
                )
            });
        Err(unavailable(why))
    }
}

/// The master of a Sentinel-monitored group: asked of the Sentinels when
/// there is no connection to it, and asked again whenever the connection
/// fails or the server it reaches is no longer a master (a failover
/// promoted a replica): counting resumes on the new master, no restart.
struct SentinelMaster {
    sentinel: tokio::sync::Mutex<redis::sentinel::SentinelClient>,
    current: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    timeout: Duration,
    connect_timeout: Duration,
}

impl SentinelMaster {
    /// The connection to the master, made after asking the Sentinels when
    /// there is none.
    async fn connection(&self) -> Result<redis::aio::MultiplexedConnection, RedisStoreError> {
        let mut current = self.current.lock().await;
        if let Some(c) = current.as_ref() {
            return Ok(c.clone());
        }
        let what = "cannot reach the master Sentinel names";
        let client = {
            let mut sentinel = self.sentinel.lock().await;
            within(self.connect_timeout, what, sentinel.async_get_client())
                .await?
                .map_err(|e| refused_or(e, what))?
        };
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.timeout));
        let c = within(
            self.connect_timeout,
            what,
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await?
        .map_err(|e| refused_or(e, what))?;
        *current = Some(c.clone());
        Ok(c)
    }

    /// Forgets the connection: the next call asks the Sentinels again.
    async fn reset(&self) {
        *self.current.lock().await = None;
    }
}

/// Quarantines this broker has seen, answered without a round trip.
struct LocalQuarantines {
    shards: Vec<Mutex<HashTable<Quarantined>>>,
    hasher: RandomState,
    /// How many are held: none, and an admission skips the lookup.
    held: AtomicUsize,
}

/// One quarantined (client, request): until when (server time; `None`:
/// until the session ends) and, for that case, when to ask Redis again
/// (local time).
struct Quarantined {
    client: Box<str>,
    request: Box<str>,
    hash: u64,
    until: Option<Millis>,
    recheck: Millis,
}

/// A quarantine "until the session ends" is asked again this often, so a
/// session ended by another broker is seen.
const FOREVER_RECHECK: Millis = 1000;

const LOCAL_SHARDS: usize = 16;

impl LocalQuarantines {
    fn new() -> LocalQuarantines {
        LocalQuarantines {
            shards: (0..LOCAL_SHARDS)
                .map(|_| Mutex::new(HashTable::new()))
                .collect(),
            hasher: RandomState::new(),
            held: AtomicUsize::new(0),
        }
    }

    /// The hash of the client alone: one client's quarantined requests
    /// share it, and the request tells them apart.
    fn hash(&self, client: &str) -> u64 {
        self.hasher.hash_one(client)
    }

    fn shard(&self, hash: u64) -> Option<std::sync::MutexGuard<'_, HashTable<Quarantined>>> {
        let i = (hash >> 40) as usize % LOCAL_SHARDS;
        self.shards
            .get(i)
            .map(|m| m.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// The admission of a request still in quarantine at `now` (server
    /// time) or `local` (this broker's clock), without a round trip.
    fn check(&self, key: CounterKey<'_>, now: Millis, local: Millis) -> Option<Admission> {
        if self.held.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let hash = self.hash(key.client());
        let mut shard = self.shard(hash)?;
        let found = shard.find_entry(hash, |q| {
            *q.client == *key.client() && *q.request == *key.request()
        });
        let Ok(entry) = found else { return None };
        let q = entry.get();
        let live = match q.until {
            Some(end) => now < end,
            None => local < q.recheck,
        };
        if live {
            return Some(Admission::Ignored { until: q.until });
        }
        entry.remove();
        self.held.fetch_sub(1, Ordering::Relaxed);
        None
    }

    /// Records a quarantine Redis reported.
    fn record(&self, key: CounterKey<'_>, until: Option<Millis>, local: Millis) {
        let hash = self.hash(key.client());
        let Some(mut shard) = self.shard(hash) else {
            return;
        };
        let q = Quarantined {
            client: key.client().into(),
            request: key.request().into(),
            hash,
            until,
            recheck: local.saturating_add(FOREVER_RECHECK),
        };
        match shard.find_mut(hash, |q| {
            *q.client == *key.client() && *q.request == *key.request()
        }) {
            Some(slot) => *slot = q,
            None => {
                shard.insert_unique(hash, q, |q| q.hash);
                self.held.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Forgets a client's quarantines (its session ended here).
    fn forget(&self, client: &str) {
        let hash = self.hash(client);
        let Some(mut shard) = self.shard(hash) else {
            return;
        };
        let before = shard.len();
        shard.retain(|q| *q.client != *client);
        self.held.fetch_sub(before - shard.len(), Ordering::Relaxed);
    }
}

/// Rate-limit counters in Redis, shared by a fleet of brokers. See the
/// [crate documentation](crate).
pub struct RedisStore {
    connection: Connection,
    admit_script: redis::Script,
    end_script: redis::Script,
    /// Drives the connection, and the blocking API's calls.
    runtime: Driver,
    config: RedisConfig,
    /// Counters while Redis cannot answer ([`FailureMode::Open`]); its
    /// clock is this broker's.
    local: MemoryStore,
    quarantines: LocalQuarantines,
    /// Server time minus local time, in ms, as of the last answer.
    skew: AtomicI64,
    /// Local time until which Redis is not asked (after a failure).
    down_until: AtomicI64,
    degraded: AtomicBool,
    remote: AtomicU64,
    local_quarantine: AtomicU64,
    fallbacks: AtomicU64,
    failures: AtomicU64,
    refused: AtomicU64,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

fn millis(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}

/// A client library's error as the rest of a message: lower case, without
/// the operating system's error number (`connection refused`).
fn reason(e: &impl fmt::Display) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error ") {
        Some(at) => format!(
            "{}{}",
            &text[..at],
            text[at..].split_once(')').map_or("", |(_, rest)| rest)
        ),
        None => text,
    };
    let mut c = text.chars();
    match (c.next(), c.clone().next()) {
        (Some(f), Some(g)) if !g.is_uppercase() => f.to_lowercase().chain(c).collect(),
        _ => text,
    }
}

fn usage(message: impl Into<String>) -> RedisStoreError {
    RedisStoreError::new(RedisStoreErrorKind::Usage, message)
}

fn unavailable(message: impl Into<String>) -> RedisStoreError {
    RedisStoreError::new(RedisStoreErrorKind::Unavailable, message)
}

impl RedisStore {
    /// Connects to one Redis server: `redis://HOST:PORT[/DB]`
    /// (`redis+unix:///PATH` for a socket). Blocks for at most the connect
    /// timeout; from an async runtime, use
    /// [`connect_async`](RedisStore::connect_async).
    pub fn connect(url: &str, config: RedisConfig) -> Result<RedisStore, RedisStoreError> {
        outside_a_runtime("connect", "connect_async")?;
        let runtime = Driver::new()?;
        let connection = runtime.runtime()?.block_on(open_single(url, &config))?;
        Ok(RedisStore::with_connection(connection, runtime, config))
    }

    /// [`connect`](RedisStore::connect) for an async broker (on Tokio).
    pub async fn connect_async(
        url: &str,
        config: RedisConfig,
    ) -> Result<RedisStore, RedisStoreError> {
        RedisStore::open_on_driver(url, config, false).await
    }

    /// [`connect_async`](RedisStore::connect_async) without waiting for
    /// the server: the URL is checked now, and the store is degraded (its
    /// failure mode answers, no admission waits) until a connection made
    /// in the background, one attempt at a time and at most one per
    /// back-off, answers. For a service that must start while Redis is
    /// down and count there once it is up (`scapi serve --store-failure
    /// open`).
    pub async fn connect_deferred_async(
        url: &str,
        config: RedisConfig,
    ) -> Result<RedisStore, RedisStoreError> {
        single_client(url)?;
        let server = DeferredServer {
            url: url.to_string(),
            config: config.clone(),
            current: Mutex::new(None),
            connecting: AtomicBool::new(false),
            last_error: Mutex::new(None),
        };
        RedisStore::degraded_until_reached(Connection::Deferred(Arc::new(server)), config)
    }

    /// [`connect_sentinel_async`](RedisStore::connect_sentinel_async)
    /// without waiting for the Sentinels: the URL is checked now, and the
    /// master is asked for when an admission asks Redis (the store
    /// degraded until then), as after a failover.
    pub async fn connect_sentinel_deferred_async(
        url: &str,
        config: RedisConfig,
    ) -> Result<RedisStore, RedisStoreError> {
        let u = parse_sentinel_url(url)?;
        let master = sentinel_master(&u, url, &config)?;
        RedisStore::degraded_until_reached(Connection::Sentinel(master), config)
    }

    /// A store on a connection not made yet: degraded until Redis answers.
    fn degraded_until_reached(
        connection: Connection,
        config: RedisConfig,
    ) -> Result<RedisStore, RedisStoreError> {
        let store = RedisStore::with_connection(connection, Driver::new()?, config);
        store.degraded.store(true, Ordering::Relaxed);
        Ok(store)
    }

    /// Connects to the master that Redis Sentinel names:
    /// `redis+sentinel://[USER:PASSWORD@]HOST:PORT[,HOST:PORT…]/MASTER[/DB]`
    /// (the Sentinels' addresses, the name of the monitored group; the
    /// password is the master's). When the master fails and Sentinel
    /// promotes a replica, the store asks the Sentinels again and counts
    /// on the new master; meanwhile its failure mode answers.
    pub async fn connect_sentinel_async(
        url: &str,
        config: RedisConfig,
    ) -> Result<RedisStore, RedisStoreError> {
        RedisStore::open_on_driver(url, config, true).await
    }

    /// Opens a connection (to one server, or to the master Sentinel names)
    /// on the store's own runtime, from a caller's async runtime.
    async fn open_on_driver(
        url: &str,
        config: RedisConfig,
        sentinel: bool,
    ) -> Result<RedisStore, RedisStoreError> {
        let runtime = Driver::new()?;
        let (url_owned, config_owned) = (url.to_string(), config.clone());
        let connection = runtime
            .runtime()?
            .spawn(async move {
                if sentinel {
                    open_sentinel(&url_owned, &config_owned).await
                } else {
                    open_single(&url_owned, &config_owned).await
                }
            })
            .await
            .map_err(|e| unavailable(format!("cannot connect to `{}`: {e}", redact_url(url))))??;
        Ok(RedisStore::with_connection(connection, runtime, config))
    }

    /// Connects to a Redis Cluster through some of its nodes
    /// (`redis://HOST:PORT` each). Blocks like [`connect`](RedisStore::connect).
    pub fn connect_cluster(
        nodes: &[&str],
        config: RedisConfig,
    ) -> Result<RedisStore, RedisStoreError> {
        outside_a_runtime("connect_cluster", "connect_cluster_async")?;
        let runtime = Driver::new()?;
        let connection = runtime.runtime()?.block_on(open_cluster(nodes, &config))?;
        Ok(RedisStore::with_connection(connection, runtime, config))
    }

    /// [`connect_cluster`](RedisStore::connect_cluster) for an async broker
    /// (on Tokio).
    pub async fn connect_cluster_async(
        nodes: &[&str],
        config: RedisConfig,
    ) -> Result<RedisStore, RedisStoreError> {
        let runtime = Driver::new()?;
        let nodes_owned: Vec<String> = nodes.iter().map(|n| n.to_string()).collect();
        let config_owned = config.clone();
        let connection = runtime
            .runtime()?
            .spawn(async move {
                let nodes: Vec<&str> = nodes_owned.iter().map(String::as_str).collect();
                open_cluster(&nodes, &config_owned).await
            })
            .await
            .map_err(|e| unavailable(format!("cannot connect to the cluster: {e}")))??;
        Ok(RedisStore::with_connection(connection, runtime, config))
    }

    fn with_connection(connection: Connection, runtime: Driver, config: RedisConfig) -> RedisStore {
        RedisStore {
            connection,
            admit_script: redis::Script::new(ADMIT_SCRIPT),
            end_script: redis::Script::new(END_SESSION_SCRIPT),
            runtime,
            config,
            local: MemoryStore::new(),
            quarantines: LocalQuarantines::new(),
            skew: AtomicI64::new(0),
            down_until: AtomicI64::new(Millis::MIN),
            degraded: AtomicBool::new(false),
            remote: AtomicU64::new(0),
            local_quarantine: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RedisConfig {
        &self.config
    }

    /// What the store has done so far.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            remote: self.remote.load(Ordering::Relaxed),
            local_quarantine: self.local_quarantine.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            degraded: self.degraded.load(Ordering::Relaxed),
        }
    }

    /// The keys of a client: its counter for `request` and its sets.
    fn keys(&self, client: &str, request: &str) -> [String; 4] {
        let tag = format!("{}:{{{}}}", self.config.prefix, hash_tag(client));
        [
            format!("{tag}:r:{request}"),
            format!("{tag}:keys"),
            format!("{tag}:others"),
            format!("{tag}:overflow"),
        ]
    }

    /// The key of a client's counter for a request, as the script names it
    /// (for tests and operators).
    pub fn counter_key(&self, client: &str, request: &str) -> String {
        let [key, ..] = self.keys(client, request);
        key
    }

    /// Whether to skip Redis now, after a recent failure.
    fn is_down(&self, local: Millis) -> bool {
        local < self.down_until.load(Ordering::Relaxed)
    }

    /// Records a failure: Redis is not asked again for `retry_after`.
    fn failed(&self, e: &RedisStoreError, local: Millis) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.down_until.store(
            local.saturating_add(millis(self.config.retry_after)),
            Ordering::Relaxed,
        );
        if !self.degraded.swap(true, Ordering::Relaxed) {
            let then = match self.config.failure {
                FailureMode::Open => "counting in this broker's memory",
                FailureMode::Closed => "denying requests that have a limit",
            };
            log::warn!(
                "scapi-redis: {e}; {then}, and asking Redis again in {:?}",
                self.config.retry_after
            );
        }
    }

    fn recovered(&self) {
        if self.degraded.swap(false, Ordering::Relaxed) {
            log::info!("scapi-redis: Redis answers again; counting in Redis");
        }
    }

    /// What to answer without Redis: the local quarantine record, or, when
    /// Redis is down, the failure mode's answer. `None`: ask Redis.
    fn without_round_trip(
        &self,
        key: CounterKey<'_>,
        limit: Limit,
        at: At,
        local: Millis,
    ) -> Option<Result<Admission, RedisStoreError>> {
        let now = match at {
            At::Time(t) => t,
            At::Now => local.saturating_add(self.skew.load(Ordering::Relaxed)),
        };
        if let Some(a) = self.quarantines.check(key, now, local) {
            self.local_quarantine.fetch_add(1, Ordering::Relaxed);
            return Some(Ok(a));
        }
        if self.is_down(local) {
            return Some(self.fallback(key, limit, at));
        }
        None
    }

    /// The failure mode's answer while Redis cannot answer.
    fn fallback(
        &self,
        key: CounterKey<'_>,
        limit: Limit,
        at: At,
    ) -> Result<Admission, RedisStoreError> {
        match self.config.failure {
            FailureMode::Open => {
                self.fallbacks.fetch_add(1, Ordering::Relaxed);
                Ok(self.local.admit(key, limit, at))
            }
            FailureMode::Closed => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                Err(unavailable(
                    "the counter store is out of reach (failing closed)",
                ))
            }
        }
    }

    /// Applies the script's reply: records a quarantine, the clock skew.
    fn answer(
        &self,
        key: CounterKey<'_>,
        limit: Limit,
        reply: (i64, i64, i64, i64),
        local: Millis,
    ) -> Result<Admission, RedisStoreError> {
        let (kind, until, now, remaining) = reply;
        self.remote.fetch_add(1, Ordering::Relaxed);
        self.skew
            .store(now.saturating_sub(local), Ordering::Relaxed);
        self.recovered();
        let admission = match kind {
            0 => Admission::Admitted(Some(Headroom {
                limit: limit.per_minute.get(),
                remaining: u32::try_from(remaining).unwrap_or(0),
                reset_at: until,
            })),
            1 => Admission::Limited {
                until: (until >= 0).then_some(until),
            },
            2 => Admission::Ignored {
                until: (until >= 0).then_some(until),
            },
            other => {
                return Err(RedisStoreError::new(
                    RedisStoreErrorKind::Protocol,
                    format!("the admission script answered {other}"),
                ));
            }
        };
        if let Admission::Limited { until } | Admission::Ignored { until } = admission {
            self.quarantines.record(key, until, local);
        }
        Ok(admission)
    }

    /// One round trip: the script for one counter.
    async fn remote(
        &self,
        key: CounterKey<'_>,
        limit: Limit,
        at: At,
    ) -> Result<(i64, i64, i64, i64), RedisStoreError> {
        let [counter, keys, others, overflow] = self.keys(key.client(), key.request());
        let now = match at {
            At::Now => String::new(),
            At::Time(t) => t.to_string(),
        };
        let quarantine = match limit.quarantine {
            Quarantine::Seconds(s) => Millis::from(s.get()).saturating_mul(1000),
            Quarantine::Forever => 0,
        };
        let mut invocation = self.admit_script.prepare_invoke();
        invocation
            .key(counter)
            .key(keys)
            .key(others)
            .key(overflow)
            .arg(now)
            .arg(limit.per_minute.get())
            .arg(quarantine)
            .arg(u8::from(key.catalog_id().is_none()))
            .arg(MAX_OTHER_NAMES)
            .arg(millis(self.config.session_cap).max(1));
        self.invoke(&invocation).await
    }

    /// Runs a script, within the timeout.
    async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, RedisStoreError> {
        match &self.connection {
            Connection::Single(c) => Ok(self.run(invocation, &mut c.clone()).await??),
            Connection::Cluster(c) => Ok(self.run(invocation, &mut c.clone()).await??),
            Connection::Deferred(server) => {
                let mut c = server.connection(self.runtime.runtime()?)?;
                Ok(self.run(invocation, &mut c).await??)
            }
            Connection::Sentinel(master) => {
                let mut c = master.connection().await?;
                let answer = self.run(invocation, &mut c).await;
                let failed_over = match &answer {
                    Err(_) => true,
                    Ok(Err(e)) => {
                        e.is_io_error()
                            || e.is_connection_dropped()
                            || e.is_connection_refusal()
                            || e.is_timeout()
                            || e.kind()
                                == redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
                    }
                    Ok(Ok(_)) => false,
                };
                if failed_over {
                    master.reset().await;
                }
                Ok(answer??)
            }
        }
    }

    /// Runs a script on a connection, within the timeout.
    async fn run<T: redis::FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
        c: &mut impl redis::aio::ConnectionLike,
    ) -> Result<redis::RedisResult<T>, RedisStoreError> {
        within(self.config.timeout, "redis", invocation.invoke_async(c)).await
    }

    async fn admit_inner(
        &self,
        key: CounterKey<'_>,
        limit: Limit,
        at: At,
    ) -> Result<Admission, RedisStoreError> {
        let local = self.local.clock().now_millis();
        if let Some(answer) = self.without_round_trip(key, limit, at, local) {
            return answer;
        }
        self.round_trip(key, limit, at, local).await
    }

    /// Asks Redis, and falls back if it cannot answer.
    async fn round_trip(
        &self,
        key: CounterKey<'_>,
        limit: Limit,
        at: At,
        local: Millis,
    ) -> Result<Admission, RedisStoreError> {
        match self.remote(key, limit, at).await {
            Ok(reply) => self.answer(key, limit, reply, local),
            Err(e) if e.kind() == RedisStoreErrorKind::Unavailable => {
                self.failed(&e, local);
                self.fallback(key, limit, at)
            }
            // Refused or not understood: the request could not be counted.
            Err(e) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    async fn end_session_inner(&self, client: &str) -> Result<(), RedisStoreError> {
        self.quarantines.forget(client);
        self.local.end_session(client);
        let [_, keys, others, overflow] = self.keys(client, "");
        let mut invocation = self.end_script.prepare_invoke();
        invocation.key(keys).key(others).key(overflow);
        self.invoke::<i64>(&invocation).await.map(drop)
    }

    /// Runs a call of the blocking API on the store's runtime.
    fn block_on<T>(
        &self,
        (call, instead): (&str, &str),
        f: impl Future<Output = Result<T, RedisStoreError>>,
    ) -> Result<T, RedisStoreError> {
        outside_a_runtime(call, instead)?;
        self.runtime.runtime()?.block_on(f)
    }
}

/// The store's own runtime, with one worker thread. Dropped without
/// waiting, so a store may be dropped (or fail to connect) inside an async
/// broker, where Tokio refuses to block.
struct Driver(Option<tokio::runtime::Runtime>);

impl Driver {
    fn new() -> Result<Driver, RedisStoreError> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("scapi-redis")
            .enable_all()
            .build()
            .map(|r| Driver(Some(r)))
            .map_err(|e| usage(format!("cannot start the Redis client's runtime: {e}")))
    }

    fn runtime(&self) -> Result<&tokio::runtime::Runtime, RedisStoreError> {
        self.0
            .as_ref()
            .ok_or_else(|| usage("the store is shutting down"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// A client id inside a hash tag: `{`, `}` and `%` escaped, so the tag is
/// the whole id.
fn hash_tag(client: &str) -> std::borrow::Cow<'_, str> {
    if !client.contains(['{', '}', '%']) {
        return std::borrow::Cow::Borrowed(client);
    }
    std::borrow::Cow::Owned(
        client
            .replace('%', "%25")
            .replace('{', "%7B")
            .replace('}', "%7D"),
    )
}

/// Refuses a blocking call from a thread of an async runtime, where it
/// would stall the runtime (Tokio panics).
fn outside_a_runtime(call: &str, instead: &str) -> Result<(), RedisStoreError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(usage(format!(
            "`RedisStore::{call}` blocks, and was called from an async runtime; use `{instead}`"
        )));
    }
    Ok(())
}

/// `f`'s output, or `Unavailable` ("`what`: no answer within …") when it
/// takes longer than `limit`.
async fn within<T>(
    limit: Duration,
    what: &str,
    f: impl Future<Output = T>,
) -> Result<T, RedisStoreError> {
    tokio::time::timeout(limit, f)
        .await
        .map_err(|_| unavailable(format!("{what}: no answer within {limit:?}")))
}

/// A connection to one server, on the store's runtime.
async fn open_single(url: &str, config: &RedisConfig) -> Result<Connection, RedisStoreError> {
    open_manager(url, config).await.map(Connection::Single)
}

/// A client of `url`: whether it is a Redis URL, before any connection.
fn single_client(url: &str) -> Result<redis::Client, RedisStoreError> {
    redis::Client::open(url).map_err(|e| {
        usage(format!("`{}` is not a Redis URL: {e}", redact_url(url))).caused_by(e.into())
    })
}

/// A connection to one server, answering (it has answered a `PING`).
async fn open_manager(
    url: &str,
    config: &RedisConfig,
) -> Result<ConnectionManager, RedisStoreError> {
    let shown = redact_url(url);
    let client = single_client(url)?;
    let manager_config = redis::aio::ConnectionManagerConfig::new()
        .set_response_timeout(Some(config.timeout))
        .set_connection_timeout(Some(config.connect_timeout))
        .set_number_of_retries(1);
    let connect = ConnectionManager::new_with_config(client, manager_config);
    let limit = config.connect_timeout.saturating_add(config.timeout);
    let what = format!("cannot connect to `{shown}`");
    let mut manager = match within(limit, &what, connect).await? {
        Ok(manager) => manager,
        Err(e) => return Err(refused_or(e, &what)),
    };
    // A connection is made before any command: whether Redis accepts this
    // client (a password it requires) is known only from an answer.
    let ping = redis::cmd("PING");
    match within(
        config.timeout,
        &what,
        ping.query_async::<String>(&mut manager),
    )
    .await?
    {
        Ok(_) => Ok(manager),
        Err(e) => Err(refused_or(e, &what)),
    }
}

/// The parts of a `redis+sentinel://` URL: the Sentinels, the group's
/// name, the master's user, password and database.
#[derive(Debug, PartialEq, Eq)]
struct SentinelUrl {
    sentinels: Vec<(String, u16)>,
    master: String,
    user: Option<String>,
    password: Option<String>,
    db: i64,
}

fn parse_sentinel_url(url: &str) -> Result<SentinelUrl, RedisStoreError> {
    let shown = redact_url(url);
    let bad = |why: &str| {
        usage(format!(
            "`{shown}` is not a Sentinel URL: {why}; write `redis+sentinel://HOST:PORT[,HOST:PORT…]/MASTER[/DB]`"
        ))
    };
    let rest = url
        .strip_prefix("redis+sentinel://")
        .ok_or_else(|| bad("it does not start with `redis+sentinel://`"))?;
    let (authority, path) = rest
        .split_once('/')
        .ok_or_else(|| bad("it names no master"))?;
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        None => (None, None),
        Some(u) => match u.split_once(':') {
            Some((user, pass)) => (
                (!user.is_empty()).then(|| user.to_string()),
                Some(pass.to_string()),
            ),
            None => (Some(u.to_string()), None),
        },
    };
    let mut sentinels = Vec::new();
    for host in hosts.split(',') {
        let (h, p) = host
            .rsplit_once(':')
            .ok_or_else(|| bad(&format!("`{host}` has no port")))?;
        let port = p
            .parse::<u16>()
            .map_err(|_| bad(&format!("`{p}` is not a port")))?;
        if h.is_empty() {
            return Err(bad("a Sentinel has no host"));
        }
        sentinels.push((
            h.trim_start_matches('[').trim_end_matches(']').to_string(),
            port,
        ));
    }
    let mut parts = path.split('/');
    let master = parts.next().unwrap_or("").to_string();
    if master.is_empty() {
        return Err(bad("it names no master"));
    }
    let db = match parts.next() {
        None | Some("") => 0,
        Some(d) => d
            .parse::<i64>()
            .map_err(|_| bad(&format!("`{d}` is not a database number")))?,
    };
    if parts.next().is_some() {
        return Err(bad("the path has more than a master and a database"));
    }
    Ok(SentinelUrl {
        sentinels,
        master,
        user,
        password,
        db,
    })
}

/// The master Sentinel names, on the store's runtime.
async fn open_sentinel(url: &str, config: &RedisConfig) -> Result<Connection, RedisStoreError> {
    let u = parse_sentinel_url(url)?;
    let master = sentinel_master(&u, url, config)?;
    let shown = redact_url(url);
    // Reached once before any request: a wrong name or password is said now.
    let mut c = master.connection().await?;
    let what = format!("cannot connect to the master `{}` of `{shown}`", u.master);
    match within(
        config.timeout,
        &what,
        redis::cmd("PING").query_async::<String>(&mut c),
    )
    .await?
    {
        Ok(_) => Ok(Connection::Sentinel(master)),
        Err(e) => Err(refused_or(e, &what)),
    }
}

/// The master of a `redis+sentinel://` URL (`u`, parsed from `url`), to
/// be asked of its Sentinels when a connection is first needed.
fn sentinel_master(
    u: &SentinelUrl,
    url: &str,
    config: &RedisConfig,
) -> Result<Arc<SentinelMaster>, RedisStoreError> {
    let shown = redact_url(url);
    let addrs = u
        .sentinels
        .iter()
        .map(|(h, p)| redis::ConnectionAddr::Tcp(h.clone(), *p));
    let mut builder = redis::sentinel::SentinelClientBuilder::new(
        addrs,
        u.master.clone(),
        redis::sentinel::SentinelServerType::Master,
    )
    .map_err(|e| usage(format!("`{shown}`: {e}")).caused_by(e.into()))?
    .set_client_to_redis_db(u.db);
    if let Some(user) = &u.user {
        builder = builder.set_client_to_redis_username(user);
    }
    if let Some(password) = &u.password {
        builder = builder.set_client_to_redis_password(password);
    }
    let sentinel = builder
        .build()
        .map_err(|e| usage(format!("`{shown}`: {e}")).caused_by(e.into()))?;
    Ok(Arc::new(SentinelMaster {
        sentinel: tokio::sync::Mutex::new(sentinel),
        current: tokio::sync::Mutex::new(None),
        timeout: config.timeout,
        connect_timeout: config.connect_timeout,
    }))
}

/// A connection error: `Refused` when Redis refused this client (say how
/// to give the password), else `Unavailable`.
fn refused_or(e: redis::RedisError, what: &str) -> RedisStoreError {
    let r = RedisStoreError::from(e);
    let shown = r.message.trim_start_matches("redis: ");
    let error = if r.kind() == RedisStoreErrorKind::Refused {
        RedisStoreError::new(
            RedisStoreErrorKind::Refused,
            format!(
                "{what}: Redis refused this client ({shown}); give the user and password in the URL (`redis://USER:PASSWORD@HOST:PORT`)"
            ),
        )
    } else {
        unavailable(format!("{what}: {shown}"))
    };
    match r.source {
        Some(source) => error.caused_by(source),
        None => error,
    }
}

/// `url` with its password (and any user information) masked, for
/// messages and logs: `redis://:s3cret@host:6379/0` is shown as
/// `redis://***@host:6379/0`. Every URL scapi prints goes through it.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    // The authority ends at the first `/`, `?` or `#`; its user
    // information, at its last `@`.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let shown = match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}"),
        None => format!("{scheme}://{authority}"),
    };
    // A Unix socket's URL gives them in its query (`?user=…&pass=…`).
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    if query.is_empty() {
        return format!("{shown}{tail}");
    }
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if matches!(k, "pass" | "password" | "user" | "username") => {
                format!("{k}=***")
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("{shown}{path}?{}", query.join("&"))
}

/// A connection to a cluster, on the store's runtime.
async fn open_cluster(nodes: &[&str], config: &RedisConfig) -> Result<Connection, RedisStoreError> {
    let client = redis::cluster::ClusterClient::builder(nodes.iter().copied())
        .connection_timeout(config.connect_timeout)
        .response_timeout(config.timeout)
        .retries(1)
        .build()
        .map_err(|e| usage(format!("not a Redis Cluster address: {e}")).caused_by(e.into()))?;
    let connect = client.get_async_connection();
    let limit = config.connect_timeout.saturating_add(config.timeout);
    let what = "cannot connect to the cluster";
    let mut c = match within(limit, what, connect).await? {
        Ok(c) => c,
        Err(e) => return Err(refused_or(e, what)),
    };
    let ping = redis::cmd("PING");
    match within(config.timeout, what, ping.query_async::<String>(&mut c)).await? {
        Ok(_) => Ok(Connection::Cluster(c)),
        Err(e) => Err(refused_or(e, what)),
    }
}

impl CounterStore for RedisStore {
    type Error = RedisStoreError;

    /// Blocks the calling thread for at most one round trip; not for
    /// threads of an async runtime (use [`AsyncCounterStore`]).
    fn admit(&self, key: CounterKey<'_>, limit: Limit, at: At) -> Result<Admission, Self::Error> {
        let local = self.local.clock().now_millis();
        // Answered here without entering the runtime: a quarantine costs a
        // lookup.
        if let Some(answer) = self.without_round_trip(key, limit, at, local) {
            return answer;
        }
        self.block_on(
            ("admit", "admit_async"),
            self.round_trip(key, limit, at, local),
        )
    }

    fn end_session(&self, client: &str) -> Result<(), Self::Error> {
        self.block_on(
            ("end_session", "end_session_async"),
            self.end_session_inner(client),
        )
    }
}

impl AsyncCounterStore for RedisStore {
    type Error = RedisStoreError;

    fn admit(
        &self,
        key: CounterKey<'_>,
        limit: Limit,
        at: At,
    ) -> impl Future<Output = Result<Admission, Self::Error>> + Send {
        self.admit_inner(key, limit, at)
    }

    fn end_session(&self, client: &str) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.end_session_inner(client)
    }
}

/// The README's examples, compiled as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

#[cfg(test)]
mod tests {

    #[test]
    fn urls_are_shown_without_credentials() {
        for (url, shown) in [
            ("redis://:s3cret@h:6379/0", "redis://***@h:6379/0"),
            ("rediss://user:p%40ss@h.example", "rediss://***@h.example"),
            ("redis://u:a@b@h/1?x=@", "redis://***@h/1?x=@"),
            ("redis://h:6379", "redis://h:6379"),
            ("unix:///tmp/r.sock", "unix:///tmp/r.sock"),
            ("not a url", "not a url"),
            (
                "redis+unix:///tmp/r.sock?pass=s3cret&db=9",
                "redis+unix:///tmp/r.sock?pass=***&db=9",
            ),
            (
                "unix:///s?user=u&password=p",
                "unix:///s?user=***&password=***",
            ),
        ] {
            assert_eq!(super::redact_url(url), shown, "{url}");
        }
    }

    use super::*;

    #[test]
    fn hash_tags_hold_the_whole_client() {
        assert_eq!(hash_tag("agent-1"), "agent-1");
        assert_eq!(hash_tag("a{b}%"), "a%7Bb%7D%25");
    }

    #[test]
    fn the_scripts_document_their_contract() {
        for s in [ADMIT_SCRIPT, END_SESSION_SCRIPT] {
            assert!(s.starts_with("-- scapi"));
            assert!(s.contains("KEYS[1]"));
        }
    }
}
