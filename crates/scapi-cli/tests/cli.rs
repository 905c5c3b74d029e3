//! The command's behaviours that are not a single command line (a fleet of
//! runs at once, a configuration found upward, fixing twice); the cases
//! of `tests/cases/cli/` are `cases.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::root;
use std::process::{Command, Stdio};

/// Several `eval --store` runs sharing one Redis and one prefix behave as
/// one broker fleet: run at once on the same 30 dials in one window, two
/// of them admit the limit (10) once between them, limit one request, and
/// ignore the rest, however their requests interleave.
#[test]
fn eval_runs_sharing_a_store_are_one_fleet() {
    if !scapi_testkit::tools::have("redis-server", "redis-server") {
        return;
    }
    let server = scapi_testkit::redis_server::Server::start();
    let tmp = tempfile::tempdir().unwrap();
    let requests = tmp.path().join("dials.jsonl");
    let lines: String = (1..=30)
        .map(|s| {
            format!(
                "{{\"at\": \"2026-11-20T10:00:{s:02}Z\", \"origin\": \"https://crm.example.com\", \"request\": \"voice.dial\", \"client\": \"agent-1\"}}\n"
            )
        })
        .collect();
    std::fs::write(&requests, lines).unwrap();
    let runs: Vec<_> = (0..2)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_scapi"))
                .args(["eval", "examples/wwews-cluster.cfg"])
                .arg(&requests)
                .args(["--store", &server.url(), "--store-prefix", "fleet"])
                .args(["--format", "json"])
                .current_dir(root())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut outcomes = std::collections::BTreeMap::new();
    for run in runs {
        let out = run.wait_with_output().unwrap();
        assert!(out.status.success());
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for d in report["decisions"].as_array().unwrap() {
            *outcomes
                .entry(d["outcome"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    let want: std::collections::BTreeMap<String, usize> = [
        ("allow".to_string(), 10),
        ("rate-limited".to_string(), 1),
        ("ignored".to_string(), 49),
    ]
    .into();
    assert_eq!(outcomes, want);
}

/// `scapi.toml` is found from the current directory upward; `.scapi.toml`
/// too; both in one directory is an error; `--isolated` ignores them; flags
/// override them.
#[test]
fn the_configuration_is_found_upward() {
    let root_dir = tempfile::tempdir().unwrap();
    let deep = root_dir.path().join("a/b");
    std::fs::create_dir_all(&deep).unwrap();
    let export = deep.join("wwews.cfg");
    // A cleartext origin: a warning (SC0113).
    std::fs::write(
        &export,
        "service-client-api.accepted-web-content-origins=http://crm.example.com\n",
    )
    .unwrap();
    let lint = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_scapi"))
            .arg("lint")
            .args(args)
            .arg("wwews.cfg")
            .current_dir(&deep)
            .output()
            .unwrap()
    };
    assert_eq!(
        lint(&[]).status.code(),
        Some(0),
        "no configuration: warnings pass"
    );
    std::fs::write(
        root_dir.path().join("a/scapi.toml"),
        "[lint]\nfail-level = \"warning\"\n",
    )
    .unwrap();
    assert_eq!(lint(&[]).status.code(), Some(1), "found one directory up");
    assert_eq!(lint(&["--isolated"]).status.code(), Some(0));
    assert_eq!(
        lint(&["--fail-level", "error"]).status.code(),
        Some(0),
        "the flag wins"
    );
    std::fs::write(deep.join(".scapi.toml"), "[lint]\nallow = [\"SC0113\"]\n").unwrap();
    assert_eq!(
        lint(&[]).status.code(),
        Some(0),
        "the nearest file is the one read"
    );
    std::fs::write(deep.join("scapi.toml"), "").unwrap();
    let both = lint(&[]);
    assert_eq!(both.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&both.stderr).contains("both `scapi.toml` and `.scapi.toml`"),
        "{}",
        String::from_utf8_lossy(&both.stderr)
    );
    let shown = Command::new(env!("CARGO_BIN_EXE_scapi"))
        .args(["config", "--format", "json"])
        .current_dir(root_dir.path().join("a"))
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(doc["failLevel"]["value"], "warning");
    assert!(
        doc["failLevel"]["from"]
            .as_str()
            .unwrap()
            .ends_with("scapi.toml:2")
    );
}

/// `--fix` applies only safe fixes by default, leaves a file with none of
/// the findings it fixed, and `--fix` again changes nothing.
#[test]
fn fixing_twice_changes_nothing_more() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["wwews.cfg", "wwews.json", "wwews.yaml"] {
        let case = name.replace("wwews.", "lint-fix-");
        let src = root()
            .join("tests/cases/cli")
            .join(case)
            .join("tmp")
            .join(name);
        std::fs::copy(&src, dir.path().join(name)).unwrap();
        let fix = || {
            Command::new(env!("CARGO_BIN_EXE_scapi"))
                .args(["lint", "--fix", name])
                .current_dir(dir.path())
                .output()
                .unwrap()
        };
        fix();
        let once = std::fs::read(dir.path().join(name)).unwrap();
        let again = fix();
        assert_eq!(
            std::fs::read(dir.path().join(name)).unwrap(),
            once,
            "{name}"
        );
        assert!(
            String::from_utf8_lossy(&again.stderr).starts_with("no fixes to apply"),
            "{name}: {}",
            String::from_utf8_lossy(&again.stderr)
        );
    }
}

/// `scapi keygen` draws a new key each time (its id on standard output,
/// the private key readable by its owner only); a policy signed with
/// either of two trusted keys verifies, so a key is rotated by trusting
/// the new one first.
#[test]
fn keygen_makes_keys_that_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let scapi = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_scapi"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let mut ids = Vec::new();
    for _ in 0..2 {
        let out = scapi(&["keygen", "keys"]);
        assert!(out.status.success());
        let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert_eq!(id.len(), 16, "{id}");
        let key = dir.path().join(format!("keys/{id}.key"));
        let public = dir.path().join(format!("keys/{id}.pub"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the private key is readable by others");
        }
        let text = std::fs::read_to_string(&public).unwrap();
        let parsed = scapi_policy::signing::PublicKey::from_json(&text).unwrap();
        assert_eq!(parsed.key_id(), id);
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1], "two keys alike");
    std::fs::copy(
        root().join("examples/wwews-cluster.policy.json"),
        dir.path().join("policy.json"),
    )
    .unwrap();
    for id in &ids {
        let key = format!("keys/{id}.key");
        assert!(
            scapi(&["sign", "policy.json", "--key", &key])
                .status
                .success()
        );
        let out = scapi(&["verify", "policy.json", "--keys", "keys"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = scapi(&["eval", "--keys", "keys", "policy.json", "-"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Trusting only the first: the second's signature is refused.
    let first = format!("keys/{}.pub", ids[0]);
    let out = scapi(&["verify", "policy.json", "--keys", &first]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("which is not trusted"));
}
