//! `lint --format junit`: JUnit XML, as Jenkins and GitLab read test
//! reports. One `<testsuite>` per file; in it one `<testcase>` per finding
//! (a `<failure>` when the finding fails the run, at or above the fail
//! level; a passing case noting it otherwise), or one passing case for a
//! clean file. Conforms to Jenkins' `junit-10.xsd`
//! (`tests/schemas/junit-10.xsd`).

use super::FileDiagnostics;
use crate::diagnostic::{Diagnostic, Severity};
use std::fmt::Write as _;

/// Text and attribute values escaped for XML 1.0; characters XML cannot
/// hold at all (most C0 controls) are written as `\u{…}`.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn location(f: &FileDiagnostics, d: &Diagnostic) -> String {
    if d.located {
        let at = f.source.line_col(d.span.start);
        format!("{}:{}:{}", f.source.name(), at.line, at.column)
    } else {
        f.source.name().to_string()
    }
}

/// The JUnit XML report of a lint run; findings at or above `fail_level`
/// are failures.
pub fn report(files: &[FileDiagnostics], fail_level: Severity) -> String {
    let fails = |d: &Diagnostic| d.severity >= fail_level;
    let tests: usize = files.iter().map(|f| f.diagnostics.len().max(1)).sum();
    let failures: usize = files
        .iter()
        .map(|f| f.diagnostics.iter().filter(|d| fails(d)).count())
        .sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"scapi lint\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">"
    );
    for f in files {
        let name = escape(f.source.name());
        let file_failures = f.diagnostics.iter().filter(|d| fails(d)).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{name}\" file=\"{name}\" tests=\"{}\" failures=\"{file_failures}\" errors=\"0\" skipped=\"0\">",
            f.diagnostics.len().max(1)
        );
        if f.diagnostics.is_empty() {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{name}\" name=\"no problems\"/>"
            );
        }
        for d in &f.diagnostics {
            let at = location(f, d);
            let case = escape(&format!("{} {} at {at}", d.code, d.code.name()));
            let mut body = format!("{}: {}\n  --> {at}", d.severity.as_str(), d.message);
            if let Some(help) = &d.help {
                let _ = write!(body, "\nhelp: {help}");
            }
            if fails(d) {
                let _ = writeln!(
                    out,
                    "    <testcase classname=\"{name}\" name=\"{case}\">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                    d.code,
                    escape(&d.message),
                    escape(&body)
                );
            } else {
                let _ = writeln!(
                    out,
                    "    <testcase classname=\"{name}\" name=\"{case}\">\n      <system-out>{}</system-out>\n    </testcase>",
                    escape(&body)
                );
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_controls_are_escaped() {
        assert_eq!(
            escape("<a href='x'>&\"\n"),
            "&lt;a href=&apos;x&apos;&gt;&amp;&quot;&#10;"
        );
        assert_eq!(escape("a\u{1}b"), "a\\u{1}b");
    }
}
