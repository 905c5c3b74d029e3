//! Request decisions: may this origin call this request?
//!
//! [`Policy::check`] answers from the policy alone, in this order: the
//! presented origin must be canonical and accepted (by its own entry, else
//! by `*`), the request name must be a valid `namespace.method`, and the
//! entry's filters must grant it. Rate limits come after, in
//! [`crate::limiter`]. A decision borrows from the policy and allocates
//! nothing.

use crate::catalog;
use crate::policy::{Grant, Policy};
use crate::presented;
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

    /// The name used in reports: `allow`, `deny`, `rate-limited`, `ignored`,
    /// `redacted` — serde's name of the variant.
    pub fn as_str(self) -> &'static str {
        variant_name(&self)
    }

    /// The outcome named `name` in reports.
    pub fn from_name(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == name)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", expecting = "a reason name")]
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
    /// The frame is shown as a tab, where the vendor's API gives access to
    /// the dial operation (`voice.dial`) only.
    TabDialOnly,
    /// The presented origin is `null`: an opaque origin (a sandboxed
    /// frame, a `file:` page, a `data:` URL), which says nothing about who
    /// sent the message, so no entry — not even `*` — accepts it.
    NullOrigin,
}

impl Reason {
    /// Every reason, in declaration order.
    pub const ALL: [Reason; 11] = [
        Reason::Granted,
        Reason::OriginNotAccepted,
        Reason::OriginNotCanonical,
        Reason::RequestNotPermitted,
        Reason::NoWritableKeys,
        Reason::RateLimit,
        Reason::Quarantine,
        Reason::ReadAllowed,
        Reason::StoreUnavailable,
        Reason::TabDialOnly,
        Reason::NullOrigin,
    ];

    /// The name used in reports, e.g. `origin-not-accepted` — serde's name
    /// of the variant.
    pub fn as_str(self) -> &'static str {
        variant_name(&self)
    }
}

/// The name serde gives a unit variant: the one place outcome and reason
/// names are written is their `#[serde(rename_all)]`.
fn variant_name<T: Serialize>(value: &T) -> &'static str {
    value.serialize(VariantName).unwrap_or("")
}

/// A serializer that only takes unit variants, and returns their name.
struct VariantName;

/// Anything but a unit variant.
#[derive(Debug)]
struct NotAUnitVariant;

impl fmt::Display for NotAUnitVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a unit variant")
    }
}

impl std::error::Error for NotAUnitVariant {}

impl serde::ser::Error for NotAUnitVariant {
    fn custom<T: fmt::Display>(_: T) -> NotAUnitVariant {
        NotAUnitVariant
    }
}

macro_rules! refuse {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self $(, _: $arg)*) -> Result<&'static str, NotAUnitVariant> {
            Err(NotAUnitVariant)
        })*
    };
}

impl serde::Serializer for VariantName {
    type Ok = &'static str;
    type Error = NotAUnitVariant;
    type SerializeSeq = serde::ser::Impossible<&'static str, NotAUnitVariant>;
    type SerializeTuple = serde::ser::Impossible<&'static str, NotAUnitVariant>;
    type SerializeTupleStruct = serde::ser::Impossible<&'static str, NotAUnitVariant>;
    type SerializeTupleVariant = serde::ser::Impossible<&'static str, NotAUnitVariant>;
    type SerializeMap = serde::ser::Impossible<&'static str, NotAUnitVariant>;
    type SerializeStruct = serde::ser::Impossible<&'static str, NotAUnitVariant>;
    type SerializeStructVariant = serde::ser::Impossible<&'static str, NotAUnitVariant>;

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<&'static str, NotAUnitVariant> {
        Ok(variant)
    }

    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
    );

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<&'static str, NotAUnitVariant> {
        Err(NotAUnitVariant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<&'static str, NotAUnitVariant> {
        Err(NotAUnitVariant)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<&'static str, NotAUnitVariant> {
        Err(NotAUnitVariant)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotAUnitVariant> {
        Err(NotAUnitVariant)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotAUnitVariant> {
        Err(NotAUnitVariant)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotAUnitVariant> {
        Err(NotAUnitVariant)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotAUnitVariant> {
        Err(NotAUnitVariant)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotAUnitVariant> {
        Err(NotAUnitVariant)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotAUnitVariant> {
        Err(NotAUnitVariant)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotAUnitVariant> {
        Err(NotAUnitVariant)
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

/// How the application that sends a request is displayed.
///
/// The vendor: "If you configure Agent Desktop to display your web
/// application in a new tab in the Agent Desktop user interface, then the
/// service API only gives access to the dial operation." A frame shown as a
/// tab may call [`TAB_REQUESTS`] (when its entry grants them) and nothing
/// else, whatever its entry grants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", expecting = "`embedded` or `tab`")]
pub enum Frame {
    /// Embedded in the agent desktop (an iframe, a popup, a background or
    /// hidden view): the entry's grants apply.
    #[default]
    Embedded,
    /// Shown in a new tab: the dial operation only.
    Tab,
}

impl Frame {
    /// The name used in requests files: `embedded` or `tab`.
    pub fn as_str(self) -> &'static str {
        variant_name(&self)
    }

    /// The frame named `name`.
    pub fn from_name(name: &str) -> Option<Frame> {
        [Frame::Embedded, Frame::Tab]
            .into_iter()
            .find(|f| f.as_str() == name)
    }
}

/// What a frame shown as a tab may call: the dial operation.
pub const TAB_REQUESTS: [&str; 1] = ["voice.dial"];

/// The presented origin of a sandboxed frame, a `file:` page or a `data:`
/// URL (the serialization of an opaque origin).
pub const NULL_ORIGIN: &str = "null";

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
                grant: rule.grant,
                entry: Entry {
                    origin: rule.origin,
                    line: rule.grant.line(),
                },
            });
        }
        // Configured origins are canonical, so a hit above implies a
        // canonical origin; a miss must be checked before `*` may accept it.
        if origin == NULL_ORIGIN {
            return Err(Reason::NullOrigin);
        }
        if !presented::is_canonical(origin) {
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
    /// and one bit test; a name outside the catalog is checked against the
    /// entry's filters (at most two binary searches). Allocates nothing.
    pub fn check(&self, origin: &str, request: &str) -> Decision<'_> {
        self.check_in(origin, request, Frame::Embedded)
    }

    /// [`check`](Policy::check) for a frame displayed as `frame`: a tab
    /// gets [`TAB_REQUESTS`] only (`tab-dial-only`), and only when its entry
    /// grants them.
    pub fn check_in(&self, origin: &str, request: &str, frame: Frame) -> Decision<'_> {
        self.check_known(origin, request, catalog::lookup(request), frame)
    }

    /// [`check_in`](Policy::check_in) of a request whose catalog entry is
    /// known (`id` is `catalog::lookup(request)`).
    pub(crate) fn check_known(
        &self,
        origin: &str,
        request: &str,
        id: Option<catalog::RequestId>,
        frame: Frame,
    ) -> Decision<'_> {
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
        let permitted = match id {
            Some(id) => applied.grant.permits_id(id),
            // A client-side helper (`system.isFrameLeading`) is answered
            // by the frame's own library and is never a request: a broker
            // that receives one refuses it, whatever the filters say.
            None => {
                catalog::is_request_name(request)
                    && !catalog::is_client_helper(request)
                    && applied.grant.permits_uncataloged(request)
            }
        };
        let (outcome, reason) = if !permitted {
            (Outcome::Deny, Reason::RequestNotPermitted)
        } else if frame == Frame::Tab && !TAB_REQUESTS.contains(&request) {
            (Outcome::Deny, Reason::TabDialOnly)
        } else {
            (Outcome::Allow, Reason::Granted)
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

    /// A new reason fails to compile here until `Reason::ALL` has it.
    #[test]
    fn every_reason_is_in_all() {
        for (i, r) in Reason::ALL.into_iter().enumerate() {
            let at = match r {
                Reason::Granted => 0,
                Reason::OriginNotAccepted => 1,
                Reason::OriginNotCanonical => 2,
                Reason::RequestNotPermitted => 3,
                Reason::NoWritableKeys => 4,
                Reason::RateLimit => 5,
                Reason::Quarantine => 6,
                Reason::ReadAllowed => 7,
                Reason::StoreUnavailable => 8,
                Reason::TabDialOnly => 9,
                Reason::NullOrigin => 10,
            };
            assert_eq!(at, i);
        }
    }
    use super::*;

    /// A policy of `(origin, filters)` entries on line 1; `*` is the
    /// any-origin entry.
    fn policy(entries: &[(&str, &[&str])]) -> Policy {
        crate::test_policy(entries)
    }

    #[test]
    fn names_are_serde_names() {
        for o in Outcome::ALL {
            assert_eq!(serde_json::to_string(&o).unwrap(), format!("\"{o}\""));
            assert_eq!(Outcome::from_name(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::RateLimited.as_str(), "rate-limited");
        assert_eq!(Reason::OriginNotAccepted.to_string(), "origin-not-accepted");
        assert_eq!(Reason::StoreUnavailable.as_str(), "store-unavailable");
    }

    #[test]
    fn decisions_and_reasons() {
        let p = policy(&[
            ("https://crm.example.com", &["agent.*"]),
            ("*", &["voice.dial"]),
        ]);
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
        let closed = policy(&[("https://crm.example.com", &["*"])]);
        assert_eq!(
            closed.check("https://other.example", "agent.get").reason,
            Reason::OriginNotAccepted
        );
        assert_eq!(closed.check("null", "agent.get").reason, Reason::NullOrigin);
    }

    #[test]
    fn a_null_origin_is_named_even_under_any_origin() {
        let p = policy(&[("*", &["*"])]);
        assert_eq!(p.check("null", "agent.get").reason, Reason::NullOrigin);
        assert_eq!(
            p.check("NULL", "agent.get").reason,
            Reason::OriginNotCanonical
        );
        assert!(p.check("https://a.example", "agent.get").is_allowed());
    }

    #[test]
    fn client_side_helpers_are_never_requests() {
        let p = policy(&[("https://crm.example.com", &["*", "system.isFrameLeading"])]);
        let d = p.check("https://crm.example.com", "system.isFrameLeading");
        assert_eq!(d.reason, Reason::RequestNotPermitted);
        assert!(
            p.check("https://crm.example.com", "system.newRequest")
                .is_allowed()
        );
    }

    #[test]
    fn a_tab_may_only_dial() {
        let p = policy(&[
            ("https://crm.example.com", &["*"]),
            ("https://kb.example.com", &["agent.*"]),
        ]);
        let tab = |o, r| p.check_in(o, r, Frame::Tab).reason;
        assert_eq!(
            tab("https://crm.example.com", "voice.dial"),
            Reason::Granted
        );
        assert_eq!(
            tab("https://crm.example.com", "agent.get"),
            Reason::TabDialOnly
        );
        assert_eq!(
            tab("https://crm.example.com", "voice.dialEx"),
            Reason::TabDialOnly
        );
        // What the entry does not grant stays not permitted.
        assert_eq!(
            tab("https://kb.example.com", "voice.dial"),
            Reason::RequestNotPermitted
        );
        assert_eq!(
            p.check_in("https://crm.example.com", "agent.get", Frame::Embedded)
                .reason,
            Reason::Granted
        );
        assert_eq!(Frame::from_name("tab"), Some(Frame::Tab));
        assert_eq!(Frame::Embedded.as_str(), "embedded");
    }
}
