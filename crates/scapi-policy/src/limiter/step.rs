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

/// What is left of a limited request's window after an admission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Headroom {
    /// The limit: requests admitted per window.
    pub limit: u32,
    /// Requests the window still admits.
    pub remaining: u32,
    /// When the window ends and its count starts again from zero.
    pub reset_at: Millis,
}

/// What the limiter does with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Admission {
    /// Passed on; with the window's headroom when a limit applies (`None`:
    /// the request has no limit).
    Admitted(Option<Headroom>),
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

impl Admission {
    /// Whether the request is passed on.
    pub fn is_admitted(self) -> bool {
        matches!(self, Admission::Admitted(_))
    }

    /// Requests of this type the client may still make before the limit:
    /// 0 once limited or ignored; `None` when no limit applies.
    pub fn remaining(self) -> Option<u32> {
        match self {
            Admission::Admitted(h) => h.map(|h| h.remaining),
            Admission::Limited { .. } | Admission::Ignored { .. } => Some(0),
        }
    }

    /// When requests of this type are taken again from zero: the end of the
    /// window for an admission, the end of the quarantine for a limited or
    /// ignored one. `None` when no limit applies, or for a quarantine that
    /// lasts until the session ends.
    pub fn reset_at(self) -> Option<Millis> {
        match self {
            Admission::Admitted(h) => h.map(|h| h.reset_at),
            Admission::Limited { until } | Admission::Ignored { until } => until,
        }
    }
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
        let count = count.saturating_add(1);
        let headroom = Headroom {
            limit: limit.per_minute.get(),
            remaining: limit.per_minute.get().saturating_sub(count),
            reset_at: window.saturating_add(super::WINDOW_MILLIS),
        };
        return (
            CounterState::Counting { window, count },
            Admission::Admitted(Some(headroom)),
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
