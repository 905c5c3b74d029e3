//! `lint --format github`: GitHub Actions workflow commands, one annotation
//! per finding:
//! `::error file=F,line=L,col=C,endLine=L2,endColumn=C2,title=CODE::message`.
//!
//! Values are escaped as the runner expects (`%`, CR and LF everywhere; `:`
//! and `,` in properties too). Text from the export (a message quotes it)
//! and the file name first have every control, invisible or bidirectional
//! character written as an escape (`\u{1b}`), so nothing in an export can
//! drive the log's terminal or hide text in it. Errors become `::error`,
//! warnings `::warning`, infos `::notice`; the help follows the message on
//! its own line.

use super::FileDiagnostics;
use crate::diagnostic::Severity;

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The annotations of a lint run, one per line.
pub fn annotations(files: &[FileDiagnostics]) -> String {
    let mut out = String::new();
    for f in files {
        for d in &f.diagnostics {
            let command = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            let mut props = vec![format!(
                "file={}",
                escape_property(&super::exact(f.source.name()))
            )];
            if d.located {
                let start = f.source.line_col(d.span.start);
                let end = f.source.line_col(d.span.end);
                props.push(format!("line={}", start.line));
                props.push(format!("col={}", start.column));
                props.push(format!("endLine={}", end.line));
                props.push(format!("endColumn={}", end.column));
            }
            props.push(format!("title={}", d.code));
            let mut message = super::exact(&d.message).into_owned();
            if let Some(help) = &d.help {
                message.push_str("\nhelp: ");
                message.push_str(&super::exact(help));
            }
            out.push_str(&format!(
                "::{command} {}::{}\n",
                props.join(","),
                escape_data(&message)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape_data("a%b\r\nc"), "a%25b%0D%0Ac");
        assert_eq!(escape_property("x:y,z"), "x%3Ay%2Cz");
    }

    #[test]
    fn nothing_from_an_export_reaches_the_log_raw() {
        let text = "service-client-api.accepted-web-content-origins=https://a\u{1b}[31mred\u{202e}.example\rx\n";
        let c = crate::compile(
            "e\u{1b}]0;t\u{7}.cfg",
            text.as_bytes(),
            &crate::Options::default(),
        );
        let out = annotations(&[FileDiagnostics::of(c)]);
        assert!(!out.is_empty());
        for line in out.lines() {
            assert!(
                !line
                    .chars()
                    .any(|c| c.is_control() || crate::syntax::is_invisible(c)),
                "{line:?}"
            );
            assert!(line.starts_with("::"), "{line:?}");
        }
        assert!(out.contains("\\u{1b}"), "{out}");
    }
}
