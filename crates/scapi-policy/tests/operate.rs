//! A broker's whole decision through its handle (`Active::decide`): shadow
//! mode, a candidate beside the active policy, metrics and headroom, the
//! decision log.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_policy::handle::{Call, Verdict};
use scapi_policy::limiter::{At, ManualClock, MemoryStore, Millis};
use scapi_policy::log::{ClientHasher, DecisionBuffer, Sampling};
use scapi_policy::metrics::Metrics;
use scapi_policy::policy::Shadow;
use scapi_policy::{CompiledPolicy, Outcome, Policy, PolicyHandle, Reason};
use std::sync::Arc;

const T0: Millis = 1_800_000_000_000; // a window's start

/// `https://crm.example.com` may call `voice.*` and `interaction.*`,
/// `https://kb.example.com` `agent.get`; `voice.dial` is limited to `limit`
/// a minute; `CaseId` is the one writable key.
fn policy(limit: u32) -> Policy {
    CompiledPolicy::load(&format!(
        r#"{{"schemaVersion": 1, "source": {{"name": "t.cfg", "sha256": "{limit:02}"}},
          "origins": [
            {{"origin": "https://crm.example.com", "allow": ["interaction.*", "voice.*"], "grants": [], "line": 2}},
            {{"origin": "https://kb.example.com", "allow": ["agent.get"], "grants": ["agent.get"], "line": 3}}
          ],
          "anyOrigin": null,
          "rateLimit": {{"windowSeconds": 60, "default": 0, "perRequest": {{"voice.dial": {limit}}}, "quarantineSeconds": 60}},
          "userData": {{"read": ["CaseId"], "write": ["CaseId"]}}, "webExtensions": []}}"#
    ))
    .map(|p| {
        // `grants` is checked against `allow`: fill it from the policy.
        let doc = CompiledPolicy::from(&p);
        doc.to_policy().unwrap()
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

fn shadowed(p: Policy, all: bool, entries: &[&str]) -> Policy {
    p.with_shadow(Shadow {
        all,
        entries: entries.iter().map(|e| e.to_string()).collect(),
    })
    .unwrap()
}

fn handle(p: Policy) -> PolicyHandle<MemoryStore<ManualClock>> {
    PolicyHandle::with_store(p, MemoryStore::with_clock(ManualClock::default()))
}

/// A day of traffic: dials past the limit, a request the entry does not
/// grant, an unknown origin, writes with and without a writable key.
fn trace() -> Vec<(&'static str, &'static str, Option<Vec<String>>)> {
    let keys = |k: &[&str]| Some(k.iter().map(|s| s.to_string()).collect());
    let mut t = Vec::new();
    for _ in 0..6 {
        t.push(("https://crm.example.com", "voice.dial", None));
    }
    t.push(("https://kb.example.com", "voice.dial", None));
    t.push(("https://evil.example", "agent.get", None));
    t.push((
        "https://crm.example.com",
        "interaction.setUserData",
        keys(&["CaseId", "Secret"]),
    ));
    t.push((
        "https://crm.example.com",
        "interaction.setUserData",
        keys(&["Secret"]),
    ));
    t
}

fn run<S: scapi_policy::limiter::CounterStore>(
    h: &PolicyHandle<S>,
) -> Vec<(Outcome, Reason, bool, Outcome)> {
    trace()
        .iter()
        .enumerate()
        .map(|(i, (origin, request, keys))| {
            let active = h.current();
            let v: Verdict<'_> = active.decide(&Call {
                keys: keys.as_deref(),
                at: At::Time(T0 + i as Millis),
                ..Call::new(origin, request, "agent-1")
            });
            (v.outcome, v.reason, v.shadow, v.enforced())
        })
        .collect()
}

#[test]
fn a_shadow_policy_decides_and_counts_as_when_enforcing_and_refuses_nothing() {
    let enforcing = run(&handle(policy(4)));
    let shadow = run(&handle(shadowed(policy(4), true, &[])));
    assert_eq!(enforcing.len(), shadow.len());
    for (e, s) in enforcing.iter().zip(&shadow) {
        // The same outcome and reason, counters moving alike…
        assert_eq!((e.0, e.1), (s.0, s.1));
        assert!(!e.2 && s.2);
        assert_eq!(e.3, e.0);
        // …and nothing refused.
        assert_eq!(s.3, Outcome::Allow);
    }
    let outcomes: Vec<_> = enforcing.iter().map(|e| e.0).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Allow,
            Outcome::Allow,
            Outcome::Allow,
            Outcome::Allow,
            Outcome::RateLimited,
            Outcome::Ignored,
            Outcome::Deny,
            Outcome::Deny,
            Outcome::Allow,
            Outcome::Deny,
        ]
    );
}

#[test]
fn a_shadow_entry_is_the_only_one_not_enforced() {
    let h = handle(shadowed(policy(4), false, &["https://kb.example.com"]));
    let got = run(&h);
    // The kb entry's refusal goes through, marked; crm's limit still holds.
    assert_eq!(
        got[6],
        (
            Outcome::Deny,
            Reason::RequestNotPermitted,
            true,
            Outcome::Allow
        )
    );
    assert_eq!(got[4].3, Outcome::RateLimited);
    assert_eq!(
        got[7],
        (
            Outcome::Deny,
            Reason::OriginNotAccepted,
            false,
            Outcome::Deny
        )
    );
    // A shadowed write keeps every key.
    let active = h.current();
    let keys = vec!["Secret".to_string()];
    let v = active.decide(&Call {
        keys: Some(&keys),
        at: At::Time(T0),
        ..Call::new("https://crm.example.com", "interaction.setUserData", "c")
    });
    assert_eq!(v.strip(), ["Secret"]);
    let shadow = handle(shadowed(policy(4), true, &[]));
    let active = shadow.current();
    let v = active.decide(&Call {
        keys: Some(&keys),
        at: At::Time(T0),
        ..Call::new("https://crm.example.com", "interaction.setUserData", "c")
    });
    assert_eq!(v.denied_keys, ["Secret"]);
    assert!(v.strip().is_empty());
}

#[test]
fn a_shadow_entry_the_policy_does_not_have_is_refused() {
    assert_eq!(
        policy(4)
            .with_shadow(Shadow {
                all: false,
                entries: ["*".to_string()].into(),
            })
            .unwrap_err(),
        "*"
    );
    let mut doc = CompiledPolicy::from(&policy(4));
    doc.shadow.entries = vec!["https://nope.example".into()];
    let e = doc.to_policy().unwrap_err();
    assert_eq!(e.kind(), scapi_policy::compiled::LoadErrorKind::Shadow);
    // The mark survives the document, and signing covers it.
    doc.shadow.entries = vec!["https://kb.example.com".into()];
    let text = doc.to_json();
    assert!(text.contains("\"shadow\""));
    let back = CompiledPolicy::load(&text).unwrap();
    assert!(back.shadow().entries.contains("https://kb.example.com"));
    assert!(
        !CompiledPolicy::from(&policy(4))
            .to_json()
            .contains("shadow")
    );
}

#[test]
fn a_candidate_counts_its_disagreements_in_counters_of_its_own() {
    let alone = run(&handle(policy(4)));
    let h = handle(policy(4));
    h.set_candidate(Some(policy(2)));
    let beside = run(&h);
    // The candidate changes no decision of the active policy…
    assert_eq!(alone, beside);
    let m = h.metrics().unwrap();
    assert_eq!(m.compared, trace().len() as u64);
    // …and differs on the 3rd to 5th dials: A A A A L I against a
    // candidate limit of 2, A A L I I I.
    let count = |a: Outcome, c: Outcome| {
        m.disagreements
            .iter()
            .find(|d| d.active == a && d.candidate == c)
            .map_or(0, |d| d.count)
    };
    assert_eq!(count(Outcome::Allow, Outcome::RateLimited), 1);
    assert_eq!(count(Outcome::Allow, Outcome::Ignored), 1);
    assert_eq!(count(Outcome::RateLimited, Outcome::Ignored), 1);
    assert_eq!(m.disagreements.len(), 3);
}

#[test]
fn metrics_count_every_decision_with_headroom_and_near_limit() {
    let h = handle(policy(4)).with_metrics(Some(Metrics::new(0.75)));
    let active = h.current();
    let mut remaining = Vec::new();
    for i in 0..5 {
        let v = active.decide(&Call {
            at: At::Time(T0 + 10_000 + i),
            ..Call::new("https://crm.example.com", "voice.dial", "a")
        });
        let a = v.admission.unwrap();
        remaining.push((a.remaining(), a.reset_at()));
    }
    assert_eq!(
        remaining,
        [
            (Some(3), Some(T0 + 60_000)),
            (Some(2), Some(T0 + 60_000)),
            (Some(1), Some(T0 + 60_000)),
            (Some(0), Some(T0 + 60_000)),
            // Limited: the quarantine's end.
            (Some(0), Some(T0 + 10_004 + 60_000)),
        ]
    );
    // An unlimited request has no headroom.
    let v = active.decide(&Call {
        at: At::Time(T0),
        ..Call::new("https://crm.example.com", "voice.hangUp", "a")
    });
    assert_eq!(v.admission.unwrap().remaining(), None);
    let m = h.metrics().unwrap();
    // 3 of 4 and 4 of 4 used are at or past 0.75.
    assert_eq!(m.near_limit["voice.dial"], 2);
    let total: u64 = m.decisions.iter().map(|d| d.count).sum();
    assert_eq!(total, 6);
    assert_eq!(m.limits.per_request["voice.dial"], 4);
    // Without metrics, nothing is counted.
    assert!(handle(policy(4)).with_metrics(None).metrics().is_none());
}

#[test]
fn the_log_gets_one_record_per_decision_and_changes_none() {
    let buffer = Arc::new(DecisionBuffer::new(100, Sampling::default()));
    let h = handle(shadowed(policy(4), false, &["https://kb.example.com"]))
        .with_decision_log(buffer.clone(), ClientHasher::new(b"salt"));
    let logged = run(&h);
    let plain = run(&handle(shadowed(
        policy(4),
        false,
        &["https://kb.example.com"],
    )));
    assert_eq!(logged, plain);
    let records = buffer.drain();
    assert_eq!(records.len(), trace().len());
    for (r, d) in records.iter().zip(&logged) {
        assert_eq!((r.outcome, r.reason, r.shadow), (d.0, d.1, d.2));
        assert_ne!(r.client, "agent-1");
    }
    assert_eq!(records[0].time, T0);
}

#[test]
fn a_swap_keeps_metrics_candidate_and_log() {
    let buffer = Arc::new(DecisionBuffer::new(100, Sampling::default()));
    let h = handle(policy(4)).with_decision_log(buffer.clone(), ClientHasher::new(b""));
    h.set_candidate(Some(policy(2)));
    run(&h);
    h.swap(policy(8));
    run(&h);
    let m = h.metrics().unwrap();
    assert_eq!(m.generation, 1);
    assert_eq!(m.compared, 2 * trace().len() as u64);
    assert_eq!(m.limits.per_request["voice.dial"], 8);
    assert_eq!(buffer.drain().len(), 2 * trace().len());
}

/// A shadow entry's decisions count on their own: however far past its
/// limit it goes, no enforced decision refuses anything it would not have
/// (here, after a swap removes the mark).
#[test]
fn shadow_decisions_never_make_an_enforcing_one_refuse() {
    let h = handle(shadowed(policy(2), false, &["https://crm.example.com"]));
    let at = |i: i64| At::Time(T0 + i);
    let active = h.current();
    // Three shadow dials: the third would be limited (in shadow).
    for i in 0..3 {
        let v = active.decide(&Call {
            at: at(i),
            ..Call::new("https://crm.example.com", "voice.dial", "a")
        });
        assert!(v.shadow);
        assert_eq!(v.enforced(), Outcome::Allow);
    }
    // The same client, now enforced (the mark removed by a swap): its own
    // counters are fresh, not the shadow ones.
    h.swap(policy(2));
    let active = h.current();
    let outcomes: Vec<_> = (3..6)
        .map(|i| {
            active
                .decide(&Call {
                    at: at(i),
                    ..Call::new("https://crm.example.com", "voice.dial", "a")
                })
                .outcome
        })
        .collect();
    assert_eq!(
        outcomes,
        [Outcome::Allow, Outcome::Allow, Outcome::RateLimited]
    );
}

#[test]
fn ending_a_session_ends_it_for_the_candidate_and_in_shadow_too() {
    let h = handle(policy(2));
    h.set_candidate(Some(policy(2)));
    let dial = |i: i64| {
        h.current()
            .decide(&Call {
                at: At::Time(T0 + i),
                ..Call::new("https://crm.example.com", "voice.dial", "a")
            })
            .outcome
    };
    for i in 0..3 {
        dial(i);
    }
    h.end_session("a").unwrap();
    assert_eq!(dial(4), Outcome::Allow);
    // The same policy beside itself never disagrees.
    assert!(h.metrics().unwrap().disagreements.is_empty());
}

#[test]
fn load_errors_name_no_rust_type() {
    for text in [
        "[1]",
        r#"{"schemaVersion": 1, "source": [1, 2]}"#,
        r#"{"schemaVersion": 1, "origins": 5}"#,
        "{}",
    ] {
        let e = CompiledPolicy::load(text).unwrap_err();
        let message = e.to_string();
        assert!(
            !message.contains("struct") && !message.contains("Compiled"),
            "{text}: {message}"
        );
    }
    let e = CompiledPolicy::load("[1]").unwrap_err().to_string();
    assert!(e.contains("expected a compiled policy object"), "{e}");
}

#[test]
fn shadow_is_an_object_never_an_array() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/wwews-cluster.policy.json"
    ))
    .unwrap();
    let with = |shadow: &str| text.replacen("\n}", &format!(",\n  \"shadow\": {shadow}\n}}"), 1);
    let e = CompiledPolicy::load(&with("[true, []]")).unwrap_err();
    assert!(e.to_string().contains("`shadow` must be an object"), "{e}");
    let p = CompiledPolicy::load(&with(r#"{"all": true}"#)).unwrap();
    assert!(p.shadow().all);
}
