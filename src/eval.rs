//! Evaluating sample requests against a policy (`scapi eval`).
//!
//! A requests file is a JSON array, JSON Lines or a YAML list of items.
//! A request item has `at` (RFC 3339 or seconds since the epoch), `origin`,
//! `request`, optionally `client` (default `"default"`), `userData` (the map
//! of `interaction.setUserData`), `keys` (the list of
//! `interaction.deleteUserData`) and `expect`. An event item has `at` and
//! `event` (a notification or result to redact). Items must be in time
//! order. Every problem names the item; nothing is guessed.
//!
//! Each request goes through the policy in the order the README's *Semantics* section gives: origin
//! accepted → request permitted (including that some key is writable) →
//! quarantine → counter. Denied requests never reach the counter.

use crate::decision::{Outcome, Reason};
use crate::limiter::{Admission, ManualClock, MemoryStore, Millis, RateLimitResult, RateLimiter};
use crate::policy::Policy;
use crate::userdata::{DELETE_USER_DATA, SET_USER_DATA};
use serde_json::{Map, Value};
use std::fmt;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How a requests file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestsFormat {
    /// A JSON array of items.
    Json,
    /// One JSON object per line.
    JsonLines,
    /// A YAML list of items.
    Yaml,
}

impl RequestsFormat {
    /// The format of a file: by extension, else by its first character.
    pub fn detect(name: &str, text: &str) -> RequestsFormat {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "jsonl" | "ndjson" => return RequestsFormat::JsonLines,
            "yaml" | "yml" => return RequestsFormat::Yaml,
            "json" if text.trim_start().starts_with('[') => return RequestsFormat::Json,
            _ => {}
        }
        match text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .chars()
            .next()
        {
            Some('[') => RequestsFormat::Json,
            Some('{') => RequestsFormat::JsonLines,
            _ => RequestsFormat::Yaml,
        }
    }
}

/// One item of a requests file.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Position in the file, from 0.
    pub index: usize,
    /// Line in the file, for JSON Lines.
    pub line: Option<usize>,
    /// When, in milliseconds since the epoch.
    pub at: Millis,
    /// A request or an event.
    pub kind: ItemKind,
    /// The expected outcome, if any.
    pub expect: Option<Outcome>,
}

/// What an item is.
#[derive(Clone, Debug, PartialEq)]
pub enum ItemKind {
    /// A request from a frame.
    Request(RequestItem),
    /// A notification or result whose `userData` is redacted.
    Event(Box<Value>),
}

/// A request from a frame.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestItem {
    /// The presented origin.
    pub origin: String,
    /// The request name.
    pub request: String,
    /// The client (agent session / iframe connection).
    pub client: String,
    /// The map of `interaction.setUserData`.
    pub user_data: Option<Box<Map<String, Value>>>,
    /// The key list of `interaction.deleteUserData`.
    pub keys: Option<Vec<String>>,
}

/// A requests file that cannot be evaluated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ItemError {
    /// The item, when the problem is in one.
    pub index: Option<usize>,
    /// The line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.index, self.line) {
            (Some(i), Some(l)) => write!(f, "item {i} (line {l}): {}", self.message),
            (Some(i), None) => write!(f, "item {i}: {}", self.message),
            (None, Some(l)) => write!(f, "line {l}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

const FIELDS: &[&str] = &[
    "at", "origin", "request", "client", "userData", "keys", "expect", "event",
];

/// An item read straight into its fields, or as a JSON tree to check.
enum Parsed {
    Ready(Item),
    Value(Value),
}

/// The common item: a request with a numeric time and no user data.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainRequest {
    at: serde_json::Number,
    origin: String,
    request: String,
    #[serde(default, deserialize_with = "present_string")]
    client: Option<String>,
    #[serde(default, deserialize_with = "present_string")]
    expect: Option<String>,
}

/// An optional field that, when present, is a string (`null` is refused,
/// as the general path refuses it).
fn present_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    <String as serde::Deserialize>::deserialize(d).map(Some)
}

/// A line that is a plain request, read without a JSON tree; `None` for
/// anything else (then the general path reads it, and says what is wrong).
/// It accepts exactly the items the general path accepts the same way.
fn plain_request(index: usize, line: usize, text: &str) -> Option<Item> {
    let r: PlainRequest = serde_json::from_str(text).ok()?;
    if r.request == SET_USER_DATA || r.request == DELETE_USER_DATA {
        return None;
    }
    let at = parse_time(&Value::Number(r.at)).ok()?;
    let expect = match r.expect {
        None => None,
        Some(s) => Some(Outcome::ALL.into_iter().find(|o| o.as_str() == s)?),
    };
    Some(Item {
        index,
        line: Some(line),
        at,
        kind: ItemKind::Request(RequestItem {
            origin: r.origin,
            request: r.request,
            client: r.client.unwrap_or_else(|| "default".to_string()),
            user_data: None,
            keys: None,
        }),
        expect,
    })
}

/// Reads the items of a requests file.
pub fn parse_items(text: &str, format: RequestsFormat) -> Result<Vec<Item>, ItemError> {
    let text = text.trim_start_matches('\u{feff}');
    let file_err = |line: Option<usize>, message: String| ItemError {
        index: None,
        line,
        message,
    };
    let mut items = Items::default();
    match format {
        RequestsFormat::Json => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(values)) => {
                for v in values {
                    items.add(Parsed::Value(v), None)?;
                }
            }
            Ok(_) => {
                return Err(file_err(
                    None,
                    "a JSON requests file must be an array of items".into(),
                ));
            }
            Err(e) => {
                return Err(file_err(
                    Some(e.line()),
                    format!(
                        "invalid JSON at column {}: {}",
                        e.column(),
                        lower_first(&e.to_string())
                    ),
                ));
            }
        },
        RequestsFormat::JsonLines => {
            // Items in file order, each checked as it is read: the first
            // problem in the file is the one reported.
            items
                .list
                .reserve(text.bytes().filter(|&b| b == b'\n').count() + 1);
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                // Most lines are plain requests: read straight into their
                // fields, without a JSON tree in between.
                if let Some(item) = plain_request(items.list.len(), i + 1, line) {
                    items.add(Parsed::Ready(item), Some(i + 1))?;
                    continue;
                }
                let v = serde_json::from_str::<Value>(line).map_err(|e| {
                    file_err(
                        Some(i + 1),
                        format!(
                            "invalid JSON at column {}: {}",
                            e.column(),
                            lower_first(&e.to_string())
                        ),
                    )
                })?;
                items.add(Parsed::Value(v), Some(i + 1))?;
            }
        }
        RequestsFormat::Yaml => match serde_yaml_ng::from_str::<Value>(text) {
            Ok(Value::Array(values)) => {
                for v in values {
                    items.add(Parsed::Value(v), None)?;
                }
            }
            Ok(Value::Null) => {}
            Ok(_) => {
                return Err(file_err(
                    None,
                    "a YAML requests file must be a list of items".into(),
                ));
            }
            Err(e) => {
                let at = e
                    .location()
                    .map(|l| format!(" at column {}", l.column()))
                    .unwrap_or_default();
                return Err(file_err(
                    e.location().map(|l| l.line()),
                    format!("invalid YAML{at}: {}", lower_first(&e.to_string())),
                ));
            }
        },
    };
    Ok(items.list)
}

/// Items read so far, checked one by one.
#[derive(Default)]
struct Items {
    list: Vec<Item>,
    previous: Option<Millis>,
}

impl Items {
    fn add(&mut self, parsed: Parsed, line: Option<usize>) -> Result<(), ItemError> {
        let index = self.list.len();
        let err = |message: String| ItemError {
            index: Some(index),
            line,
            message,
        };
        let item = match parsed {
            Parsed::Ready(item) => item,
            Parsed::Value(value) => parse_item(index, line, value).map_err(err)?,
        };
        if let Some(p) = self.previous
            && item.at < p
        {
            return Err(err(format!(
                "`at` is {}, earlier than the item before ({}); items must be in time order",
                format_time(item.at),
                format_time(p)
            )));
        }
        self.previous = Some(item.at);
        self.list.push(item);
        Ok(())
    }
}

/// A parser's message as one of ours: first letter lower case (unless it
/// starts an acronym such as `EOF`), without its own position suffix.
fn lower_first(s: &str) -> String {
    let s = s.rsplit_once(" at line ").map_or(s, |(m, _)| m);
    // The parsers' resource limits, in words.
    if s.starts_with("recursion limit exceeded") {
        return "nested more than 128 levels deep".into();
    }
    if s.starts_with("repetition limit exceeded") {
        return "aliases expand to too many nodes".into();
    }
    let mut c = s.chars();
    match (c.next(), c.clone().next()) {
        (Some(f), Some(g)) if !g.is_uppercase() => f.to_lowercase().chain(c).collect(),
        _ => s.to_string(),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn string_field(map: &mut Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match map.remove(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("`{key}` must be a string, not {}", kind_of(&other))),
    }
}

fn parse_item(index: usize, line: Option<usize>, value: Value) -> Result<Item, String> {
    let Value::Object(mut map) = value else {
        return Err(format!(
            "an item must be an object, not {}",
            kind_of(&value)
        ));
    };
    if let Some(unknown) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        let hint = crate::catalog::closest(unknown, FIELDS.iter().copied()).map_or_else(
            || format!("; the fields are {}", FIELDS.join(", ")),
            |s| format!("; did you mean `{s}`?"),
        );
        return Err(format!("unknown field `{unknown}`{hint}"));
    }
    let at = match map.remove("at") {
        None => return Err("missing `at`".into()),
        Some(v) => parse_time(&v)?,
    };
    let expect = match string_field(&mut map, "expect")? {
        None => None,
        Some(s) => Some(
            Outcome::ALL
                .into_iter()
                .find(|o| o.as_str() == s)
                .ok_or_else(|| format!("`expect` is `{s}`; it must be one of allow, deny, rate-limited, ignored, redacted"))?,
        ),
    };
    if let Some(event) = map.remove("event") {
        if !event.is_object() {
            return Err(format!(
                "`event` must be an object, not {}",
                kind_of(&event)
            ));
        }
        if let Some(k) = ["origin", "request", "client", "userData", "keys"]
            .iter()
            .find(|k| map.contains_key(**k))
        {
            return Err(format!(
                "an event item has no `{k}`; requests and events are separate items"
            ));
        }
        return Ok(Item {
            index,
            line,
            at,
            kind: ItemKind::Event(Box::new(event)),
            expect,
        });
    }
    let origin = string_field(&mut map, "origin")?.ok_or("missing `origin`")?;
    let request = string_field(&mut map, "request")?.ok_or("missing `request`")?;
    let client = string_field(&mut map, "client")?.unwrap_or_else(|| "default".to_string());
    let user_data = match map.remove("userData") {
        None => None,
        Some(Value::Object(m)) => Some(Box::new(m)),
        Some(other) => {
            return Err(format!(
                "`userData` must be an object, not {}",
                kind_of(&other)
            ));
        }
    };
    let keys = match map.remove("keys") {
        None => None,
        Some(Value::Array(list)) => Some(
            list.into_iter()
                .map(|k| match k {
                    Value::String(s) => Ok(s),
                    other => Err(format!("`keys` must list strings, not {}", kind_of(&other))),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(other) => return Err(format!("`keys` must be a list, not {}", kind_of(&other))),
    };
    match (request.as_str(), &user_data, &keys) {
        (SET_USER_DATA, None, _) => {
            return Err(format!(
                "`{SET_USER_DATA}` needs `userData`, the map it writes"
            ));
        }
        (DELETE_USER_DATA, _, None) => {
            return Err(format!(
                "`{DELETE_USER_DATA}` needs `keys`, the list it deletes"
            ));
        }
        (r, Some(_), _) if r != SET_USER_DATA => {
            return Err(format!("`userData` is only for `{SET_USER_DATA}`"));
        }
        (r, _, Some(_)) if r != DELETE_USER_DATA => {
            return Err(format!("`keys` is only for `{DELETE_USER_DATA}`"));
        }
        _ => {}
    }
    Ok(Item {
        index,
        line,
        at,
        kind: ItemKind::Request(RequestItem {
            origin,
            request,
            client,
            user_data,
            keys,
        }),
        expect,
    })
}

/// Latest time `at` may be (the end of year 9999), so it can be printed.
const MAX_MILLIS: Millis = 253_402_300_799_999;

fn parse_time(v: &Value) -> Result<Millis, String> {
    let millis = match v {
        Value::String(s) => {
            let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
                format!("`at` is `{s}`, not an RFC 3339 time such as `2026-11-20T10:00:05Z`")
            })?;
            Millis::try_from(t.unix_timestamp_nanos() / 1_000_000)
                .map_err(|_| "`at` is out of range".to_string())?
        }
        Value::Number(n) => {
            let secs = n
                .as_f64()
                .filter(|f| f.is_finite())
                .ok_or("`at` is not a finite number")?;
            let ms = (secs * 1000.0).round();
            if !(0.0..=MAX_MILLIS as f64).contains(&ms) {
                return Err(format!("`at` is {n}, outside 0 .. 253402300799 seconds"));
            }
            ms as Millis
        }
        other => {
            return Err(format!(
                "`at` must be an RFC 3339 time or a number of seconds, not {}",
                kind_of(other)
            ));
        }
    };
    if !(0..=MAX_MILLIS).contains(&millis) {
        return Err("`at` is before 1970 or after 9999".into());
    }
    Ok(millis)
}

/// RFC 3339 in UTC, with milliseconds only when there are some.
pub fn format_time(t: Millis) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t) * 1_000_000)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

/// What happened to one item.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluated {
    /// The item's index.
    pub index: usize,
    /// When.
    pub at: Millis,
    /// The outcome.
    pub outcome: Outcome,
    /// Why.
    pub reason: Reason,
    /// The deciding entry: its origin (`*` for the any-origin entry) and line.
    pub entry: Option<(String, usize)>,
    /// The error result of a rate-limited request.
    pub result: Option<RateLimitResult>,
    /// End of the quarantine of a rate-limited or ignored request (`Some(None)`: forever).
    pub quarantine_until: Option<Option<Millis>>,
    /// Keys stripped from a write request.
    pub denied_keys: Vec<String>,
    /// The redacted event.
    pub event: Option<Value>,
    /// Keys removed from the event.
    pub removed_keys: Vec<String>,
    /// The expected outcome when it differs from the actual one.
    pub mismatch: Option<Outcome>,
}

/// Evaluates items in order against a policy, with a fresh rate limiter.
pub fn evaluate(policy: &Policy, items: &[Item]) -> Vec<Evaluated> {
    let limiter = RateLimiter::with(
        policy.rate_limits().clone(),
        MemoryStore::new(),
        ManualClock::default(),
    );
    items
        .iter()
        .map(|item| evaluate_one(policy, &limiter, item))
        .collect()
}

fn evaluate_one(
    policy: &Policy,
    limiter: &RateLimiter<MemoryStore, ManualClock>,
    item: &Item,
) -> Evaluated {
    let d = decide(policy, limiter, item);
    Evaluated {
        index: item.index,
        at: item.at,
        outcome: d.outcome,
        reason: d.reason,
        entry: d.entry.map(|(o, l)| (o.to_string(), l)),
        mismatch: item.expect.filter(|x| *x != d.outcome),
        result: d.result,
        quarantine_until: d.quarantine_until,
        denied_keys: d.denied_keys,
        event: d.event,
        removed_keys: d.removed_keys,
    }
}

/// One item's decision, the deciding entry borrowed from the policy.
struct Decided<'p> {
    outcome: Outcome,
    reason: Reason,
    entry: Option<(&'p str, usize)>,
    result: Option<RateLimitResult>,
    quarantine_until: Option<Option<Millis>>,
    denied_keys: Vec<String>,
    event: Option<Value>,
    removed_keys: Vec<String>,
}

fn decide<'p>(
    policy: &'p Policy,
    limiter: &RateLimiter<MemoryStore, ManualClock>,
    item: &Item,
) -> Decided<'p> {
    let mut d = Decided {
        outcome: Outcome::Allow,
        reason: Reason::Granted,
        entry: None,
        result: None,
        quarantine_until: None,
        denied_keys: Vec::new(),
        event: None,
        removed_keys: Vec::new(),
    };
    match &item.kind {
        ItemKind::Event(event) => {
            let mut event = Value::clone(event);
            d.removed_keys = policy.user_data().redact(&mut event);
            d.event = Some(event);
            d.outcome = Outcome::Redacted;
            d.reason = Reason::ReadAllowed;
        }
        ItemKind::Request(r) => request(policy, limiter, item.at, r, &mut d),
    }
    d
}

fn request<'p>(
    policy: &'p Policy,
    limiter: &RateLimiter<MemoryStore, ManualClock>,
    at: Millis,
    r: &RequestItem,
    e: &mut Decided<'p>,
) {
    let d = policy.check(&r.origin, &r.request);
    e.outcome = d.outcome;
    e.reason = d.reason;
    e.entry = d.entry.map(|en| (en.origin, en.line));
    if !d.is_allowed() {
        return;
    }
    let keys: Option<Vec<&str>> = match (&r.user_data, &r.keys) {
        (Some(m), _) => Some(m.keys().map(String::as_str).collect()),
        (None, Some(k)) => Some(k.iter().map(String::as_str).collect()),
        (None, None) => None,
    };
    if let Some(keys) = keys {
        let split = policy.user_data().split_write(keys);
        e.denied_keys = split.denied.iter().map(|k| k.to_string()).collect();
        if split.nothing_left() {
            e.outcome = Outcome::Deny;
            e.reason = Reason::NoWritableKeys;
            return;
        }
    }
    match limiter.admit_at(&r.client, &r.request, at) {
        Admission::Admitted => {}
        Admission::Limited { until } => {
            e.outcome = Outcome::RateLimited;
            e.reason = Reason::RateLimit;
            e.result = Some(RateLimitResult::new(
                &r.request,
                policy.rate_limits().quarantine,
            ));
            e.quarantine_until = Some(until);
        }
        Admission::Ignored { until } => {
            e.outcome = Outcome::Ignored;
            e.reason = Reason::Quarantine;
            e.quarantine_until = Some(until);
        }
    }
}

/// A scalar of the report, borrowed.
#[derive(Clone, Copy)]
enum Scalar<'a> {
    Null,
    Num(usize),
    Str(&'a str),
}

impl Scalar<'_> {
    fn len(self) -> usize {
        match self {
            Scalar::Null => 4,
            Scalar::Num(n) => n.checked_ilog10().map_or(1, |d| d as usize + 1),
            Scalar::Str(s) => crate::jsonfmt::json_len(s),
        }
    }

    fn push(self, out: &mut Vec<u8>) {
        match self {
            Scalar::Null => out.extend_from_slice(b"null"),
            Scalar::Num(n) => {
                use std::io::Write as _;
                let _ = write!(out, "{n}");
            }
            Scalar::Str(s) => crate::jsonfmt::push_json_str(out, s),
        }
    }
}

/// An object of scalars, laid out as `jsonfmt` lays it out: on one line
/// when short, else one field per line.
fn push_scalar_object(out: &mut Vec<u8>, fields: &[(&str, Scalar<'_>)], depth: usize) {
    let inline: usize = fields.iter().map(|(k, v)| k.len() + v.len() + 6).sum();
    if fields.is_empty() {
        out.extend_from_slice(b"{}");
    } else if inline <= crate::jsonfmt::INLINE_MAX {
        out.push(b'{');
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            crate::jsonfmt::push_json_str(out, k);
            out.extend_from_slice(b": ");
            v.push(out);
        }
        out.push(b'}');
    } else {
        out.extend_from_slice(b"{\n");
        for (i, (k, v)) in fields.iter().enumerate() {
            crate::jsonfmt::push_pad(out, depth + 1);
            crate::jsonfmt::push_json_str(out, k);
            out.extend_from_slice(b": ");
            v.push(out);
            out.extend_from_slice(if i + 1 < fields.len() { b",\n" } else { b"\n" });
        }
        crate::jsonfmt::push_pad(out, depth);
        out.push(b'}');
    }
}

/// One decision of the JSON report, printed exactly as `jsonfmt` prints
/// [`decision_json`]'s value, without building it (`tests` compare them).
fn push_decision(
    out: &mut Vec<u8>,
    index: usize,
    d: &Decided<'_>,
    mismatch: Option<Outcome>,
    depth: usize,
) {
    if d.event.is_some() {
        // Events carry arbitrary JSON: the general printer.
        let e = Evaluated {
            index,
            at: 0,
            outcome: d.outcome,
            reason: d.reason,
            entry: d.entry.map(|(o, l)| (o.to_string(), l)),
            result: d.result.clone(),
            quarantine_until: d.quarantine_until,
            denied_keys: d.denied_keys.clone(),
            event: d.event.clone(),
            removed_keys: d.removed_keys.clone(),
            mismatch,
        };
        crate::jsonfmt::write_value(out, &decision_json(&e), depth);
        return;
    }
    let until = d.quarantine_until.map(|u| u.map(format_time));
    let mut head: Vec<(&str, Scalar<'_>)> = vec![
        ("index", Scalar::Num(index)),
        ("outcome", Scalar::Str(d.outcome.as_str())),
        ("reason", Scalar::Str(d.reason.as_str())),
    ];
    let simple = d.entry.is_none() && d.result.is_none() && d.denied_keys.is_empty();
    if simple {
        head.push(("entry", Scalar::Null));
        if let Some(u) = &until {
            head.push((
                "quarantineUntil",
                u.as_deref().map_or(Scalar::Null, Scalar::Str),
            ));
        }
        if let Some(x) = mismatch {
            head.push(("expected", Scalar::Str(x.as_str())));
        }
        push_scalar_object(out, &head, depth);
        return;
    }
    // Not all scalars: one field per line.
    let field = |out: &mut Vec<u8>, key: &str, first: bool| {
        if !first {
            out.extend_from_slice(b",\n");
        }
        crate::jsonfmt::push_pad(out, depth + 1);
        crate::jsonfmt::push_json_str(out, key);
        out.extend_from_slice(b": ");
    };
    out.extend_from_slice(b"{\n");
    for (i, (k, v)) in head.iter().enumerate() {
        field(out, k, i == 0);
        v.push(out);
    }
    field(out, "entry", false);
    match d.entry {
        None => out.extend_from_slice(b"null"),
        Some((origin, line)) => push_scalar_object(
            out,
            &[("origin", Scalar::Str(origin)), ("line", Scalar::Num(line))],
            depth + 1,
        ),
    }
    if let Some(r) = &d.result {
        field(out, "result", false);
        push_scalar_object(
            out,
            &[
                ("errorMessage", Scalar::Str(&r.error_message)),
                ("request", Scalar::Str(&r.request)),
            ],
            depth + 1,
        );
    }
    if let Some(u) = &until {
        field(out, "quarantineUntil", false);
        u.as_deref().map_or(Scalar::Null, Scalar::Str).push(out);
    }
    if !d.denied_keys.is_empty() {
        field(out, "deniedKeys", false);
        out.push(b'[');
        for (i, k) in d.denied_keys.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            crate::jsonfmt::push_json_str(out, k);
        }
        out.push(b']');
    }
    if let Some(x) = mismatch {
        field(out, "expected", false);
        Scalar::Str(x.as_str()).push(out);
    }
    out.push(b'\n');
    crate::jsonfmt::push_pad(out, depth);
    out.push(b'}');
}

/// Counts of an evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Items per outcome, in [`Outcome::ALL`] order.
    pub outcomes: [usize; 5],
    /// Items whose `expect` differs from the outcome.
    pub mismatches: usize,
}

impl Summary {
    /// Counts the evaluated items.
    pub fn of(evaluated: &[Evaluated]) -> Summary {
        let mut s = Summary::default();
        for e in evaluated {
            s.add(e);
        }
        s
    }

    /// Counts one more item.
    pub fn add(&mut self, e: &Evaluated) {
        self.count(e.outcome, e.mismatch.is_some());
    }

    fn count(&mut self, outcome: Outcome, mismatch: bool) {
        if let Some(slot) = Outcome::ALL
            .iter()
            .position(|o| *o == outcome)
            .and_then(|i| self.outcomes.get_mut(i))
        {
            *slot += 1;
        }
        self.mismatches += usize::from(mismatch);
    }
}

/// The `eval --format json` document (schema `grammar/eval.schema.json`).
pub fn to_json(evaluated: &[Evaluated]) -> Value {
    document(
        evaluated.iter().map(decision_json).collect(),
        Summary::of(evaluated),
    )
}

/// How [`run`] writes its report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// The table of [`to_human`].
    Human,
    /// The document of [`to_json`], printed as `jsonfmt` prints it.
    Json,
}

/// Why [`run`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The requests file cannot be evaluated; nothing was written.
    #[error("{0}")]
    Items(#[from] ItemError),
    /// Writing the report failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// `scapi eval`: reads every item first (a bad item is reported before any
/// output), decides them in order with a fresh rate limiter and writes the
/// report. The JSON report is streamed decision by decision, so a million
/// requests never become one JSON tree.
pub fn run(
    policy: &Policy,
    text: &str,
    format: RequestsFormat,
    report: ReportFormat,
    out: &mut impl std::io::Write,
) -> Result<Summary, RunError> {
    let items = parse_items(text, format)?;
    if report == ReportFormat::Human {
        let evaluated = evaluate(policy, &items);
        out.write_all(to_human(&items, &evaluated).as_bytes())?;
        return Ok(Summary::of(&evaluated));
    }
    let limiter = RateLimiter::with(
        policy.rate_limits().clone(),
        MemoryStore::new(),
        ManualClock::default(),
    );
    let split = |s: Summary| {
        crate::jsonfmt::Split::of(&document(Vec::new(), s), "/decisions")
            .ok_or_else(|| std::io::Error::other("the eval document has no decisions"))
    };
    let head = split(Summary::default())?;
    out.write_all(head.head.as_bytes())?;
    let mut summary = Summary::default();
    if items.is_empty() {
        out.write_all(b"[]")?;
    } else {
        out.write_all(b"[\n")?;
        let mut buf = Vec::with_capacity(64 * 1024);
        for (i, item) in items.iter().enumerate() {
            let d = decide(policy, &limiter, item);
            let mismatch = item.expect.filter(|x| *x != d.outcome);
            summary.count(d.outcome, mismatch.is_some());
            crate::jsonfmt::push_pad(&mut buf, head.depth + 1);
            push_decision(&mut buf, item.index, &d, mismatch, head.depth + 1);
            buf.extend_from_slice(if i + 1 < items.len() { b",\n" } else { b"\n" });
            if buf.len() >= 60 * 1024 {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        crate::jsonfmt::push_pad(&mut buf, head.depth);
        buf.push(b']');
        out.write_all(&buf)?;
    }
    out.write_all(split(summary)?.tail.as_bytes())?;
    Ok(summary)
}

fn document(decisions: Vec<Value>, summary: Summary) -> Value {
    let mut s = Map::new();
    for (o, n) in Outcome::ALL.iter().zip(summary.outcomes) {
        s.insert(o.as_str().to_string(), n.into());
    }
    s.insert("expectMismatches".into(), summary.mismatches.into());
    let mut doc = Map::new();
    doc.insert("schemaVersion".into(), 1.into());
    doc.insert("decisions".into(), Value::Array(decisions));
    doc.insert("summary".into(), Value::Object(s));
    Value::Object(doc)
}

fn decision_json(e: &Evaluated) -> Value {
    let mut m = Map::new();
    m.insert("index".into(), e.index.into());
    m.insert("outcome".into(), e.outcome.as_str().into());
    m.insert("reason".into(), e.reason.as_str().into());
    let entry = e.entry.as_ref().map_or(Value::Null, |(origin, line)| {
        let mut en = Map::new();
        en.insert("origin".into(), origin.clone().into());
        en.insert("line".into(), (*line).into());
        Value::Object(en)
    });
    m.insert("entry".into(), entry);
    if let Some(r) = &e.result {
        m.insert(
            "result".into(),
            serde_json::to_value(r).unwrap_or(Value::Null),
        );
    }
    if let Some(until) = e.quarantine_until {
        m.insert(
            "quarantineUntil".into(),
            until.map_or(Value::Null, |t| format_time(t).into()),
        );
    }
    if !e.denied_keys.is_empty() {
        m.insert("deniedKeys".into(), e.denied_keys.clone().into());
    }
    if let Some(ev) = &e.event {
        m.insert("event".into(), ev.clone());
        m.insert("removedKeys".into(), e.removed_keys.clone().into());
    }
    if let Some(x) = e.mismatch {
        m.insert("expected".into(), x.as_str().into());
    }
    Value::Object(m)
}

/// The widest a cell of the human table gets, in characters.
const CELL_MAX: usize = 64;

/// The human table: one row per item, then expectation mismatches.
pub fn to_human(items: &[Item], evaluated: &[Evaluated]) -> String {
    let summary = Summary::of(evaluated);
    let mut rows: Vec<[String; 8]> = vec![
        [
            "#", "TIME", "CLIENT", "ORIGIN", "REQUEST", "OUTCOME", "REASON", "ENTRY",
        ]
        .map(String::from),
    ];
    for (item, e) in items.iter().zip(evaluated) {
        let (client, origin, request) = match &item.kind {
            ItemKind::Request(r) => (r.client.clone(), r.origin.clone(), r.request.clone()),
            ItemKind::Event(ev) => {
                let kind = ev
                    .pointer("/data/eventType")
                    .and_then(|v| v.as_str())
                    .unwrap_or("notification");
                (String::new(), String::new(), format!("event {kind}"))
            }
        };
        let mut reason = e.reason.as_str().to_string();
        if !e.denied_keys.is_empty() {
            reason.push_str(&format!(" (stripped {})", e.denied_keys.join(", ")));
        }
        if e.outcome == Outcome::Redacted {
            reason = if e.removed_keys.is_empty() {
                "nothing removed".into()
            } else {
                format!("removed {}", e.removed_keys.join(", "))
            };
        }
        if let Some(until) = e.quarantine_until {
            reason.push_str(&match until {
                Some(t) => format!(" until {}", format_time(t)),
                None => " forever".into(),
            });
        }
        // `origin:9` would read as a port.
        let entry = e
            .entry
            .as_ref()
            .map_or("-".to_string(), |(o, l)| format!("{o} (line {l})"));
        let outcome = match e.mismatch {
            Some(_) => format!("{} ≠", e.outcome),
            None => e.outcome.to_string(),
        };
        // Untrusted text is shown escaped and cut: a control character must
        // not drive the terminal, and one long origin must not widen every
        // row (`--format json` has every value in full).
        let cell = |s: &str| crate::render::clip(&crate::render::exact(s), CELL_MAX).into_owned();
        rows.push([
            e.index.to_string(),
            format_time(e.at),
            cell(&client),
            cell(&origin),
            cell(&request),
            outcome,
            // Whole: the keys it names are the point of the row.
            crate::render::exact(&reason).into_owned(),
            cell(&entry),
        ]);
    }
    let mut widths = [0usize; 8];
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    let counts: Vec<String> = Outcome::ALL
        .iter()
        .zip(summary.outcomes)
        .filter(|(_, n)| *n > 0)
        .map(|(o, n)| format!("{n} {o}"))
        .collect();
    out.push_str(&format!(
        "\n{} item{}: {}\n",
        evaluated.len(),
        if evaluated.len() == 1 { "" } else { "s" },
        counts.join(", ")
    ));
    for e in evaluated {
        if let Some(r) = &e.result {
            let json = r.to_json();
            out.push_str(&format!(
                "item {} answered: {}\n",
                e.index,
                crate::render::exact(&json)
            ));
        }
    }
    for e in evaluated.iter().filter(|e| e.mismatch.is_some()) {
        if let Some(expected) = e.mismatch {
            out.push_str(&format!(
                "item {}: expected {expected}, got {} ({})\n",
                e.index, e.outcome, e.reason
            ));
        }
    }
    if summary.mismatches > 0 {
        out.push_str(&format!(
            "{} expectation{} not met\n",
            summary.mismatches,
            if summary.mismatches == 1 { "" } else { "s" }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_requests_read_fast_exactly_as_in_general() {
        let lines = [
            r#"{"at": 1795168800, "origin": "https://a.example", "request": "agent.get"}"#,
            r#"{"at": 1795168800.5, "origin": "https://a.example", "request": "agent.get", "client": "c", "expect": "deny"}"#,
            r#"{"request": "voice.dial", "origin": "o", "at": 0}"#,
            r#"{"at": 1795168800, "origin": "o", "request": "r", "client": null}"#,
            r#"{"at": 1795168800, "origin": "o", "request": "r", "expect": null}"#,
            r#"{"at": 1795168800, "origin": "o", "request": "r", "expect": "maybe"}"#,
            r#"{"at": -1, "origin": "o", "request": "r"}"#,
            r#"{"at": 1e20, "origin": "o", "request": "r"}"#,
            r#"{"at": "2026-11-20T10:00:00Z", "origin": "o", "request": "r"}"#,
            r#"{"at": 1, "origin": "o", "request": "r", "at": 2}"#,
            r#"{"at": 1, "origin": "o\u0041", "request": "r", "extra": 1}"#,
            r#"{"at": 1, "origin": "o", "request": "interaction.setUserData"}"#,
            r#"{"at": 1, "origin": "o", "request": "interaction.deleteUserData"}"#,
            r#"{"at": 1, "origin": 5, "request": "r"}"#,
            r#"{"at": 1, "request": "r"}"#,
            r#"{"at": 1, "origin": "o\n", "request": "r\u0000"}"#,
        ];
        for line in lines {
            let general = serde_json::from_str::<Value>(line)
                .map_err(|e| e.to_string())
                .and_then(|v| parse_item(3, Some(7), v));
            let fast = plain_request(3, 7, line);
            match general {
                Ok(item) => {
                    if let Some(f) = fast {
                        assert_eq!(f, item, "{line}");
                    }
                }
                Err(e) => assert!(fast.is_none(), "{line}: fast path accepted what fails: {e}"),
            }
        }
        // The common shape does take the fast path.
        assert!(plain_request(0, 1, lines[0]).is_some());
        assert!(plain_request(0, 1, lines[1]).is_some());
    }

    #[test]
    fn formats_are_detected() {
        assert_eq!(RequestsFormat::detect("r.json", "[]"), RequestsFormat::Json);
        assert_eq!(
            RequestsFormat::detect("r.jsonl", "{}"),
            RequestsFormat::JsonLines
        );
        assert_eq!(
            RequestsFormat::detect("r", "{\"at\": 1}\n"),
            RequestsFormat::JsonLines
        );
        assert_eq!(
            RequestsFormat::detect("r.yaml", "- at: 1"),
            RequestsFormat::Yaml
        );
        assert_eq!(RequestsFormat::detect("r", "- at: 1"), RequestsFormat::Yaml);
    }

    #[test]
    fn times() {
        assert_eq!(
            parse_time(&Value::from("2026-11-20T10:00:05Z")),
            Ok(1_795_168_805_000)
        );
        assert_eq!(
            parse_time(&Value::from("2026-11-20T11:00:05+01:00")),
            Ok(1_795_168_805_000)
        );
        assert_eq!(parse_time(&Value::from(1.5)), Ok(1500));
        assert!(parse_time(&Value::from(-1)).is_err());
        assert!(parse_time(&Value::from("yesterday")).is_err());
        assert_eq!(format_time(1_795_168_805_000), "2026-11-20T10:00:05Z");
        assert_eq!(format_time(1_795_168_805_250), "2026-11-20T10:00:05.25Z");
    }

    #[test]
    fn items_are_validated_and_named() {
        let e = |t: &str| {
            parse_items(t, RequestsFormat::JsonLines)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("{\"at\": 1, \"origin\": \"o\"}\n"),
            "item 0 (line 1): missing `request`"
        );
        assert_eq!(
            e("\n{\"at\": 1, \"origin\": \"o\", \"reqeust\": \"r\"}"),
            "item 0 (line 2): unknown field `reqeust`; did you mean `request`?"
        );
        assert_eq!(
            e(
                "{\"at\": 5, \"origin\": \"o\", \"request\": \"a.b\"}\n{\"at\": 4, \"origin\": \"o\", \"request\": \"a.b\"}"
            ),
            "item 1 (line 2): `at` is 1970-01-01T00:00:04Z, earlier than the item before (1970-01-01T00:00:05Z); items must be in time order"
        );
        assert!(
            e("{\"at\": 1, \"origin\": 4, \"request\": \"a.b\"}")
                .contains("`origin` must be a string, not a number")
        );
        assert!(
            e("{\"at\": 1, \"origin\": \"o\", \"request\": \"interaction.setUserData\"}")
                .contains("needs `userData`")
        );
        assert!(
            e("{\"at\": 1, \"origin\": \"o\", \"request\": \"a.b\", \"expect\": \"allowed\"}")
                .contains("must be one of")
        );
        assert_eq!(
            e("{\"at\": 1, \"origin\": \"o\", \"request\": \"a.b\""),
            "line 1: invalid JSON at column 41: EOF while parsing an object"
        );
        assert!(e("[1]").starts_with("line 1: invalid JSON") || e("[1]").contains("object"));
    }
}
