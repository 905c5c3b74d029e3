//! Replaying items through a policy and a limiter.

use super::report::{HumanPrinter, JsonPrinter, Printer, ReportFormat};
use super::requests::*;
use scapi_policy::PolicyHandle;
use scapi_policy::decision::{Entry, Outcome, Reason};
use scapi_policy::handle::{Active, Call};
use scapi_policy::limiter::{
    Admission, At, CounterStore, ManualClock, MemoryStore, Millis, RateLimitResult,
};
use scapi_policy::policy::Policy;
use std::io::Write;

/// What happened to one item.
#[derive(Clone, Debug, PartialEq)]
pub struct Decided<'p> {
    /// The item's index.
    pub index: usize,
    /// When.
    pub at: Millis,
    /// The outcome.
    pub outcome: Outcome,
    /// Why.
    pub reason: Reason,
    /// The deciding entry.
    pub entry: Option<Entry<'p>>,
    /// Decided in shadow: the outcome is the one it would have had, and
    /// nothing was enforced.
    pub shadow: bool,
    /// The error result of a rate-limited request.
    pub result: Option<RateLimitResult>,
    /// End of the quarantine of a rate-limited or ignored request
    /// (`Some(None)`: forever), as RFC 3339.
    pub quarantine_until: Option<Option<String>>,
    /// Keys stripped from a write request.
    pub denied_keys: Vec<String>,
    /// The redacted event, as JSON text.
    pub event: Option<String>,
    /// Keys removed from the event.
    pub removed_keys: Vec<String>,
    /// The expected outcome when it differs from the actual one.
    pub mismatch: Option<Outcome>,
}

/// Decides one item on the active policy of a handle ([`Active::decide`]
/// for a request). A store that fails (a fleet store out of reach that
/// fails closed) makes the request `deny` with `store-unavailable`.
pub fn decide<'p, S: CounterStore>(
    active: &'p Active<S>,
    item: &Item,
) -> Result<Decided<'p>, ItemError> {
    let policy = active.policy();
    let mut d = Decided {
        index: item.index,
        at: item.at,
        outcome: Outcome::Allow,
        reason: Reason::Granted,
        entry: None,
        shadow: false,
        result: None,
        quarantine_until: None,
        denied_keys: Vec::new(),
        event: None,
        removed_keys: Vec::new(),
        mismatch: None,
    };
    let fail = |message: String| ItemError {
        index: Some(item.index),
        line: item.line,
        message,
    };
    match &item.kind {
        ItemKind::Event(event) => {
            let (text, removed) = policy.user_data().redact_json(event).map_err(|e| {
                fail(if e.message.starts_with("nested") {
                    format!("`event` is {}", e.message)
                } else {
                    format!("`event` is not JSON: {e}")
                })
            })?;
            d.event = Some(text);
            d.removed_keys = removed;
            d.outcome = Outcome::Redacted;
            d.reason = Reason::ReadAllowed;
            d.shadow = policy.shadow().all;
        }
        ItemKind::Request(r) => request(active, item.at, r, &mut d).map_err(fail)?,
        ItemKind::Policy(_) => {
            return Err(fail(
                "a policy item switches the policy (see `run`); it has no decision".into(),
            ));
        }
    }
    d.mismatch = item.expect.filter(|x| *x != d.outcome);
    Ok(d)
}

fn request<'p, S: CounterStore>(
    active: &'p Active<S>,
    at: Millis,
    r: &RequestItem,
    e: &mut Decided<'p>,
) -> Result<(), String> {
    let call = Call {
        origin: &r.origin,
        request: &r.request,
        client: &r.client,
        frame: r.frame,
        keys: r.user_data.as_deref().or(r.keys.as_deref()),
        at: At::Time(at),
    };
    let v = active.decide(&call);
    e.outcome = v.outcome;
    e.reason = v.reason;
    e.entry = v.entry;
    e.shadow = v.shadow;
    e.denied_keys = v.denied_keys;
    let until = |t: Option<Millis>| {
        match t {
        None => Ok(None),
        Some(t) => format_time(t).map(Some).ok_or_else(|| {
            "the quarantine would end after 9999-12-31T23:59:59.999Z, which a report cannot write; give `at` earlier".to_string()
        }),
    }
    };
    match v.admission {
        Some(Admission::Limited { until: t }) => {
            e.quarantine_until = Some(until(t)?);
            // In shadow the error result is not sent.
            e.result = (!v.shadow).then(|| {
                RateLimitResult::new(&r.request, active.policy().rate_limits().quarantine)
            });
        }
        Some(Admission::Ignored { until: t }) => e.quarantine_until = Some(until(t)?),
        _ => {}
    }
    Ok(())
}

/// Counts of an evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Items per outcome, in [`Outcome::ALL`] order.
    pub outcomes: [usize; 5],
    /// Items whose `expect` differs from the outcome.
    pub mismatches: usize,
}

impl Summary {
    /// Counts one more item.
    pub fn add(&mut self, d: &Decided<'_>) {
        if let Some(slot) = Outcome::ALL
            .iter()
            .position(|o| *o == d.outcome)
            .and_then(|i| self.outcomes.get_mut(i))
        {
            *slot += 1;
        }
        self.mismatches += usize::from(d.mismatch.is_some());
    }

    /// How many items were decided.
    pub fn items(&self) -> usize {
        self.outcomes.iter().sum()
    }
}

/// Why [`run`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The requests file cannot be evaluated from this item on; what was
    /// decided before it has been written.
    #[error("{0}")]
    Items(#[from] ItemError),
    /// Writing the report failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Where a replay gets the policy a policy item names: the policy, or
/// why it cannot be used (one lowercase sentence).
pub type LoadPolicy<'a> = dyn FnMut(&str) -> Result<Policy, String> + 'a;

/// Refuses every policy item: for replays without files to read.
pub fn no_policy_items(path: &str) -> Result<Policy, String> {
    Err(format!(
        "`policy` names `{path}`, but this evaluation cannot read files; switch policies with `scapi eval`"
    ))
}

/// What a replay is told and asks besides the items: its progress and the
/// policies of policy items. (Decisions are logged, counted and compared
/// with a candidate by the handle: [`PolicyHandle::with_decision_log`].)
pub struct Hooks<'a> {
    /// Told how many items are done, now and then.
    pub progress: Box<dyn FnMut(usize) + 'a>,
    /// Gives the policy a policy item names.
    pub load: Box<LoadPolicy<'a>>,
}

impl Hooks<'_> {
    /// No progress, no policy items ([`no_policy_items`]).
    pub fn none() -> Hooks<'static> {
        Hooks {
            progress: Box::new(|_| {}),
            load: Box::new(no_policy_items),
        }
    }
}

/// Replays items through the active policy of `handle` and streams the
/// report: each decision is written as it is made, so a million requests
/// are never held at once. Items must be in time order. A policy item
/// swaps in the policy `hooks.load` gives for its path, as a broker's
/// reload does: counters and quarantines are kept, and a changed limit
/// applies from it on.
pub fn run<S: CounterStore>(
    handle: &PolicyHandle<S>,
    items: impl IntoIterator<Item = Result<Item, ItemError>>,
    report: ReportFormat,
    out: &mut impl Write,
    hooks: Hooks<'_>,
) -> Result<Summary, RunError> {
    let Hooks {
        mut progress,
        mut load,
    } = hooks;
    let mut printer: Box<dyn Printer + '_> = match report {
        ReportFormat::Json => Box::new(JsonPrinter::new(out)?),
        ReportFormat::Human => Box::new(HumanPrinter::new(out)),
    };
    let mut summary = Summary::default();
    let mut previous: Option<Millis> = None;
    for item in items {
        let item = match item {
            Ok(item) => item,
            Err(e) => {
                printer.abort()?;
                return Err(e.into());
            }
        };
        if let Some(p) = previous
            && item.at < p
        {
            printer.abort()?;
            return Err(ItemError {
                index: Some(item.index),
                line: item.line,
                message: format!(
                    "`at` is {}, earlier than the item before ({}); items must be in time order",
                    format_time(item.at).unwrap_or_default(),
                    format_time(p).unwrap_or_default()
                ),
            }
            .into());
        }
        previous = Some(item.at);
        if let ItemKind::Policy(path) = &item.kind {
            match load(path) {
                Ok(policy) => {
                    handle.swap(policy);
                }
                Err(message) => {
                    printer.abort()?;
                    return Err(ItemError {
                        index: Some(item.index),
                        line: item.line,
                        message,
                    }
                    .into());
                }
            }
            continue;
        }
        let active = handle.current();
        let decided = match decide(&active, &item) {
            Ok(d) => d,
            Err(e) => {
                printer.abort()?;
                return Err(e.into());
            }
        };
        summary.add(&decided);
        printer.decision(&item, &decided)?;
        if summary.items() % 4096 == 0 {
            progress(summary.items());
        }
    }
    progress(summary.items());
    printer.finish(&summary)?;
    Ok(summary)
}

/// [`run`] over a requests file held in memory, with a fresh in-memory
/// limiter and the items' own times.
pub fn run_text(
    policy: &Policy,
    text: &str,
    format: RequestsFormat,
    report: ReportFormat,
    out: &mut impl Write,
) -> Result<Summary, RunError> {
    let handle = fresh_handle(policy.clone());
    let text = text.trim_start_matches('\u{feff}');
    let items: Box<dyn Iterator<Item = Result<Item, ItemError>>> = match format {
        RequestsFormat::JsonLines => Box::new(JsonLines::new(text.as_bytes(), u64::MAX)),
        _ => match list_items(text, format) {
            Ok(items) => Box::new(items.into_iter().map(Ok)),
            Err(e) => Box::new(std::iter::once(Err(e))),
        },
    };
    run(&handle, items, report, out, Hooks::none())
}

/// [`run`] over items already read, with a fresh in-memory limiter; the
/// report as a string.
pub fn report(
    policy: &Policy,
    items: &[Item],
    report: ReportFormat,
) -> Result<(String, Summary), RunError> {
    let handle = fresh_handle(policy.clone());
    let mut out = Vec::new();
    let summary = run(
        &handle,
        items.iter().cloned().map(Ok),
        report,
        &mut out,
        Hooks::none(),
    )?;
    Ok((String::from_utf8_lossy(&out).into_owned(), summary))
}

/// A handle on `policy` with in-memory counters for a replay: every item
/// gives its own time.
pub fn fresh_handle(policy: Policy) -> PolicyHandle<MemoryStore<ManualClock>> {
    PolicyHandle::with_store(policy, MemoryStore::with_clock(ManualClock::default()))
}
