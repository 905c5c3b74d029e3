//! `scapi serve POLICY --listen ADDR`: the decision service (`scapi-serve`).

use super::{CliError, Exit, InputArgs, display_name};
use scapi_policy::PolicyHandle;
use scapi_serve::{Listen, LogTo, Options, StoreStatus};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy: a compiled policy, or an export without errors.
    #[arg(value_name = "POLICY")]
    policy: String,
    /// Where to listen: `HOST:PORT` (port 0 picks a free one) or
    /// `unix:PATH` for a Unix socket.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8181")]
    listen: String,
    /// Trust these public keys (a `.pub` file or a folder of them): the
    /// policy, and every reload, must be signed by one.
    #[arg(long, value_name = "DIR|FILE")]
    keys: Option<PathBuf>,
    /// Count rate limits in Redis, shared by a fleet:
    /// `redis://HOST:PORT[/DB]`, or behind Sentinel
    /// `redis+sentinel://HOST:PORT[,HOST:PORT…]/MASTER[/DB]`.
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// The prefix of the Redis keys (`scapi`).
    #[arg(
        long,
        value_name = "PREFIX",
        requires = "store",
        default_value = "scapi"
    )]
    store_prefix: String,
    /// What a request with a limit gets while Redis is out of reach:
    /// counted in this process's memory (`open`) or refused (`closed`).
    #[arg(long, value_enum, default_value_t = Failure::Open, requires = "store")]
    store_failure: Failure,
    /// Write a decision record per request decided: a file (appended to)
    /// or `-` for standard output. Never an attached-data value.
    #[arg(long, value_name = "FILE|-")]
    decision_log: Option<String>,
    /// The salt of the client ids' hashes in the decision log.
    #[arg(
        long,
        value_name = "SALT",
        default_value = "",
        requires = "decision_log"
    )]
    decision_log_salt: String,
    /// The share of a window's budget past which an admission counts as
    /// near the limit in the metrics.
    #[arg(long, value_name = "RATIO", default_value_t = scapi_policy::metrics::DEFAULT_NEAR_LIMIT_RATIO, value_parser = super::eval::ratio)]
    near_limit_ratio: f64,
    /// The largest request body, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..=1 << 32))]
    max_body: u64,
    /// Seconds a client may take to send a request's headers.
    #[arg(long, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout: u64,
    /// Seconds a request may take, body included.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    request_timeout: u64,
    /// Requests decided at once; more wait their turn.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_in_flight: u64,
    /// The most items in one batch.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_batch: u64,
    /// Reload only on `SIGHUP`, not when the policy file changes.
    #[arg(long)]
    no_watch: bool,
    /// Take each check's `at` (ms since the epoch) as its time instead of
    /// the clock: for replaying recorded traffic, never for live traffic
    /// (a client could choose its window).
    #[arg(long)]
    allow_client_time: bool,
    #[command(flatten)]
    input: InputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Failure {
    Open,
    Closed,
}

pub fn run(args: Args) -> Exit {
    if args.policy == "-" {
        return CliError::Usage(
            "`scapi serve` reloads its policy from a file; give a path, not `-`".into(),
        )
        .report();
    }
    let listen: Listen = match args.listen.parse() {
        Ok(l) => l,
        Err(m) => return CliError::Usage(m).report(),
    };
    let (policy, keys) =
        match super::load::load_policy_with(&args.policy, &args.input, args.keys.as_deref()) {
            Ok(p) => p,
            Err(exit) => return exit,
        };
    let path = PathBuf::from(&args.policy);
    let mut watch_files = vec![path.clone()];
    if keys.is_some() {
        watch_files.push(PathBuf::from(format!("{}.sig", args.policy)));
    }
    let input = args.input.clone();
    let loader: scapi_serve::Loader = Arc::new(move || {
        // A reload reads a regular file with something in it: a FIFO would
        // block, and an empty file is one being written in place (replace
        // the file by renaming a new one over it).
        let shown = path.display();
        match std::fs::metadata(&path) {
            Ok(m) if !m.is_file() => {
                return Err(format!(
                    "`{shown}` is not a regular file; it was not reloaded"
                ));
            }
            Ok(m) if m.len() == 0 => {
                return Err(format!(
                    "`{shown}` is empty (written in place?); write the new policy beside it and rename it over"
                ));
            }
            _ => {}
        }
        super::eval::reload_policy(&path, &input, keys.as_ref())
    });
    let options = Options {
        listen,
        max_body: usize::try_from(args.max_body).unwrap_or(usize::MAX),
        header_timeout: Duration::from_secs(args.header_timeout),
        request_timeout: Duration::from_secs(args.request_timeout),
        max_in_flight: usize::try_from(args.max_in_flight).unwrap_or(usize::MAX),
        max_batch: usize::try_from(args.max_batch).unwrap_or(usize::MAX),
        watch: (!args.no_watch).then_some(Duration::from_secs(1)),
        watch_files,
        client_time: args.allow_client_time,
        decision_log: args.decision_log.as_deref().map(|d| match d {
            "-" => LogTo::Stdout,
            f => LogTo::File(PathBuf::from(f)),
        }),
        salt: args.decision_log_salt.clone(),
        ..Options::default()
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return CliError::Usage(format!("cannot start the service: {e}")).report(),
    };
    let metrics = scapi_policy::metrics::Metrics::new(args.near_limit_ratio);
    let shown = display_name(&args.policy).to_string();
    let result = runtime.block_on(async move {
        match &args.store {
            None => {
                let handle = PolicyHandle::new(policy).with_metrics(Some(metrics));
                let store: scapi_serve::StoreInfo = Arc::new(|| StoreStatus {
                    mode: "memory".into(),
                    degraded: false,
                    failure: None,
                });
                scapi_serve::serve(handle, loader, store, options, |at| {
                    announce(at, &shown, "in memory")
                })
                .await
                .map_err(|e| CliError::Usage(e.to_string()))
            }
            Some(url) => {
                let config = scapi_redis::RedisConfig {
                    prefix: args.store_prefix.clone(),
                    failure: match args.store_failure {
                        Failure::Open => scapi_redis::FailureMode::Open,
                        Failure::Closed => scapi_redis::FailureMode::Closed,
                    },
                    ..scapi_redis::RedisConfig::default()
                };
                let sentinel = url.starts_with("redis+sentinel://");
                let (store, mode) = if sentinel {
                    (
                        scapi_redis::RedisStore::connect_sentinel_async(url, config.clone()).await,
                        "redis-sentinel",
                    )
                } else {
                    super::eval::redis_url(url)?;
                    (
                        scapi_redis::RedisStore::connect_async(url, config.clone()).await,
                        "redis",
                    )
                };
                // Redis down at start: with `--store-failure open` the
                // service starts anyway, counts in memory and moves to Redis
                // once it answers; closed, it could only refuse, so it says
                // why and does not start.
                let store = match store {
                    Err(e)
                        if e.kind() == scapi_redis::RedisStoreErrorKind::Unavailable
                            && matches!(args.store_failure, Failure::Open) =>
                    {
                        eprintln!(
                            "scapi serve: warning: {e}; starting anyway (`--store-failure open`): counting in memory until Redis answers"
                        );
                        if sentinel {
                            scapi_redis::RedisStore::connect_sentinel_deferred_async(url, config)
                                .await
                        } else {
                            scapi_redis::RedisStore::connect_deferred_async(url, config).await
                        }
                    }
                    other => other,
                };
                let store = store.map_err(|source| CliError::Store { source })?;
                let handle = PolicyHandle::with_store(policy, store).with_metrics(Some(metrics));
                let stats = Arc::clone(handle.store());
                let failure = match args.store_failure {
                    Failure::Open => "open",
                    Failure::Closed => "closed",
                };
                let info: scapi_serve::StoreInfo = Arc::new(move || StoreStatus {
                    mode: mode.into(),
                    degraded: stats.stats().degraded,
                    failure: Some(failure.into()),
                });
                let counted = format!("in {} at `{}`", mode, scapi_redis::redact_url(url));
                scapi_serve::serve(handle, loader, info, options, |at| {
                    announce(at, &shown, &counted)
                })
                .await
                .map_err(|e| CliError::Usage(e.to_string()))
            }
        }
    });
    // Connections left by clients that went away are not waited for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => {
            eprintln!("scapi serve: stopped");
            Exit::Success
        }
        Err(e) => e.report(),
    }
}

fn announce(at: &str, policy: &str, counted: &str) {
    eprintln!("scapi serve: listening on {at} (policy `{policy}`, counters {counted})");
}
