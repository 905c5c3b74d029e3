//! Deterministic generator of synthetic exports and request streams, for the
//! benchmarks and for anyone reproducing them.
//!
//! ```text
//! cargo run --release --example gen -- export ORIGINS [SEED] [--distinct] > big.cfg
//! cargo run --release --example gen -- requests COUNT ORIGINS [SEED] > requests.jsonl
//! ```
//!
//! The generator itself is `scapi_testkit::generator`.

use scapi_testkit::generator::{Filters, export_with, requests};
use std::process::ExitCode;

fn main() -> ExitCode {
    let all: Vec<String> = std::env::args().skip(1).collect();
    let distinct = all.iter().any(|a| a == "--distinct");
    let args: Vec<String> = all.into_iter().filter(|a| a != "--distinct").collect();
    let num = |i: usize, default: u64| {
        args.get(i)
            .and_then(|a| a.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let out = match args.first().map(String::as_str) {
        Some("export") => export_with(
            num(1, 1000) as usize,
            num(2, 1),
            if distinct {
                Filters::Distinct
            } else {
                Filters::Profiles
            },
        ),
        Some("requests") => requests(num(1, 1000) as usize, num(2, 1000) as usize, num(3, 1)),
        _ => {
            eprintln!(
                "usage: gen export ORIGINS [SEED] [--distinct] | gen requests COUNT ORIGINS [SEED]"
            );
            return ExitCode::from(2);
        }
    };
    print!("{out}");
    ExitCode::SUCCESS
}
