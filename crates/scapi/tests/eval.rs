//! Eval harness: `tests/cases/eval/<case>/` holds `policy.*` (an export or
//! a compiled policy, JSON or YAML) and `requests.*` (JSON, JSON Lines or
//! YAML). Expected: the JSON document (`expected.json`) and the human table
//! (`expected.txt`). Items with `expect` make a case check itself: any
//! mismatch fails, unless the case name says `mismatch`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::{Golden, cases, find_input, policy_of};
use scapi_tools::eval::{self, ReportFormat, RequestsFormat};

#[test]
fn eval_cases() {
    let mut golden = Golden::default();
    for dir in cases("eval") {
        let policy = policy_of(&find_input(&dir, "policy").expect("policy.*"));
        let requests = find_input(&dir, "requests").expect("requests.*");
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
    golden.finish();
}
