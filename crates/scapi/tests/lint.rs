//! Lint harness: `tests/cases/lint/<case>/` holds an export named `input.*`
//! (or a GAX file name such as `CfgPerson_annex_1.cfg`), optional `args`
//! (`--object …`, `--input-format …`), and the expected human render
//! (`expected.txt`, unicode without colour at 80 columns) and JSON report
//! (`expected.json`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::{Golden, cases};
use scapi::render::{FileDiagnostics, human, json, sarif};

#[test]
fn lint_cases() {
    let mut golden = Golden::default();
    for dir in cases("lint") {
        let input = common::lint_input(&dir);
        let name = input.file_name().unwrap().to_str().unwrap();
        let bytes = std::fs::read(&input).unwrap();
        let c = scapi::compile(name, &bytes, &common::options(&dir));
        let files = [FileDiagnostics::of(c)];
        golden.check(
            &dir.join("expected.txt"),
            &human::render_run(&files, human::Style::plain()),
        );
        let report = json::report(&files).to_json();
        golden.check(&dir.join("expected.json"), &report);
        // The CLI streams both machine formats; they print the same text.
        let mut streamed = Vec::new();
        json::write_report(&files, &mut streamed).unwrap();
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            report,
            "{}",
            dir.display()
        );
        let mut streamed = Vec::new();
        sarif::write_log(&files, true, &mut streamed).unwrap();
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            sarif::log(&files, true).to_json(),
            "{}",
            dir.display()
        );
    }
    golden.finish();
}
