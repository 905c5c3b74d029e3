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

const TARGETS: &[(&str, Check)] = &[
    ("lint_cfg", |d| invariants::lint(d, InputFormat::Cfg)),
    ("lint_json", |d| invariants::lint(d, InputFormat::Json)),
    ("lint_yaml", |d| invariants::lint(d, InputFormat::Yaml)),
    ("origin_list", |d| {
        invariants::origin_list(&String::from_utf8_lossy(d))
    }),
    ("fmt_round_trip", invariants::fmt_fixed_point),
    ("compiled_round_trip", invariants::compiled_round_trip),
    ("eval", invariants::eval),
];

#[test]
fn corpora_hold_every_invariant() {
    let root = common::root().join("fuzz/corpus");
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (target, check) in TARGETS {
        let dir = root.join(target);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
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
        assert!(n > 0, "the corpus of {target} is empty");
        replayed += n;
    }
    assert!(
        failures.is_empty(),
        "{} corpus input(s) violate an invariant:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(replayed > 50);
}
