//! `Policy::check` allocates nothing, whatever it decides — names outside
//! the catalog included — and the limiter admits a request of a known
//! counter without allocating. (This test binary counts allocations with a
//! global allocator.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_policy::limiter::{ManualClock, MemoryStore, RateLimiter};

const CASES: &[(&str, &str)] = &[
    ("https://crm.example.com", "agent.get"),
    ("https://crm.example.com", "voice.dial"),
    ("https://crm.example.com", "voice.hangUp"),
    ("https://crm.example.com", "interaction.newRequest"),
    ("https://crm.example.com", "newns.request"),
    ("https://crm.example.com", "not a name"),
    ("https://sso.example.com", "auth.getJwtToken"),
    ("https://evil.example", "agent.get"),
    ("HTTPS://crm.example.com", "agent.get"),
    ("https://crm.example.com:443", "agent.get"),
    ("https://[2001:db8::1]:8443", "agent.get"),
    ("https://[::ffff:127.0.0.1]", "agent.get"),
    ("http://0x7f.0.0.1", "agent.get"),
    ("null", "agent.get"),
    ("", ""),
];

/// The shipped example, as `scapi compile` writes it.
fn example_policy() -> scapi_policy::Policy {
    let json = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/wwews-cluster.policy.json"
    ))
    .unwrap();
    scapi_policy::CompiledPolicy::load(&json).unwrap()
}

/// The counter sees allocations when there are some.
#[test]
fn the_counter_counts() {
    let info = allocation_counter::measure(|| {
        std::hint::black_box(String::from("x"));
    });
    assert!(info.count_total > 0);
}

#[test]
fn check_does_not_allocate() {
    let policy = example_policy();
    // Also with a `*` entry, so non-exact origins reach the filters of
    // names outside the catalog.
    let any = scapi_policy::CompiledPolicy::load(
        r#"{"schemaVersion": 1, "source": {"name": "a.cfg", "sha256": "0"},
            "origins": [{"origin": "https://crm.example.com", "allow": ["interaction.*", "newns.request"], "grants": [], "line": 1}],
            "anyOrigin": {"allow": ["agent.*", "newns.*"], "grants": [], "line": 1},
            "rateLimit": {"windowSeconds": 60, "default": 0, "perRequest": {}, "quarantineSeconds": 30},
            "userData": {"read": "*", "write": "*"}, "webExtensions": []}"#,
    )
    .unwrap();
    for p in [&policy, &any] {
        let mut allowed = 0;
        let info = allocation_counter::measure(|| {
            for _ in 0..100 {
                for (origin, request) in CASES {
                    allowed +=
                        usize::from(std::hint::black_box(p.check(origin, request)).is_allowed());
                }
            }
        });
        assert_eq!(
            info.count_total, 0,
            "check allocated {} times",
            info.count_total
        );
        assert!(allowed > 0);
    }
}

#[test]
fn admitting_a_known_counter_does_not_allocate() {
    let policy = example_policy();
    let limiter = RateLimiter::with_store(
        policy.rate_limits().clone(),
        MemoryStore::with_clock(ManualClock::new(0)),
    );
    let Ok(_) = limiter.admit_at("agent-1", "voice.dial", 0);
    let info = allocation_counter::measure(|| {
        for t in 0..1000 {
            let Ok(a) = limiter.admit_at("agent-1", "voice.dial", t * 1000);
            std::hint::black_box(a);
        }
    });
    assert_eq!(
        info.count_total, 0,
        "admit allocated {} times",
        info.count_total
    );
}
