//! Replays the fuzz targets' seeds and regressions through the same
//! invariant functions the targets assert, so CI checks them on stable
//! without nightly.
//!
//! The corpora themselves are not committed (`fuzz/corpus/` is ignored):
//! what is, is every input that ever found a bug, named after it, in
//! `fuzz/regressions/<target>/`, and the seeds, which are the test cases
//! and examples (`fuzz/seed-corpus.sh` copies both into a corpus). This
//! test takes the seeds from where they are, as that script does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi::input::InputFormat;
use scapi::invariants::{self, Violation};
use std::path::{Path, PathBuf};

type Check = fn(&[u8]) -> Result<(), Violation>;

/// Files under `dir` (recursively) whose names end with one of `exts`,
/// test expectations excluded.
fn inputs(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            inputs(&p, exts, out);
        } else if exts.iter().any(|x| name.ends_with(x))
            && !name.starts_with("expected")
            && !name.starts_with("compiled")
        {
            out.push(p);
        }
    }
}

/// A target's seeds, as `fuzz/seed-corpus.sh` makes them: (name, bytes).
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let root = scapi_testkit::root();
    let exts: &[&str] = match target {
        "lint_cfg" | "fmt_round_trip" | "origin_list" => &[".cfg"],
        "lint_json" => &[".json"],
        "lint_yaml" => &[".yaml"],
        "compiled_round_trip" => &[".cfg", ".json", ".yaml"],
        _ => &[],
    };
    let mut files = Vec::new();
    for dir in ["tests/cases", "examples"] {
        inputs(&root.join(dir), exts, &mut files);
    }
    let mut out = Vec::new();
    for f in files {
        let name = f.strip_prefix(&root).unwrap().display().to_string();
        let bytes = std::fs::read(&f).unwrap();
        if target == "origin_list" {
            for line in String::from_utf8_lossy(&bytes).lines() {
                if let Some(v) =
                    line.strip_prefix("service-client-api.accepted-web-content-origins=")
                {
                    out.push((name.clone(), v.as_bytes().to_vec()));
                }
            }
        } else {
            out.push((name, bytes));
        }
    }
    if target == "eval" {
        for dir in scapi_testkit::cases("eval") {
            let (policy, requests) = (dir.join("policy.cfg"), dir.join("requests.jsonl"));
            if policy.is_file() && requests.is_file() {
                let mut data = std::fs::read(policy).unwrap();
                data.extend_from_slice(invariants::EVAL_SEPARATOR.as_bytes());
                data.extend(std::fs::read(requests).unwrap());
                out.push((dir.display().to_string(), data));
            }
        }
    }
    out
}

/// Replays a target's seeds and `fuzz/regressions/<target>/` through
/// `check`. One test per target, so they run in parallel and a failure
/// names its target.
fn replay(target: &str, check: Check) {
    let mut all = seeds(target);
    let regressions = scapi_testkit::root().join("fuzz/regressions").join(target);
    if let Ok(entries) = std::fs::read_dir(&regressions) {
        for e in entries {
            let p = e.unwrap().path();
            all.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    let mut failures = Vec::new();
    for (name, data) in &all {
        if let Err(v) = check(data) {
            failures.push(format!("{target} {name}: {v}"));
        }
    }
    assert!(all.len() > 5, "{target} has only {} seed(s)", all.len());
    assert!(
        failures.is_empty(),
        "{} input(s) violate an invariant:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every input that found a bug is kept, named after its bug.
#[test]
fn regressions_are_kept() {
    let dir = scapi_testkit::root().join("fuzz/regressions");
    let mut n = 0;
    for target in std::fs::read_dir(&dir).unwrap() {
        let target = target.unwrap().path();
        assert!(
            target
                .join("../../fuzz_targets")
                .join(format!(
                    "{}.rs",
                    target.file_name().unwrap().to_string_lossy()
                ))
                .is_file(),
            "{} is not a fuzz target",
            target.display()
        );
        n += std::fs::read_dir(&target).unwrap().count();
    }
    assert!(n >= 2, "only {n} regression inputs");
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
    let mut targets: Vec<String> =
        std::fs::read_dir(scapi_testkit::root().join("fuzz/fuzz_targets"))
            .unwrap()
            .map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                name.trim_end_matches(".rs").to_owned()
            })
            .collect();
    targets.sort();
    assert_eq!(targets, REPLAYED, "a fuzz target without a replay test");
}
