//! fmt harness: `tests/cases/fmt/<case>/input.cfg` and its formatted form
//! `expected.cfg`. Also checked for every case: formatting is idempotent,
//! the policy is unchanged, and every line that is not a rewritten
//! `service-client-api.*` value keeps its bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::{Golden, cases};
use scapi_policy::compiled::CompiledPolicy;

fn policy(text: &str) -> String {
    let c = scapi::compile("x.cfg", text.as_bytes(), &scapi::Options::default());
    let mut doc = CompiledPolicy::from(&c.policy.unwrap());
    doc.source.sha256.clear();
    doc.to_json()
}

#[test]
fn fmt_cases() {
    let mut golden = Golden::default();
    for dir in cases("fmt") {
        let input = std::fs::read_to_string(dir.join("input.cfg")).unwrap();
        let f =
            scapi::fmt::format("input.cfg", input.as_bytes(), &scapi::Options::default()).unwrap();
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
    golden.finish();
}
