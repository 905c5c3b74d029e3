//! JSON as text: redaction that changes nothing but the removed keys.
//!
//! A `serde_json::Value` keeps numbers as 64-bit integers or doubles, so an
//! event that goes through it comes back with `12345678901234567890123`
//! written `1.2345678901234568e22`. Brokers that forward events as text can
//! redact them here instead: the text is read token by token, the members
//! of every attached-data object (see [`crate::userdata`]) that
//! `read-allowed` does not list are cut out, and every other byte — numbers of any size and precision, key
//! order, string escapes, white space — is copied as it was.
//!
//! The reader is strict JSON (RFC 8259), iterative (no recursion on the
//! input's depth) and refuses nesting deeper than [`MAX_DEPTH`].

use crate::policy::KeySet;
use std::collections::BTreeSet;
use std::fmt;

/// How deep arrays and objects may nest (as deep as `serde_json` and
/// `serde_yaml_ng` read by default).
pub const MAX_DEPTH: usize = 128;
// The refusal says the number.
const _: () = assert!(MAX_DEPTH == 128);

#[doc(hidden)] // the readers' of the workspace
/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// `{`
    BeginObject,
    /// `}`
    EndObject,
    /// `[`
    BeginArray,
    /// `]`
    EndArray,
    /// `:`
    Colon,
    /// `,`
    Comma,
    /// A string literal, quotes included.
    String,
    /// A number, `true`, `false` or `null`.
    Scalar,
}

#[doc(hidden)] // the readers' of the workspace
/// A token and where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Its first byte.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
}

/// Why a text is not one JSON value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// The byte offset of the problem.
    pub offset: usize,
    /// What is wrong.
    pub message: &'static str,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.message, self.offset)
    }
}

impl std::error::Error for JsonError {}

fn err(offset: usize, message: &'static str) -> JsonError {
    JsonError { offset, message }
}

#[doc(hidden)] // the readers' of the workspace
/// The tokens of a text holding exactly one JSON value, checked: the
/// grammar, string escapes, and nesting up to [`MAX_DEPTH`].
pub fn tokens(text: &str) -> Result<Vec<Token>, JsonError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    // What each open container expects next.
    #[derive(Clone, Copy, PartialEq)]
    enum Expect {
        Value,
        /// A value or the end of an array just opened.
        ValueOrEnd,
        /// A key or the end of an object just opened.
        KeyOrEnd,
        Key,
        Colon,
        /// `,` or the end, after a member or element.
        CommaOrEnd,
    }
    let mut stack: Vec<u8> = Vec::new();
    let mut expect = Expect::Value;
    let mut done = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or(0);
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
            continue;
        }
        if done {
            return Err(err(i, "text after the JSON value"));
        }
        let start = i;
        let after_value = |stack: &[u8]| {
            if stack.is_empty() {
                (Expect::Value, true)
            } else {
                (Expect::CommaOrEnd, false)
            }
        };
        match (expect, b) {
            (Expect::Value | Expect::ValueOrEnd, b'{')
            | (Expect::Value | Expect::ValueOrEnd, b'[') => {
                if stack.len() >= MAX_DEPTH {
                    return Err(err(i, "nested more than 128 levels deep"));
                }
                stack.push(b);
                i += 1;
                out.push(Token {
                    kind: if b == b'{' {
                        TokenKind::BeginObject
                    } else {
                        TokenKind::BeginArray
                    },
                    start,
                    end: i,
                });
                expect = if b == b'{' {
                    Expect::KeyOrEnd
                } else {
                    Expect::ValueOrEnd
                };
            }
            (Expect::KeyOrEnd | Expect::CommaOrEnd, b'}')
            | (Expect::ValueOrEnd | Expect::CommaOrEnd, b']') => {
                let open = if b == b'}' { b'{' } else { b'[' };
                if stack.pop() != Some(open) {
                    return Err(err(i, "a bracket closes what it did not open"));
                }
                i += 1;
                out.push(Token {
                    kind: if b == b'}' {
                        TokenKind::EndObject
                    } else {
                        TokenKind::EndArray
                    },
                    start,
                    end: i,
                });
                (expect, done) = after_value(&stack);
            }
            (Expect::CommaOrEnd, b',') => {
                i += 1;
                out.push(Token {
                    kind: TokenKind::Comma,
                    start,
                    end: i,
                });
                expect = if stack.last() == Some(&b'{') {
                    Expect::Key
                } else {
                    Expect::Value
                };
            }
            (Expect::Colon, b':') => {
                i += 1;
                out.push(Token {
                    kind: TokenKind::Colon,
                    start,
                    end: i,
                });
                expect = Expect::Value;
            }
            (Expect::Key | Expect::KeyOrEnd | Expect::Value | Expect::ValueOrEnd, b'"') => {
                i = string_end(bytes, i)?;
                out.push(Token {
                    kind: TokenKind::String,
                    start,
                    end: i,
                });
                if matches!(expect, Expect::Key | Expect::KeyOrEnd) {
                    expect = Expect::Colon;
                } else {
                    (expect, done) = after_value(&stack);
                }
            }
            (Expect::Value | Expect::ValueOrEnd, b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                i = scalar_end(bytes, i)?;
                out.push(Token {
                    kind: TokenKind::Scalar,
                    start,
                    end: i,
                });
                (expect, done) = after_value(&stack);
            }
            _ => return Err(err(i, "unexpected character")),
        }
    }
    if !done {
        return Err(err(bytes.len(), "the JSON value is incomplete"));
    }
    Ok(out)
}

/// The end of the string literal starting at `start` (a `"`).
fn string_end(bytes: &[u8], start: usize) -> Result<usize, JsonError> {
    let mut i = start + 1;
    loop {
        match bytes.get(i).copied() {
            None => return Err(err(start, "unterminated string")),
            Some(b'"') => return Ok(i + 1),
            Some(b'\\') => match bytes.get(i + 1).copied() {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                Some(b'u') => {
                    let hex = bytes.get(i + 2..i + 6).unwrap_or(&[]);
                    if hex.len() != 4 || !hex.iter().all(u8::is_ascii_hexdigit) {
                        return Err(err(i, "invalid \\u escape"));
                    }
                    i += 6;
                }
                _ => return Err(err(i, "invalid escape")),
            },
            Some(c) if c < 0x20 => return Err(err(i, "control character in a string")),
            Some(_) => i += 1,
        }
    }
}

/// The end of the number or literal starting at `start`.
fn scalar_end(bytes: &[u8], start: usize) -> Result<usize, JsonError> {
    for lit in [&b"true"[..], b"false", b"null"] {
        if bytes.get(start..start + lit.len()) == Some(lit) {
            return end_of_token(bytes, start + lit.len());
        }
    }
    // number := "-"? ("0" | [1-9] DIGIT*) ("." DIGIT+)? ([eE] [+-]? DIGIT+)?
    let digits = |mut i: usize| {
        let from = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i, i > from)
    };
    let mut i = start;
    if bytes.get(i) == Some(&b'-') {
        i += 1;
    }
    match bytes.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(i).0,
        _ => return Err(err(start, "invalid number")),
    }
    if bytes.get(i) == Some(&b'.') {
        let (j, some) = digits(i + 1);
        if !some {
            return Err(err(start, "invalid number"));
        }
        i = j;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let (j, some) = digits(i);
        if !some {
            return Err(err(start, "invalid number"));
        }
        i = j;
    }
    end_of_token(bytes, i)
}

/// A scalar must be followed by a delimiter, not more letters or digits.
fn end_of_token(bytes: &[u8], i: usize) -> Result<usize, JsonError> {
    match bytes.get(i) {
        None | Some(b' ' | b'\t' | b'\n' | b'\r' | b',' | b']' | b'}' | b':') => Ok(i),
        Some(_) => Err(err(i, "invalid literal")),
    }
}

/// The text of a string literal (quotes included), escapes decoded. A
/// lone surrogate escape decodes to U+FFFD, as JavaScript would show it.
pub(crate) fn decode_string(literal: &str) -> String {
    let inner = literal
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(literal);
    if !inner.contains('\\') {
        return inner.to_string();
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    let mut pending_high: Option<u32> = None;
    let hex4 = |chars: &mut std::str::Chars<'_>| {
        let h: String = chars.by_ref().take(4).collect();
        u32::from_str_radix(&h, 16).unwrap_or(0xfffd)
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            if pending_high.take().is_some() {
                out.push('\u{fffd}');
            }
            out.push(c);
            continue;
        }
        let decoded = match chars.next() {
            Some('u') => {
                let u = hex4(&mut chars);
                match (pending_high.take(), u) {
                    (Some(hi), 0xdc00..=0xdfff) => {
                        char::from_u32(0x10000 + ((hi - 0xd800) << 10) + (u - 0xdc00))
                    }
                    (hi, 0xd800..=0xdbff) => {
                        if hi.is_some() {
                            out.push('\u{fffd}');
                        }
                        pending_high = Some(u);
                        continue;
                    }
                    (hi, u) => {
                        if hi.is_some() {
                            out.push('\u{fffd}');
                        }
                        char::from_u32(u)
                    }
                }
            }
            Some('b') => Some('\u{8}'),
            Some('f') => Some('\u{c}'),
            Some('n') => Some('\n'),
            Some('r') => Some('\r'),
            Some('t') => Some('\t'),
            Some(other) => Some(other),
            None => None,
        };
        if pending_high.take().is_some() {
            out.push('\u{fffd}');
        }
        out.push(decoded.unwrap_or('\u{fffd}'));
    }
    if pending_high.is_some() {
        out.push('\u{fffd}');
    }
    out
}

/// One member of an object being read: where its key starts and its value
/// ends, and whether it goes.
struct Member {
    start: usize,
    end: usize,
    remove: bool,
}

/// An open container, as redaction sees it.
enum Open {
    /// An attached-data object being filtered, with its members so far.
    Filtered(Vec<Member>),
    /// A `chainedRecords` list: its objects are attached data.
    Records,
    /// Anything else.
    Other,
}

/// Removes from `text` (one JSON value) the members of every attached-data
/// object (a `userData` object, a record of a `chainedRecords` list) whose
/// keys `readable` does not list; returns the text and the removed keys,
/// sorted and without repeats. Every other byte is kept.
pub fn redact(text: &str, readable: &KeySet) -> Result<(String, Vec<String>), JsonError> {
    let toks = tokens(text)?;
    let KeySet::Keys(readable) = readable else {
        return Ok((text.to_string(), Vec::new()));
    };
    // Per open container, and the key of the member being read.
    let mut stack: Vec<Open> = Vec::new();
    let mut last_key: Vec<Option<usize>> = Vec::new();
    // Byte ranges to cut, in order.
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    let mut removed = BTreeSet::new();
    let slice = |t: &Token| text.get(t.start..t.end).unwrap_or("");
    let mut i = 0;
    while let Some(t) = toks.get(i) {
        match t.kind {
            TokenKind::BeginObject | TokenKind::BeginArray => {
                // The member this container is the value of, if any.
                let key = last_key
                    .last()
                    .copied()
                    .flatten()
                    .and_then(|k| toks.get(k))
                    .map(|k| decode_string(slice(k)));
                // Records are the objects of a `chainedRecords` list, at any
                // depth of nested lists, or its value when it is one object
                // (redacting too much is safe, too little a leak).
                let in_records = matches!(stack.last(), Some(Open::Records));
                let key = key.as_deref();
                let attached = key == Some(crate::userdata::USER_DATA)
                    || key == Some(crate::userdata::CHAINED_RECORDS);
                let open = match t.kind {
                    TokenKind::BeginObject if in_records || attached => Open::Filtered(Vec::new()),
                    TokenKind::BeginArray
                        if in_records || key == Some(crate::userdata::CHAINED_RECORDS) =>
                    {
                        Open::Records
                    }
                    _ => Open::Other,
                };
                stack.push(open);
                last_key.push(None);
            }
            TokenKind::EndObject | TokenKind::EndArray => {
                if let Some(Open::Filtered(members)) = stack.pop() {
                    cut_members(&members, &mut cuts);
                }
                last_key.pop();
            }
            TokenKind::String
                if stack.last().is_some_and(|_| {
                    toks.get(i + 1).is_some_and(|n| n.kind == TokenKind::Colon)
                }) =>
            {
                // A key.
                if let Some(k) = last_key.last_mut() {
                    *k = Some(i);
                }
                if let Some(Open::Filtered(members)) = stack.last_mut() {
                    let key = decode_string(slice(t));
                    let remove = !readable.contains(&key);
                    if remove {
                        removed.insert(key);
                    }
                    members.push(Member {
                        start: t.start,
                        end: t.end,
                        remove,
                    });
                }
            }
            _ => {}
        }
        // A member's value ends where the next `,` or the object's `}` is:
        // record its end on the member just read.
        if let (Some(Open::Filtered(members)), Some(next)) = (stack.last_mut(), toks.get(i + 1))
            && matches!(next.kind, TokenKind::Comma | TokenKind::EndObject)
            && let Some(m) = members.last_mut()
        {
            m.end = t.end;
        }
        i += 1;
    }
    cuts.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in cuts {
        // A cut inside one already made (a removed member whose value holds
        // attached data of its own) is part of it: never write text twice.
        if start < at {
            at = at.max(end);
            continue;
        }
        out.push_str(text.get(at..start).unwrap_or(""));
        at = end;
    }
    out.push_str(text.get(at..).unwrap_or(""));
    Ok((out, removed.into_iter().collect()))
}

/// The byte ranges that remove the marked members of one object, each with
/// one separator: the one before it, or for a first member the one after
/// it, so that what is left reads `{"a": 1, "c": 3}` as it was spaced.
fn cut_members(members: &[Member], cuts: &mut Vec<(usize, usize)>) {
    // The first kept member, if any: members before it are cut up to its
    // start; members after it are cut from the end of the member before.
    let first_kept = members.iter().position(|m| !m.remove);
    for (i, m) in members.iter().enumerate() {
        if !m.remove {
            continue;
        }
        match first_kept {
            Some(k) if i < k => {
                let next = members.get(i + 1).map_or(m.end, |n| n.start);
                cuts.push((m.start, next));
            }
            Some(_) => {
                let prev = i
                    .checked_sub(1)
                    .and_then(|p| members.get(p))
                    .map_or(m.start, |p| p.end);
                cuts.push((prev, m.end));
            }
            // Everything goes: the members and what is between them.
            None => {
                let end = members.last().map_or(m.end, |l| l.end);
                if i == 0 {
                    cuts.push((m.start, end));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[&str]) -> KeySet {
        KeySet::Keys(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn redaction_keeps_every_other_byte() {
        let text = r#"{"n": 12345678901234567890123, "f": 1.50e+3, "data": {"interaction": {"userData": {"Secret": "x", "CaseId": "1", "Other": [1, {"a": 2}], "L": "\u0041"}, "z": -0.0}}}"#;
        let (out, removed) = redact(text, &keys(&["CaseId", "L"])).unwrap();
        assert_eq!(
            out,
            r#"{"n": 12345678901234567890123, "f": 1.50e+3, "data": {"interaction": {"userData": {"CaseId": "1", "L": "\u0041"}, "z": -0.0}}}"#
        );
        assert_eq!(removed, ["Other", "Secret"]);
        let (all, _) = redact(text, &KeySet::All).unwrap();
        assert_eq!(all, text);
    }

    #[test]
    fn separators_go_with_the_members() {
        let r = |t: &str, k: &[&str]| redact(t, &keys(k)).unwrap().0;
        assert_eq!(
            r(r#"{"userData":{"a":1,"b":2,"c":3}}"#, &["b"]),
            r#"{"userData":{"b":2}}"#
        );
        assert_eq!(
            r(r#"{"userData":{"a":1,"b":2,"c":3}}"#, &["a", "c"]),
            r#"{"userData":{"a":1,"c":3}}"#
        );
        assert_eq!(
            r(r#"{"userData": { "a": 1 , "b": 2 }}"#, &[]),
            r#"{"userData": {  }}"#
        );
        assert_eq!(
            r(r#"[{"userData":{}}, {"userData":{"x":1}}]"#, &["x"]),
            r#"[{"userData":{}}, {"userData":{"x":1}}]"#
        );
        // A removed member holding attached data of its own goes whole.
        assert_eq!(
            r(r#"{"userData":{"userData":{"x":1},"tail":"SECRET"}}"#, &[]),
            r#"{"userData":{}}"#
        );
        assert_eq!(
            r(
                r#"{"chainedRecords":[{"CaseId":"1","GSW_PHONE":[{"userData":{"x":1}},"+15551234567"]}]}"#,
                &["CaseId"]
            ),
            r#"{"chainedRecords":[{"CaseId":"1"}]}"#
        );
        // One record as an object, records in nested lists.
        assert_eq!(
            r(r#"{"chainedRecords": {"GSW_PHONE": "x", "K": 1}}"#, &["K"]),
            r#"{"chainedRecords": {"K": 1}}"#
        );
        assert_eq!(
            r(r#"{"chainedRecords": [[{"GSW_PHONE": "x"}]]}"#, &[]),
            r#"{"chainedRecords": [[{}]]}"#
        );
        // Each record of a `chainedRecords` list, and nothing else in it.
        assert_eq!(
            r(
                r#"{"chainedRecords": [{"GSW_PHONE": "+1", "K": 1}, [{"x": 1}], 7], "k": {"x": 2}}"#,
                &["K"]
            ),
            r#"{"chainedRecords": [{"K": 1}, [{}], 7], "k": {"x": 2}}"#
        );
        // Only objects that are the value of `userData`, found through escapes.
        assert_eq!(
            r(r#"{"user\u0044ata":{"a":1},"userData":[{"a":1}]}"#, &[]),
            r#"{"user\u0044ata":{},"userData":[{"a":1}]}"#
        );
    }

    #[test]
    fn strict_json() {
        for bad in [
            "",
            "{",
            "{\"a\" 1}",
            "[1,]",
            "01",
            "1.",
            "tru",
            "\"\\x\"",
            "{} {}",
            "[\"\u{1}\"]",
            "{\"a\":1,}",
            "-",
            "1e",
        ] {
            assert!(tokens(bad).is_err(), "{bad:?}");
        }
        for good in [
            "0",
            "-0.5e-3",
            "[]",
            "{}",
            " [ true , null , \"\\ud83d\\ude00\" ] ",
            "{\"a\":{\"b\":[]}}",
        ] {
            assert!(tokens(good).is_ok(), "{good:?}");
        }
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(tokens(&deep).is_err());
        assert_eq!(decode_string(r#""a\u0041\ud83d\ude00\n""#), "aA😀\n");
        assert_eq!(decode_string(r#""\ud83d""#), "\u{fffd}");
    }
}
