//! The policy facts the vendor documents, compiled (the compiled policy of
//! every lint case is checked in `cases.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_policy::compiled::CompiledPolicy;
use scapi_testkit::root;
use serde_json::Value;

fn compile_text(name: &str, text: &str) -> scapi::Compilation {
    scapi::compile(name, text.as_bytes(), &scapi::Options::default())
}

fn grants_of<'a>(doc: &'a CompiledPolicy, origin: &str) -> Vec<&'a str> {
    let o = doc
        .origins
        .iter()
        .find(|o| o.origin == origin)
        .unwrap_or_else(|| panic!("{origin} not accepted"));
    o.grants.iter().map(String::as_str).collect()
}

/// The vendor's four-server example: `http://my-web-server2 (agent.*, voice.dial)`.
#[test]
fn vendor_four_servers_grants() {
    let text = "service-client-api.accepted-web-content-origins=http://my-web-server0, http://my-web-server1 (*), http://my-web-server2 (agent.*, voice.dial), http://my-web-server3 (agent.*, interaction.*)\n";
    let c = compile_text("v.cfg", text);
    assert!(!c.has_errors());
    let doc = CompiledPolicy::from(&c.policy.unwrap());
    assert_eq!(
        grants_of(&doc, "http://my-web-server2"),
        [
            "agent.get",
            "agent.getState",
            "agent.getStateList",
            "agent.setState",
            "voice.dial"
        ]
    );
    assert_eq!(
        grants_of(&doc, "http://my-web-server0"),
        grants_of(&doc, "http://my-web-server1")
    );
    let s3 = grants_of(&doc, "http://my-web-server3");
    assert!(
        s3.iter()
            .all(|g| g.starts_with("agent.") || g.starts_with("interaction."))
    );
    assert!(s3.contains(&"interaction.setUserData"));
    for o in &doc.origins {
        assert!(
            !o.grants.iter().any(|g| g == "auth.getJwtToken"),
            "{} got the JWT",
            o.origin
        );
    }
}

/// `auth.getJwtToken` is granted only when named, whatever else is written.
#[test]
fn jwt_only_when_named() {
    let unnamed = [
        "https://a.example",
        "https://a.example (*)",
        "https://a.example (auth.*)",
        "https://a.example (*, auth.*)",
        "*",
        "* (*)",
        "* (auth.*)",
        "https://a.example (agent.*), * (*)",
    ];
    for list in unnamed {
        let c = compile_text(
            "j.cfg",
            &format!("service-client-api.accepted-web-content-origins={list}\n"),
        );
        let p = c.policy.unwrap();
        let holders: Vec<_> = p
            .origins()
            .map(|o| o.grant)
            .chain(p.any_origin())
            .filter(|g| g.permits("auth.getJwtToken"))
            .collect();
        assert!(holders.is_empty(), "`{list}` grants the JWT");
    }
    let c = compile_text(
        "j.cfg",
        "service-client-api.accepted-web-content-origins=https://app.example (*, auth.getJwtToken), https://b.example\n",
    );
    let doc = CompiledPolicy::from(&c.policy.unwrap());
    assert!(grants_of(&doc, "https://app.example").contains(&"auth.getJwtToken"));
    assert!(!grants_of(&doc, "https://b.example").contains(&"auth.getJwtToken"));
}

/// An exact entry takes precedence over `*`; its filters do not add up.
#[test]
fn exact_entry_overrides_any_origin() {
    let c = compile_text(
        "p.cfg",
        "service-client-api.accepted-web-content-origins=* (agent.*), https://crm.example (voice.dial)\n",
    );
    let p = c.policy.unwrap();
    let crm = p.grant_for("https://crm.example").unwrap();
    assert!(crm.permits("voice.dial"));
    assert!(!crm.permits("agent.get"));
    let other = p.grant_for("https://other.example").unwrap();
    assert!(other.permits("agent.get"));
    assert!(!other.permits("voice.dial"));
}

/// The three example exports (cfg, provisioning JSON, YAML) are one policy.
#[test]
fn examples_in_every_format_compile_alike() {
    let normal = |file: &str| -> Value {
        let path = root().join("examples").join(file);
        let c = scapi::compile(
            file,
            &std::fs::read(path).unwrap(),
            &scapi::Options::default(),
        );
        assert!(c.diagnostics.is_empty(), "{file}: {:?}", c.diagnostics);
        let mut v = serde_json::to_value(CompiledPolicy::from(&c.policy.unwrap())).unwrap();
        v["source"] = Value::Null;
        for o in v["origins"].as_array_mut().unwrap() {
            o["line"] = Value::Null;
        }
        v
    };
    let cfg = normal("wwews-cluster.cfg");
    assert_eq!(cfg, normal("wwews-cluster.json"));
    assert_eq!(cfg, normal("wwews-cluster.yaml"));
}

/// Compiling twice gives the same bytes.
#[test]
fn compile_is_deterministic() {
    let bytes = std::fs::read(root().join("examples/wwews-cluster.cfg")).unwrap();
    let once = || {
        CompiledPolicy::from(
            &scapi::compile("x.cfg", &bytes, &scapi::Options::default())
                .policy
                .unwrap(),
        )
        .to_json()
    };
    assert_eq!(once(), once());
}

/// A compiled policy in YAML is held to an export's alias budget: a few
/// lines of nested aliases are refused, not expanded to gigabytes.
#[test]
fn a_compiled_yaml_alias_bomb_is_refused() {
    let mut text = String::from("schemaVersion: 1\nl0: &l0 [voice.dial, voice.dial]\n");
    for i in 1..=24 {
        text.push_str(&format!("l{i}: &l{i} [*l{}, *l{}]\n", i - 1, i - 1));
    }
    text.push_str(
        "origins:\n- origin: https://a.example\n  allow: *l24\n  grants: []\n  line: 1\n",
    );
    let Err(e) = scapi::load("bomb.yaml", text.as_bytes(), &scapi::Options::default()) else {
        panic!("an alias bomb loaded");
    };
    assert!(e.to_string().contains("aliases"), "{e}");
}
