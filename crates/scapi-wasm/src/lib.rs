//! # scapi-wasm — scapi for browsers and Node
//!
//! The WebAssembly side of the npm package in `bindings/npm`: the
//! `scapi-policy` runtime (load a compiled policy, check requests, rate
//! limits, attached-data filtering and redaction) and, with the `compiler`
//! feature, the linter and compiler of the `scapi` crate. The package's
//! JavaScript (`bindings/npm/index.js`) wraps these exports in the API its
//! TypeScript definitions describe; this crate keeps the boundary narrow
//! and cheap:
//!
//! * results cross as JSON text, except [`Policy::check`], which a broker
//!   calls for every message: it returns one number the JavaScript side
//!   decodes (no string, no object built on this side);
//! * errors cross as a JSON text `{"code", "message"}` that the JavaScript
//!   side throws as an `Error` with a `code`, the same codes and messages
//!   as the CLI;
//! * the hash keys of the policy's and the limiter's tables are seeded at
//!   start-up from `crypto.getRandomValues` (std has no random source on
//!   `wasm32-unknown-unknown`);
//! * the limiter's clock is `Date.now()` (`SystemTime` traps on this
//!   target); every admission may also give its own time.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use scapi_policy::limiter::{Admission, Clock, MemoryStore, Millis};
use scapi_policy::{CompiledPolicy, Frame, Outcome, Reason};
use serde_json::json;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `crypto.getRandomValues`: the browser's and Node's (≥ 19) secure
    /// random source.
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);

    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

/// Seeds the hash keys before anything else runs.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
#[wasm_bindgen(start)]
fn start() {
    let mut seed = [0u8; 16];
    get_random_values(&mut seed);
    scapi_policy::hashing::seed(seed);
}

/// The outcomes, in the order of [`Policy::check`]'s code.
const OUTCOMES: [Outcome; 5] = Outcome::ALL;

/// The reasons, in the order of [`Policy::check`]'s code.
const REASONS: [Reason; 11] = Reason::ALL;

/// The names behind the numbers of [`Policy::check`] and
/// [`RateLimiter::admit`], as JSON: `{"outcomes", "reasons",
/// "admissions"}`.
#[wasm_bindgen]
pub fn names() -> String {
    json!({
        "outcomes": OUTCOMES.iter().map(|o| o.to_string()).collect::<Vec<_>>(),
        "reasons": REASONS.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        "admissions": ["admitted", "limited", "ignored"],
    })
    .to_string()
}

/// The crate version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

thread_local! {
    /// Where the JavaScript side writes the strings of a check.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The address in the module's memory of a buffer of at least `len` bytes
/// that [`Policy::check_scratch`] reads. It moves when it grows, so the
/// JavaScript side asks again for a longer one.
#[wasm_bindgen]
pub fn scratch(len: usize) -> usize {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < len {
            s.resize(len, 0);
        }
        s.as_mut_ptr() as usize
    })
}

/// An error for the JavaScript side to throw: `{"code", "message"}`.
fn error(code: &str, message: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&json!({"code": code, "message": message.to_string()}).to_string())
}

/// A loaded policy.
#[wasm_bindgen]
pub struct Policy {
    inner: scapi_policy::Policy,
}

#[wasm_bindgen]
impl Policy {
    /// Loads a compiled policy (what `scapi compile` writes, as JSON).
    /// Throws `{"code", "message"}`: the code is the kind of problem
    /// (`syntax`, `schema-version`, `origin`, `filter`, `grants`,
    /// `rate-limit`, `user-data`).
    pub fn load(json: &str) -> Result<Policy, JsValue> {
        CompiledPolicy::load(json)
            .map(|inner| Policy { inner })
            .map_err(|e| error(load_error_code(e.kind()), e))
    }

    /// Decides one request. The answer is one number:
    /// `((line × 4 + entry) × 16 + reason) × 8 + outcome`, where `outcome`
    /// and `reason` index [`names`]'s lists and `entry` is 0 for none, 1
    /// for the `*` entry and 2 for the entry of the origin itself (a
    /// configured origin is matched byte for byte, so it is the origin
    /// given). `tab`: the frame is shown as a tab, which may only dial.
    pub fn check(&self, origin: &str, request: &str, tab: bool) -> f64 {
        let frame = if tab { Frame::Tab } else { Frame::Embedded };
        let d = self.inner.check_in(origin, request, frame);
        let outcome = OUTCOMES.iter().position(|o| *o == d.outcome).unwrap_or(1);
        let reason = REASONS.iter().position(|r| *r == d.reason).unwrap_or(1);
        let (entry, line) = match d.entry {
            None => (0, 0),
            Some(e) if e.origin == "*" => (1, e.line),
            Some(e) => (2, e.line),
        };
        // Lines fit 44 bits, so the code is exact in a double.
        let line = (line as f64).min(17_592_186_044_415.0);
        ((line * 4.0 + entry as f64) * 16.0 + reason as f64) * 8.0 + outcome as f64
    }

    /// [`check`](Policy::check) of the origin and request the JavaScript
    /// side wrote as UTF-8 into [`scratch`]: `origin_len` bytes at its
    /// start, `request_len` bytes at `request_at`. No allocation and no
    /// copy per call, which is most of what a call with two strings costs.
    /// Bytes that are not UTF-8 decide as an origin that is not accepted.
    #[wasm_bindgen(js_name = checkScratch)]
    pub fn check_scratch(
        &self,
        origin_len: usize,
        request_at: usize,
        request_len: usize,
        tab: bool,
    ) -> f64 {
        SCRATCH.with(|s| {
            let s = s.borrow();
            let text = |from: usize, len: usize| {
                s.get(from..from.checked_add(len)?)
                    .and_then(|b| std::str::from_utf8(b).ok())
            };
            match (text(0, origin_len), text(request_at, request_len)) {
                (Some(origin), Some(request)) => self.check(origin, request, tab),
                _ => self.check("", "", tab),
            }
        })
    }

    /// Splits the keys of the attached data a request carries into those
    /// `write-allowed` lists and those stripped: `{"allowed", "denied",
    /// "deny"}`, `deny` saying whether the request is refused — only a
    /// request whose purpose is the write (`interaction.setUserData`,
    /// `…deleteUserData`; the default when no request is named) with no
    /// key left.
    #[wasm_bindgen(js_name = splitWrite)]
    pub fn split_write(&self, keys: Vec<String>, request: Option<String>) -> String {
        let split = self
            .inner
            .user_data()
            .split_write(keys.iter().map(String::as_str));
        let request = request
            .as_deref()
            .unwrap_or(scapi_policy::userdata::SET_USER_DATA);
        json!({"allowed": split.allowed, "denied": split.denied, "deny": split.denies(request)})
            .to_string()
    }

    /// Removes the keys `read-allowed` does not list from the `userData` of
    /// an event or result given as JSON text; every other byte stays as
    /// written. `{"event": <the text>, "removed": [keys]}`; throws code
    /// `event` when the text is not JSON.
    pub fn redact(&self, event: &str) -> Result<String, JsValue> {
        match self.inner.user_data().redact_json(event) {
            Ok((text, removed)) => Ok(json!({"event": text, "removed": removed}).to_string()),
            Err(e) if e.message.starts_with("nested") => {
                Err(error("event", format_args!("`event` is {}", e.message)))
            }
            Err(e) => Err(error("event", format_args!("`event` is not JSON: {e}"))),
        }
    }

    /// The error result a broker sends for the request over a rate limit,
    /// byte for byte as WWE sends it (JSON text).
    #[wasm_bindgen(js_name = rateLimitResult)]
    pub fn rate_limit_result(&self, request: &str) -> String {
        scapi_policy::limiter::RateLimitResult::new(request, self.inner.rate_limits().quarantine)
            .to_json()
    }

    /// Whether the whole policy runs in shadow (nothing it decides is
    /// enforced, events included).
    #[wasm_bindgen(js_name = shadowAll)]
    pub fn shadow_all(&self) -> bool {
        self.inner.shadow().all
    }

    /// The compiled policy document, as `scapi compile` writes it.
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self) -> String {
        CompiledPolicy::from(&self.inner).to_json()
    }

    /// A rate limiter for this policy's limits, counting in memory by the
    /// page's clock (`Date.now()`).
    #[wasm_bindgen(js_name = rateLimiter)]
    pub fn rate_limiter(&self) -> RateLimiter {
        RateLimiter {
            inner: scapi_policy::limiter::RateLimiter::with_store(
                self.inner.rate_limits().clone(),
                std::sync::Arc::new(MemoryStore::with_clock(JsClock)),
            ),
        }
    }
}

/// An admission as the numbers [`RateLimiter::admit`] returns.
fn admission_code(admission: Admission) -> Box<[f64]> {
    let until = |u: Option<Millis>| u.map_or(-1.0, |t| t as f64);
    let (kind, until) = match admission {
        Admission::Admitted(_) => (0.0, f64::NAN),
        Admission::Limited { until: u } => (1.0, until(u)),
        Admission::Ignored { until: u } => (2.0, until(u)),
    };
    let remaining = admission.remaining().map_or(f64::NAN, f64::from);
    let reset = admission.reset_at().map_or(f64::NAN, |t| t as f64);
    Box::new([kind, until, remaining, reset])
}

fn load_error_code(kind: scapi_policy::compiled::LoadErrorKind) -> &'static str {
    use scapi_policy::compiled::LoadErrorKind as K;
    match kind {
        K::Syntax => "syntax",
        K::SchemaVersion => "schema-version",
        K::Origin => "origin",
        K::Filter => "filter",
        K::Grants => "grants",
        K::RateLimit => "rate-limit",
        K::UserData => "user-data",
        K::Shadow => "shadow",
        _ => "load",
    }
}

/// `Date.now()`, the page's (or Node's) clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct JsClock;

impl Clock for JsClock {
    fn now_millis(&self) -> Millis {
        date_now() as Millis
    }
}

/// A policy's rate limiter, in memory.
#[wasm_bindgen]
pub struct RateLimiter {
    inner: scapi_policy::limiter::RateLimiter<std::sync::Arc<MemoryStore<JsClock>>>,
}

#[wasm_bindgen]
impl RateLimiter {
    /// Admits one request of a client, now (`Date.now()`) or at `at_ms`
    /// (milliseconds since the epoch). Returns `[admission, until,
    /// remaining, resetAt]`: admission indexes [`names`]'s `admissions`;
    /// `until` is the end of the quarantine in ms, `-1` for "until the
    /// session ends", `NaN` when admitted; `remaining` and `resetAt` are
    /// [`Admission::remaining`] and [`Admission::reset_at`], `NaN` for
    /// `None`.
    pub fn admit(&self, client: &str, request: &str, at_ms: Option<f64>) -> Box<[f64]> {
        let Ok(admission) = match at_ms {
            Some(t) if t.is_finite() => self.inner.admit_at(client, request, t as Millis),
            _ => self.inner.admit(client, request),
        };
        admission_code(admission)
    }

    /// A limiter with `policy`'s limits counting in this one's store: what
    /// a reload swaps in, so counters and quarantines are kept and a
    /// changed limit applies from the swap.
    #[wasm_bindgen(js_name = forPolicy)]
    pub fn for_policy(&self, policy: &Policy) -> RateLimiter {
        RateLimiter {
            inner: scapi_policy::limiter::RateLimiter::with_store(
                policy.inner.rate_limits().clone(),
                std::sync::Arc::clone(self.inner.store()),
            ),
        }
    }

    /// Ends a client's session: its counters go, and with them its
    /// quarantines "until the session ends".
    #[wasm_bindgen(js_name = endSession)]
    pub fn end_session(&self, client: &str) {
        let Ok(()) = self.inner.end_session(client);
    }
}

/// A record of the decision log, kept for the JavaScript side to take
/// after each decision.
#[derive(Default)]
struct LastRecord(std::sync::Mutex<Option<scapi_policy::log::DecisionRecord>>);

impl scapi_policy::log::DecisionSink for LastRecord {
    fn record(&self, record: scapi_policy::log::DecisionRecord) {
        if let Ok(mut last) = self.0.lock() {
            *last = Some(record);
        }
    }
}

/// A broker's one active policy: swapped whole, its counters and
/// quarantines kept (they belong to the client and request); every
/// decision counted in its metrics, compared with a candidate, and logged.
#[wasm_bindgen]
pub struct Handle {
    inner: scapi_policy::PolicyHandle<MemoryStore<JsClock>>,
    log: Option<std::sync::Arc<LastRecord>>,
}

#[wasm_bindgen]
impl Handle {
    /// A handle on a copy of `policy`, its counters in memory by the
    /// page's clock; `near_limit_ratio` for the metrics; `salt`: keep a
    /// decision record of each decision, the client hashed with it.
    #[wasm_bindgen(constructor)]
    pub fn new(policy: &Policy, near_limit_ratio: f64, salt: Option<String>) -> Handle {
        let mut inner = scapi_policy::PolicyHandle::with_store(
            policy.inner.clone(),
            MemoryStore::with_clock(JsClock),
        )
        .with_metrics(Some(scapi_policy::metrics::Metrics::new(near_limit_ratio)));
        let log = match salt {
            None => None,
            Some(salt) => {
                let sink = std::sync::Arc::new(LastRecord::default());
                inner = inner.with_decision_log(
                    std::sync::Arc::clone(&sink)
                        as std::sync::Arc<dyn scapi_policy::log::DecisionSink>,
                    scapi_policy::log::ClientHasher::new(salt.as_bytes()),
                );
                Some(sink)
            }
        };
        Handle { inner, log }
    }

    /// Makes a copy of `policy` the active one.
    pub fn swap(&self, policy: &Policy) {
        self.inner.swap(policy.inner.clone());
    }

    /// Runs a copy of `policy` beside the active one.
    #[wasm_bindgen(js_name = setCandidate)]
    pub fn set_candidate(&self, policy: &Policy) {
        self.inner.set_candidate(Some(policy.inner.clone()));
    }

    /// Stops running a candidate.
    #[wasm_bindgen(js_name = clearCandidate)]
    pub fn clear_candidate(&self) {
        self.inner.set_candidate(None);
    }

    /// The active policy's limiter, counting in the handle's store.
    pub fn limiter(&self) -> RateLimiter {
        RateLimiter {
            inner: scapi_policy::limiter::RateLimiter::with_store(
                self.inner.current().policy().rate_limits().clone(),
                std::sync::Arc::clone(self.inner.store()),
            ),
        }
    }

    /// Decides one request (the check, the write filter on `keys`, the
    /// rate limit) at `at_ms` (else `Date.now()`). JSON: `{"outcome",
    /// "reason", "entry", "shadow", "enforced", "admission", "remaining",
    /// "resetAt", "until", "deniedKeys", "record"}`.
    pub fn decide(
        &self,
        origin: &str,
        request: &str,
        client: &str,
        tab: bool,
        keys: Option<Vec<String>>,
        at_ms: Option<f64>,
    ) -> String {
        let at = match at_ms {
            Some(t) if t.is_finite() => t as Millis,
            _ => date_now() as Millis,
        };
        let active = self.inner.current();
        let v = active.decide(&scapi_policy::handle::Call {
            origin,
            request,
            client,
            frame: if tab { Frame::Tab } else { Frame::Embedded },
            keys: keys.as_deref(),
            at: scapi_policy::limiter::At::Time(at),
        });
        let record = self
            .log
            .as_ref()
            .and_then(|l| l.0.lock().ok().and_then(|mut r| r.take()));
        // Written by hand: `json!` would build a map per decision (and
        // its code would weigh on the runtime's size).
        use scapi_policy::jsonfmt::push_json_str;
        let mut out = Vec::with_capacity(256);
        let num = |out: &mut Vec<u8>, n: Option<i64>| match n {
            Some(n) => out.extend_from_slice(n.to_string().as_bytes()),
            None => out.extend_from_slice(b"null"),
        };
        let strings = |out: &mut Vec<u8>, list: &[String]| {
            out.push(b'[');
            for (i, k) in list.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_json_str(out, k);
            }
            out.push(b']');
        };
        out.extend_from_slice(b"{\"outcome\":");
        push_json_str(&mut out, v.outcome.as_str());
        out.extend_from_slice(b",\"reason\":");
        push_json_str(&mut out, v.reason.as_str());
        out.extend_from_slice(b",\"entry\":");
        match v.entry {
            None => out.extend_from_slice(b"null"),
            Some(e) => {
                out.extend_from_slice(b"{\"origin\":");
                push_json_str(&mut out, e.origin);
                out.extend_from_slice(b",\"line\":");
                num(&mut out, i64::try_from(e.line).ok());
                out.push(b'}');
            }
        }
        out.extend_from_slice(if v.shadow {
            b",\"shadow\":true"
        } else {
            b",\"shadow\":false"
        });
        out.extend_from_slice(b",\"enforced\":");
        push_json_str(&mut out, v.enforced().as_str());
        out.extend_from_slice(b",\"admission\":");
        match v.admission {
            None => out.extend_from_slice(b"null"),
            Some(a) => push_json_str(
                &mut out,
                match a {
                    Admission::Admitted(_) => "admitted",
                    Admission::Limited { .. } => "limited",
                    Admission::Ignored { .. } => "ignored",
                },
            ),
        }
        out.extend_from_slice(b",\"remaining\":");
        num(
            &mut out,
            v.admission.and_then(|a| a.remaining()).map(i64::from),
        );
        out.extend_from_slice(b",\"resetAt\":");
        num(&mut out, v.admission.and_then(|a| a.reset_at()));
        if let Some(Admission::Limited { until } | Admission::Ignored { until }) = v.admission {
            out.extend_from_slice(b",\"until\":");
            num(&mut out, until);
        }
        out.extend_from_slice(b",\"deniedKeys\":");
        strings(&mut out, &v.denied_keys);
        out.extend_from_slice(b",\"strip\":");
        strings(&mut out, v.strip());
        // The record as its JSON line, fields in the log's order.
        if let Some(r) = record {
            out.extend_from_slice(b",\"record\":");
            out.extend_from_slice(r.to_json_line().as_bytes());
        }
        out.push(b'}');
        String::from_utf8(out).unwrap_or_default()
    }

    /// The metrics in the Prometheus text format.
    #[wasm_bindgen(js_name = metricsText)]
    pub fn metrics_text(&self) -> String {
        self.inner
            .metrics()
            .map(|m| m.to_prometheus())
            .unwrap_or_default()
    }

    /// Ends a client's session: its counters and quarantines go.
    #[wasm_bindgen(js_name = endSession)]
    pub fn end_session(&self, client: &str) {
        let Ok(()) = self.inner.end_session(client);
    }
}

#[cfg(feature = "compiler")]
mod compiler;
#[cfg(feature = "compiler")]
pub use compiler::*;

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_names_are_the_serde_names_in_order() {
        let n: serde_json::Value = serde_json::from_str(&names()).unwrap();
        for (i, o) in OUTCOMES.iter().enumerate() {
            assert_eq!(n["outcomes"][i], o.to_string());
            assert_eq!(Outcome::from_name(&o.to_string()), Some(*o));
        }
        for (i, r) in REASONS.iter().enumerate() {
            assert_eq!(n["reasons"][i], r.to_string());
        }
        let distinct: std::collections::BTreeSet<_> =
            REASONS.iter().map(|r| r.to_string()).collect();
        assert_eq!(distinct.len(), REASONS.len());
    }

    /// What `lib/api.js` does with the number.
    fn decode(c: f64) -> (usize, usize, usize, f64) {
        let (outcome, c) = ((c % 8.0) as usize, (c / 8.0).floor());
        let (reason, c) = ((c % 16.0) as usize, (c / 16.0).floor());
        let (kind, line) = ((c % 4.0) as usize, (c / 4.0).floor());
        (outcome, reason, kind, line)
    }

    #[test]
    fn a_check_is_one_number_that_decodes() {
        let json = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/wwews-cluster.policy.json"
        ))
        .unwrap();
        let p = Policy::load(&json).ok().unwrap();
        for (origin, request) in [
            ("https://crm.example.com", "voice.dial"),
            ("https://crm.example.com", "voice.hangUp"),
            ("https://evil.example", "agent.get"),
            ("https://crm.example.com/", "agent.get"),
        ] {
            let d = p.inner.check(origin, request);
            let (o, r, kind, line) = decode(p.check(origin, request, false));
            assert_eq!(OUTCOMES[o], d.outcome);
            assert_eq!(REASONS[r], d.reason);
            match d.entry {
                None => assert_eq!(kind, 0),
                Some(e) => {
                    assert_eq!(kind, if e.origin == "*" { 1 } else { 2 });
                    assert_eq!(line, e.line as f64);
                }
            }
        }
        // A tab may only dial; `null` is named.
        let (_, r, _, _) = decode(p.check("https://crm.example.com", "agent.get", true));
        assert_eq!(REASONS[r], Reason::TabDialOnly);
        let (_, r, _, _) = decode(p.check("null", "agent.get", false));
        assert_eq!(REASONS[r], Reason::NullOrigin);
    }
}
