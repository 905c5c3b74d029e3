//! A fleet of brokers sharing one rate limit through Redis: how a broker
//! wires up `scapi-redis`.
//!
//! Each broker holds the compiled policy and a [`RateLimiter`] on its own
//! [`RedisStore`] (its own connection, its own record of quarantines), as
//! separate processes behind a load balancer would. The messages of a
//! requests file are dealt to the brokers in turn, the way a load balancer
//! spreads one agent's frames; the fleet answers exactly as one broker
//! would, because the counters live in Redis.
//!
//! ```text
//! redis-server --port 6379 &
//! cargo run -p scapi-redis --example fleet -- redis://127.0.0.1:6379 \
//!     examples/wwews-cluster.policy.json examples/requests.jsonl --brokers 3
//! ```
//!
//! A live broker admits with [`RateLimiter::admit_async`], by the Redis
//! server's clock; this replay gives each message's `at` instead
//! ([`RateLimiter::admit_async_at`]), so it can be run again and again. Add
//! `--fail-closed` to deny (`store-unavailable`) rather than count locally
//! when Redis is out of reach; stop the server mid-run to see either.
//!
//! The requests file is read with the compiler crate's reader (the one
//! `scapi eval` uses); a broker takes its messages from its frames.

use scapi_policy::limiter::{Admission, RateLimitResult, RateLimiter};
use scapi_policy::{CompiledPolicy, Policy};
use scapi_redis::{FailureMode, RedisConfig, RedisStore};
use scapi_tools::eval::{Item, ItemKind, RequestsFormat};
use std::process::ExitCode;
use std::time::Duration;

/// One broker of the fleet.
struct Broker {
    policy: Policy,
    limiter: RateLimiter<RedisStore>,
}

impl Broker {
    /// Connects a broker. The configuration is the broker operator's:
    /// how long to wait for Redis, and what to do without it.
    async fn connect(policy: Policy, url: &str, failure: FailureMode) -> Result<Broker, String> {
        let config = RedisConfig {
            failure,
            timeout: Duration::from_millis(50),
            ..RedisConfig::default()
        };
        let store = RedisStore::connect_async(url, config)
            .await
            .map_err(|e| e.to_string())?;
        let limiter = RateLimiter::with_store(policy.rate_limits().clone(), store);
        Ok(Broker { policy, limiter })
    }

    /// What the broker does with one message.
    async fn handle(&self, item: &Item) -> String {
        let r = match &item.kind {
            ItemKind::Request(r) => r,
            ItemKind::Event(event) => {
                return match self.policy.user_data().redact_json(event) {
                    Ok((event, _)) => format!("deliver event {event}"),
                    Err(e) => format!("drop event: {e}"),
                };
            }
            // A reload is a `PolicyHandle`'s business; this broker keeps one.
            ItemKind::Policy(path) => return format!("ignore policy item {path}"),
        };
        let (origin, request) = (r.origin.as_str(), r.request.as_str());
        let decision = self.policy.check(origin, request);
        if !decision.is_allowed() {
            return format!("refuse {request} from {origin}: {}", decision.reason);
        }
        let keys = r.user_data.as_ref().or(r.keys.as_ref());
        if let Some(keys) = keys {
            let split = self
                .policy
                .user_data()
                .split_write(keys.iter().map(String::as_str));
            // Only a set or delete is refused with nothing left; a dial or a
            // transfer goes on with its attached data stripped.
            if split.denies(request) {
                return format!("refuse {request} from {origin}: no writable keys");
            }
        }
        // A live broker: `self.limiter.admit_async(&r.client, request)`.
        match self
            .limiter
            .admit_async_at(&r.client, request, item.at)
            .await
        {
            Ok(Admission::Admitted(_)) => format!("pass {request} from {origin}"),
            Ok(Admission::Limited { .. }) => {
                let answer = RateLimitResult::new(request, self.policy.rate_limits().quarantine);
                format!("answer {origin}: {}", answer.to_json())
            }
            Ok(Admission::Ignored { .. }) => format!("ignore {request} from {origin}"),
            // Fail-closed and Redis out of reach.
            Err(e) => format!("refuse {request} from {origin}: store-unavailable ({e})"),
        }
    }
}

/// Replays `messages` through a fleet of `brokers`; one line per message,
/// `[broker] answer`, then each broker's store figures.
async fn run(
    url: &str,
    policy_path: &str,
    messages_path: &str,
    brokers: usize,
    failure: FailureMode,
) -> Result<Vec<String>, String> {
    let json = std::fs::read_to_string(policy_path).map_err(|e| format!("{policy_path}: {e}"))?;
    let text =
        std::fs::read_to_string(messages_path).map_err(|e| format!("{messages_path}: {e}"))?;
    let items = scapi_tools::eval::parse_items(&text, RequestsFormat::JsonLines)
        .map_err(|e| format!("{messages_path}: {e}"))?;
    let mut fleet = Vec::new();
    for _ in 0..brokers.max(1) {
        let policy = CompiledPolicy::load(&json).map_err(|e| format!("{policy_path}: {e}"))?;
        fleet.push(Broker::connect(policy, url, failure).await?);
    }
    let mut lines = Vec::new();
    for (item, (n, broker)) in items.iter().zip(fleet.iter().enumerate().cycle()) {
        lines.push(format!("[{n}] {}", broker.handle(item).await));
    }
    for (n, broker) in fleet.iter().enumerate() {
        // What a broker exports as metrics.
        lines.push(format!("[{n}] {:?}", broker.limiter.store().stats()));
    }
    Ok(lines)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut failure = FailureMode::Open;
    let mut brokers = 2;
    if let Some(i) = args.iter().position(|a| a == "--fail-closed") {
        args.remove(i);
        failure = FailureMode::Closed;
    }
    if let Some(i) = args.iter().position(|a| a == "--brokers") {
        args.remove(i);
        match (i < args.len()).then(|| args.remove(i).parse()) {
            Some(Ok(n)) => brokers = n,
            _ => {
                eprintln!("error: `--brokers` takes a number");
                return ExitCode::from(2);
            }
        }
    }
    let [url, policy, messages] = args.as_slice() else {
        eprintln!(
            "usage: fleet REDIS_URL POLICY.json MESSAGES.jsonl [--brokers N] [--fail-closed]"
        );
        return ExitCode::from(2);
    };
    match run(url, policy, messages, brokers, failure).await {
        Ok(lines) => {
            for l in lines {
                println!("{l}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    /// Three brokers on a real `redis-server` answer the shipped requests
    /// as one broker does: ten dials pass, the eleventh gets the error
    /// result, the twelfth none, whichever broker each reached.
    #[tokio::test]
    async fn a_fleet_answers_as_one_broker() {
        if !scapi_testkit::tools::have("redis-server", "redis-server") {
            return;
        }
        let server = scapi_testkit::redis_server::Server::start();
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let lines = super::run(
            &server.url(),
            &format!("{root}/examples/wwews-cluster.policy.json"),
            &format!("{root}/examples/requests.jsonl"),
            3,
            super::FailureMode::Closed,
        )
        .await
        .unwrap();
        let dials = |what: &str| {
            lines
                .iter()
                .filter(|l| l.contains(what) && l.contains("voice.dial"))
                .count()
        };
        assert_eq!(dials("pass voice.dial from https://crm"), 12, "{lines:#?}");
        assert_eq!(dials("answer https://crm"), 1, "{lines:#?}");
        assert_eq!(dials("ignore voice.dial"), 1, "{lines:#?}");
        for n in 0..3 {
            assert!(lines.iter().any(|l| l.starts_with(&format!("[{n}] pass"))));
        }
        assert!(!lines.iter().any(|l| l.contains("store-unavailable")));
    }
}
