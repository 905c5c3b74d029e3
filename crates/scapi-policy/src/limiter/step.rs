//! The transition of one counter: a pure function, applied atomically per
//! key by every store (memory, Redis's script).

use crate::policy::Quarantine;
use std::num::NonZeroU32;

use super::{Millis, window_start};

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
pub(crate) fn is_idle(state: CounterState, now: Millis) -> bool {
    match state {
        CounterState::Counting { window, .. } => window < window_start(now),
        CounterState::Quarantined {
            until: Some(end),
            count,
        } => now >= end && (count == 0 || window_start(end) < window_start(now)),
        CounterState::Quarantined { until: None, .. } => false,
    }
}
