//! `lint --format gitlab`: a GitLab Code Quality report (the subset of the
//! Code Climate issue format GitLab reads): one issue per finding, with a
//! fingerprint that stays the same while the finding does
//! ([`crate::baseline`]), so merge requests show findings as new, fixed or
//! unchanged. Conforms to `tests/schemas/gitlab-codequality.schema.json`.

use super::FileDiagnostics;
use crate::diagnostic::Severity;
use serde::Serialize;

/// One Code Quality issue.
#[derive(Clone, Debug, Serialize)]
pub struct Issue {
    /// The message and its help.
    pub description: String,
    /// `SC0103 origin-has-path`.
    pub check_name: String,
    /// Stable across runs while the finding stays.
    pub fingerprint: String,
    /// `blocker` for errors, `minor` for warnings, `info` for infos.
    pub severity: &'static str,
    /// Where.
    pub location: IssueLocation,
}

/// Where an issue is.
#[derive(Clone, Debug, Serialize)]
pub struct IssueLocation {
    /// The file, as given to `lint`.
    pub path: String,
    /// The lines.
    pub lines: Lines,
}

/// First line (and last) of an issue.
#[derive(Clone, Debug, Serialize)]
pub struct Lines {
    /// 1-based.
    pub begin: usize,
    /// 1-based.
    pub end: usize,
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "blocker",
        Severity::Warning => "minor",
        Severity::Info => "info",
    }
}

/// The issues of a lint run.
pub(crate) fn issues(files: &[FileDiagnostics]) -> Vec<Issue> {
    let mut out = Vec::new();
    for f in files {
        let keys = crate::baseline::keys(&f.source, &f.diagnostics);
        for (d, (key, n)) in f.diagnostics.iter().zip(keys) {
            let (begin, end) = if d.located {
                (
                    f.source.line_col(d.span.start).line,
                    f.source.line_col(d.span.end).line,
                )
            } else {
                (1, 1)
            };
            let mut description = d.message.clone();
            if let Some(help) = &d.help {
                description.push_str("; help: ");
                description.push_str(help);
            }
            out.push(Issue {
                description,
                check_name: format!("{} {}", d.code, d.code.name()),
                fingerprint: crate::baseline::fingerprint(&key, n),
                severity: severity(d.severity),
                location: IssueLocation {
                    path: crate::baseline::normal_path(f.source.name()),
                    lines: Lines { begin, end },
                },
            });
        }
    }
    out
}

/// The report as pretty JSON with a final newline.
pub fn report(files: &[FileDiagnostics]) -> String {
    scapi_policy::jsonfmt::to_string(&issues(files))
}
