//! `scapi serve` decides every eval case as `scapi eval` does: a test per
//! case folder of `tests/cases/eval` (`eval::<case>::serve`) starts the
//! service on the case's policy (with `--allow-client-time`, so each item
//! keeps its time), sends each request to `POST /v1/check` and each event
//! to `POST /v1/redact` over HTTP, and requires the outcome, reason and
//! entry of `expected.json` — the redacted event and removed keys for
//! events. A case that switches policies mid-replay is skipped: that is a
//! reload, tested in `serve.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::harness::Suite;
use scapi_testkit::service::Service;
use scapi_testkit::{Golden, find_input, root};
use scapi_tools::eval::{self, ItemKind};
use serde_json::{Value, json};
use std::path::Path;

fn main() {
    Suite::new()
        .cases_where(
            "eval",
            Some("serve"),
            |dir| {
                let requests = find_input(dir, "requests")?;
                let text = std::fs::read_to_string(&requests).ok()?;
                // A case that switches policies is a reload: `serve.rs`.
                (!text.contains("\"policy\"")).then_some(false)
            },
            serve_case,
        )
        .run();
}

fn serve_case(dir: &Path, golden: &mut Golden) {
    let policy = find_input(dir, "policy").expect("policy.*");
    let requests = find_input(dir, "requests").expect("requests.*");
    let text = std::fs::read_to_string(&requests).unwrap();
    let format = eval::RequestsFormat::detect(requests.to_str().unwrap(), text.as_bytes());
    let items = eval::parse_items(&text, format).unwrap();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let service = Service::start(
        Path::new(env!("CARGO_BIN_EXE_scapi")),
        &[
            policy.to_str().unwrap(),
            "--allow-client-time",
            "--no-watch",
        ],
        &root(),
    );
    for (item, want) in items.iter().zip(expected["decisions"].as_array().unwrap()) {
        match &item.kind {
            ItemKind::Request(r) => {
                let mut body = json!({
                    "origin": r.origin,
                    "request": r.request,
                    "client": r.client,
                    "frame": r.frame.as_str(),
                    "at": item.at,
                });
                if let Some(keys) = &r.user_data {
                    let map: serde_json::Map<String, Value> =
                        keys.iter().map(|k| (k.clone(), json!("v"))).collect();
                    body["userData"] = Value::Object(map);
                } else if let Some(keys) = &r.keys {
                    body["keys"] = json!(keys);
                }
                let got = service.post_json("/v1/check", &body);
                golden.pass();
                for field in ["outcome", "reason", "entry"] {
                    if got[field] != want[field] {
                        golden.fail(format!(
                            "item {}: `{field}` is {} from the service, {} from `scapi eval`",
                            item.index, got[field], want[field]
                        ));
                    }
                }
                let denied = want.get("deniedKeys").cloned().unwrap_or(json!([]));
                if got["deniedKeys"] != denied {
                    golden.fail(format!(
                        "item {}: denied keys {} from the service, {denied} from `scapi eval`",
                        item.index, got["deniedKeys"]
                    ));
                }
            }
            ItemKind::Event(event) => {
                let event: Value = serde_json::from_str(event).unwrap();
                let got = service.post_json("/v1/redact", &json!({ "event": event }));
                golden.pass();
                if got["event"] != want["event"] || got["removed"] != want["removedKeys"] {
                    golden.fail(format!(
                        "item {}: the service redacted to {} (removed {}), `scapi eval` to {} (removed {})",
                        item.index, got["event"], got["removed"], want["event"], want["removedKeys"]
                    ));
                }
            }
            ItemKind::Policy(_) => unreachable!("cases with policy items are left out"),
        }
    }
}
