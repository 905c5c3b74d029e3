//! Every eval case decides the same through a real `redis-server` as in
//! memory: a test per case, `eval::<case>::redis`, each on keys of its own
//! in one server started for the run and stopped at its end.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_redis::{FailureMode, RedisConfig, RedisStore};
use scapi_testkit::harness::Suite;
use scapi_testkit::redis_server::Server;
use scapi_testkit::{Golden, find_input, policy_of};
use scapi_tools::eval;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

type Shared = Arc<Mutex<Option<Server>>>;

fn main() {
    let server: Shared = Arc::new(Mutex::new(None));
    let cases = Arc::clone(&server);
    // Without a Redis to start, every case says it was not checked (and in
    // CI, where tools are required, that fails).
    let missing = !(scapi_testkit::tools::have("redis-server", "redis-server")
        && scapi_testkit::tools::have("redis-cli", "redis-tools"));
    let conclusion = Suite::new()
        .cases_where(
            "eval",
            Some("redis"),
            |_| Some(missing),
            move |dir, golden| decide_alike(&cases, dir, golden),
        )
        .conclude();
    // Stopped by its PID before the process exits.
    drop(server.lock().unwrap_or_else(PoisonError::into_inner).take());
    conclusion.exit();
}

fn decide_alike(server: &Shared, dir: &Path, golden: &mut Golden) {
    let url = server
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert_with(Server::start)
        .url();
    let policy = policy_of(&find_input(dir, "policy").unwrap());
    let requests = find_input(dir, "requests").unwrap();
    let text = std::fs::read_to_string(&requests).unwrap();
    let format = eval::RequestsFormat::detect(requests.to_str().unwrap(), text.as_bytes());
    let items = eval::parse_items(&text, format).unwrap();
    let name = dir.file_name().unwrap().to_string_lossy();
    let store = RedisStore::connect(
        &url,
        RedisConfig {
            prefix: format!("case-{}-{name}", std::process::id()),
            failure: FailureMode::Closed,
            ..RedisConfig::default()
        },
    )
    .unwrap();
    let handle = scapi_policy::PolicyHandle::with_store(policy, store);
    let mut out = Vec::new();
    eval::run(
        &handle,
        items.into_iter().map(Ok),
        eval::ReportFormat::Json,
        &mut out,
        eval::Hooks::none(),
    )
    .unwrap();
    // In memory it gives `expected.json` (`eval::<case>`); through Redis the
    // same bytes. Never blessed from here.
    golden.compare(&dir.join("expected.json"), &String::from_utf8(out).unwrap());
}
