//! # scapi-policy — the Service Client API security policy, at run time
//!
//! Workspace Web Edition (WWE) embeds third-party web applications in the
//! agent desktop; they call the Service Client API through
//! `window.postMessage`, and a broker decides what each may do. This crate
//! is what a broker links: it loads the policy that `scapi compile` wrote,
//! and for every request a frame sends it checks the origin and the request
//! name, applies the rate limits, strips attached-data keys the frame may
//! not write, and redacts the keys it may not read from what goes back.
//!
//! It parses no option text and renders no diagnostics — that is the `scapi`
//! crate, the compiler. It depends on `serde`, `serde_json`, `hashbrown`
//! and `idna` only (plus `quanta` with the `fast-clock` feature).
//! Items hidden from this documentation (`#[doc(hidden)]`: building a
//! policy, the JSON tokenizer and printer, the hash seed) are shared with
//! the compiler and the WebAssembly build, not part of the API; the API is
//! the snapshot `api.txt` beside this crate's manifest.
//!
//! ## Load a policy and decide
//!
//! ```
//! use scapi_policy::{CompiledPolicy, Outcome, Reason};
//!
//! let json = r#"{
//!   "schemaVersion": 1,
//!   "source": {"name": "wwews.cfg", "sha256": "0"},
//!   "origins": [{"origin": "https://crm.example.com", "allow": ["agent.*", "voice.dial"], "grants": [], "line": 3}],
//!   "anyOrigin": null,
//!   "rateLimit": {"windowSeconds": 60, "default": 0, "perRequest": {"voice.dial": 2}, "quarantineSeconds": 30},
//!   "userData": {"read": ["CaseId"], "write": ["CaseId"]},
//!   "webExtensions": []
//! }"#;
//! let policy = CompiledPolicy::load(json)?;
//!
//! // Origins must be presented exactly as browsers send them.
//! let d = policy.check("https://crm.example.com", "voice.dial");
//! assert_eq!((d.outcome, d.reason), (Outcome::Allow, Reason::Granted));
//! assert_eq!(d.entry.map(|e| e.line), Some(3));
//! assert_eq!(policy.check("https://CRM.example.com", "voice.dial").reason, Reason::OriginNotCanonical);
//! assert_eq!(policy.check("https://evil.example", "voice.dial").reason, Reason::OriginNotAccepted);
//! assert_eq!(policy.check("https://crm.example.com", "voice.hangUp").reason, Reason::RequestNotPermitted);
//! # Ok::<(), scapi_policy::compiled::LoadError>(())
//! ```
//!
//! [`Policy::check`] allocates nothing: one hash of the origin, one lookup of
//! the name in a perfect hash of the catalog, one bit test.
//!
//! ## Rate limits
//!
//! A [`RateLimiter`](limiter::RateLimiter) keeps per (client, request)
//! counters in fixed one-minute windows; the request over the limit gets
//! the error result WWE sends, and the type is then ignored for the
//! quarantine delay. It is `Send + Sync`; its counters live in a
//! [`CounterStore`](limiter::CounterStore) — in memory by default, or
//! shared by a fleet of brokers (the `scapi-redis` crate).
//!
//! ```
//! # let policy = scapi_policy::CompiledPolicy::load(r#"{"schemaVersion": 1, "source": {"name": "w", "sha256": "0"}, "origins": [], "anyOrigin": null, "rateLimit": {"windowSeconds": 60, "default": 0, "perRequest": {"voice.dial": 2}, "quarantineSeconds": 30}, "userData": {"read": "*", "write": "*"}, "webExtensions": []}"#).unwrap();
//! use scapi_policy::limiter::{Admission, RateLimitResult, RateLimiter};
//!
//! let limiter = RateLimiter::new(policy.rate_limits().clone());
//! // The in-memory store never fails; a network store may.
//! let Ok(first) = limiter.admit("agent-1", "voice.dial");
//! assert!(first.is_admitted());
//! let Ok(_) = limiter.admit("agent-1", "voice.dial");
//! let Ok(third) = limiter.admit("agent-1", "voice.dial");
//! assert!(matches!(third, Admission::Limited { .. }));
//! let answer = RateLimitResult::new("voice.dial", policy.rate_limits().quarantine);
//! assert!(answer.to_json().ends_with(r#"ignored for 30 seconds.", "request": "voice.dial"}"#));
//! ```
//!
//! ## Attached data
//!
//! ```
//! # let policy = scapi_policy::CompiledPolicy::load(r#"{"schemaVersion": 1, "source": {"name": "w", "sha256": "0"}, "origins": [], "anyOrigin": null, "rateLimit": {"windowSeconds": 60, "default": 0, "perRequest": {}, "quarantineSeconds": 30}, "userData": {"read": ["CaseId"], "write": ["CaseId"]}, "webExtensions": []}"#).unwrap();
//! // Writes keep only the writable keys — of a `setUserData`, and of every
//! // request that carries attached data (`voice.dialEx`, the transfers…)…
//! let split = policy.user_data().split_write(["CaseId", "Password"]);
//! assert_eq!((split.allowed, split.denied), (vec!["CaseId"], vec!["Password"]));
//! // …and with nothing left only a set or delete is refused: a dial goes on.
//! let none = policy.user_data().split_write(["Password"]);
//! assert!(none.denies("interaction.setUserData") && !none.denies("voice.dialEx"));
//! // …and what goes back keeps only the readable ones, every other byte as
//! // it was (numbers of any size included).
//! let event = r#"{"data": {"interaction": {"userData": {"CaseId": "1", "Secret": "x"}, "n": 12345678901234567890123}}}"#;
//! let (redacted, removed) = policy.user_data().redact_json(event)?;
//! assert_eq!(redacted, r#"{"data": {"interaction": {"userData": {"CaseId": "1"}, "n": 12345678901234567890123}}}"#);
//! assert_eq!(removed, ["Secret"]);
//! # Ok::<(), scapi_policy::rawjson::JsonError>(())
//! ```
//!
//! ## Modules
//!
//! [`policy`] and [`decision`] are the policy and its decisions (their main
//! types are also at the crate root), [`catalog`] the request catalog,
//! [`presented`] the check that a presented origin is canonical,
//! [`limiter`] the rate limiter, [`userdata`] and [`rawjson`] attached-data
//! filtering, [`compiled`] the versioned policy document.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Tests may unwrap and index: a panic there is a failing test.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod catalog;
pub mod compiled;
pub mod decision;
pub mod handle;
#[doc(hidden)] // the WebAssembly build's seed
pub mod hashing;
#[doc(hidden)]
pub mod jsonfmt;
pub mod limiter;
pub mod log;
pub mod metrics;
mod origin_index;
pub mod policy;
pub mod presented;
pub mod rawjson;
#[cfg(feature = "signing")]
pub mod signing;
pub mod userdata;

pub use compiled::CompiledPolicy;
pub use decision::{Decision, Entry, Frame, Outcome, Reason};
pub use handle::PolicyHandle;
pub use policy::{KeySet, Policy, Quarantine, RateLimits, UserDataPolicy};

/// A policy of `(origin, filters)` entries on line 1 (`*` is the
/// any-origin entry), for unit tests.
#[cfg(test)]
pub(crate) fn test_policy(entries: &[(&str, &[&str])]) -> Policy {
    let mut origins = policy::OriginList::new();
    let mut any = None;
    for (origin, filters) in entries {
        let filters = filters.iter().map(|f| compiled::parse_filter(f).unwrap());
        let grant = policy::Grant::new(filters, 1);
        if *origin == "*" {
            any = Some(grant);
        } else {
            origins.push(origin, grant);
        }
    }
    Policy::new(
        origins,
        any,
        RateLimits::default(),
        UserDataPolicy::default(),
        Vec::new(),
        policy::SourceInfo::default(),
    )
}
