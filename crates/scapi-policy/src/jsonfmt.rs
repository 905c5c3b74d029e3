//! (Shared with the `scapi` crates; not part of this crate's API.)
//!
//! A deterministic pretty-printer for scapi's JSON documents: objects one
//! key per line, arrays of scalars on one line (`"allow": ["agent.*",
//! "voice.dial"]`), small objects of scalars on one line (`"entry":
//! {"origin": "https://crm.example.com", "line": 2}`), two-space indent, a
//! final newline.
//!
//! A document is serialized compactly by `serde_json` (fields in the order
//! their types give, maps in theirs), read back token by token into a tree
//! of byte ranges, and laid out: every scalar and key is copied as written.
//! The tree is at most [`crate::rawjson::MAX_DEPTH`] deep, so the printer's
//! recursion is bounded.
//!
//! **One output layer.** Every document scapi writes goes through here: a
//! small one whole ([`to_string`]), a large one through a [`Streamer`] —
//! the text before its one large array, the items one at a time, the text
//! after — so a report of a million decisions is never held. An item is
//! laid out from its serialization, or, on a hot path, written directly
//! with the same layout rules ([`push_object`], [`push_strings`],
//! [`push_raw`]).

use serde::Serialize;
use std::io::{self, Write};

/// Prints a serializable document.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    let compact = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    let mut out = Vec::with_capacity(compact.len() * 2);
    push_raw(&mut out, &compact, 0);
    out.push(b'\n');
    text(out)
}

/// Prints a document whose one large array is streamed, item by item, so
/// a report of a hundred thousand findings is never held as one JSON tree.
///
/// `doc` holds an empty array at `pointer` (a JSON pointer); `items` are
/// printed there exactly as [`to_string`] would print them in place. Items
/// must be objects or arrays (a scalar array would be printed inline).
pub fn write_streamed<T, I, W>(
    out: &mut W,
    doc: &T,
    pointer: &str,
    items: impl IntoIterator<Item = I>,
) -> io::Result<()>
where
    T: Serialize,
    I: Serialize,
    W: Write,
{
    let mut s = Streamer::begin(&mut *out, doc, pointer)
        .ok_or_else(|| io::Error::other(format!("the document has no array at `{pointer}`")))?;
    for item in items {
        s.item(&item)?;
    }
    s.finish()
}

/// Write the buffer to the output when it holds this much.
const FLUSH_AT: usize = 60 * 1024;

/// A document being written around its one large array: [`begin`]
/// (the text before the array), [`item`] or [`item_with`] for each
/// element, then [`finish`] (the text after). The output is buffered; a
/// document [`abort`]ed before anything reached the output leaves none.
///
/// [`begin`]: Streamer::begin
/// [`item`]: Streamer::item
/// [`item_with`]: Streamer::item_with
/// [`finish`]: Streamer::finish
/// [`abort`]: Streamer::abort
pub struct Streamer<W: Write> {
    out: W,
    split: Split,
    buf: Vec<u8>,
    first: bool,
    begun: bool,
}

impl<W: Write> Streamer<W> {
    /// Starts `doc`, whose array at `pointer` (a JSON pointer) is to be
    /// streamed; `None` when there is no array there.
    pub fn begin<T: Serialize>(out: W, doc: &T, pointer: &str) -> Option<Streamer<W>> {
        let split = Split::of(doc, pointer)?;
        let mut buf = Vec::with_capacity(FLUSH_AT + 4096);
        buf.extend_from_slice(split.head.as_bytes());
        Some(Streamer {
            out,
            split,
            buf,
            first: true,
            begun: false,
        })
    }

    /// One element, laid out from its serialization.
    pub fn item<I: Serialize + ?Sized>(&mut self, item: &I) -> io::Result<()> {
        let compact = serde_json::to_string(item).map_err(io::Error::other)?;
        self.item_with(|out, depth| push_raw(out, &compact, depth))
    }

    /// One element written by `write` at a depth (it writes the value only,
    /// with the layout rules of this module).
    pub fn item_with(&mut self, write: impl FnOnce(&mut Vec<u8>, usize)) -> io::Result<()> {
        self.buf
            .extend_from_slice(if self.first { b"[\n" } else { b",\n" });
        self.first = false;
        push_pad(&mut self.buf, self.split.depth + 1);
        write(&mut self.buf, self.split.depth + 1);
        if self.buf.len() >= FLUSH_AT {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
            self.begun = true;
        }
        Ok(())
    }

    /// Ends the array and writes the rest of the document as it was begun.
    pub fn finish(self) -> io::Result<()> {
        let tail = self.split.tail.clone();
        self.finish_with_tail(&tail)
    }

    /// Ends the array and writes the rest of `doc` (the document begun,
    /// with what only the items decided, such as a summary), split at the
    /// same `pointer`.
    pub fn finish_with<T: Serialize>(self, doc: &T, pointer: &str) -> io::Result<()> {
        let split = Split::of(doc, pointer)
            .ok_or_else(|| io::Error::other("the document has no array to stream"))?;
        self.finish_with_tail(&split.tail)
    }

    fn finish_with_tail(mut self, tail: &str) -> io::Result<()> {
        if self.first {
            self.buf.extend_from_slice(b"[]");
        } else {
            self.buf.push(b'\n');
            push_pad(&mut self.buf, self.split.depth);
            self.buf.push(b']');
        }
        self.buf.extend_from_slice(tail.as_bytes());
        self.out.write_all(&self.buf)?;
        self.out.flush()
    }

    /// Stops early. A document nothing of which reached the output is
    /// dropped (an error found early prints nothing); one that has begun is
    /// written out to where it stopped.
    pub fn abort(mut self) -> io::Result<()> {
        if self.begun {
            self.out.write_all(&self.buf)?;
        }
        self.buf.clear();
        self.out.flush()
    }
}

/// A scalar written directly ([`push_object`]).
#[derive(Clone, Copy, Debug)]
pub enum Scalar<'a> {
    /// `null`.
    Null,
    /// A whole number.
    Num(usize),
    /// A string, escaped as JSON.
    Str(&'a str),
    /// `true` or `false`.
    Bool(bool),
}

impl Scalar<'_> {
    /// Its printed length.
    fn len(self) -> usize {
        match self {
            Scalar::Null => 4,
            Scalar::Num(n) => n.checked_ilog10().map_or(1, |d| d as usize + 1),
            Scalar::Str(s) => json_len(s),
            Scalar::Bool(b) => 4 + usize::from(!b),
        }
    }

    /// Writes it.
    pub fn push(self, out: &mut Vec<u8>) {
        match self {
            Scalar::Null => out.extend_from_slice(b"null"),
            Scalar::Num(n) => {
                let _ = write!(out, "{n}");
            }
            Scalar::Str(s) => push_json_str(out, s),
            Scalar::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        }
    }
}

/// An object of scalars at `depth`, laid out as [`to_string`] lays it out:
/// on one line when short, else one field per line.
pub fn push_object(out: &mut Vec<u8>, fields: &[(&str, Scalar<'_>)], depth: usize) {
    let inline: usize = fields.iter().map(|(k, v)| k.len() + v.len() + 6).sum();
    if fields.is_empty() {
        out.extend_from_slice(b"{}");
    } else if inline <= INLINE_MAX {
        out.push(b'{');
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            push_json_str(out, k);
            out.extend_from_slice(b": ");
            v.push(out);
        }
        out.push(b'}');
    } else {
        out.extend_from_slice(b"{\n");
        for (i, (k, v)) in fields.iter().enumerate() {
            push_pad(out, depth + 1);
            push_json_str(out, k);
            out.extend_from_slice(b": ");
            v.push(out);
            out.extend_from_slice(if i + 1 < fields.len() { b",\n" } else { b"\n" });
        }
        push_pad(out, depth);
        out.push(b'}');
    }
}

/// An array of strings, on one line as [`to_string`] writes it.
pub fn push_strings(out: &mut Vec<u8>, items: &[String]) {
    out.push(b'[');
    for (i, k) in items.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        push_json_str(out, k);
    }
    out.push(b']');
}

/// A document printed around one array: the text before it, the text
/// after it, and its depth. For documents whose tail depends on what the
/// array held (a summary after the items), split the document twice.
#[derive(Clone, Debug)]
pub struct Split {
    /// Everything before the array.
    pub head: String,
    /// Everything after it.
    pub tail: String,
    /// The array's nesting depth.
    pub depth: usize,
}

impl Split {
    /// Splits `doc` at the array at `pointer` (a JSON pointer); `None` when
    /// there is nothing there.
    pub fn of<T: Serialize>(doc: &T, pointer: &str) -> Option<Split> {
        let compact = serde_json::to_string(doc).ok()?;
        let mut tree = raw_tree(&compact)?;
        let slot = tree.at_pointer(&compact, pointer)?;
        // An array, like what it stands for: the parent's layout is unchanged.
        *slot = Raw::Array(vec![Raw::Marker]);
        let mut out = Vec::new();
        write_raw(&mut out, &compact, &tree, 0);
        out.push(b'\n');
        let text = text(out);
        let (head, tail) = text.split_once(&format!("[{MARKER}]"))?;
        Some(Split {
            head: head.to_string(),
            tail: tail.to_string(),
            depth: pointer.matches('/').count(),
        })
    }
}

/// Stands for the streamed array; it cannot occur in a printed document,
/// since a NUL is always escaped there.
const MARKER: &str = "\u{0}scapi:streamed-array\u{0}";

/// Writes a string as a JSON string into `out`.
pub fn push_json_str(out: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Two spaces per level.
pub fn push_pad(out: &mut Vec<u8>, depth: usize) {
    for _ in 0..depth {
        out.extend_from_slice(b"  ");
    }
}

/// Counts what is written, to measure a scalar without printing it.
struct Count(usize);

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The printed length of a scalar or string.
pub fn json_len<T: Serialize + ?Sized>(v: &T) -> usize {
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// Objects of scalars up to this many characters are written on one line.
pub const INLINE_MAX: usize = 100;

/// A key literal's range and its decoded length.
type RawKey = (usize, usize, usize);

/// A JSON text as a tree of byte ranges: scalars and keys stay as written.
enum Raw {
    Scalar(usize, usize),
    Array(Vec<Raw>),
    /// Members: the key literal's range, its decoded length, the value.
    Object(Vec<(usize, usize, usize, Raw)>),
    /// Where a streamed array goes (see [`Split`]).
    Marker,
}

impl Raw {
    /// The node at a JSON pointer (`/runs/0/results`) of a tree read from
    /// `text`.
    fn at_pointer(&mut self, text: &str, pointer: &str) -> Option<&mut Raw> {
        let mut node = self;
        for step in pointer.split('/').skip(1) {
            let step = step.replace("~1", "/").replace("~0", "~");
            node = match node {
                Raw::Object(members) => members.iter_mut().find_map(|(ks, ke, _, v)| {
                    let key = crate::rawjson::decode_string(text.get(*ks..*ke)?);
                    (key == step).then_some(v)
                })?,
                Raw::Array(items) => items.get_mut(step.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }
}

/// Reads `text` (one JSON value, checked) into a [`Raw`] tree, without
/// recursion.
fn raw_tree(text: &str) -> Option<Raw> {
    use crate::rawjson::TokenKind as K;
    let tokens = crate::rawjson::tokens(text).ok()?;
    // Open containers, with the key a member's value goes under.
    let mut stack: Vec<(Raw, Option<RawKey>)> = Vec::new();
    let mut key: Option<RawKey> = None;
    let mut done = None;
    let mut iter = tokens.iter().peekable();
    while let Some(t) = iter.next() {
        let node = match t.kind {
            K::BeginArray | K::BeginObject => {
                let open = if t.kind == K::BeginArray {
                    Raw::Array(Vec::new())
                } else {
                    Raw::Object(Vec::new())
                };
                stack.push((open, key.take()));
                continue;
            }
            K::EndArray | K::EndObject => {
                let (node, k) = stack.pop()?;
                key = k;
                node
            }
            K::String if iter.peek().is_some_and(|n| n.kind == K::Colon) => {
                let literal = text.get(t.start..t.end)?;
                key = Some((t.start, t.end, crate::rawjson::decode_string(literal).len()));
                continue;
            }
            K::String | K::Scalar => Raw::Scalar(t.start, t.end),
            K::Colon | K::Comma => continue,
        };
        match stack.last_mut() {
            Some((Raw::Array(items), _)) => items.push(node),
            Some((Raw::Object(members), _)) => {
                let (ks, ke, klen) = key.take()?;
                members.push((ks, ke, klen, node));
            }
            Some(_) => return None,
            None => done = Some(node),
        }
    }
    done
}

/// Prints a JSON text at `depth`, laid out as [`to_string`] lays out
/// documents but with every scalar and key copied as written: a number
/// keeps its digits, a string its escapes. Text that is not JSON is copied
/// as it is.
pub fn push_raw(out: &mut Vec<u8>, text: &str, depth: usize) {
    match raw_tree(text) {
        Some(tree) => write_raw(out, text, &tree, depth),
        None => out.extend_from_slice(text.as_bytes()),
    }
}

fn write_raw(out: &mut Vec<u8>, text: &str, node: &Raw, depth: usize) {
    let lit = |s: usize, e: usize| text.get(s..e).unwrap_or("").as_bytes();
    let is_scalar = |n: &Raw| matches!(n, Raw::Scalar(..));
    match node {
        Raw::Scalar(s, e) => out.extend_from_slice(lit(*s, *e)),
        Raw::Marker => out.extend_from_slice(MARKER.as_bytes()),
        Raw::Array(items) if items.is_empty() => out.extend_from_slice(b"[]"),
        Raw::Array(items)
            if items
                .iter()
                .all(|i| is_scalar(i) || matches!(i, Raw::Marker)) =>
        {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_raw(out, text, item, depth);
            }
            out.push(b']');
        }
        Raw::Array(items) => {
            out.extend_from_slice(b"[\n");
            for (i, item) in items.iter().enumerate() {
                push_pad(out, depth + 1);
                write_raw(out, text, item, depth + 1);
                out.extend_from_slice(if i + 1 < items.len() { b",\n" } else { b"\n" });
            }
            push_pad(out, depth);
            out.push(b']');
        }
        Raw::Object(members) if members.is_empty() => out.extend_from_slice(b"{}"),
        Raw::Object(members) => {
            let inline = members.iter().all(|(_, _, _, v)| is_scalar(v))
                && members
                    .iter()
                    .map(|(_, _, klen, v)| match v {
                        Raw::Scalar(s, e) => klen + (e - s) + 6,
                        _ => 0,
                    })
                    .sum::<usize>()
                    <= INLINE_MAX;
            if inline {
                out.push(b'{');
                for (i, (ks, ke, _, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(b", ");
                    }
                    out.extend_from_slice(lit(*ks, *ke));
                    out.extend_from_slice(b": ");
                    write_raw(out, text, v, depth);
                }
                out.push(b'}');
            } else {
                out.extend_from_slice(b"{\n");
                for (i, (ks, ke, _, v)) in members.iter().enumerate() {
                    push_pad(out, depth + 1);
                    out.extend_from_slice(lit(*ks, *ke));
                    out.extend_from_slice(b": ");
                    write_raw(out, text, v, depth + 1);
                    out.extend_from_slice(if i + 1 < members.len() { b",\n" } else { b"\n" });
                }
                push_pad(out, depth);
                out.push(b'}');
            }
        }
    }
}

/// Bytes this module wrote: always UTF-8 (serde_json writes UTF-8 and the
/// rest is ASCII).
fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_text_is_laid_out_like_documents() {
        let texts = [
            r#"{"a": ["x", "y"], "b": [], "c": {"d": null}, "e": [{"f": 1}], "g": {"h": [1]}}"#,
            // Keys in sorted order: `to_string` of a `Value` sorts them
            // unless another crate of the build turns on `preserve_order`.
            r#"{"data":{"eventType":"ATTACHED_DATA_CHANGED","interaction":{"userData":{"K":"v","L":2}}}}"#,
            r#"[{"m": "long long long long long long long long long long long long long long long long long long long"}]"#,
        ];
        for t in texts {
            let v: serde_json::Value = serde_json::from_str(t).unwrap();
            let mut raw = Vec::new();
            push_raw(&mut raw, t, 0);
            raw.push(b'\n');
            assert_eq!(String::from_utf8(raw).unwrap(), to_string(&v), "{t}");
        }
        // Scalars are copied as written.
        let mut raw = Vec::new();
        push_raw(
            &mut raw,
            r#"{"n": 12345678901234567890123, "s": "\u0041"}"#,
            0,
        );
        assert_eq!(
            String::from_utf8(raw).unwrap(),
            r#"{"n": 12345678901234567890123, "s": "\u0041"}"#
        );
    }

    #[test]
    fn fields_keep_the_order_of_their_type() {
        #[derive(Serialize)]
        struct Doc {
            zeta: u8,
            alpha: &'static str,
        }
        assert_eq!(
            to_string(&Doc {
                zeta: 1,
                alpha: "a"
            }),
            "{\"zeta\": 1, \"alpha\": \"a\"}\n"
        );
    }

    #[test]
    fn inline_scalar_arrays() {
        let v = serde_json::json!({"a": ["x", "y"], "b": [], "c": {"d": null}, "e": [{"f": 1}], "g": {"h": [1]}});
        assert_eq!(
            to_string(&v),
            "{\n  \"a\": [\"x\", \"y\"],\n  \"b\": [],\n  \"c\": {\"d\": null},\n  \"e\": [\n    {\"f\": 1}\n  ],\n  \"g\": {\n    \"h\": [1]\n  }\n}\n"
        );
    }

    #[test]
    fn streamed_arrays_print_as_in_place() {
        let items = [
            serde_json::json!({"m": "a \u{0} b", "n": 1}),
            serde_json::json!({"m": "x".repeat(120), "k": [1, 2]}),
        ];
        for n in 0..=items.len() {
            let some = &items[..n];
            let whole =
                serde_json::json!({"v": 1, "runs": [{"t": "x", "results": some, "z": true}]});
            let shell = serde_json::json!({"v": 1, "runs": [{"t": "x", "results": [], "z": true}]});
            let mut out = Vec::new();
            write_streamed(&mut out, &shell, "/runs/0/results", some).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), to_string(&whole));
        }
        // No array there: refused, and nothing written.
        let mut out = Vec::new();
        let e = write_streamed(&mut out, &serde_json::json!({"a": []}), "/nope", [1]).unwrap_err();
        assert_eq!(e.to_string(), "the document has no array at `/nope`");
        assert!(out.is_empty());
    }
}
