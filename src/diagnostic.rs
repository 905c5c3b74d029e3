//! The diagnostic model shared by every phase.
//!
//! A [`Diagnostic`] has a stable [`Code`], a severity, one short lowercase
//! message, a primary span (with an optional label), secondary labels, a
//! `help` saying the fix, and — where the fix is mechanical — a
//! machine-applicable [`Fix`]. Phases push diagnostics into a [`Diagnostics`]
//! sink and keep going; nothing here renders (see [`crate::render`]).

use crate::rules::Code;
use crate::source::Span;
use serde::Serialize;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never fails a lint run.
    Info,
    /// Probably a mistake, or risky.
    Warning,
    /// Certainly a mistake: the option does not do what it seems to.
    Error,
}

impl Severity {
    /// `error`, `warning` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A secondary location with a short note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What is there.
    pub message: String,
}

/// A machine-applicable fix: replace the bytes of `span` with `replacement`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// The bytes to replace.
    pub span: Span,
    /// What to write instead.
    pub replacement: String,
}

/// One finding in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rule.
    pub code: Code,
    /// The severity (the rule's default unless configured).
    pub severity: Severity,
    /// One short lowercase sentence, user input in backticks.
    pub message: String,
    /// The offending bytes.
    pub span: Span,
    /// A note on the primary span.
    pub label: Option<String>,
    /// Other places involved.
    pub secondary: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
    /// The fix, when it can be applied mechanically.
    pub fix: Option<Fix>,
    /// Whether the finding is about a place in the file; `false` for the
    /// file as a whole (then `span` is empty at offset 0 and renderers show
    /// no snippet).
    pub located: bool,
}

impl Diagnostic {
    /// A diagnostic with the rule's default severity.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.default_severity(),
            message: message.into(),
            span,
            label: None,
            secondary: Vec::new(),
            help: None,
            fix: None,
            located: true,
        }
    }

    /// A finding about the whole file rather than a place in it.
    pub fn file_level(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            located: false,
            ..Diagnostic::new(code, Span::point(0), message)
        }
    }

    /// Sets the primary label.
    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    /// Adds a secondary label.
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Sets the help text.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Sets a machine-applicable fix.
    pub fn fix(mut self, span: Span, replacement: impl Into<String>) -> Diagnostic {
        self.fix = Some(Fix {
            span,
            replacement: replacement.into(),
        });
        self
    }

    /// Sets a fix only when `fix` is `Some`.
    pub fn maybe_fix(self, fix: Option<Fix>) -> Diagnostic {
        match fix {
            Some(f) => self.fix(f.span, f.replacement),
            None => self,
        }
    }
}

/// A sink phases push diagnostics into. They keep going after errors, so a
/// single run reports every problem.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty sink.
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    /// Records a diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// The diagnostics so far.
    pub fn as_slice(&self) -> &[Diagnostic] {
        &self.items
    }

    /// The diagnostics sorted by position, then code, with exact repeats
    /// removed.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        sort_diagnostics(&mut self.items);
        self.items
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<T: IntoIterator<Item = Diagnostic>>(&mut self, iter: T) {
        self.items.extend(iter);
    }
}

/// Sorts by position then code, and removes exact repeats.
pub fn sort_diagnostics(items: &mut Vec<Diagnostic>) {
    items.sort_by(|a, b| {
        (a.span.start, a.span.end, a.code).cmp(&(b.span.start, b.span.end, b.code))
    });
    items.dedup();
}

/// Counts by severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
    /// Infos.
    pub infos: usize,
}

impl Counts {
    /// Counts the given diagnostics.
    pub fn of<'a>(items: impl IntoIterator<Item = &'a Diagnostic>) -> Counts {
        let mut c = Counts::default();
        for d in items {
            match d.severity {
                Severity::Error => c.errors += 1,
                Severity::Warning => c.warnings += 1,
                Severity::Info => c.infos += 1,
            }
        }
        c
    }

    /// Adds another count.
    pub fn add(&mut self, other: Counts) {
        self.errors += other.errors;
        self.warnings += other.warnings;
        self.infos += other.infos;
    }
}
