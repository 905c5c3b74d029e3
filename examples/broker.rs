//! A small broker loop: how a broker runtime embeds scapi.
//!
//! It loads a policy (an option export or a compiled policy JSON), then
//! replays a JSON Lines file of requests (`at` in seconds or RFC 3339,
//! `origin`, `request`, optional `client`, `userData`, `keys`) the way a
//! broker answers frames: refuse, pass on, answer with the rate-limit error,
//! or stay silent. Events (`{"event": …}`) are redacted before delivery.
//!
//! ```text
//! cargo run --example broker -- examples/wwews-cluster.cfg examples/requests.jsonl
//! ```

use scapi::limiter::{Admission, ManualClock, MemoryStore, RateLimitResult, RateLimiter};
use scapi::policy::Policy;
use serde_json::Value;
use std::process::ExitCode;

/// What the broker does with one line of input.
fn handle(
    policy: &Policy,
    limiter: &RateLimiter<MemoryStore<ManualClock>>,
    line: &Value,
) -> String {
    // A real broker takes the time from its clock; a replay sets it.
    if let Some(at) = line.get("at").and_then(scapi_time) {
        limiter.store().clock().set(at);
    }
    if let Some(event) = line.get("event") {
        let mut event = event.clone();
        let removed = policy.user_data().redact(&mut event);
        return format!("deliver event (removed {removed:?}): {event}");
    }
    let origin = line.get("origin").and_then(Value::as_str).unwrap_or("");
    let request = line.get("request").and_then(Value::as_str).unwrap_or("");
    let client = line
        .get("client")
        .and_then(Value::as_str)
        .unwrap_or("default");
    // 1. Origin and request: allocation-free, borrows from the policy.
    let decision = policy.check(origin, request);
    if !decision.is_allowed() {
        return format!("refuse {request} from {origin}: {}", decision.reason);
    }
    // 2. Attached-data writes: strip what `write-allowed` does not list.
    let keys: Vec<&str> = match (line.get("userData"), line.get("keys")) {
        (Some(Value::Object(m)), _) => m.keys().map(String::as_str).collect(),
        (_, Some(Value::Array(k))) => k.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let split = policy.user_data().split_write(keys.iter().copied());
    if !keys.is_empty() && split.nothing_left() {
        return format!("refuse {request} from {origin}: no writable keys");
    }
    // 3. Rate limit.
    // The in-memory store never fails; a fleet store (Redis) may.
    let Ok(admission) = limiter.admit(client, request);
    match admission {
        Admission::Admitted if split.denied.is_empty() => format!("pass {request} from {origin}"),
        Admission::Admitted => format!("pass {request} from {origin} without {:?}", split.denied),
        Admission::Limited { .. } => {
            let result = RateLimitResult::new(request, policy.rate_limits().quarantine);
            format!("answer {request} from {origin}: {}", result.to_json())
        }
        Admission::Ignored { .. } => format!("ignore {request} from {origin}"),
    }
}

/// `at` as milliseconds: seconds since the epoch, or RFC 3339.
fn scapi_time(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_f64().map(|s| (s * 1000.0) as i64),
        Value::String(s) => {
            let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .ok()?;
            i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
        }
        _ => None,
    }
}

/// Loads the policy, refusing an export with errors, as `compile` does.
fn load(path: &str) -> Result<Policy, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    match scapi::load(path, &bytes, &scapi::Options::default()).map_err(|e| e.to_string())? {
        scapi::Loaded::Compiled(p) => Ok(p),
        scapi::Loaded::Export(c) if !c.has_errors() => {
            c.policy.ok_or_else(|| format!("{path} is unreadable"))
        }
        scapi::Loaded::Export(_) => Err(format!("{path} has errors; run `scapi lint {path}`")),
    }
}

/// Replays a requests file; one answer per line.
fn run(policy_path: &str, requests: &str) -> Result<Vec<String>, String> {
    let policy = load(policy_path)?;
    let limiter = RateLimiter::with_store(
        policy.rate_limits().clone(),
        MemoryStore::with_clock(ManualClock::default()),
    );
    let mut answers = Vec::new();
    for (n, line) in requests
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        answers.push(handle(&policy, &limiter, &value));
    }
    Ok(answers)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(policy), Some(requests)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: broker POLICY REQUESTS.jsonl");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(requests) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {requests}: {e}");
            return ExitCode::from(2);
        }
    };
    match run(policy, &text) {
        Ok(answers) => {
            for a in answers {
                println!("{a}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    /// The example runs over the shipped files and answers as `scapi eval` decides.
    #[test]
    fn replays_the_sample_requests() {
        let root = env!("CARGO_MANIFEST_DIR");
        let requests = std::fs::read_to_string(format!("{root}/examples/requests.jsonl")).unwrap();
        let answers = super::run(&format!("{root}/examples/wwews-cluster.cfg"), &requests).unwrap();
        assert_eq!(answers.len(), requests.lines().count());
        assert_eq!(answers[0], "pass voice.dial from https://crm.example.com");
        assert_eq!(
            answers[3],
            "refuse agent.get from https://evil.example: origin-not-accepted"
        );
        assert_eq!(
            answers[4],
            "refuse agent.get from https://crm.example.com/: origin-not-canonical"
        );
        assert_eq!(
            answers[7],
            "pass interaction.setUserData from https://crm.example.com without [\"LoyaltyTier\"]"
        );
        assert!(answers[18].starts_with(
            "answer voice.dial from https://crm.example.com: {\"errorMessage\": \"The rate limit"
        ));
        assert_eq!(
            answers[19],
            "ignore voice.dial from https://crm.example.com"
        );
        assert!(
            answers[21].starts_with("deliver event (removed [\"CustomerSSN\", \"IW_BundleUid\"])")
        );
    }
}
