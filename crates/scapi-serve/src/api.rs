//! The JSON of the decision service: what a broker sends and what it gets
//! back (`scapi schema serve`).

use scapi_policy::decision::{Frame, Outcome};
use scapi_policy::handle::{Call, Verdict};
use scapi_policy::limiter::{At, Millis, RateLimitResult};
use scapi_policy::policy::Policy;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// `POST /v1/check`: one request a frame sent.
#[derive(Debug, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a check object `{\"origin\", \"request\", \"client\"}`"
)]
pub struct CheckRequest {
    /// `event.origin`, exactly as the browser gave it.
    pub origin: String,
    /// The request name.
    pub request: String,
    /// The agent session whose counters it counts in.
    pub client: String,
    /// How the frame is displayed.
    #[serde(default)]
    pub frame: Option<Frame>,
    /// The attached data it carries (the map of `setUserData`, of
    /// `voice.dialEx`…).
    #[serde(default)]
    pub user_data: Option<Box<RawValue>>,
    /// The keys of `deleteUserData`.
    #[serde(default)]
    pub keys: Option<Vec<String>>,
    /// When, in ms since the epoch (only with `--allow-client-time`).
    #[serde(default)]
    pub at: Option<i64>,
}

/// What the broker does with the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Pass it to WWE (with `userData` as given here).
    Forward,
    /// Answer the frame with `reply`, and do not pass it on.
    Answer,
    /// Send nothing at all (quarantined).
    Ignore,
}

/// The deciding entry.
#[derive(Debug, Serialize)]
pub struct EntryOut {
    /// Its origin, `*` for the any-origin entry.
    pub origin: String,
    /// Its line in the export.
    pub line: usize,
}

/// The answer to one check.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckAnswer {
    /// The outcome (in shadow, what it would have been).
    pub outcome: Outcome,
    /// Why (`scapi rule`'s names of reasons).
    pub reason: scapi_policy::decision::Reason,
    /// What is enforced: the outcome, or `allow` in shadow.
    pub enforced: Outcome,
    /// The policy or the deciding entry runs in shadow.
    pub shadow: bool,
    /// What the broker does.
    pub action: Action,
    /// The answer to send the frame when `action` is `answer`.
    pub reply: Option<Reply>,
    /// The deciding entry.
    pub entry: Option<EntryOut>,
    /// The attached data to pass on, without the top-level keys
    /// `write-allowed` does not list, every value as written (present when
    /// the request carried some).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<Box<RawValue>>,
    /// The keys of `deleteUserData` to pass on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<String>>,
    /// The keys removed (or, in shadow, that would have been).
    pub denied_keys: Vec<String>,
    /// Requests of this type the window still admits (`null`: no limit).
    pub remaining: Option<u32>,
    /// When the window (or the quarantine) ends, ms since the epoch.
    pub reset_at: Option<Millis>,
}

/// An answer a frame gets instead of WWE's.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reply {
    /// Why, in words (as WWE's failure answers carry it).
    pub error_message: String,
    /// The request.
    pub request: String,
}

/// `POST /v1/redact`: an event or result on its way to a frame.
#[derive(Debug, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a redact object `{\"event\"}`"
)]
pub struct RedactRequest {
    /// The event, any JSON.
    pub event: Box<RawValue>,
}

/// The redacted event.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedactAnswer {
    /// The event without the attached-data keys `read-allowed` does not
    /// list; every other byte as it came.
    pub event: Box<RawValue>,
    /// The keys removed.
    pub removed: Vec<String>,
}

/// An error answer: `{"error": {"code", "message"}}`.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The error.
#[derive(Debug, Serialize)]
pub struct ErrorDetail {
    /// A stable code: `bad-json`, `bad-request`, `too-large`, `not-found`,
    /// `method-not-allowed`, `timeout`.
    pub code: &'static str,
    /// One sentence.
    pub message: String,
}

/// A check's call, with the keys its attached data carries.
pub struct Keys {
    /// The keys of `userData` (or `keys`), in order.
    pub list: Option<Vec<String>>,
}

/// The longest origin, request name or client id a check takes (as the
/// npm runtime): counters are kept per client, so ids are bounded.
pub const MAX_NAME_LENGTH: usize = 65536;

/// The keys a check carries: of `userData`'s object, else `keys`; the
/// names checked against their bound.
pub fn keys_of(req: &CheckRequest) -> Result<Keys, String> {
    for (what, value) in [
        ("origin", &req.origin),
        ("request", &req.request),
        ("client", &req.client),
    ] {
        if value.len() > MAX_NAME_LENGTH {
            return Err(format!(
                "`{what}` is {} bytes long; at most {MAX_NAME_LENGTH} are taken",
                value.len()
            ));
        }
    }
    if req.user_data.is_some() && req.keys.is_some() {
        return Err(
            "a check carries `userData` (a map) or `keys` (the keys of `deleteUserData`), not both"
                .into(),
        );
    }
    if let Some(raw) = &req.user_data {
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(raw.get())
            .map_err(|_| "`userData` is the attached data: a JSON object".to_string())?;
        return Ok(Keys {
            list: Some(map.keys().cloned().collect()),
        });
    }
    Ok(Keys {
        list: req.keys.clone(),
    })
}

/// The call a check makes; `at` only when the server takes clients' times.
pub fn call<'a>(req: &'a CheckRequest, keys: &'a Keys, client_time: bool) -> Call<'a> {
    Call {
        origin: &req.origin,
        request: &req.request,
        client: &req.client,
        frame: req.frame.unwrap_or_default(),
        keys: keys.list.as_deref(),
        at: match req.at {
            Some(t) if client_time => At::Time(t),
            _ => At::Now,
        },
    }
}

/// The answer of a verdict.
pub fn answer(policy: &Policy, req: &CheckRequest, v: &Verdict<'_>) -> Result<CheckAnswer, String> {
    let enforced = v.enforced();
    let (action, reply) = match enforced {
        Outcome::Allow | Outcome::Redacted => (Action::Forward, None),
        Outcome::Ignored => (Action::Ignore, None),
        Outcome::RateLimited => {
            let r = RateLimitResult::new(&req.request, policy.rate_limits().quarantine);
            (
                Action::Answer,
                Some(Reply {
                    error_message: r.error_message,
                    request: r.request,
                }),
            )
        }
        Outcome::Deny => (
            Action::Answer,
            Some(Reply {
                error_message: format!(
                    "The request '{}' is not allowed ({}).",
                    req.request, v.reason
                ),
                request: req.request.clone(),
            }),
        ),
    };
    let strip = v.strip();
    let user_data = match &req.user_data {
        Some(raw) if action == Action::Forward && !strip.is_empty() => {
            Some(without_keys(raw.get(), strip)?)
        }
        Some(raw) if action == Action::Forward => Some(raw.clone()),
        _ => None,
    };
    let keys = match &req.keys {
        Some(k) if action == Action::Forward && req.user_data.is_none() => {
            Some(k.iter().filter(|k| !strip.contains(k)).cloned().collect())
        }
        _ => None,
    };
    let (remaining, reset_at) = match v.admission {
        Some(a) => (a.remaining(), a.reset_at()),
        None => (None, None),
    };
    Ok(CheckAnswer {
        outcome: v.outcome,
        reason: v.reason,
        enforced,
        shadow: v.shadow,
        action,
        reply,
        entry: v.entry.map(|e| EntryOut {
            origin: e.origin.to_string(),
            line: e.line,
        }),
        user_data,
        keys,
        denied_keys: v.denied_keys.clone(),
        remaining,
        reset_at,
    })
}

/// `object` (JSON text of an object) without its top-level members that
/// `strip` names; the values kept are their own text, byte for byte, in
/// their order (nested objects untouched, whatever their keys).
fn without_keys(object: &str, strip: &[String]) -> Result<Box<RawValue>, String> {
    use serde::de::{Deserializer as _, MapAccess, Visitor};
    struct Members;
    impl<'de> Visitor<'de> for Members {
        type Value = Vec<(String, &'de RawValue)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, &'de RawValue>()? {
                out.push((k, v));
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_str(object);
    let members = de.deserialize_map(Members).map_err(|e| e.to_string())?;
    let mut text = String::from("{");
    let mut first = true;
    for (key, value) in members.iter().filter(|(k, _)| !strip.contains(k)) {
        if !first {
            text.push(',');
        }
        first = false;
        text.push_str(&serde_json::to_string(key).map_err(|e| e.to_string())?);
        text.push(':');
        text.push_str(value.get());
    }
    text.push('}');
    RawValue::from_string(text).map_err(|e| e.to_string())
}
