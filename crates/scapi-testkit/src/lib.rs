//! What the tests, benchmarks and examples of the workspace share (never
//! published): the case folders of `tests/cases/` and their golden files,
//! a test per case, the programs a test needs (`redis-server`, `nvim`…),
//! a language-server client and the synthetic-input generator.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod api;
pub mod bench;
pub mod cases;
pub mod generator;
pub mod harness;
pub mod lsp_client;
pub mod redis_server;
pub mod service;
pub mod tools;

pub use cases::*;
