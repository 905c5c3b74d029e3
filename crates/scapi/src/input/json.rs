//! The JSON reader.
//!
//! Parses strict JSON (no comments, trailing commas or other JSON5 forms)
//! with `jsonc-parser`, which gives every node its byte range and bounds the
//! nesting depth, then maps each string value through its escapes so a
//! diagnostic inside a value points at the exact bytes.

use super::doc::{self, Key, Node};
use super::escapes::{self, Quoting};
use super::{Export, InputError, InputErrorKind};
use crate::diagnostic::Diagnostics;
use crate::source::{SourceFile, Span, ValueMap};
use jsonc_parser::ast::{ObjectPropName, Value};
use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};

/// Why deep nesting is refused, for both JSON and YAML.
pub(crate) const NESTING_HELP: &str =
    "an export is a map of sections holding string options; nothing needs to nest deeper";

/// Reads a JSON export.
pub(crate) fn read(source: &SourceFile, diags: &mut Diagnostics) -> Result<Export, InputError> {
    let text = source.text();
    let strict = ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    let parsed = parse_to_ast(text, &CollectOptions::default(), &strict).map_err(|e| {
        let r = e.range();
        if matches!(
            e.kind(),
            jsonc_parser::errors::ParseErrorKind::NestingDepthExceeded
        ) {
            // jsonc-parser's fixed limit; nothing recurses deeper.
            return InputError::new(
                InputErrorKind::Syntax,
                "JSON is nested more than 512 levels deep",
            )
            .at(Span::new(r.start, r.end))
            .help(NESTING_HELP);
        }
        InputError::new(
            InputErrorKind::Syntax,
            format!("invalid JSON: {}", lower_first(&e.kind().to_string())),
        )
        .at(Span::new(r.start, r.end))
        .help("fix the JSON syntax at the marked position")
    })?;
    let Some(value) = parsed.value else {
        return Err(InputError::new(
            InputErrorKind::Syntax,
            "invalid JSON: the document is empty",
        )
        .help("write an object such as `{\"interaction-workspace\": {}}`"));
    };
    doc::export(source, node(text, &value), diags)
}

/// Whether a JSON number is written as an integer: `-?DIGIT+`, no fraction
/// or exponent.
fn is_integer(n: &str) -> bool {
    let digits = n.strip_prefix('-').unwrap_or(n);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn node(text: &str, v: &Value<'_>) -> Node {
    match v {
        Value::StringLit(s) => {
            let span = Span::new(s.range.start, s.range.end);
            Node::Str {
                value: s.value.to_string(),
                span,
                map: string_map(text, span, &s.value),
            }
        }
        Value::NumberLit(n) => Node::Scalar {
            text: n.value.to_string(),
            span: span(n.range),
            kind: "a number",
            integer: is_integer(n.value).then(|| n.value.to_string()),
        },
        Value::BooleanLit(b) => Node::Scalar {
            text: b.value.to_string(),
            span: span(b.range),
            kind: "a boolean",
            integer: None,
        },
        Value::NullKeyword(n) => Node::Scalar {
            text: "null".into(),
            span: span(n.range),
            kind: "null",
            integer: None,
        },
        Value::Object(o) => Node::Map {
            entries: o
                .properties
                .iter()
                .map(|p| {
                    let key = match &p.name {
                        ObjectPropName::String(s) => {
                            let outer = span(s.range);
                            Key {
                                name: s.value.to_string(),
                                span: inner(outer),
                            }
                        }
                        ObjectPropName::Word(w) => Key {
                            name: w.value.to_string(),
                            span: span(w.range),
                        },
                    };
                    (key, node(text, &p.value))
                })
                .collect(),
            span: span(o.range),
        },
        Value::Array(a) => Node::Seq {
            span: span(a.range),
        },
    }
}

fn span(r: jsonc_parser::common::Range) -> Span {
    Span::new(r.start, r.end)
}

/// The span inside the quotes of a string literal.
fn inner(outer: Span) -> Span {
    if outer.len() >= 2 {
        Span::new(outer.start + 1, outer.end - 1)
    } else {
        outer
    }
}

fn string_map(text: &str, literal: Span, value: &str) -> ValueMap {
    let raw_span = inner(literal);
    text.get(raw_span.range())
        .and_then(|raw| escapes::map(raw, value, raw_span.start, Quoting::Json))
        .unwrap_or(ValueMap::Whole(literal))
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads text as a file named `t`.
    fn read(text: &str, diags: &mut Diagnostics) -> Result<Export, InputError> {
        super::read(&SourceFile::new("t", text), diags)
    }
    use crate::rules::Code;

    #[test]
    fn reads_the_three_shapes() {
        for text in [
            r#"{"interaction-workspace": {"a": "b"}}"#,
            r#"{"options": {"interaction-workspace": {"a": "b"}}, "cmeAppName": "x"}"#,
            r#"{"data": {"options": {"interaction-workspace": {"a": "b"}}}}"#,
        ] {
            let mut d = Diagnostics::new();
            let e = read(text, &mut d).unwrap();
            assert!(d.is_empty(), "{text}");
            assert_eq!(e.main_option("a").unwrap().value, "b", "{text}");
        }
    }

    #[test]
    fn value_spans_go_through_escapes() {
        let text = r#"{"s": {"k": "x\u0041y"}}"#;
        let mut d = Diagnostics::new();
        let e = read(text, &mut d).unwrap();
        let o = e.section("s").unwrap().get("k").unwrap();
        assert_eq!(o.value, "xAy");
        let y = o.file_span(Span::new(2, 3));
        assert_eq!(&text[y.range()], "y");
        assert_eq!(&text[o.key_span.range()], "k");
    }

    #[test]
    fn non_strings_and_syntax_errors() {
        let mut d = Diagnostics::new();
        let e = read(r#"{"s": {"k": 4, "l": [1], "m": 4.5}}"#, &mut d).unwrap();
        // Lists are reported here; scalars are read on, and lowering says
        // whether they are allowed where they are.
        assert_eq!(
            d.iter().map(|x| x.code).collect::<Vec<_>>(),
            vec![Code::NonStringValue]
        );
        let s = e.section("s").unwrap();
        assert!(s.get("k").unwrap().non_string.is_some_and(|n| n.integer));
        assert!(s.get("m").unwrap().non_string.is_some_and(|n| !n.integer));
        let err = read(r#"{"s": {"k": "v",}}"#, &mut d).unwrap_err();
        assert_eq!(err.kind, InputErrorKind::Syntax);
        assert_eq!(read("[1]", &mut d).unwrap_err().kind, InputErrorKind::Shape);
        let deep = "[".repeat(100_000);
        assert_eq!(
            read(&deep, &mut d).unwrap_err().kind,
            InputErrorKind::Syntax
        );
    }
}
