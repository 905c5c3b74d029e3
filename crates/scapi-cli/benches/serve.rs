//! `scapi serve` under load, beside the floor of the same machine: a real
//! HTTP load generator (`oha`, `cargo install --locked oha`) sends a fixed
//! number of requests over keep-alive connections on loopback, first to a
//! trivial `hyper` server that answers every POST with a small JSON body
//! (HTTP/1.1 on the same stack `scapi serve` uses, no decision), then to
//! `scapi serve` — single checks and batches of 100. Prints requests (and
//! checks) per second and p50/p99 latency, and the ratio to the floor.
//!
//! `cargo bench -p scapi-cli --bench serve`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::service::Service;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

const REQUESTS: &str = "100000";
const CONNECTIONS: &str = "32";

/// One `oha` run: requests per second, p50 and p99 in ms.
fn oha(url: &str, body: &str) -> (f64, f64, f64) {
    let out = Command::new("oha")
        .args([
            "-n",
            REQUESTS,
            "-c",
            CONNECTIONS,
            "--no-tui",
            "--output-format",
            "json",
        ])
        .args(["-m", "POST", "-T", "application/json", "-d", body, url])
        .output()
        .expect("oha runs");
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ok = v["statusCodeDistribution"]["200"].as_u64().unwrap_or(0);
    assert_eq!(
        ok.to_string(),
        REQUESTS,
        "not every answer was 200: {}",
        v["statusCodeDistribution"]
    );
    let ms = |p: &str| v["latencyPercentiles"][p].as_f64().unwrap_or(f64::NAN) * 1e3;
    (
        v["summary"]["requestsPerSec"].as_f64().unwrap(),
        ms("p50"),
        ms("p99"),
    )
}

/// The floor: hyper's HTTP/1.1 answering `{"ok":true}` to every request,
/// the body read, on its own runtime with as many workers as `scapi serve`.
fn floor() -> (String, std::sync::mpsc::Sender<()>) {
    use http_body_util::BodyExt;
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx
                .send(listener.local_addr().unwrap().to_string())
                .unwrap();
            let stop = tokio::task::spawn_blocking(move || {
                let _ = stop_rx.recv();
            });
            let serve = async move {
                loop {
                    let (io, _) = listener.accept().await.unwrap();
                    let _ = io.set_nodelay(true);
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(
                            |req: hyper::Request<hyper::body::Incoming>| async move {
                                let _ = req.into_body().collect().await;
                                let mut r = hyper::Response::new(http_body_util::Full::new(
                                    hyper::body::Bytes::from_static(br#"{"ok":true}"#),
                                ));
                                r.headers_mut().insert(
                                    "content-type",
                                    hyper::header::HeaderValue::from_static("application/json"),
                                );
                                Ok::<_, std::convert::Infallible>(r)
                            },
                        );
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(io), service)
                            .await;
                    });
                }
            };
            tokio::select! {
                () = serve => {}
                _ = stop => {}
            }
        });
    });
    (addr_rx.recv().unwrap(), stop_tx)
}

fn main() {
    if Command::new("oha").arg("--version").output().is_err() {
        eprintln!("skipped: `oha` is not installed (`cargo install --locked oha`)");
        return;
    }
    let root = scapi_testkit::root();
    let check =
        json!({"origin": "https://crm.example.com", "request": "agent.get", "client": "agent-1"});
    let single = check.to_string();
    let batch = Value::Array(vec![check; 100]).to_string();
    let (floor_addr, stop) = floor();
    let floor_run = oha(&format!("http://{floor_addr}/"), &single);
    let _ = stop.send(());
    let s = Service::start(
        Path::new(env!("CARGO_BIN_EXE_scapi")),
        &["examples/wwews-cluster.cfg", "--no-watch"],
        &root,
    );
    let one = oha(&format!("http://{}/v1/check", s.addr), &single);
    let hundred = oha(&format!("http://{}/v1/check/batch", s.addr), &batch);
    drop(s);
    let row = |name: &str, (rps, p50, p99): (f64, f64, f64), per: f64| {
        (
            name.to_string(),
            format!(
                "{:.0} req/s ({:.0} checks/s), p50 {p50:.2} ms, p99 {p99:.2} ms",
                rps,
                rps * per
            ),
            format!("{:.0} req/s", floor_run.0),
            format!("{:.2}× the floor's req/s", rps / floor_run.0),
        )
    };
    let rows = vec![
        (
            "floor: hyper answering {\"ok\":true}".to_string(),
            format!(
                "{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
                floor_run.0, floor_run.1, floor_run.2
            ),
            "—".to_string(),
            "1.00×".to_string(),
        ),
        row("scapi serve POST /v1/check", one, 1.0),
        row("scapi serve POST /v1/check/batch (100)", hundred, 100.0),
    ];
    eprintln!("{REQUESTS} requests over {CONNECTIONS} keep-alive connections each, loopback, oha");
    scapi_testkit::bench::print_table(&rows);
}
