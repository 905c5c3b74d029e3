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

mod common;

use common::{Golden, cases, split_args};
use scapi::input::InputFormat;
use scapi::lower::ObjectLevel;
use scapi::render::{FileDiagnostics, human, json};
use std::path::Path;

fn options(dir: &Path) -> scapi::Options {
    let mut o = scapi::Options::default();
    let Ok(args) = std::fs::read_to_string(dir.join("args")) else {
        return o;
    };
    let words = split_args(&args);
    for pair in words.chunks(2) {
        match (pair[0].as_str(), pair.get(1).map(String::as_str)) {
            ("--object", Some("person")) => o.object = Some(ObjectLevel::Person),
            ("--object", Some("agent-group")) => o.object = Some(ObjectLevel::AgentGroup),
            ("--object", Some("application")) => o.object = Some(ObjectLevel::Application),
            ("--input-format", Some("cfg")) => o.format = Some(InputFormat::Cfg),
            ("--input-format", Some("json")) => o.format = Some(InputFormat::Json),
            ("--input-format", Some("yaml")) => o.format = Some(InputFormat::Yaml),
            ("--max-input-bytes", Some(n)) => o.max_input_bytes = n.parse().ok(),
            other => panic!("{}: unknown args {other:?}", dir.display()),
        }
    }
    o
}

fn input_of(dir: &Path) -> std::path::PathBuf {
    let mut inputs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_str().unwrap();
            !n.starts_with("expected") && !n.starts_with("compiled") && n != "args"
        })
        .collect();
    inputs.sort();
    assert_eq!(
        inputs.len(),
        1,
        "{}: expected exactly one input file, found {inputs:?}",
        dir.display()
    );
    inputs.remove(0)
}

#[test]
fn lint_cases() {
    let mut golden = Golden::default();
    for dir in cases("lint") {
        let input = input_of(&dir);
        let name = input.file_name().unwrap().to_str().unwrap();
        let bytes = std::fs::read(&input).unwrap();
        let c = scapi::compile(name, &bytes, &options(&dir));
        let files = [FileDiagnostics {
            source: c.source,
            diagnostics: c.diagnostics,
        }];
        golden.check(
            &dir.join("expected.txt"),
            &human::render_run(&files, human::Style::plain()),
        );
        golden.check(&dir.join("expected.json"), &json::report(&files).to_json());
    }
    golden.finish();
}
