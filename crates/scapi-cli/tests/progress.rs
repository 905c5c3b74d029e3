//! `scapi eval` shows its progress on a terminal's standard error — items,
//! their rate and the share of the file read — and never when standard
//! error is not a terminal, nor while JSON is printed on the terminal.
//! A real pseudo-terminal, from `script` (util-linux).
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;
use std::process::Command;

const SCAPI: &str = env!("CARGO_BIN_EXE_scapi");
const POLICY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/wwews-cluster.cfg"
);

/// A requests file long enough for the bar to be drawn a few times.
fn requests(dir: &std::path::Path, n: u64) -> String {
    let mut text = String::new();
    for i in 0..n {
        let _ = writeln!(
            text,
            r#"{{"at": {}, "origin": "https://crm.example.com", "request": "agent.get", "client": "agent-{}"}}"#,
            1_795_168_800 + i / 100,
            i % 50
        );
    }
    let path = dir.join(format!("requests-{n}.jsonl"));
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// What a terminal shows while `command` runs in it (stdout and stderr).
fn on_a_terminal(command: &str) -> String {
    let out = Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .output()
        .expect("`script` (util-linux) runs a command on a pseudo-terminal");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn progress_on_a_terminal_only() {
    let dir = tempfile::tempdir().unwrap();
    let file = requests(dir.path(), 150_000);
    // Report to a file, stderr on the terminal: the bar shows.
    let shown = on_a_terminal(&format!(
        "{SCAPI} eval {POLICY} {file} --format json > /dev/null"
    ));
    assert!(
        shown.contains(" items, ") && shown.contains("% of "),
        "{shown}"
    );
    // The human table on the terminal: the bar shows beside it.
    let shown = on_a_terminal(&format!("{SCAPI} eval {POLICY} {file} | tail -1"));
    assert!(shown.contains(" items, "), "{shown}");
    // JSON on the terminal: no bar in it.
    let small = requests(dir.path(), 20_000);
    let shown = on_a_terminal(&format!("{SCAPI} eval {POLICY} {small} --format json"));
    assert!(shown.contains("\"schemaVersion\": 1"));
    assert!(
        !shown.contains(" items, "),
        "{}",
        &shown[..shown.len().min(400)]
    );
    // Standard error not a terminal: none.
    let out = Command::new(SCAPI)
        .args(["eval", POLICY, &file, "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).is_empty());
}
