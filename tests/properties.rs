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
use scapi::compiled::CompiledPolicy;
use scapi::eval::{self, Item, ItemKind, RequestItem};

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
    let label = prop_oneof![9 => "[a-zA-Z0-9_-]{1,8}", 1 => "[a-z!\"=}~]{0,3}"];
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn export_and_compiled_json_decide_alike(text in export(), items in stream()) {
        let c = scapi::compile("p.cfg", text.as_bytes(), &scapi::Options::default());
        let policy = c.policy.unwrap();
        let json = CompiledPolicy::from(&policy).to_json();
        let loaded = CompiledPolicy::from_json(&json).unwrap().to_policy().unwrap();
        prop_assert_eq!(CompiledPolicy::from(&loaded).to_json(), json);
        let a = eval::to_json(&eval::evaluate(&policy, &items));
        let b = eval::to_json(&eval::evaluate(&loaded, &items));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn the_streamed_eval_report_is_the_built_one(text in export(), items in stream()) {
        let c = scapi::compile("p.cfg", text.as_bytes(), &scapi::Options::default());
        let policy = c.policy.unwrap();
        let lines: String = items
            .iter()
            .map(|i| match &i.kind {
                ItemKind::Request(r) => format!(
                    "{}\n",
                    serde_json::json!({"at": i.at as f64 / 1000.0, "origin": r.origin, "request": r.request, "client": r.client})
                ),
                ItemKind::Event(_) => String::new(),
            })
            .collect();
        let parsed = eval::parse_items(&lines, eval::RequestsFormat::JsonLines).unwrap();
        let built = scapi::jsonfmt::to_string(&eval::to_json(&eval::evaluate(&policy, &parsed)));
        let mut streamed = Vec::new();
        eval::run(&policy, &lines, eval::RequestsFormat::JsonLines, eval::ReportFormat::Json, &mut streamed).unwrap();
        prop_assert_eq!(String::from_utf8(streamed).unwrap(), built);
    }

    #[test]
    fn the_jwt_needs_its_name(text in export()) {
        let c = scapi::compile("p.cfg", text.as_bytes(), &scapi::Options::default());
        let p = c.policy.unwrap();
        for g in p.origins().iter().map(|o| &o.grant).chain(p.any_origin()) {
            let named = g.allow().iter().any(|f| f.to_string() == "auth.getJwtToken");
            prop_assert_eq!(g.permits("auth.getJwtToken"), named);
        }
    }

    #[test]
    fn configured_origins_are_canonical(text in export()) {
        let c = scapi::compile("p.cfg", text.as_bytes(), &scapi::Options::default());
        for o in c.policy.unwrap().origins() {
            prop_assert!(scapi::origin::is_canonical(&o.origin), "{}", o.origin);
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
        if scapi::origin::is_canonical(&s) {
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
        let list = scapi::syntax::origin_list::origin_list(value);
        prop_assert!(list.diagnostics.is_empty(), "{:?}", list.diagnostics);
        prop_assert_eq!(list.entries.len(), entries.len());
        for e in &list.entries {
            prop_assert!(scapi::origin::is_canonical(e.target), "{}", e.target);
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
            prop_assert!(scapi::origin::is_canonical(&o.origin), "{}", o.origin);
        }
    }
}
