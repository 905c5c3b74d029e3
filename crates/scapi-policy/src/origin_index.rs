//! A policy's origins and their index: a perfect hash, built before a
//! policy serves, under a random seed. A lookup is one hash of the presented
//! origin, one read of its bucket's pilot, one slot, one comparison of a
//! 32-bit fingerprint and, when it matches, one comparison of the whole
//! origin: the same work for every input, so no presented origin can make
//! a lookup slower (there are no chains to flood), and the hash can be a
//! fast one ([`foldhash`]) rather than a keyed SipHash.
//!
//! The construction is PTHash's (Pibiri and Trani, SIGIR 2021): keys are
//! spread over buckets, and the buckets, largest first, each search for a
//! pilot that sends all their keys to free slots; a seed under which two
//! origins hash alike, or a bucket finds no pilot, is replaced by another.
//!
//! The origins' text lives in one buffer ([`OriginList`]), not one
//! allocation per origin, and a slot says where its origin's bytes are and
//! holds the origin's grant: after the slot, the comparison reads those
//! bytes and the grant's rules are read beside them, two independent loads
//! rather than a chain of three (slot, rule, string).
//!
//! The index is built by [`OriginTable::index`] (`Policy::index_origins`,
//! which loading a compiled policy and a `PolicyHandle` call); until then
//! a lookup is a binary search of the sorted origins, so the compiler and
//! the tools, which look up a few origins if any, never build it.

use crate::policy::{Filter, Grant};
use std::hash::BuildHasher;

/// Slots per key (the inverse of the load factor), in quarters: 5/4.
const SLOTS_PER_KEY_QUARTERS: usize = 5;
/// Keys per bucket, on average.
const KEYS_PER_BUCKET: usize = 4;
/// Pilots tried for one bucket before the seed is given up.
const MAX_PILOT: u32 = 1 << 16;
/// Seeds tried before the table grows.
const SEEDS_PER_SIZE: usize = 8;

/// A slot: the origin's position plus one (0: empty), its fingerprint,
/// where its text is in the names (`len` is [`FAR`] when the text is past
/// what 32 bits say: then the position says where), and its grant (a
/// shared pointer and a line), so a lookup reads the slot, then the text
/// and the grant's rules side by side, never the rule between them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Slot {
    fingerprint: u32,
    position: u32,
    start: u32,
    len: u32,
    grant: Option<Grant>,
}

// Two slots (or more, with 32-bit pointers) to a cache line.
const _: () = assert!(std::mem::size_of::<Slot>() <= 32);

/// A slot's `len` when its origin's text is found through its position.
const FAR: u32 = u32::MAX;

#[doc(hidden)] // the compiler's, not a broker's
/// Where an origin's text is in an [`OriginList`]'s names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name {
    start: usize,
    end: usize,
}

impl Name {
    /// Its text in `names` (none when it is a name of another list).
    fn of(self, names: &str) -> Option<&str> {
        names.get(self.start..self.end)
    }
}

#[doc(hidden)] // the compiler's, not a broker's
/// The accepted origins of a policy as they are handed to it (by the
/// compiler, or by the loader of a compiled policy): each origin's text in
/// one buffer, and its grant. Origins may come in any order; one listed
/// twice has its grants merged.
#[derive(Clone, Debug, Default)]
pub struct OriginList {
    names: String,
    rules: Vec<(Name, Grant)>,
}

impl OriginList {
    /// An empty list.
    pub fn new() -> OriginList {
        OriginList::default()
    }

    /// An empty list with room for `origins` origins of `bytes` bytes in all.
    pub fn with_capacity(origins: usize, bytes: usize) -> OriginList {
        OriginList {
            names: String::with_capacity(bytes),
            rules: Vec::with_capacity(origins),
        }
    }

    /// Stores `origin`'s text and says where it is, for [`with_rules`]
    /// (the compiler names an origin before it knows its grant).
    ///
    /// [`with_rules`]: OriginList::with_rules
    pub fn intern(&mut self, origin: &str) -> Name {
        let start = self.names.len();
        self.names.push_str(origin);
        Name {
            start,
            end: self.names.len(),
        }
    }

    /// The text of a name of this list (empty for a name of another).
    pub fn name(&self, name: Name) -> &str {
        name.of(&self.names).unwrap_or_default()
    }

    /// Adds an origin and its grant.
    pub fn push(&mut self, origin: &str, grant: Grant) {
        let name = self.intern(origin);
        self.rules.push((name, grant));
    }

    /// The list with these rules added (names from [`intern`]); the
    /// first rules are taken as they are, so a vector collected in place
    /// is never copied.
    ///
    /// [`intern`]: OriginList::intern
    pub fn with_rules(mut self, mut rules: Vec<(Name, Grant)>) -> OriginList {
        if self.rules.is_empty() {
            self.rules = rules;
        } else {
            self.rules.append(&mut rules);
        }
        self
    }

    /// How many origins (a repeat counted again).
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// One accepted origin and what it may call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OriginRule<'p> {
    /// The canonical origin.
    pub origin: &'p str,
    /// What it may call.
    pub grant: &'p Grant,
}

/// The order of two names' text.
#[inline(never)]
fn compare(names: &str, a: Name, b: Name) -> std::cmp::Ordering {
    a.of(names).cmp(&b.of(names))
}

/// A policy's origins: sorted, distinct, and indexed once
/// [`OriginTable::index`] is called (before that, a lookup searches the
/// sorted origins: the compiler never pays for the index, nor holds it).
#[derive(Clone, Debug)]
pub(crate) struct OriginTable {
    names: Box<str>,
    rules: Box<[(Name, Grant)]>,
    /// Where the index's seeds come from (random, per table).
    seed: u64,
    index: std::sync::OnceLock<OriginIndex>,
}

impl OriginTable {
    /// The table of `list`: sorted, repeats merged, to be indexed under
    /// seeds drawn from `seed`.
    pub(crate) fn new(list: OriginList, seed: u64) -> OriginTable {
        let OriginList { names, mut rules } = list;
        // A name of another list (a misuse of `with_rules`) names nothing.
        rules.retain(|(n, _)| n.of(&names).is_some());
        // The compiler hands them over sorted already. (One comparison
        // function, called: the sort does not inline a copy of it at each
        // of its many places, which the WebAssembly build would carry.)
        let order = |a: &(Name, Grant), b: &(Name, Grant)| compare(&names, a.0, b.0);
        if !rules.is_sorted_by(|a, b| order(a, b).is_le()) {
            rules.sort_by(order);
        }
        // Each run of one origin's rules becomes its first, with the run's
        // filters in one grant (built once: linear in the filters). Only
        // the compiler's lists can hold repeats (a compiled policy that
        // lists an origin twice is refused), and it merges them itself.
        let mut run: Option<Vec<Filter>> = None;
        rules.dedup_by(|b, a| {
            if order(a, b).is_eq() {
                run.get_or_insert_with(|| a.1.allow().to_vec())
                    .extend_from_slice(b.1.allow());
                true
            } else {
                if let Some(filters) = run.take() {
                    a.1 = Grant::new(filters, a.1.line());
                }
                false
            }
        });
        if let (Some(filters), Some(last)) = (run.take(), rules.last_mut()) {
            last.1 = Grant::new(filters, last.1.line());
        }
        OriginTable {
            names: names.into_boxed_str(),
            rules: rules.into_boxed_slice(),
            seed,
            index: std::sync::OnceLock::new(),
        }
    }

    /// Builds the index, if it is not built yet.
    pub(crate) fn index(&self) -> &OriginIndex {
        self.index.get_or_init(|| {
            let mut draws = self.seed;
            OriginIndex::build(&self.names, &self.rules, || {
                // splitmix64: a new seed per draw.
                draws = draws.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = draws;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^ (z >> 31)
            })
        })
    }

    /// How many origins.
    pub(crate) fn len(&self) -> usize {
        self.rules.len()
    }

    /// A name's text (every name of the table resolves: `new` keeps no
    /// other).
    fn text(&self, name: Name) -> &str {
        name.of(&self.names).unwrap_or_default()
    }

    /// The rule of an exact origin: through the index once it is built,
    /// else a binary search.
    #[inline]
    pub(crate) fn find(&self, origin: &str) -> Option<OriginRule<'_>> {
        match self.index.get() {
            Some(index) => self.find_indexed(index, origin),
            None => self.search(origin),
        }
    }

    #[inline]
    fn find_indexed<'t>(&'t self, index: &'t OriginIndex, origin: &str) -> Option<OriginRule<'t>> {
        let (slot, h) = index.slot(origin)?;
        // An empty slot has no grant.
        let grant = slot.grant.as_ref()?;
        if slot.fingerprint != h as u32 {
            return None;
        }
        let text = if slot.len == FAR {
            let (name, _) = self.rules.get(slot.position as usize - 1)?;
            name.of(&self.names)?
        } else {
            let start = slot.start as usize;
            self.names
                .get(start..start.checked_add(slot.len as usize)?)?
        };
        (text == origin).then_some(OriginRule {
            origin: text,
            grant,
        })
    }

    /// The rule of an exact origin, by binary search.
    #[inline(never)]
    fn search(&self, origin: &str) -> Option<OriginRule<'_>> {
        let position = self
            .rules
            .binary_search_by(|(name, _)| self.text(*name).cmp(origin))
            .ok()?;
        let (name, grant) = self.rules.get(position)?;
        Some(OriginRule {
            origin: self.text(*name),
            grant,
        })
    }

    /// The rules, sorted by origin.
    pub(crate) fn iter(&self) -> Origins<'_> {
        Origins {
            table: self,
            rules: self.rules.iter(),
        }
    }
}

impl PartialEq for OriginTable {
    fn eq(&self, other: &OriginTable) -> bool {
        // The index is derived from the rules.
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// A policy's origins, sorted (from [`Policy::origins`]).
///
/// [`Policy::origins`]: crate::Policy::origins
#[derive(Clone, Debug)]
pub struct Origins<'p> {
    table: &'p OriginTable,
    rules: std::slice::Iter<'p, (Name, Grant)>,
}

impl<'p> Iterator for Origins<'p> {
    type Item = OriginRule<'p>;

    fn next(&mut self) -> Option<OriginRule<'p>> {
        let (name, grant) = self.rules.next()?;
        Some(OriginRule {
            origin: self.table.text(*name),
            grant,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.rules.size_hint()
    }
}

impl DoubleEndedIterator for Origins<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let (name, grant) = self.rules.next_back()?;
        Some(OriginRule {
            origin: self.table.text(*name),
            grant,
        })
    }
}

impl ExactSizeIterator for Origins<'_> {}

/// The perfect hash of a set of distinct origins.
#[derive(Clone, Debug)]
pub(crate) struct OriginIndex {
    hasher: foldhash::fast::FixedState,
    pilots: Box<[u32]>,
    slots: Box<[Slot]>,
}

/// `x` reduced to `0..n` without a division (Lemire's multiply-shift).
fn reduce(x: u64, n: usize) -> usize {
    ((u128::from(x) * n as u128) >> 64) as usize
}

/// A pilot spread over 64 bits.
fn mix(pilot: u32) -> u64 {
    let x = u64::from(pilot)
        .wrapping_add(0x9E37_79B9_7F4A_7C15)
        .wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 31)
}

/// The slot of a key of hash `h` under pilot mix `m`. The bucket is the
/// top bits of `h`, shared by a bucket's keys: the slot must come from all
/// of its bits (murmur3's finalizer), or a bucket's keys would compete for
/// the few slots those top bits point to, whatever the pilot.
fn slot_of(h: u64, m: u64, slots: usize) -> usize {
    let mut x = h ^ m;
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    x = x.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    x ^= x >> 33;
    reduce(x, slots)
}

impl OriginIndex {
    /// The index of the distinct origins named in `names`, under seeds
    /// from `seeds`.
    fn build(
        names: &str,
        origins: &[(Name, Grant)],
        mut seeds: impl FnMut() -> u64,
    ) -> OriginIndex {
        let n = origins.len();
        let mut slots_count = (n * SLOTS_PER_KEY_QUARTERS).div_ceil(4).max(1);
        loop {
            for _ in 0..SEEDS_PER_SIZE {
                let hasher = foldhash::fast::FixedState::with_seed(seeds());
                if let Some(index) = Self::try_build(hasher, names, origins, slots_count) {
                    return index;
                }
            }
            // Never seen: a set this seeds cannot place gets more room.
            slots_count = slots_count.saturating_mul(2);
        }
    }

    fn try_build(
        hasher: foldhash::fast::FixedState,
        names: &str,
        origins: &[(Name, Grant)],
        slots_count: usize,
    ) -> Option<OriginIndex> {
        let n = origins.len();
        let buckets_count = n.div_ceil(KEYS_PER_BUCKET).max(1);
        let hashes: Vec<u64> = origins
            .iter()
            .map(|o| hasher.hash_one(o.0.of(names).unwrap_or_default()))
            .collect();
        // The keys by bucket, with counting sorts (no comparison sort: the
        // WebAssembly build stays small): `starts[b]..starts[b + 1]` of
        // `by_bucket` are bucket b's positions.
        let mut starts = vec![0usize; buckets_count + 1];
        for &h in &hashes {
            *starts.get_mut(reduce(h, buckets_count) + 1)? += 1;
        }
        for b in 0..buckets_count {
            *starts.get_mut(b + 1)? += *starts.get(b)?;
        }
        let mut fill = starts.clone();
        let mut by_bucket = vec![0u32; n];
        for (i, &h) in hashes.iter().enumerate() {
            let at = fill.get_mut(reduce(h, buckets_count))?;
            *by_bucket.get_mut(*at)? = u32::try_from(i).ok()?;
            *at += 1;
        }
        let bucket = |b: usize| by_bucket.get(*starts.get(b)?..*starts.get(b + 1)?);
        // Two origins hashing alike cannot be told apart: another seed.
        for b in 0..buckets_count {
            let keys = bucket(b)?;
            for (j, &x) in keys.iter().enumerate() {
                if keys
                    .iter()
                    .skip(j + 1)
                    .any(|&y| hashes.get(y as usize) == hashes.get(x as usize))
                {
                    return None;
                }
            }
        }
        // Largest buckets first.
        let largest = (0..buckets_count)
            .map(|b| bucket(b).map_or(0, <[u32]>::len))
            .max()
            .unwrap_or(0);
        let mut order: Vec<usize> = Vec::with_capacity(buckets_count);
        for size in (1..=largest).rev() {
            order.extend((0..buckets_count).filter(|&b| bucket(b).map_or(0, <[u32]>::len) == size));
        }
        let mut pilots = vec![0u32; buckets_count].into_boxed_slice();
        let mut slots = vec![Slot::default(); slots_count].into_boxed_slice();
        let mut placed: Vec<usize> = Vec::with_capacity(largest);
        for b in order {
            let keys = bucket(b)?;
            let mut pilot = 0u32;
            'search: loop {
                if pilot >= MAX_PILOT {
                    return None;
                }
                placed.clear();
                let m = mix(pilot);
                for &i in keys {
                    let s = slot_of(*hashes.get(i as usize)?, m, slots_count);
                    if slots.get(s).is_none_or(|slot| slot.position != 0) || placed.contains(&s) {
                        pilot += 1;
                        continue 'search;
                    }
                    placed.push(s);
                }
                break;
            }
            for (&s, &i) in placed.iter().zip(keys) {
                let h = *hashes.get(i as usize)?;
                // Where the origin's text is, in the slot (so a lookup
                // reads it without first reading the rule).
                let name = &origins.get(i as usize)?.0;
                let (start, len) = match (
                    u32::try_from(name.start),
                    u32::try_from(name.end.saturating_sub(name.start)),
                ) {
                    (Ok(start), Ok(len)) if len != FAR => (start, len),
                    _ => (0, FAR),
                };
                let grant = origins.get(i as usize)?.1.clone();
                *slots.get_mut(s)? = Slot {
                    fingerprint: h as u32,
                    position: i + 1,
                    start,
                    len,
                    grant: Some(grant),
                };
            }
            *pilots.get_mut(b)? = pilot;
        }
        Some(OriginIndex {
            hasher,
            pilots,
            slots,
        })
    }

    /// The slot of `origin`, and its hash: whether it is one of the
    /// indexed origins is for the caller to see (fingerprint, then text).
    #[inline]
    fn slot(&self, origin: &str) -> Option<(&Slot, u64)> {
        let h = self.hasher.hash_one(origin);
        let pilot = *self.pilots.get(reduce(h, self.pilots.len()))?;
        let slot = self.slots.get(slot_of(h, mix(pilot), self.slots.len()))?;
        Some((slot, h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("https://app{i}.tenant{}.example.com", i % 97))
            .collect()
    }

    /// `origins(n)`, each granted on the line of its number.
    fn table(list: &[String]) -> OriginTable {
        let mut l = OriginList::new();
        // Handed over out of order: the table sorts them.
        for (i, o) in list.iter().enumerate().rev() {
            l.push(o, Grant::new([], i + 1));
        }
        OriginTable::new(l, 7)
    }

    fn assert_finds(table: &OriginTable, list: &[String]) {
        for (i, o) in list.iter().enumerate() {
            let rule = table.find(o).unwrap_or_else(|| panic!("{o} not found"));
            assert_eq!((rule.origin, rule.grant.line()), (o.as_str(), i + 1));
        }
        for o in [
            "https://unknown.example",
            "",
            "https://app0.tenant0.example.co",
            "https://app0.tenant0.example.comm",
        ] {
            assert_eq!(table.find(o), None, "{o}");
        }
    }

    #[test]
    fn every_origin_is_found_with_its_grant_and_no_other_is() {
        for n in [0, 1, 2, 3, 7, 100, 1000, 20_000] {
            let list = origins(n);
            let table = table(&list);
            assert_eq!(table.len(), n);
            assert!(table.iter().map(|r| r.origin).is_sorted());
            // By binary search, then through the index.
            assert_finds(&table, &list);
            assert!(table.index.get().is_none(), "a lookup builds no index");
            table.index();
            assert_finds(&table, &list);
        }
    }

    #[test]
    fn text_past_32_bits_is_found_through_the_rule() {
        // What a slot says of an origin whose text is past 4 GiB in the
        // names (a list of that size is not built in a test).
        let list = origins(1000);
        let mut table = table(&list);
        let mut index = table.index().clone();
        for slot in index.slots.iter_mut() {
            slot.start = 0;
            slot.len = FAR;
        }
        table.index = index.into();
        assert_finds(&table, &list);
    }

    #[test]
    fn repeats_are_merged_into_one_rule() {
        let mut l = OriginList::new();
        let a = l.intern("https://a");
        let b = l.intern("https://b");
        let again = l.intern("https://a");
        assert_eq!(l.name(again), "https://a");
        let l = l.with_rules(vec![
            (b, Grant::new([crate::policy::Filter::All], 1)),
            (
                a,
                Grant::new([crate::policy::Filter::Request("voice.dial".into())], 2),
            ),
            (
                again,
                Grant::new([crate::policy::Filter::Request("agent.get".into())], 3),
            ),
        ]);
        assert_eq!(l.len(), 3);
        let table = OriginTable::new(l, 7);
        assert_eq!(table.len(), 2);
        let a = table.find("https://a").unwrap();
        assert_eq!(a.grant.grants().names(), vec!["agent.get", "voice.dial"]);
        assert_eq!(table.iter().nth(1).map(|r| r.origin), Some("https://b"));
    }

    #[test]
    fn a_name_of_another_list_names_nothing() {
        let mut other = OriginList::new();
        other.intern("https://x");
        let far = other.intern("https://far.example");
        let mut l = OriginList::new();
        let a = l.intern("https://a");
        let l = l.with_rules(vec![(a, Grant::new([], 1)), (far, Grant::new([], 2))]);
        let table = OriginTable::new(l, 7);
        assert_eq!(table.len(), 1);
        for indexed in [false, true] {
            if indexed {
                table.index();
            }
            assert_eq!(table.find(""), None);
            assert_eq!(table.find("https://far.example"), None);
            assert_eq!(table.find("https://a").map(|r| r.grant.line()), Some(1));
        }
    }
}
