//! The Service Client API request catalog, as data.
//!
//! Each request has its name, namespace, whether the vendor documentation
//! lists it as a filter keyword for `accepted-web-content-origins`, whether it
//! must be granted explicitly (`auth.getJwtToken`), and a one-line
//! description. The catalog also knows the obsolete names older
//! documentation used and the client-side helpers that look like requests
//! but are not. It answers "is this a request", "does this have the shape
//! of a request name" and "is this only a case mismatch".
//!
//! The runtime matches patterns, not the catalog: newer WWE releases add
//! requests, so an unknown name is a warning, never a reason to deny.

/// One catalog request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// Full name, `namespace.method`.
    pub name: &'static str,
    /// The namespace.
    pub namespace: &'static str,
    /// Listed by the vendor as a filter keyword.
    pub filter_keyword: bool,
    /// Granted only when named explicitly (neither `*` nor `ns.*` grant it).
    pub explicit_only: bool,
    /// What it does.
    pub description: &'static str,
}

impl Request {
    /// The method part of the name.
    pub fn method(&self) -> &'static str {
        self.name
            .split_once('.')
            .map(|(_, m)| m)
            .unwrap_or(self.name)
    }
}

const fn req(
    name: &'static str,
    namespace: &'static str,
    filter_keyword: bool,
    description: &'static str,
) -> Request {
    Request {
        name,
        namespace,
        filter_keyword,
        explicit_only: false,
        description,
    }
}

/// Every known request, sorted by name.
pub const REQUESTS: &[Request] = &[
    req("agent.get", "agent", true, "Returns the current agent."),
    req(
        "agent.getState",
        "agent",
        true,
        "Returns the agent's current state.",
    ),
    req(
        "agent.getStateList",
        "agent",
        true,
        "Returns the states the agent can switch to.",
    ),
    req(
        "agent.setState",
        "agent",
        true,
        "Changes the agent's state.",
    ),
    Request {
        name: "auth.getJwtToken",
        namespace: "auth",
        filter_keyword: false,
        explicit_only: true,
        description: "Returns a JSON Web Token for the agent's session.",
    },
    req(
        "configuration.getContextualOption",
        "configuration",
        false,
        "Returns an option value in the context of an object.",
    ),
    req(
        "configuration.getOption",
        "configuration",
        false,
        "Returns a configuration option value.",
    ),
    req("email.create", "email", true, "Creates an outbound email."),
    req(
        "interaction.accept",
        "interaction",
        false,
        "Accepts an invited interaction.",
    ),
    req(
        "interaction.blockMarkdone",
        "interaction",
        false,
        "Prevents the agent from marking an interaction done.",
    ),
    req(
        "interaction.completeConference",
        "interaction",
        true,
        "Completes a two-step conference.",
    ),
    req(
        "interaction.completeTransfer",
        "interaction",
        true,
        "Completes a two-step transfer.",
    ),
    req(
        "interaction.consult",
        "interaction",
        true,
        "Starts a consultation.",
    ),
    req(
        "interaction.deleteUserData",
        "interaction",
        true,
        "Deletes attached-data keys of an interaction.",
    ),
    req(
        "interaction.getByBundleId",
        "interaction",
        true,
        "Returns the interactions of a bundle.",
    ),
    req(
        "interaction.getByCaseId",
        "interaction",
        true,
        "Returns the interactions of a case.",
    ),
    req(
        "interaction.getByInteractionId",
        "interaction",
        true,
        "Returns one interaction.",
    ),
    req(
        "interaction.getInteractions",
        "interaction",
        true,
        "Returns the agent's interactions.",
    ),
    req(
        "interaction.markdone",
        "interaction",
        false,
        "Marks an interaction done.",
    ),
    req(
        "interaction.reject",
        "interaction",
        false,
        "Rejects an invited interaction.",
    ),
    req(
        "interaction.selectCaseByCaseId",
        "interaction",
        true,
        "Selects the case of an interaction in the agent's view.",
    ),
    req(
        "interaction.setUserData",
        "interaction",
        true,
        "Writes attached-data keys of an interaction.",
    ),
    req(
        "interaction.singleStepConference",
        "interaction",
        true,
        "Starts a single-step conference.",
    ),
    req(
        "interaction.singleStepTransfer",
        "interaction",
        true,
        "Performs a single-step transfer.",
    ),
    req(
        "interaction.unblockMarkdone",
        "interaction",
        false,
        "Allows marking an interaction done again.",
    ),
    req(
        "media.getMediaByName",
        "media",
        false,
        "Returns one media channel.",
    ),
    req(
        "media.getMediaList",
        "media",
        true,
        "Returns the agent's media channels.",
    ),
    req(
        "media.setState",
        "media",
        true,
        "Changes the agent's state on a media channel.",
    ),
    req(
        "messenger.broadcastMessage",
        "messenger",
        false,
        "Sends a message to other frames on a channel.",
    ),
    req(
        "outbound.callPreviewRecord",
        "outbound",
        false,
        "Dials a preview record.",
    ),
    req(
        "outbound.cancelPreviewRecord",
        "outbound",
        false,
        "Cancels a preview record.",
    ),
    req(
        "outbound.getCampaigns",
        "outbound",
        false,
        "Returns the agent's outbound campaigns.",
    ),
    req(
        "outbound.getPreviewRecord",
        "outbound",
        false,
        "Requests a preview record.",
    ),
    req(
        "outbound.rejectPreviewRecord",
        "outbound",
        false,
        "Rejects a preview record.",
    ),
    req(
        "sipEndpoint.isMicrophoneMute",
        "sipEndpoint",
        false,
        "Tells whether the microphone is muted.",
    ),
    req(
        "sipEndpoint.isSpeakerMute",
        "sipEndpoint",
        false,
        "Tells whether the speaker is muted.",
    ),
    req(
        "sipEndpoint.muteMicrophone",
        "sipEndpoint",
        false,
        "Mutes the microphone.",
    ),
    req(
        "sipEndpoint.muteSpeaker",
        "sipEndpoint",
        false,
        "Mutes the speaker.",
    ),
    req(
        "sipEndpoint.unmuteMicrophone",
        "sipEndpoint",
        false,
        "Unmutes the microphone.",
    ),
    req(
        "sipEndpoint.unmuteSpeaker",
        "sipEndpoint",
        false,
        "Unmutes the speaker.",
    ),
    req("system.closeToast", "system", true, "Closes a toast."),
    req(
        "system.getAllowedServices",
        "system",
        false,
        "Returns the requests this frame may call.",
    ),
    req(
        "system.popupToast",
        "system",
        true,
        "Shows a toast in the agent desktop.",
    ),
    req(
        "system.triggerActivity",
        "system",
        false,
        "Tells WWE the agent is active.",
    ),
    req("system.updateToast", "system", true, "Updates a toast."),
    req("voice.answer", "voice", false, "Answers a call."),
    req("voice.dial", "voice", true, "Dials a number."),
    req(
        "voice.dialEx",
        "voice",
        true,
        "Dials a number with user data and extensions.",
    ),
    req("voice.hangUp", "voice", false, "Hangs up a call."),
    req("voice.hold", "voice", false, "Holds a call."),
    req(
        "voice.pauseCallRecording",
        "voice",
        true,
        "Pauses call recording.",
    ),
    req("voice.resume", "voice", false, "Resumes a held call."),
    req(
        "voice.resumeCallRecording",
        "voice",
        true,
        "Resumes call recording.",
    ),
    req(
        "voice.startCallRecording",
        "voice",
        true,
        "Starts call recording.",
    ),
    req(
        "voice.stopCallRecording",
        "voice",
        true,
        "Stops call recording.",
    ),
];

/// Every namespace, sorted.
pub const NAMESPACES: &[&str] = &[
    "agent",
    "auth",
    "configuration",
    "email",
    "interaction",
    "media",
    "messenger",
    "outbound",
    "sipEndpoint",
    "system",
    "voice",
];

/// Names older documentation used, with the request that replaced them.
pub const OBSOLETE: &[(&str, &str)] = &[
    ("interaction.attachUserData", "interaction.setUserData"),
    ("interaction.updateUserData", "interaction.setUserData"),
];

/// Client-side helpers of the sample library: they look like requests but are
/// answered in the iframe and never reach WWE.
pub const CLIENT_HELPERS: &[&str] = &[
    "system.isFrameFollowing",
    "system.isFrameLeading",
    "system.isFrameLeadingOrNegotiating",
    "system.isFrameNegotiating",
    "system.isLastActiveFrame",
];

/// The index of a request in [`REQUESTS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(u8);

impl RequestId {
    /// The position in [`REQUESTS`].
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The request.
    pub fn get(self) -> &'static Request {
        // Ids are only made from positions in REQUESTS.
        REQUESTS.get(self.index()).unwrap_or(&PLACEHOLDER)
    }

    /// The request's name.
    pub fn name(self) -> &'static str {
        self.get().name
    }
}

const PLACEHOLDER: Request = req("", "", false, "");

const _: () = assert!(REQUESTS.len() <= 128, "RequestSet is a u128");

/// How many requests the catalog has.
pub const SIZE: usize = REQUESTS.len();

/// The id of the request named exactly `name`: one hash of the name, one
/// slot of a perfect hash table, one comparison. The table is computed at
/// compile time, so no input can make two names collide.
pub fn lookup(name: &str) -> Option<RequestId> {
    let slot = perfect::slot_of(perfect::SEED, name.as_bytes());
    let id = perfect::TABLE.get(slot).copied()?.checked_sub(1)?;
    let r = REQUESTS.get(usize::from(id))?;
    (r.name == name).then_some(RequestId(id))
}

/// A collision-free hash table over the catalog's names, built by the
/// compiler: it tries seeds until every name has a slot of its own (a
/// compile error if none does).
mod perfect {
    use super::REQUESTS;

    /// Slots: a power of two, about ten per name, so a seed is found fast.
    const SLOTS: usize = 512;

    /// Up to eight bytes from `start`, little-endian.
    // Positions are checked against the length.
    #[allow(clippy::indexing_slicing)]
    const fn word(bytes: &[u8], start: usize) -> u64 {
        let mut w = 0u64;
        let mut i = 0;
        while i < 8 && start + i < bytes.len() {
            w |= (bytes[start + i] as u64) << (8 * i);
            i += 1;
        }
        w
    }

    /// The slot of `bytes` under `seed`: the length and the first, middle
    /// and last eight bytes (`interaction.setUserData` and `…getUserData`
    /// differ only in the middle), mixed by multiplication — a few cycles,
    /// where a byte-by-byte hash costs one multiplication per byte.
    pub(super) const fn slot(seed: u64, bytes: &[u8]) -> usize {
        let len = bytes.len();
        let first = word(bytes, 0);
        let middle = word(bytes, (len / 2).saturating_sub(4));
        let last = word(bytes, len.saturating_sub(8));
        mixed(seed, len, first, middle, last)
    }

    /// [`slot`] at run time: a name of eight bytes or more is read as
    /// three unaligned words (no loop over bytes).
    #[inline]
    pub(super) fn slot_of(seed: u64, bytes: &[u8]) -> usize {
        let len = bytes.len();
        let at = |start: usize| {
            bytes
                .get(start..start.checked_add(8)?)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_le_bytes)
        };
        match (
            at(0),
            at((len / 2).saturating_sub(4)),
            at(len.saturating_sub(8)),
        ) {
            (Some(first), Some(middle), Some(last)) => mixed(seed, len, first, middle, last),
            _ => slot(seed, bytes),
        }
    }

    const fn mixed(seed: u64, len: usize, first: u64, middle: u64, last: u64) -> usize {
        let h = first.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ (middle ^ (len as u64)).wrapping_mul(0xff51_afd7_ed55_8ccd)
            ^ last.wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
        // The seed goes in before a last multiplication, so each seed
        // scatters the names anew.
        let h = (h ^ seed).wrapping_mul(0x2545_f491_4f6c_dd1d);
        ((h >> 32) as usize) & (SLOTS - 1)
    }

    /// Each slot holds a request's position plus one (0: empty). Evaluated
    /// by the compiler only: a catalog no seed separates fails the build.
    #[allow(clippy::indexing_slicing, clippy::panic)]
    const fn build() -> (u64, [u8; SLOTS]) {
        let mut seed = 0;
        while seed < 100_000 {
            let mut table = [0u8; SLOTS];
            let mut i = 0;
            let mut ok = true;
            while i < REQUESTS.len() {
                let s = slot(seed, REQUESTS[i].name.as_bytes());
                if table[s] != 0 {
                    ok = false;
                    break;
                }
                table[s] = (i + 1) as u8;
                i += 1;
            }
            if ok {
                return (seed, table);
            }
            seed += 1;
        }
        panic!("no seed separates the catalog's names; raise SLOTS");
    }

    const BUILT: (u64, [u8; SLOTS]) = build();
    pub(super) const SEED: u64 = BUILT.0;
    pub(super) static TABLE: [u8; SLOTS] = BUILT.1;
}

/// Every request id, in catalog order.
pub fn all() -> impl Iterator<Item = RequestId> {
    (0..REQUESTS.len())
        .filter_map(|i| u8::try_from(i).ok())
        .map(RequestId)
}

/// The request whose name equals `name` ignoring ASCII case.
pub fn lookup_ignore_case(name: &str) -> Option<RequestId> {
    all().find(|id| id.name().eq_ignore_ascii_case(name))
}

/// Whether `ns` is a catalog namespace.
pub fn is_namespace(ns: &str) -> bool {
    NAMESPACES.binary_search(&ns).is_ok()
}

/// The namespace equal to `ns` ignoring ASCII case.
pub fn namespace_ignore_case(ns: &str) -> Option<&'static str> {
    NAMESPACES
        .iter()
        .copied()
        .find(|n| n.eq_ignore_ascii_case(ns))
}

/// The ids of a namespace's requests.
pub fn in_namespace(ns: &str) -> impl Iterator<Item = RequestId> + '_ {
    all().filter(move |id| id.get().namespace == ns)
}

/// The obsolete name's replacement.
pub fn replacement_of(name: &str) -> Option<&'static str> {
    OBSOLETE
        .iter()
        .find(|(old, _)| *old == name)
        .map(|(_, new)| *new)
}

/// Whether `name` is a client-side helper.
pub fn is_client_helper(name: &str) -> bool {
    CLIENT_HELPERS.contains(&name)
}

/// `ident := (ALPHA | "_") (ALPHA | DIGIT | "_")*`
fn is_ident(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Whether `name` has the shape of a request name, `namespace.method`
/// (ASCII letters, digits and `_`, neither part starting with a digit);
/// whether it is in the catalog is [`lookup`]'s question.
pub(crate) fn is_request_name(name: &str) -> bool {
    name.split_once('.')
        .is_some_and(|(ns, method)| is_ident(ns) && is_ident(method))
}

/// The namespace of a pattern `namespace.*`, if `text` is one.
pub fn namespace_pattern(text: &str) -> Option<&str> {
    text.strip_suffix(".*").filter(|ns| is_ident(ns))
}

/// A set of catalog requests (one bit per request).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RequestSet(u128);

/// What `*` and each `namespace.*` grant, computed by the compiler: every
/// request (of the namespace) but the explicit-only ones.
mod grants {
    use super::{NAMESPACES, REQUESTS};

    const fn same(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            // Positions below the common length.
            #[allow(clippy::indexing_slicing)]
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }

    const fn set(ns: Option<&str>) -> u128 {
        let mut bits = 0u128;
        let mut i = 0;
        while i < REQUESTS.len() {
            // Positions below the catalog's length.
            #[allow(clippy::indexing_slicing)]
            let r = &REQUESTS[i];
            let in_scope = match ns {
                Some(ns) => same(r.namespace, ns),
                None => true,
            };
            if in_scope && !r.explicit_only {
                bits |= 1 << i;
            }
            i += 1;
        }
        bits
    }

    const fn by_namespace() -> [u128; NAMESPACES.len()] {
        let mut sets = [0u128; NAMESPACES.len()];
        let mut i = 0;
        while i < NAMESPACES.len() {
            // Positions below the list's length.
            #[allow(clippy::indexing_slicing)]
            {
                sets[i] = set(Some(NAMESPACES[i]));
            }
            i += 1;
        }
        sets
    }

    pub(super) const ALL: u128 = set(None);
    pub(super) static NAMESPACE: [u128; NAMESPACES.len()] = by_namespace();
}

/// What `*` grants: every request but the explicit-only ones.
pub(crate) fn all_grants() -> RequestSet {
    RequestSet(grants::ALL)
}

/// What `ns.*` grants (empty for a namespace outside the catalog).
pub(crate) fn namespace_grants(ns: &str) -> RequestSet {
    NAMESPACES
        .binary_search(&ns)
        .ok()
        .and_then(|i| grants::NAMESPACE.get(i))
        .map_or(RequestSet::EMPTY, |&bits| RequestSet(bits))
}

impl RequestSet {
    /// No request.
    pub const EMPTY: RequestSet = RequestSet(0);

    /// Adds a request.
    pub fn insert(&mut self, id: RequestId) {
        self.0 |= 1u128 << id.index();
    }

    /// Whether the set holds `id`.
    #[inline]
    pub fn contains(self, id: RequestId) -> bool {
        self.0 & (1u128 << id.index()) != 0
    }

    /// Both sets together.
    pub fn union(self, other: RequestSet) -> RequestSet {
        RequestSet(self.0 | other.0)
    }

    /// What `self` has and `other` does not.
    pub fn difference(self, other: RequestSet) -> RequestSet {
        RequestSet(self.0 & !other.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The ids, in catalog (= name) order.
    pub fn iter(self) -> impl Iterator<Item = RequestId> {
        all().filter(move |id| self.contains(*id))
    }

    /// The names, sorted.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(RequestId::name).collect()
    }
}

impl std::fmt::Debug for RequestSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

impl FromIterator<RequestId> for RequestSet {
    fn from_iter<T: IntoIterator<Item = RequestId>>(iter: T) -> RequestSet {
        let mut s = RequestSet::EMPTY;
        for id in iter {
            s.insert(id);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The run-time slot is the compiler's, for any bytes.
        #[test]
        fn the_run_time_slot_is_the_compiled_one(bytes in proptest::collection::vec(0u8..=255, 0..40)) {
            proptest::prop_assert_eq!(
                perfect::slot_of(perfect::SEED, &bytes),
                perfect::slot(perfect::SEED, &bytes)
            );
        }
    }

    #[test]
    fn every_name_is_found_in_its_slot() {
        for id in all() {
            assert_eq!(lookup(id.name()), Some(id));
            let name = id.name().as_bytes();
            assert_eq!(
                perfect::slot_of(perfect::SEED, name),
                perfect::slot(perfect::SEED, name)
            );
        }
    }

    #[test]
    fn pattern_grants_are_what_the_catalog_says() {
        let expand = |ns: Option<&str>| -> RequestSet {
            all()
                .filter(|id| ns.is_none_or(|ns| id.get().namespace == ns))
                .filter(|id| !id.get().explicit_only)
                .collect()
        };
        assert_eq!(all_grants(), expand(None));
        for ns in NAMESPACES {
            assert_eq!(namespace_grants(ns), expand(Some(ns)), "{ns}");
            assert!(!namespace_grants(ns).is_empty() || *ns == "auth", "{ns}");
        }
        assert_eq!(namespace_grants("newns"), RequestSet::EMPTY);
    }

    #[test]
    fn the_perfect_hash_finds_exactly_the_catalog() {
        for (i, r) in REQUESTS.iter().enumerate() {
            assert_eq!(lookup(r.name).map(RequestId::index), Some(i), "{}", r.name);
            // Every one-character change and truncation misses.
            for k in 0..r.name.len() {
                let mut near = r.name.as_bytes().to_vec();
                near[k] ^= 0x20;
                let near = String::from_utf8_lossy(&near).into_owned();
                let by_search = REQUESTS.iter().position(|x| x.name == near);
                assert_eq!(lookup(&near).map(RequestId::index), by_search, "{near}");
                let prefix = &r.name[..k];
                let by_search = REQUESTS.iter().position(|x| x.name == prefix);
                assert_eq!(lookup(prefix).map(RequestId::index), by_search, "{prefix}");
            }
        }
        assert_eq!(lookup(""), None);
        assert_eq!(lookup(&"x".repeat(10_000)), None);
    }

    #[test]
    fn catalog_is_sorted_and_consistent() {
        assert!(REQUESTS.windows(2).all(|w| w[0].name < w[1].name));
        assert!(NAMESPACES.windows(2).all(|w| w[0] < w[1]));
        for r in REQUESTS {
            assert_eq!(r.name.split_once('.').unwrap().0, r.namespace);
            assert!(is_namespace(r.namespace));
        }
        assert_eq!(REQUESTS.iter().filter(|r| r.explicit_only).count(), 1);
    }

    #[test]
    fn lookups_and_name_shapes() {
        assert_eq!(lookup("voice.dial").unwrap().name(), "voice.dial");
        assert!(lookup("voice.Dial").is_none());
        assert_eq!(
            lookup_ignore_case("agent.getstate").unwrap().name(),
            "agent.getState"
        );
        for good in ["voice.dial", "_x.y1", "a.b"] {
            assert!(is_request_name(good), "{good}");
        }
        for bad in [
            "voice", "voice.", ".dial", "1a.b", "a.b.c", "a.*", "a-b.c", "a.b(x)", "é.b", "",
        ] {
            assert!(!is_request_name(bad), "{bad}");
        }
        assert_eq!(namespace_pattern("agent.*"), Some("agent"));
        assert_eq!(namespace_pattern("*.*"), None);
        assert_eq!(namespace_pattern("agent.get"), None);
    }
}
