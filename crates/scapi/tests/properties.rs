//! Properties checked on generated inputs.
//!
//! * Evaluating an export and evaluating its compiled JSON decide every
//!   request stream identically (compile → JSON → load is lossless).
//! * Compile → JSON → load → JSON gives the same bytes.
//! * `auth.getJwtToken` is granted only by an entry that names it.
//! * Configured origins compile to strings the presented-origin check
//!   accepts as canonical.
//! * Valid origin lists, written with any spacing, case, default ports and
//!   filter order, round-trip parse → fmt → parse: the formatted list means
//!   the same policy, parses without a finding, and is a fixed point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use scapi_policy::compiled::CompiledPolicy;
use scapi_tools::eval::{self, Item, ItemKind, RequestItem};

const ORIGINS: &[&str] = &[
    "https://crm.example.com",
    "https://kb.example.com",
    "http://localhost:8080",
    "https://[2001:db8::1]:8443",
    "HTTPS://Dialer.Example.com:443",
    "https://bücher.example",
];
const PRESENTED: &[&str] = &[
    "https://crm.example.com",
    "https://kb.example.com",
    "http://localhost:8080",
    "https://[2001:db8::1]:8443",
    "https://dialer.example.com",
    "https://xn--bcher-kva.example",
    "https://evil.example",
    "https://CRM.example.com",
    "null",
    "https://crm.example.com/",
];
const FILTERS: &[&str] = &[
    "*",
    "agent.*",
    "voice.*",
    "voice.dial",
    "auth.getJwtToken",
    "auth.*",
    "interaction.setUserData",
    "newns.*",
    "agent.newThing",
];
const REQUESTS: &[&str] = &[
    "agent.get",
    "voice.dial",
    "voice.dialEx",
    "auth.getJwtToken",
    "email.create",
    "newns.x",
    "agent.newThing",
    "Agent.get",
    "bad name",
];
const CLIENTS: &[&str] = &["a", "b"];

fn entry() -> impl Strategy<Value = String> {
    let target = prop_oneof![4 => proptest::sample::select(ORIGINS).prop_map(str::to_string), 1 => Just("*".to_string())];
    let filters = proptest::option::of(proptest::sample::subsequence(FILTERS, 1..4));
    (target, filters).prop_map(|(t, f)| match f {
        Some(f) => format!("{t} ({})", f.join(", ")),
        None => t,
    })
}

fn export() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(entry(), 0..5),
        0u32..4,
        proptest::option::of((proptest::sample::select(REQUESTS), 0u32..3)),
        prop_oneof![Just(None), (0u32..90).prop_map(Some)],
    )
        .prop_map(|(entries, global, per, q)| {
            let mut s = format!(
                "service-client-api.accepted-web-content-origins={}\n",
                entries.join(", ")
            );
            s.push_str(&format!("service-client-api.rate-limit={global}\n"));
            if let Some((r, n)) = per {
                s.push_str(&format!("service-client-api.rate-limit.{r}={n}\n"));
            }
            if let Some(q) = q {
                s.push_str(&format!(
                    "service-client-api.rate-limit-quarantine-delay={q}\n"
                ));
            }
            s
        })
}

fn stream() -> impl Strategy<Value = Vec<Item>> {
    proptest::collection::vec(
        (
            0i64..40_000,
            proptest::sample::select(PRESENTED),
            proptest::sample::select(REQUESTS),
            proptest::sample::select(CLIENTS),
        ),
        0..60,
    )
    .prop_map(|steps| {
        let mut at = 1_795_168_800_000;
        steps
            .into_iter()
            .enumerate()
            .map(|(index, (dt, origin, request, client))| {
                at += dt;
                Item {
                    index,
                    line: None,
                    at,
                    kind: ItemKind::Request(RequestItem {
                        origin: origin.into(),
                        request: request.into(),
                        client: client.into(),
                        user_data: None,
                        keys: None,
                        frame: scapi::runtime::Frame::Embedded,
                    }),
                    expect: None,
                }
            })
            .collect()
    })
}

/// A valid origin-list entry written loosely: any case in scheme and host,
/// default ports spelled out, spaces around separators.
fn loose_entry() -> impl Strategy<Value = String> {
    let scheme = proptest::sample::select(&["https", "HTTPS", "Https", "http"][..]);
    let label = "[a-z][a-z0-9-]{0,6}[a-z0-9]";
    let host = prop_oneof![
        proptest::collection::vec(label, 1..4).prop_map(|l| l.join(".")),
        Just("LocalHost".to_string()),
        Just("[2001:DB8:0:0::1]".to_string()),
        Just("192.168.0.10".to_string()),
        Just("Bücher.Example".to_string()),
    ];
    let upper = any::<bool>();
    let port = proptest::sample::select(&["", ":443", ":80", ":8443", ":08080"][..]);
    let space = proptest::sample::select(&["", " ", "  ", "\t"][..]);
    let filters = proptest::option::of((
        proptest::sample::subsequence(FILTERS, 1..4),
        space.clone(),
        space.clone(),
    ));
    (scheme, host, upper, port, space, filters).prop_map(|(s, h, up, port, sp, f)| {
        let h = if up { h.to_uppercase() } else { h };
        let f = f.map_or(String::new(), |(names, a, b)| {
            format!("{sp}({a}{}{b})", names.join(&format!("{a},{b}")))
        });
        format!("{s}://{h}{port}{f}")
    })
}

/// Origin-like strings, many of them almost canonical.
fn candidate_origin() -> impl Strategy<Value = String> {
    let octet = prop_oneof![
        (0u32..300).prop_map(|n| n.to_string()),
        (0u32..300).prop_map(|n| format!("0{n}")),
        (0u32..300).prop_map(|n| format!("0x{n:x}"))
    ];
    let ipv4 = proptest::collection::vec(octet, 1..5).prop_map(|p| p.join("."));
    let seg = prop_oneof![3 => Just(0u16), 1 => any::<u16>()];
    let ipv6 = (
        proptest::collection::vec(seg, 8),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(s, full, upper)| {
            let a = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
            let text = if full {
                s.iter()
                    .map(|x| format!("{x:x}"))
                    .collect::<Vec<_>>()
                    .join(":")
            } else {
                a.to_string()
            };
            format!("[{}]", if upper { text.to_uppercase() } else { text })
        });
    // Punycode labels: valid ones (`bücher`, `пример`, an emoji), near
    // misses of them, and random text after `xn--`.
    let punycode = prop_oneof![
        Just("xn--bcher-kva".to_string()),
        Just("xn--e1afmkfd".to_string()),
        Just("xn--ls8h".to_string()),
        Just("xn--bcher-kv".to_string()),
        Just("xn--".to_string()),
        Just("xn--zz".to_string()),
        "xn--[a-z0-9-]{1,6}",
    ];
    let label = prop_oneof![9 => "[a-zA-Z0-9_-]{1,8}", 1 => "[a-z!\"=}~]{0,3}", 2 => punycode];
    let domain = proptest::collection::vec(label, 1..4).prop_map(|l| l.join("."));
    let host = prop_oneof![
        ipv4,
        ipv6,
        domain.clone(),
        domain.prop_map(|d| format!("{d}."))
    ];
    let scheme = proptest::sample::select(&["http", "https", "HTTP", "Https"][..]);
    let port = proptest::option::of(prop_oneof![
        (0u32..70000).prop_map(|p| p.to_string()),
        Just("080".to_string()),
        Just("443".to_string()),
        Just(String::new())
    ]);
    let tail = proptest::sample::select(&["", "", "", "/", "?x", "#y", " "][..]);
    (scheme, host, port, tail).prop_map(|(s, h, p, t)| match p {
        Some(p) => format!("{s}://{h}:{p}{t}"),
        None => format!("{s}://{h}{t}"),
    })
}

/// An event as JSON text: nested objects and arrays, `userData` objects
/// with keys A–C (some escaped), numbers beyond 64 bits and with trailing
/// zeros, random spacing.
fn json_event() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        Just("12345678901234567890123".to_string()),
        Just("1.50e+3".to_string()),
        Just("-0.0".to_string()),
        (0u64..1000).prop_map(|n| n.to_string()),
        Just("\"\\u0041\"".to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        "[a-z ]{0,6}".prop_map(|s| format!("\"{s}\"")),
    ];
    let key = prop_oneof![
        Just("\"A\"".to_string()),
        Just("\"B\"".to_string()),
        Just("\"\\u0043\"".to_string()),
        Just("\"a\"".to_string()),
        Just("\"D\"".to_string()),
    ];
    let space = proptest::sample::select(&["", " ", "\n  "][..]);
    let user_data =
        proptest::collection::vec((key, scalar.clone(), space.clone()), 0..5).prop_map(|ms| {
            let members: Vec<String> = ms
                .iter()
                .map(|(k, v, sp)| format!("{sp}{k}:{sp}{v}"))
                .collect();
            format!("{{{}}}", members.join(","))
        });
    let leaf = prop_oneof![
        scalar,
        user_data
            .clone()
            .prop_map(|u| format!("{{\"userData\": {u}}}"))
    ];
    leaf.prop_recursive(4, 24, 4, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4)
                .prop_map(|v| format!("[{}]", v.join(", "))),
            (
                proptest::collection::btree_map("[a-z]{1,3}", inner, 0..4),
                user_data.clone()
            )
                .prop_map(|(ms, u)| {
                    let mut members: Vec<String> =
                        ms.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
                    members.push(format!("\"userData\": {u}"));
                    format!("{{{}}}", members.join(", "))
                }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn export_and_compiled_json_decide_alike(text in export(), items in stream()) {
        let c = scapi::compile("p.cfg", text.as_bytes(), &scapi::Options::default());
        let policy = c.policy.unwrap();
        let json = CompiledPolicy::from(&policy).to_json();
        let loaded = CompiledPolicy::from_json(&json).unwrap().to_policy().unwrap();
        prop_assert_eq!(CompiledPolicy::from(&loaded).to_json(), json);
        let a = eval::report(&policy, &items, eval::ReportFormat::Json).map(|r| r.0).map_err(|e| e.to_string());
        let b = eval::report(&loaded, &items, eval::ReportFormat::Json).map(|r| r.0).map_err(|e| e.to_string());
        prop_assert_eq!(a, b);
    }

    #[test]
    fn the_streamed_report_is_laid_out_as_jsonfmt_lays_it_out(text in export(), items in stream()) {
        let c = scapi::compile("p.cfg", text.as_bytes(), &scapi::Options::default());
        let policy = c.policy.unwrap();
        let lines: String = items
            .iter()
            .map(|i| match &i.kind {
                ItemKind::Request(r) => format!(
                    "{}\n",
                    serde_json::json!({"at": i.at as f64 / 1000.0, "origin": r.origin, "request": r.request, "client": r.client})
                ),
                ItemKind::Event(_) | ItemKind::Policy(_) => String::new(),
            })
            .collect();
        let mut streamed = Vec::new();
        eval::run_text(&policy, &lines, eval::RequestsFormat::JsonLines, eval::ReportFormat::Json, &mut streamed).unwrap();
        let streamed = String::from_utf8(streamed).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&streamed).unwrap();
        prop_assert_eq!(scapi_policy::jsonfmt::to_string(&parsed), streamed);
    }

    #[test]
    fn redaction_changes_nothing_but_the_removed_keys(
        event in json_event(),
        readable in proptest::collection::btree_set("[A-Ca-c]", 0..4),
    ) {
        let keys = scapi_policy::policy::KeySet::Keys(readable);
        let policy = scapi_policy::policy::UserDataPolicy { read: keys.clone(), write: scapi_policy::policy::KeySet::All };
        let (out, removed) = policy.redact_json(&event).unwrap();
        // The text minus the removed members, token for token: every other
        // number, string and key is what it was, in the same order.
        let toks = |t: &str| -> Vec<String> {
            scapi_policy::rawjson::tokens(t).unwrap().iter().map(|k| t[k.start..k.end].to_string()).collect()
        };
        let (before, after) = (toks(&event), toks(&out));
        // Nothing is added or rewritten: the tokens left are tokens of the
        // event, in the same order, each exactly as written.
        let mut rest = before.iter();
        for t in &after {
            prop_assert!(rest.any(|b| b == t), "`{}` is not in the event as written: {}", t, out);
        }
        // And it means what redacting the parsed value means, where a
        // 64-bit value can hold the numbers.
        if !event.contains("123456789012345678901") {
            let mut v: serde_json::Value = serde_json::from_str(&event).unwrap();
            let removed_too = policy.redact(&mut v);
            prop_assert_eq!(removed_too, removed);
            let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
            prop_assert_eq!(parsed.to_string(), v.to_string());
        }
    }

    #[test]
    fn the_jwt_needs_its_name(text in export()) {
        let c = scapi::compile("p.cfg", text.as_bytes(), &scapi::Options::default());
        let p = c.policy.unwrap();
        for g in p.origins().map(|o| o.grant).chain(p.any_origin()) {
            let named = g.allow().iter().any(|f| f.to_string() == "auth.getJwtToken");
            prop_assert_eq!(g.permits("auth.getJwtToken"), named);
        }
    }

    #[test]
    fn configured_origins_are_canonical(text in export()) {
        let c = scapi::compile("p.cfg", text.as_bytes(), &scapi::Options::default());
        for o in c.policy.unwrap().origins() {
            prop_assert!(scapi_policy::presented::is_canonical(o.origin), "{}", o.origin);
            prop_assert!(o.grant.line() >= 1);
        }
    }

    /// The presented-origin check accepts only strings the URL standard
    /// serializes as themselves, and accepts all of them whose host is a
    /// DNS-style name (letters, digits, `-`, `_`, non-empty labels, at most
    /// one final dot) or an IP
    /// address.
    #[test]
    fn canonical_iff_url_serializes_it_so(s in candidate_origin()) {
        let by_url = url::Url::parse(&s).ok().map(|u| u.origin().ascii_serialization());
        let url_agrees = by_url.as_deref() == Some(s.as_str());
        if scapi_policy::presented::is_canonical(&s) {
            prop_assert!(url_agrees, "{} is canonical to scapi but the URL standard writes {:?}", s, by_url);
        } else if url_agrees {
            let host = s.split_once("://").map_or("", |(_, h)| h);
            let host = if host.starts_with('[') { host } else { host.rsplit_once(':').map_or(host, |(h, _)| h) };
            let dns = !host.starts_with('[')
                && host.strip_suffix('.').unwrap_or(host).split('.').all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            prop_assert!(!dns, "{} is what the URL standard writes, but scapi refuses it", s);
        }
    }

    #[test]
    fn origin_lists_round_trip_through_fmt(
        entries in proptest::collection::vec(loose_entry(), 1..6),
        sep in proptest::sample::select(&[",", ", ", " , ", ",\t"][..]),
    ) {
        let text = format!(
            "[interaction-workspace]\nservice-client-api.accepted-web-content-origins={}\n",
            entries.join(sep)
        );
        let options = scapi::Options::default();
        let before = scapi::compile("p.cfg", text.as_bytes(), &options);
        prop_assume!(!before.has_errors());
        let formatted = scapi::fmt::format("p.cfg", text.as_bytes(), &options).unwrap();
        let after = scapi::compile("p.cfg", formatted.text.as_bytes(), &options);
        let json = |c: &scapi::Compilation| {
            let mut doc = CompiledPolicy::from(c.policy.as_ref().unwrap());
            doc.source.sha256.clear();
            doc.to_json()
        };
        prop_assert_eq!(json(&after), json(&before));
        // The formatted list parses cleanly, entry for entry.
        let value = formatted
            .text
            .lines()
            .find_map(|l| l.strip_prefix("service-client-api.accepted-web-content-origins="))
            .unwrap();
        let (targets, problems) = scapi::invariants::origin_list_targets(value);
        prop_assert!(!problems);
        prop_assert_eq!(targets.len(), entries.len());
        for t in &targets {
            prop_assert!(*t == "*" || scapi_policy::presented::is_canonical(t), "{}", t);
        }
        // A fixed point.
        let again = scapi::fmt::format("p.cfg", formatted.text.as_bytes(), &options).unwrap();
        prop_assert!(!again.changed());
        prop_assert_eq!(again.text, formatted.text);
    }

    /// Whatever lowering accepts as a configured origin, the presented-origin
    /// check accepts too (found by fuzzing: `a..b`, `a"}`, `x=y` hosts).
    #[test]
    fn configured_origins_are_presentable(host in "[a-z0-9.\\-_!\"=}{~'*$&+;]{1,12}") {
        let text = format!("service-client-api.accepted-web-content-origins=https://{host}\n");
        let c = scapi::compile("h.cfg", text.as_bytes(), &scapi::Options::default());
        for o in c.policy.unwrap().origins() {
            prop_assert!(scapi_policy::presented::is_canonical(o.origin), "{}", o.origin);
        }
    }
}
