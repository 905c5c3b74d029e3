//! Diff harness: `tests/cases/diff/<case>/` holds `old.*` and `new.*`
//! (exports or compiled policies, any mix). Expected: the human report
//! (`expected.txt`) and the JSON document (`expected.json`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::{Golden, cases, find_input, policy_of};
use scapi_tools::diff;

#[test]
fn diff_cases() {
    let mut golden = Golden::default();
    for dir in cases("diff") {
        let old = policy_of(&find_input(&dir, "old").expect("old.*"));
        let new = policy_of(&find_input(&dir, "new").expect("new.*"));
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
    golden.finish();
}
