//! Evaluating sample requests against a policy (`scapi eval`).
//!
//! A requests file is a JSON array, JSON Lines or a YAML list of items.
//! A request item has `at` (RFC 3339 or seconds since the epoch), `origin`,
//! `request`, optionally `client` (default `"default"`), `userData` (the map
//! of `interaction.setUserData`, or the attached data of a request that
//! carries it, such as `voice.dialEx`), `keys` (the list of
//! `interaction.deleteUserData`), `frame` (`embedded`, the default, or
//! `tab`: an application shown in a tab may only dial) and `expect`. An event item has `at` and
//! `event` (a notification or result to redact). Items must be in time
//! order. Every problem names the item; nothing is guessed: an unknown
//! field, a field given twice or a value of the wrong type is an error.
//!
//! **One reader, one printer.** Every item of every format is read by one
//! visitor ([`Item`]'s), straight into its fields, without a JSON tree in
//! between; every decision is written by one streaming printer per report
//! format. JSON Lines are read line by line from any reader, so a file or
//! standard input of any size is replayed in bounded memory; a JSON array
//! or a YAML list is read whole (the caller bounds its size).
//!
//! Each request goes through the policy in the order the README's
//! *Semantics* section gives: origin accepted → request permitted
//! (including that some key is writable) → quarantine → counter. Denied
//! requests never reach the counter. Events are redacted as JSON text
//! ([`scapi_policy::rawjson`]), so nothing but the removed keys changes.

use scapi_policy::decision::{Entry, Frame, Outcome, Reason};
use scapi_policy::limiter::{
    Admission, CounterStore, ManualClock, MemoryStore, Millis, RateLimitResult, RateLimiter,
};
use scapi_policy::policy::Policy;
use scapi_policy::userdata::{CARRY_USER_DATA, DELETE_USER_DATA, SET_USER_DATA, attached_data};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::cell::Cell;
use std::fmt;
use std::io::{BufRead, Write};
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
    /// The format of a file: by extension, else by the first character of
    /// `start` (its first bytes): `[` a JSON array, `{` JSON Lines, anything
    /// else YAML.
    pub fn detect(name: &str, start: &[u8]) -> RequestsFormat {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        let first = start
            .strip_prefix(b"\xef\xbb\xbf")
            .unwrap_or(start)
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .copied();
        match ext.as_str() {
            "jsonl" | "ndjson" => return RequestsFormat::JsonLines,
            "yaml" | "yml" => return RequestsFormat::Yaml,
            "json" if first == Some(b'[') => return RequestsFormat::Json,
            _ => {}
        }
        match first {
            Some(b'[') => RequestsFormat::Json,
            Some(b'{') => RequestsFormat::JsonLines,
            _ => RequestsFormat::Yaml,
        }
    }

    /// Whether the format is read as it streams (JSON Lines) rather than
    /// whole.
    pub fn streams(self) -> bool {
        self == RequestsFormat::JsonLines
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
    /// A notification or result whose `userData` is redacted: its JSON
    /// text, exactly as the requests file wrote it (YAML is converted).
    Event(Box<str>),
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
    /// The keys of the map of `interaction.setUserData`, in order.
    pub user_data: Option<Vec<String>>,
    /// The key list of `interaction.deleteUserData`.
    pub keys: Option<Vec<String>>,
    /// How the calling application is displayed (a tab may only dial).
    pub frame: Frame,
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

// ---------------------------------------------------------------------------
// Reading items: one visitor for every format

const FIELDS: &[&str] = &[
    "at", "origin", "request", "client", "userData", "keys", "expect", "event", "frame",
];

/// Marks the messages of scapi's own visitors, so that an error of the
/// requests file is told apart from a syntax error of the parser.
const OURS: char = '\u{1f}';

/// An error of scapi's own, with its message.
fn ours<E: de::Error>(message: impl fmt::Display) -> E {
    E::custom(format_args!("{OURS}{message}"))
}

/// The message of one of scapi's own errors, without the parser's position
/// suffix; `None` for the parser's own errors.
fn our_message(error: &str) -> Option<String> {
    let (_, message) = error.split_once(OURS)?;
    let message = message.rsplit_once(" at line ").map_or(message, |(m, _)| m);
    Some(message.to_string())
}

/// Visitor methods that refuse what came, saying in scapi's words what the
/// value must be (`$must`) and what it is: `bool`, `numbers`, `str`,
/// `null` (and a missing YAML value), `list`, `object`.
macro_rules! refuse {
    ($must:path: $($kind:ident),+) => { $(refuse!(@$kind $must);)+ };
    (@bool $must:path) => {
        fn visit_bool<X: de::Error>(self, _: bool) -> Result<Self::Value, X> {
            Err(ours(format!("{} not a boolean", $must(&self))))
        }
    };
    (@numbers $must:path) => {
        fn visit_i64<X: de::Error>(self, _: i64) -> Result<Self::Value, X> {
            Err(ours(format!("{} not a number", $must(&self))))
        }
        fn visit_u64<X: de::Error>(self, _: u64) -> Result<Self::Value, X> {
            Err(ours(format!("{} not a number", $must(&self))))
        }
        fn visit_f64<X: de::Error>(self, _: f64) -> Result<Self::Value, X> {
            Err(ours(format!("{} not a number", $must(&self))))
        }
    };
    (@str $must:path) => {
        fn visit_str<X: de::Error>(self, _: &str) -> Result<Self::Value, X> {
            Err(ours(format!("{} not a string", $must(&self))))
        }
    };
    (@null $must:path) => {
        fn visit_unit<X: de::Error>(self) -> Result<Self::Value, X> {
            Err(ours(format!("{} not null", $must(&self))))
        }
        fn visit_none<X: de::Error>(self) -> Result<Self::Value, X> {
            self.visit_unit()
        }
    };
    (@list $must:path) => {
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(ours(format!("{} not a list", $must(&self))))
        }
    };
    (@object $must:path) => {
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(ours(format!("{} not an object", $must(&self))))
        }
    };
}

/// A string: the field `origin`, `request`, `client` or `expect`, or a key
/// of `keys`. It holds what the error says the value must be.
struct StrField(&'static str);

impl StrField {
    fn must(&self) -> String {
        self.0.to_string()
    }
}

impl<'de> DeserializeSeed<'de> for StrField {
    type Value = String;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrField {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    refuse!(Self::must: bool, numbers, null, list, object);
}

/// `at`: an RFC 3339 time or a number of seconds.
struct AtField;

impl AtField {
    fn must(&self) -> String {
        "`at` must be an RFC 3339 time or a number of seconds,".to_string()
    }
}

/// Latest time `at` may be (the end of year 9999), so it can be printed.
const MAX_MILLIS: Millis = 253_402_300_799_999;

impl<'de> DeserializeSeed<'de> for AtField {
    type Value = Millis;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Millis, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AtField {
    type Value = Millis;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a time")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Millis, E> {
        let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
            ours(format!(
                "`at` is `{s}`, not an RFC 3339 time such as `2026-11-20T10:00:05Z`"
            ))
        })?;
        let ms = Millis::try_from(t.unix_timestamp_nanos() / 1_000_000)
            .map_err(|_| ours("`at` is out of range"))?;
        if !(0..=MAX_MILLIS).contains(&ms) {
            return Err(ours("`at` is before 1970 or after 9999"));
        }
        Ok(ms)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Millis, E> {
        self.seconds(v as f64, &v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Millis, E> {
        self.seconds(v as f64, &v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Millis, E> {
        if !v.is_finite() {
            // YAML `.nan`, `.inf`: numbers, but no time.
            return Err(ours(format!(
                "`at` is `{v}`, not a finite number of seconds"
            )));
        }
        self.seconds(v, &v.to_string())
    }
    refuse!(Self::must: bool, null, list, object);
}

impl AtField {
    fn seconds<E: de::Error>(&self, secs: f64, shown: &str) -> Result<Millis, E> {
        let ms = (secs * 1000.0).round();
        if !(0.0..=MAX_MILLIS as f64).contains(&ms) {
            return Err(ours(format!(
                "`at` is {shown}, outside 0 .. 253402300799 seconds"
            )));
        }
        Ok(ms as Millis)
    }
}

/// `userData`: an object; its keys, in order.
struct UserDataField;

impl UserDataField {
    fn must(&self) -> String {
        "`userData` must be an object,".to_string()
    }
}

impl<'de> DeserializeSeed<'de> for UserDataField {
    type Value = Vec<String>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Vec<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UserDataField {
    type Value = Vec<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
        let mut keys: Vec<String> = Vec::new();
        // Linear in the keys: a map of 100,000 is read in a blink.
        let mut seen = std::collections::HashSet::new();
        while let Some(k) = map.next_key::<String>()? {
            map.next_value::<IgnoredAny>()?;
            if !seen.insert(k.clone()) {
                return Err(ours(format!("`userData` has the key `{k}` twice")));
            }
            keys.push(k);
        }
        Ok(keys)
    }
    refuse!(Self::must: bool, numbers, str, null, list);
}

/// `keys`: a list of strings.
struct KeysField;

impl KeysField {
    fn must(&self) -> String {
        "`keys` must be a list,".to_string()
    }
}

impl<'de> DeserializeSeed<'de> for KeysField {
    type Value = Vec<String>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Vec<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeysField {
    type Value = Vec<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut keys = Vec::new();
        while let Some(k) = seq.next_element_seed(StrField("`keys` must list strings,"))? {
            keys.push(k);
        }
        Ok(keys)
    }
    refuse!(Self::must: bool, numbers, str, null, object);
}

/// A field name of an item: its position in [`FIELDS`], read without
/// allocating; an unknown name is an error with a suggestion.
struct FieldName;

impl<'de> DeserializeSeed<'de> for FieldName {
    type Value = usize;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for FieldName {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<usize, E> {
        FIELDS.iter().position(|f| *f == key).ok_or_else(|| {
            let hint = crate::suggest::closest(key, FIELDS.iter().copied()).map_or_else(
                || format!("; the fields are {}", FIELDS.join(", ")),
                |s| format!("; did you mean `{s}`?"),
            );
            ours(format!("unknown field `{key}`{hint}"))
        })
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<usize, E> {
        Err(ours(format!(
            "unknown field `{v}`; the fields are {}",
            FIELDS.join(", ")
        )))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<usize, E> {
        Err(ours(format!(
            "unknown field `{v}`; the fields are {}",
            FIELDS.join(", ")
        )))
    }
}

/// How a format gives an event: JSON as its own text (exact), YAML as a
/// value converted to JSON.
trait EventText: Sized {
    /// The event's JSON text, or what it is when it is not an object.
    fn into_object_text(self) -> Result<Box<str>, &'static str>;
}

impl EventText for Box<serde_json::value::RawValue> {
    fn into_object_text(self) -> Result<Box<str>, &'static str> {
        let text = self.get();
        match text.trim_start().as_bytes().first() {
            Some(b'{') => Ok(Box::<str>::from(self)),
            Some(b'[') => Err("a list"),
            Some(b'"') => Err("a string"),
            Some(b't' | b'f') => Err("a boolean"),
            Some(b'n') => Err("null"),
            _ => Err("a number"),
        }
    }
}

impl EventText for serde_json::Value {
    fn into_object_text(self) -> Result<Box<str>, &'static str> {
        match self {
            serde_json::Value::Object(_) => Ok(self.to_string().into_boxed_str()),
            serde_json::Value::Array(_) => Err("a list"),
            serde_json::Value::String(_) => Err("a string"),
            serde_json::Value::Bool(_) => Err("a boolean"),
            serde_json::Value::Null => Err("null"),
            serde_json::Value::Number(_) => Err("a number"),
        }
    }
}

/// Reads one item. `E` is how the format gives events.
struct ItemSeed<E> {
    index: usize,
    line: Option<usize>,
    event: std::marker::PhantomData<E>,
}

impl<E> ItemSeed<E> {
    fn must(&self) -> String {
        "an item must be an object,".to_string()
    }

    fn new(index: usize, line: Option<usize>) -> ItemSeed<E> {
        ItemSeed {
            index,
            line,
            event: std::marker::PhantomData,
        }
    }
}

impl<'de, E: EventText + de::Deserialize<'de>> DeserializeSeed<'de> for ItemSeed<E> {
    type Value = Item;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Item, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, E: EventText + de::Deserialize<'de>> Visitor<'de> for ItemSeed<E> {
    type Value = Item;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an item")
    }
    refuse!(Self::must: bool, numbers, str, null, list);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
        let mut seen = [false; 9];
        let mut at = None;
        let mut f = Fields::default();
        while let Some(pos) = map.next_key_seed(FieldName)? {
            let key = FIELDS.get(pos).copied().unwrap_or_default();
            // The last of two would win silently: refuse instead.
            if let Some(s) = seen.get_mut(pos) {
                if *s {
                    return Err(ours(format!("the field `{key}` is given twice")));
                }
                *s = true;
            }
            match pos {
                0 => at = Some(map.next_value_seed(AtField)?),
                1 => f.origin = Some(map.next_value_seed(StrField("`origin` must be a string,"))?),
                2 => {
                    f.request = Some(map.next_value_seed(StrField("`request` must be a string,"))?)
                }
                3 => f.client = Some(map.next_value_seed(StrField("`client` must be a string,"))?),
                4 => f.user_data = Some(map.next_value_seed(UserDataField)?),
                5 => f.keys = Some(map.next_value_seed(KeysField)?),
                6 => f.expect = Some(map.next_value_seed(StrField("`expect` must be a string,"))?),
                8 => f.frame = Some(map.next_value_seed(StrField("`frame` must be a string,"))?),
                _ => {
                    let e: E = map.next_value()?;
                    f.event =
                        Some(e.into_object_text().map_err(|kind| {
                            ours(format!("`event` must be an object, not {kind}"))
                        })?);
                }
            }
        }
        build_item(self.index, self.line, at, f).map_err(ours)
    }
}

/// The fields of an item as read, before the checks that span fields.
#[derive(Default)]
struct Fields {
    origin: Option<String>,
    request: Option<String>,
    client: Option<String>,
    user_data: Option<Vec<String>>,
    keys: Option<Vec<String>>,
    expect: Option<String>,
    event: Option<Box<str>>,
    frame: Option<String>,
}

/// The item from its fields, with the checks that span fields.
fn build_item(
    index: usize,
    line: Option<usize>,
    at: Option<Millis>,
    fields: Fields,
) -> Result<Item, String> {
    let Fields {
        origin,
        request,
        client,
        user_data,
        keys,
        expect,
        event,
        frame,
    } = fields;
    let at = at.ok_or("missing `at`")?;
    let expect = match expect {
        None => None,
        Some(s) => Some(Outcome::from_name(&s).ok_or_else(|| {
            let names: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
            format!("`expect` is `{s}`; it must be one of {}", names.join(", "))
        })?),
    };
    if let Some(event) = event {
        let present = [
            ("origin", origin.is_some()),
            ("request", request.is_some()),
            ("client", client.is_some()),
            ("userData", user_data.is_some()),
            ("keys", keys.is_some()),
            ("frame", frame.is_some()),
        ];
        if let Some((k, _)) = present.iter().find(|(_, p)| *p) {
            return Err(format!(
                "an event item has no `{k}`; requests and events are separate items"
            ));
        }
        return Ok(Item {
            index,
            line,
            at,
            kind: ItemKind::Event(event),
            expect,
        });
    }
    let origin = origin.ok_or("missing `origin`")?;
    let request = request.ok_or("missing `request`")?;
    let frame = match frame {
        None => Frame::Embedded,
        Some(f) => Frame::from_name(&f)
            .ok_or_else(|| format!("`frame` is `{f}`; it must be `embedded` or `tab`"))?,
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
        (r, Some(_), _) if r == DELETE_USER_DATA || attached_data(r).is_none() => {
            return Err(format!(
                "`{r}` carries no attached data; `userData` is for `{SET_USER_DATA}` and the requests that carry it ({})",
                CARRY_USER_DATA.join(", ")
            ));
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
            client: client.unwrap_or_else(|| "default".to_string()),
            user_data,
            keys,
            frame,
        }),
        expect,
    })
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

/// A JSON error as one of ours: the item's own problem, or a syntax error
/// with its column.
fn json_error(e: &serde_json::Error, index: Option<usize>, line: Option<usize>) -> ItemError {
    let text = e.to_string();
    match our_message(&text) {
        Some(message) => ItemError {
            index: index.filter(|_| !message.starts_with("the file")),
            line,
            message,
        },
        None => ItemError {
            index: None,
            line,
            message: format!(
                "invalid JSON at column {}: {}",
                e.column(),
                lower_first(&text)
            ),
        },
    }
}

/// Reads one JSON Lines line as an item.
fn json_line(index: usize, line_no: usize, text: &str) -> Result<Item, ItemError> {
    let mut d = serde_json::Deserializer::from_str(text);
    let item = ItemSeed::<Box<serde_json::value::RawValue>>::new(index, Some(line_no))
        .deserialize(&mut d)
        .and_then(|item| d.end().map(|()| item))
        .map_err(|e| json_error(&e, Some(index), Some(line_no)))?;
    Ok(item)
}

/// Items of a JSON array or a YAML list, collected by one visitor; `at`
/// counts the items read, so an error can name its item.
struct ListSeed<'c, E> {
    at: &'c Cell<usize>,
    event: std::marker::PhantomData<E>,
}

impl<E> ListSeed<'_, E> {
    fn must(&self) -> String {
        "the file must be a list of items,".to_string()
    }
}

impl<'de, E: EventText + de::Deserialize<'de>> DeserializeSeed<'de> for ListSeed<'_, E> {
    type Value = Vec<Item>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Vec<Item>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, E: EventText + de::Deserialize<'de>> Visitor<'de> for ListSeed<'_, E> {
    type Value = Vec<Item>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of items")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Item>, A::Error> {
        let mut items = Vec::new();
        loop {
            let index = items.len();
            self.at.set(index);
            match seq.next_element_seed(ItemSeed::<E>::new(index, None))? {
                Some(item) => items.push(item),
                None => return Ok(items),
            }
        }
    }
    fn visit_unit<X: de::Error>(self) -> Result<Vec<Item>, X> {
        // An empty YAML document.
        Ok(Vec::new())
    }
    fn visit_none<X: de::Error>(self) -> Result<Vec<Item>, X> {
        Ok(Vec::new())
    }
    refuse!(Self::must: bool, numbers, str, object);
}

/// Reads every item of a JSON array or YAML list, in file order (time order
/// is checked as they are replayed).
fn list_items(text: &str, format: RequestsFormat) -> Result<Vec<Item>, ItemError> {
    let at = Cell::new(0);
    match format {
        RequestsFormat::Yaml => {
            let d = serde_yaml_ng::Deserializer::from_str(text);
            ListSeed::<serde_json::Value> {
                at: &at,
                event: std::marker::PhantomData,
            }
            .deserialize(d)
            .map_err(|e| {
                let line = e.location().map(|l| l.line());
                let text = e.to_string();
                match our_message(&text) {
                    Some(message) => ItemError {
                        index: Some(at.get()).filter(|_| !message.starts_with("the file")),
                        line,
                        message,
                    },
                    None => {
                        let col = e
                            .location()
                            .map(|l| format!(" at column {}", l.column()))
                            .unwrap_or_default();
                        ItemError {
                            index: None,
                            line,
                            message: format!("invalid YAML{col}: {}", lower_first(&text)),
                        }
                    }
                }
            })
        }
        _ => {
            let mut d = serde_json::Deserializer::from_str(text);
            ListSeed::<Box<serde_json::value::RawValue>> {
                at: &at,
                event: std::marker::PhantomData,
            }
            .deserialize(&mut d)
            .and_then(|items| d.end().map(|()| items))
            .map_err(|e| json_error(&e, Some(at.get()), Some(e.line())))
        }
    }
}

/// Reads the items of a requests file held in memory.
pub fn parse_items(text: &str, format: RequestsFormat) -> Result<Vec<Item>, ItemError> {
    let text = text.trim_start_matches('\u{feff}');
    match format {
        RequestsFormat::JsonLines => {
            JsonLines::new(text.as_bytes(), u64::MAX).collect::<Result<Vec<_>, _>>()
        }
        _ => list_items(text, format),
    }
}

/// The items of JSON Lines read from a reader, one line at a time: a file
/// or a stream of any length is read in memory bounded by its longest line.
pub struct JsonLines<R> {
    reader: R,
    /// Lines longer than this are refused (the input size limit).
    max_line: u64,
    line: Vec<u8>,
    line_no: usize,
    index: usize,
    read: u64,
    failed: bool,
}

impl<R: BufRead> JsonLines<R> {
    /// Items from `reader`; a line longer than `max_line` bytes is an error.
    pub fn new(reader: R, max_line: u64) -> JsonLines<R> {
        JsonLines {
            reader,
            max_line,
            line: Vec::new(),
            line_no: 0,
            index: 0,
            read: 0,
            failed: false,
        }
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    fn fail(&mut self, line: Option<usize>, message: String) -> Option<Result<Item, ItemError>> {
        self.failed = true;
        Some(Err(ItemError {
            index: None,
            line,
            message,
        }))
    }
}

/// The item of one JSON Lines line (`Ok(None)` for a blank line), `body`
/// being the line without its end; `index` counts the items read.
fn line_item(
    index: &mut usize,
    line_no: usize,
    max_line: u64,
    body: &[u8],
) -> Result<Option<Item>, ItemError> {
    let fail = |message: String| ItemError {
        index: None,
        line: Some(line_no),
        message,
    };
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    if body.len() as u64 > max_line {
        return Err(fail(format!(
            "the line is longer than the limit of {max_line} bytes (`--max-input-bytes`)"
        )));
    }
    let body = if line_no == 1 {
        body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body)
    } else {
        body
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(fail("the line is not UTF-8 text".into()));
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let item = json_line(*index, line_no, text)?;
    *index += 1;
    Ok(Some(item))
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = Result<Item, ItemError>;

    fn next(&mut self) -> Option<Result<Item, ItemError>> {
        if self.failed {
            return None;
        }
        loop {
            self.line_no += 1;
            let buf = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) => return self.fail(Some(self.line_no), format!("cannot read: {e}")),
            };
            if buf.is_empty() {
                return None;
            }
            // A line inside the reader's buffer is read where it is, without
            // a copy; one that crosses the buffer's end is gathered first,
            // up to the limit.
            let result = if let Some(end) = memchr::memchr(b'\n', buf) {
                let r = line_item(
                    &mut self.index,
                    self.line_no,
                    self.max_line,
                    buf.get(..end).unwrap_or(&[]),
                );
                self.reader.consume(end + 1);
                self.read += end as u64 + 1;
                r
            } else {
                self.line.clear();
                let cap = self.max_line.saturating_add(2);
                let n = match std::io::Read::take(&mut self.reader, cap)
                    .read_until(b'\n', &mut self.line)
                {
                    Ok(n) => n,
                    Err(e) => {
                        return self.fail(Some(self.line_no), format!("cannot read: {e}"));
                    }
                };
                self.read += n as u64;
                let body = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
                line_item(&mut self.index, self.line_no, self.max_line, body)
            };
            match result {
                Ok(None) => continue,
                Ok(Some(item)) => return Some(Ok(item)),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// RFC 3339 in UTC, with milliseconds only when there are some; `None`
/// past the end of year 9999, which RFC 3339 cannot write.
pub fn format_time(t: Millis) -> Option<String> {
    if !(0..=MAX_MILLIS).contains(&t) {
        return None;
    }
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t) * 1_000_000)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
}

// ---------------------------------------------------------------------------
// Deciding

/// What happened to one item.
#[derive(Clone, Debug, PartialEq)]
pub struct Decided<'p> {
    /// The item's index.
    pub index: usize,
    /// When.
    pub at: Millis,
    /// The outcome.
    pub outcome: Outcome,
    /// Why.
    pub reason: Reason,
    /// The deciding entry.
    pub entry: Option<Entry<'p>>,
    /// The error result of a rate-limited request.
    pub result: Option<RateLimitResult>,
    /// End of the quarantine of a rate-limited or ignored request
    /// (`Some(None)`: forever), as RFC 3339.
    pub quarantine_until: Option<Option<String>>,
    /// Keys stripped from a write request.
    pub denied_keys: Vec<String>,
    /// The redacted event, as JSON text.
    pub event: Option<String>,
    /// Keys removed from the event.
    pub removed_keys: Vec<String>,
    /// The expected outcome when it differs from the actual one.
    pub mismatch: Option<Outcome>,
}

/// Decides one item. A store that fails (a fleet store out of reach that
/// fails closed) makes the request `deny` with `store-unavailable`.
pub fn decide<'p, S: CounterStore>(
    policy: &'p Policy,
    limiter: &RateLimiter<S>,
    item: &Item,
) -> Result<Decided<'p>, ItemError> {
    let mut d = Decided {
        index: item.index,
        at: item.at,
        outcome: Outcome::Allow,
        reason: Reason::Granted,
        entry: None,
        result: None,
        quarantine_until: None,
        denied_keys: Vec::new(),
        event: None,
        removed_keys: Vec::new(),
        mismatch: None,
    };
    let fail = |message: String| ItemError {
        index: Some(item.index),
        line: item.line,
        message,
    };
    match &item.kind {
        ItemKind::Event(event) => {
            let (text, removed) = policy.user_data().redact_json(event).map_err(|e| {
                fail(if e.message.starts_with("nested") {
                    format!("`event` is {}", e.message)
                } else {
                    format!("`event` is not JSON: {e}")
                })
            })?;
            d.event = Some(text);
            d.removed_keys = removed;
            d.outcome = Outcome::Redacted;
            d.reason = Reason::ReadAllowed;
        }
        ItemKind::Request(r) => request(policy, limiter, item.at, r, &mut d).map_err(fail)?,
    }
    d.mismatch = item.expect.filter(|x| *x != d.outcome);
    Ok(d)
}

fn request<'p, S: CounterStore>(
    policy: &'p Policy,
    limiter: &RateLimiter<S>,
    at: Millis,
    r: &RequestItem,
    e: &mut Decided<'p>,
) -> Result<(), String> {
    let d = policy.check_in(&r.origin, &r.request, r.frame);
    e.outcome = d.outcome;
    e.reason = d.reason;
    e.entry = d.entry;
    if !d.is_allowed() {
        return Ok(());
    }
    if let Some(keys) = r.user_data.as_ref().or(r.keys.as_ref()) {
        let split = policy
            .user_data()
            .split_write(keys.iter().map(String::as_str));
        e.denied_keys = split.denied.iter().map(|k| k.to_string()).collect();
        if split.denies(&r.request) {
            e.outcome = Outcome::Deny;
            e.reason = Reason::NoWritableKeys;
            return Ok(());
        }
    }
    let until = |t: Option<Millis>| {
        match t {
        None => Ok(None),
        Some(t) => format_time(t).map(Some).ok_or_else(|| {
            "the quarantine would end after 9999-12-31T23:59:59.999Z, which a report cannot write; give `at` earlier".to_string()
        }),
    }
    };
    match limiter.admit_at(&r.client, &r.request, at) {
        Err(_) => {
            e.outcome = Outcome::Deny;
            e.reason = Reason::StoreUnavailable;
        }
        Ok(Admission::Admitted) => {}
        Ok(Admission::Limited { until: t }) => {
            e.quarantine_until = Some(until(t)?);
            e.outcome = Outcome::RateLimited;
            e.reason = Reason::RateLimit;
            e.result = Some(RateLimitResult::new(
                &r.request,
                policy.rate_limits().quarantine,
            ));
        }
        Ok(Admission::Ignored { until: t }) => {
            e.quarantine_until = Some(until(t)?);
            e.outcome = Outcome::Ignored;
            e.reason = Reason::Quarantine;
        }
    }
    Ok(())
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
    /// Counts one more item.
    pub fn add(&mut self, d: &Decided<'_>) {
        if let Some(slot) = Outcome::ALL
            .iter()
            .position(|o| *o == d.outcome)
            .and_then(|i| self.outcomes.get_mut(i))
        {
            *slot += 1;
        }
        self.mismatches += usize::from(d.mismatch.is_some());
    }

    /// How many items were decided.
    pub fn items(&self) -> usize {
        self.outcomes.iter().sum()
    }
}

// ---------------------------------------------------------------------------
// Reports

/// How [`run`] writes its report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// A table, one row per item, then the counts (`scapi eval`).
    Human,
    /// The document of `grammar/eval.schema.json`, streamed.
    Json,
}

/// Why [`run`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The requests file cannot be evaluated from this item on; what was
    /// decided before it has been written.
    #[error("{0}")]
    Items(#[from] ItemError),
    /// Writing the report failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Replays items through the policy and a rate limiter and streams the
/// report: each decision is written as it is made, so a million requests
/// are never held at once. Items must be in time order. `progress` is told
/// how many items are done, now and then.
pub fn run<S: CounterStore>(
    policy: &Policy,
    limiter: &RateLimiter<S>,
    items: impl IntoIterator<Item = Result<Item, ItemError>>,
    report: ReportFormat,
    out: &mut impl Write,
    progress: &mut dyn FnMut(usize),
) -> Result<Summary, RunError> {
    let mut printer: Box<dyn Printer + '_> = match report {
        ReportFormat::Json => Box::new(JsonPrinter::new(out)?),
        ReportFormat::Human => Box::new(HumanPrinter::new(out)),
    };
    let mut summary = Summary::default();
    let mut previous: Option<Millis> = None;
    for item in items {
        let item = match item {
            Ok(item) => item,
            Err(e) => {
                printer.abort()?;
                return Err(e.into());
            }
        };
        if let Some(p) = previous
            && item.at < p
        {
            printer.abort()?;
            return Err(ItemError {
                index: Some(item.index),
                line: item.line,
                message: format!(
                    "`at` is {}, earlier than the item before ({}); items must be in time order",
                    format_time(item.at).unwrap_or_default(),
                    format_time(p).unwrap_or_default()
                ),
            }
            .into());
        }
        previous = Some(item.at);
        let decided = match decide(policy, limiter, &item) {
            Ok(d) => d,
            Err(e) => {
                printer.abort()?;
                return Err(e.into());
            }
        };
        summary.add(&decided);
        printer.decision(&item, &decided)?;
        if summary.items() % 4096 == 0 {
            progress(summary.items());
        }
    }
    progress(summary.items());
    printer.finish(&summary)?;
    Ok(summary)
}

/// [`run`] over a requests file held in memory, with a fresh in-memory
/// limiter and the items' own times.
pub fn run_text(
    policy: &Policy,
    text: &str,
    format: RequestsFormat,
    report: ReportFormat,
    out: &mut impl Write,
) -> Result<Summary, RunError> {
    let limiter = fresh_limiter(policy);
    let text = text.trim_start_matches('\u{feff}');
    let items: Box<dyn Iterator<Item = Result<Item, ItemError>>> = match format {
        RequestsFormat::JsonLines => Box::new(JsonLines::new(text.as_bytes(), u64::MAX)),
        _ => match list_items(text, format) {
            Ok(items) => Box::new(items.into_iter().map(Ok)),
            Err(e) => Box::new(std::iter::once(Err(e))),
        },
    };
    run(policy, &limiter, items, report, out, &mut |_| {})
}

/// [`run`] over items already read, with a fresh in-memory limiter; the
/// report as a string.
pub fn report(
    policy: &Policy,
    items: &[Item],
    report: ReportFormat,
) -> Result<(String, Summary), RunError> {
    let limiter = fresh_limiter(policy);
    let mut out = Vec::new();
    let summary = run(
        policy,
        &limiter,
        items.iter().cloned().map(Ok),
        report,
        &mut out,
        &mut |_| {},
    )?;
    Ok((String::from_utf8_lossy(&out).into_owned(), summary))
}

/// An in-memory limiter for a replay: every item gives its own time.
pub fn fresh_limiter(policy: &Policy) -> RateLimiter<MemoryStore<ManualClock>> {
    RateLimiter::with_store(
        policy.rate_limits().clone(),
        MemoryStore::with_clock(ManualClock::default()),
    )
}

/// A report being written, decision by decision.
trait Printer {
    fn decision(&mut self, item: &Item, d: &Decided<'_>) -> std::io::Result<()>;
    fn finish(&mut self, summary: &Summary) -> std::io::Result<()>;
    /// The run stops early. A report not yet begun on the output is
    /// dropped, so a bad file found early prints nothing; one that has
    /// begun is written out to where it stopped.
    fn abort(&mut self) -> std::io::Result<()>;
}

/// Flush the buffer to the output when it holds this much.
const FLUSH_AT: usize = 60 * 1024;

/// The JSON report, printed as `jsonfmt` lays documents out.
struct JsonPrinter<'w, W: Write> {
    out: &'w mut W,
    buf: Vec<u8>,
    depth: usize,
    first: bool,
    /// Whether some of the report is on the output already.
    begun: bool,
}

/// The report document with no decisions: its text around the array.
fn document(summary: &Summary) -> serde_json::Value {
    let mut s = serde_json::Map::new();
    for (o, n) in Outcome::ALL.iter().zip(summary.outcomes) {
        s.insert(o.as_str().to_string(), n.into());
    }
    s.insert("expectMismatches".into(), summary.mismatches.into());
    serde_json::json!({"schemaVersion": 1, "decisions": [], "summary": s})
}

fn split(summary: &Summary) -> std::io::Result<scapi_policy::jsonfmt::Split> {
    scapi_policy::jsonfmt::Split::of(&document(summary), "/decisions")
        .ok_or_else(|| std::io::Error::other("the eval document has no decisions"))
}

impl<'w, W: Write> JsonPrinter<'w, W> {
    fn new(out: &'w mut W) -> std::io::Result<JsonPrinter<'w, W>> {
        let head = split(&Summary::default())?;
        let mut buf = Vec::with_capacity(64 * 1024);
        buf.extend_from_slice(head.head.as_bytes());
        Ok(JsonPrinter {
            out,
            buf,
            depth: head.depth,
            first: true,
            begun: false,
        })
    }
}

impl<W: Write> Printer for JsonPrinter<'_, W> {
    fn decision(&mut self, _: &Item, d: &Decided<'_>) -> std::io::Result<()> {
        self.buf
            .extend_from_slice(if self.first { b"[\n" } else { b",\n" });
        self.first = false;
        scapi_policy::jsonfmt::push_pad(&mut self.buf, self.depth + 1);
        push_decision(&mut self.buf, d, self.depth + 1);
        if self.buf.len() >= FLUSH_AT {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
            self.begun = true;
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> std::io::Result<()> {
        if self.first {
            self.buf.extend_from_slice(b"[]");
        } else {
            self.buf.push(b'\n');
            scapi_policy::jsonfmt::push_pad(&mut self.buf, self.depth);
            self.buf.push(b']');
        }
        self.buf.extend_from_slice(split(summary)?.tail.as_bytes());
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }

    fn abort(&mut self) -> std::io::Result<()> {
        if self.begun {
            self.out.write_all(&self.buf)?;
        }
        self.buf.clear();
        self.out.flush()
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
            Scalar::Str(s) => scapi_policy::jsonfmt::json_len(s),
        }
    }

    fn push(self, out: &mut Vec<u8>) {
        match self {
            Scalar::Null => out.extend_from_slice(b"null"),
            Scalar::Num(n) => {
                let _ = write!(out, "{n}");
            }
            Scalar::Str(s) => scapi_policy::jsonfmt::push_json_str(out, s),
        }
    }
}

/// An object of scalars, laid out as `jsonfmt` lays it out: on one line
/// when short, else one field per line.
fn push_scalar_object(out: &mut Vec<u8>, fields: &[(&str, Scalar<'_>)], depth: usize) {
    let inline: usize = fields.iter().map(|(k, v)| k.len() + v.len() + 6).sum();
    if fields.is_empty() {
        out.extend_from_slice(b"{}");
    } else if inline <= scapi_policy::jsonfmt::INLINE_MAX {
        out.push(b'{');
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            scapi_policy::jsonfmt::push_json_str(out, k);
            out.extend_from_slice(b": ");
            v.push(out);
        }
        out.push(b'}');
    } else {
        out.extend_from_slice(b"{\n");
        for (i, (k, v)) in fields.iter().enumerate() {
            scapi_policy::jsonfmt::push_pad(out, depth + 1);
            scapi_policy::jsonfmt::push_json_str(out, k);
            out.extend_from_slice(b": ");
            v.push(out);
            out.extend_from_slice(if i + 1 < fields.len() { b",\n" } else { b"\n" });
        }
        scapi_policy::jsonfmt::push_pad(out, depth);
        out.push(b'}');
    }
}

/// One decision of the JSON report, laid out as `jsonfmt` lays documents
/// out: on one line when all its fields are short scalars, else one field
/// per line; the event's JSON text is re-laid out without changing a
/// scalar of it.
fn push_decision(out: &mut Vec<u8>, d: &Decided<'_>, depth: usize) {
    let until = d.quarantine_until.as_ref().map(Option::as_deref);
    let mut head: Vec<(&str, Scalar<'_>)> = vec![
        ("index", Scalar::Num(d.index)),
        ("outcome", Scalar::Str(d.outcome.as_str())),
        ("reason", Scalar::Str(d.reason.as_str())),
    ];
    let simple =
        d.entry.is_none() && d.result.is_none() && d.denied_keys.is_empty() && d.event.is_none();
    if simple {
        head.push(("entry", Scalar::Null));
        if let Some(u) = until {
            head.push(("quarantineUntil", u.map_or(Scalar::Null, Scalar::Str)));
        }
        if let Some(x) = d.mismatch {
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
        scapi_policy::jsonfmt::push_pad(out, depth + 1);
        scapi_policy::jsonfmt::push_json_str(out, key);
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
        Some(e) => push_scalar_object(
            out,
            &[
                ("origin", Scalar::Str(e.origin)),
                ("line", Scalar::Num(e.line)),
            ],
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
    if let Some(u) = until {
        field(out, "quarantineUntil", false);
        u.map_or(Scalar::Null, Scalar::Str).push(out);
    }
    if !d.denied_keys.is_empty() {
        field(out, "deniedKeys", false);
        push_string_array(out, &d.denied_keys);
    }
    if let Some(ev) = &d.event {
        field(out, "event", false);
        scapi_policy::jsonfmt::push_raw(out, ev, depth + 1);
        field(out, "removedKeys", false);
        push_string_array(out, &d.removed_keys);
    }
    if let Some(x) = d.mismatch {
        field(out, "expected", false);
        Scalar::Str(x.as_str()).push(out);
    }
    out.push(b'\n');
    scapi_policy::jsonfmt::push_pad(out, depth);
    out.push(b'}');
}

fn push_string_array(out: &mut Vec<u8>, items: &[String]) {
    out.push(b'[');
    for (i, k) in items.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        scapi_policy::jsonfmt::push_json_str(out, k);
    }
    out.push(b']');
}

/// The widest a cell of the human table gets, in characters.
const CELL_MAX: usize = 64;

/// Rows held to size the table's columns; later rows use those widths (a
/// wider cell pushes its row, nothing is cut beyond [`CELL_MAX`]).
const SIZING_ROWS: usize = 256;

/// Lines of answered results and of unmet expectations listed after the
/// table; the rest are counted.
const LISTED: usize = 100;

/// The human table, streamed: the first rows size the columns.
struct HumanPrinter<'w, W: Write> {
    out: &'w mut W,
    buf: Vec<u8>,
    rows: Vec<[String; 8]>,
    widths: Option<[usize; 8]>,
    answered: Vec<String>,
    mismatches: Vec<String>,
    more_answered: usize,
    more_mismatches: usize,
    /// Whether some of the report is on the output already.
    begun: bool,
}

const HEADER: [&str; 8] = [
    "#", "TIME", "CLIENT", "ORIGIN", "REQUEST", "OUTCOME", "REASON", "ENTRY",
];

impl<'w, W: Write> HumanPrinter<'w, W> {
    fn new(out: &'w mut W) -> HumanPrinter<'w, W> {
        HumanPrinter {
            out,
            buf: Vec::with_capacity(64 * 1024),
            rows: vec![HEADER.map(String::from)],
            widths: None,
            answered: Vec::new(),
            mismatches: Vec::new(),
            more_answered: 0,
            more_mismatches: 0,
            begun: false,
        }
    }

    fn push_row(buf: &mut Vec<u8>, row: &[String; 8], widths: &[usize; 8]) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            let pad = w.saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', pad));
        }
        buf.extend_from_slice(line.trim_end().as_bytes());
        buf.push(b'\n');
    }

    /// Sizes the columns from the rows held and writes them.
    fn size_columns(&mut self) {
        let mut widths = [0usize; 8];
        for r in &self.rows {
            for (w, cell) in widths.iter_mut().zip(r) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for r in std::mem::take(&mut self.rows) {
            Self::push_row(&mut self.buf, &r, &widths);
        }
        self.widths = Some(widths);
    }

    fn flush_buf(&mut self) -> std::io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.begun = true;
        Ok(())
    }
}

/// One row of the table.
fn row(item: &Item, d: &Decided<'_>) -> [String; 8] {
    let (client, origin, request) = match &item.kind {
        ItemKind::Request(r) => (r.client.as_str(), r.origin.as_str(), r.request.clone()),
        ItemKind::Event(ev) => {
            let kind = serde_json::from_str::<serde_json::Value>(ev)
                .ok()
                .and_then(|v| {
                    v.pointer("/data/eventType")
                        .and_then(|t| t.as_str())
                        .map(String::from)
                })
                .unwrap_or_else(|| "notification".into());
            ("", "", format!("event {kind}"))
        }
    };
    let mut reason = d.reason.as_str().to_string();
    if !d.denied_keys.is_empty() {
        reason.push_str(&format!(" (stripped {})", d.denied_keys.join(", ")));
    }
    if d.outcome == Outcome::Redacted {
        reason = if d.removed_keys.is_empty() {
            "nothing removed".into()
        } else {
            format!("removed {}", d.removed_keys.join(", "))
        };
    }
    if let Some(until) = &d.quarantine_until {
        reason.push_str(&match until {
            Some(t) => format!(" until {t}"),
            None => " forever".into(),
        });
    }
    // `origin:9` would read as a port.
    let entry = d.entry.map_or("-".to_string(), |e| {
        format!("{} (line {})", e.origin, e.line)
    });
    let outcome = match d.mismatch {
        Some(_) => format!("{} ≠", d.outcome),
        None => d.outcome.to_string(),
    };
    // Untrusted text is shown escaped and cut: a control character must
    // not drive the terminal, and one long origin must not widen every
    // row (`--format json` has every value in full).
    let cell = |s: &str| crate::render::clip(&crate::render::exact(s), CELL_MAX).into_owned();
    [
        d.index.to_string(),
        format_time(d.at).unwrap_or_default(),
        cell(client),
        cell(origin),
        cell(&request),
        outcome,
        // Whole: the keys it names are the point of the row.
        crate::render::exact(&reason).into_owned(),
        cell(&entry),
    ]
}

impl<W: Write> Printer for HumanPrinter<'_, W> {
    fn decision(&mut self, item: &Item, d: &Decided<'_>) -> std::io::Result<()> {
        let r = row(item, d);
        match &self.widths {
            Some(w) => {
                let w = *w;
                Self::push_row(&mut self.buf, &r, &w);
            }
            None => {
                self.rows.push(r);
                if self.rows.len() > SIZING_ROWS {
                    self.size_columns();
                }
            }
        }
        if let Some(res) = &d.result {
            if self.answered.len() < LISTED {
                self.answered.push(format!(
                    "item {} answered: {}\n",
                    d.index,
                    crate::render::exact(&res.to_json())
                ));
            } else {
                self.more_answered += 1;
            }
        }
        if let Some(expected) = d.mismatch {
            if self.mismatches.len() < LISTED {
                self.mismatches.push(format!(
                    "item {}: expected {expected}, got {} ({})\n",
                    d.index, d.outcome, d.reason
                ));
            } else {
                self.more_mismatches += 1;
            }
        }
        if self.buf.len() >= FLUSH_AT {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> std::io::Result<()> {
        if self.widths.is_none() {
            self.size_columns();
        }
        let n = summary.items();
        let counts: Vec<String> = Outcome::ALL
            .iter()
            .zip(summary.outcomes)
            .filter(|(_, n)| *n > 0)
            .map(|(o, n)| format!("{n} {o}"))
            .collect();
        let mut tail = format!("\n{n} item{}", if n == 1 { "" } else { "s" });
        if !counts.is_empty() {
            tail.push_str(&format!(": {}", counts.join(", ")));
        }
        tail.push('\n');
        for a in &self.answered {
            tail.push_str(a);
        }
        if self.more_answered > 0 {
            tail.push_str(&format!(
                "… and {} more rate-limited items (see `--format json`)\n",
                self.more_answered
            ));
        }
        for m in &self.mismatches {
            tail.push_str(m);
        }
        if self.more_mismatches > 0 {
            tail.push_str(&format!(
                "… and {} more unmet expectations (see `--format json`)\n",
                self.more_mismatches
            ));
        }
        if summary.mismatches > 0 {
            tail.push_str(&format!(
                "{} expectation{} not met\n",
                summary.mismatches,
                if summary.mismatches == 1 { "" } else { "s" }
            ));
        }
        self.buf.extend_from_slice(tail.as_bytes());
        self.flush_buf()?;
        self.out.flush()
    }

    fn abort(&mut self) -> std::io::Result<()> {
        if self.begun {
            self.flush_buf()?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<Item, String> {
        json_line(3, 7, line).map_err(|e| e.message)
    }

    #[test]
    fn items_are_read_field_by_field() {
        let item = one(r#"{"at": 1795168800.5, "origin": "https://a.example", "request": "agent.get", "client": "c", "expect": "deny"}"#).unwrap();
        assert_eq!(item.at, 1_795_168_800_500);
        assert_eq!(item.expect, Some(Outcome::Deny));
        let ItemKind::Request(r) = item.kind else {
            panic!("a request")
        };
        assert_eq!(
            (r.origin.as_str(), r.client.as_str()),
            ("https://a.example", "c")
        );
        for (line, message) in [
            (
                r#"{"at": 1, "origin": "o", "request": "r", "client": null}"#,
                "`client` must be a string, not null",
            ),
            (
                r#"{"at": 1, "origin": "o", "request": "r", "expect": "maybe"}"#,
                "`expect` is `maybe`; it must be one of allow, deny, rate-limited, ignored, redacted",
            ),
            (
                r#"{"at": -1, "origin": "o", "request": "r"}"#,
                "`at` is -1, outside 0 .. 253402300799 seconds",
            ),
            (
                r#"{"at": 1, "origin": "o", "request": "r", "at": 2}"#,
                "the field `at` is given twice",
            ),
            (
                r#"{"at": 1, "origin": "o", "request": "agent.get", "request": "auth.getJwtToken"}"#,
                "the field `request` is given twice",
            ),
            (
                r#"{"at": 1, "origin": "o", "request": "r", "extra": 1}"#,
                "unknown field `extra`; the fields are at, origin, request, client, userData, keys, expect, event, frame",
            ),
            (
                r#"{"at": 1, "origin": "o", "request": "interaction.setUserData"}"#,
                "`interaction.setUserData` needs `userData`, the map it writes",
            ),
            (
                r#"{"at": 1, "origin": 5, "request": "r"}"#,
                "`origin` must be a string, not a number",
            ),
            (r#"{"at": 1, "request": "r"}"#, "missing `origin`"),
            (
                r#"{"at": 1, "event": [1]}"#,
                "`event` must be an object, not a list",
            ),
            (
                r#"{"at": 1, "origin": "o", "request": "interaction.setUserData", "userData": {"a": 1, "a": 2}}"#,
                "`userData` has the key `a` twice",
            ),
            (r#"[1]"#, "an item must be an object, not a list"),
        ] {
            assert_eq!(one(line).unwrap_err(), message, "{line}");
        }
    }

    #[test]
    fn lines_across_the_reader_buffer_read_alike() {
        let text = "{\"at\": 1, \"origin\": \"https://a.example\", \"request\": \"agent.get\"}\r\n\n\u{feff}{\"at\": 2, \"origin\": \"o\", \"request\": \"voice.dial\", \"client\": \"c\"}";
        let whole: Vec<_> = JsonLines::new(text.as_bytes(), 1000).collect();
        for cap in [1, 7, 16, 64] {
            let small = std::io::BufReader::with_capacity(cap, text.as_bytes());
            let pieces: Vec<_> = JsonLines::new(small, 1000).collect();
            assert_eq!(pieces, whole, "{cap}");
        }
        assert_eq!(whole.len(), 2);
        // A line over the limit is refused, wherever it ends.
        let long = JsonLines::new(std::io::BufReader::with_capacity(8, text.as_bytes()), 20)
            .next()
            .unwrap()
            .unwrap_err();
        assert!(
            long.message.contains("longer than the limit of 20 bytes"),
            "{long}"
        );
    }

    #[test]
    fn formats_are_detected() {
        assert_eq!(
            RequestsFormat::detect("r.json", b"[]"),
            RequestsFormat::Json
        );
        assert_eq!(
            RequestsFormat::detect("r.jsonl", b"{}"),
            RequestsFormat::JsonLines
        );
        assert_eq!(
            RequestsFormat::detect("r", b" {\"at\": 1}\n"),
            RequestsFormat::JsonLines
        );
        assert_eq!(
            RequestsFormat::detect("r.yaml", b"- at: 1"),
            RequestsFormat::Yaml
        );
        assert_eq!(
            RequestsFormat::detect("r", b"- at: 1"),
            RequestsFormat::Yaml
        );
    }

    #[test]
    fn times() {
        let at = |v: &str| {
            one(&format!(r#"{{"at": {v}, "origin": "o", "request": "r"}}"#)).map(|i| i.at)
        };
        assert_eq!(at("\"2026-11-20T10:00:05Z\""), Ok(1_795_168_805_000));
        assert_eq!(at("\"2026-11-20T11:00:05+01:00\""), Ok(1_795_168_805_000));
        assert_eq!(at("1.5"), Ok(1500));
        assert!(at("\"yesterday\"").is_err());
        assert_eq!(
            format_time(1_795_168_805_000).as_deref(),
            Some("2026-11-20T10:00:05Z")
        );
        assert_eq!(
            format_time(1_795_168_805_250).as_deref(),
            Some("2026-11-20T10:00:05.25Z")
        );
        assert_eq!(
            format_time(MAX_MILLIS).as_deref(),
            Some("9999-12-31T23:59:59.999Z")
        );
        assert_eq!(format_time(MAX_MILLIS + 1), None);
        let nan = parse_items(
            "- {at: .nan, origin: o, request: r}\n",
            RequestsFormat::Yaml,
        );
        assert_eq!(
            nan.unwrap_err().message,
            "`at` is `NaN`, not a finite number of seconds"
        );
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
            e("{\"at\": 1, \"origin\": \"o\", \"request\": \"a.b\""),
            "line 1: invalid JSON at column 41: EOF while parsing an object"
        );
        let j = |t: &str| {
            parse_items(t, RequestsFormat::Json)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            j(
                "[{\"at\": 1, \"origin\": \"o\", \"request\": \"a.b\"},\n {\"at\": 2, \"request\": \"x\", \"request\": \"y\"}]"
            ),
            "item 1 (line 2): the field `request` is given twice"
        );
        assert_eq!(
            j("{}"),
            "line 1: the file must be a list of items, not an object"
        );
        let y = |t: &str| {
            parse_items(t, RequestsFormat::Yaml)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            y("- at: 1\n  origin: o\n  request: r\n  request: s\n"),
            "item 0 (line 1): the field `request` is given twice"
        );
        let unterminated = y("- at: \"1\n");
        assert!(unterminated.contains("invalid YAML"), "{unterminated}");
    }
}
