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

fn read_frame(r: &mut impl BufRead) -> Frame {
    let mut length: Option<usize> = None;
    let mut bad: Option<String> = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        match r.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return Frame::End,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let header = text.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            if length.is_none() && bad.is_none() {
                // Blank lines between messages are tolerated.
                continue;
            }
            break;
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

fn read_loop(r: &mut impl BufRead, to_server: &Sender<Message>, raw: &Sender<String>) {
    loop {
        let body = match read_frame(r) {
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
        // a body that is not one is read again to tell why.
        if let Ok(msg) = serde_json::from_str::<Message>(&text) {
            let exit = matches!(&msg, Message::Notification(n) if n.method == "exit");
            if to_server.send(msg).is_err() || exit {
                return;
            }
            continue;
        }
        let value: serde_json::Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                let _ = raw.send(error_text(-32700, &format!("the message is not JSON: {e}")));
                continue;
            }
        };
        let id = value.get("id").cloned();
        match serde_json::from_value::<Message>(value) {
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
mod tests {
    use super::*;

    fn frames(input: &str) -> Vec<String> {
        let mut r = std::io::Cursor::new(input.as_bytes().to_vec());
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
    }
}
