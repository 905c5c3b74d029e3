//! One end-to-end run in a real editor: headless Neovim from the
//! distribution's packages (`.ci/run` installs it), its built-in LSP client
//! attached to `scapi lsp` by `tests/editors/neovim.lua`, shows the findings
//! `scapi lint` reports for the same export, at the same places.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::root;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn neovim_shows_the_findings_of_scapi_lint() {
    if !scapi_testkit::tools::have("nvim", "neovim") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("wwews.cfg");
    std::fs::copy(root().join("examples/broken.cfg"), &export).unwrap();
    let out = dir.path().join("diagnostics.txt");
    let mut nvim = Command::new("nvim")
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n", "-c"])
        .arg(format!(
            "luafile {}",
            root().join("tests/editors/neovim.lua").display()
        ))
        .env("SCAPI", env!("CARGO_BIN_EXE_scapi"))
        .env("EXPORT", &export)
        .env("OUT", &out)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nvim runs (`.ci/run` installs the distribution's neovim)");
    let started = Instant::now();
    while nvim.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = nvim.kill();
            panic!("Neovim did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let shown = std::fs::read_to_string(&out).unwrap();
    let mut lines = shown.lines();
    assert_eq!(
        lines.next(),
        Some("ok"),
        "Neovim got no diagnostics:\n{shown}"
    );
    let mut got: Vec<String> = lines.map(str::to_string).collect();
    got.sort();
    // What `scapi lint` says of the same file.
    let lint = Command::new(env!("CARGO_BIN_EXE_scapi"))
        .args(["lint", "--format", "json", "wwews.cfg"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&lint.stdout).unwrap();
    let mut want: Vec<String> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{}:{} {} {}",
                d["line"],
                d["column"],
                d["code"].as_str().unwrap(),
                d["message"].as_str().unwrap()
            )
        })
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert!(got.len() > 20);
}
