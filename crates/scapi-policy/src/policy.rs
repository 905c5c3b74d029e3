//! The typed policy: what the options mean, with no trace of how they were
//! written.
//!
//! A [`Policy`] is built by the compiler (the `scapi` crate) from an export,
//! or loaded from a compiled policy JSON by [`crate::compiled`]. Origins are canonical, each
//! entry's filters are kept as patterns and expanded over the catalog, rate
//! limits and quarantine have their defaults applied, user-data key sets are
//! resolved. This module knows nothing of text, spans or file formats;
//! source lines are carried only as a source map for reports.

use crate::catalog::{self, RequestId, RequestSet};
use crate::hashing::RandomKeys;
use crate::origin_index::OriginTable;
#[doc(hidden)] // the compiler's, not a broker's
pub use crate::origin_index::{Name, OriginList};
pub use crate::origin_index::{OriginRule, Origins};
use hashbrown::HashTable;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;

/// One request filter of an origin entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Filter {
    /// `*`: every request except the explicit-only ones.
    All,
    /// `ns.*`: every request of a namespace except the explicit-only ones.
    Namespace(String),
    /// One request by its full name.
    Request(String),
}

impl Filter {
    /// Whether this filter matches a request name (the name must already be
    /// a valid `namespace.method`). Explicit-only requests match only a
    /// [`Filter::Request`] naming them.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Filter::Request(r) => r == name,
            Filter::All => !is_explicit_only(name),
            Filter::Namespace(ns) => {
                !is_explicit_only(name)
                    && name
                        .strip_prefix(ns.as_str())
                        .is_some_and(|m| m.starts_with('.'))
            }
        }
    }

    /// The catalog requests this filter grants.
    pub fn catalog_grants(&self) -> RequestSet {
        match self {
            Filter::All => catalog::all_grants(),
            Filter::Namespace(ns) => catalog::namespace_grants(ns),
            Filter::Request(r) => catalog::lookup(r).into_iter().collect(),
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::All => f.write_str("*"),
            Filter::Namespace(ns) => write!(f, "{ns}.*"),
            Filter::Request(r) => f.write_str(r),
        }
    }
}

fn is_explicit_only(name: &str) -> bool {
    catalog::lookup(name).is_some_and(|id| id.get().explicit_only)
}

/// What a list of filters grants. Shared (behind an `Arc`) by every entry
/// with the same filters: real policies reuse a handful of filter lists for
/// thousands of origins.
#[derive(Debug)]
struct Rules {
    /// The filters, canonical, in the order first written, without repeats.
    allow: Vec<Filter>,
    /// The catalog requests the filters grant.
    grants: RequestSet,
    /// For names outside the catalog (none of them explicit-only): whether
    /// `*` is listed, the namespaces of `ns.*` and the names of the
    /// requests listed that are outside the catalog, each sorted for a
    /// binary search. Empty for nearly every list.
    any: bool,
    namespaces: Box<[Box<str>]>,
    others: Box<[Box<str>]>,
}

impl Rules {
    fn new(mut allow: Vec<Filter>) -> Rules {
        // Collected in place from wider items, the list may hold several
        // times the room it needs, for as long as the policy lives.
        allow.shrink_to_fit();
        let grants = allow
            .iter()
            .fold(RequestSet::EMPTY, |acc, f| acc.union(f.catalog_grants()));
        let mut namespaces: Vec<Box<str>> = Vec::new();
        let mut others: Vec<Box<str>> = Vec::new();
        for f in &allow {
            match f {
                Filter::Namespace(ns) => namespaces.push(ns.as_str().into()),
                Filter::Request(r) if catalog::lookup(r).is_none() => {
                    others.push(r.as_str().into())
                }
                _ => {}
            }
        }
        namespaces.sort_unstable();
        others.sort_unstable();
        Rules {
            any: allow.contains(&Filter::All),
            allow,
            grants,
            namespaces: namespaces.into_boxed_slice(),
            others: others.into_boxed_slice(),
        }
    }

    /// Whether a valid name outside the catalog is granted: by `*`, by its
    /// namespace's pattern, or by name. Two binary searches at most, no
    /// allocation.
    fn permits_other(&self, name: &str) -> bool {
        self.any
            || name
                .split_once('.')
                .is_some_and(|(ns, _)| self.namespaces.binary_search_by(|n| (**n).cmp(ns)).is_ok())
            || self.others.binary_search_by(|n| (**n).cmp(name)).is_ok()
    }
}

/// What one entry of the origin list grants, and where it is written.
#[derive(Clone, Debug)]
pub struct Grant {
    rules: Arc<Rules>,
    /// 1-based line of the entry in the export (0 when unknown).
    line: usize,
}

impl PartialEq for Grant {
    fn eq(&self, other: &Grant) -> bool {
        self.rules.allow == other.rules.allow && self.line == other.line
    }
}

impl Eq for Grant {}

#[doc(hidden)] // the compiler's, not a broker's
/// Builds grants, sharing the rules of identical filter lists. Each list
/// is stored once, in its rules (the table holds only the shared pointers).
#[derive(Debug, Default)]
pub struct GrantCache {
    rules: HashTable<Arc<Rules>>,
    hasher: RandomKeys,
}

impl GrantCache {
    /// An empty cache.
    pub fn new() -> GrantCache {
        GrantCache::default()
    }

    /// A grant from filters (repeats removed, order kept).
    pub fn grant(&mut self, filters: impl IntoIterator<Item = Filter>, line: usize) -> Grant {
        let mut allow: Vec<Filter> = filters.into_iter().collect();
        // Repeats out, first kept: in place for short lists, through a set
        // for long ones (linear either way).
        if allow.len() > 16 {
            let mut seen = HashSet::new();
            allow.retain(|f| seen.insert(f.clone()));
        } else {
            let mut kept = 0;
            for i in 0..allow.len() {
                let repeat = match (allow.get(..kept), allow.get(i)) {
                    (Some(before), Some(f)) => before.contains(f),
                    _ => false,
                };
                if !repeat {
                    allow.swap(kept, i);
                    kept += 1;
                }
            }
            allow.truncate(kept);
        }
        let hasher = &self.hasher;
        let hash = hasher.hash_one(&allow);
        let rules = match self.rules.find(hash, |r| r.allow == allow) {
            Some(r) => Arc::clone(r),
            None => {
                let r = Arc::new(Rules::new(allow));
                self.rules
                    .insert_unique(hash, Arc::clone(&r), |r| hasher.hash_one(&r.allow));
                r
            }
        };
        Grant { rules, line }
    }
}

impl Grant {
    /// A grant from filters (repeats removed, order kept).
    pub fn new(filters: impl IntoIterator<Item = Filter>, line: usize) -> Grant {
        GrantCache::new().grant(filters, line)
    }

    /// The same grant for an entry on another line.
    pub fn at_line(&self, line: usize) -> Grant {
        Grant {
            rules: Arc::clone(&self.rules),
            line,
        }
    }

    /// The filters as written (canonical).
    pub fn allow(&self) -> &[Filter] {
        &self.rules.allow
    }

    /// The catalog requests granted.
    pub fn grants(&self) -> RequestSet {
        self.rules.grants
    }

    /// The source line.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Whether a valid request name is granted: catalog names by the bit set,
    /// other names by the patterns.
    pub fn permits(&self, name: &str) -> bool {
        match catalog::lookup(name) {
            Some(id) => self.rules.grants.contains(id),
            None => self.permits_uncataloged(name),
        }
    }

    /// Whether a catalog request is granted.
    #[inline]
    pub fn permits_id(&self, id: RequestId) -> bool {
        self.rules.grants.contains(id)
    }

    /// Whether a valid name outside the catalog matches one of the filters
    /// (none of those names is explicit-only).
    pub fn permits_uncataloged(&self, name: &str) -> bool {
        self.rules.permits_other(name)
    }

    /// The filters with the ones covered by others dropped, sorted: two grants
    /// with the same normal form grant the same requests, catalog or not.
    pub fn normal_form(&self) -> BTreeSet<Filter> {
        let allow = &self.rules.allow;
        let all = allow.contains(&Filter::All);
        let namespaces: HashSet<&str> = allow
            .iter()
            .filter_map(|f| match f {
                Filter::Namespace(ns) => Some(ns.as_str()),
                _ => None,
            })
            .collect();
        allow
            .iter()
            .filter(|f| match f {
                Filter::All => true,
                Filter::Namespace(_) => !all,
                Filter::Request(r) => {
                    let covered = r
                        .split_once('.')
                        .is_some_and(|(ns, _)| namespaces.contains(ns));
                    is_explicit_only(r) || (!all && !covered)
                }
            })
            .cloned()
            .collect()
    }
}

#[doc(hidden)] // the compiler's, not a broker's
/// The grants of an origin listed more than once, merged one after another
/// in time linear in their filters (merging each into the last would copy
/// the growing list at every repeat: quadratic in a hostile export). It
/// also tells, for each new grant, whether its normal form equals the
/// union's so far, without building the union's.
#[derive(Debug)]
pub struct GrantUnion {
    /// The filters in the order first written, without repeats.
    filters: Vec<Filter>,
    seen: HashSet<Filter>,
    all: bool,
    namespaces: HashSet<String>,
    /// Per namespace, the requests in it that are not explicit-only.
    requests_in: HashMap<String, usize>,
    /// Explicit-only requests (always in the normal form).
    explicit: usize,
    /// Requests that are not explicit-only and whose namespace is not
    /// listed.
    uncovered: usize,
    line: usize,
}

impl GrantUnion {
    /// A union holding `first` (whose line the merged grant keeps).
    pub fn new(first: &Grant) -> GrantUnion {
        let mut union = GrantUnion {
            filters: Vec::new(),
            seen: HashSet::new(),
            all: false,
            namespaces: HashSet::new(),
            requests_in: HashMap::new(),
            explicit: 0,
            uncovered: 0,
            line: first.line,
        };
        union.add(first);
        union
    }

    /// Adds a grant's filters.
    pub fn add(&mut self, grant: &Grant) {
        for f in grant.allow() {
            if !self.seen.insert(f.clone()) {
                continue;
            }
            self.filters.push(f.clone());
            match f {
                Filter::All => self.all = true,
                Filter::Namespace(ns) => {
                    if self.namespaces.insert(ns.clone()) {
                        let inside = self.requests_in.get(ns).copied().unwrap_or(0);
                        self.uncovered = self.uncovered.saturating_sub(inside);
                    }
                }
                Filter::Request(r) if is_explicit_only(r) => self.explicit += 1,
                Filter::Request(r) => match r.split_once('.') {
                    Some((ns, _)) => {
                        *self.requests_in.entry(ns.to_string()).or_insert(0) += 1;
                        if !self.namespaces.contains(ns) {
                            self.uncovered += 1;
                        }
                    }
                    None => self.uncovered += 1,
                },
            }
        }
    }

    /// Whether `grant`'s normal form is the union's: it grants exactly
    /// what the grants added so far grant together.
    pub fn same_as(&self, grant: &Grant) -> bool {
        let len = if self.all {
            1 + self.explicit
        } else {
            self.namespaces.len() + self.explicit + self.uncovered
        };
        let form = grant.normal_form();
        form.len() == len && form.iter().all(|f| self.in_normal_form(f))
    }

    /// Whether a filter is in the union's normal form (as
    /// [`Grant::normal_form`] keeps them).
    fn in_normal_form(&self, f: &Filter) -> bool {
        match f {
            Filter::All => self.all,
            Filter::Namespace(ns) => !self.all && self.namespaces.contains(ns),
            Filter::Request(r) => {
                let covered = r
                    .split_once('.')
                    .is_some_and(|(ns, _)| self.namespaces.contains(ns));
                self.seen.contains(f) && (is_explicit_only(r) || (!self.all && !covered))
            }
        }
    }

    /// The merged grant, on the first grant's line.
    pub fn into_grant(self) -> Grant {
        Grant::new(self.filters, self.line)
    }
}

/// How long a rate-limited request type is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quarantine {
    /// This many seconds (never 0).
    Seconds(std::num::NonZeroU32),
    /// Until the session ends (the option's value 0).
    Forever,
}

impl Quarantine {
    /// The quarantine for an option value: 0 is forever.
    pub fn from_option(seconds: u32) -> Quarantine {
        match std::num::NonZeroU32::new(seconds) {
            Some(s) => Quarantine::Seconds(s),
            None => Quarantine::Forever,
        }
    }

    /// Seconds, or `None` for forever.
    pub fn seconds(self) -> Option<u32> {
        match self {
            Quarantine::Seconds(s) => Some(s.get()),
            Quarantine::Forever => None,
        }
    }
}

/// Rate limits: requests per minute per (client, request name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// The limit of every request name without its own (0 = unlimited).
    pub default: u32,
    /// Per-request limits (0 = unlimited).
    pub per_request: BTreeMap<String, u32>,
    /// The quarantine after a limit is hit.
    pub quarantine: Quarantine,
}

/// Length of a rate-limit window, in seconds.
pub const WINDOW_SECONDS: u32 = 60;

/// The default quarantine delay, in seconds.
pub const DEFAULT_QUARANTINE_SECONDS: u32 = 30;

impl Default for RateLimits {
    fn default() -> RateLimits {
        RateLimits {
            default: 0,
            per_request: BTreeMap::new(),
            quarantine: Quarantine::from_option(DEFAULT_QUARANTINE_SECONDS),
        }
    }
}

impl RateLimits {
    /// The limit that applies to a request name (0 = unlimited).
    pub fn limit_for(&self, request: &str) -> u32 {
        self.per_request
            .get(request)
            .copied()
            .unwrap_or(self.default)
    }
}

/// A set of user-data keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySet {
    /// Every key (`*`).
    All,
    /// These keys exactly (case-sensitive).
    Keys(BTreeSet<String>),
}

impl KeySet {
    /// Whether the set allows `key`.
    pub fn allows(&self, key: &str) -> bool {
        match self {
            KeySet::All => true,
            KeySet::Keys(k) => k.contains(key),
        }
    }
}

/// Which user-data keys may be read and written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserDataPolicy {
    /// Keys left in the `userData` of interactions returned or notified.
    pub read: KeySet,
    /// Keys `setUserData` / `deleteUserData` may touch.
    pub write: KeySet,
}

impl Default for UserDataPolicy {
    fn default() -> UserDataPolicy {
        UserDataPolicy {
            read: KeySet::All,
            write: KeySet::All,
        }
    }
}

/// A web extension view (a section named by `interaction.web-content` or
/// `workspace.web-content`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebExtension {
    /// The section name.
    pub section: String,
    /// The `url` as written.
    pub url: Option<String>,
    /// The url's canonical origin, when it can be known.
    pub origin: Option<String>,
    /// Whether that origin is accepted by the origin list.
    pub accepted: bool,
}

/// Where a policy came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceInfo {
    /// The file name.
    pub name: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

/// What of a policy runs in shadow: decided, counted and logged as when
/// enforcing, but nothing refused, limited, ignored or filtered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shadow {
    /// The whole policy.
    pub all: bool,
    /// The entries, by origin (`*` for the any-origin entry).
    pub entries: BTreeSet<String>,
}

impl Shadow {
    /// Nothing in shadow.
    pub fn is_empty(&self) -> bool {
        !self.all && self.entries.is_empty()
    }
}

/// The Service Client API security policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Sorted, and indexed by a perfect hash under a random seed, so a
    /// presented origin (which comes from outside) costs one probe and
    /// one comparison, whatever it is.
    origins: OriginTable,
    any_origin: Option<Grant>,
    rate_limits: RateLimits,
    user_data: UserDataPolicy,
    web_extensions: Vec<WebExtension>,
    shadow: Shadow,
    /// Whether a rate limit names a request outside the catalog (the
    /// metrics label such a name by itself).
    limits_uncataloged: bool,
    source: SourceInfo,
}

impl PartialEq for Policy {
    fn eq(&self, other: &Policy) -> bool {
        self.same_rules(other) && self.source == other.source
    }
}

impl Eq for Policy {}

impl Policy {
    /// Whether two policies say the same thing, wherever they came from
    /// (everything but the source is compared, entry lines included).
    pub fn same_rules(&self, other: &Policy) -> bool {
        self.origins == other.origins
            && self.any_origin == other.any_origin
            && self.rate_limits == other.rate_limits
            && self.user_data == other.user_data
            && self.web_extensions == other.web_extensions
            && self.shadow == other.shadow
    }

    #[doc(hidden)] // the compiler's, not a broker's
    /// A policy from its parts; origins are sorted (repeats merged), to
    /// be indexed by [`Policy::index_origins`].
    pub fn new(
        origins: OriginList,
        any_origin: Option<Grant>,
        rate_limits: RateLimits,
        user_data: UserDataPolicy,
        web_extensions: Vec<WebExtension>,
        source: SourceInfo,
    ) -> Policy {
        let limits_uncataloged = rate_limits
            .per_request
            .keys()
            .any(|k| crate::catalog::lookup(k).is_none());
        let origins = OriginTable::new(origins, RandomKeys::new().hash_one(0u64));
        Policy {
            origins,
            any_origin,
            rate_limits,
            user_data,
            web_extensions,
            shadow: Shadow::default(),
            limits_uncataloged,
            source,
        }
    }

    #[doc(hidden)] // the compiler's, not a broker's
    /// The same policy with these web extensions (they are checked against
    /// the origins, so they are added last).
    pub fn with_web_extensions(mut self, web_extensions: Vec<WebExtension>) -> Policy {
        self.web_extensions = web_extensions;
        self
    }

    /// The same policy with `shadow` in shadow mode. An entry named that
    /// the policy does not have (an origin it does not list, `*` without
    /// an any-origin entry) is refused with its name.
    pub fn with_shadow(mut self, shadow: Shadow) -> Result<Policy, String> {
        if let Some(unknown) = shadow.entries.iter().find(|e| {
            if e.as_str() == "*" {
                self.any_origin.is_none()
            } else {
                self.origin(e).is_none()
            }
        }) {
            return Err(unknown.to_string());
        }
        self.shadow = shadow;
        Ok(self)
    }

    /// Whether a per-request rate limit names a request outside the
    /// catalog.
    pub(crate) fn limits_uncataloged(&self) -> bool {
        self.limits_uncataloged
    }

    /// What runs in shadow.
    pub fn shadow(&self) -> &Shadow {
        &self.shadow
    }

    /// Whether a decision by `entry` (none: no entry accepted the origin)
    /// is in shadow: the whole policy is, or that entry is.
    pub fn shadows(&self, entry: Option<crate::decision::Entry<'_>>) -> bool {
        self.shadow.all
            || entry.is_some_and(|e| {
                !self.shadow.entries.is_empty() && self.shadow.entries.contains(e.origin)
            })
    }

    /// Builds the index of the origins (a perfect hash: a lookup is one
    /// probe and one comparison). Until then a lookup is a binary search of
    /// the sorted origins, which is what a compiler or a tool that looks up
    /// a few origins wants; [`CompiledPolicy::load`] and a [`PolicyHandle`]
    /// (its policy, each one swapped in, its candidate) call it before a
    /// policy serves. Building takes a fraction of a second for a million
    /// origins, and happens once per policy (a clone made after carries it).
    ///
    /// [`CompiledPolicy::load`]: crate::CompiledPolicy::load
    /// [`PolicyHandle`]: crate::PolicyHandle
    pub fn index_origins(&self) {
        self.origins.index();
    }

    /// The accepted origins, sorted.
    pub fn origins(&self) -> Origins<'_> {
        self.origins.iter()
    }

    /// The rule of an exact canonical origin.
    pub fn origin(&self, origin: &str) -> Option<OriginRule<'_>> {
        self.origins.find(origin)
    }

    /// The `*` entry, if any.
    pub fn any_origin(&self) -> Option<&Grant> {
        self.any_origin.as_ref()
    }

    /// The grant that applies to a canonical origin: its own entry, else
    /// the `*` entry (an exact entry takes precedence over `*`).
    pub fn grant_for(&self, origin: &str) -> Option<&Grant> {
        self.origin(origin)
            .map(|o| o.grant)
            .or(self.any_origin.as_ref())
    }

    /// Whether any entry (exact or `*`) grants a request name.
    pub fn anyone_may_call(&self, request: &str) -> bool {
        self.origins()
            .map(|o| o.grant)
            .chain(self.any_origin.iter())
            .any(|g| g.permits(request))
    }

    /// The rate limits.
    pub fn rate_limits(&self) -> &RateLimits {
        &self.rate_limits
    }

    /// The user-data key sets.
    pub fn user_data(&self) -> &UserDataPolicy {
        &self.user_data
    }

    /// The web extensions.
    pub fn web_extensions(&self) -> &[WebExtension] {
        &self.web_extensions
    }

    /// Where the policy came from.
    pub fn source(&self) -> &SourceInfo {
        &self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_only_needs_its_name() {
        let g = Grant::new([Filter::All], 1);
        assert!(g.permits("agent.get"));
        assert!(!g.permits("auth.getJwtToken"));
        assert!(g.permits("future.request"));
        let g = Grant::new([Filter::Namespace("auth".into())], 1);
        assert!(!g.permits("auth.getJwtToken"));
        let g = Grant::new([Filter::All, Filter::Request("auth.getJwtToken".into())], 1);
        assert!(g.permits("auth.getJwtToken"));
    }

    #[test]
    fn namespace_patterns_match_only_their_namespace() {
        let g = Grant::new([Filter::Namespace("agent".into())], 1);
        assert!(g.permits("agent.get"));
        assert!(g.permits("agent.newThing"));
        assert!(!g.permits("agentx.get"));
        assert!(!g.permits("voice.dial"));
        assert_eq!(
            g.grants().names(),
            vec![
                "agent.get",
                "agent.getState",
                "agent.getStateList",
                "agent.setState"
            ]
        );
    }

    #[test]
    fn normal_form_drops_covered_filters() {
        let a = Grant::new([Filter::All, Filter::Request("agent.get".into())], 1);
        let b = Grant::new([Filter::All], 2);
        assert_eq!(a.normal_form(), b.normal_form());
        let c = Grant::new(
            [
                Filter::Namespace("agent".into()),
                Filter::Request("agent.get".into()),
            ],
            1,
        );
        assert_eq!(c.normal_form().len(), 1);
    }

    proptest::proptest! {
        /// The union answers as merging each grant into the last and
        /// comparing normal forms would (explicit-only, covered and
        /// uncovered requests, namespaces and `*` mixed).
        #[test]
        fn a_grant_union_is_the_grants_merged(
            grants in proptest::collection::vec(
                proptest::collection::vec(0usize..10, 0..5), 1..6)
        ) {
            let pick = |i: usize| match i {
                0 => Filter::All,
                1 => Filter::Namespace("agent".into()),
                2 => Filter::Namespace("auth".into()),
                3 => Filter::Namespace("other".into()),
                4 => Filter::Request("agent.get".into()),
                5 => Filter::Request("auth.getJwtToken".into()),
                6 => Filter::Request("other.thing".into()),
                7 => Filter::Request("voice.dial".into()),
                8 => Filter::Request("agent.setState".into()),
                _ => Filter::Request("nodot".into()),
            };
            let grants: Vec<Grant> = grants
                .iter()
                .enumerate()
                .map(|(line, g)| Grant::new(g.iter().map(|&i| pick(i)), line + 1))
                .collect();
            let (first, rest) = grants.split_first().unwrap();
            let mut union = GrantUnion::new(first);
            let mut merged = first.allow().to_vec();
            for g in rest {
                let reference = Grant::new(merged.iter().cloned(), 1);
                proptest::prop_assert_eq!(
                    union.same_as(g),
                    reference.normal_form() == g.normal_form()
                );
                union.add(g);
                merged.extend(g.allow().iter().cloned());
            }
            let got = union.into_grant();
            let want = Grant::new(merged, 1);
            proptest::prop_assert_eq!(got.allow(), want.allow());
            proptest::prop_assert_eq!(got.grants(), want.grants());
        }
    }

    #[test]
    fn duplicate_origins_merge() {
        let mut origins = OriginList::new();
        origins.push(
            "https://a",
            Grant::new([Filter::Request("agent.get".into())], 1),
        );
        origins.push(
            "https://a",
            Grant::new([Filter::Request("voice.dial".into())], 2),
        );
        let p = Policy::new(
            origins,
            None,
            RateLimits::default(),
            UserDataPolicy::default(),
            vec![],
            SourceInfo::default(),
        );
        assert_eq!(p.origins().len(), 1);
        assert_eq!(
            p.origin("https://a").unwrap().grant.grants().names(),
            vec!["agent.get", "voice.dial"]
        );
    }
}
