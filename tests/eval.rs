//! Eval harness: `tests/cases/eval/<case>/` holds `policy.*` (an export or
//! a compiled policy JSON) and `requests.*` (JSON, JSON Lines or YAML).
//! Expected: the JSON document (`expected.json`) and the human table
//! (`expected.txt`). Items with `expect` make a case check itself: any
//! mismatch fails, unless the case name says `mismatch`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Golden, cases, find_input, policy_of};
use scapi::eval::{self, RequestsFormat, Summary};

#[test]
fn eval_cases() {
    let mut golden = Golden::default();
    for dir in cases("eval") {
        let policy = policy_of(&find_input(&dir, "policy").expect("policy.*"));
        let requests = find_input(&dir, "requests").expect("requests.*");
        let text = std::fs::read_to_string(&requests).unwrap();
        let items = eval::parse_items(
            &text,
            RequestsFormat::detect(requests.to_str().unwrap(), &text),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", requests.display()));
        let evaluated = eval::evaluate(&policy, &items);
        let summary = Summary::of(&evaluated);
        let name = dir.file_name().unwrap().to_str().unwrap();
        if summary.mismatches > 0 && !name.contains("mismatch") {
            let bad: Vec<_> = evaluated
                .iter()
                .filter(|e| e.mismatch.is_some())
                .map(|e| (e.index, e.mismatch, e.outcome, e.reason))
                .collect();
            golden.fail(format!("{name}: expectations not met: {bad:?}"));
        }
        let json = scapi::jsonfmt::to_string(&eval::to_json(&evaluated));
        golden.check(&dir.join("expected.json"), &json);
        // `scapi eval` streams the same document, decision by decision.
        let format = RequestsFormat::detect(requests.to_str().unwrap(), &text);
        let mut streamed = Vec::new();
        let s = eval::run(
            &policy,
            &text,
            format,
            eval::ReportFormat::Json,
            &mut streamed,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            json,
            "{name}: streamed report"
        );
        assert_eq!(s, summary, "{name}");
        golden.check(
            &dir.join("expected.txt"),
            &eval::to_human(&items, &evaluated),
        );
    }
    golden.finish();
}
