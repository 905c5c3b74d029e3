//! Deterministic generator of synthetic exports and request streams, for the
//! benchmarks and for anyone reproducing them.
//!
//! `cargo run --release --example gen` prints them (see that example).
//!
//! An export has `ORIGINS` origins, per-request rate limits and user-data
//! key lists. Three quarters of the origins have filter lists, as in real
//! exports mostly one of a few dozen applications' lists; `--distinct`
//! gives every origin a random list of its own instead (the costliest case
//! for the compiler). A request stream mixes allowed
//! requests, unknown origins, requests the filters refuse and names outside
//! the catalog, one second apart per eight requests, over 64 clients.

use std::fmt::Write as _;

/// A small xorshift generator: the same seed gives the same output on
/// every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// An element of a non-empty list.
    pub fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        let i = self.below(list.len());
        list.get(i).copied().unwrap_or_default()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

const FILTERS: &[&str] = &[
    "agent.*",
    "voice.dial",
    "voice.*",
    "interaction.*",
    "interaction.getInteractions",
    "interaction.setUserData",
    "system.popupToast",
    "media.getMediaList",
    "email.create",
    "auth.getJwtToken",
];

const REQUESTS: &[&str] = &[
    "agent.get",
    "agent.getState",
    "voice.dial",
    "voice.hangUp",
    "interaction.getInteractions",
    "interaction.getByInteractionId",
    "system.popupToast",
    "email.create",
    "auth.getJwtToken",
    "media.setState",
];

/// The origin of index `i`.
pub fn origin(i: usize) -> String {
    format!("https://app{i}.tenant{}.example.com", i % 97)
}

/// A filter list of one to three random filters, without repeats.
fn random_filters(rng: &mut Rng) -> String {
    let k = 1 + rng.below(3);
    let mut unique: Vec<&str> = Vec::new();
    for _ in 0..k {
        let f = rng.pick(FILTERS);
        if !unique.contains(&f) {
            unique.push(f);
        }
    }
    unique.join(", ")
}

/// How the generator chooses filter lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filters {
    /// As real exports do: each origin is an instance of one of a few dozen
    /// applications and gets that application's list (a quarter get none,
    /// one in twenty a list of its own).
    Profiles,
    /// Every origin gets a random list of its own: the costliest case for
    /// the compiler, which shares what repeated lists grant.
    Distinct,
}

/// An export with `n` origins.
pub fn export(n: usize, seed: u64) -> String {
    export_with(n, seed, Filters::Profiles)
}

/// An export with `n` origins and filter lists chosen as `filters` says.
pub fn export_with(n: usize, seed: u64, filters: Filters) -> String {
    let mut rng = Rng::new(seed);
    let profiles: Vec<String> = (0..32).map(|_| random_filters(&mut rng)).collect();
    let mut entries = Vec::with_capacity(n);
    for i in 0..n {
        let o = origin(i);
        let list = match (filters, rng.below(20)) {
            (_, 0..=4) => None,
            (Filters::Distinct, _) | (Filters::Profiles, 5) => Some(random_filters(&mut rng)),
            (Filters::Profiles, _) => profiles.get(rng.below(profiles.len())).cloned(),
        };
        entries.push(match list {
            None => o,
            Some(l) => format!("{o} ({l})"),
        });
    }
    let mut s = String::from(
        "; synthetic WWEWS Cluster export (examples/gen.rs)\n[interaction-workspace]\n",
    );
    let _ = writeln!(
        s,
        "service-client-api.accepted-web-content-origins={}",
        entries.join(", ")
    );
    s.push_str("service-client-api.rate-limit=120\n");
    for r in [
        "voice.dial",
        "email.create",
        "interaction.setUserData",
        "auth.getJwtToken",
    ] {
        let _ = writeln!(
            s,
            "service-client-api.rate-limit.{r}={}",
            10 + rng.below(50)
        );
    }
    s.push_str("service-client-api.rate-limit-quarantine-delay=60\n");
    let keys: Vec<String> = (0..50).map(|k| format!("Key{k}")).collect();
    let _ = writeln!(
        s,
        "service-client-api.user-data.read-allowed={}",
        keys.join(", ")
    );
    let _ = writeln!(
        s,
        "service-client-api.user-data.write-allowed={}",
        keys.iter().take(20).cloned().collect::<Vec<_>>().join(", ")
    );
    s
}

/// `count` requests against an export of `origins` origins, as JSON Lines.
pub fn requests(count: usize, origins: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed ^ 0x5151);
    let mut s = String::with_capacity(count * 110);
    let start = 1_795_168_800u64; // 2026-11-20T10:00:00Z
    for i in 0..count {
        let at = start + (i / 8) as u64;
        let origin = match rng.below(10) {
            0 => format!("https://unknown{}.example.net", rng.below(1000)),
            1 => format!("HTTPS://APP{}.tenant1.example.com", rng.below(origins)),
            _ => origin(rng.below(origins.max(1))),
        };
        let request = if rng.below(20) == 0 {
            "newns.request"
        } else {
            rng.pick(REQUESTS)
        };
        let _ = writeln!(
            s,
            "{{\"at\": {at}, \"origin\": \"{origin}\", \"request\": \"{request}\", \"client\": \"agent-{}\"}}",
            rng.below(64)
        );
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    #[test]
    fn exports_are_deterministic_and_clean() {
        let a = super::export(300, 7);
        assert_eq!(a, super::export(300, 7));
        let c = scapi::compile("gen.cfg", a.as_bytes(), &scapi::Options::default());
        assert!(
            !c.has_errors(),
            "{:?}",
            c.diagnostics
                .iter()
                .map(|d| &d.message)
                .take(3)
                .collect::<Vec<_>>()
        );
        assert_eq!(c.policy.unwrap().origins().len(), 300);
        let r = super::requests(100, 300, 7);
        let items =
            scapi_tools::eval::parse_items(&r, scapi_tools::eval::RequestsFormat::JsonLines)
                .unwrap();
        assert_eq!(items.len(), 100);
    }
}
