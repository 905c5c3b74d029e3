//! The decision log never holds an attached-data value: requests and
//! events with generated attached data, each value a planted marker, are
//! replayed with a decision log, and the log's bytes are searched for
//! every marker (and for the client ids, which are hashed).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use scapi_policy::log::{ClientHasher, DecisionBuffer, Sampling};
use scapi_tools::eval::{self, Hooks, ReportFormat};

const EXPORT: &str = "[interaction-workspace]\n\
    service-client-api.accepted-web-content-origins=https://crm.example.com (*)\n\
    service-client-api.rate-limit=3\n\
    service-client-api.user-data.read-allowed=CaseId\n\
    service-client-api.user-data.write-allowed=CaseId, Marker\n";

const REQUESTS: &[&str] = &[
    "interaction.setUserData",
    "voice.dialEx",
    "interaction.singleStepTransfer",
    "interaction.consult",
    "agent.get",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_attached_data_value_reaches_the_log(
        items in prop::collection::vec((0usize..5, "[a-z]{1,6}", 0u32..1000, any::<bool>()), 1..40),
    ) {
        let policy = scapi::compile("p.cfg", EXPORT.as_bytes(), &scapi::Options::default())
            .policy
            .unwrap();
        let mut lines = String::new();
        let mut markers = Vec::new();
        for (i, (request, key, n, event)) in items.iter().enumerate() {
            let marker = format!("MARKER{n}X{i}");
            let client = format!("client-{key}");
            let item = if *event {
                serde_json::json!({"at": i, "event": {"messageType": "notification", "data": {"userData": {key.as_str(): marker, "CaseId": marker}}}})
            } else {
                serde_json::json!({"at": i, "origin": "https://crm.example.com", "request": REQUESTS[*request], "client": client,
                    "userData": {key.as_str(): marker, "Marker": marker, "CaseId": marker}})
            };
            // `agent.get` carries no attached data.
            let mut item = item;
            if !*event && *request == 4 {
                item.as_object_mut().unwrap().remove("userData");
            }
            lines.push_str(&format!("{item}\n"));
            markers.push(marker);
            markers.push(client);
        }
        let buffer = std::sync::Arc::new(DecisionBuffer::new(1000, Sampling::default()));
        let handle = eval::fresh_handle(policy)
            .with_decision_log(buffer.clone(), ClientHasher::new(b"salt"));
        let requests = items.iter().filter(|(_, _, _, event)| !event).count();
        let stream = eval::JsonLines::new(lines.as_bytes(), u64::MAX);
        let mut report = Vec::new();
        eval::run(&handle, stream, ReportFormat::Json, &mut report, Hooks::none()).unwrap();
        let records = buffer.drain();
        // One record per request decided (events are not decisions).
        prop_assert_eq!(records.len(), requests);
        let log: String = records.iter().map(|r| r.to_json_line() + "\n").collect();
        for m in &markers {
            prop_assert!(!log.contains(m.as_str()), "`{}` is in the log:\n{}", m, log);
        }
        // The report shows the redacted events: the markers were there to find.
        let report = String::from_utf8(report).unwrap();
        prop_assert!(!items.iter().any(|(_, _, _, e)| *e) || report.contains("MARKER"));
    }
}
