//! Request decisions: may this origin call this request?
//!
//! [`Policy::check`] answers from the policy alone, in this order: the
//! presented origin must be canonical and accepted (by its own entry, else
//! by `*`), the request name must be a valid `namespace.method`, and the
//! entry's filters must grant it. Rate limits come after, in
//! [`crate::limiter`]. A decision borrows from the policy and allocates
//! nothing.

use crate::catalog;
use crate::origin;
use crate::policy::{Grant, Policy};
use crate::syntax::name;
use serde::Serialize;
use std::fmt;

/// What happens to a request or event.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Passed to WWE.
    Allow,
    /// Refused with an error answer.
    Deny,
    /// Over its rate limit: answered with the rate-limit error, and the
    /// request type is quarantined from this instant.
    RateLimited,
    /// Quarantined: no answer at all.
    Ignored,
    /// An event or result whose `userData` was filtered.
    Redacted,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 5] = [
        Outcome::Allow,
        Outcome::Deny,
        Outcome::RateLimited,
        Outcome::Ignored,
        Outcome::Redacted,
    ];

    /// The name used in reports: `allow`, `deny`, `rate-limited`, `ignored`, `redacted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::RateLimited => "rate-limited",
            Outcome::Ignored => "ignored",
            Outcome::Redacted => "redacted",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The entry's filters grant the request.
    Granted,
    /// No entry accepts the (canonical) origin.
    OriginNotAccepted,
    /// The presented origin is not byte-identical to its canonical form.
    OriginNotCanonical,
    /// The entry does not grant the request, or the name is not a request name.
    RequestNotPermitted,
    /// `write-allowed` leaves no key of a write request.
    NoWritableKeys,
    /// The request exceeded its rate limit.
    RateLimit,
    /// The request type is quarantined.
    Quarantine,
    /// `read-allowed` filtered the `userData` of an event or result.
    ReadAllowed,
    /// The shared counter store is out of reach and the broker fails
    /// closed.
    StoreUnavailable,
}

impl Reason {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Granted => "granted",
            Reason::OriginNotAccepted => "origin-not-accepted",
            Reason::OriginNotCanonical => "origin-not-canonical",
            Reason::RequestNotPermitted => "request-not-permitted",
            Reason::NoWritableKeys => "no-writable-keys",
            Reason::RateLimit => "rate-limit",
            Reason::Quarantine => "quarantine",
            Reason::ReadAllowed => "read-allowed",
            Reason::StoreUnavailable => "store-unavailable",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The origin-list entry that decided: its origin (`*` for the any-origin
/// entry) and its line in the export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Entry<'p> {
    /// The entry's origin, or `*`.
    pub origin: &'p str,
    /// Its line in the export (0 when unknown).
    pub line: usize,
}

/// A decision on one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision<'p> {
    /// Allow or deny (rate limits are decided later).
    pub outcome: Outcome,
    /// Why.
    pub reason: Reason,
    /// The entry that decided, when one did.
    pub entry: Option<Entry<'p>>,
}

impl Decision<'_> {
    /// Whether the request may go on (to the rate limiter).
    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }
}

/// The entry that applies to an origin, as the policy found it.
#[derive(Clone, Copy, Debug)]
pub struct Applied<'p> {
    /// The grant.
    pub grant: &'p Grant,
    /// Its entry.
    pub entry: Entry<'p>,
}

impl Policy {
    /// The entry that applies to a presented origin: its own, else `*`.
    /// `Err` says why none does.
    pub fn applied(&self, origin: &str) -> Result<Applied<'_>, Reason> {
        if let Some(rule) = self.origin(origin) {
            return Ok(Applied {
                grant: &rule.grant,
                entry: Entry {
                    origin: &rule.origin,
                    line: rule.grant.line(),
                },
            });
        }
        // Configured origins are canonical, so a hit above implies a
        // canonical origin; a miss must be checked before `*` may accept it.
        if !origin::is_canonical(origin) {
            return Err(Reason::OriginNotCanonical);
        }
        match self.any_origin() {
            Some(g) => Ok(Applied {
                grant: g,
                entry: Entry {
                    origin: "*",
                    line: g.line(),
                },
            }),
            None => Err(Reason::OriginNotAccepted),
        }
    }

    /// May `origin` call `request`? The presented origin must already be
    /// canonical; the request must be a valid `namespace.method` name
    /// granted by the entry that applies to the origin.
    ///
    /// One hash lookup of the origin, one lookup of the name in the catalog
    /// and one bit test; names outside the catalog go through the entry's
    /// glob set. Allocates nothing, except that the first name outside the
    /// catalog an entry's filter list sees builds that list's glob set (once,
    /// shared by every entry with the same filters).
    pub fn check(&self, origin: &str, request: &str) -> Decision<'_> {
        let applied = match self.applied(origin) {
            Ok(a) => a,
            Err(reason) => {
                return Decision {
                    outcome: Outcome::Deny,
                    reason,
                    entry: None,
                };
            }
        };
        // A catalog name is valid by construction; any other name is checked
        // before the patterns see it.
        let permitted = match catalog::lookup(request) {
            Some(id) => applied.grant.permits_id(id),
            None => name::request(request).is_some() && applied.grant.permits_uncataloged(request),
        };
        let (outcome, reason) = if permitted {
            (Outcome::Allow, Reason::Granted)
        } else {
            (Outcome::Deny, Reason::RequestNotPermitted)
        };
        Decision {
            outcome,
            reason,
            entry: Some(applied.entry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(list: &str) -> Policy {
        crate::test_policy(&format!(
            "service-client-api.accepted-web-content-origins={list}\n"
        ))
    }

    #[test]
    fn decisions_and_reasons() {
        let p = policy("https://crm.example.com (agent.*), * (voice.dial)");
        let d = p.check("https://crm.example.com", "agent.get");
        assert_eq!((d.outcome, d.reason), (Outcome::Allow, Reason::Granted));
        assert_eq!(
            d.entry,
            Some(Entry {
                origin: "https://crm.example.com",
                line: 1
            })
        );
        // The exact entry wins over `*`: no voice.dial for crm.
        assert_eq!(
            p.check("https://crm.example.com", "voice.dial").reason,
            Reason::RequestNotPermitted
        );
        let d = p.check("https://other.example", "voice.dial");
        assert_eq!((d.reason, d.entry.unwrap().origin), (Reason::Granted, "*"));
        assert_eq!(
            p.check("https://CRM.example.com", "agent.get").reason,
            Reason::OriginNotCanonical
        );
        assert_eq!(
            p.check("https://crm.example.com", "agent.get(x)").reason,
            Reason::RequestNotPermitted
        );
        assert_eq!(
            p.check("https://crm.example.com", "Agent.get").reason,
            Reason::RequestNotPermitted
        );
        let closed = policy("https://crm.example.com");
        assert_eq!(
            closed.check("https://other.example", "agent.get").reason,
            Reason::OriginNotAccepted
        );
        assert_eq!(
            closed.check("null", "agent.get").reason,
            Reason::OriginNotCanonical
        );
    }
}
