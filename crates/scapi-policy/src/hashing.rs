//! The random keys of the hash tables that hold input: the policy's origin
//! index and the limiter's clients. Keyed SipHash with keys no client can
//! guess, so nobody can choose origins or client ids that collide.
//!
//! Natively the keys are std's `RandomState`, seeded by the operating
//! system. On `wasm32-unknown-unknown` std has no random source and seeds
//! every table alike, so there the keys come from [`seed`], which the
//! WebAssembly bindings call at start-up with bytes from
//! `crypto.getRandomValues`; each table mixes in a counter of its own.

/// Builds the hashers of one table, with keys of its own.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub type RandomKeys = std::hash::RandomState;

/// Seeds the hash keys of tables made from now on. Natively the operating
/// system seeds them and this does nothing; on `wasm32-unknown-unknown`
/// call it once, before loading a policy, with 16 bytes from a secure
/// random source.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn seed(_bytes: [u8; 16]) {}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub use wasm::{RandomKeys, seed};

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod wasm {
    use std::sync::atomic::{AtomicU64, Ordering};

    static K0: AtomicU64 = AtomicU64::new(0);
    static K1: AtomicU64 = AtomicU64::new(0);
    static TABLES: AtomicU64 = AtomicU64::new(0);

    /// See the native [`seed`](super::seed).
    pub fn seed(bytes: [u8; 16]) {
        let (a, b) = bytes.split_at(8);
        let word = |s: &[u8]| {
            let mut w = [0u8; 8];
            w.copy_from_slice(s);
            u64::from_le_bytes(w)
        };
        K0.store(word(a), Ordering::Relaxed);
        K1.store(word(b), Ordering::Relaxed);
    }

    /// Builds the hashers of one table: SipHash-1-3 (as std's) keyed by
    /// the seed and a counter of tables.
    #[derive(Clone, Debug)]
    pub struct RandomKeys {
        k0: u64,
        k1: u64,
    }

    impl RandomKeys {
        /// Keys of a new table.
        pub fn new() -> RandomKeys {
            let n = TABLES.fetch_add(1, Ordering::Relaxed);
            RandomKeys {
                // The counter through a multiply-xorshift, so tables differ
                // in every bit.
                k0: K0.load(Ordering::Relaxed) ^ mix(n),
                k1: K1.load(Ordering::Relaxed),
            }
        }
    }

    impl Default for RandomKeys {
        fn default() -> RandomKeys {
            RandomKeys::new()
        }
    }

    fn mix(n: u64) -> u64 {
        let x = n
            .wrapping_add(0x9E37_79B9_7F4A_7C15)
            .wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^ (x >> 31)
    }

    impl std::hash::BuildHasher for RandomKeys {
        type Hasher = siphasher::sip::SipHasher13;

        fn build_hasher(&self) -> siphasher::sip::SipHasher13 {
            siphasher::sip::SipHasher13::new_with_keys(self.k0, self.k1)
        }
    }
}
