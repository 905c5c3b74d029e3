//! # scapi-serve — the policy runtime as an HTTP decision service
//!
//! A broker written in Java, .NET or Python cannot link the Rust runtime or
//! load the npm package; it asks this service instead. `scapi serve POLICY
//! --listen 127.0.0.1:8181` (the CLI) runs [`serve`]: HTTP/1.1 and JSON on
//! a TCP address or a Unix socket, on the one decision of
//! [`scapi_policy::handle::Active::decide`] (so it decides exactly as `scapi
//! eval`, the Rust runtime and the npm package do).
//!
//! * `POST /v1/check` — one request a frame sent: the decision, what the
//!   broker does (`forward`, `answer`, `ignore`), the reply to send, the
//!   attached data without the keys it may not write, the headroom.
//!   `POST /v1/check/batch` takes and gives an array.
//! * `POST /v1/redact` — an event on its way to a frame, without the
//!   attached-data keys it may not read. `POST /v1/redact/batch` too.
//! * `GET /health` (the process answers), `/ready` (a verified policy is
//!   active), `/status` (policy digest, generation, loaded at, the last
//!   reload's error, store mode and whether it is degraded), `/metrics`
//!   (Prometheus text).
//!
//! Bounded: body size, header read time (slow clients are dropped),
//! request time, requests in flight, batch length. Bad input gets a 4xx
//! with `{"error": {"code", "message"}}`; nothing a client sends stops the
//! service. The policy reloads on `SIGHUP` and when its file changes
//! (renamed over included), through the loader the caller gives (which
//! verifies signatures when keys are configured); a policy that does not
//! load keeps the active one and shows in `/status` and the metrics.
//! `SIGTERM` (or `SIGINT`) drains: no new connections, requests in flight
//! answered, the decision log flushed, then [`serve`] returns.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;

use api::{CheckRequest, ErrorBody, ErrorDetail, RedactAnswer, RedactRequest};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use scapi_policy::PolicyHandle;
use scapi_policy::limiter::AsyncCounterStore;
use scapi_policy::log::{ClientHasher, DecisionBuffer, DecisionSink, Sampling};
use scapi_policy::policy::Policy;
use serde_json::value::RawValue;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the service listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listen {
    /// A TCP address (`127.0.0.1:8181`; port 0 picks a free one).
    Tcp(SocketAddr),
    /// A Unix socket's path.
    Unix(PathBuf),
}

impl std::str::FromStr for Listen {
    type Err = String;
    fn from_str(s: &str) -> Result<Listen, String> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("`unix:` names no socket path; write `unix:/run/scapi.sock`".into());
            }
            return Ok(Listen::Unix(PathBuf::from(path)));
        }
        s.parse::<SocketAddr>().map(Listen::Tcp).map_err(|_| {
            format!("`{s}` is not an address to listen on; write `127.0.0.1:8181` or `unix:/run/scapi.sock`")
        })
    }
}

/// Where decision records go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogTo {
    /// Standard output, one JSON line per decision.
    Stdout,
    /// A file, appended to.
    File(PathBuf),
}

/// How the service runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where it listens.
    pub listen: Listen,
    /// The largest request body, in bytes.
    pub max_body: usize,
    /// The longest a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// The longest a request may take, body included.
    pub request_timeout: Duration,
    /// Requests decided at once; more wait their turn.
    pub max_in_flight: usize,
    /// The most items in one batch.
    pub max_batch: usize,
    /// How often the watched files are looked at for a change (`None`:
    /// reload only on `SIGHUP`).
    pub watch: Option<Duration>,
    /// The files whose change reloads the policy: the policy and its
    /// signature. A file renamed over one of them is a change.
    pub watch_files: Vec<PathBuf>,
    /// Take a check's `at` (ms since the epoch) instead of the clock: for
    /// replays and tests, never for live traffic.
    pub client_time: bool,
    /// Decision records, when kept.
    pub decision_log: Option<LogTo>,
    /// The salt of the hashed client ids in the log.
    pub salt: String,
    /// How long [`serve`] waits for requests in flight when told to stop.
    pub drain: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            listen: Listen::Tcp(SocketAddr::from(([127, 0, 0, 1], 8181))),
            max_body: 1024 * 1024,
            header_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            max_in_flight: 1024,
            max_batch: 1000,
            watch: Some(Duration::from_secs(1)),
            watch_files: Vec::new(),
            client_time: false,
            decision_log: None,
            salt: String::new(),
            drain: Duration::from_secs(30),
        }
    }
}

/// Loads the policy (verified when keys are configured), or says why not.
pub type Loader = Arc<dyn Fn() -> Result<Policy, String> + Send + Sync>;

/// What `/status` says of the counter store, asked on each call.
pub type StoreInfo = Arc<dyn Fn() -> StoreStatus + Send + Sync>;

/// The counter store, as `/status` shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StoreStatus {
    /// `memory`, `redis`, `redis-sentinel`.
    pub mode: String,
    /// Whether it is out of reach, answering by its failure mode.
    pub degraded: bool,
    /// `open` or `closed` (what a store out of reach does).
    pub failure: Option<String>,
}

/// Why the service could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {what}: {source}")]
    Listen {
        /// The address.
        what: String,
        /// Why.
        source: std::io::Error,
    },
    /// The decision log could not be opened.
    #[error("cannot open the decision log `{path}`: {source}")]
    Log {
        /// Its path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The runtime could not start, or a signal could not be watched.
    #[error("{0}")]
    Runtime(std::io::Error),
}

/// What the service knows of its policy beyond the handle.
#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicyState {
    loaded_at: u64,
    last_error: Option<String>,
    last_error_at: Option<u64>,
}

struct App<S> {
    handle: PolicyHandle<S>,
    loader: Loader,
    store: StoreInfo,
    options: Options,
    state: Mutex<PolicyState>,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    log: Option<Arc<DecisionBuffer>>,
    /// Records the log writer could not write.
    log_lost: Arc<AtomicU64>,
    /// Set by `SIGHUP`: the log file is opened again (after a rotation).
    reopen_log: Arc<std::sync::atomic::AtomicBool>,
    http: HttpCounts,
}

/// Answers by route and status class, for the metrics (bounded labels).
#[derive(Default)]
struct HttpCounts {
    cells: [[AtomicU64; 4]; ROUTES.len()],
}

const ROUTES: [&str; 10] = [
    "/v1/check",
    "/v1/check/batch",
    "/v1/redact",
    "/v1/redact/batch",
    "/health",
    "/ready",
    "/status",
    "/metrics",
    "other",
    "timeout",
];

impl HttpCounts {
    fn count(&self, path: &str, status: StatusCode) {
        let route = ROUTES
            .iter()
            .position(|r| *r == path)
            .unwrap_or(ROUTES.len() - 2);
        let class = match status.as_u16() {
            200..=299 => 0,
            400..=499 => 1,
            500..=599 => 2,
            _ => 3,
        };
        if let Some(c) = self.cells.get(route).and_then(|r| r.get(class)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs the service until `SIGTERM` or `SIGINT`: `handle` holds the policy
/// the loader gave first, and its store; `ready` is told the address it
/// listens on (the port chosen, for port 0).
pub async fn serve<S>(
    handle: PolicyHandle<S>,
    loader: Loader,
    store: StoreInfo,
    options: Options,
    ready: impl FnOnce(&str),
) -> Result<(), ServeError>
where
    S: AsyncCounterStore + Send + Sync + 'static,
{
    let (log, writer) = match &options.decision_log {
        None => (None, None),
        Some(to) => {
            let buffer = Arc::new(DecisionBuffer::new(65_536, Sampling::default()));
            let out = LogWriter::open(to)?;
            (Some(buffer), Some(out))
        }
    };
    let handle = match &log {
        Some(buffer) => handle.with_decision_log(
            Arc::clone(buffer) as Arc<dyn DecisionSink>,
            ClientHasher::new(options.salt.as_bytes()),
        ),
        None => handle,
    };
    let app = Arc::new(App {
        handle,
        loader,
        store,
        state: Mutex::new(PolicyState {
            loaded_at: unix_now(),
            ..PolicyState::default()
        }),
        reloads_ok: AtomicU64::new(0),
        reloads_failed: AtomicU64::new(0),
        log,
        log_lost: Arc::new(AtomicU64::new(0)),
        reopen_log: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        http: HttpCounts::default(),
        options,
    });
    let router = router(Arc::clone(&app));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // Signals: SIGHUP reloads; SIGTERM and SIGINT stop.
    let mut hup = signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut term = signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = signal(tokio::signal::unix::SignalKind::interrupt())?;
    {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                app.reopen_log.store(true, Ordering::Relaxed);
                reload_blocking(&app).await;
            }
        });
    }
    if let Some(every) = app.options.watch {
        let app = Arc::clone(&app);
        let mut stop = stop_rx.clone();
        // Taken now, before the service listens: taken in the task, it
        // could see a change made once the service is up (the task may
        // first run late on a busy machine) as the state to compare with.
        let mut seen = app_files_state(&app);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.changed() => return,
                }
                let now = app_files_state(&app);
                if now != seen {
                    seen = now;
                    reload_blocking(&app).await;
                }
            }
        });
    }
    let log_task = match (&app.log, writer) {
        (Some(buffer), Some(mut out)) => {
            let buffer = Arc::clone(buffer);
            let mut stop = stop_rx.clone();
            let (lost, reopen) = (Arc::clone(&app.log_lost), Arc::clone(&app.reopen_log));
            Some(tokio::spawn(async move {
                loop {
                    let stopping = tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(200)) => false,
                        _ = stop.changed() => true,
                    };
                    if reopen.swap(false, Ordering::Relaxed) {
                        out.reopen();
                    }
                    let records = buffer.drain();
                    let n = records.len() as u64;
                    if !out.write(&records) {
                        lost.fetch_add(n, Ordering::Relaxed);
                    }
                    if stopping {
                        out.flush();
                        return;
                    }
                }
            }))
        }
        _ => None,
    };
    let stopping = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    };
    let result = match app.options.listen.clone() {
        Listen::Tcp(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::Listen {
                    what: addr.to_string(),
                    source,
                })?;
            let local = listener.local_addr().map_err(ServeError::Runtime)?;
            ready(&format!("http://{local}"));
            accept_loop(listener, router, &app.options, stopping).await;
            Ok(())
        }
        Listen::Unix(path) => {
            // A socket left by a process that is gone is replaced; anything
            // else at that path is not ours to remove.
            use std::os::unix::fs::FileTypeExt;
            if let Ok(m) = std::fs::symlink_metadata(&path) {
                if !m.file_type().is_socket() {
                    return Err(ServeError::Listen {
                        what: path.display().to_string(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::AlreadyExists,
                            "a file that is not a socket is there",
                        ),
                    });
                }
                if std::os::unix::net::UnixStream::connect(&path).is_err() {
                    let _ = std::fs::remove_file(&path);
                }
            }
            let listener =
                tokio::net::UnixListener::bind(&path).map_err(|source| ServeError::Listen {
                    what: path.display().to_string(),
                    source,
                })?;
            ready(&format!("unix:{}", path.display()));
            accept_loop(listener, router, &app.options, stopping).await;
            let _ = std::fs::remove_file(&path);
            Ok(())
        }
    };
    let _ = stop_tx.send(true);
    if let Some(task) = log_task {
        let _ = task.await;
    }
    result
}

fn signal(
    kind: tokio::signal::unix::SignalKind,
) -> Result<tokio::signal::unix::Signal, ServeError> {
    tokio::signal::unix::signal(kind).map_err(ServeError::Runtime)
}

/// A listener the accept loop takes connections from.
trait Accept {
    type Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static;
    fn accept(&self) -> impl std::future::Future<Output = std::io::Result<Self::Io>> + Send;
}

impl Accept for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;
    async fn accept(&self) -> std::io::Result<tokio::net::TcpStream> {
        let (io, _) = tokio::net::TcpListener::accept(self).await?;
        let _ = io.set_nodelay(true);
        Ok(io)
    }
}

impl Accept for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;
    async fn accept(&self) -> std::io::Result<tokio::net::UnixStream> {
        let (io, _) = tokio::net::UnixListener::accept(self).await?;
        Ok(io)
    }
}

/// Serves connections until `stopping`, then lets those open finish their
/// requests in flight (at most the drain time).
async fn accept_loop<L: Accept>(
    listener: L,
    router: Router,
    options: &Options,
    stopping: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .max_buf_size(64 * 1024);
    let service = hyper_util::service::TowerToHyperService::new(router);
    tokio::pin!(stopping);
    loop {
        let io = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(io) => io,
                // Out of file descriptors, a connection reset before it was
                // taken: the listener itself is fine.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut stopping => break,
        };
        let conn = http.serve_connection(TokioIo::new(io), service.clone());
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    // New connections are refused from now on (a load balancer moves on at
    // once); those open finish the requests they have begun.
    drop(listener);
    let _ = tokio::time::timeout(options.drain, graceful.shutdown()).await;
}

/// The policy file and its signature, as a change of either shows.
type FilesState = Vec<Option<(u64, u64, u64, i64)>>;

fn app_files_state<S>(app: &App<S>) -> FilesState {
    app.options
        .watch_files
        .iter()
        .map(|p| {
            std::fs::metadata(p).ok().map(|m| {
                use std::os::unix::fs::MetadataExt;
                (
                    m.dev(),
                    m.ino(),
                    m.len(),
                    m.mtime_nsec() + m.mtime() * 1_000_000_000,
                )
            })
        })
        .collect()
}

/// [`reload`] on a blocking thread: reading and compiling a policy must
/// not stall the requests (a slow file system, a FIFO, a large export).
async fn reload_blocking<S: Send + Sync + 'static>(app: &Arc<App<S>>) {
    let app = Arc::clone(app);
    let _ = tokio::task::spawn_blocking(move || reload(&app)).await;
}

/// Loads the policy again: swapped in, or refused with the old one kept.
fn reload<S>(app: &App<S>) {
    match (app.loader)() {
        // The counters move under the state's lock, as `/status` reads
        // them: a reload counted is one whose outcome is shown.
        Ok(policy) => {
            let mut state = app.state.lock().unwrap_or_else(PoisonError::into_inner);
            let old = app.handle.swap(policy);
            state.loaded_at = unix_now();
            state.last_error = None;
            state.last_error_at = None;
            app.reloads_ok.fetch_add(1, Ordering::Relaxed);
            drop(state);
            // A large policy is freed after the lock is let go.
            drop(old);
            let generation = app.handle.current().generation();
            eprintln!("scapi serve: policy reloaded (generation {generation})");
        }
        Err(message) => {
            eprintln!("scapi serve: reload refused, the active policy stays: {message}");
            let mut state = app.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.last_error = Some(message);
            state.last_error_at = Some(unix_now());
            app.reloads_failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn router<S>(app: Arc<App<S>>) -> Router
where
    S: AsyncCounterStore + Send + Sync + 'static,
{
    let max_body = app.options.max_body;
    let in_flight = app.options.max_in_flight.max(1);
    let timeout = app.options.request_timeout;
    let counts = Arc::clone(&app);
    // The decisions share the bound on requests in flight; health, status
    // and metrics do not, so a flood of slow uploads cannot fail a probe.
    let decisions = Router::new()
        .route("/v1/check", post(check::<S>))
        .route("/v1/check/batch", post(check_batch::<S>))
        .route("/v1/redact", post(redact::<S>))
        .route("/v1/redact/batch", post(redact_batch::<S>))
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(in_flight));
    Router::new()
        .route("/health", get(|| async { json(StatusCode::OK, r#"{"status":"live"}"#.into()) }))
        .route("/ready", get(ready::<S>))
        .route("/status", get(status::<S>))
        .route("/metrics", get(metrics::<S>))
        .merge(decisions)
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "not-found",
                "no such route; see `/v1/check`, `/v1/redact`, `/health`, `/ready`, `/status`, `/metrics`".into(),
            )
        })
        .method_not_allowed_fallback(|| async {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this route takes another method (`POST` for `/v1/…`, `GET` for the others)".into(),
            )
        })
        .with_state(app)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let counts = Arc::clone(&counts);
                async move {
                    let path = req.uri().path().to_string();
                    let response = match tokio::time::timeout(timeout, next.run(req)).await {
                        Ok(r) => r,
                        Err(_) => {
                            counts.http.count("timeout", StatusCode::SERVICE_UNAVAILABLE);
                            return error(
                                StatusCode::SERVICE_UNAVAILABLE,
                                "timeout",
                                format!("the request took longer than {timeout:?}"),
                            );
                        }
                    };
                    counts.http.count(&path, response.status());
                    response
                }
            },
        ))
}

fn json(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn error(status: StatusCode, code: &'static str, message: String) -> Response {
    let body = ErrorBody {
        error: ErrorDetail { code, message },
    };
    json(status, serde_json::to_string(&body).unwrap_or_default())
}

/// A batch of `n` items, refused past `--max-batch`.
fn batch_len(options: &Options, n: usize) -> Result<(), Fail> {
    if n > options.max_batch {
        return Err(Fail(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!(
                "the batch has {n} items; at most {} are taken",
                options.max_batch
            ),
        ));
    }
    Ok(())
}

/// A 4xx or 5xx to answer: status, code and message.
struct Fail(StatusCode, &'static str, String);

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        error(self.0, self.1, self.2)
    }
}

/// The body as JSON of type `T`, or the 4xx that says why not.
fn body_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<T, Fail> {
    // Any content type: brokers' HTTP clients label JSON in many ways.
    let _ = headers;
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Fail(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "the body is larger than this service takes (`--max-body`)".into(),
            )
        } else {
            Fail(e.status(), "bad-request", e.body_text())
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        let code = if e.is_data() {
            "bad-request"
        } else {
            "bad-json"
        };
        Fail(StatusCode::BAD_REQUEST, code, e.to_string())
    })
}

async fn decide_one<S: AsyncCounterStore>(
    app: &App<S>,
    req: &CheckRequest,
) -> Result<api::CheckAnswer, Fail> {
    let keys = api::keys_of(req).map_err(|m| Fail(StatusCode::BAD_REQUEST, "bad-request", m))?;
    let call = api::call(req, &keys, app.options.client_time);
    let active = app.handle.current();
    let v = active.decide_async(&call).await;
    api::answer(active.policy(), req, &v)
        .map_err(|m| Fail(StatusCode::BAD_REQUEST, "bad-request", m))
}

async fn check<S: AsyncCounterStore + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let req: CheckRequest = match body_json(&headers, body) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    match decide_one(&app, &req).await {
        Ok(a) => json(
            StatusCode::OK,
            serde_json::to_string(&a).unwrap_or_default(),
        ),
        Err(r) => r.into_response(),
    }
}

async fn check_batch<S: AsyncCounterStore + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let reqs: Vec<CheckRequest> = match body_json(&headers, body) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    if let Err(f) = batch_len(&app.options, reqs.len()) {
        return f.into_response();
    }
    // All or nothing: every item is checked before any is decided, so a
    // refused batch counts nothing against the limits.
    for (i, req) in reqs.iter().enumerate() {
        if let Err(m) = api::keys_of(req) {
            return Fail(
                StatusCode::BAD_REQUEST,
                "bad-request",
                format!("item {i}: {m}"),
            )
            .into_response();
        }
    }
    let mut out = Vec::with_capacity(reqs.len());
    for req in &reqs {
        match decide_one(&app, req).await {
            Ok(a) => out.push(a),
            Err(r) => return r.into_response(),
        }
    }
    json(
        StatusCode::OK,
        serde_json::to_string(&out).unwrap_or_default(),
    )
}

fn redact_one<S>(app: &App<S>, req: &RedactRequest) -> Result<RedactAnswer, Fail> {
    let active = app.handle.current();
    let policy = active.policy();
    if policy.shadow().all {
        // A shadow policy filters nothing: the event goes as it came.
        let (_, removed) = policy
            .user_data()
            .redact_json(req.event.get())
            .map_err(|e| Fail(StatusCode::BAD_REQUEST, "bad-request", e.to_string()))?;
        return Ok(RedactAnswer {
            event: req.event.clone(),
            removed,
        });
    }
    let (text, removed) = policy
        .user_data()
        .redact_json(req.event.get())
        .map_err(|e| {
            Fail(
                StatusCode::BAD_REQUEST,
                "bad-request",
                format!("`event`: {e}"),
            )
        })?;
    let event = RawValue::from_string(text)
        .map_err(|e| Fail(StatusCode::BAD_REQUEST, "bad-request", e.to_string()))?;
    Ok(RedactAnswer { event, removed })
}

async fn redact<S: AsyncCounterStore + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let req: RedactRequest = match body_json(&headers, body) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    match redact_one(&app, &req) {
        Ok(a) => json(
            StatusCode::OK,
            serde_json::to_string(&a).unwrap_or_default(),
        ),
        Err(r) => r.into_response(),
    }
}

async fn redact_batch<S: AsyncCounterStore + Send + Sync + 'static>(
    State(app): State<Arc<App<S>>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let reqs: Vec<RedactRequest> = match body_json(&headers, body) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    if let Err(f) = batch_len(&app.options, reqs.len()) {
        return f.into_response();
    }
    let mut out = Vec::with_capacity(reqs.len());
    for req in &reqs {
        match redact_one(&app, req) {
            Ok(a) => out.push(a),
            Err(r) => return r.into_response(),
        }
    }
    json(
        StatusCode::OK,
        serde_json::to_string(&out).unwrap_or_default(),
    )
}

async fn ready<S>(State(app): State<Arc<App<S>>>) -> Response {
    let generation = app.handle.current().generation();
    json(
        StatusCode::OK,
        format!(r#"{{"ready":true,"generation":{generation}}}"#),
    )
}

async fn status<S>(State(app): State<Arc<App<S>>>) -> Response {
    // Read under the state's lock, as a reload writes them.
    let (active, state, ok, failed) = {
        let state = app.state.lock().unwrap_or_else(PoisonError::into_inner);
        (
            app.handle.current(),
            state.clone(),
            app.reloads_ok.load(Ordering::Relaxed),
            app.reloads_failed.load(Ordering::Relaxed),
        )
    };
    let source = active.policy().source();
    let body = serde_json::json!({
        "policy": {
            "source": source.name,
            "digest": source.sha256,
            "generation": active.generation(),
            "loadedAt": state.loaded_at,
            "shadow": !active.policy().shadow().is_empty(),
        },
        "lastReload": {
            "error": state.last_error,
            "errorAt": state.last_error_at,
        },
        "reloads": {
            "ok": ok,
            "failed": failed,
        },
        "store": (app.store)(),
        "decisionLog": app.log.as_ref().map(|l| serde_json::json!({
            "dropped": l.dropped() + app.log_lost.load(Ordering::Relaxed)
        })),
    });
    json(StatusCode::OK, body.to_string())
}

async fn metrics<S>(State(app): State<Arc<App<S>>>) -> Response {
    use std::fmt::Write as _;
    let mut text = app
        .handle
        .metrics()
        .map(|m| m.to_prometheus())
        .unwrap_or_default();
    // Read under the state's lock, as a reload writes them.
    let (state, ok, failed) = {
        let state = app.state.lock().unwrap_or_else(PoisonError::into_inner);
        (
            state.clone(),
            app.reloads_ok.load(Ordering::Relaxed),
            app.reloads_failed.load(Ordering::Relaxed),
        )
    };
    let _ = writeln!(
        text,
        "# HELP scapi_reloads_total Policy reloads, by result.\n# TYPE scapi_reloads_total counter\nscapi_reloads_total{{result=\"ok\"}} {ok}\nscapi_reloads_total{{result=\"failed\"}} {failed}",
    );
    let _ = writeln!(
        text,
        "# HELP scapi_policy_loaded_timestamp_seconds When the active policy was loaded.\n# TYPE scapi_policy_loaded_timestamp_seconds gauge\nscapi_policy_loaded_timestamp_seconds {}",
        state.loaded_at
    );
    let _ = writeln!(
        text,
        "# HELP scapi_last_reload_failed Whether the last reload was refused (the active policy stayed).\n# TYPE scapi_last_reload_failed gauge\nscapi_last_reload_failed {}",
        u8::from(state.last_error.is_some())
    );
    let store = (app.store)();
    let _ = writeln!(
        text,
        "# HELP scapi_store_degraded Whether the counter store is out of reach.\n# TYPE scapi_store_degraded gauge\nscapi_store_degraded{{mode=\"{}\"}} {}",
        store.mode,
        u8::from(store.degraded)
    );
    if let Some(log) = &app.log {
        let _ = writeln!(
            text,
            "# HELP scapi_decision_log_dropped_total Decision records dropped: the log's buffer was full, or the log could not be written.\n# TYPE scapi_decision_log_dropped_total counter\nscapi_decision_log_dropped_total {}",
            log.dropped() + app.log_lost.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        text,
        "# HELP scapi_http_responses_total HTTP answers, by route and status class.\n# TYPE scapi_http_responses_total counter"
    );
    for (route, cells) in ROUTES.iter().zip(app.http.cells.iter()) {
        for (class, cell) in ["2xx", "4xx", "5xx", "other"].iter().zip(cells.iter()) {
            let n = cell.load(Ordering::Relaxed);
            if n > 0 {
                let _ = writeln!(
                    text,
                    "scapi_http_responses_total{{route=\"{route}\",class=\"{class}\"}} {n}"
                );
            }
        }
    }
    let mut r = (StatusCode::OK, text).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// Writes decision records, one JSON line each.
struct LogWriter {
    to: LogTo,
    out: Option<Box<dyn std::io::Write + Send>>,
    /// Said on standard error once per failure streak.
    failing: bool,
}

impl LogWriter {
    fn open(to: &LogTo) -> Result<LogWriter, ServeError> {
        let out = Self::open_out(to).map_err(|source| ServeError::Log {
            path: match to {
                LogTo::Stdout => "-".into(),
                LogTo::File(p) => p.display().to_string(),
            },
            source,
        })?;
        Ok(LogWriter {
            to: to.clone(),
            out: Some(out),
            failing: false,
        })
    }

    fn open_out(to: &LogTo) -> std::io::Result<Box<dyn std::io::Write + Send>> {
        Ok(match to {
            LogTo::Stdout => Box::new(std::io::stdout()),
            LogTo::File(path) => Box::new(std::io::BufWriter::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            )),
        })
    }

    /// Opens the file again (after `SIGHUP`: a rotated log goes on in a
    /// new file at the path).
    fn reopen(&mut self) {
        self.flush();
        self.out = Self::open_out(&self.to).ok();
    }

    /// Writes the records; `false` when they could not be (they are lost
    /// and counted). Logging never changes a decision.
    fn write(&mut self, records: &[scapi_policy::log::DecisionRecord]) -> bool {
        if records.is_empty() {
            return true;
        }
        if self.out.is_none() {
            self.out = Self::open_out(&self.to).ok();
        }
        let mut text = String::new();
        for r in records {
            text.push_str(&r.to_json_line());
            text.push('\n');
        }
        let written = match self.out.as_mut() {
            Some(out) => out.write_all(text.as_bytes()).and_then(|()| out.flush()),
            None => Err(std::io::Error::other("the log cannot be opened")),
        };
        match written {
            Ok(()) => {
                self.failing = false;
                true
            }
            Err(e) => {
                if !self.failing {
                    eprintln!(
                        "scapi serve: the decision log cannot be written ({e}); records are dropped and counted until it can"
                    );
                }
                self.failing = true;
                // Tried again with a new handle next time.
                self.out = None;
                false
            }
        }
    }

    fn flush(&mut self) {
        if let Some(out) = self.out.as_mut() {
            let _ = out.flush();
        }
    }
}
