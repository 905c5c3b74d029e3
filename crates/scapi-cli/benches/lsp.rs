//! `cargo bench --bench lsp`: `scapi lsp` on a 50 MB export. The time from
//! opening it to its diagnostics, beside `scapi lint --format json` on the
//! same file in the same run (the compilation the server cannot avoid);
//! and how long a hover waits while that compilation runs (it must not:
//! the server answers from its main thread while a worker compiles).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::lsp_client::Client;
use serde_json::json;
use std::process::Command;
use std::time::Instant;

fn scapi() -> std::path::PathBuf {
    // The release binary, built by `cargo bench` for this package.
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("scapi")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let bin = scapi();
    assert!(bin.exists(), "{} is not built", bin.display());
    let bin = bin.to_str().unwrap().to_string();
    // About 50 MB: 800 000 origins.
    let export = scapi_testkit::generator::export(800_000, 1);
    let mb = export.len() as f64 / 1e6;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.cfg");
    std::fs::write(&file, &export).unwrap();
    let (mut lint, mut lsp, mut hover) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..3 {
        let t = Instant::now();
        let out = Command::new(&bin)
            .args(["lint", "--format", "json"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(!out.stdout.is_empty());
        lint.push(t.elapsed().as_secs_f64());

        let mut c = Client::start(&bin);
        c.initialize();
        let uri = format!("file:///bench/big-{round}.cfg");
        let t = Instant::now();
        c.open(&uri, "ini", &export);
        // Asked while the export compiles: answered at once.
        let h = Instant::now();
        let r = c.request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 0}}),
        );
        assert!(r["error"].is_null(), "{r}");
        hover.push(h.elapsed().as_secs_f64());
        let d = c.diagnostics(&uri, 1);
        lsp.push(t.elapsed().as_secs_f64());
        assert!(!d.as_array().unwrap().is_empty());
        assert_eq!(c.stop(), Some(0));
    }
    let (lint, lsp, hover) = (median(lint), median(lsp), median(hover));
    let rows = vec![
        (
            format!("LSP time to diagnostics, {mb:.0} MB export"),
            format!("{:.2} s", lsp),
            format!("scapi lint --format json: {:.2} s", lint),
            format!("{:.2}× lint", lsp / lint),
        ),
        (
            "LSP request answered while it compiles".to_string(),
            format!("{:.1} ms", hover * 1e3),
            "—".to_string(),
            "—".to_string(),
        ),
    ];
    scapi_testkit::bench::print_table(&rows);
}
