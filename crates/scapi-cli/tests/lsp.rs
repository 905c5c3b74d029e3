//! `scapi lsp` driven as an editor drives it: framed JSON-RPC over its
//! standard input and output.
//! (The cases of `tests/cases/lsp/` are `cases.rs`.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi_testkit::lsp_client::Client;
use serde_json::json;
use std::io::Write;

/// Bad input never stops the server: each gets an error answer (or is
/// ignored, for a notification), and the next request is served.
#[test]
fn bad_input_is_answered_and_the_server_keeps_serving() {
    let mut c = Client::start(env!("CARGO_BIN_EXE_scapi"));
    // Before `initialize`, requests are refused.
    let early = c.request("textDocument/hover", json!({}));
    assert_eq!(early["error"]["code"], -32002, "{early}");
    c.initialize();
    let uri = "file:///x/wwews.cfg";
    c.open(
        uri,
        "ini",
        "service-client-api.accepted-web-content-origins=https://crm.example.com/ (agent.get)\nservice-client-api.user-data.read-allowed=*\nservice-client-api.user-data.write-allowed=*\n",
    );
    assert_eq!(c.diagnostics(uri, 1).as_array().unwrap().len(), 1);
    let hover = json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 90}});
    // Not JSON; not UTF-8; JSON nested 100 000 deep; JSON that is not a
    // message: each answered with an error, id null.
    for (body, code) in [
        (b"{\"jsonrpc\": ".to_vec(), -32700),
        (vec![0xff, 0xfe, b'{', b'}'], -32700),
        ("[".repeat(100_000).into_bytes(), -32700),
        (b"{\"jsonrpc\": \"2.0\", \"id\": 77}".to_vec(), -32600),
    ] {
        c.send_raw(&body);
        let e = c.wait_for("an error answer", |v| !v["error"].is_null());
        assert_eq!(e["error"]["code"], code, "{e}");
        assert!(e["id"].is_null() || e["id"] == 77, "{e}");
        // Still serving.
        let r = c.request("textDocument/hover", hover.clone());
        assert!(r["error"].is_null(), "{r}");
    }
    // A header that is not one.
    c.stdin.write_all(b"Content-Length: lots\r\n\r\n").unwrap();
    c.stdin.flush().unwrap();
    let e = c.wait_for("a header error", |v| !v["error"].is_null());
    assert_eq!(e["error"]["code"], -32700);
    // A document that was never opened; a method the server lacks;
    // parameters of the wrong shape.
    let unknown = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": "file:///nope.cfg"}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    assert_eq!(
        c.request("textDocument/rename", json!({}))["error"]["code"],
        -32601
    );
    assert_eq!(
        c.request("textDocument/hover", json!({"x": 1}))["error"]["code"],
        -32602
    );
    // A JSON export nested 100 000 deep, and a document that is binary.
    let deep = "file:///x/deep.json";
    c.open(deep, "json", &"[".repeat(100_000));
    let d = c.diagnostics(deep, 1);
    assert!(!d.as_array().unwrap().is_empty());
    let binary = "file:///x/bin.cfg";
    c.open(binary, "ini", "a\u{0}\u{1}b=\u{fffd}\n");
    c.diagnostics(binary, 1);
    let r = c.request("textDocument/hover", hover);
    assert!(r["error"].is_null(), "{r}");
    assert_eq!(c.stop(), Some(0));
}

/// A client whose framing drifts by a byte, or whose request ids do not
/// fit 32 bits, is answered, and the server goes on serving: it never
/// stops answering for good.
#[test]
fn a_drifting_client_is_answered_and_served_again() {
    use std::io::Write;
    let mut c = Client::start(env!("CARGO_BIN_EXE_scapi"));
    c.initialize();
    let uri = "file:///x/drift.cfg";
    c.open(uri, "ini", "service-client-api.rate-limit=5\n");
    c.diagnostics(uri, 1);
    let hover = json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 3}});
    for delta in [1i64, -1, 7] {
        let body = json!({"jsonrpc": "2.0", "id": 500 + delta, "method": "textDocument/hover", "params": hover}).to_string();
        let len = body.len() as i64 + delta;
        write!(c.stdin, "Content-Length: {len}\r\n\r\n{body}").unwrap();
        c.stdin.flush().unwrap();
        // The next well-framed request is answered, whatever became of the
        // drifting one (read, when it was too long; an error, when short).
        let r = c.request("textDocument/hover", hover.clone());
        assert!(r["error"].is_null(), "after a length off by {delta}: {r}");
    }
    for id in ["2147483648", "1.5", "true"] {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"textDocument/hover","params":{hover}}}"#
        );
        c.send_raw(body.as_bytes());
        let want: serde_json::Value = serde_json::from_str(id).unwrap();
        let e = c.wait_for("an error answer with the id", |v| {
            v["id"] == want && !v["error"].is_null()
        });
        assert_eq!(e["error"]["code"], -32600, "{e}");
    }
    let r = c.request("textDocument/hover", hover);
    assert!(r["error"].is_null(), "{r}");
    assert_eq!(c.stop(), Some(0));
}

/// A change is compiled once the typing stops, and only its newest
/// version is published; closing clears the document's findings.
#[test]
fn changes_are_debounced_and_close_clears() {
    let mut c = Client::start(env!("CARGO_BIN_EXE_scapi"));
    c.initialize();
    let uri = "file:///x/typing.cfg";
    c.open(
        uri,
        "ini",
        "service-client-api.accepted-web-content-origins=https://a.example\nservice-client-api.rate-limit=60\nservice-client-api.user-data.read-allowed=*\nservice-client-api.user-data.write-allowed=*\n",
    );
    assert_eq!(c.diagnostics(uri, 1), json!([]));
    // Five keystrokes in a row: `6` becomes `6x0yz`.
    for (i, ch) in ["x", "0", "y", "z", "!"].iter().enumerate() {
        let col = 31 + i as u32;
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": i + 2},
                   "contentChanges": [{"range": {"start": {"line": 1, "character": col}, "end": {"line": 1, "character": col}}, "text": ch}]}),
        );
    }
    let d = c.diagnostics(uri, 6);
    assert_eq!(d[0]["code"], "SC0301", "{d}");
    assert!(d[0]["message"].as_str().unwrap().contains("6x0yz!0"), "{d}");
    // No diagnostics of an older version arrived before those.
    assert!(
        !c.pending.iter().any(
            |v| v["method"] == "textDocument/publishDiagnostics" && v["params"]["version"] != 6
        ),
        "{:?}",
        c.pending
    );
    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    );
    assert_eq!(c.diagnostics(uri, 6), json!([]));
    assert_eq!(c.stop(), Some(0));
}
