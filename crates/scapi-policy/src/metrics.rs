//! What a broker decided, counted: for dashboards and alerts.
//!
//! [`Metrics`] counts every decision a [`PolicyHandle`](crate::PolicyHandle)
//! makes by request, outcome, reason and shadow flag; admissions that leave
//! a window nearly used up (the near-limit counter, at a configurable
//! ratio); and, when a candidate policy runs beside the active one, how
//! often the two disagree. Counting never takes a lock and never changes a
//! decision: each thread counts in a table of its own (the first
//! [`THREAD_TABLES`] threads of the process; later ones share one table
//! through atomic increments), so a decision costs one uncontended load and
//! store — a locked increment would drain the store buffer on every
//! decision — and a snapshot sums the tables.
//!
//! Labels are bounded whatever frames send: a request is labelled with its
//! catalog name, or with a name outside the catalog that the active policy
//! sets a rate limit for, else `other`. [`Snapshot`] holds the numbers
//! (what the npm runtime returns as an object); [`Snapshot::to_prometheus`]
//! writes them in the Prometheus text format, every metric named
//! `scapi_…`.

use crate::catalog;
use crate::decision::{Outcome, Reason};
use crate::policy::Policy;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

const OUTCOMES: usize = Outcome::ALL.len();
const REASONS: usize = Reason::ALL.len();
/// Cells per request label: outcome × reason × shadow.
const PER_LABEL: usize = OUTCOMES * REASONS * 2;

/// The label of requests outside the catalog that no rate limit names.
pub const OTHER: &str = "other";

/// The default near-limit ratio: an admission that leaves at most a fifth
/// of its window's budget is near the limit.
pub const DEFAULT_NEAR_LIMIT_RATIO: f64 = 0.8;

/// Counters of one request label, inline: a decision is one indexed
/// increment, no pointer to follow.
#[derive(Debug)]
struct Cells {
    decisions: [AtomicU64; PER_LABEL],
    near_limit: AtomicU64,
}

impl Cells {
    fn new() -> Cells {
        Cells {
            decisions: std::array::from_fn(|_| AtomicU64::new(0)),
            near_limit: AtomicU64::new(0),
        }
    }
}

/// Threads that count in tables of their own.
pub const THREAD_TABLES: usize = 32;

static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's table, numbered in the order threads first count
    /// (`usize::MAX` until then: a constant initializer costs no check of
    /// its own on each access).
    static SLOT: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

/// The calling thread's table number.
fn slot() -> usize {
    SLOT.try_with(|slot| match slot.get() {
        usize::MAX => {
            let n = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
            slot.set(n);
            n
        }
        n => n,
    })
    .unwrap_or(usize::MAX)
}

/// One thread's counters (or the shared ones): per label, then `other`.
type Table = Box<[Cells]>;

fn table() -> Table {
    (0..=catalog::all().count()).map(|_| Cells::new()).collect()
}

/// Adds one to a counter only this thread writes: no locked instruction.
fn bump_own(c: &AtomicU64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

fn bump_shared(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// The cell of a decision: outcomes and reasons are numbered in
/// declaration order, the order of `ALL` (a test holds them equal).
fn cell(outcome: Outcome, reason: Reason, shadow: bool) -> usize {
    (usize::from(shadow) * OUTCOMES + outcome as usize) * REASONS + reason as usize
}

/// The counters of a broker. `Send + Sync`; shared by every policy a
/// handle swaps in.
#[derive(Debug)]
pub struct Metrics {
    /// The tables of the first threads, made when each first counts.
    own: Box<[OnceLock<Table>]>,
    /// The table of the threads after them, counted atomically.
    shared: Table,
    /// Names outside the catalog that a policy set a rate limit for.
    configured: Mutex<BTreeMap<Box<str>, std::sync::Arc<Cells>>>,
    /// Near limit when `used * 1_000_000 >= limit * near_ppm`: the ratio
    /// in millionths. (No float is formatted anywhere here: float
    /// formatting would double the metrics' share of the WebAssembly
    /// runtime.)
    near_ppm: u64,
    /// Candidate decisions, and disagreements by (active, candidate) outcome.
    compared: AtomicU64,
    disagreements: Box<[AtomicU64]>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new(DEFAULT_NEAR_LIMIT_RATIO)
    }
}

impl Metrics {
    /// Counters with this near-limit ratio (from 0 to 1; out of range is
    /// clamped, not a number is the default).
    pub fn new(near_limit_ratio: f64) -> Metrics {
        let ratio = if near_limit_ratio.is_nan() {
            DEFAULT_NEAR_LIMIT_RATIO
        } else {
            near_limit_ratio.clamp(0.0, 1.0)
        };
        Metrics {
            own: (0..THREAD_TABLES).map(|_| OnceLock::new()).collect(),
            shared: table(),
            configured: Mutex::new(BTreeMap::new()),
            near_ppm: (ratio * 1_000_000.0).round() as u64,
            compared: AtomicU64::new(0),
            disagreements: (0..OUTCOMES * OUTCOMES)
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }

    /// The near-limit ratio, in millionths.
    pub fn near_limit_ppm(&self) -> u32 {
        u32::try_from(self.near_ppm).unwrap_or(1_000_000)
    }

    /// Counts one decision on `policy` (it names the labels of requests
    /// outside the catalog). `headroom`: what the window has left after an
    /// admission, with its limit.
    pub fn record(
        &self,
        policy: &Policy,
        request: &str,
        outcome: Outcome,
        reason: Reason,
        shadow: bool,
        headroom: Option<crate::limiter::Headroom>,
    ) {
        let id = catalog::lookup(request);
        self.record_known(policy, request, id, (outcome, reason), shadow, headroom);
    }

    /// [`record`](Metrics::record) of a request whose catalog entry is
    /// known.
    pub(crate) fn record_known(
        &self,
        policy: &Policy,
        request: &str,
        id: Option<catalog::RequestId>,
        (outcome, reason): (Outcome, Reason),
        shadow: bool,
        headroom: Option<crate::limiter::Headroom>,
    ) {
        let i = cell(outcome, reason, shadow);
        let near = headroom.is_some_and(|h| {
            let used = u64::from(h.limit.saturating_sub(h.remaining));
            used * 1_000_000 >= u64::from(h.limit) * self.near_ppm
        });
        let count = |cells: &Cells, bump: fn(&AtomicU64)| {
            if let Some(c) = cells.decisions.get(i) {
                bump(c);
            }
            if near {
                bump(&cells.near_limit);
            }
        };
        let label = match id {
            Some(id) => Some(id.index()),
            None if policy.limits_uncataloged()
                && policy.rate_limits().per_request.contains_key(request) =>
            {
                None
            }
            None => Some(self.shared.len().saturating_sub(1)),
        };
        match label {
            Some(label) => {
                let own = self.own.get(slot());
                match own {
                    Some(t) => t
                        .get_or_init(table)
                        .get(label)
                        .map_or((), |c| count(c, bump_own)),
                    None => self.shared.get(label).map_or((), |c| count(c, bump_shared)),
                }
            }
            None => {
                let cells = {
                    let mut configured = self
                        .configured
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    std::sync::Arc::clone(
                        configured
                            .entry(request.into())
                            .or_insert_with(|| std::sync::Arc::new(Cells::new())),
                    )
                };
                count(&cells, bump_shared);
            }
        }
    }

    /// Counts a candidate's decision beside the active one's.
    pub fn compare(&self, active: Outcome, candidate: Outcome) {
        self.compared.fetch_add(1, Ordering::Relaxed);
        if active != candidate {
            let a = Outcome::ALL.iter().position(|x| *x == active).unwrap_or(0);
            let c = Outcome::ALL
                .iter()
                .position(|x| *x == candidate)
                .unwrap_or(0);
            if let Some(d) = self.disagreements.get(a * OUTCOMES + c) {
                d.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The numbers now, with the configured limits of `policy` (the active
    /// one) and its generation.
    pub fn snapshot(&self, policy: &Policy, generation: u64) -> Snapshot {
        let mut decisions = Vec::new();
        let mut near_limit = BTreeMap::new();
        // A label's counts are the sum over the tables.
        let mut add = |label: &str, cells: &[&Cells]| {
            let total =
                |f: &dyn Fn(&Cells) -> u64| cells.iter().map(|c| f(c)).fold(0, u64::wrapping_add);
            for shadow in [false, true] {
                for outcome in Outcome::ALL {
                    for reason in Reason::ALL {
                        let i = cell(outcome, reason, shadow);
                        let n =
                            total(&|c| c.decisions.get(i).map_or(0, |c| c.load(Ordering::Relaxed)));
                        if n > 0 {
                            decisions.push(DecisionCount {
                                request: label.to_string(),
                                outcome,
                                reason,
                                shadow,
                                count: n,
                            });
                        }
                    }
                }
            }
            let n = total(&|c| c.near_limit.load(Ordering::Relaxed));
            if n > 0 {
                near_limit.insert(label.to_string(), n);
            }
        };
        let tables: Vec<&Table> = std::iter::once(&self.shared)
            .chain(self.own.iter().filter_map(OnceLock::get))
            .collect();
        let label = |k: usize| -> Vec<&Cells> { tables.iter().filter_map(|t| t.get(k)).collect() };
        for id in catalog::all() {
            add(id.name(), &label(id.index()));
        }
        for (name, cells) in self
            .configured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            add(name, &[&**cells]);
        }
        add(OTHER, &label(self.shared.len().saturating_sub(1)));
        let mut disagreements = Vec::new();
        for (a, active) in Outcome::ALL.into_iter().enumerate() {
            for (c, candidate) in Outcome::ALL.into_iter().enumerate() {
                let n = self
                    .disagreements
                    .get(a * OUTCOMES + c)
                    .map_or(0, |d| d.load(Ordering::Relaxed));
                if n > 0 {
                    disagreements.push(Disagreement {
                        active,
                        candidate,
                        count: n,
                    });
                }
            }
        }
        let limits = policy.rate_limits();
        Snapshot {
            decisions,
            near_limit,
            near_limit_ppm: self.near_limit_ppm(),
            limits: Limits {
                default: limits.default,
                per_request: limits.per_request.clone(),
                quarantine_seconds: limits.quarantine.seconds(),
            },
            compared: self.compared.load(Ordering::Relaxed),
            disagreements,
            generation,
        }
    }
}

/// How many decisions had one (request, outcome, reason, shadow).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DecisionCount {
    /// The request label.
    pub request: String,
    /// The outcome (the one it would have had, in shadow).
    pub outcome: Outcome,
    /// The reason.
    pub reason: Reason,
    /// Decided in shadow.
    pub shadow: bool,
    /// How many.
    pub count: u64,
}

/// How often a candidate's outcome differed from the active one's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    /// The active policy's outcome.
    pub active: Outcome,
    /// The candidate's.
    pub candidate: Outcome,
    /// How many.
    pub count: u64,
}

/// The active policy's limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Requests per window for a request without its own limit (0: none).
    pub default: u32,
    /// Per-request limits.
    pub per_request: BTreeMap<String, u32>,
    /// The quarantine (`None`: until the session ends).
    pub quarantine_seconds: Option<u32>,
}

/// The numbers of [`Metrics`] at one moment: what `/metrics` shows and
/// the npm runtime's `metrics()` returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Non-zero decision counts, by request label, then shadow, outcome
    /// and reason in declaration order.
    pub decisions: Vec<DecisionCount>,
    /// Admissions near the limit, by request label.
    pub near_limit: BTreeMap<String, u64>,
    /// The share of a window's budget past which an admission is near the
    /// limit, in millionths (800000: 0.8).
    pub near_limit_ppm: u32,
    /// The active policy's limits.
    pub limits: Limits,
    /// Decisions a candidate policy made beside the active one.
    pub compared: u64,
    /// Where they differed.
    pub disagreements: Vec<Disagreement>,
    /// Swaps since the first policy.
    pub generation: u64,
}

impl Snapshot {
    /// The snapshot as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        let family = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        family(
            &mut out,
            "scapi_decisions_total",
            "counter",
            "Requests decided, by request, outcome, reason and shadow.",
        );
        for d in &self.decisions {
            let _ = writeln!(
                out,
                "scapi_decisions_total{{request=\"{}\",outcome=\"{}\",reason=\"{}\",shadow=\"{}\"}} {}",
                label(&d.request),
                d.outcome,
                d.reason,
                d.shadow,
                d.count
            );
        }
        family(
            &mut out,
            "scapi_near_limit_total",
            "counter",
            "Admissions that left at most (1 - ratio) of their window's budget.",
        );
        for (request, n) in &self.near_limit {
            let _ = writeln!(
                out,
                "scapi_near_limit_total{{request=\"{}\"}} {n}",
                label(request)
            );
        }
        let (whole, part) = (
            self.near_limit_ppm / 1_000_000,
            self.near_limit_ppm % 1_000_000,
        );
        let fraction = format!("{part:06}");
        let _ = writeln!(
            out,
            "# HELP scapi_near_limit_ratio The near-limit ratio.\n# TYPE scapi_near_limit_ratio gauge\nscapi_near_limit_ratio {whole}.{}",
            match fraction.trim_end_matches('0') {
                "" => "0",
                f => f,
            }
        );
        let _ = writeln!(
            out,
            "# HELP scapi_rate_limit Requests admitted per 60-second window, by request (0: no limit).\n# TYPE scapi_rate_limit gauge\nscapi_rate_limit{{request=\"default\"}} {}",
            self.limits.default
        );
        for (request, n) in &self.limits.per_request {
            let _ = writeln!(
                out,
                "scapi_rate_limit{{request=\"{}\"}} {n}",
                label(request)
            );
        }
        let _ = writeln!(
            out,
            "# HELP scapi_quarantine_seconds The quarantine after a limit is exceeded (-1: until the session ends).\n# TYPE scapi_quarantine_seconds gauge\nscapi_quarantine_seconds {}",
            self.limits.quarantine_seconds.map_or(-1, i64::from)
        );
        let _ = writeln!(
            out,
            "# HELP scapi_candidate_decisions_total Decisions a candidate policy made beside the active one.\n# TYPE scapi_candidate_decisions_total counter\nscapi_candidate_decisions_total {}",
            self.compared
        );
        let _ = writeln!(
            out,
            "# HELP scapi_candidate_disagreements_total Candidate decisions whose outcome differed from the active policy's.\n# TYPE scapi_candidate_disagreements_total counter"
        );
        for d in &self.disagreements {
            let _ = writeln!(
                out,
                "scapi_candidate_disagreements_total{{active=\"{}\",candidate=\"{}\"}} {}",
                d.active, d.candidate, d.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP scapi_policy_generation Policies swapped in since the first.\n# TYPE scapi_policy_generation gauge\nscapi_policy_generation {}",
            self.generation
        );
        out
    }
}

/// A label value escaped for the text format (request names are
/// `namespace.method`, but a configured one is still escaped).
fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limiter::Headroom;

    fn policy() -> Policy {
        crate::compiled::CompiledPolicy::load(
            r#"{"schemaVersion": 1, "source": {"name": "w", "sha256": "0"}, "origins": [], "anyOrigin": null,
                "rateLimit": {"windowSeconds": 60, "default": 0, "perRequest": {"voice.dial": 10, "custom.thing": 2}, "quarantineSeconds": 30},
                "userData": {"read": "*", "write": "*"}, "webExtensions": []}"#,
        )
        .unwrap()
    }

    /// More threads than tables of their own, all counting at once: not
    /// one count is lost, whether a thread has its own table or shares.
    #[test]
    fn counts_from_many_threads_are_exact() {
        let p = policy();
        let m = std::sync::Arc::new(Metrics::default());
        let threads = THREAD_TABLES + 8;
        let start = std::sync::Arc::new(std::sync::Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (m, p, start) = (m.clone(), p.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    for i in 0..10_000 {
                        let request = if i % 2 == 0 { "voice.dial" } else { "made.up" };
                        m.record(&p, request, Outcome::Allow, Reason::Granted, false, None);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let s = m.snapshot(&p, 0);
        let count = |label: &str| {
            s.decisions
                .iter()
                .filter(|d| d.request == label)
                .map(|d| d.count)
                .sum::<u64>()
        };
        assert_eq!(count("voice.dial"), threads as u64 * 5_000);
        assert_eq!(count(OTHER), threads as u64 * 5_000);
    }

    #[test]
    fn cells_follow_the_order_of_all() {
        for (i, o) in Outcome::ALL.into_iter().enumerate() {
            assert_eq!(o as usize, i);
        }
        for (i, r) in Reason::ALL.into_iter().enumerate() {
            assert_eq!(r as usize, i);
        }
    }

    #[test]
    fn labels_are_bounded_to_the_catalog_the_configured_names_and_other() {
        let p = policy();
        let m = Metrics::default();
        for request in ["voice.dial", "custom.thing", "made.up", "also.made"] {
            m.record(&p, request, Outcome::Allow, Reason::Granted, false, None);
        }
        let s = m.snapshot(&p, 0);
        let labels: Vec<_> = s.decisions.iter().map(|d| d.request.as_str()).collect();
        assert_eq!(labels, ["voice.dial", "custom.thing", "other"]);
        assert_eq!(s.decisions[2].count, 2);
    }

    #[test]
    fn near_limit_counts_admissions_past_the_ratio() {
        let p = policy();
        let m = Metrics::new(0.8);
        for remaining in (0..10).rev() {
            let h = Headroom {
                limit: 10,
                remaining,
                reset_at: 60_000,
            };
            m.record(
                &p,
                "voice.dial",
                Outcome::Allow,
                Reason::Granted,
                false,
                Some(h),
            );
        }
        // Used 8, 9 and 10 of 10.
        assert_eq!(m.snapshot(&p, 0).near_limit["voice.dial"], 3);
    }

    #[test]
    fn the_text_format_names_every_family() {
        let p = policy();
        let m = Metrics::default();
        m.record(
            &p,
            "voice.dial",
            Outcome::Deny,
            Reason::OriginNotAccepted,
            true,
            None,
        );
        m.compare(Outcome::Allow, Outcome::Deny);
        let text = m.snapshot(&p, 3).to_prometheus();
        assert!(text.contains(
            "scapi_decisions_total{request=\"voice.dial\",outcome=\"deny\",reason=\"origin-not-accepted\",shadow=\"true\"} 1\n"
        ));
        assert!(text.contains("scapi_rate_limit{request=\"custom.thing\"} 2\n"));
        assert!(text.contains(
            "scapi_candidate_disagreements_total{active=\"allow\",candidate=\"deny\"} 1\n"
        ));
        assert!(text.contains("scapi_policy_generation 3\n"));
        assert!(text.contains("scapi_quarantine_seconds 30\n"));
    }
}
