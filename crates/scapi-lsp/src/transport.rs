//! JSON-RPC over stdio, framed with `Content-Length` headers, that survives
//! bad input: a body that is not JSON (or not UTF-8) is answered with a
//! `-32700` parse error, a JSON value that is not a JSON-RPC message with
//! `-32600`, and reading goes on with the next message. Only the end of
//! standard input, or a header that cannot be resynchronized, ends it.

use crossbeam_channel::{Receiver, Sender, bounded, select, unbounded};
use lsp_server::{Connection, Message};
use std::io::{BufRead, Write};
use std::thread::JoinHandle;

/// The largest message accepted: a 64 MiB export, escaped, fits.
const MAX_MESSAGE: usize = 512 * 1024 * 1024;

/// A header line is kept to this many bytes (its end): no header is longer.
const MAX_HEADER_LINE: usize = 8 * 1024;

/// The threads of a transport.
pub struct Transport {
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Transport {
    /// Waits for the reader and the writer to finish (after `exit`, or at
    /// the end of standard input).
    pub fn join(self) {
        let _ = self.reader.join();
        let _ = self.writer.join();
    }
}

/// A connection over stdin and stdout.
pub fn stdio() -> std::io::Result<(Connection, Transport)> {
    let (to_server, from_client) = bounded::<Message>(16);
    let (to_client, outgoing) = unbounded::<Message>();
    let (raw_sender, raw) = unbounded::<String>();
    let reader = std::thread::Builder::new()
        .name("scapi-lsp-reader".into())
        .spawn(move || {
            let stdin = std::io::stdin();
            read_loop(&mut stdin.lock(), &to_server, &raw_sender);
        })?;
    let writer = std::thread::Builder::new()
        .name("scapi-lsp-writer".into())
        .spawn(move || {
            let stdout = std::io::stdout();
            write_loop(&mut stdout.lock(), &outgoing, &raw);
        })?;
    Ok((
        Connection {
            sender: to_client,
            receiver: from_client,
        },
        Transport { reader, writer },
    ))
}

/// A JSON-RPC error answer with a null id (the request's id is unknown).
fn error_text(code: i32, message: &str) -> String {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": code, "message": message},
    })
    .to_string()
}

/// One framed body, or why there is none.
enum Frame {
    Body(Vec<u8>),
    /// The headers were wrong; they were skipped up to the next blank line.
    BadHeader(String),
    End,
}

/// Standard input with bytes pushed back in front of it: what followed a
/// message whose `Content-Length` was too long (the start of the next
/// header) is read again.
struct Input<R> {
    inner: R,
    back: Vec<u8>,
}

impl<R: BufRead> Input<R> {
    fn new(inner: R) -> Input<R> {
        Input {
            inner,
            back: Vec::new(),
        }
    }

    /// A line, up to and including `\n`; 0 at the end. A header line
    /// longer than [`MAX_HEADER_LINE`] keeps only its end (where a
    /// `Content-Length` that resynchronizes would be) and is read through
    /// in bounded memory.
    fn read_line(&mut self, line: &mut Vec<u8>) -> std::io::Result<usize> {
        if !self.back.is_empty() {
            match memchr::memchr(b'\n', &self.back) {
                Some(i) => {
                    line.extend(self.back.drain(..=i));
                    return Ok(line.len());
                }
                None => line.append(&mut self.back),
            }
        }
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                return Ok(line.len());
            }
            let (take, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            line.extend_from_slice(chunk.get(..take).unwrap_or_default());
            self.inner.consume(take);
            if line.len() > MAX_HEADER_LINE {
                let cut = line.len() - MAX_HEADER_LINE;
                line.drain(..cut);
            }
            if done {
                return Ok(line.len());
            }
        }
    }

    fn read_exact(&mut self, body: &mut [u8]) -> std::io::Result<()> {
        let n = self.back.len().min(body.len());
        let (head, rest) = body.split_at_mut(n);
        for (to, from) in head.iter_mut().zip(self.back.drain(..n)) {
            *to = from;
        }
        self.inner.read_exact(rest)
    }

    fn push_back(&mut self, bytes: &[u8]) {
        self.back.splice(0..0, bytes.iter().copied());
    }
}

fn read_frame(r: &mut Input<impl BufRead>) -> Frame {
    let mut length: Option<usize> = None;
    let mut bad: Option<String> = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => return Frame::End,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let mut header = text.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            if length.is_none() && bad.is_none() {
                // Blank lines between messages are tolerated.
                continue;
            }
            break;
        }
        // The tail of a message whose length was too short runs into the
        // next header (`…}Content-Length: 52`): resynchronize on it.
        if let Some(at) = header.to_ascii_lowercase().rfind("content-length") {
            header = header.get(at..).unwrap_or(header);
        }
        match header.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                match value.trim().parse::<usize>() {
                    Ok(n) if n <= MAX_MESSAGE => length = Some(n),
                    Ok(n) => bad = Some(format!("a message of {n} bytes is over the limit")),
                    Err(_) => bad = Some(format!("`{}` is not a length", value.trim())),
                }
            }
            Some(_) => {}
            None => bad = Some(format!("`{header}` is not a header")),
        }
    }
    if let Some(b) = bad {
        return Frame::BadHeader(b);
    }
    let Some(n) = length else {
        return Frame::BadHeader("the message has no `Content-Length`".into());
    };
    let mut body = vec![0; n];
    match r.read_exact(&mut body) {
        Ok(()) => Frame::Body(body),
        Err(_) => Frame::End,
    }
}

/// A message whose `Content-Length` was too long holds the start of the
/// next one after its JSON value: that value, with the rest pushed back.
fn split_overlong(body: &str) -> Option<(serde_json::Value, usize)> {
    let mut values = serde_json::Deserializer::from_str(body).into_iter::<serde_json::Value>();
    let value = values.next()?.ok()?;
    let end = values.byte_offset();
    (end < body.len()).then_some((value, end))
}

/// `text` with every `\uXXXX` escape of an unpaired surrogate written as
/// `\ufffd` (an escaped backslash before a `u` is left alone).
fn without_lone_surrogates(text: &str) -> String {
    let hex = |s: &str| s.get(..4).and_then(|h| u16::from_str_radix(h, 16).ok());
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\\') {
        let (before, from) = rest.split_at(i);
        out.push_str(before);
        let after = from.get(1..).unwrap_or("");
        if let Some(code) = after.strip_prefix('u').and_then(hex) {
            let next = after.get(5..).unwrap_or("");
            let low = next.strip_prefix("\\u").and_then(hex);
            match code {
                0xD800..=0xDBFF if low.is_some_and(|l| (0xDC00..=0xDFFF).contains(&l)) => {
                    // A pair: both escapes as written.
                    out.push_str(from.get(..12).unwrap_or(from));
                    rest = from.get(12..).unwrap_or("");
                }
                0xD800..=0xDFFF => {
                    out.push_str("\\ufffd");
                    rest = from.get(6..).unwrap_or("");
                }
                _ => {
                    out.push_str(from.get(..6).unwrap_or(from));
                    rest = from.get(6..).unwrap_or("");
                }
            }
        } else {
            // Any other escape: the backslash and the character it escapes.
            let len = after.chars().next().map_or(0, char::len_utf8);
            out.push_str(from.get(..1 + len).unwrap_or(from));
            rest = from.get(1 + len..).unwrap_or("");
        }
    }
    out.push_str(rest);
    out
}

/// Why a request is not one JSON-RPC allows, if so: its id must be an
/// integer or a string (an id the message types cannot hold — `2^31`,
/// `1.5`, `true` — would otherwise make it read as a notification, and its
/// sender would wait for an answer for ever).
fn bad_request_id(value: &serde_json::Value) -> Option<String> {
    let id = value.get("id")?;
    value.get("method")?;
    let fits = match id {
        serde_json::Value::String(_) => true,
        serde_json::Value::Number(n) => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
        _ => false,
    };
    (!fits).then(|| format!("the request id `{id}` is not an integer of 32 bits or a string"))
}

fn read_loop(r: &mut impl BufRead, to_server: &Sender<Message>, raw: &Sender<String>) {
    let mut r = Input::new(r);
    loop {
        let body = match read_frame(&mut r) {
            Frame::End => return,
            Frame::BadHeader(why) => {
                let _ = raw.send(error_text(-32700, &format!("bad message header: {why}")));
                continue;
            }
            Frame::Body(b) => b,
        };
        let Ok(text) = String::from_utf8(body) else {
            let _ = raw.send(error_text(-32700, "the message is not UTF-8"));
            continue;
        };
        // Straight into a message (one pass over a large document); only
        // a body that is not one, or a notification that may be a request
        // with an id out of range, is read again.
        if let Ok(msg) = serde_json::from_str::<Message>(&text)
            && !matches!(&msg, Message::Notification(_) if text.contains("\"id\""))
        {
            let exit = matches!(&msg, Message::Notification(n) if n.method == "exit");
            if to_server.send(msg).is_err() || exit {
                return;
            }
            continue;
        }
        // JavaScript writes a lone surrogate as `\ud800`, which is not
        // Unicode: read it as U+FFFD (one UTF-16 unit too, so positions
        // stay aligned with the editor's) rather than drop the message.
        let parsed = serde_json::from_str::<serde_json::Value>(&text);
        let (text, parsed) = match parsed {
            Err(e) if e.to_string().contains("surrogate") => {
                let clean = without_lone_surrogates(&text);
                let again = serde_json::from_str(&clean);
                (clean, again)
            }
            p => (text, p),
        };
        let value: serde_json::Value = match parsed {
            Ok(v) => v,
            Err(e) => match split_overlong(&text) {
                Some((v, end)) => {
                    r.push_back(text.as_bytes().get(end..).unwrap_or_default());
                    v
                }
                None => {
                    let _ = raw.send(error_text(-32700, &format!("the message is not JSON: {e}")));
                    continue;
                }
            },
        };
        let id = value.get("id").cloned();
        let parsed = match bad_request_id(&value) {
            Some(why) => Err(why),
            None => serde_json::from_value::<Message>(value).map_err(|e| e.to_string()),
        };
        match parsed {
            Ok(msg) => {
                let exit = matches!(&msg, Message::Notification(n) if n.method == "exit");
                if to_server.send(msg).is_err() || exit {
                    return;
                }
            }
            Err(e) => {
                // Answer with the id when there is one, so the client's
                // request does not wait forever.
                let mut answer: serde_json::Value = serde_json::from_str(&error_text(
                    -32600,
                    &format!("not a JSON-RPC message: {e}"),
                ))
                .unwrap_or_default();
                if let (Some(id), Some(slot)) = (id, answer.get_mut("id")) {
                    *slot = id;
                }
                let _ = raw.send(answer.to_string());
            }
        }
    }
}

fn write_text(w: &mut impl Write, text: &str) -> std::io::Result<()> {
    write!(w, "Content-Length: {}\r\n\r\n", text.len())?;
    w.write_all(text.as_bytes())?;
    w.flush()
}

fn write_loop(w: &mut impl Write, messages: &Receiver<Message>, raw: &Receiver<String>) {
    loop {
        let written = select! {
            recv(messages) -> m => match m {
                Ok(m) => m.write(w),
                Err(_) => return,
            },
            recv(raw) -> t => match t {
                Ok(t) => write_text(w, &t),
                Err(_) => continue,
            },
        };
        if written.is_err() {
            return;
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn frames(input: &str) -> Vec<String> {
        let mut r = Input::new(std::io::Cursor::new(input.as_bytes().to_vec()));
        let mut out = Vec::new();
        loop {
            match read_frame(&mut r) {
                Frame::End => return out,
                Frame::BadHeader(b) => out.push(format!("bad: {b}")),
                Frame::Body(b) => out.push(String::from_utf8_lossy(&b).into_owned()),
            }
        }
    }

    #[test]
    fn frames_resynchronize_after_bad_headers() {
        assert_eq!(
            frames(
                "Content-Length: 2\r\n\r\n{}Content-Length: x\r\n\r\nContent-Length: 3\r\n\r\n[1]"
            ),
            ["{}", "bad: `x` is not a length", "[1]"]
        );
        assert_eq!(frames("junk\r\n\r\n"), ["bad: `junk` is not a header"]);
        // The tail of a cut message that mentions `Content-Length` itself:
        // the last one on the line is the header.
        assert_eq!(
            frames("Content-Length: 5 in the docs\"}}}Content-Length: 3\r\n\r\n[1]"),
            ["[1]"]
        );
        // A header line of any length is read in bounded memory.
        let long = format!("{}Content-Length: 3\r\n\r\n[1]", "x".repeat(1 << 20));
        assert_eq!(frames(&long), ["[1]"]);
    }

    /// Runs the read loop over `input`; what reaches the server and what
    /// is answered directly.
    fn read_all(input: &str) -> (Vec<String>, Vec<String>) {
        let (to_server, from_client) = unbounded();
        let (raw_sender, raw) = unbounded();
        read_loop(
            &mut std::io::Cursor::new(input.as_bytes().to_vec()),
            &to_server,
            &raw_sender,
        );
        drop((to_server, raw_sender));
        let msgs = from_client
            .iter()
            .map(|m: Message| match m {
                Message::Request(r) => format!("request {} {}", r.id, r.method),
                Message::Notification(n) => format!("notification {}", n.method),
                Message::Response(r) => format!("response {}", r.id),
            })
            .collect();
        (msgs, raw.iter().collect())
    }

    fn framed(body: &str, delta: isize) -> String {
        format!(
            "Content-Length: {}\r\n\r\n{body}",
            body.len() as isize + delta
        )
    }

    #[test]
    fn a_length_one_byte_off_loses_one_message_at_most() {
        let a = r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#;
        let b = r#"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#;
        let c = r#"{"jsonrpc":"2.0","id":3,"method":"shutdown"}"#;
        // One byte too many: the message is read, the next header is not lost.
        let (msgs, _) = read_all(&format!("{}{}{}", framed(a, 1), framed(b, 0), framed(c, 0)));
        assert_eq!(
            msgs,
            [
                "request 1 shutdown",
                "request 2 shutdown",
                "request 3 shutdown"
            ]
        );
        // One byte too few: that message is answered as broken, the rest read.
        let (msgs, errors) = read_all(&format!(
            "{}{}{}",
            framed(a, -1),
            framed(b, 0),
            framed(c, 0)
        ));
        assert_eq!(msgs, ["request 2 shutdown", "request 3 shutdown"]);
        assert!(errors.iter().any(|e| e.contains("-32700")), "{errors:?}");
    }

    #[test]
    fn lone_surrogates_are_read_as_replacement_characters() {
        assert_eq!(
            without_lone_surrogates(r#"{"t":"a\ud800b\\ud800\ud83d\ude00\udc00\n"}"#),
            r#"{"t":"a\ufffdb\\ud800\ud83d\ude00\ufffd\n"}"#
        );
        let body = r#"{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///a.cfg","languageId":"ini","version":1,"text":"; \udc00bc"}}}"#;
        let (msgs, errors) = read_all(&framed(body, 0));
        assert_eq!((msgs.len(), errors.len()), (1, 0), "{errors:?}");
    }

    #[test]
    fn ids_outside_int32_are_answered_with_an_error() {
        for id in ["2147483648", "1.5", "true", "null", "[1]"] {
            let body = format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"textDocument/hover","params":{{}}}}"#
            );
            let (msgs, errors) = read_all(&framed(&body, 0));
            assert!(msgs.is_empty(), "{id}: {msgs:?}");
            assert_eq!(errors.len(), 1, "{id}: {errors:?}");
            let e: serde_json::Value = serde_json::from_str(&errors[0]).unwrap_or_default();
            assert_eq!(e["error"]["code"], -32600, "{id}");
            assert_eq!(
                e["id"].to_string(),
                serde_json::from_str::<serde_json::Value>(id)
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                "{id}"
            );
        }
        // A notification stays one.
        let (msgs, errors) = read_all(&framed(
            r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#,
            0,
        ));
        assert_eq!((msgs.len(), errors.len()), (1, 0));
    }
}
