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

mod replay;
mod report;
mod requests;

pub use replay::{
    Decided, Hooks, LoadPolicy, RunError, Summary, decide, fresh_handle, no_policy_items, report,
    run, run_text,
};
pub use report::ReportFormat;
pub use requests::{
    Item, ItemError, ItemKind, JsonLines, RequestItem, RequestsFormat, parse_items,
};

#[cfg(test)]
mod tests {
    use super::requests::{MAX_MILLIS, format_time, json_line};
    use super::*;
    use scapi_policy::decision::Outcome;

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
        let item = one(r#"{"at": 2, "policy": "next.json"}"#).unwrap();
        assert_eq!(item.kind, ItemKind::Policy("next.json".into()));
        for (line, message) in [
            (
                r#"{"at": 1, "policy": "next.json", "client": "c"}"#,
                "a policy item has no `client`; it switches the policy, and requests are separate items",
            ),
            (
                r#"{"at": 1, "policy": ""}"#,
                "`policy` is empty; name the compiled policy to switch to",
            ),
            (
                r#"{"at": 1, "policy": 7}"#,
                "`policy` must be a string, not a number",
            ),
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
                "unknown field `extra`; the fields are at, origin, request, client, userData, keys, expect, event, frame, policy",
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
