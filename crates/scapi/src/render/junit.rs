//! `lint --format junit`: JUnit XML, as Jenkins and GitLab read test
//! reports. One `<testsuite>` per file; in it one `<testcase>` per finding
//! (a `<failure>` when the finding fails the run, at or above the fail
//! level; a passing case noting it otherwise), or one passing case for a
//! clean file. A test case is named by the finding's identity — rule,
//! option and fingerprint (see [`crate::baseline`]), never its line — so a
//! CI history follows a finding when lines move; the location is in its
//! body. Conforms to Jenkins' `junit-10.xsd` (`tests/schemas/junit-10.xsd`).

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
        let keys = crate::baseline::keys(&f.source, &f.diagnostics);
        for (d, (key, occurrence)) in f.diagnostics.iter().zip(&keys) {
            let at = location(f, d);
            let print = crate::baseline::fingerprint(key, *occurrence);
            let short = print.get(..12).unwrap_or(&print);
            let case = if key.option.is_empty() {
                format!("{} {} [{short}]", d.code, d.code.name())
            } else {
                format!("{} {} in {} [{short}]", d.code, d.code.name(), key.option)
            };
            let case = escape(&case);
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

    fn names(text: &str) -> Vec<String> {
        let c = crate::compile("wwews.cfg", text.as_bytes(), &crate::Options::default());
        report(&[FileDiagnostics::of(c)], Severity::Warning)
            .lines()
            .filter_map(|l| {
                l.split_once("<testcase ")?
                    .1
                    .split_once(" name=\"")?
                    .1
                    .split_once('"')
            })
            .map(|(name, _)| name.to_string())
            .collect()
    }

    #[test]
    fn case_names_stay_when_lines_move() {
        let option = "service-client-api.accepted-web-content-origins=http://crm.example.com/app (agent.*)\n";
        let before = names(&format!("[interaction-workspace]\n{option}"));
        let after = names(&format!(
            "; moved\n\n[interaction-workspace]\nother.option=1\n{option}"
        ));
        assert!(!before.is_empty());
        assert!(
            before.iter().all(|n| n.contains(
                " in interaction-workspace/service-client-api.accepted-web-content-origins ["
            )),
            "{before:?}"
        );
        assert_eq!(before, after);
    }
}
