//! Fixes compose: applying every fix of one lint run at once gives a file
//! without those findings and without new ones — for every rule page's
//! examples, every rule and lint case, and the shipped examples. Lowering
//! reports one finding per root cause (a consequence of an entry that has
//! an error is not a finding of its own), so fixes never fight.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi::rules::Code;
use scapi_testkit::{cases, lint_input, root, rule_example};
use std::collections::BTreeMap;

/// Every input the property runs on: (what, file name, bytes, options).
fn inputs() -> Vec<(String, String, Vec<u8>, scapi::Options)> {
    let mut out = Vec::new();
    for &code in Code::ALL {
        for heading in ["## Example", "## Use instead"] {
            let stem = if heading == "## Example" {
                "fail"
            } else {
                "pass"
            };
            if let Ok((name, bytes, options)) = rule_example(code, heading, stem) {
                out.push((format!("{code} {heading}"), name, bytes, options));
            }
        }
    }
    for dir in cases("lint") {
        let input = lint_input(&dir);
        let name = input.file_name().unwrap().to_str().unwrap().to_string();
        out.push((
            input.display().to_string(),
            name,
            std::fs::read(&input).unwrap(),
            scapi_testkit::options(&dir),
        ));
    }
    for e in std::fs::read_dir(root().join("examples")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if name.ends_with(".cfg") || name.ends_with(".json") || name.ends_with(".yaml") {
            out.push((
                p.display().to_string(),
                name,
                std::fs::read(&p).unwrap(),
                scapi::Options::default(),
            ));
        }
    }
    out
}

fn counts(ds: &[scapi::diagnostic::Diagnostic]) -> BTreeMap<Code, usize> {
    let mut m = BTreeMap::new();
    for d in ds {
        *m.entry(d.code).or_default() += 1;
    }
    m
}

#[test]
fn all_fixes_of_a_run_apply_together() {
    let mut failures = Vec::new();
    let mut fixed_files = 0;
    for (what, name, bytes, options) in inputs() {
        let before = scapi::compile(&name, &bytes, &options);
        if before.is_unreadable() {
            continue;
        }
        let fixes: Vec<_> = before
            .diagnostics
            .iter()
            .filter_map(|d| d.fix.as_ref())
            .collect();
        if fixes.is_empty() {
            continue;
        }
        // Fix spans are offsets into the file's text (without a BOM).
        let text = before.source.text();
        let fixed = match scapi::fix::apply(text, fixes.iter().copied()) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{what}: {e}"));
                continue;
            }
        };
        fixed_files += 1;
        let after = scapi::compile(&name, fixed.as_bytes(), &options);
        let mut allowed = counts(&before.diagnostics);
        for d in before.diagnostics.iter().filter(|d| d.fix.is_some()) {
            if let Some(n) = allowed.get_mut(&d.code) {
                *n -= 1;
            }
        }
        for (code, n) in counts(&after.diagnostics) {
            let limit = allowed.get(&code).copied().unwrap_or(0);
            if n > limit {
                let shown: Vec<_> = after
                    .diagnostics
                    .iter()
                    .filter(|d| d.code == code)
                    .map(|d| d.message.clone())
                    .collect();
                failures.push(format!(
                    "{what}: after every fix, {n} `{code}` (at most {limit} expected): {shown:?}\n--- fixed text\n{fixed}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(fixed_files >= 30, "only {fixed_files} files had fixes");
}

/// `lint --fix` on every input: safe fixes only, then every fix. No fix
/// revives or adds a finding (a regression refuses the write), every
/// finding fixed is gone, and no fix of the kind applied is left.
#[test]
fn lint_fix_leaves_no_fixable_finding_and_adds_none() {
    let mut failures = Vec::new();
    let mut fixed = 0;
    for (what, name, bytes, options) in inputs() {
        for include_unsafe in [false, true] {
            let run = match scapi::fix::fix_file(&name, bytes.clone(), &options, include_unsafe) {
                Ok(r) => r,
                Err(e) => {
                    failures.push(format!("{what} (unsafe: {include_unsafe}): {e}"));
                    continue;
                }
            };
            fixed += run.fixed.len();
            let left: Vec<_> = run
                .after
                .diagnostics
                .iter()
                .filter(|d| {
                    d.fix.as_ref().is_some_and(|f| {
                        include_unsafe || f.applicability == scapi::diagnostic::Applicability::Safe
                    })
                })
                .map(|d| format!("{} {}", d.code, d.message))
                .collect();
            if !left.is_empty() {
                failures.push(format!(
                    "{what} (unsafe: {include_unsafe}): fixable findings left: {left:?}"
                ));
            }
            // The bytes written are the file compiled last.
            if let Some(fixed) = &run.fixed_bytes {
                let again = scapi::compile(&name, fixed, &options);
                if counts(&again.diagnostics) != counts(&run.after.diagnostics) {
                    failures.push(format!(
                        "{what}: the written bytes are not the ones checked"
                    ));
                }
            } else if !run.fixed.is_empty() {
                failures.push(format!("{what}: findings fixed, yet no bytes to write"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(fixed >= 60, "only {fixed} findings fixed");
}

/// A safe fix widens nothing: after `lint --fix` (safe fixes only), `scapi
/// diff before after` reports no widening — for every rule page's examples,
/// every lint and rule case, and the shipped examples. What would widen
/// (a trailing slash removed from an entry that matched nothing, an origin
/// added) is an unsafe fix, applied only with `--unsafe-fixes`.
#[test]
fn safe_fixes_widen_nothing() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (what, name, bytes, options) in inputs() {
        let before = scapi::compile(&name, &bytes, &options);
        let run = match scapi::fix::fix_file(&name, bytes.clone(), &options, false) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{what}: {e}"));
                continue;
            }
        };
        let (Some(old), Some(new)) = (&before.policy, &run.after.policy) else {
            continue;
        };
        if !run.changed() {
            continue;
        }
        checked += 1;
        let widening: Vec<_> = scapi_tools::diff::diff(old, new)
            .into_iter()
            .filter(|c| c.class == scapi_tools::diff::Class::Widening)
            .map(|c| c.message)
            .collect();
        if !widening.is_empty() {
            let rules: Vec<_> = run.fixed.iter().map(|d| d.code.to_string()).collect();
            failures.push(format!("{what}: safe fixes {rules:?} widen: {widening:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(checked >= 30, "only {checked} files changed by safe fixes");
}
