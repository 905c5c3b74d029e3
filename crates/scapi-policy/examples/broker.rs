//! A small broker loop: how a broker runtime embeds `scapi-policy`.
//!
//! It loads a compiled policy (what `scapi compile` writes), then replays a
//! JSON Lines file of messages the way a broker answers frames: refuse,
//! pass on, answer with the rate-limit error, or stay silent. A request
//! line has `at` (seconds since the epoch), `origin`, `request`, and
//! optionally `client`, `userData` (the map of `interaction.setUserData`)
//! and `keys` (the list of `interaction.deleteUserData`); an event line has
//! `event`, which is redacted before delivery.
//!
//! ```text
//! cargo run -p scapi-policy --example broker -- examples/wwews-cluster.policy.json examples/requests.jsonl
//! ```

use scapi_policy::limiter::{Admission, ManualClock, MemoryStore, RateLimitResult, RateLimiter};
use scapi_policy::{CompiledPolicy, Policy};
use serde_json::Value;
use std::process::ExitCode;

/// The broker's state: the policy and its rate limiter. A real broker uses
/// `RateLimiter::new` (the wall clock) or a fleet store; a replay sets the
/// clock to each message's time.
struct Broker {
    policy: Policy,
    limiter: RateLimiter<MemoryStore<ManualClock>>,
}

impl Broker {
    fn new(policy: Policy) -> Broker {
        let limiter = RateLimiter::with_store(
            policy.rate_limits().clone(),
            MemoryStore::with_clock(ManualClock::default()),
        );
        Broker { policy, limiter }
    }

    /// What the broker does with one message.
    fn handle(&self, message: &Value) -> String {
        if let Some(at) = message.get("at").and_then(millis) {
            self.limiter.store().clock().set(at);
        }
        if let Some(event) = message.get("event") {
            // Events go back to frames with only the readable keys; as text,
            // every other byte stays as it was.
            return match self.policy.user_data().redact_json(&event.to_string()) {
                Ok((event, removed)) => format!("deliver event (removed {removed:?}): {event}"),
                Err(e) => format!("drop event: {e}"),
            };
        }
        let text = |k: &str| message.get(k).and_then(Value::as_str);
        let (origin, request) = (text("origin").unwrap_or(""), text("request").unwrap_or(""));
        let client = text("client").unwrap_or("default");
        // 1. Origin and request: allocation-free, borrows from the policy.
        let decision = self.policy.check(origin, request);
        if !decision.is_allowed() {
            return format!("refuse {request} from {origin}: {}", decision.reason);
        }
        // 2. Attached data (of a set or delete, a dialEx, a transfer…):
        //    strip what `write-allowed` does not list; only a set or delete
        //    with nothing left is refused.
        let keys: Vec<&str> = match (message.get("userData"), message.get("keys")) {
            (Some(Value::Object(m)), _) => m.keys().map(String::as_str).collect(),
            (_, Some(Value::Array(k))) => k.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let split = self.policy.user_data().split_write(keys.iter().copied());
        if !keys.is_empty() && split.denies(request) {
            return format!("refuse {request} from {origin}: no writable keys");
        }
        // 3. Rate limit. The in-memory store never fails; a fleet store may.
        let Ok(admission) = self.limiter.admit(client, request);
        match admission {
            Admission::Admitted(_) if split.denied.is_empty() => {
                format!("pass {request} from {origin}")
            }
            Admission::Admitted(_) => {
                format!("pass {request} from {origin} without {:?}", split.denied)
            }
            Admission::Limited { .. } => {
                let answer = RateLimitResult::new(request, self.policy.rate_limits().quarantine);
                format!("answer {origin}: {}", answer.to_json())
            }
            // Quarantined: no answer at all; the frame times out.
            Admission::Ignored { .. } => format!("ignore {request} from {origin}"),
        }
    }
}

/// A message's time in milliseconds: seconds since the epoch, or UTC as
/// `YYYY-MM-DDTHH:MM:SSZ`.
fn millis(at: &Value) -> Option<i64> {
    if let Some(secs) = at.as_f64() {
        return Some((secs * 1000.0) as i64);
    }
    let s = at.as_str()?.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let num = |t: &str| t.parse::<i64>().ok();
    let mut d = date.splitn(3, '-').map(num);
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':').map(num);
    let (h, min, sec) = (t.next()??, t.next()??, t.next()??);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Some(((days * 24 + h) * 60 + min) * 60_000 + sec * 1000)
}

fn run(policy_path: &str, messages_path: &str) -> Result<Vec<String>, String> {
    let json = std::fs::read_to_string(policy_path).map_err(|e| format!("{policy_path}: {e}"))?;
    let policy = CompiledPolicy::load(&json).map_err(|e| format!("{policy_path}: {e}"))?;
    let broker = Broker::new(policy);
    let messages =
        std::fs::read_to_string(messages_path).map_err(|e| format!("{messages_path}: {e}"))?;
    messages
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .map(|m| broker.handle(&m))
                .map_err(|e| format!("{messages_path}: {e}"))
        })
        .collect()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [policy, messages] = args.as_slice() else {
        eprintln!("usage: broker POLICY.json MESSAGES.jsonl");
        return ExitCode::from(2);
    };
    match run(policy, messages) {
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
#[allow(clippy::panic)]
mod tests {
    #[test]
    fn replays_the_example() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let out = super::run(
            &format!("{root}/examples/wwews-cluster.policy.json"),
            &format!("{root}/examples/requests.jsonl"),
        );
        let lines = match out {
            Ok(l) => l,
            Err(e) => panic!("{e}"),
        };
        assert!(lines.iter().any(|l| l.starts_with("pass ")));
        assert!(lines.iter().any(|l| l.starts_with("refuse ")));
        assert_eq!(
            super::millis(&serde_json::json!("2026-11-20T10:00:05Z")),
            Some(1_795_168_805_000)
        );
    }
}
