//! The case folders of `tests/cases/` that the compiler's output is checked
//! against, a test per folder (`cargo test -p scapi --test cases --
//! lint::agent_group_flag`); `BLESS=1` rewrites the expectations.
//!
//! - `lint/<case>/`: an export named `input.*` (or a GAX file name such as
//!   `CfgPerson_annex_1.cfg`), optional `args` (`--object …`,
//!   `--input-format …`), the expected human render (`expected.txt`,
//!   unicode without colour at 80 columns) and JSON report
//!   (`expected.json`); `lint::<case>::compiled`: a case whose export
//!   compiles (no errors) has its compiled policy in `compiled.json`, one
//!   that does not must not have one.
//! - `fmt/<case>/`: `input.cfg` and its formatted form `expected.cfg`;
//!   formatting is idempotent, the policy is unchanged, and every line that
//!   is not a rewritten `service-client-api.*` value keeps its bytes.
//! - `rules::<CODE>`: every rule has a documentation page with the four
//!   sections, an example that triggers it and a fixed version that does
//!   not: fenced `ini`/`json`/`yaml` blocks of `docs/rules/<CODE>.md` (a
//!   fence may name the file, as in `ini file=CfgPerson_annex_1.cfg`), or —
//!   when the example cannot be text (binary, UTF-16) —
//!   `tests/cases/rules/<CODE>/fail.*` and `pass.*`. The failing example's
//!   human render is the golden `expected.txt`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi::render::{FileDiagnostics, human, json, sarif};
use scapi::rules::Code;
use scapi_policy::compiled::CompiledPolicy;
use scapi_testkit::harness::Suite;
use scapi_testkit::{Golden, root, rule_example as example};
use std::path::Path;

fn main() {
    Suite::new()
        .cases("lint", None, lint)
        // A case with options of its own is not the default compilation.
        .cases_where(
            "lint",
            Some("compiled"),
            |dir| (!dir.join("args").exists()).then_some(false),
            compiled,
        )
        .cases("fmt", None, fmt)
        .each(
            "rules",
            Code::ALL.iter().map(|c| (c.as_str().to_string(), *c)),
            rule,
        )
        .test(
            "rules::fixture_folders_match_the_catalog",
            fixture_folders_match_the_catalog,
        )
        .run();
}

fn lint(dir: &Path, golden: &mut Golden) {
    let input = scapi_testkit::lint_input(dir);
    let name = input.file_name().unwrap().to_str().unwrap();
    let bytes = std::fs::read(&input).unwrap();
    let c = scapi::compile(name, &bytes, &scapi_testkit::options(dir));
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

fn compiled(dir: &Path, golden: &mut Golden) {
    let input = scapi_testkit::lint_input(dir);
    let name = input.file_name().unwrap().to_str().unwrap();
    let c = scapi::compile(
        name,
        &std::fs::read(&input).unwrap(),
        &scapi::Options::default(),
    );
    let path = dir.join("compiled.json");
    match c.policy {
        Some(p) if !c.has_errors() => {
            let doc = CompiledPolicy::from(&p);
            golden.check(&path, &doc.to_json());
            // `scapi compile` streams the same bytes, JSON and YAML.
            let mut json = Vec::new();
            CompiledPolicy::write_json(&p, &mut json).unwrap();
            assert_eq!(
                String::from_utf8(json).unwrap(),
                doc.to_json(),
                "{}",
                dir.display()
            );
            let mut yaml = Vec::new();
            scapi::write_compiled_yaml(&p, &mut yaml).unwrap();
            assert_eq!(
                String::from_utf8(yaml.clone()).unwrap(),
                serde_yaml_ng::to_string(&doc).unwrap(),
                "{}",
                dir.display()
            );
            // Every output format loads back wherever a compiled policy
            // is accepted, as the same policy.
            for (format, bytes) in [("json", doc.to_json().into_bytes()), ("yaml", yaml)] {
                match scapi::load("policy", &bytes, &scapi::Options::default()) {
                    Ok(scapi::Loaded::Compiled(loaded)) => assert!(
                        loaded.same_rules(&p),
                        "{}: the {format} policy loads as another policy",
                        dir.display()
                    ),
                    Ok(scapi::Loaded::Export(_)) => golden.fail(format!(
                        "{}: the compiled {format} is taken for an export",
                        dir.display()
                    )),
                    Err(e) => golden.fail(format!(
                        "{}: the compiled {format} does not load: {e}",
                        dir.display()
                    )),
                }
            }
        }
        _ => {
            golden.pass();
            if path.exists() {
                if scapi_testkit::blessing() {
                    std::fs::remove_file(&path).unwrap();
                } else {
                    golden.fail(format!(
                        "{} exists but the export does not compile",
                        path.display()
                    ));
                }
            }
        }
    }
}

fn policy(text: &str) -> String {
    let c = scapi::compile("x.cfg", text.as_bytes(), &scapi::Options::default());
    let mut doc = CompiledPolicy::from(&c.policy.unwrap());
    doc.source.sha256.clear();
    doc.to_json()
}

fn fmt(dir: &Path, golden: &mut Golden) {
    let input = std::fs::read_to_string(dir.join("input.cfg")).unwrap();
    let f = scapi::fmt::format("input.cfg", input.as_bytes(), &scapi::Options::default()).unwrap();
    golden.check(&dir.join("expected.cfg"), &f.text);
    let again =
        scapi::fmt::format("input.cfg", f.text.as_bytes(), &scapi::Options::default()).unwrap();
    if again.changed() {
        golden.fail(format!(
            "{}: formatting twice changes {:?}",
            dir.display(),
            again.changes
        ));
    }
    if policy(&input) != policy(&f.text) {
        golden.fail(format!("{}: the policy changed", dir.display()));
    }
    let changed: Vec<usize> = f.changes.iter().map(|c| c.0).collect();
    for (i, (a, b)) in input.split('\n').zip(f.text.split('\n')).enumerate() {
        let untouched = !changed.contains(&(i + 1));
        if untouched && a != b {
            golden.fail(format!(
                "{}: line {} changed though no value on it was rewritten",
                dir.display(),
                i + 1
            ));
        }
        if !untouched && !a.contains("service-client-api.") {
            golden.fail(format!(
                "{}: line {} is not a service-client-api option",
                dir.display(),
                i + 1
            ));
        }
    }
    if input.split('\n').count() != f.text.split('\n').count() {
        golden.fail(format!("{}: the number of lines changed", dir.display()));
    }
}

fn rule(code: Code, golden: &mut Golden) {
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

/// No case folder for a rule that does not exist.
fn fixture_folders_match_the_catalog() {
    let dir = root().join("tests/cases/rules");
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            Code::parse(&name).is_some_and(|c| c.as_str() == name),
            "{name} is not a rule code"
        );
    }
}
