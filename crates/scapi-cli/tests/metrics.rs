//! The metrics `scapi eval --metrics` writes are what Prometheus reads:
//! Prometheus's own linter (`promtool check metrics`, Debian's
//! `prometheus` package) accepts them, with every family holding samples
//! (a shadow policy, a candidate that disagrees, near-limit admissions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use scapi_testkit::root;
use scapi_testkit::tools::{self, promtool_check};
use std::process::Command;

#[test]
fn promtool_accepts_the_metrics_of_a_run() {
    if !tools::have("promtool", "prometheus") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let shadow = dir.path().join("shadow.json");
    let metrics = dir.path().join("metrics.prom");
    let scapi = env!("CARGO_BIN_EXE_scapi");
    let ok = Command::new(scapi)
        .current_dir(root())
        .args(["compile", "--shadow-entry", "https://kb.example.com"])
        .arg("examples/shadow/active.cfg")
        .arg("-o")
        .arg(&shadow)
        .status()
        .unwrap();
    assert!(ok.success());
    let out = Command::new(scapi)
        .current_dir(root())
        .arg("eval")
        .arg(&shadow)
        .args(["examples/shadow/requests.jsonl", "--format", "json"])
        .args(["--candidate", "examples/shadow/candidate.cfg"])
        .args(["--near-limit-ratio", "0.5", "--metrics"])
        .arg(&metrics)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&metrics).unwrap();
    for family in [
        "scapi_decisions_total{",
        "shadow=\"true\"",
        "scapi_near_limit_total{",
        "scapi_rate_limit{",
        "scapi_candidate_disagreements_total{",
    ] {
        assert!(text.contains(family), "no `{family}` in\n{text}");
    }
    let (ok, said) = promtool_check(&text);
    assert!(ok, "promtool refused the metrics: {said}\n{text}");
    // The linter is not a formality: a sample without its family's TYPE
    // and a counter named without `_total` are refused.
    let (ok, _) =
        promtool_check("scapi_decisions{request=\"x\"} 1\n# TYPE scapi_decisions counter\n");
    assert!(!ok);
}
