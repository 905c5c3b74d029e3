//! What a broker links is small: the runtime's normal dependencies, counted
//! by `cargo tree`, stay within budget and include nothing that parses
//! option text, renders diagnostics or runs a command line.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::process::Command;

/// The crates `scapi-policy` links, by name, with the given features.
fn linked(features: &[&str]) -> BTreeSet<String> {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args([
        "tree",
        "-p",
        "scapi-policy",
        "-e",
        "normal",
        "--prefix",
        "none",
    ])
    .args(["--format", "{p}"])
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn a_broker_links_at_most_25_crates_and_no_compiler() {
    let crates = linked(&[]);
    assert!(crates.len() <= 25, "{} crates: {crates:?}", crates.len());
    // The documents say how many, truly.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let n = crates.len();
    assert!(
        readme.contains(&format!("`idna` — {n} crates in all")),
        "the README's library table must say {n} crates"
    );
    let architecture = std::fs::read_to_string(format!("{root}/ARCHITECTURE.md")).unwrap();
    assert!(
        architecture.contains(&format!("lists {n} crates")),
        "ARCHITECTURE.md must say {n} crates"
    );
    for banned in [
        "clap",
        "miette",
        "nom",
        "url",
        "tempfile",
        "jsonc-parser",
        "saphyr-parser",
        "serde_yaml_ng",
        "globset",
        "quanta",
        "scapi",
    ] {
        assert!(!crates.contains(banned), "{banned} is linked");
    }
    // The fast clock is a feature, and only it brings `quanta`.
    assert!(linked(&["fast-clock"]).contains("quanta"));
}
