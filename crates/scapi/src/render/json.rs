//! `lint --format json`: one document with every diagnostic of
//! every file, positions both as 1-based line/column (characters) and as
//! byte offset/length in the file.

use super::FileDiagnostics;
use crate::diagnostic::{Counts, Diagnostic};
use crate::source::SourceFile;
use serde::Serialize;

/// The lint report document.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LintReport {
    /// Always 1 for this format.
    pub schema_version: u32,
    /// The tool.
    pub tool: Tool,
    /// The configuration file (`scapi.toml`) the run read, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration: Option<String>,
    /// Every diagnostic, file by file, in position order.
    pub diagnostics: Vec<JsonDiagnostic>,
    /// Counts.
    pub summary: LintSummary,
}

/// Tool identification.
#[derive(Clone, Debug, Serialize)]
pub struct Tool {
    /// `scapi`.
    pub name: &'static str,
    /// The crate version.
    pub version: &'static str,
}

impl Tool {
    /// This build of scapi.
    pub fn this() -> Tool {
        Tool {
            name: "scapi",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// One diagnostic.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonDiagnostic {
    /// Stable rule code.
    pub code: &'static str,
    /// `error`, `warning` or `info`.
    pub severity: &'static str,
    /// The message.
    pub message: String,
    /// The file as given.
    pub file: String,
    /// 1-based line of the start.
    pub line: usize,
    /// 1-based column of the start, in characters.
    pub column: usize,
    /// 1-based line of the end.
    pub end_line: usize,
    /// 1-based column just past the end, in characters.
    pub end_column: usize,
    /// Byte offset in the file.
    pub offset: usize,
    /// Length in bytes.
    pub length: usize,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The machine-applicable fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<JsonFix>,
    /// On the closing finding of a rule over the limit per rule: how many
    /// of its findings are not listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A fix: replace `length` bytes at `offset` with `replacement`. A fix of
/// several places also lists them in `edits` (the same change, so that it
/// combines with fixes in between).
#[derive(Clone, Debug, Serialize)]
pub struct JsonFix {
    /// Text to write.
    pub replacement: String,
    /// Byte offset in the file.
    pub offset: usize,
    /// Bytes to replace.
    pub length: usize,
    /// The change place by place, when it has several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<JsonEdit>,
    /// `safe`: `lint --fix` applies it; `unsafe`: only with
    /// `--unsafe-fixes` (it grants something the file does not name).
    pub applicability: &'static str,
}

/// One place a fix changes.
#[derive(Clone, Debug, Serialize)]
pub struct JsonEdit {
    /// Text to write.
    pub replacement: String,
    /// Byte offset in the file.
    pub offset: usize,
    /// Bytes to replace.
    pub length: usize,
}

/// Counts.
#[derive(Clone, Debug, Serialize)]
pub struct LintSummary {
    /// Files linted.
    pub files: usize,
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
    /// Infos.
    pub infos: usize,
}

/// One diagnostic with its positions resolved against its file.
pub(crate) fn json_diagnostic(source: &SourceFile, d: &Diagnostic) -> JsonDiagnostic {
    let start = source.line_col(d.span.start);
    let end = source.line_col(d.span.end);
    // A finding about the whole file sits at the very start of it.
    let base = if d.located { source.base() } else { 0 };
    JsonDiagnostic {
        code: d.code.as_str(),
        severity: d.severity.as_str(),
        message: d.message.clone(),
        file: source.name().to_string(),
        line: start.line,
        column: start.column,
        end_line: end.line,
        end_column: end.column,
        offset: d.span.start + base,
        length: d.span.len(),
        help: d.help.clone(),
        fix: d.fix.as_ref().map(|f| JsonFix {
            replacement: f.replacement.clone(),
            offset: f.span.start + base,
            length: f.span.len(),
            edits: f
                .edits
                .iter()
                .map(|e| JsonEdit {
                    replacement: e.replacement.clone(),
                    offset: e.span.start + base,
                    length: e.span.len(),
                })
                .collect(),
            applicability: f.applicability.as_str(),
        }),
        omitted: d.omitted,
    }
}

/// The report for a lint run over these files.
pub fn report(files: &[FileDiagnostics]) -> LintReport {
    LintReport {
        diagnostics: all_diagnostics(files).collect(),
        ..shell(files)
    }
}

/// Writes [`report`]`(files).to_json()` without holding the report: each
/// diagnostic is converted and printed in turn.
pub fn write_report(
    files: &[FileDiagnostics],
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    write_report_configured(files, None, out)
}

/// [`write_report`] for a run configured by a file (`scapi.toml`), which
/// the report names (`configuration`).
pub fn write_report_configured(
    files: &[FileDiagnostics],
    configuration: Option<&str>,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let shell = LintReport {
        configuration: configuration.map(str::to_string),
        ..shell(files)
    };
    scapi_policy::jsonfmt::write_streamed(out, &shell, "/diagnostics", all_diagnostics(files))
}

fn all_diagnostics(files: &[FileDiagnostics]) -> impl Iterator<Item = JsonDiagnostic> + '_ {
    files
        .iter()
        .flat_map(|f| f.diagnostics.iter().map(|d| json_diagnostic(&f.source, d)))
}

/// The report without its diagnostics.
fn shell(files: &[FileDiagnostics]) -> LintReport {
    let mut counts = Counts::default();
    for f in files {
        counts.add(Counts::of(&f.diagnostics));
    }
    LintReport {
        schema_version: 1,
        tool: Tool::this(),
        configuration: None,
        diagnostics: Vec::new(),
        summary: LintSummary {
            files: files.len(),
            errors: counts.errors,
            warnings: counts.warnings,
            infos: counts.infos,
        },
    }
}

impl LintReport {
    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        scapi_policy::jsonfmt::to_string(self)
    }
}
