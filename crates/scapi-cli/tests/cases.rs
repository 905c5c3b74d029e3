//! The case folders of `tests/cases/` that the `scapi` command is checked
//! against, a test per folder (`cargo test -p scapi-cli --test cases --
//! cli::compile_example`); `BLESS=1` rewrites the expectations.
//!
//! **`cli/<case>/`**: `cmd` is one command line (without `scapi`), run from
//! the repository root. Optional `stdin` is piped in; optional `tmp/` is
//! copied to a fresh directory that `$TMP` in the command names. `$REDIS`
//! names a real `redis-server` started for the run (emptied before each
//! case; such cases run one at a time), `$LOCKED_REDIS_HOST` one that
//! requires the password `s3cret`, `$DEAD_REDIS` an address where none
//! listens. Expected: `stdout`, `stderr`, `status`, and — when `tmp/` or
//! `$TMP` is used — `tmp.txt`, the files left in that directory afterwards;
//! when `$REDIS` is, `redis.txt`, the keys left in the server.
//!
//! **`lsp/<case>/`**: `scapi lsp` driven as an editor drives it, framed
//! JSON-RPC over its standard input and output. `input.cfg`, `input.json` or
//! `input.yaml` is opened, then each line of `steps` runs — `hover L:C`,
//! `completion L:C`, `actions L:C L:C [KIND]` (code actions over a range,
//! only of KIND when given, such as `source.fixAll`),
//! `formatting`, `change L:C L:C TEXT` (an incremental edit; `\n` in TEXT
//! is a line break), `close` — with 0-based lines and UTF-16 columns as
//! LSP counts them. `expected.json` is the transcript: the diagnostics
//! published after opening and after each change, and each step's answer
//! (completion lists shortened to their labels).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::harness::Suite;
use scapi_testkit::lsp_client::Client;
use scapi_testkit::redis_server::{Server, free_port};
use scapi_testkit::{Golden, root, split_args};
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

/// The servers the cases share, started when a case first needs them and
/// stopped when every case has run.
struct Shared {
    redis: Mutex<Option<Server>>,
    locked: Mutex<Option<(tempfile::TempDir, Server)>>,
    dead_redis: String,
}

fn main() {
    let shared = Arc::new(Shared {
        redis: Mutex::new(None),
        locked: Mutex::new(None),
        dead_redis: format!("redis://127.0.0.1:{}", free_port()),
    });
    let cases = Arc::clone(&shared);
    // A case that needs a Redis, where none can be started, says it was
    // not checked (and in CI, where tools are required, that fails).
    let redis = scapi_testkit::tools::have("redis-server", "redis-server");
    let needs_redis = move |dir: &Path| {
        let line = std::fs::read_to_string(dir.join("cmd")).unwrap_or_default();
        Some(!redis && (line.contains("$REDIS") || line.contains("$LOCKED_REDIS_HOST")))
    };
    let conclusion = Suite::new()
        .cases_where("cli", None, needs_redis, move |dir, golden| {
            cli_case(&cases, dir, golden)
        })
        .cases("lsp", None, lsp_case)
        .conclude();
    // Stopped by their PID before the process exits.
    drop(
        shared
            .redis
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(),
    );
    drop(
        shared
            .locked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(),
    );
    conclusion.exit();
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            std::fs::create_dir(&dest).unwrap();
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, dest).unwrap();
        }
    }
}

/// The files under `dir`, by path.
fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn list_dir(dir: &Path) -> String {
    let mut names = Vec::new();
    files_under(dir, &mut names);
    names.sort();
    let mut out = String::new();
    for p in names {
        let name = p.strip_prefix(dir).unwrap().to_string_lossy().to_string();
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

fn cli_case(shared: &Shared, dir: &Path, golden: &mut Golden) {
    let line = std::fs::read_to_string(dir.join("cmd")).unwrap();
    let uses_redis = line.contains("$REDIS");
    // Cases that use a server run one at a time, each on an emptied one.
    let mut redis = match uses_redis {
        true => Some(shared.redis.lock().unwrap_or_else(PoisonError::into_inner)),
        false => None,
    };
    if let Some(r) = redis.as_mut() {
        r.get_or_insert_with(Server::start).cli(&["FLUSHALL"]);
    }
    let redis_url = redis
        .as_ref()
        .and_then(|r| r.as_ref())
        .map(Server::url)
        .unwrap_or_default();
    let uses_locked = line.contains("$LOCKED_REDIS_HOST");
    let mut locked = shared.locked.lock().unwrap_or_else(PoisonError::into_inner);
    if uses_locked && locked.is_none() {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start_in(dir.path(), &["--requirepass", "s3cret"]);
        *locked = Some((dir, server));
    }
    let locked_host = locked
        .as_ref()
        .filter(|_| uses_locked)
        .map(|(_, s)| format!("127.0.0.1:{}", s.port))
        .unwrap_or_default();
    drop(locked);
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
                .replace("$DEAD_REDIS", &shared.dead_redis)
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
    // A command that stops before reading its input (a usage error) closes
    // the pipe: what it printed is the result, not the failed write.
    match child.stdin.take().unwrap().write_all(&input) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
    let out = child.wait_with_output().unwrap();
    let clean = |b: &[u8]| {
        let text = String::from_utf8_lossy(b).replace(&tmp_path, "$TMP");
        let text = text.replace(&shared.dead_redis, "$DEAD_REDIS");
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
    if let Some(server) = redis.as_ref().and_then(|r| r.as_ref()) {
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

fn position(s: &str) -> Value {
    let (l, c) = s.split_once(':').unwrap();
    json!({"line": l.parse::<u32>().unwrap(), "character": c.parse::<u32>().unwrap()})
}

fn lsp_case(dir: &Path, golden: &mut Golden) {
    let input = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_stem().is_some_and(|s| s == "input"))
        .unwrap_or_else(|| panic!("{}: no input.*", dir.display()));
    let ext = input.extension().unwrap().to_str().unwrap().to_string();
    let uri = format!(
        "file:///cases/{}/input.{ext}",
        dir.file_name().unwrap().to_str().unwrap()
    );
    let text = std::fs::read_to_string(&input).unwrap();
    let mut c = Client::start(env!("CARGO_BIN_EXE_scapi"));
    c.initialize();
    c.open(&uri, &ext, &text);
    let mut transcript = vec![json!({"opened": c.diagnostics(&uri, 1)})];
    let steps = std::fs::read_to_string(dir.join("steps")).unwrap_or_default();
    let mut version = 1;
    for step in steps.lines().filter(|l| !l.trim().is_empty()) {
        let words: Vec<&str> = step.splitn(4, ' ').collect();
        let doc = json!({"uri": uri});
        let answer = match words[0] {
            "hover" => c.request(
                "textDocument/hover",
                json!({"textDocument": doc, "position": position(words[1])}),
            ),
            "completion" => {
                let mut r = c.request(
                    "textDocument/completion",
                    json!({"textDocument": doc, "position": position(words[1])}),
                );
                if let Some(items) = r["result"].as_array() {
                    r["result"] = items.iter().map(|i| i["label"].clone()).collect();
                }
                r
            }
            "actions" => {
                let mut context = json!({"diagnostics": []});
                if let Some(kind) = words.get(3) {
                    context["only"] = json!([kind]);
                }
                c.request(
                    "textDocument/codeAction",
                    json!({"textDocument": doc,
                           "range": {"start": position(words[1]), "end": position(words[2])},
                           "context": context}),
                )
            }
            "formatting" => c.request(
                "textDocument/formatting",
                json!({"textDocument": doc, "options": {"tabSize": 4, "insertSpaces": true}}),
            ),
            "change" => {
                version += 1;
                let new_text = words.get(3).copied().unwrap_or("").replace("\\n", "\n");
                c.notify(
                    "textDocument/didChange",
                    json!({"textDocument": {"uri": uri, "version": version},
                           "contentChanges": [{"range": {"start": position(words[1]), "end": position(words[2])},
                                               "text": new_text}]}),
                );
                json!({"diagnostics": c.diagnostics(&uri, version)})
            }
            "close" => {
                c.notify(
                    "textDocument/didClose",
                    json!({"textDocument": {"uri": uri}}),
                );
                json!({"diagnostics": c.diagnostics(&uri, version)})
            }
            other => panic!("{}: unknown step `{other}`", dir.display()),
        };
        let mut answer = answer;
        if let Some(o) = answer.as_object_mut() {
            o.remove("jsonrpc");
            o.remove("id");
        }
        transcript.push(json!({"step": step, "answer": answer}));
    }
    assert_eq!(c.stop(), Some(0), "{}: exit code", dir.display());
    let shown = serde_json::to_string_pretty(&transcript)
        .unwrap()
        .replace(&uri, "$URI")
        + "\n";
    golden.check(&dir.join("expected.json"), &shown);
}
