//! `scapi eval POLICY REQUESTS` and `scapi explain POLICY --origin ORIGIN`.

use super::{
    CliError, Exit, HumanOrJson as Format, InputArgs, display_name, print_stdout, write_stdout,
};
use clap::ValueEnum;
use scapi_tools::eval::{self, Item, ItemError, JsonLines, ReportFormat, RequestsFormat, RunError};
use scapi_tools::explain;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// An option export or a compiled policy (JSON or YAML).
    #[arg(value_name = "POLICY")]
    policy: String,
    /// Sample requests: JSON Lines (streamed, any size), a JSON array or a
    /// YAML list (`-` reads standard input).
    #[arg(value_name = "REQUESTS")]
    requests: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Count rate limits in Redis (`redis://HOST:PORT[/DB]`), as a fleet of
    /// brokers does, instead of in this process. Each item's `at` is the
    /// time; a store that fails makes a request `deny` / `store-unavailable`.
    // Checked by `run`, not by clap, whose message would echo a password.
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// The prefix of the Redis keys. Without it the run has keys of its own
    /// and deletes them when done; with it the counters are kept, shared with
    /// every run (and broker) using the same prefix.
    #[arg(long, value_name = "PREFIX", requires = "store")]
    store_prefix: Option<String>,
    /// Trust these public keys (a `.pub` file or a folder of them): the
    /// policy must be a compiled policy signed by one (`POLICY.sig`), else
    /// it is refused (exit 2).
    #[arg(long, value_name = "DIR|FILE")]
    keys: Option<std::path::PathBuf>,
    /// Write the decision log: one JSON line per request decided (time,
    /// policy digest, hashed client, origin, request, outcome, reason,
    /// entry line, shadow), never an attached-data value. Written
    /// atomically when the run ends.
    #[arg(long, value_name = "FILE")]
    decision_log: Option<std::path::PathBuf>,
    /// The salt of the client ids' hashes in the decision log (brokers of
    /// a fleet share one, so a client has one id across their logs).
    #[arg(
        long,
        value_name = "SALT",
        default_value = "",
        requires = "decision_log"
    )]
    decision_log_salt: String,
    /// Write the run's metrics when it ends, in the Prometheus text format
    /// (decisions by request, outcome, reason and shadow; near-limit
    /// admissions; configured limits; candidate disagreements). Written
    /// atomically.
    #[arg(long, value_name = "FILE")]
    metrics: Option<std::path::PathBuf>,
    /// The share of a window's budget past which an admission counts as
    /// near the limit in `--metrics`.
    #[arg(long, value_name = "RATIO", default_value_t = scapi_policy::metrics::DEFAULT_NEAR_LIMIT_RATIO, value_parser = ratio)]
    near_limit_ratio: f64,
    /// Decide every request on this policy too, in counters of its own,
    /// never enforced, and count where it disagrees with the active one:
    /// how to try a change on real traffic before rolling it out.
    #[arg(long, value_name = "POLICY")]
    candidate: Option<String>,
    #[command(flatten)]
    input: InputArgs,
}

/// `--near-limit-ratio`: a number from 0 to 1.
pub(super) fn ratio(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("`{s}` is not a ratio from 0 to 1")),
    }
}

/// What `eval` adds to its handle: the decision log, the metrics, a
/// candidate.
struct Operate {
    log: Option<Arc<FileLog>>,
    salt: String,
    ratio: f64,
    candidate: Option<scapi_policy::policy::Policy>,
}

impl Operate {
    fn apply<S>(&self, handle: scapi_policy::PolicyHandle<S>) -> scapi_policy::PolicyHandle<S> {
        let mut handle = handle.with_metrics(Some(scapi_policy::metrics::Metrics::new(self.ratio)));
        if let Some(log) = &self.log {
            handle = handle.with_decision_log(
                Arc::clone(log) as Arc<dyn scapi_policy::log::DecisionSink>,
                scapi_policy::log::ClientHasher::new(self.salt.as_bytes()),
            );
        }
        handle.set_candidate(self.candidate.clone());
        handle
    }
}

/// `--decision-log`: records written as they come to an unnamed temporary
/// file (the system removes it whatever ends the process), copied to the
/// target when the run ends — written as every output of scapi is
/// ([`write_atomically_with`](super::write_atomically_with): devices and
/// links written through, read-only files refused).
struct FileLog {
    target: std::path::PathBuf,
    file: std::sync::Mutex<Option<std::io::BufWriter<std::fs::File>>>,
    failed: std::sync::Mutex<Option<std::io::Error>>,
    records: AtomicU64,
}

impl FileLog {
    fn create(target: &std::path::Path, inputs: &[&str]) -> Result<FileLog, CliError> {
        super::check_output(target, inputs)?;
        let file = tempfile::tempfile().map_err(|source| CliError::Write {
            path: target.display().to_string(),
            source,
        })?;
        Ok(FileLog {
            target: target.to_path_buf(),
            file: std::sync::Mutex::new(Some(std::io::BufWriter::new(file))),
            failed: std::sync::Mutex::new(None),
            records: AtomicU64::new(0),
        })
    }

    /// Puts the log in place: what was decided, even when the run stopped
    /// at a bad item — unless nothing was, so an earlier log is not
    /// replaced by an empty one.
    fn finish(&self) -> Result<(), CliError> {
        let fail = |source| CliError::Write {
            path: self.target.display().to_string(),
            source,
        };
        if let Some(e) = self.failed.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(fail(e));
        }
        let Some(writer) = self.file.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return Ok(());
        };
        let mut file = writer.into_inner().map_err(|e| fail(e.into_error()))?;
        if self.records.load(Ordering::Relaxed) == 0 && self.target.exists() {
            return Ok(());
        }
        std::io::Seek::rewind(&mut file).map_err(fail)?;
        super::write_atomically_with(&self.target, |w| std::io::copy(&mut file, w).map(|_| ()))
    }
}

impl scapi_policy::log::DecisionSink for FileLog {
    fn record(&self, record: scapi_policy::log::DecisionRecord) {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let Some(w) = file.as_mut() else { return };
        let mut line = record.to_json_line();
        line.push('\n');
        self.records.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = std::io::Write::write_all(w, line.as_bytes()) {
            // The first failure is reported when the run ends; logging
            // never changes a decision.
            *self.failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            *file = None;
        }
    }
}

/// `--store`: a Redis URL.
pub(super) fn redis_url(s: &str) -> Result<(), CliError> {
    let known = ["redis://", "rediss://", "redis+unix://", "unix://"];
    if known.iter().any(|k| s.starts_with(k)) {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "`{}` is not a Redis URL; write `redis://HOST:PORT[/DB]`",
            scapi_redis::redact_url(s)
        )))
    }
}

/// Counts the bytes read through it, for the progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The requests source: a reader, its size when it is a file, and a count
/// of the bytes read from it.
struct Source {
    reader: BufReader<Counting<Box<dyn Read + Send>>>,
    size: Option<u64>,
    read: Arc<AtomicU64>,
}

fn open(path: &str) -> Result<Source, CliError> {
    let (inner, size): (Box<dyn Read + Send>, Option<u64>) = if path == "-" {
        super::check_stdin_open()?;
        (Box::new(std::io::stdin()), None)
    } else {
        let (f, size) = super::read::open_file(path)?;
        (Box::new(f), size)
    };
    let read = Arc::new(AtomicU64::new(0));
    Ok(Source {
        reader: BufReader::with_capacity(
            256 * 1024,
            Counting {
                inner,
                read: Arc::clone(&read),
            },
        ),
        size,
        read,
    })
}

/// JSON Lines read and parsed on a thread of their own, ahead of the
/// replay: reading and parsing are a third of a replay's work, and they
/// overlap with deciding and printing on the other core. The items come in
/// their order, errors included, each as soon as it is read (a pipe that
/// delivers one line at a time gets each decided as it comes). The thread
/// starts with the first item asked for, reads at most
/// [`READ_AHEAD_BYTES`] of lines ahead (or one line, however long), stops
/// at the first error or when the replay stops taking items, and is never
/// waited for at the end: a replay that fails ends the process, even if
/// standard input has more. A panic while reading is the replay's panic.
struct ReadAhead<R> {
    state: ReadState<R>,
}

/// Input bytes of lines read but not yet replayed, at most (a single
/// longer line is read all the same, as without a reader ahead).
const READ_AHEAD_BYTES: u64 = 8 << 20;

enum ReadState<R> {
    NotStarted(JsonLines<R>),
    Reading {
        items: std::sync::mpsc::Receiver<(Result<Item, ItemError>, u64)>,
        /// Input bytes of the items sent and not yet taken.
        ahead: Arc<AtomicU64>,
        reader: Option<std::thread::JoinHandle<()>>,
    },
    Done,
}

impl<R: BufRead + Send + 'static> ReadAhead<R> {
    fn new(lines: JsonLines<R>) -> ReadAhead<R> {
        ReadAhead {
            state: ReadState::NotStarted(lines),
        }
    }

    /// Reads `lines` on the calling thread (the reader's), sending each
    /// item with the bytes it took, and waiting while more than
    /// [`READ_AHEAD_BYTES`] are ahead of the replay.
    fn read(
        mut lines: JsonLines<R>,
        tx: &std::sync::mpsc::SyncSender<(Result<Item, ItemError>, u64)>,
        ahead: &AtomicU64,
    ) {
        let mut before = lines.bytes_read();
        while let Some(item) = lines.next() {
            let size = lines.bytes_read().saturating_sub(before).max(1);
            before = lines.bytes_read();
            let failed = item.is_err();
            ahead.fetch_add(size, Ordering::AcqRel);
            if tx.send((item, size)).is_err() || failed {
                return;
            }
            // Parked until the replay has caught up (it unparks this thread
            // whenever it takes an item while too much is ahead, and when it
            // stops taking items: then the next send fails).
            while ahead.load(Ordering::Acquire) > READ_AHEAD_BYTES {
                std::thread::park();
            }
        }
    }
}

impl<R: BufRead + Send + 'static> Iterator for ReadAhead<R> {
    type Item = Result<Item, ItemError>;

    fn next(&mut self) -> Option<Result<Item, ItemError>> {
        if let ReadState::NotStarted(_) = self.state {
            let ReadState::NotStarted(lines) = std::mem::replace(&mut self.state, ReadState::Done)
            else {
                return None;
            };
            let (tx, rx) = std::sync::mpsc::sync_channel(4096);
            let ahead = Arc::new(AtomicU64::new(0));
            let theirs = Arc::clone(&ahead);
            let reader = std::thread::Builder::new()
                .name("scapi-eval-read".into())
                .spawn(move || ReadAhead::read(lines, &tx, &theirs));
            match reader {
                Ok(reader) => {
                    self.state = ReadState::Reading {
                        items: rx,
                        ahead,
                        reader: Some(reader),
                    };
                }
                Err(e) => {
                    return Some(Err(ItemError {
                        index: None,
                        line: None,
                        message: format!("cannot start a thread to read the requests: {e}"),
                    }));
                }
            }
        }
        let ReadState::Reading {
            items,
            ahead,
            reader,
        } = &mut self.state
        else {
            return None;
        };
        match items.recv() {
            Ok((item, size)) => {
                if ahead.fetch_sub(size, Ordering::AcqRel) > READ_AHEAD_BYTES
                    && let Some(r) = reader
                {
                    r.thread().unpark();
                }
                Some(item)
            }
            // The reader is done: it has returned, or it panicked, which
            // is this replay's panic (never a replay cut short quietly).
            Err(_) => {
                let joined = reader.take().map(std::thread::JoinHandle::join);
                self.state = ReadState::Done;
                if let Some(Err(panic)) = joined {
                    std::panic::resume_unwind(panic);
                }
                None
            }
        }
    }
}

impl<R> Drop for ReadAhead<R> {
    fn drop(&mut self) {
        // A replay that stops early takes nothing more: nothing is ahead of
        // it, and a waiting reader goes on to find the channel closed.
        if let ReadState::Reading { ahead, reader, .. } = &self.state {
            ahead.store(0, Ordering::Release);
            if let Some(r) = reader {
                r.thread().unpark();
            }
        }
    }
}

/// The bytes of `reader` up to and including its first one that is not
/// blank or part of a BOM (at most 64 KiB, or all of a shorter input):
/// enough to tell the format, read whatever chunks the input arrives in.
fn first_bytes(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut start = Vec::new();
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(start);
        }
        let n = chunk.len();
        start.extend_from_slice(chunk);
        reader.consume(n);
        let told = start
            .iter()
            .any(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0xef | 0xbb | 0xbf));
        if told || start.len() >= 64 * 1024 {
            return Ok(start);
        }
    }
}

/// Whether a replay shows its progress: only on a terminal's standard
/// error, and not while a machine format is printed on the same terminal.
fn shows_progress(format: Format) -> bool {
    std::io::stderr().is_terminal() && !(format == Format::Json && std::io::stdout().is_terminal())
}

/// A progress bar on standard error: items, their rate, and for a file the
/// share read.
fn progress_bar(size: Option<u64>) -> indicatif::ProgressBar {
    let style = match size {
        Some(_) => indicatif::ProgressStyle::with_template(
            "{msg} · [{bar:24}] {percent}% of {total_bytes}, {eta} left",
        ),
        None => indicatif::ProgressStyle::with_template("{msg} · {bytes} read"),
    };
    let bar = match size {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::no_length(),
    };
    if let Ok(style) = style {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
    bar
}

pub fn run(args: Args) -> Exit {
    if let Some(Err(e)) = args.store.as_deref().map(redis_url) {
        return e.report();
    }
    let stdin_users = [
        Some(args.policy.as_str()),
        Some(args.requests.as_str()),
        args.candidate.as_deref(),
    ];
    if let Err(e) = super::stdin_once(stdin_users.into_iter().flatten()) {
        return e.report();
    }
    let (policy, keys) =
        match super::load::load_policy_with(&args.policy, &args.input, args.keys.as_deref()) {
            Ok(p) => p,
            Err(exit) => return exit,
        };
    // A candidate is verified with the same keys as the policy.
    let candidate = match &args.candidate {
        None => None,
        Some(path) => {
            match super::load::load_policy_with(path, &args.input, args.keys.as_deref()) {
                Ok((p, _)) => Some(p),
                Err(exit) => return exit,
            }
        }
    };
    let name = display_name(&args.requests).to_string();
    let mut source = match open(&args.requests) {
        Ok(s) => s,
        Err(e) => return e.report(),
    };
    // The format is told by the first byte that is not blank (or a BOM):
    // a pipe may deliver a leading line break alone.
    let start = match first_bytes(&mut source.reader) {
        Ok(start) => start,
        Err(source) => {
            return CliError::Read { path: name, source }.report();
        }
    };
    let format = RequestsFormat::detect(&args.requests, &start);
    let reader = std::io::Cursor::new(start).chain(source.reader);
    let limit = args.input.max_input_bytes;
    // JSON Lines stream in bounded memory; a JSON array or a YAML list is
    // read whole, so it must fit the input size limit.
    let items: Box<dyn Iterator<Item = Result<Item, ItemError>>> = if format.streams() {
        Box::new(ReadAhead::new(JsonLines::new(reader, limit)))
    } else {
        let bytes = match read_whole(reader, source.size, limit, &name) {
            Ok(b) => b,
            Err(e) => return e.report(),
        };
        let Ok(text) = String::from_utf8(bytes) else {
            return CliError::NotUtf8 { path: name }.report();
        };
        match eval::parse_items(&text, format) {
            Ok(items) => Box::new(items.into_iter().map(Ok)),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    };
    let report = match args.format {
        Format::Json => ReportFormat::Json,
        Format::Human => ReportFormat::Human,
    };
    let bar = shows_progress(args.format).then(|| progress_bar(source.size));
    let read = Arc::clone(&source.read);
    let started = std::time::Instant::now();
    let mut progress = |items: usize| {
        if let Some(bar) = &bar {
            bar.set_position(read.load(Ordering::Relaxed));
            let rate = items as f64 / started.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!("{items} items, {rate:.0}/s"));
        }
    };
    let mut switch = policy_items(&args.requests, &args.input, keys.as_ref());
    let inputs = [args.policy.as_str(), args.requests.as_str()];
    let inputs: Vec<&str> = inputs
        .into_iter()
        .chain(args.candidate.as_deref())
        .collect();
    let file_log = match args
        .decision_log
        .as_deref()
        .map(|p| FileLog::create(p, &inputs))
        .transpose()
    {
        Ok(l) => l,
        Err(e) => return e.report(),
    };
    if let Some(Err(e)) = args
        .metrics
        .as_deref()
        .map(|p| super::check_output(p, &inputs))
    {
        return e.report();
    }
    if args.metrics.is_some() && args.metrics == args.decision_log {
        return CliError::Usage(
            "`--metrics` and `--decision-log` name the same file; give each its own".into(),
        )
        .report();
    }
    let operate = Operate {
        log: file_log.map(Arc::new),
        salt: args.decision_log_salt.clone(),
        ratio: args.near_limit_ratio,
        candidate,
    };
    let mut metrics = None;
    let mut outcome = None;
    let replay = |out: &mut Stdout| {
        let result = match &args.store {
            None => {
                let handle = operate.apply(eval::fresh_handle(policy.clone()));
                let hooks = eval::Hooks {
                    progress: Box::new(&mut progress),
                    load: Box::new(&mut switch),
                };
                let result = eval::run(&handle, items, report, out, hooks);
                metrics = handle.metrics();
                result
            }
            Some(url) => {
                let hooks = eval::Hooks {
                    progress: Box::new(&mut progress),
                    load: Box::new(&mut switch),
                };
                match replay_on_redis(
                    &policy,
                    (&operate, &mut metrics),
                    hooks,
                    (url, args.store_prefix.as_deref()),
                    items,
                    report,
                    out,
                ) {
                    Ok(r) => r,
                    Err(e) => {
                        outcome = Some(Err(e));
                        return Ok(());
                    }
                }
            }
        };
        match result {
            Ok(summary) => {
                outcome = Some(Ok(summary));
                Ok(())
            }
            Err(RunError::Items(source)) => {
                outcome = Some(Err(CliError::Requests {
                    path: name.clone(),
                    source,
                }));
                Ok(())
            }
            Err(RunError::Io(e)) => Err(e),
        }
    };
    let written = write_stdout(replay);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    // What was decided is logged and counted, even when the run stopped
    // at a bad item.
    if let Some(l) = &operate.log
        && let Err(e) = l.finish()
    {
        return e.report();
    }
    if let (Some(path), Some(m)) = (&args.metrics, &metrics)
        && let Err(e) = super::write_atomically(path, m.to_prometheus().as_bytes())
    {
        return e.report();
    }
    if let (Some(path), Some(m)) = (&args.candidate, &metrics) {
        let differ: u64 = m.disagreements.iter().map(|d| d.count).sum();
        eprintln!(
            "note: candidate `{}` disagreed with `{}` on {differ} of {} requests",
            display_name(path),
            display_name(&args.policy),
            m.compared
        );
    }
    if let Err(e) = written {
        return e.report();
    }
    let summary = match outcome {
        Some(Ok(s)) => s,
        Some(Err(e)) => return e.report(),
        // The reader of standard output went away (`| head`): as for every
        // command, a closed pipe is not an error.
        None => return Exit::Success,
    };
    if summary.mismatches > 0 {
        Exit::Negative
    } else {
        Exit::Success
    }
}

/// How the policy items of the requests file at `requests` load: the path
/// relative to that file's folder (to the current one for standard
/// input), a compiled policy or an export without errors, as the policy
/// argument loads.
fn policy_items<'a>(
    requests: &'a str,
    input: &'a super::InputArgs,
    keys: Option<&'a scapi_policy::signing::TrustedKeys>,
) -> impl FnMut(&str) -> Result<scapi_policy::policy::Policy, String> + 'a {
    move |path: &str| {
        let base = match requests {
            "-" => std::path::Path::new("."),
            r => std::path::Path::new(r)
                .parent()
                .unwrap_or(std::path::Path::new(".")),
        };
        reload_policy(&base.join(path), input, keys)
    }
}

/// A policy loaded again (a policy item, a reload of `scapi serve`): a
/// compiled policy or an export without errors, verified with `keys` when
/// given; the reason in one sentence when it cannot be used.
pub(super) fn reload_policy(
    full: &std::path::Path,
    input: &super::InputArgs,
    keys: Option<&scapi_policy::signing::TrustedKeys>,
) -> Result<scapi_policy::policy::Policy, String> {
    let shown = full.display().to_string();
    // With trusted keys, a reload is verified as the first policy was.
    if let Some(keys) = keys {
        return super::load::load_signed(&full.to_string_lossy(), input, keys)
            .map_err(|e| e.to_string());
    }
    let read = super::read::read_input(&full.to_string_lossy(), input.max_input_bytes)
        .map_err(|e| e.to_string())?;
    let options = scapi::Options {
        size: read.size,
        ..input.options()
    };
    match scapi::load_vec(&shown, read.bytes, &options) {
        Ok(scapi::Loaded::Compiled(p)) => Ok(p),
        Ok(scapi::Loaded::Export(c)) => match c.policy {
            Some(p) if !c.has_errors() => Ok(p),
            _ => Err(format!(
                "policy `{shown}` has errors; fix them first (`scapi lint {shown}`)"
            )),
        },
        Err(e) => Err(format!("policy `{shown}` does not load: {e}")),
    }
}

/// Standard output, as `write_stdout` gives it.
type Stdout = std::io::BufWriter<std::io::StdoutLock<'static>>;

/// Replays the items through a Redis store that fails closed: a failure is
/// a `deny` / `store-unavailable` in the report, and a warning. Without a
/// prefix, the run's keys are its own and are deleted at the end.
fn replay_on_redis(
    policy: &scapi_policy::policy::Policy,
    (operate, metrics): (&Operate, &mut Option<scapi_policy::metrics::Snapshot>),
    hooks: eval::Hooks<'_>,
    (url, prefix): (&str, Option<&str>),
    items: Box<dyn Iterator<Item = Result<Item, ItemError>> + '_>,
    report: ReportFormat,
    out: &mut Stdout,
) -> Result<Result<eval::Summary, RunError>, CliError> {
    use scapi_redis::{FailureMode, RedisConfig, RedisStore};
    let own = prefix.is_none();
    let config = RedisConfig {
        prefix: match prefix {
            Some(p) => p.to_string(),
            None => format!("scapi-eval-{}-{}", std::process::id(), run_nonce()),
        },
        failure: FailureMode::Closed,
        ..RedisConfig::default()
    };
    let store = RedisStore::connect(url, config).map_err(|source| CliError::Store { source })?;
    let handle = operate.apply(scapi_policy::PolicyHandle::with_store(
        policy.clone(),
        store,
    ));
    let mut clients = std::collections::HashSet::new();
    let items = items.inspect(|item| {
        if own
            && let Ok(Item {
                kind: eval::ItemKind::Request(r),
                ..
            }) = item
            && !clients.contains(r.client.as_str())
        {
            clients.insert(r.client.clone());
        }
    });
    let result = eval::run(&handle, items, report, out, hooks);
    *metrics = handle.metrics();
    let mut cleanup_failed = false;
    for client in &clients {
        cleanup_failed |= handle.end_session(client).is_err();
    }
    let stats = handle.store().stats();
    let shown = scapi_redis::redact_url(url);
    if stats.refused > 0 {
        let n = stats.refused;
        eprintln!(
            "warning: the Redis store at `{shown}` could not count {n} request{}; {} `deny` / `store-unavailable`",
            if n == 1 { "" } else { "s" },
            if n == 1 { "it is" } else { "they are" }
        );
    }
    if cleanup_failed {
        eprintln!(
            "warning: some keys of this run are left in `{shown}` under `{}:`; they expire on their own",
            handle.store().config().prefix
        );
    }
    Ok(result)
}

/// A number that differs between runs, for the keys of one run.
fn run_nonce() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// Reads a whole requests file that cannot stream, refusing one over the
/// limit with its true size (or "more than" for standard input).
fn read_whole(
    reader: impl Read,
    size: Option<u64>,
    limit: u64,
    name: &str,
) -> Result<Vec<u8>, CliError> {
    if let Some(n) = size.filter(|&n| n > limit) {
        return Err(CliError::TooLarge {
            path: name.to_string(),
            size: Some(n),
            limit,
        });
    }
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| CliError::Read {
            path: name.to_string(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(CliError::TooLarge {
            path: name.to_string(),
            size: None,
            limit,
        });
    }
    Ok(bytes)
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// An option export or a compiled policy (JSON or YAML).
    #[arg(value_name = "POLICY")]
    policy: String,
    /// The origin, exactly as the browser presents it.
    #[arg(long, value_name = "ORIGIN")]
    origin: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Human)]
    format: ExplainFormat,
    /// How the application is displayed: embedded in the agent desktop, or
    /// in a new tab, where the API gives access to the dial operation only.
    #[arg(long, value_enum, default_value_t = FrameArg::Embedded)]
    frame: FrameArg,
    /// List only the requests the origin may call (the table and the JSON
    /// `requests`; the state event always lists every request).
    #[arg(long)]
    only_enabled: bool,
    /// Trust these public keys (a `.pub` file or a folder of them): the
    /// policy must be a compiled policy signed by one (`POLICY.sig`), else
    /// it is refused (exit 2).
    #[arg(long, value_name = "DIR|FILE")]
    keys: Option<std::path::PathBuf>,
    #[command(flatten)]
    input: InputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FrameArg {
    Embedded,
    Tab,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExplainFormat {
    Human,
    Json,
    StateEvent,
}

pub fn explain(args: ExplainArgs) -> Exit {
    let (policy, _) =
        match super::load::load_policy_with(&args.policy, &args.input, args.keys.as_deref()) {
            Ok(p) => p,
            Err(exit) => return exit,
        };
    let frame = match args.frame {
        FrameArg::Embedded => scapi_policy::Frame::Embedded,
        FrameArg::Tab => scapi_policy::Frame::Tab,
    };
    let e = explain::explain_in(&policy, &args.origin, frame);
    let text = match args.format {
        ExplainFormat::Human => e.to_human_with(args.only_enabled),
        ExplainFormat::Json => {
            let mut doc = e.to_json();
            if args.only_enabled
                && let Some(requests) = doc.get_mut("requests").and_then(|r| r.as_array_mut())
            {
                requests.retain(|r| r.get("enabled") == Some(&serde_json::Value::Bool(true)));
            }
            scapi_policy::jsonfmt::to_string(&doc)
        }
        ExplainFormat::StateEvent => scapi_policy::jsonfmt::to_string(&e.to_state_event()),
    };
    match print_stdout(&text) {
        // Like `grep`: the answer is printed either way, and the exit code
        // says whether the origin is accepted at all.
        Ok(()) if e.is_accepted() => Exit::Success,
        Ok(()) => Exit::Negative,
        Err(e) => e.report(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// More than [`READ_AHEAD_BYTES`] of lines, and a line longer than it:
    /// the reader waits for the replay and goes on, and every item comes,
    /// in order, once.
    #[test]
    fn reading_ahead_keeps_every_item_in_order_past_its_bound() {
        let line = |i: usize| {
            format!(
                "{{\"at\": {i}, \"origin\": \"https://a.example\", \"request\": \"agent.getState\", \"client\": \"c{i}\"}}\n"
            )
        };
        let mut text = String::new();
        let mut n = 0;
        while text.len() as u64 <= 2 * READ_AHEAD_BYTES {
            text.push_str(&line(n));
            n += 1;
        }
        // One line longer than the bound: a request whose client id is
        // 9 MiB long.
        text.push_str(&format!(
            "{{\"at\": {n}, \"origin\": \"https://a.example\", \"request\": \"agent.getState\", \"client\": \"{}\"}}\n",
            "x".repeat(9 << 20)
        ));
        n += 1;
        text.push_str(&line(n));
        n += 1;
        let reader = std::io::Cursor::new(text.into_bytes());
        let mut seen = 0;
        for (i, item) in ReadAhead::new(JsonLines::new(reader, u64::MAX)).enumerate() {
            let item = item.unwrap();
            assert_eq!(item.index, i);
            seen += 1;
        }
        assert_eq!(seen, n);
    }

    #[test]
    fn the_format_is_told_past_blank_chunks_and_a_bom() {
        // A reader that gives one byte at a time, as a slow pipe may.
        let text = "\u{feff}\n \n{\"at\": 1, \"origin\": \"o\", \"request\": \"r\"}\n";
        let mut reader = BufReader::with_capacity(1, text.as_bytes());
        let start = first_bytes(&mut reader).unwrap();
        assert_eq!(start, "\u{feff}\n \n{".as_bytes());
        assert_eq!(
            RequestsFormat::detect("-", &start),
            RequestsFormat::detect("-", text.as_bytes())
        );
        // Nothing is lost: the start and the rest are the input.
        let mut all = String::new();
        std::io::Cursor::new(start)
            .chain(reader)
            .read_to_string(&mut all)
            .unwrap();
        assert_eq!(all, text);
    }
}
