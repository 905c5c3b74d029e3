//! The language server of `scapi lsp`: LSP 3.17 over standard input and
//! output for option exports — cfg, ini, JSON and YAML — on the compiler's
//! own diagnostics, fixes, rule pages, request catalog and `fmt`, with the
//! settings of `scapi.toml` ([`scapi::front::config`]).
//!
//! The main thread answers the editor; a worker thread compiles. A change
//! is compiled after a short quiet time (the editor keeps typing), and a
//! result for a version the editor has since changed is dropped, so a large
//! export never holds up hover, completion or the next keystroke.

#![forbid(unsafe_code)]
// Tests may unwrap and index: a panic there is a failing test.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod features;
mod text;
mod transport;

use crossbeam_channel::{Receiver, Sender, select, unbounded};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, CompletionOptions,
    HoverProviderCapability, InitializeResult, OneOf, ServerCapabilities, ServerInfo,
    TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};
use scapi::front::config::Settings;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use text::LineIndex;

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum LspError {
    /// Standard input and output could not be set up for LSP.
    #[error("cannot start the language server: {0}")]
    Start(#[source] std::io::Error),
    /// The compiler's thread could not be started.
    #[error("cannot start the language server's compiler thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// How long a document must stay unchanged before it is compiled again.
const QUIET: Duration = Duration::from_millis(150);

/// A compilation of one version of a document.
pub(crate) struct Analysis {
    version: i32,
    /// The text it was made from.
    text: Arc<str>,
    index: LineIndex,
    compilation: scapi::Compilation,
}

/// An open document.
struct Doc {
    uri: Uri,
    text: Arc<str>,
    index: LineIndex,
    version: i32,
    /// When to compile it (after a change), if it is waiting.
    due: Option<Instant>,
    analysis: Option<Arc<Analysis>>,
}

/// A compilation to make.
struct Job {
    key: String,
    version: i32,
    text: Arc<str>,
    name: String,
}

/// The server's state on the main thread.
struct Server {
    connection: Connection,
    docs: HashMap<String, Doc>,
    settings: Settings,
    jobs: Sender<Job>,
    shutting_down: bool,
}

/// The name a document is compiled under: the last segment of its URI,
/// whose extension tells the format.
fn name_of(uri: &Uri) -> String {
    let path = uri.path().as_str();
    let last = path.rsplit('/').next().unwrap_or(path);
    let decoded = percent_decode(last);
    if decoded.is_empty() {
        "untitled".to_string()
    } else {
        decoded
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| {
            bytes
                .get(j)
                .and_then(|c| (*c as char).to_digit(16))
                .and_then(|d| u8::try_from(d).ok())
        };
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push(h * 16 + l);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Serves the editor on standard input and output until it exits: `true`
/// when it asked to shut down first (a clean exit), `false` when it went
/// away without asking.
pub fn run(settings: Settings) -> Result<bool, LspError> {
    let (connection, transport) = transport::stdio().map_err(LspError::Start)?;
    let (jobs, job_queue) = unbounded::<Job>();
    let (results_sender, results) = unbounded::<(String, Arc<Analysis>)>();
    let worker_settings = settings.clone();
    let worker = std::thread::Builder::new()
        .name("scapi-lsp-compiler".into())
        .spawn(move || compile_loop(&job_queue, &results_sender, &worker_settings));
    let worker = worker.map_err(LspError::Thread)?;
    let mut server = Server {
        connection,
        docs: HashMap::new(),
        settings,
        jobs,
        shutting_down: false,
    };
    let clean = server.serve(&results);
    let Server {
        connection, jobs, ..
    } = server;
    drop(jobs);
    drop(connection);
    let _ = worker.join();
    transport.join();
    Ok(clean)
}

/// The worker: compiles the newest version of each document asked for.
fn compile_loop(
    jobs: &Receiver<Job>,
    results: &Sender<(String, Arc<Analysis>)>,
    settings: &Settings,
) {
    while let Ok(first) = jobs.recv() {
        // Only the newest job of each document matters.
        let mut newest: HashMap<String, Job> = HashMap::new();
        newest.insert(first.key.clone(), first);
        while let Ok(more) = jobs.try_recv() {
            newest.insert(more.key.clone(), more);
        }
        for (key, job) in newest {
            let options = settings.options(scapi::Options::default(), &job.name);
            let compilation = scapi::compile(&job.name, job.text.as_bytes(), &options);
            let analysis = Analysis {
                version: job.version,
                index: LineIndex::new(&job.text),
                text: job.text,
                compilation,
            };
            if results.send((key, Arc::new(analysis))).is_err() {
                return;
            }
        }
    }
}

impl Server {
    fn send(&self, m: impl Into<Message>) {
        let _ = self.connection.sender.send(m.into());
    }

    fn notify(&self, method: &str, params: impl serde::Serialize) {
        self.send(Notification::new(method.to_string(), params));
    }

    /// Answers `initialize`, then serves until `exit`. Whether the client
    /// shut down first.
    fn serve(&mut self, results: &Receiver<(String, Arc<Analysis>)>) -> bool {
        if !self.initialize() {
            return false;
        }
        loop {
            let wait = self
                .docs
                .values()
                .filter_map(|d| d.due)
                .min()
                .map(|due| due.saturating_duration_since(Instant::now()));
            let timeout = crossbeam_channel::after(wait.unwrap_or(Duration::from_secs(3600)));
            select! {
                recv(self.connection.receiver) -> m => match m {
                    Ok(Message::Notification(n)) if n.method == "exit" => return self.shutting_down,
                    Ok(m) => self.handle(m),
                    Err(_) => return false,
                },
                recv(results) -> r => if let Ok((key, analysis)) = r {
                    self.analysed(&key, analysis);
                },
                recv(timeout) -> _ => self.compile_due(),
            }
        }
    }

    fn initialize(&mut self) -> bool {
        // Until `initialize`, requests are answered with an error and
        // notifications (but `exit`) dropped, as the protocol says.
        loop {
            let Ok(m) = self.connection.receiver.recv() else {
                return false;
            };
            match m {
                Message::Request(r) if r.method == "initialize" => {
                    let result = InitializeResult {
                        capabilities: capabilities(),
                        server_info: Some(ServerInfo {
                            name: "scapi".into(),
                            version: Some(env!("CARGO_PKG_VERSION").into()),
                        }),
                    };
                    self.send(Response::new_ok(r.id, result));
                    return true;
                }
                Message::Request(r) => self.send(Response::new_err(
                    r.id,
                    ErrorCode::ServerNotInitialized as i32,
                    "the server is not initialized".into(),
                )),
                Message::Notification(n) if n.method == "exit" => return false,
                _ => {}
            }
        }
    }

    fn handle(&mut self, m: Message) {
        match m {
            Message::Request(r) => {
                let id = r.id.clone();
                // A bug in one request must not take the server down.
                let answer =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.request(r)));
                match answer {
                    Ok(Some(resp)) => self.send(resp),
                    Ok(None) => {}
                    Err(_) => self.send(Response::new_err(
                        id,
                        ErrorCode::InternalError as i32,
                        "scapi failed on this request; please report it".into(),
                    )),
                }
            }
            Message::Notification(n) => {
                let _ =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.notification(n)));
            }
            Message::Response(_) => {}
        }
    }

    fn request(&mut self, r: Request) -> Option<Response> {
        let id = r.id.clone();
        if self.shutting_down && r.method != "shutdown" {
            return Some(Response::new_err(
                id,
                ErrorCode::InvalidRequest as i32,
                "the server is shutting down".into(),
            ));
        }
        let result = match r.method.as_str() {
            "shutdown" => {
                self.shutting_down = true;
                Ok(serde_json::Value::Null)
            }
            "initialize" => Err((ErrorCode::InvalidRequest, "already initialized".to_string())),
            "textDocument/codeAction" => self.with_params(r, features::code_actions),
            "textDocument/hover" => self.with_params(r, features::hover),
            "textDocument/completion" => self.with_params(r, features::completion),
            "textDocument/formatting" => self.with_params(r, features::formatting),
            other => Err((
                ErrorCode::MethodNotFound,
                format!("`{other}` is not supported"),
            )),
        };
        Some(match result {
            Ok(v) => Response {
                id,
                response_result: Ok(v),
            },
            Err((code, message)) => Response::new_err(id, code as i32, message),
        })
    }

    /// Decodes a request's parameters and answers it from the document it
    /// names.
    fn with_params<P: serde::de::DeserializeOwned + features::HasDocument>(
        &self,
        r: Request,
        f: impl FnOnce(&features::Context<'_>, P) -> Result<serde_json::Value, (ErrorCode, String)>,
    ) -> Result<serde_json::Value, (ErrorCode, String)> {
        let params: P = serde_json::from_value(r.params)
            .map_err(|e| (ErrorCode::InvalidParams, format!("invalid parameters: {e}")))?;
        let uri = params.document().clone();
        let Some(doc) = self.docs.get(uri.as_str()) else {
            return Err((
                ErrorCode::InvalidParams,
                format!("`{}` is not open", uri.as_str()),
            ));
        };
        let cx = features::Context {
            uri: &doc.uri,
            name: name_of(&doc.uri),
            text: &doc.text,
            index: &doc.index,
            // Only a compilation of this very text says where things are.
            analysis: doc
                .analysis
                .as_deref()
                .filter(|a| a.version == doc.version && *a.text == *doc.text),
            settings: &self.settings,
        };
        f(&cx, params)
    }

    fn notification(&mut self, n: Notification) {
        use lsp_types::{
            DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
        };
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let Ok(p) = serde_json::from_value::<DidOpenTextDocumentParams>(n.params) else {
                    return;
                };
                let key = p.text_document.uri.as_str().to_string();
                self.docs.insert(
                    key,
                    Doc {
                        uri: p.text_document.uri,
                        index: LineIndex::new(&p.text_document.text),
                        text: p.text_document.text.into(),
                        version: p.text_document.version,
                        due: Some(Instant::now()),
                        analysis: None,
                    },
                );
            }
            "textDocument/didChange" => {
                let Ok(p) = serde_json::from_value::<DidChangeTextDocumentParams>(n.params) else {
                    return;
                };
                let Some(doc) = self.docs.get_mut(p.text_document.uri.as_str()) else {
                    return;
                };
                // Ranged edits go to a rope: each costs a logarithm of the
                // document, so a change of 10,000 edits to a 1 MB document
                // is linear, not 10,000 passes over it.
                let mut text = doc.text.to_string();
                let mut rope: Option<ropey::Rope> = None;
                for change in p.content_changes {
                    match change.range {
                        None => {
                            rope = None;
                            text = change.text;
                        }
                        Some(range) => {
                            let r = rope.get_or_insert_with(|| ropey::Rope::from_str(&text));
                            let start = text::rope_offset(r, range.start);
                            let end = text::rope_offset(r, range.end).max(start);
                            r.remove(start..end);
                            r.insert(start, &change.text);
                        }
                    }
                }
                if let Some(r) = rope {
                    text = r.to_string();
                }
                doc.index = LineIndex::new(&text);
                doc.text = text.into();
                doc.version = p.text_document.version;
                doc.due = Some(Instant::now() + QUIET);
            }
            "textDocument/didClose" => {
                let Ok(p) = serde_json::from_value::<DidCloseTextDocumentParams>(n.params) else {
                    return;
                };
                if let Some(doc) = self.docs.remove(p.text_document.uri.as_str()) {
                    // Closed documents show no findings.
                    self.publish(&doc.uri, Vec::new(), None);
                }
            }
            _ => {}
        }
    }

    /// Sends every document whose quiet time is over to the compiler.
    fn compile_due(&mut self) {
        let now = Instant::now();
        for (key, doc) in &mut self.docs {
            if doc.due.is_some_and(|d| d <= now) {
                doc.due = None;
                let _ = self.jobs.send(Job {
                    key: key.clone(),
                    version: doc.version,
                    text: Arc::clone(&doc.text),
                    name: name_of(&doc.uri),
                });
            }
        }
    }

    /// A compilation is back: keep it and publish its findings, unless the
    /// document changed since (a newer one is on its way).
    fn analysed(&mut self, key: &str, analysis: Arc<Analysis>) {
        let Some(doc) = self.docs.get_mut(key) else {
            return;
        };
        if analysis.version != doc.version || *analysis.text != *doc.text {
            return;
        }
        doc.analysis = Some(Arc::clone(&analysis));
        let uri = doc.uri.clone();
        let diagnostics = features::diagnostics(&uri, &analysis);
        self.publish(&uri, diagnostics, Some(analysis.version));
    }

    fn publish(&self, uri: &Uri, diagnostics: Vec<lsp_types::Diagnostic>, version: Option<i32>) {
        self.notify(
            "textDocument/publishDiagnostics",
            lsp_types::PublishDiagnosticsParams {
                uri: uri.clone(),
                diagnostics,
                version,
            },
        );
    }
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(
            TextDocumentSyncKind::INCREMENTAL,
        )),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![
                CodeActionKind::QUICKFIX,
                CodeActionKind::SOURCE_FIX_ALL,
            ]),
            ..CodeActionOptions::default()
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["(".into(), ",".into(), ".".into(), " ".into()]),
            ..CompletionOptions::default()
        }),
        document_formatting_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}
