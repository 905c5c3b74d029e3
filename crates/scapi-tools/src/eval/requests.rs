//! Reading requests files: one visitor for every format.

use scapi_policy::decision::{Frame, Outcome};
use scapi_policy::limiter::Millis;
use scapi_policy::userdata::{CARRY_USER_DATA, DELETE_USER_DATA, SET_USER_DATA, attached_data};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::cell::Cell;
use std::fmt;
use std::io::BufRead;
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
    /// From this item on, the policy at this path (relative to the
    /// requests file) is the active one: a reload, counters kept.
    Policy(String),
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
    "at", "origin", "request", "client", "userData", "keys", "expect", "event", "frame", "policy",
];

/// What a problem of the requests file spoils: one item, or the file
/// (not a list at all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    Item,
    File,
}

/// A problem of the requests file found by one of scapi's own visitors.
#[derive(Debug)]
struct Problem {
    scope: Scope,
    message: String,
}

thread_local! {
    /// Serde carries a visitor's error to the caller only as the parser's
    /// error type, whose text adds a position. So the visitor leaves its
    /// [`Problem`] here as well (a parse runs on one thread, and each
    /// parse starts with none), and the caller takes it back, typed, when
    /// the parse fails; a syntax error of the parser leaves none.
    static PROBLEM: Cell<Option<Problem>> = const { Cell::new(None) };
}

/// The parser's error for a problem of `scope`, the problem kept for the
/// caller.
fn problem<E: de::Error>(scope: Scope, message: impl fmt::Display) -> E {
    let message = message.to_string();
    let error = E::custom(&message);
    PROBLEM.with(|p| p.set(Some(Problem { scope, message })));
    error
}

/// The parser's error for a problem of the item being read.
fn ours<E: de::Error>(message: impl fmt::Display) -> E {
    problem(Scope::Item, message)
}

/// The problem a visitor left, if any (and none left behind).
fn take_problem() -> Option<Problem> {
    PROBLEM.with(Cell::take)
}

/// Visitor methods that refuse what came, saying in scapi's words what the
/// value must be (`$must`) and what it is: `bool`, `numbers`, `str`,
/// `null` (and a missing YAML value), `list`, `object`.
macro_rules! refuse {
    ($scope:ident, $must:path: $($kind:ident),+) => { $(refuse!(@$kind $scope $must);)+ };
    (@bool $scope:ident $must:path) => {
        fn visit_bool<X: de::Error>(self, _: bool) -> Result<Self::Value, X> {
            Err(problem(Scope::$scope, format!("{} not a boolean", $must(&self))))
        }
    };
    (@numbers $scope:ident $must:path) => {
        fn visit_i64<X: de::Error>(self, _: i64) -> Result<Self::Value, X> {
            Err(problem(Scope::$scope, format!("{} not a number", $must(&self))))
        }
        fn visit_u64<X: de::Error>(self, _: u64) -> Result<Self::Value, X> {
            Err(problem(Scope::$scope, format!("{} not a number", $must(&self))))
        }
        fn visit_f64<X: de::Error>(self, _: f64) -> Result<Self::Value, X> {
            Err(problem(Scope::$scope, format!("{} not a number", $must(&self))))
        }
    };
    (@str $scope:ident $must:path) => {
        fn visit_str<X: de::Error>(self, _: &str) -> Result<Self::Value, X> {
            Err(problem(Scope::$scope, format!("{} not a string", $must(&self))))
        }
    };
    (@null $scope:ident $must:path) => {
        fn visit_unit<X: de::Error>(self) -> Result<Self::Value, X> {
            Err(problem(Scope::$scope, format!("{} not null", $must(&self))))
        }
        fn visit_none<X: de::Error>(self) -> Result<Self::Value, X> {
            self.visit_unit()
        }
    };
    (@list $scope:ident $must:path) => {
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(problem(Scope::$scope, format!("{} not a list", $must(&self))))
        }
    };
    (@object $scope:ident $must:path) => {
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(problem(Scope::$scope, format!("{} not an object", $must(&self))))
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
    refuse!(Item, Self::must: bool, numbers, null, list, object);
}

/// `at`: an RFC 3339 time or a number of seconds.
struct AtField;

impl AtField {
    fn must(&self) -> String {
        "`at` must be an RFC 3339 time or a number of seconds,".to_string()
    }
}

/// Latest time `at` may be (the end of year 9999), so it can be printed.
pub(super) const MAX_MILLIS: Millis = 253_402_300_799_999;

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
    refuse!(Item, Self::must: bool, null, list, object);
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
    refuse!(Item, Self::must: bool, numbers, str, null, list);
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
    refuse!(Item, Self::must: bool, numbers, str, null, object);
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
    refuse!(Item, Self::must: bool, numbers, str, null, list);

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
        let mut seen = [false; 10];
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
                9 => f.policy = Some(map.next_value_seed(StrField("`policy` must be a string,"))?),
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
    policy: Option<String>,
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
        policy,
    } = fields;
    let at = at.ok_or("missing `at`")?;
    // The first field of a request given, for the items that are not one.
    let request_field = [
        ("origin", origin.is_some()),
        ("request", request.is_some()),
        ("client", client.is_some()),
        ("userData", user_data.is_some()),
        ("keys", keys.is_some()),
        ("frame", frame.is_some()),
    ]
    .into_iter()
    .find_map(|(k, given)| given.then_some(k));
    if let Some(policy) = policy {
        let other = request_field
            .or(expect.is_some().then_some("expect"))
            .or(event.is_some().then_some("event"));
        if let Some(k) = other {
            return Err(format!(
                "a policy item has no `{k}`; it switches the policy, and requests are separate items"
            ));
        }
        if policy.is_empty() {
            return Err("`policy` is empty; name the compiled policy to switch to".into());
        }
        return Ok(Item {
            index,
            line,
            at,
            kind: ItemKind::Policy(policy),
            expect: None,
        });
    }
    let expect = match expect {
        None => None,
        Some(s) => Some(Outcome::from_name(&s).ok_or_else(|| {
            let names: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
            format!("`expect` is `{s}`; it must be one of {}", names.join(", "))
        })?),
    };
    if let Some(event) = event {
        if let Some(k) = request_field {
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
    match take_problem() {
        Some(p) => ItemError {
            index: index.filter(|_| p.scope == Scope::Item),
            line,
            message: p.message,
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
pub(super) fn json_line(index: usize, line_no: usize, text: &str) -> Result<Item, ItemError> {
    take_problem();
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
    refuse!(File, Self::must: bool, numbers, str, object);
}

/// Reads every item of a JSON array or YAML list, in file order (time order
/// is checked as they are replayed).
pub(super) fn list_items(text: &str, format: RequestsFormat) -> Result<Vec<Item>, ItemError> {
    take_problem();
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
                match take_problem() {
                    Some(p) => ItemError {
                        index: Some(at.get()).filter(|_| p.scope == Scope::Item),
                        line,
                        message: p.message,
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
pub(crate) fn format_time(t: Millis) -> Option<String> {
    if !(0..=MAX_MILLIS).contains(&t) {
        return None;
    }
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t) * 1_000_000)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
}
