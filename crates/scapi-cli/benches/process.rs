//! `cargo bench` (W4 as a whole process): `scapi eval --format json` on a
//! million JSON Lines requests against a 10k-origin export, timed from
//! start to exit with its report written to a file, beside the floor of
//! just parsing those lines into a JSON tree with `serde_json` and with
//! `sonic-rs` (SIMD), in the same process as the bench. The fastest floor
//! is the one the ratio is taken against.
//!
//! The process and the floors run in rounds, one after the other, and each
//! figure is the median over the rounds: this machine's speed swings from
//! one second to the next, and a round sees the same swing for all three.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::generator;
use std::hint::black_box;
use std::time::Instant;

const REQUESTS: usize = 1_000_000;
const ROUNDS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Nanoseconds per line to parse every line into a tree with `parse`,
/// which says whether the line is an object.
fn floor(text: &str, parse: impl Fn(&str) -> bool) -> f64 {
    let t = Instant::now();
    let objects = text.lines().filter(|line| parse(line)).count();
    assert_eq!(black_box(objects), REQUESTS);
    t.elapsed().as_secs_f64() * 1e9 / REQUESTS as f64
}

fn serde_json_floor(text: &str) -> f64 {
    floor(text, |line| {
        serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v.is_object())
    })
}

fn sonic_rs_floor(text: &str) -> f64 {
    use sonic_rs::JsonValueTrait;
    floor(text, |line| {
        sonic_rs::from_str::<sonic_rs::Value>(line).is_ok_and(|v| v.is_object())
    })
}

fn w4() -> Vec<(String, String, String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("e10k.cfg");
    let requests = dir.path().join("requests.jsonl");
    let report = dir.path().join("report.json");
    std::fs::write(&export, generator::export(10_000, 1)).unwrap();
    let text = generator::requests(REQUESTS, 10_000, 5);
    std::fs::write(&requests, &text).unwrap();
    let run = || {
        let out = std::fs::File::create(&report).unwrap();
        let t = Instant::now();
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_scapi"))
            .arg("eval")
            .arg(&export)
            .arg(&requests)
            .args(["--format", "json"])
            .stdout(out)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        let ns = t.elapsed().as_secs_f64() * 1e9 / REQUESTS as f64;
        assert!(status.success(), "{status}");
        ns
    };
    // One run first, not counted: the binary and the files in the page
    // cache, as a user's second run finds them.
    run();
    let (mut ours, mut serde, mut sonic) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        ours.push(run());
        serde.push(serde_json_floor(&text));
        sonic.push(sonic_rs_floor(&text));
    }
    let report_bytes = std::fs::metadata(&report).unwrap().len();
    let (ours, serde, sonic) = (median(ours), median(serde), median(sonic));
    let (floor, name) = if sonic < serde {
        (sonic, "sonic-rs")
    } else {
        (serde, "serde_json")
    };
    vec![
        (
            "W4 eval as a process, 1M requests, JSON report".into(),
            format!("{:.0} ns/request ({:.2} µs)", ours, ours / 1e3),
            format!("{name} parse to a tree: {floor:.0} ns/line"),
            format!("{:.2}× the parse floor", ours / floor),
        ),
        (
            "W4 floors: each parser, per line".into(),
            format!("sonic-rs {sonic:.0} ns"),
            format!("serde_json {serde:.0} ns"),
            format!(
                "{:.1} MB in, {:.1} MB out",
                text.len() as f64 / 1e6,
                report_bytes as f64 / 1e6
            ),
        ),
    ]
}

fn main() {
    // Under `cargo test --benches` (`--test`), only check that it runs.
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    scapi_testkit::bench::print_table(&w4());
}
