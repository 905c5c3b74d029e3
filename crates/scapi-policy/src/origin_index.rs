//! The index of a policy's origins: a perfect hash, built when the policy
//! loads, under a random seed. A lookup is one hash of the presented
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

use std::hash::BuildHasher;

/// Slots per key (the inverse of the load factor), in quarters: 5/4.
const SLOTS_PER_KEY_QUARTERS: usize = 5;
/// Keys per bucket, on average.
const KEYS_PER_BUCKET: usize = 4;
/// Pilots tried for one bucket before the seed is given up.
const MAX_PILOT: u32 = 1 << 16;
/// Seeds tried before the table grows.
const SEEDS_PER_SIZE: usize = 8;

/// A slot: the origin's position plus one (0: empty) and its fingerprint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Slot {
    fingerprint: u32,
    position: u32,
}

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
    /// The index of `origins` (distinct), under seeds from `seeds`.
    pub(crate) fn build<'a>(
        origins: impl ExactSizeIterator<Item = &'a str> + Clone,
        mut seeds: impl FnMut() -> u64,
    ) -> OriginIndex {
        let n = origins.len();
        let mut slots_count = (n * SLOTS_PER_KEY_QUARTERS).div_ceil(4).max(1);
        loop {
            for _ in 0..SEEDS_PER_SIZE {
                let hasher = foldhash::fast::FixedState::with_seed(seeds());
                if let Some(index) = Self::try_build(hasher, origins.clone(), n, slots_count) {
                    return index;
                }
            }
            // Never seen: a set this seeds cannot place gets more room.
            slots_count = slots_count.saturating_mul(2);
        }
    }

    fn try_build<'a>(
        hasher: foldhash::fast::FixedState,
        origins: impl Iterator<Item = &'a str>,
        n: usize,
        slots_count: usize,
    ) -> Option<OriginIndex> {
        let buckets_count = n.div_ceil(KEYS_PER_BUCKET).max(1);
        let hashes: Vec<u64> = origins.map(|o| hasher.hash_one(o)).collect();
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
                *slots.get_mut(s)? = Slot {
                    fingerprint: h as u32,
                    position: i + 1,
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

    /// The position of `origin` if it is one of the indexed origins, as
    /// `is(position)` confirms (the full comparison).
    #[inline]
    pub(crate) fn find(&self, origin: &str, is: impl FnOnce(usize) -> bool) -> Option<usize> {
        let h = self.hasher.hash_one(origin);
        let pilot = *self.pilots.get(reduce(h, self.pilots.len()))?;
        let slot = self.slots.get(slot_of(h, mix(pilot), self.slots.len()))?;
        if slot.position == 0 || slot.fingerprint != h as u32 {
            return None;
        }
        let position = slot.position as usize - 1;
        is(position).then_some(position)
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

    #[test]
    fn every_origin_is_found_at_its_position_and_no_other_is() {
        for n in [0, 1, 2, 3, 7, 100, 1000, 20_000] {
            let list = origins(n);
            let mut seed = 1u64;
            let index = OriginIndex::build(list.iter().map(String::as_str), || {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                seed
            });
            for (i, o) in list.iter().enumerate() {
                assert_eq!(index.find(o, |p| list[p] == *o), Some(i), "{o}");
            }
            for o in [
                "https://unknown.example",
                "",
                "https://app0.tenant0.example.co",
            ] {
                assert_eq!(index.find(o, |p| list[p] == o), None);
            }
        }
    }
}
