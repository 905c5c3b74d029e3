//! Decision logs: one record per decision, for audit and for tuning.
//!
//! A record holds the time, the policy's digest, a hashed client id, the
//! origin, the request, the outcome and reason, the deciding entry's line
//! and the shadow flag — and nothing of the attached data: a
//! [`DecisionRecord`] has no field that could hold a value, so no value
//! can reach a log. The client id is hashed with keyed SipHash-2-4
//! (128 bits) under a salt the operator chooses: the brokers of a fleet
//! sharing the salt log the same id for the same client, and without the
//! salt an id cannot be tested against guesses.
//!
//! A broker writes records to a [`DecisionSink`]. [`DecisionBuffer`] is
//! the bounded one: when full it drops the oldest record and counts the
//! drop; it may thin allowed decisions (one in N) but keeps every other.
//! Logging never changes a decision: a sink is told after the fact and
//! cannot answer.

use crate::decision::{Outcome, Reason};
use crate::limiter::Millis;
use std::collections::VecDeque;
use std::hash::Hasher as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// One decision, as a log records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionRecord {
    /// When, in milliseconds since the Unix epoch.
    pub time: Millis,
    /// The digest of the policy that decided (its source's SHA-256).
    pub policy: String,
    /// The client id, hashed ([`ClientHasher`]).
    pub client: String,
    /// The origin as presented.
    pub origin: String,
    /// The request name.
    pub request: String,
    /// The outcome.
    pub outcome: Outcome,
    /// Why.
    pub reason: Reason,
    /// The line of the deciding entry, if one decided.
    pub line: Option<usize>,
    /// Whether the decision was only observed (shadow mode): nothing was
    /// refused, and the outcome is the one it would have had.
    pub shadow: bool,
}

impl DecisionRecord {
    /// The record as one line of JSON (no line break): the decision log's
    /// format, `scapi schema decision-log`.
    pub fn to_json_line(&self) -> String {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"{\"time\": ");
        out.extend_from_slice(self.time.to_string().as_bytes());
        for (key, value) in [
            ("policy", self.policy.as_str()),
            ("client", self.client.as_str()),
            ("origin", self.origin.as_str()),
            ("request", self.request.as_str()),
            ("outcome", self.outcome.as_str()),
            ("reason", self.reason.as_str()),
        ] {
            out.extend_from_slice(b", \"");
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\": ");
            crate::jsonfmt::push_json_str(&mut out, value);
        }
        out.extend_from_slice(b", \"line\": ");
        match self.line {
            Some(l) => out.extend_from_slice(l.to_string().as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b", \"shadow\": ");
        out.extend_from_slice(if self.shadow { b"true" } else { b"false" });
        out.push(b'}');
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Hashes client ids for logs: keyed SipHash-2-4, 128 bits, as 32 hex
/// digits.
#[derive(Clone)]
pub struct ClientHasher {
    key: [u8; 16],
}

impl std::fmt::Debug for ClientHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the salt.
        f.debug_struct("ClientHasher").finish_non_exhaustive()
    }
}

impl ClientHasher {
    /// A hasher keyed by `salt` (any bytes; the first 16 of its own
    /// SipHash are the key, so a passphrase will do).
    pub fn new(salt: &[u8]) -> ClientHasher {
        let mut h = siphasher::sip128::SipHasher24::new();
        h.write(salt);
        ClientHasher {
            key: siphasher::sip128::Hasher128::finish128(&h).as_bytes(),
        }
    }

    /// The hashed id of `client`.
    pub fn hash(&self, client: &str) -> String {
        let mut h = siphasher::sip128::SipHasher24::new_with_key(&self.key);
        h.write(client.as_bytes());
        siphasher::sip128::Hasher128::finish128(&h)
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Where a broker sends its decision records.
pub trait DecisionSink: Send + Sync {
    /// Takes one record. It must not block for long, and cannot change
    /// the decision, which is already made.
    fn record(&self, record: DecisionRecord);
}

/// Which decisions a [`DecisionBuffer`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sampling {
    /// Keep one allowed decision in this many (1: all). Every decision
    /// that is not `allow` is kept.
    pub allow_one_in: u32,
}

impl Default for Sampling {
    fn default() -> Sampling {
        Sampling { allow_one_in: 1 }
    }
}

/// A bounded in-memory log: the newest `capacity` records, the oldest
/// dropped (and counted) when it is full.
#[derive(Debug)]
pub struct DecisionBuffer {
    capacity: usize,
    sampling: Sampling,
    records: Mutex<VecDeque<DecisionRecord>>,
    dropped: AtomicU64,
    thinned: AtomicU64,
    allows: AtomicU64,
}

impl DecisionBuffer {
    /// A buffer of at most `capacity` records (at least 1).
    pub fn new(capacity: usize, sampling: Sampling) -> DecisionBuffer {
        DecisionBuffer {
            capacity: capacity.max(1),
            sampling,
            records: Mutex::new(VecDeque::new()),
            dropped: AtomicU64::new(0),
            thinned: AtomicU64::new(0),
            allows: AtomicU64::new(0),
        }
    }

    /// Takes every record held, oldest first (to write them out).
    pub fn drain(&self) -> Vec<DecisionRecord> {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        records.drain(..).collect()
    }

    /// How many records were dropped because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// How many allowed decisions sampling left out.
    pub fn thinned(&self) -> u64 {
        self.thinned.load(Ordering::Relaxed)
    }
}

impl DecisionSink for DecisionBuffer {
    fn record(&self, record: DecisionRecord) {
        if record.outcome == Outcome::Allow && self.sampling.allow_one_in > 1 {
            let n = self.allows.fetch_add(1, Ordering::Relaxed);
            if !n.is_multiple_of(u64::from(self.sampling.allow_one_in)) {
                self.thinned.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        if records.len() >= self.capacity {
            records.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        records.push_back(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: i64, outcome: Outcome) -> DecisionRecord {
        DecisionRecord {
            time: i,
            policy: "p".into(),
            client: ClientHasher::new(b"salt").hash("agent-7"),
            origin: "https://a.example".into(),
            request: "voice.dial".into(),
            outcome,
            reason: if outcome == Outcome::Allow {
                Reason::Granted
            } else {
                Reason::RateLimit
            },
            line: Some(3),
            shadow: false,
        }
    }

    #[test]
    fn a_full_buffer_drops_the_oldest_and_counts() {
        let b = DecisionBuffer::new(3, Sampling::default());
        for i in 0..5 {
            b.record(record(i, Outcome::Allow));
        }
        assert_eq!(b.dropped(), 2);
        let times: Vec<i64> = b.drain().iter().map(|r| r.time).collect();
        assert_eq!(times, [2, 3, 4]);
        assert!(b.drain().is_empty());
    }

    #[test]
    fn sampling_thins_allows_and_keeps_every_other_decision() {
        let b = DecisionBuffer::new(100, Sampling { allow_one_in: 4 });
        for i in 0..8 {
            b.record(record(i, Outcome::Allow));
            b.record(record(i, Outcome::RateLimited));
        }
        let kept = b.drain();
        assert_eq!(
            kept.iter()
                .filter(|r| r.outcome == Outcome::RateLimited)
                .count(),
            8
        );
        assert_eq!(
            kept.iter().filter(|r| r.outcome == Outcome::Allow).count(),
            2
        );
        assert_eq!(b.thinned(), 6);
    }

    #[test]
    fn clients_hash_alike_under_one_salt_only() {
        let (a, b) = (ClientHasher::new(b"fleet"), ClientHasher::new(b"fleet"));
        assert_eq!(a.hash("agent-7"), b.hash("agent-7"));
        assert_eq!(a.hash("agent-7").len(), 32);
        assert_ne!(a.hash("agent-7"), a.hash("agent-8"));
        assert_ne!(
            a.hash("agent-7"),
            ClientHasher::new(b"other").hash("agent-7")
        );
        assert!(!a.hash("agent-7").contains("agent"));
    }

    #[test]
    fn a_record_is_one_line_of_json() {
        let line = record(1_800_000_000_000, Outcome::Deny).to_json_line();
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["outcome"], "deny");
        assert_eq!(v["line"], 3);
        assert_eq!(v["shadow"], false);
    }
}
