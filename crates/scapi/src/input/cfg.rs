//! The cfg / ini reader (GAX exports).
//!
//! `[section]` headers, `key=value` lines, `;` or `#` comment lines and blank
//! lines; CRLF line ends. Keys before any header belong to
//! `interaction-workspace`, so the vendor's `key=value` snippets are valid
//! files. Values are taken verbatim (no escapes, no inline comments: a `;`
//! inside a value is part of it) with surrounding blanks trimmed.

use super::{Comment, Export, ExportBuilder, OptionEntry};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::rules::Code;
use crate::source::{SourceFile, Span, Text, ValueMap};

const BLANKS: &[char] = &[' ', '\t'];

/// Reads a cfg export; never fails, problems become diagnostics.
pub(crate) fn read(source: &SourceFile, diags: &mut Diagnostics) -> Export {
    let text = source.text();
    let mut b = ExportBuilder::default();
    let mut start = 0;
    for (index, raw) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let line_start = start;
        start += raw.len() + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let content = line.trim_matches(BLANKS);
        let lead = line.len() - line.trim_start_matches(BLANKS).len();
        let content_span = Span::new(line_start + lead, line_start + lead + content.len());
        if content.is_empty() {
            continue;
        }
        if let Some(rest) = content
            .strip_prefix(';')
            .or_else(|| content.strip_prefix('#'))
        {
            b.comment(Comment {
                line: line_no,
                span: content_span,
                text: rest.trim().to_string(),
            });
            continue;
        }
        if content.starts_with('[') {
            header(content, content_span, source.line_break(), &mut b, diags);
            continue;
        }
        let Some(eq) = content.find('=') else {
            if let Some(entry) = colon_option(source, content, content_span, diags) {
                b.option(entry, diags);
                continue;
            }
            diags.push(
                Diagnostic::new(Code::MalformedLine, content_span, "line has no `=`")
                    .label("expected `key=value`")
                    .help("write `key=value`, or start the line with `;` to make it a comment"),
            );
            continue;
        };
        let key_raw = content.get(..eq).unwrap_or("");
        let key = key_raw.trim_end_matches(BLANKS);
        let key_span = Span::new(content_span.start, content_span.start + key.len());
        if key.is_empty() {
            diags.push(
                Diagnostic::new(
                    Code::MalformedLine,
                    Span::new(content_span.start, content_span.start + 1),
                    "option has no name",
                )
                .label("nothing before `=`")
                .help("write the option name before `=`"),
            );
            continue;
        }
        let after = content.get(eq + 1..).unwrap_or("");
        let value = after.trim_start_matches(BLANKS);
        let value_start = content_span.start + eq + 1 + (after.len() - value.len());
        let value_span = Span::new(value_start, value_start + value.len());
        b.option(
            OptionEntry {
                key: key.to_string(),
                key_span,
                value: Text::slice(source, value_span),
                value_span,
                map: ValueMap::Direct { base: value_start },
                non_string: None,
            },
            diags,
        );
    }
    b.finish()
}

/// `key: value` — an option written the YAML way. Reported with a fix, and
/// read as the option it was meant to be, so its value is checked too.
fn colon_option(
    source: &SourceFile,
    content: &str,
    span: Span,
    diags: &mut Diagnostics,
) -> Option<OptionEntry> {
    let colon = content.find(':')?;
    let key = content.get(..colon)?.trim_end_matches(BLANKS);
    let after = content.get(colon + 1..)?;
    let is_name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    // `https://…` or `a b: c` are not options written with a colon.
    if key.is_empty()
        || !key.chars().all(is_name)
        || !(after.is_empty() || after.starts_with(BLANKS))
    {
        return None;
    }
    let value = after.trim_start_matches(BLANKS);
    let key_span = Span::new(span.start, span.start + key.len());
    let sep = Span::new(key_span.end, span.start + content.len() - value.len());
    let value_span = Span::new(sep.end, span.end);
    diags.push(
        Diagnostic::new(
            Code::MalformedLine,
            sep,
            format!("option `{key}` is written with `:`"),
        )
        .label("cfg options are written `key=value`")
        .help(format!("use `=`: `{key}={value}`"))
        .fix(sep, "="),
    );
    Some(OptionEntry {
        key: key.to_string(),
        key_span,
        value: Text::slice(source, value_span),
        value_span,
        map: ValueMap::Direct {
            base: value_span.start,
        },
        non_string: None,
    })
}

fn header(content: &str, span: Span, eol: &str, b: &mut ExportBuilder, diags: &mut Diagnostics) {
    let Some(close) = content.find(']') else {
        diags.push(
            Diagnostic::new(Code::BadSectionHeader, span, "section header is not closed")
                .label("no `]`")
                .help("close the header with `]`")
                .fix(Span::point(span.end), "]"),
        );
        // Still switch sections, so options below are not misattributed.
        let name = content.get(1..).unwrap_or("").trim_matches(BLANKS);
        if !name.is_empty() {
            b.section(name, Some(Span::new(span.end - name.len(), span.end)));
        }
        return;
    };
    let inner = content.get(1..close).unwrap_or("");
    let name = inner.trim_matches(BLANKS);
    let name_start = span.start + 1 + (inner.len() - inner.trim_start_matches(BLANKS).len());
    let name_span = Span::new(name_start, name_start + name.len());
    let trailing = content.get(close + 1..).unwrap_or("");
    // A bare CR is no line break here, but some readers take it for one:
    // a file with them is not one to rewrite (the "text" would be the
    // rest of the export).
    let movable = !trailing.contains('\r');
    if !trailing.trim_matches(BLANKS).is_empty() {
        let t = trailing.trim_start_matches(BLANKS);
        let t_start = span.start + close + 1 + (trailing.len() - t.len());
        let d = Diagnostic::new(
            Code::BadSectionHeader,
            Span::new(t_start, span.end),
            "text after the section header",
        )
        .label("not part of the header")
        .help("put the section header alone on its line");
        diags.push(if !movable {
            d
        } else {
            // What a person wrote is moved, never dropped: to a comment line
            // of its own above the header.
            d.fix_moving(
                Span::point(span.start),
                if t.starts_with([';', '#']) {
                    format!("{t}{eol}")
                } else {
                    format!("; {t}{eol}")
                },
                Span::new(span.start + close + 1, span.end),
                content.get(..close + 1).unwrap_or(""),
            )
        });
    }
    if name.is_empty() {
        diags.push(
            Diagnostic::new(Code::BadSectionHeader, span, "section header has no name").help(
                "write the section name between the brackets, e.g. `[interaction-workspace]`",
            ),
        );
        return;
    }
    b.section(name, Some(name_span));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads text as a file named `t`.
    fn read(text: &str, diags: &mut Diagnostics) -> Export {
        super::read(&SourceFile::new("t", text), diags)
    }

    #[test]
    fn keys_before_header_are_main_section() {
        let mut d = Diagnostics::new();
        let e = read("a = b \r\n[x]\nc=d\n", &mut d);
        assert!(d.is_empty());
        assert_eq!(e.sections[0].name, "interaction-workspace");
        let a = &e.sections[0].options[0];
        assert_eq!((a.key.as_str(), a.value.as_str()), ("a", "b"));
        assert_eq!(a.value_span, Span::new(4, 5));
        assert_eq!(e.sections[1].options[0].key, "c");
    }

    #[test]
    fn reports_every_bad_line() {
        let mut d = Diagnostics::new();
        let e = read("[s\nnoequals\n=v\n[]\n[t] junk\nk=1\nk=2\n", &mut d);
        let codes: Vec<_> = d.iter().map(|x| x.code).collect();
        assert_eq!(
            codes,
            vec![
                Code::BadSectionHeader,
                Code::MalformedLine,
                Code::MalformedLine,
                Code::BadSectionHeader,
                Code::BadSectionHeader,
                Code::DuplicateKey
            ]
        );
        assert_eq!(e.section("t").unwrap().get("k").unwrap().value, "2");
    }
}
