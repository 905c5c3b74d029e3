//! The case folders of `tests/cases/` that the policy tools are checked
//! against, a test per folder (`cargo test -p scapi-tools --test cases --
//! eval::adversarial_origins`); `BLESS=1` rewrites the expectations.
//!
//! - `eval/<case>/`: `policy.*` (an export or a compiled policy, JSON or
//!   YAML) and `requests.*` (JSON, JSON Lines or YAML). Expected: the JSON
//!   document (`expected.json`) and the human table (`expected.txt`). Items
//!   with `expect` make a case check itself: any mismatch fails, unless the
//!   case name says `mismatch`.
//! - `diff/<case>/`: `old.*` and `new.*` (exports or compiled policies, any
//!   mix). Expected: the human report (`expected.txt`) and the JSON
//!   document (`expected.json`); the reverse diff swaps every class.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::harness::Suite;
use scapi_testkit::{Golden, find_input, policy_of};
use scapi_tools::diff;
use scapi_tools::eval::{self, ReportFormat, RequestsFormat};
use std::path::Path;

fn main() {
    Suite::new()
        .cases("eval", None, eval_case)
        .cases("diff", None, diff_case)
        .run();
}

fn eval_case(dir: &Path, golden: &mut Golden) {
    let policy = policy_of(&find_input(dir, "policy").expect("policy.*"));
    let requests = find_input(dir, "requests").expect("requests.*");
    let text = std::fs::read_to_string(&requests).unwrap();
    let format = RequestsFormat::detect(requests.to_str().unwrap(), text.as_bytes());
    let name = dir.file_name().unwrap().to_str().unwrap();
    let mut json = Vec::new();
    let summary = eval::run_text(&policy, &text, format, ReportFormat::Json, &mut json)
        .unwrap_or_else(|e| panic!("{}: {e}", requests.display()));
    if summary.mismatches > 0 && !name.contains("mismatch") {
        golden.fail(format!(
            "{name}: {} expectations not met",
            summary.mismatches
        ));
    }
    golden.check(
        &dir.join("expected.json"),
        &String::from_utf8(json).unwrap(),
    );
    // The items read whole and replayed give the same report.
    let items = eval::parse_items(&text, format).unwrap();
    let (again, s) = eval::report(&policy, &items, ReportFormat::Json).unwrap();
    assert_eq!(
        again,
        std::fs::read_to_string(dir.join("expected.json")).unwrap_or_default(),
        "{name}"
    );
    assert_eq!(s, summary, "{name}");
    let mut human = Vec::new();
    eval::run_text(&policy, &text, format, ReportFormat::Human, &mut human).unwrap();
    golden.check(
        &dir.join("expected.txt"),
        &String::from_utf8(human).unwrap(),
    );
}

fn diff_case(dir: &Path, golden: &mut Golden) {
    let old = policy_of(&find_input(dir, "old").expect("old.*"));
    let new = policy_of(&find_input(dir, "new").expect("new.*"));
    let changes = diff::diff(&old, &new);
    golden.check(&dir.join("expected.txt"), &diff::to_human(&changes));
    golden.check(
        &dir.join("expected.json"),
        &scapi_policy::jsonfmt::to_string(&diff::to_json(&changes)),
    );
    // The reverse diff swaps every class.
    let back = diff::diff(&new, &old);
    let (w, n) = diff::counts(&changes);
    if diff::counts(&back) != (n, w) {
        golden.fail(format!(
            "{}: reversing the diff does not swap widening and narrowing",
            dir.display()
        ));
    }
}
