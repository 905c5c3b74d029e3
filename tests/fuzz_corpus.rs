//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) through the
//! same invariant functions the fuzz targets assert, so CI checks them on
//! stable without nightly. Crashes found by fuzzing are kept in the corpus
//! as regression inputs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use scapi::input::InputFormat;
use scapi::invariants::{self, Violation};

type Check = fn(&[u8]) -> Result<(), Violation>;

/// Replays `fuzz/corpus/<target>/` through `check`. One test per target, so
/// the test harness replays them in parallel and names the failing one.
fn replay(target: &str, check: Check) {
    let dir = common::root().join("fuzz/corpus").join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut failures = Vec::new();
    let mut n = 0;
    for e in entries {
        let path = e.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        if let Err(v) = check(&data) {
            failures.push(format!(
                "{target}/{}: {v}",
                path.file_name().unwrap().to_string_lossy()
            ));
        }
        n += 1;
    }
    assert!(n > 5, "the corpus of {target} has only {n} input(s)");
    assert!(
        failures.is_empty(),
        "{} corpus input(s) violate an invariant:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn lint_cfg() {
    replay("lint_cfg", |d| invariants::lint(d, InputFormat::Cfg));
}

#[test]
fn lint_json() {
    replay("lint_json", |d| invariants::lint(d, InputFormat::Json));
}

#[test]
fn lint_yaml() {
    replay("lint_yaml", |d| invariants::lint(d, InputFormat::Yaml));
}

#[test]
fn origin_list() {
    replay("origin_list", |d| {
        invariants::origin_list(&String::from_utf8_lossy(d))
    });
}

#[test]
fn fmt_round_trip() {
    replay("fmt_round_trip", invariants::fmt_fixed_point);
}

#[test]
fn compiled_round_trip() {
    replay("compiled_round_trip", invariants::compiled_round_trip);
}

#[test]
fn eval() {
    replay("eval", invariants::eval);
}

#[test]
fn every_fuzz_target_is_replayed() {
    const REPLAYED: &[&str] = &[
        "compiled_round_trip",
        "eval",
        "fmt_round_trip",
        "lint_cfg",
        "lint_json",
        "lint_yaml",
        "origin_list",
    ];
    let mut targets: Vec<String> = std::fs::read_dir(common::root().join("fuzz/fuzz_targets"))
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.trim_end_matches(".rs").to_owned()
        })
        .collect();
    targets.sort();
    assert_eq!(targets, REPLAYED, "a fuzz target without a replay test");
}
