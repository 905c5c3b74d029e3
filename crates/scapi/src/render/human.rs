//! Human rendering through miette: all diagnostics of a file in one report
//! (each one a related diagnostic with its labels, help and code), then a
//! one-line summary.

use super::FileDiagnostics;
use super::excerpt::Excerpt;
use crate::diagnostic::{Counts, Diagnostic, Severity};
use crate::source::SourceFile;
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan};
use std::fmt;

/// How to draw reports.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// Use colours.
    pub color: bool,
    /// Wrap at this width.
    pub width: usize,
}

impl Style {
    /// Plain output at 80 columns: what tests and pipes get.
    pub fn plain() -> Style {
        Style {
            color: false,
            width: 80,
        }
    }
}

/// miette's renderer in a style.
fn handler(style: Style) -> GraphicalReportHandler {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false)
}

/// Renders one file's report; empty string when there is nothing to show.
pub fn render_file(file: &FileDiagnostics, style: Style) -> String {
    if file.diagnostics.is_empty() {
        return String::new();
    }
    let handler = handler(style);
    // A human reads the first few hundred; machine formats carry them all.
    // The closing counts of rules over their limit are always drawn.
    let (closing, listed): (Vec<&Diagnostic>, Vec<&Diagnostic>) =
        file.diagnostics.iter().partition(|d| d.omitted > 0);
    let not_drawn = listed.len().saturating_sub(MAX_SHOWN);
    let shown: Vec<&Diagnostic> = listed.into_iter().take(MAX_SHOWN).chain(closing).collect();
    let report = Report::new(
        &file.source,
        &file.diagnostics,
        &shown,
        style.width.saturating_sub(12).max(40),
    );
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        // Rendering into a String cannot fail; fall back to plain lines anyway.
        for d in shown {
            out.push_str(&format!(
                "{}: {} [{}]\n",
                d.severity.as_str(),
                d.message,
                d.code
            ));
        }
    }
    if not_drawn > 0 {
        out.push_str(&format!(
            "… and {not_drawn} more in `{}`; `--format json` lists them all\n",
            file.source.name()
        ));
    }
    out
}

/// At most this many diagnostics of a file are drawn.
pub const MAX_SHOWN: usize = 200;

/// Renders a whole lint run: each file's report, then the summary line.
pub fn render_run(files: &[FileDiagnostics], style: Style) -> String {
    let mut counts = Counts::default();
    let mut out = String::new();
    for f in files {
        counts.add(Counts::of(&f.diagnostics));
        out.push_str(&render_file(f, style));
    }
    out.push_str(&summary(files.len(), counts));
    out
}

/// User input is quoted in messages; control, bidirectional and invisible
/// characters in it (an ANSI escape, a NUL, U+202E) are shown escaped so
/// they never reach the terminal.
fn printable(s: &str) -> String {
    if !s.chars().any(crate::syntax::is_invisible) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if crate::syntax::is_invisible(c) && c != '\n' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The closing summary line of a lint run.
pub fn summary(files: usize, counts: Counts) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    if counts.errors + counts.warnings + counts.infos == 0 {
        return format!("{}: no problems found\n", plural(files, "file"));
    }
    format!(
        "{}: {}, {}, {}\n",
        plural(files, "file"),
        plural(counts.errors, "error"),
        plural(counts.warnings, "warning"),
        plural(counts.infos, "info")
    )
}

/// A file's report: the header with every diagnostic as a related one.
struct Report {
    header: String,
    severity: Severity,
    related: Vec<One>,
}

impl Report {
    fn new(
        source: &SourceFile,
        diags: &[Diagnostic],
        shown: &[&Diagnostic],
        max_chars: usize,
    ) -> Report {
        let counts = Counts::of(diags);
        let mut parts = Vec::new();
        for (n, w) in [
            (counts.errors, "error"),
            (counts.warnings, "warning"),
            (counts.infos, "info"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {w}{}", if n == 1 { "" } else { "s" }));
            }
        }
        Report {
            header: format!("{}: {}", source.name(), parts.join(", ")),
            severity: diags
                .iter()
                .map(|d| d.severity)
                .max()
                .unwrap_or(Severity::Info),
            related: shown
                .iter()
                .map(|d| One::new(source, d, max_chars))
                .collect(),
        }
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette_severity(self.severity))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        Some(Box::new(
            self.related.iter().map(|d| d as &dyn miette::Diagnostic),
        ))
    }
}

fn miette_severity(s: Severity) -> miette::Severity {
    match s {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
        Severity::Info => miette::Severity::Advice,
    }
}

/// One diagnostic, as miette sees it: with its own excerpt of the source.
struct One {
    d: Diagnostic,
    /// `None` when there is no text to show (an unreadable file).
    excerpt: Option<Excerpt>,
}

impl One {
    fn new(source: &SourceFile, d: &Diagnostic, max_chars: usize) -> One {
        let spans: Vec<_> = std::iter::once(d.span)
            .chain(d.secondary.iter().map(|l| l.span))
            .collect();
        // A file too large or in the wrong encoding has no place to point at.
        let located = d.located && !source.text().is_empty();
        let excerpt = located.then(|| Excerpt::new(source, &spans, 1, max_chars));
        let mut d = d.clone();
        d.message = printable(&d.message);
        d.label = d.label.as_deref().map(printable);
        d.help = d.help.as_deref().map(printable);
        for l in &mut d.secondary {
            l.message = printable(&l.message);
        }
        One { d, excerpt }
    }
}

impl fmt::Debug for One {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl fmt::Display for One {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl std::error::Error for One {}

impl miette::Diagnostic for One {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.d.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(miette_severity(self.d.severity))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.d
            .help
            .as_ref()
            .map(|h| Box::new(h.as_str()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.excerpt.as_ref().map(|e| e as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let e = self.excerpt.as_ref()?;
        let primary = LabeledSpan::new_primary_with_span(self.d.label.clone(), e.map(self.d.span));
        let secondary = self
            .d
            .secondary
            .iter()
            .map(|l| LabeledSpan::new_with_span(Some(l.message.clone()), e.map(l.span)));
        Some(Box::new(std::iter::once(primary).chain(secondary)))
    }
}

/// An error about a place in a file that is not an export (a configuration
/// file): the message, the snippet with the place labelled, and the help.
pub fn render_located_error(
    name: &str,
    text: &str,
    range: std::ops::Range<usize>,
    message: &str,
    label: &str,
    help: Option<&str>,
    style: Style,
) -> String {
    let handler = handler(style);
    let mut d = miette::MietteDiagnostic::new(message.to_string())
        .with_severity(miette::Severity::Error)
        .with_label(miette::LabeledSpan::at(range, label.to_string()));
    if let Some(h) = help {
        d = d.with_help(h.to_string());
    }
    let report =
        miette::Report::new(d).with_source_code(miette::NamedSource::new(name, text.to_string()));
    let mut out = String::new();
    if handler.render_report(&mut out, report.as_ref()).is_err() {
        out = format!("error: {message}\n");
    }
    out
}
