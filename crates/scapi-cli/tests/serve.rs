//! `scapi serve` as a process spoken to over HTTP: reloads that keep
//! counters, a tampered signed policy refused while the old one serves,
//! SIGTERM answering the request in flight, hostile clients answered while
//! the service keeps serving, a Unix socket, metrics Prometheus's linter
//! accepts, the README's Python broker snippet run as written, and a
//! service started while Redis is down.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::service::{Service, read_response};
use scapi_testkit::{root, tools};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn scapi() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_scapi"))
}

fn policy(limit: u32) -> String {
    format!(
        "[interaction-workspace]\n\
         service-client-api.accepted-web-content-origins=https://crm.example.com (voice.dial)\n\
         service-client-api.rate-limit.voice.dial={limit}\n\
         service-client-api.rate-limit-quarantine-delay=60\n"
    )
}

/// Writes `text` to `path` the way deployments do: a new file renamed
/// over the old one.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn dial(s: &Service, client: &str) -> String {
    let v = s.post_json(
        "/v1/check",
        &json!({"origin": "https://crm.example.com", "request": "voice.dial", "client": client}),
    );
    v["outcome"].as_str().unwrap().to_string()
}

#[test]
fn a_reload_keeps_counters_and_a_bad_policy_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wwews.cfg");
    std::fs::write(&file, policy(2)).unwrap();
    let s = Service::start(scapi(), &[file.to_str().unwrap(), "--no-watch"], dir.path());
    assert_eq!([dial(&s, "a"), dial(&s, "a")], ["allow", "allow"]);
    // 4 a minute from now on: `a` used 2, so exactly 2 more.
    replace(&file, &policy(4));
    s.signal("HUP");
    s.status_until(|v| v["policy"]["generation"] == 1);
    assert_eq!(
        [dial(&s, "a"), dial(&s, "a"), dial(&s, "a")],
        ["allow", "allow", "rate-limited"]
    );
    // A policy with errors is refused; the active one keeps serving.
    replace(
        &file,
        "[interaction-workspace]\nservice-client-api.rate-limit=fifty\n",
    );
    s.signal("HUP");
    let status = s.status_until(|v| v["reloads"]["failed"] == 1);
    assert_eq!(status["policy"]["generation"], 1);
    assert!(
        status["lastReload"]["error"]
            .as_str()
            .unwrap()
            .contains("has errors")
    );
    assert_eq!(dial(&s, "a"), "ignored");
    assert_eq!(dial(&s, "b"), "allow");
    let (_, metrics) = s.get("/metrics");
    assert!(
        metrics.contains("scapi_reloads_total{result=\"failed\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("scapi_last_reload_failed 1"), "{metrics}");
}

#[test]
fn a_changed_file_is_reloaded_without_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wwews.cfg");
    std::fs::write(&file, policy(2)).unwrap();
    let s = Service::start(scapi(), &[file.to_str().unwrap()], dir.path());
    replace(&file, &policy(3));
    let status = s.status_until(|v| v["policy"]["generation"] == 1);
    assert_eq!(status["reloads"]["ok"], 1);
    let (_, metrics) = s.get("/metrics");
    assert!(
        metrics.contains("scapi_rate_limit{request=\"voice.dial\"} 3"),
        "{metrics}"
    );
}

#[test]
fn a_tampered_signed_policy_is_refused_while_the_old_one_serves() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| {
        let out = Command::new(scapi())
            .args(args)
            .current_dir(d)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    std::fs::write(d.join("wwews.cfg"), policy(2)).unwrap();
    let id = run(&["keygen", "keys"]);
    let key = format!("keys/{}.key", id.trim());
    run(&["compile", "wwews.cfg", "-o", "policy.json"]);
    run(&["sign", "policy.json", "--key", &key]);
    let s = Service::start(scapi(), &["policy.json", "--keys", "keys", "--no-watch"], d);
    assert_eq!(dial(&s, "a"), "allow");
    // One byte changed after signing: refused, the signed one serves.
    let text = std::fs::read_to_string(d.join("policy.json")).unwrap();
    replace(
        &d.join("policy.json"),
        &text.replace("\"voice.dial\": 2", "\"voice.dial\": 9"),
    );
    s.signal("HUP");
    let status = s.status_until(|v| v["reloads"]["failed"] == 1);
    assert!(
        status["lastReload"]["error"]
            .as_str()
            .unwrap()
            .contains("changed after signing"),
        "{status}"
    );
    assert_eq!([dial(&s, "a"), dial(&s, "a")], ["allow", "rate-limited"]);
    // Signed again, it is taken.
    run(&["sign", "policy.json", "--key", &key]);
    s.signal("HUP");
    s.status_until(|v| v["policy"]["generation"] == 1);
}

#[test]
fn sigterm_answers_the_request_in_flight_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wwews.cfg");
    std::fs::write(&file, policy(100)).unwrap();
    let mut s = Service::start(scapi(), &[file.to_str().unwrap(), "--no-watch"], dir.path());
    let body = json!([
        {"origin": "https://crm.example.com", "request": "voice.dial", "client": "a"},
        {"origin": "https://crm.example.com", "request": "voice.dial", "client": "b"}
    ])
    .to_string();
    let mut c = TcpStream::connect(&s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        c,
        "POST /v1/check/batch HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    c.flush().unwrap();
    // `100 Continue` says the service has the request and is reading its
    // body: it is in flight, whatever the machine's load.
    let mut interim = Vec::new();
    let mut byte = [0u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        assert_eq!(c.read(&mut byte).unwrap(), 1, "{interim:?}");
        interim.push(byte[0]);
    }
    assert!(interim.starts_with(b"HTTP/1.1 100"), "{interim:?}");
    s.signal("TERM");
    c.write_all(body.as_bytes()).unwrap();
    let (status, answer) = read_response(&mut c);
    assert_eq!(status, 200, "{answer}");
    let v: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    let exit = s.wait();
    assert!(exit.success(), "{exit:?}: {}", s.stderr());
    assert!(s.stderr().contains("stopped"));
}

#[test]
fn hostile_clients_get_4xx_and_the_service_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wwews.cfg");
    std::fs::write(&file, policy(2)).unwrap();
    let s = Service::start(
        scapi(),
        &[
            file.to_str().unwrap(),
            "--no-watch",
            "--max-body",
            "4096",
            "--header-timeout",
            "1",
            "--max-batch",
            "3",
        ],
        dir.path(),
    );
    let code = |(status, body): (u16, String)| {
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        (
            status,
            v["error"]["code"].as_str().unwrap_or("").to_string(),
        )
    };
    assert_eq!(code(s.post("/v1/check", "{bad")), (400, "bad-json".into()));
    assert_eq!(code(s.post("/v1/check", "[]")), (400, "bad-request".into()));
    assert_eq!(
        code(s.post(
            "/v1/check",
            r#"{"origin": 1, "request": "voice.dial", "client": "a"}"#
        )),
        (400, "bad-request".into())
    );
    assert_eq!(
        code(s.post(
            "/v1/check",
            r#"{"origin": "https://crm.example.com", "request": "voice.dial", "client": "a", "extra": 1}"#
        )),
        (400, "bad-request".into())
    );
    assert_eq!(
        code(s.post(
            "/v1/check",
            r#"{"origin": "https://crm.example.com", "request": "interaction.setUserData", "client": "a", "userData": [1]}"#
        )),
        (400, "bad-request".into())
    );
    let huge = format!("{{\"event\": \"{}\"}}", "x".repeat(10_000));
    assert_eq!(code(s.post("/v1/redact", &huge)), (413, "too-large".into()));
    let one = json!({"origin": "https://crm.example.com", "request": "voice.dial", "client": "z"});
    let batch = json!([one, one, one, one]).to_string();
    assert_eq!(
        code(s.post("/v1/check/batch", &batch)),
        (413, "too-large".into())
    );
    assert_eq!(code(s.get("/nope")), (404, "not-found".into()));
    assert_eq!(code(s.get("/v1/check")), (405, "method-not-allowed".into()));
    assert_eq!(
        code(s.post("/health", "{}")),
        (405, "method-not-allowed".into())
    );
    // Not HTTP at all.
    let mut junk = TcpStream::connect(&s.addr).unwrap();
    junk.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    junk.write_all(b"\x00\x01\x02 garbage\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = junk.read_to_end(&mut answer);
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 400"),
        "{answer:?}"
    );
    // Slow headers: a client that never finishes them is dropped (after
    // `--header-timeout`), and others are served meanwhile.
    let mut slow = TcpStream::connect(&s.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    slow.write_all(b"POST /v1/check HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    assert_eq!(dial(&s, "other"), "allow");
    let mut rest = Vec::new();
    // The end of the stream, not the minute's read timeout: the service
    // closed the connection.
    let n = slow.read_to_end(&mut rest);
    assert!(n.is_ok(), "the slow connection stays open: {n:?}");
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));
    // Still serving, and what it answered is counted.
    assert_eq!(s.get("/health").0, 200);
    assert_eq!(dial(&s, "a"), "allow");
    let (_, metrics) = s.get("/metrics");
    assert!(
        metrics.contains("scapi_http_responses_total{route=\"/v1/check\",class=\"4xx\"} 6"),
        "{metrics}"
    );
}

#[test]
fn a_unix_socket_serves_the_same_api() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wwews.cfg");
    std::fs::write(&file, policy(2)).unwrap();
    let sock = dir.path().join("scapi.sock");
    let mut child = Command::new(scapi())
        .args(["serve", file.to_str().unwrap(), "--no-watch", "--listen"])
        .arg(format!("unix:{}", sock.display()))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    let mut line = [0u8; 1];
    let mut said = Vec::new();
    while !String::from_utf8_lossy(&said).contains("listening on") {
        assert_eq!(err.read(&mut line).unwrap(), 1, "{said:?}");
        said.push(line[0]);
    }
    let mut c = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    c.write_all(b"GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (status, body) = read_response(&mut c);
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"ready":true,"generation":0}"#)
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
    assert!(!sock.exists(), "the socket is removed on exit");
}

#[test]
fn promtool_accepts_the_served_metrics() {
    if !tools::have("promtool", "prometheus") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("decisions.jsonl");
    let mut s = Service::start(
        scapi(),
        &[
            "examples/shadow/kb-shadow.policy.json",
            "--no-watch",
            "--decision-log",
            log.to_str().unwrap(),
        ],
        &root(),
    );
    for request in ["voice.dial", "voice.dial", "voice.hold", "agent.get"] {
        for origin in [
            "https://crm.example.com",
            "https://kb.example.com",
            "https://evil.example",
        ] {
            s.post_json(
                "/v1/check",
                &json!({"origin": origin, "request": request, "client": "a"}),
            );
        }
    }
    assert_eq!(s.post("/v1/check", "{").0, 400);
    let (status, text) = s.get("/metrics");
    assert_eq!(status, 200);
    for family in [
        "scapi_decisions_total{",
        "shadow=\"true\"",
        "scapi_reloads_total{",
        "scapi_store_degraded{mode=\"memory\"} 0",
        "scapi_http_responses_total{",
        "scapi_decision_log_dropped_total 0",
    ] {
        assert!(text.contains(family), "no `{family}` in\n{text}");
    }
    let (ok, said) = tools::promtool_check(&text);
    assert!(ok, "promtool refused the metrics: {said}\n{text}");
    // Every decision is logged, flushed when the service stops.
    s.signal("TERM");
    assert!(s.wait().success());
    let records = std::fs::read_to_string(&log).unwrap();
    assert_eq!(records.lines().count(), 12, "{records}");
}

#[test]
fn the_decision_log_goes_to_a_file_and_is_flushed_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wwews.cfg");
    let log = dir.path().join("decisions.jsonl");
    std::fs::write(&file, policy(2)).unwrap();
    let mut s = Service::start(
        scapi(),
        &[
            file.to_str().unwrap(),
            "--no-watch",
            "--decision-log",
            log.to_str().unwrap(),
            "--decision-log-salt",
            "fleet",
        ],
        dir.path(),
    );
    let body = json!({"origin": "https://crm.example.com", "request": "interaction.setUserData",
        "client": "agent-42", "userData": {"CaseId": "SECRET-VALUE"}});
    s.post_json("/v1/check", &body);
    dial(&s, "agent-42");
    s.signal("TERM");
    assert!(s.wait().success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        !text.contains("SECRET-VALUE") && !text.contains("agent-42"),
        "{text}"
    );
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["origin"], "https://crm.example.com");
    }
}

#[test]
fn the_readme_python_broker_runs_as_written() {
    if !tools::have("python3", "python3") {
        return;
    }
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let (_, after) = readme
        .split_once("```python\n")
        .expect("the README has a Python broker snippet");
    let (snippet, _) = after.split_once("```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = Service::start(
        scapi(),
        &["examples/wwews-cluster.cfg", "--no-watch"],
        &root(),
    );
    let script = dir.path().join("broker.py");
    // The snippet as written, then calls of what it defines.
    std::fs::write(
        &script,
        format!(
            "{snippet}\n\
             print(on_message('https://crm.example.com', 'agent-1', {{'request': 'voice.dial'}}))\n\
             print(on_message('https://evil.example', 'agent-1', {{'request': 'agent.get'}}))\n\
             print(on_message('https://crm.example.com', 'agent-1', {{'request': 'interaction.deleteUserData', 'keys': ['CaseId', 'Secret']}}))\n"
        ),
    )
    .unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .env("SCAPI_URL", format!("http://{}", s.addr))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].starts_with("('forward'"), "{stdout}");
    assert!(lines[1].starts_with("('answer'"), "{stdout}");
    // The snippet forwards only the keys the frame may write.
    assert!(
        lines[2].starts_with("('forward'")
            && lines[2].contains("CaseId")
            && !lines[2].contains("Secret"),
        "{stdout}"
    );
}

#[test]
fn what_clients_and_operators_get_wrong_is_refused_without_harm() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("wwews.cfg");
    std::fs::write(&file, policy(10)).unwrap();
    // A Unix socket path that is a regular file: refused, the file kept.
    let precious = d.join("precious.txt");
    std::fs::write(&precious, "keep me").unwrap();
    let out = Command::new(scapi())
        .args(["serve", file.to_str().unwrap(), "--listen"])
        .arg(format!("unix:{}", precious.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");
    let s = Service::start(
        scapi(),
        &[
            file.to_str().unwrap(),
            "--no-watch",
            "--decision-log",
            "/dev/full",
        ],
        d,
    );
    // A batch with a bad item is refused whole and counts nothing.
    let good =
        json!({"origin": "https://crm.example.com", "request": "voice.dial", "client": "batch"});
    let bad = json!({"origin": "https://crm.example.com", "request": "interaction.setUserData", "client": "batch", "userData": [1]});
    let (status, body) = s.post(
        "/v1/check/batch",
        &json!([good, good, good, bad]).to_string(),
    );
    assert_eq!(status, 400);
    assert!(body.contains("item 3"), "{body}");
    let v = s.post_json("/v1/check", &good);
    assert_eq!(v["remaining"], 9, "{v}");
    // `userData` and `keys` together: which is meant?
    let both = json!({"origin": "https://crm.example.com", "request": "interaction.setUserData",
        "client": "c", "userData": {"CaseId": 1}, "keys": ["CaseId"]});
    assert_eq!(s.post("/v1/check", &both.to_string()).0, 400);
    // Stripping a key leaves the others' values as they came, nested ones
    // included.
    std::fs::write(
        &file,
        "[interaction-workspace]\n\
         service-client-api.accepted-web-content-origins=https://crm.example.com (interaction.*)\n\
         service-client-api.user-data.write-allowed=CaseId\n",
    )
    .unwrap();
    s.signal("HUP");
    s.status_until(|v| v["policy"]["generation"] == 1);
    let nested = r#"{"origin": "https://crm.example.com", "request": "interaction.setUserData", "client": "c",
        "userData": {"CaseId": {"userData": {"Secret": 2}, "n": 12345678901234567890123}, "Secret": 1}}"#;
    let (status, body) = s.post("/v1/check", nested);
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(
            r#""userData":{"CaseId":{"userData": {"Secret": 2}, "n": 12345678901234567890123}}"#
        ),
        "{body}"
    );
    // A policy path that becomes a FIFO is refused, not read (a read would
    // block); the service answers meanwhile.
    std::fs::remove_file(&file).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(&file)
            .status()
            .unwrap()
            .success()
    );
    s.signal("HUP");
    let status = s.status_until(|v| v["reloads"]["failed"] == 1);
    assert!(
        status["lastReload"]["error"]
            .as_str()
            .unwrap()
            .contains("not a regular file")
    );
    assert_eq!(s.get("/health").0, 200);
    // The log cannot be written (`/dev/full`): its records are counted as
    // dropped, and deciding goes on.
    let status = s.status_until(|v| v["decisionLog"]["dropped"].as_u64().unwrap_or(0) > 0);
    assert!(status["decisionLog"]["dropped"].as_u64().unwrap() >= 1);
    assert_eq!(s.get("/ready").0, 200);
}

/// Started while Redis is down, with `--store-failure open`: the service
/// starts (degraded), counts in memory, and once Redis answers counts
/// there, with no restart. With `closed` it would only refuse, so it does
/// not start, and says why.
#[test]
fn a_service_started_while_redis_is_down_counts_there_once_it_is_up() {
    if !tools::have("redis-server", "redis-server") {
        return;
    }
    let mut redis = scapi_testkit::redis_server::Server::start();
    redis.kill();
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wwews.cfg");
    std::fs::write(&file, policy(2)).unwrap();
    let closed = Command::new(scapi())
        .arg("serve")
        .arg(&file)
        .args(["--store", &url, "--store-failure", "closed"])
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(closed.status.code(), Some(2));
    let said = String::from_utf8_lossy(&closed.stderr);
    assert!(said.contains("cannot connect"), "{said}");

    let s = Service::start(
        scapi(),
        &[
            file.to_str().unwrap(),
            "--no-watch",
            "--store",
            &url,
            "--store-failure",
            "open",
        ],
        dir.path(),
    );
    assert!(s.stderr().contains("starting anyway"), "{}", s.stderr());
    let (_, status) = s.get("/status");
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["store"]["degraded"], true, "{status}");
    // Counted in memory meanwhile: the limit still holds.
    assert_eq!(
        [dial(&s, "a"), dial(&s, "a"), dial(&s, "a")],
        ["allow", "allow", "rate-limited"]
    );
    redis.restart();
    // The store asks Redis again after its back-off: `b`'s dials reach it.
    let start = std::time::Instant::now();
    while !redis.cli(&["KEYS", "*"]).contains("{b}") {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "never counted in Redis:\n{}",
            s.stderr()
        );
        dial(&s, "b");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, status) = s.get("/status");
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["store"]["degraded"], false, "{status}");
}
