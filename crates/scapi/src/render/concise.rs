//! `lint --format concise`: one line per finding, as compilers and ruff's
//! concise output print them — `path:line:col: CODE message` — for a
//! terminal, `grep` or an editor's quickfix list. The path is the file as
//! given; a finding about the whole file is at `1:1`. The message and the
//! path are escaped as for a terminal (`exact`).

use super::FileDiagnostics;

/// The lines of a lint run.
pub fn lines(files: &[FileDiagnostics]) -> String {
    let mut out = String::new();
    for f in files {
        let path = super::exact(f.source.name());
        for d in &f.diagnostics {
            let (line, column) = if d.located {
                let at = f.source.line_col(d.span.start);
                (at.line, at.column)
            } else {
                (1, 1)
            };
            out.push_str(&format!(
                "{path}:{line}:{column}: {} {}\n",
                d.code,
                super::exact(&d.message)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_finding_at_its_place() {
        let text =
            "service-client-api.accepted-web-content-origins=https://crm.example.com/\u{1b}[31m\n";
        let c = crate::compile("wwews.cfg", text.as_bytes(), &crate::Options::default());
        let out = lines(&[FileDiagnostics::of(c)]);
        assert!(!out.is_empty());
        for l in out.lines() {
            let mut parts = l.splitn(4, ':');
            assert_eq!(parts.next(), Some("wwews.cfg"), "{l}");
            assert!(parts.next().unwrap().parse::<usize>().is_ok(), "{l}");
            assert!(parts.next().unwrap().parse::<usize>().is_ok(), "{l}");
            assert!(parts.next().unwrap().starts_with(" SC"), "{l}");
            assert!(!l.contains('\u{1b}'), "{l}");
        }
    }
}
