//! Every diagnostic points at the offending bytes in cfg, JSON and YAML.
//!
//! Each cfg export below is rewritten as JSON (plain, and with every
//! character but letters, digits and spaces written as a `\u` escape) and as
//! YAML (double- and single-quoted scalars). Each diagnostic of the cfg
//! version must appear in the rewritten file with its span on the same text
//! once decoded — through escapes, quotes and all.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use scapi::rules::Code;
use scapi_testkit::{cases, root};

#[derive(Clone, Copy, Debug)]
enum Style {
    Json,
    JsonEscaped,
    YamlDouble,
    YamlSingle,
}

fn json_string(s: &str, escape_all: bool) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || (escape_all && !(c.is_ascii_alphanumeric() || c == ' ')) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn render(export: &scapi::input::Export, style: Style) -> String {
    let mut out = String::new();
    match style {
        Style::Json | Style::JsonEscaped => {
            let esc = matches!(style, Style::JsonEscaped);
            out.push_str("{\n");
            for (i, s) in export.sections.iter().enumerate() {
                out.push_str(&format!("  {}: {{\n", json_string(&s.name, false)));
                for (j, o) in s.options.iter().enumerate() {
                    let comma = if j + 1 < s.options.len() { "," } else { "" };
                    out.push_str(&format!(
                        "    {}: {}{comma}\n",
                        json_string(&o.key, false),
                        json_string(&o.value, esc)
                    ));
                }
                out.push_str(if i + 1 < export.sections.len() {
                    "  },\n"
                } else {
                    "  }\n"
                });
            }
            out.push_str("}\n");
        }
        Style::YamlDouble | Style::YamlSingle => {
            for s in &export.sections {
                out.push_str(&format!("{}:\n", s.name));
                for o in &s.options {
                    let v = match style {
                        Style::YamlDouble => json_string(&o.value, false),
                        _ => format!("'{}'", o.value.replace('\'', "''")),
                    };
                    out.push_str(&format!("  {}: {v}\n", o.key));
                }
            }
        }
    }
    out
}

/// The text a span covers, decoded from the way it is written.
fn decoded(text: &str, span: scapi::source::Span, style: Style) -> String {
    let raw = &text[span.range()];
    match style {
        Style::Json | Style::JsonEscaped | Style::YamlDouble => {
            serde_json::from_str(&format!("\"{raw}\"")).unwrap_or_else(|_| raw.to_string())
        }
        Style::YamlSingle => raw.replace("''", "'"),
    }
}

/// Rules that only exist in cfg files, or whose span covers text the
/// rewriting does not keep (repeated keys are merged when read).
fn cfg_only(code: Code) -> bool {
    matches!(
        code,
        Code::DuplicateKey
            | Code::MalformedLine
            | Code::BadSectionHeader
            | Code::SuppressionWithoutReason
            | Code::UnusedSuppression
            | Code::InvalidSuppression
    )
}

#[test]
fn diagnostics_point_at_the_same_text_in_every_format() {
    let mut inputs = vec![root().join("examples/broken.cfg")];
    for dir in cases("lint") {
        let p = dir.join("input.cfg");
        if p.exists() && !dir.join("args").exists() {
            inputs.push(p);
        }
    }
    let mut compared = 0;
    for path in inputs {
        let bytes = std::fs::read(&path).unwrap();
        let Ok(read) = scapi::input::read("x.cfg", &bytes, Default::default()) else {
            continue;
        };
        let cfg = scapi::compile("x.cfg", &bytes, &scapi::Options::default());
        for style in [
            Style::Json,
            Style::JsonEscaped,
            Style::YamlDouble,
            Style::YamlSingle,
        ] {
            let text = render(&read.export, style);
            let name = if matches!(style, Style::Json | Style::JsonEscaped) {
                "x.json"
            } else {
                "x.yaml"
            };
            let other = scapi::compile(name, text.as_bytes(), &scapi::Options::default());
            let mut pool: Vec<_> = other.diagnostics.clone();
            for d in cfg
                .diagnostics
                .iter()
                .filter(|d| d.located && !cfg_only(d.code))
            {
                let want = cfg.source.slice(d.span).to_string();
                let Some(pos) = pool
                    .iter()
                    .position(|o| o.code == d.code && o.message == d.message)
                else {
                    panic!(
                        "{} as {style:?}: no counterpart for {} `{}`\n{text}",
                        path.display(),
                        d.code,
                        d.message
                    );
                };
                let o = pool.remove(pos);
                let got = decoded(other.source.text(), o.span, style);
                assert_eq!(
                    got,
                    want,
                    "{} as {style:?}: {} `{}` points elsewhere\n{text}",
                    path.display(),
                    d.code,
                    d.message
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 100, "only {compared} diagnostics compared");
}
