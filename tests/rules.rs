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

mod common;

use common::{Golden, find_input, root};
use scapi::render::{FileDiagnostics, human};
use scapi::rules::Code;

/// One fenced block: its info string and its text.
fn blocks_after<'a>(doc: &'a str, heading: &str) -> Option<(&'a str, &'a str)> {
    let after = doc.split_once(heading)?.1;
    let fence = after.split_once("```")?.1;
    let (info, rest) = fence.split_once('\n')?;
    let body = rest.split_once("```")?.0;
    Some((info.trim(), body))
}

/// The input of an example: (file name, bytes, options).
fn example(
    code: Code,
    heading: &str,
    stem: &str,
) -> Result<(String, Vec<u8>, scapi::Options), String> {
    let (info, body) = blocks_after(code.doc(), heading)
        .ok_or(format!("{code}: no code block under {heading}"))?;
    let mut words = info.split_whitespace();
    let lang = words.next().unwrap_or("");
    let file = words.find_map(|w| w.strip_prefix("file="));
    let ext = match lang {
        "ini" | "cfg" => "cfg",
        "json" => "json",
        "yaml" => "yaml",
        "text" => {
            let dir = root().join("tests/cases/rules").join(code.as_str());
            let path = find_input(&dir, stem).ok_or(format!(
                "{code}: the example is text, so {}/{stem}.* is needed",
                dir.display()
            ))?;
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            return Ok((name, std::fs::read(&path).unwrap(), common::options(&dir)));
        }
        other => return Err(format!("{code}: unknown fence language `{other}`")),
    };
    let name = file.map_or(format!("example.{ext}"), str::to_string);
    Ok((name, body.as_bytes().to_vec(), scapi::Options::default()))
}

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
