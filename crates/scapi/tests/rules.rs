//! Rule harness: every rule in the catalog has a documentation page with
//! the four sections, an example that triggers it and a fixed version that
//! does not. The examples are the fixtures: fenced `ini`/`json`/`yaml`
//! blocks of `docs/rules/<CODE>.md` (a fence may name the file, as in
//! `ini file=CfgPerson_annex_1.cfg`), or — when the example cannot be text
//! (binary, UTF-16) — `tests/cases/rules/<CODE>/fail.*` and `pass.*`. The
//! failing example's human render is the golden `expected.txt`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::{Golden, root, rule_example as example};
use scapi::render::{FileDiagnostics, human};
use scapi::rules::Code;

#[test]
fn every_rule_is_documented_and_has_fixtures() {
    let mut golden = Golden::default();
    for &code in Code::ALL {
        let doc = code.doc();
        for section in [
            "## What it checks",
            "## Why it matters",
            "## Example",
            "## Use instead",
        ] {
            if !doc.contains(section) {
                golden.fail(format!("{code}: documentation lacks `{section}`"));
            }
        }
        if code.summary().ends_with('.')
            || code
                .summary()
                .chars()
                .next()
                .is_some_and(char::is_uppercase)
        {
            golden.fail(format!(
                "{code}: the summary is a short lowercase phrase without a period"
            ));
        }
        match example(code, "## Example", "fail") {
            Ok((name, bytes, options)) => {
                let c = scapi::compile(&name, &bytes, &options);
                if !c.diagnostics.iter().any(|d| d.code == code) {
                    let got: Vec<_> = c.diagnostics.iter().map(|d| d.code.as_str()).collect();
                    golden.fail(format!(
                        "{code}: the example does not trigger it (got {got:?})"
                    ));
                }
                let files = [FileDiagnostics::of(c)];
                let dir = root().join("tests/cases/rules").join(code.as_str());
                golden.check(
                    &dir.join("expected.txt"),
                    &human::render_run(&files, human::Style::plain()),
                );
            }
            Err(e) => golden.fail(e),
        }
        match example(code, "## Use instead", "pass") {
            Ok((name, bytes, options)) => {
                let c = scapi::compile(&name, &bytes, &options);
                if let Some(d) = c.diagnostics.iter().find(|d| d.code == code) {
                    golden.fail(format!(
                        "{code}: the fixed version still triggers it: {}",
                        d.message
                    ));
                }
            }
            Err(e) => golden.fail(e),
        }
    }
    golden.finish();
}

/// No case folder for a rule that does not exist.
#[test]
fn rule_fixture_folders_match_the_catalog() {
    let dir = root().join("tests/cases/rules");
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            Code::parse(&name).is_some_and(|c| c.as_str() == name),
            "{name} is not a rule code"
        );
    }
}
