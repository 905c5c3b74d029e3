//! The semantic difference between two policies (`scapi diff`).
//!
//! Policies are compared by what they grant, not by how they are written:
//! reformatting, reordering, non-canonical spellings and redundant filters
//! are no change. For every origin named by either policy the *effective*
//! grant is compared — its own entry, else the `*` entry — so removing an
//! exact entry while `*` grants more is a widening for that origin; the `*`
//! entry itself stands for every origin without its own entry. Rate limits,
//! the quarantine and the user-data key sets are compared too.
//!
//! Each change is classified: `widening` (more access, looser or removed
//! limits, a shorter quarantine, more readable or writable keys) or
//! `narrowing`.

use scapi_policy::catalog::RequestSet;
use scapi_policy::policy::{Filter, Grant, KeySet, Policy, Quarantine};
use serde::Serialize;
use std::collections::BTreeSet;

/// Whether a change gives more or less.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// More access or looser limits.
    Widening,
    /// Less access or tighter limits.
    Narrowing,
}

impl Class {
    /// `widening` or `narrowing`.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Widening => "widening",
            Class::Narrowing => "narrowing",
        }
    }
}

/// What changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// An origin (or, for `*`, every origin without its own entry) is now accepted.
    OriginAccepted,
    /// An origin is no longer accepted.
    OriginRefused,
    /// An origin may call more requests.
    RequestsGranted,
    /// An origin may call fewer requests.
    RequestsRevoked,
    /// A rate limit is higher, or gone.
    RateLimitLoosened,
    /// A rate limit is lower, or new.
    RateLimitTightened,
    /// The quarantine is shorter.
    QuarantineShortened,
    /// The quarantine is longer.
    QuarantineLengthened,
    /// More user-data keys are readable.
    ReadKeysAdded,
    /// Fewer user-data keys are readable.
    ReadKeysRemoved,
    /// More user-data keys are writable.
    WriteKeysAdded,
    /// Fewer user-data keys are writable.
    WriteKeysRemoved,
    /// The policy, or an entry, now runs in shadow: nothing it decides is
    /// enforced.
    ShadowStarted,
    /// The policy, or an entry, no longer runs in shadow: it is enforced.
    ShadowEnded,
}

/// One change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// Widening or narrowing.
    pub class: Class,
    /// What changed.
    pub kind: Kind,
    /// The origin concerned (`*`: every origin without its own entry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The request concerned (rate limits; `None` is the default limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// Catalog requests granted or revoked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<String>,
    /// Filters that grant (or granted) names outside the catalog.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<String>,
    /// Keys added or removed (`*` for every key).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// The old value of a limit or delay (`null`: unlimited / forever).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Option<u32>>,
    /// The new value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Option<u32>>,
    /// One sentence for people.
    pub message: String,
}

impl Change {
    fn new(class: Class, kind: Kind, message: String) -> Change {
        Change {
            class,
            kind,
            origin: None,
            request: None,
            requests: Vec::new(),
            patterns: Vec::new(),
            keys: Vec::new(),
            old: None,
            new: None,
            message,
        }
    }
}

/// Everything that differs, widenings first, then by origin and kind.
pub fn diff(old: &Policy, new: &Policy) -> Vec<Change> {
    let mut out = Vec::new();
    let origins: BTreeSet<&str> = old
        .origins()
        .chain(new.origins())
        .map(|o| o.origin)
        .collect();
    for o in origins {
        grants(&mut out, o, old.grant_for(o), new.grant_for(o));
    }
    grants(&mut out, "*", old.any_origin(), new.any_origin());
    rate_limits(&mut out, old, new);
    quarantine(
        &mut out,
        old.rate_limits().quarantine,
        new.rate_limits().quarantine,
    );
    keys(
        &mut out,
        "read",
        &old.user_data().read,
        &new.user_data().read,
    );
    keys(
        &mut out,
        "write",
        &old.user_data().write,
        &new.user_data().write,
    );
    shadow(&mut out, old, new);
    out.sort_by_key(|c| c.class);
    out
}

/// Shadow mode: a policy or entry that stops enforcing widens everything
/// it decides; one that starts enforcing narrows.
fn shadow(out: &mut Vec<Change>, old: &Policy, new: &Policy) {
    let (o, n) = (old.shadow(), new.shadow());
    if o.all != n.all {
        let (class, kind, msg) = if n.all {
            (
                Class::Widening,
                Kind::ShadowStarted,
                "the whole policy now runs in shadow: nothing it decides is enforced".to_string(),
            )
        } else {
            (
                Class::Narrowing,
                Kind::ShadowEnded,
                "the policy no longer runs in shadow: it is enforced".to_string(),
            )
        };
        out.push(Change::new(class, kind, msg));
        // The whole policy's mark says it for every entry.
        return;
    }
    if n.all {
        return;
    }
    for e in n.entries.difference(&o.entries) {
        let mut c = Change::new(
            Class::Widening,
            Kind::ShadowStarted,
            format!(
                "the entry of {} now runs in shadow: its decisions are not enforced",
                who(e)
            ),
        );
        c.origin = Some(e.clone());
        out.push(c);
    }
    for e in o.entries.difference(&n.entries) {
        let mut c = Change::new(
            Class::Narrowing,
            Kind::ShadowEnded,
            format!(
                "the entry of {} no longer runs in shadow: it is enforced",
                who(e)
            ),
        );
        c.origin = Some(e.clone());
        out.push(c);
    }
}

fn who(origin: &str) -> String {
    if origin == "*" {
        "every origin without its own entry".to_string()
    } else {
        format!("`{origin}`")
    }
}

/// A list for a sentence: at most eight names, then how many more.
fn listing(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(8).map(String::as_str).collect();
    match names.len().saturating_sub(8) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// Filters of a grant that reach names outside the catalog.
fn open_patterns(g: &Grant) -> Vec<Filter> {
    g.normal_form()
        .into_iter()
        .filter(|f| match f {
            Filter::All | Filter::Namespace(_) => true,
            Filter::Request(r) => scapi_policy::catalog::lookup(r).is_none(),
        })
        .collect()
}

/// Whether grant `g` covers every name filter `f` can match outside the catalog.
fn covers(g: &Grant, f: &Filter) -> bool {
    g.allow().iter().any(|h| match (h, f) {
        (Filter::All, _) => true,
        (Filter::Namespace(a), Filter::Namespace(b)) => a == b,
        (Filter::Namespace(_), Filter::Request(r)) => h.matches(r),
        (Filter::Request(a), Filter::Request(b)) => a == b,
        _ => false,
    })
}

fn names(set: RequestSet) -> Vec<String> {
    set.names().into_iter().map(str::to_string).collect()
}

fn grants(out: &mut Vec<Change>, origin: &str, old: Option<&Grant>, new: Option<&Grant>) {
    let with = |mut c: Change, requests: Vec<String>, patterns: Vec<String>| {
        c.origin = Some(origin.to_string());
        c.requests = requests;
        c.patterns = patterns;
        c
    };
    let pattern_names = |fs: Vec<Filter>| fs.iter().map(Filter::to_string).collect::<Vec<_>>();
    match (old, new) {
        (None, None) => {}
        (None, Some(g)) => {
            let (r, p) = (names(g.grants()), pattern_names(open_patterns(g)));
            // What it may call: catalog requests, else the patterns that
            // grant names outside the catalog, else nothing at all.
            let what = match (r.is_empty(), p.is_empty()) {
                (false, _) => format!("({})", listing(&r)),
                (true, false) => {
                    format!("(only requests outside the catalog: `{}`)", p.join("`, `"))
                }
                (true, true) => "but may call no request".to_string(),
            };
            let msg = format!("{} is now accepted {what}", who(origin));
            out.push(with(
                Change::new(Class::Widening, Kind::OriginAccepted, msg),
                r,
                p,
            ));
        }
        (Some(g), None) => {
            let (r, p) = (names(g.grants()), pattern_names(open_patterns(g)));
            let msg = format!("{} is no longer accepted", who(origin));
            out.push(with(
                Change::new(Class::Narrowing, Kind::OriginRefused, msg),
                r,
                p,
            ));
        }
        (Some(a), Some(b)) => {
            let added = names(b.grants().difference(a.grants()));
            let removed = names(a.grants().difference(b.grants()));
            let added_p = pattern_names(
                open_patterns(b)
                    .into_iter()
                    .filter(|f| !covers(a, f))
                    .collect(),
            );
            let removed_p = pattern_names(
                open_patterns(a)
                    .into_iter()
                    .filter(|f| !covers(b, f))
                    .collect(),
            );
            if !added.is_empty() || !added_p.is_empty() {
                let what = if added.is_empty() {
                    format!("`{}`", added_p.join("`, `"))
                } else {
                    listing(&added)
                };
                let msg = format!("{} may now call {what}", who(origin));
                out.push(with(
                    Change::new(Class::Widening, Kind::RequestsGranted, msg),
                    added,
                    added_p,
                ));
            }
            if !removed.is_empty() || !removed_p.is_empty() {
                let what = if removed.is_empty() {
                    format!("`{}`", removed_p.join("`, `"))
                } else {
                    listing(&removed)
                };
                let msg = format!("{} may no longer call {what}", who(origin));
                out.push(with(
                    Change::new(Class::Narrowing, Kind::RequestsRevoked, msg),
                    removed,
                    removed_p,
                ));
            }
        }
    }
}

/// A limit as an order: 0 is unlimited, above every number.
fn looseness(limit: u32) -> u64 {
    if limit == 0 {
        u64::MAX
    } else {
        u64::from(limit)
    }
}

fn show_limit(l: u32) -> String {
    if l == 0 {
        "unlimited".into()
    } else {
        format!("{l}/min")
    }
}

fn limit_change(out: &mut Vec<Change>, request: Option<&str>, old: u32, new: u32) {
    if old == new {
        return;
    }
    let (class, kind) = if looseness(new) > looseness(old) {
        (Class::Widening, Kind::RateLimitLoosened)
    } else {
        (Class::Narrowing, Kind::RateLimitTightened)
    };
    let what = request.map_or("the default rate limit".to_string(), |r| {
        format!("the rate limit of `{r}`")
    });
    let mut c = Change::new(
        class,
        kind,
        format!(
            "{what} goes from {} to {}",
            show_limit(old),
            show_limit(new)
        ),
    );
    c.request = request.map(str::to_string);
    c.old = Some((old != 0).then_some(old));
    c.new = Some((new != 0).then_some(new));
    out.push(c);
}

fn rate_limits(out: &mut Vec<Change>, old: &Policy, new: &Policy) {
    let (o, n) = (old.rate_limits(), new.rate_limits());
    limit_change(out, None, o.default, n.default);
    let requests: BTreeSet<&String> = o.per_request.keys().chain(n.per_request.keys()).collect();
    for r in requests {
        limit_change(out, Some(r), o.limit_for(r), n.limit_for(r));
    }
}

fn quarantine(out: &mut Vec<Change>, old: Quarantine, new: Quarantine) {
    let length = |q: Quarantine| q.seconds().map_or(u64::MAX, u64::from);
    if old == new {
        return;
    }
    let show = |q: Quarantine| {
        q.seconds()
            .map_or("forever".to_string(), |s| format!("{s} s"))
    };
    let (class, kind) = if length(new) < length(old) {
        (Class::Widening, Kind::QuarantineShortened)
    } else {
        (Class::Narrowing, Kind::QuarantineLengthened)
    };
    let mut c = Change::new(
        class,
        kind,
        format!("the quarantine goes from {} to {}", show(old), show(new)),
    );
    c.old = Some(old.seconds());
    c.new = Some(new.seconds());
    out.push(c);
}

fn keys(out: &mut Vec<Change>, which: &str, old: &KeySet, new: &KeySet) {
    let (added_kind, removed_kind) = if which == "read" {
        (Kind::ReadKeysAdded, Kind::ReadKeysRemoved)
    } else {
        (Kind::WriteKeysAdded, Kind::WriteKeysRemoved)
    };
    let verb = if which == "read" {
        "readable"
    } else {
        "writable"
    };
    let push = |out: &mut Vec<Change>, class, kind, keys: Vec<String>, msg: String| {
        let mut c = Change::new(class, kind, msg);
        c.keys = keys;
        out.push(c);
    };
    match (old, new) {
        (KeySet::All, KeySet::All) => {}
        (KeySet::Keys(_), KeySet::All) => push(
            out,
            Class::Widening,
            added_kind,
            vec!["*".into()],
            format!("every user-data key is now {verb}"),
        ),
        (KeySet::All, KeySet::Keys(k)) => {
            let keys: Vec<String> = k.iter().cloned().collect();
            let msg = if keys.is_empty() {
                format!("no user-data key is {verb} any more")
            } else {
                format!(
                    "only {} {} now",
                    listing(&keys),
                    if keys.len() == 1 { "is" } else { "are" }
                ) + &format!(" {verb}")
            };
            push(out, Class::Narrowing, removed_kind, vec!["*".into()], msg);
        }
        (KeySet::Keys(a), KeySet::Keys(b)) => {
            let added: Vec<String> = b.difference(a).cloned().collect();
            let removed: Vec<String> = a.difference(b).cloned().collect();
            if !added.is_empty() {
                let msg = format!("user-data keys now {verb}: {}", listing(&added));
                push(out, Class::Widening, added_kind, added, msg);
            }
            if !removed.is_empty() {
                let msg = format!("user-data keys no longer {verb}: {}", listing(&removed));
                push(out, Class::Narrowing, removed_kind, removed, msg);
            }
        }
    }
}

/// Counts by class.
pub fn counts(changes: &[Change]) -> (usize, usize) {
    let widening = changes
        .iter()
        .filter(|c| c.class == Class::Widening)
        .count();
    (widening, changes.len() - widening)
}

/// The human report.
pub fn to_human(changes: &[Change]) -> String {
    if changes.is_empty() {
        return "no change in what the policies grant\n".to_string();
    }
    let mut out = String::new();
    for c in changes {
        out.push_str(&format!("{:<9}  {}\n", c.class.as_str(), c.message));
    }
    let (w, n) = counts(changes);
    out.push_str(&format!(
        "\n{} change{}: {w} widening, {n} narrowing\n",
        changes.len(),
        if changes.len() == 1 { "" } else { "s" }
    ));
    out
}

/// The `diff --format json` document.
pub fn to_json(changes: &[Change]) -> serde_json::Value {
    let (w, n) = counts(changes);
    serde_json::json!({
        "schemaVersion": 1,
        "changes": changes,
        "summary": {"widening": w, "narrowing": n},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_policy as policy;

    fn kinds(old: &str, new: &str) -> Vec<(Class, Kind)> {
        diff(&policy(old), &policy(new))
            .into_iter()
            .map(|c| (c.class, c.kind))
            .collect()
    }

    const O: &str = "service-client-api.accepted-web-content-origins=";

    #[test]
    fn reformatting_is_no_change() {
        let a = format!("{O}https://a.example (agent.*, voice.dial), https://b.example\n");
        let b = format!(
            "{O}  HTTPS://A.example:443(voice.dial,agent.*,agent.get) ,https://b.example (*)\n"
        );
        assert_eq!(kinds(&a, &b), vec![]);
    }

    #[test]
    fn origins_and_requests() {
        let a = format!("{O}https://a.example (agent.*)\n");
        let b = format!("{O}https://a.example (agent.get, voice.dial), https://b.example\n");
        assert_eq!(
            kinds(&a, &b),
            vec![
                (Class::Widening, Kind::RequestsGranted),
                (Class::Widening, Kind::OriginAccepted),
                (Class::Narrowing, Kind::RequestsRevoked)
            ]
        );
    }

    #[test]
    fn any_origin_changes_reach_unlisted_origins_and_removed_entries() {
        let a = format!("{O}* (agent.get), https://a.example (agent.get)\n");
        let b = format!("{O}* (agent.get, voice.dial)\n");
        let changes = diff(&policy(&a), &policy(&b));
        // https://a.example now falls back to `*`, which grants voice.dial too.
        assert_eq!(changes.len(), 2);
        assert!(
            changes
                .iter()
                .all(|c| c.kind == Kind::RequestsGranted && c.requests == ["voice.dial"])
        );
        assert_eq!(changes[1].origin.as_deref(), Some("*"));
    }

    #[test]
    fn limits_quarantine_and_keys() {
        let a = format!(
            "{O}https://a.example\nservice-client-api.rate-limit=10\nservice-client-api.rate-limit.voice.dial=4\nservice-client-api.user-data.read-allowed=K1,K2\n"
        );
        let b = format!(
            "{O}https://a.example\nservice-client-api.rate-limit=5\nservice-client-api.rate-limit.voice.dial=0\nservice-client-api.rate-limit-quarantine-delay=10\nservice-client-api.user-data.read-allowed=K2,K3\nservice-client-api.user-data.write-allowed=K2\n"
        );
        assert_eq!(
            kinds(&a, &b),
            vec![
                (Class::Widening, Kind::RateLimitLoosened),
                (Class::Widening, Kind::QuarantineShortened),
                (Class::Widening, Kind::ReadKeysAdded),
                (Class::Narrowing, Kind::RateLimitTightened),
                (Class::Narrowing, Kind::ReadKeysRemoved),
                (Class::Narrowing, Kind::WriteKeysRemoved),
            ]
        );
    }

    #[test]
    fn patterns_outside_the_catalog_count() {
        let a = format!("{O}https://a.example (agent.*)\n");
        let b = format!("{O}https://a.example (agent.*, newns.*)\n");
        let c = diff(&policy(&a), &policy(&b));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].patterns, ["newns.*"]);
        assert_eq!(c[0].class, Class::Widening);
    }
}
