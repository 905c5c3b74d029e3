//! Tools over a compiled policy, beside the runtime: replaying sample
//! requests through it ([`eval`]), the capability view of one origin
//! ([`explain`]) and what changed between two policies ([`diff`]).
//!
//! They need only [`scapi_policy`] — a compiled policy is all they read —
//! so a broker or a service can use them without linking the compiler,
//! which depends on this crate (its fixes are checked with [`diff`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Tests may unwrap and index: a panic there is a failing test.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod diff;
pub mod eval;
pub mod explain;
pub mod suggest;
pub mod text;

/// The policy of a cfg export that must compile, for unit tests.
#[cfg(test)]
pub(crate) fn test_policy(text: &str) -> scapi_policy::policy::Policy {
    scapi::compile("t.cfg", text.as_bytes(), &scapi::Options::default())
        .policy
        .expect("the test export compiles")
}
