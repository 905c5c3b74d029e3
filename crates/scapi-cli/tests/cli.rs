//! CLI harness: `tests/cases/cli/<case>/cmd` is one command line (without
//! `scapi`), run from the repository root. Optional `stdin` is piped in;
//! optional `tmp/` is copied to a fresh directory that `$TMP` in the command
//! names. `$REDIS` names a real `redis-server` started for the run (emptied
//! before each case), `$DEAD_REDIS` an address where none listens.
//! Expected: `stdout`, `stderr`, `status`, and — when `tmp/` or `$TMP` is
//! used — `tmp.txt`, the files left in that directory afterwards; when
//! `$REDIS` is, `redis.txt`, the keys left in the server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../../tests/common/mod.rs"]
mod common;
#[path = "../../../tests/common/redis_server.rs"]
mod redis_server;
#[path = "../../../tests/common/tools.rs"]
mod tools;

use common::{Golden, cases, root, split_args};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

fn list_dir(dir: &Path) -> String {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let mut out = String::new();
    for p in names {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let body = std::fs::read(&p)
            .map(|b| String::from_utf8_lossy(&b).to_string())
            .unwrap_or_default();
        out.push_str(&format!("=== {name}\n{body}"));
        if !body.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[test]
fn cli_cases() {
    let mut golden = Golden::default();
    let mut redis: Option<redis_server::Server> = None;
    // `$LOCKED_REDIS_HOST`: a server that requires the password `s3cret`.
    let mut locked: Option<(tempfile::TempDir, redis_server::Server)> = None;
    let dead_redis = format!("redis://127.0.0.1:{}", redis_server::free_port());
    for dir in cases("cli") {
        let line = std::fs::read_to_string(dir.join("cmd")).unwrap();
        let uses_redis = line.contains("$REDIS");
        if uses_redis && !tools::have("redis-server", "redis-server") {
            continue;
        }
        if uses_redis {
            redis
                .get_or_insert_with(redis_server::Server::start)
                .cli(&["FLUSHALL"]);
        }
        let redis_url = redis.as_ref().map(|r| r.url()).unwrap_or_default();
        let uses_locked = line.contains("$LOCKED_REDIS_HOST");
        if uses_locked && !tools::have("redis-server", "redis-server") {
            continue;
        }
        if uses_locked && locked.is_none() {
            let dir = tempfile::tempdir().unwrap();
            let server = redis_server::Server::start_in(dir.path(), &["--requirepass", "s3cret"]);
            locked = Some((dir, server));
        }
        let locked_host = locked
            .as_ref()
            .map(|(_, s)| format!("127.0.0.1:{}", s.port))
            .unwrap_or_default();
        let tmp = tempfile::tempdir().unwrap();
        let tmp_path = tmp.path().to_str().unwrap().to_string();
        let uses_tmp = line.contains("$TMP") || dir.join("tmp").is_dir();
        if dir.join("tmp").is_dir() {
            copy_dir(&dir.join("tmp"), tmp.path());
        }
        let args: Vec<String> = split_args(&line)
            .into_iter()
            .map(|a| {
                a.replace("$TMP", &tmp_path)
                    .replace("$REDIS", &redis_url)
                    .replace("$DEAD_REDIS", &dead_redis)
                    .replace("$LOCKED_REDIS_HOST", &locked_host)
            })
            .collect();
        let mut child = Command::new(env!("CARGO_BIN_EXE_scapi"))
            .args(&args)
            .current_dir(root())
            .env_remove("NO_COLOR")
            .env_remove("COLUMNS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let input = std::fs::read(dir.join("stdin")).unwrap_or_default();
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let out = child.wait_with_output().unwrap();
        let clean = |b: &[u8]| {
            let text = String::from_utf8_lossy(b).replace(&tmp_path, "$TMP");
            let text = text.replace(&dead_redis, "$DEAD_REDIS");
            // A password never appears in what scapi prints.
            assert!(
                !text.contains("s3cret"),
                "{}: the password is shown:\n{text}",
                dir.display()
            );
            let text = if locked_host.is_empty() {
                text
            } else {
                text.replace(&locked_host, "$LOCKED_REDIS_HOST")
            };
            if redis_url.is_empty() {
                text
            } else {
                text.replace(&redis_url, "$REDIS")
            }
        };
        golden.check(&dir.join("stdout"), &clean(&out.stdout));
        golden.check(&dir.join("stderr"), &clean(&out.stderr));
        golden.check(
            &dir.join("status"),
            &format!("{}\n", out.status.code().unwrap_or(-1)),
        );
        if uses_tmp {
            golden.check(&dir.join("tmp.txt"), &list_dir(tmp.path()));
        }
        if let Some(server) = redis.as_ref().filter(|_| uses_redis) {
            let mut keys: Vec<String> = server
                .cli(&["--scan"])
                .lines()
                .filter(|k| !k.is_empty())
                .map(str::to_string)
                .collect();
            keys.sort();
            let listed: String = keys.iter().map(|k| format!("{k}\n")).collect();
            golden.check(&dir.join("redis.txt"), &listed);
        }
    }
    golden.finish();
}

/// Several `eval --store` runs sharing one Redis and one prefix behave as
/// one broker fleet: run at once on the same 30 dials in one window, two
/// of them admit the limit (10) once between them, limit one request, and
/// ignore the rest, however their requests interleave.
#[test]
fn eval_runs_sharing_a_store_are_one_fleet() {
    if !tools::have("redis-server", "redis-server") {
        return;
    }
    let server = redis_server::Server::start();
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
