//! One active policy per broker, swapped atomically, its counters kept.
//!
//! A broker holds a [`PolicyHandle`]. Each request takes one snapshot
//! ([`PolicyHandle::current`]) and decides on it — the check, the rate
//! limit and the attached-data filter all of one policy — so a request in
//! flight during a swap sees the old policy or the new one, never a mix.
//!
//! Counters and quarantines belong to (client, request), not to a policy:
//! every policy the handle swaps in counts in the one store the handle was
//! built with. A swap therefore never refills a quota or lifts a
//! quarantine, and a changed limit applies from the swap on: with 10 of a
//! 10-per-minute limit admitted, a swap to 20 per minute in the same window
//! admits exactly 10 more. A policy that fails to load is refused with its
//! [`LoadError`] and the active one keeps serving.
//!
//! [`Active::decide`] is the whole decision of one request — the check,
//! the write filter on the attached data it carries, the rate limit — as
//! a broker applies it, with shadow mode, the handle's [`Metrics`], a
//! candidate policy compared beside the active one, and the decision log.

use crate::catalog::{self, RequestId};
use crate::compiled::{CompiledPolicy, LoadError};
use crate::decision::{Entry, Frame, Outcome, Reason};
use crate::limiter::{
    Admission, AsyncCounterStore, At, Clock, CounterKey, CounterStore, MemoryStore, RateLimiter,
    SystemClock,
};
use crate::log::{ClientHasher, DecisionRecord, DecisionSink};
use crate::metrics::Metrics;
use crate::policy::Policy;
use std::sync::{Arc, PoisonError, RwLock};

/// A policy swapped in, with its rate limiter on the handle's store.
#[derive(Debug)]
pub struct Active<S = MemoryStore> {
    policy: Policy,
    limiter: RateLimiter<Arc<S>>,
    /// Where shadow decisions count: counters of their own, so a shadow
    /// decision never refuses a request, even one decided by an enforcing
    /// entry or after the mark is removed.
    shadow_limiter: RateLimiter<Arc<MemoryStore>>,
    generation: u64,
    extras: Arc<Extras>,
}

/// What a handle adds to each decision: metrics, a candidate, a log.
#[derive(Default)]
struct Extras {
    metrics: Option<Arc<Metrics>>,
    candidate: Option<Candidate>,
    log: Option<(Arc<dyn DecisionSink>, ClientHasher)>,
}

impl std::fmt::Debug for Extras {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extras").finish_non_exhaustive()
    }
}

/// A policy decided beside the active one, never enforced, counting in
/// counters of its own (so they move as if it were enforcing).
struct Candidate {
    policy: Policy,
    limiter: RateLimiter<MemoryStore>,
}

/// One request as a broker receives it.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    /// The origin the browser gave (`event.origin`).
    pub origin: &'a str,
    /// The request name.
    pub request: &'a str,
    /// Whose counters it counts in (the agent session).
    pub client: &'a str,
    /// How the frame is displayed.
    pub frame: Frame,
    /// The keys of the attached data it carries, if it carries any.
    pub keys: Option<&'a [String]>,
    /// When: now by the store's clock, or a given time.
    pub at: At,
}

impl<'a> Call<'a> {
    /// A call of `request` from an embedded frame at `origin`, for
    /// `client`, now, without attached data.
    pub fn new(origin: &'a str, request: &'a str, client: &'a str) -> Call<'a> {
        Call {
            origin,
            request,
            client,
            frame: Frame::Embedded,
            keys: None,
            at: At::Now,
        }
    }
}

/// The decision of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict<'p> {
    /// The outcome — in shadow, the one it would have had.
    pub outcome: Outcome,
    /// Why.
    pub reason: Reason,
    /// The deciding entry.
    pub entry: Option<Entry<'p>>,
    /// Decided in shadow: nothing is enforced, the request goes on as it
    /// came (see [`Verdict::enforced`]).
    pub shadow: bool,
    /// The limiter's answer, when it was asked.
    pub admission: Option<Admission>,
    /// Attached-data keys `write-allowed` does not list (stripped unless
    /// in shadow).
    pub denied_keys: Vec<String>,
}

impl Verdict<'_> {
    /// What the broker does: the outcome, or `allow` in shadow.
    pub fn enforced(&self) -> Outcome {
        if self.shadow {
            Outcome::Allow
        } else {
            self.outcome
        }
    }

    /// The keys to strip from the attached data before passing it on:
    /// none in shadow.
    pub fn strip(&self) -> &[String] {
        if self.shadow { &[] } else { &self.denied_keys }
    }
}

/// What a decision needs the limiter for, after the policy decided.
enum Next<'p> {
    Done(Verdict<'p>),
    Admit(Verdict<'p>),
}

impl<S> Active<S> {
    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Its rate limiter, counting in the handle's store.
    pub fn limiter(&self) -> &RateLimiter<Arc<S>> {
        &self.limiter
    }

    /// How many swaps came before it: 0 for the first policy.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The decision's metrics, candidate and log.
    fn finish<'p>(&'p self, call: &Call<'_>, id: Option<RequestId>, v: Verdict<'p>) -> Verdict<'p> {
        let x = &*self.extras;
        if let Some(m) = &x.metrics {
            let headroom = match v.admission {
                Some(Admission::Admitted(h)) => h,
                _ => None,
            };
            m.record_known(
                &self.policy,
                call.request,
                id,
                (v.outcome, v.reason),
                v.shadow,
                headroom,
            );
            if let Some(c) = &x.candidate {
                m.compare(v.outcome, c.decide(call, id).outcome);
            }
        } else if let Some(c) = &x.candidate {
            c.decide(call, id);
        }
        if let Some((sink, hasher)) = &x.log {
            let time = match call.at {
                At::Time(t) => t,
                At::Now => SystemClock.now_millis(),
            };
            sink.record(DecisionRecord {
                time,
                policy: self.policy.source().sha256.clone(),
                client: hasher.hash(call.client),
                origin: call.origin.to_string(),
                request: call.request.to_string(),
                outcome: v.outcome,
                reason: v.reason,
                line: v.entry.map(|e| e.line),
                shadow: v.shadow,
            });
        }
        v
    }

    /// The policy's part of a decision, and a shadow decision's admission
    /// (in the shadow counters, in memory); `Err`: what the store must
    /// still admit, and under which key.
    #[allow(clippy::type_complexity)]
    fn settle<'p, 'c>(
        &'p self,
        call: &Call<'c>,
        id: Option<RequestId>,
    ) -> Result<Verdict<'p>, (Verdict<'p>, CounterKey<'c>)> {
        match prepare(&self.policy, call, id) {
            Next::Done(v) => Ok(v),
            Next::Admit(v) => {
                let key = CounterKey::known(call.client, call.request, id);
                if v.shadow {
                    Ok(admitted(v, self.shadow_limiter.admit_key(key, call.at)))
                } else {
                    Err((v, key))
                }
            }
        }
    }

    /// Decides one request: the check, the write filter on the keys it
    /// carries, the rate limit; then counts it in the handle's metrics,
    /// decides it on the candidate, and logs it. A store that fails makes
    /// it `deny` with `store-unavailable` (fail closed; a fleet store that
    /// fails open answers from memory instead).
    pub fn decide<'p>(&'p self, call: &Call<'_>) -> Verdict<'p>
    where
        S: CounterStore,
    {
        // The request's catalog entry, looked up once for the check, the
        // limiter and the metrics.
        let id = catalog::lookup(call.request);
        let v = match self.settle(call, id) {
            Ok(v) => v,
            Err((v, key)) => admitted(v, self.limiter.admit_key(key, call.at)),
        };
        self.finish(call, id, v)
    }

    /// [`decide`](Active::decide) for a store on an async runtime.
    pub async fn decide_async<'p>(&'p self, call: &Call<'_>) -> Verdict<'p>
    where
        S: AsyncCounterStore,
    {
        let id = catalog::lookup(call.request);
        let v = match self.settle(call, id) {
            Ok(v) => v,
            Err((v, key)) => admitted(v, self.limiter.admit_async_key(key, call.at).await),
        };
        self.finish(call, id, v)
    }
}

impl Candidate {
    fn decide(&self, call: &Call<'_>, id: Option<RequestId>) -> Verdict<'_> {
        match prepare(&self.policy, call, id) {
            Next::Done(v) => v,
            Next::Admit(v) => {
                let key = CounterKey::known(call.client, call.request, id);
                admitted(v, self.limiter.admit_key(key, call.at))
            }
        }
    }
}

/// The policy's part of a decision; the limiter's comes next when the
/// policy allows it.
fn prepare<'p>(policy: &'p Policy, call: &Call<'_>, id: Option<RequestId>) -> Next<'p> {
    let d = policy.check_known(call.origin, call.request, id, call.frame);
    let mut v = Verdict {
        outcome: d.outcome,
        reason: d.reason,
        entry: d.entry,
        shadow: policy.shadows(d.entry),
        admission: None,
        denied_keys: Vec::new(),
    };
    if !d.is_allowed() {
        return Next::Done(v);
    }
    if let Some(keys) = call.keys {
        let split = policy
            .user_data()
            .split_write(keys.iter().map(String::as_str));
        v.denied_keys = split.denied.iter().map(|k| k.to_string()).collect();
        if split.denies(call.request) {
            v.outcome = Outcome::Deny;
            v.reason = Reason::NoWritableKeys;
            return Next::Done(v);
        }
    }
    Next::Admit(v)
}

/// The decision with the limiter's answer (an error: a store out of reach
/// failing closed).
fn admitted<E>(mut v: Verdict<'_>, admission: Result<Admission, E>) -> Verdict<'_> {
    match admission {
        Err(_) => {
            v.outcome = Outcome::Deny;
            v.reason = Reason::StoreUnavailable;
        }
        Ok(a) => {
            v.admission = Some(a);
            match a {
                Admission::Admitted(_) => {}
                Admission::Limited { .. } => {
                    v.outcome = Outcome::RateLimited;
                    v.reason = Reason::RateLimit;
                }
                Admission::Ignored { .. } => {
                    v.outcome = Outcome::Ignored;
                    v.reason = Reason::Quarantine;
                }
            }
        }
    }
    v
}

/// The active policy of a broker. `Send + Sync`: share it between threads.
pub struct PolicyHandle<S = MemoryStore> {
    active: RwLock<Arc<Active<S>>>,
    store: Arc<S>,
    /// The counters of shadow decisions, kept across swaps.
    shadow_store: Arc<MemoryStore>,
}

impl<S> std::fmt::Debug for PolicyHandle<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyHandle").finish_non_exhaustive()
    }
}

impl PolicyHandle {
    /// A handle on `policy` with in-memory counters.
    pub fn new(policy: Policy) -> PolicyHandle {
        PolicyHandle::with_store(policy, MemoryStore::new())
    }
}

impl<S> PolicyHandle<S> {
    /// A handle on `policy` whose counters live in `store`, for this policy
    /// and every one swapped in after it. Its decisions are counted in
    /// [`Metrics`] with the default near-limit ratio.
    pub fn with_store(policy: Policy, store: S) -> PolicyHandle<S> {
        policy.index_origins();
        let store = Arc::new(store);
        let shadow_store = Arc::new(MemoryStore::new());
        let first = Active {
            limiter: RateLimiter::with_store(policy.rate_limits().clone(), Arc::clone(&store)),
            shadow_limiter: RateLimiter::with_store(
                policy.rate_limits().clone(),
                Arc::clone(&shadow_store),
            ),
            policy,
            generation: 0,
            extras: Arc::new(Extras {
                metrics: Some(Arc::new(Metrics::default())),
                ..Extras::default()
            }),
        };
        PolicyHandle {
            active: RwLock::new(Arc::new(first)),
            store,
            shadow_store,
        }
    }

    /// The same handle counting its decisions in `metrics` (`None`: not
    /// counted).
    pub fn with_metrics(self, metrics: Option<Metrics>) -> PolicyHandle<S> {
        self.change_extras(|x| x.metrics = metrics.map(Arc::new));
        self
    }

    /// The same handle sending a record of each decision to `sink`, the
    /// client hashed by `hasher` (logging never changes a decision).
    pub fn with_decision_log(
        self,
        sink: Arc<dyn DecisionSink>,
        hasher: ClientHasher,
    ) -> PolicyHandle<S> {
        self.change_extras(move |x| x.log = Some((sink, hasher)));
        self
    }

    /// Runs `candidate` beside the active policy (`None`: stops): every
    /// decision is also made on it, in counters of its own, never
    /// enforced, and the metrics count where the two disagree. A swap
    /// keeps the candidate.
    pub fn set_candidate(&self, candidate: Option<Policy>) {
        if let Some(policy) = &candidate {
            policy.index_origins();
        }
        self.change_extras(move |x| {
            x.candidate = candidate.map(|policy| Candidate {
                limiter: RateLimiter::with_store(policy.rate_limits().clone(), MemoryStore::new()),
                policy,
            })
        });
    }

    /// Makes the active policy's extras what `change` makes of them.
    fn change_extras(&self, change: impl FnOnce(&mut Extras)) {
        let mut active = self.active.write().unwrap_or_else(PoisonError::into_inner);
        let old = &active.extras;
        let mut extras = Extras {
            metrics: old.metrics.clone(),
            candidate: None,
            log: old.log.clone(),
        };
        let had = old.candidate.as_ref().map(|c| Candidate {
            policy: c.policy.clone(),
            limiter: RateLimiter::with_store(c.policy.rate_limits().clone(), MemoryStore::new()),
        });
        extras.candidate = had;
        change(&mut extras);
        let next = Arc::new(Active {
            policy: active.policy.clone(),
            limiter: RateLimiter::with_store(
                active.policy.rate_limits().clone(),
                Arc::clone(&self.store),
            ),
            shadow_limiter: RateLimiter::with_store(
                active.policy.rate_limits().clone(),
                Arc::clone(&self.shadow_store),
            ),
            generation: active.generation,
            extras: Arc::new(extras),
        });
        *active = next;
    }

    /// Ends a client's session in the counters the handle keeps in memory
    /// beside its store: those of shadow decisions and of the candidate.
    fn end_local_sessions(&self, client: &str) {
        let Ok(()) = CounterStore::end_session(&*self.shadow_store, client);
        if let Some(c) = &self.current().extras.candidate {
            let Ok(()) = c.limiter.end_session(client);
        }
    }

    /// The numbers of the handle's metrics now, with the active policy's
    /// limits (`None` when it counts none).
    pub fn metrics(&self) -> Option<crate::metrics::Snapshot> {
        let active = self.current();
        let m = active.extras.metrics.as_ref()?;
        Some(m.snapshot(&active.policy, active.generation))
    }

    /// The active policy: decide one request on it, check to limit.
    pub fn current(&self) -> Arc<Active<S>> {
        Arc::clone(&self.active.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Makes `policy` the active one, atomically, and returns the one it
    /// replaces (requests holding it finish on it).
    pub fn swap(&self, policy: Policy) -> Arc<Active<S>> {
        // Indexed before the swap: no check after it pays for that.
        policy.index_origins();
        let limiter =
            RateLimiter::with_store(policy.rate_limits().clone(), Arc::clone(&self.store));
        let mut active = self.active.write().unwrap_or_else(PoisonError::into_inner);
        let shadow_limiter =
            RateLimiter::with_store(policy.rate_limits().clone(), Arc::clone(&self.shadow_store));
        let next = Arc::new(Active {
            policy,
            limiter,
            shadow_limiter,
            generation: active.generation.saturating_add(1),
            extras: Arc::clone(&active.extras),
        });
        std::mem::replace(&mut *active, next)
    }

    /// Loads a compiled policy document and swaps it in; when it does not
    /// load, nothing changes and the error says why.
    pub fn reload(&self, text: &str) -> Result<Arc<Active<S>>, LoadError> {
        let policy = CompiledPolicy::load(text)?;
        self.swap(policy);
        Ok(self.current())
    }

    /// [`reload`](PolicyHandle::reload) of a signed document: swapped in
    /// only when a trusted key signed exactly `text` (`signature` is the
    /// text of its `.sig`, `None` when there is none); else nothing changes.
    #[cfg(feature = "signing")]
    pub fn reload_signed(
        &self,
        text: &str,
        signature: Option<&str>,
        keys: &crate::signing::TrustedKeys,
    ) -> Result<Arc<Active<S>>, crate::signing::SignedLoadError> {
        let policy = crate::signing::load_signed(text, signature, keys)?;
        self.swap(policy);
        Ok(self.current())
    }

    /// The store every policy of this handle counts in.
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }
}

impl<S: AsyncCounterStore> PolicyHandle<S> {
    /// [`end_session`](PolicyHandle::end_session) for a store on an async
    /// runtime.
    pub async fn end_session_async(&self, client: &str) -> Result<(), S::Error> {
        self.end_local_sessions(client);
        self.store.end_session(client).await
    }
}

impl<S: CounterStore> PolicyHandle<S> {
    /// Ends a client's session in the store (its counters and quarantines
    /// go), whichever policy is active.
    pub fn end_session(&self, client: &str) -> Result<(), S::Error> {
        self.end_local_sessions(client);
        self.store.end_session(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outcome;
    use crate::limiter::Admission;

    /// A policy accepting `origin` for `voice.dial`, limited to `limit` a
    /// minute with a 60-second quarantine.
    fn policy_text(origin: &str, limit: u32) -> String {
        format!(
            r#"{{"schemaVersion": 1, "source": {{"name": "t.cfg", "sha256": "00"}},
              "origins": [{{"origin": "{origin}", "allow": ["voice.dial"], "grants": ["voice.dial"], "line": 1}}],
              "anyOrigin": null,
              "rateLimit": {{"windowSeconds": 60, "default": 0, "perRequest": {{"voice.dial": {limit}}}, "quarantineSeconds": 60}},
              "userData": {{"read": [], "write": []}}, "webExtensions": []}}"#
        )
    }

    fn policy(origin: &str, limit: u32) -> Policy {
        CompiledPolicy::load(&policy_text(origin, limit)).unwrap()
    }

    const T0: i64 = 1_800_000_000_000; // a window's start

    fn admit(h: &PolicyHandle, n: usize, at: i64) -> Vec<Admission> {
        (0..n)
            .map(|_| {
                h.current()
                    .limiter()
                    .admit_at("c", "voice.dial", at)
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn a_raised_limit_applies_from_the_swap_with_the_counts_kept() {
        let h = PolicyHandle::new(policy("https://a.example", 10));
        assert!(admit(&h, 10, T0).iter().all(|a| a.is_admitted()));
        h.swap(policy("https://a.example", 20));
        let after = admit(&h, 11, T0 + 1000);
        assert!(after[..10].iter().all(|a| a.is_admitted()));
        assert!(matches!(after[10], Admission::Limited { .. }), "{after:?}");
    }

    #[test]
    fn a_swap_lifts_no_quarantine_and_refills_nothing() {
        let h = PolicyHandle::new(policy("https://a.example", 2));
        let first = admit(&h, 3, T0);
        assert!(matches!(first[2], Admission::Limited { .. }));
        // The same policy again, and a new one with the same limit.
        h.reload(&policy_text("https://a.example", 2)).unwrap();
        assert!(matches!(
            admit(&h, 1, T0 + 1000)[0],
            Admission::Ignored { .. }
        ));
        h.swap(policy("https://b.example", 2));
        assert!(matches!(
            admit(&h, 1, T0 + 2000)[0],
            Admission::Ignored { .. }
        ));
        assert_eq!(h.current().generation(), 2);
    }

    #[test]
    fn a_policy_that_does_not_load_leaves_the_active_one() {
        let h = PolicyHandle::new(policy("https://a.example", 10));
        let broken = policy_text("https://a.example", 10)
            .replace("\"schemaVersion\": 1", "\"schemaVersion\": 9");
        let e = h.reload(&broken).unwrap_err();
        assert_eq!(e.kind(), crate::compiled::LoadErrorKind::SchemaVersion);
        assert!(h.reload("{").is_err());
        let now = h.current();
        assert_eq!(now.generation(), 0);
        assert_eq!(
            now.policy()
                .check("https://a.example", "voice.dial")
                .outcome,
            Outcome::Allow
        );
    }

    #[cfg(feature = "signing")]
    #[test]
    fn a_tampered_policy_is_refused_while_the_old_one_serves() {
        use crate::signing::{SecretKey, SignedLoadError, TrustedKeys, VerifyError};
        let key = SecretKey::from_seed([7; 32]);
        let mut keys = TrustedKeys::new();
        keys.add(key.public_key());
        let h = PolicyHandle::new(policy("https://a.example", 10));
        let next = policy_text("https://b.example", 20);
        let sig = key.sign(next.as_bytes()).to_json();
        let tampered = next.replace("https://b.example", "https://evil.example");
        assert!(matches!(
            h.reload_signed(&tampered, Some(&sig), &keys),
            Err(SignedLoadError::Verify(VerifyError::Altered { .. }))
        ));
        assert!(matches!(
            h.reload_signed(&next, None, &keys),
            Err(SignedLoadError::Verify(VerifyError::Unsigned))
        ));
        assert_eq!(h.current().generation(), 0);
        assert_eq!(
            h.current()
                .policy()
                .check("https://a.example", "voice.dial")
                .outcome,
            Outcome::Allow
        );
        let active = h.reload_signed(&next, Some(&sig), &keys).unwrap();
        assert_eq!(active.generation(), 1);
        assert_eq!(
            active
                .policy()
                .check("https://b.example", "voice.dial")
                .outcome,
            Outcome::Allow
        );
    }

    /// 8 threads deciding through 1,000 swaps between two policies: every
    /// decision is wholly of one (the origin it accepts and the limit its
    /// limiter applies agree).
    #[test]
    fn checks_during_swaps_never_see_a_mixed_policy() {
        let h = Arc::new(PolicyHandle::new(policy("https://a.example", 10)));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let started = Arc::new(std::sync::Barrier::new(9));
        let checkers: Vec<_> = (0..8)
            .map(|_| {
                let (h, done, started) = (Arc::clone(&h), Arc::clone(&done), Arc::clone(&started));
                std::thread::spawn(move || {
                    started.wait();
                    let mut decided = 0u64;
                    while !done.load(std::sync::atomic::Ordering::Acquire) {
                        let a = h.current();
                        let is_a = a.policy().check("https://a.example", "voice.dial").outcome
                            == Outcome::Allow;
                        let is_b = a.policy().check("https://b.example", "voice.dial").outcome
                            == Outcome::Allow;
                        let limit = a
                            .limiter()
                            .limit_for("voice.dial")
                            .unwrap()
                            .per_minute
                            .get();
                        assert!(is_a != is_b, "both or neither origin accepted");
                        assert_eq!(limit, if is_a { 10 } else { 20 }, "a mixed policy");
                        decided += 1;
                    }
                    decided
                })
            })
            .collect();
        let (a, b) = (
            policy("https://a.example", 10),
            policy("https://b.example", 20),
        );
        started.wait();
        for i in 0..1000 {
            h.swap(if i % 2 == 0 { b.clone() } else { a.clone() });
        }
        done.store(true, std::sync::atomic::Ordering::Release);
        for c in checkers {
            c.join().unwrap();
        }
        assert_eq!(h.current().generation(), 1000);
    }
}
