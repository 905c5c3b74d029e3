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
use std::collections::BTreeMap;

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

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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

/// A machine-applicable fix: replace the bytes of `span` with
/// `replacement`.
///
/// A fix that changes a few places of a longer stretch (the two quotes
/// around a value) also lists its `edits`: the same change, made only where
/// text changes, so that other fixes inside the stretch still apply with
/// it. `span` and `replacement` then cover the whole stretch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// The bytes to replace.
    pub span: Span,
    /// What to write instead.
    pub replacement: String,
    /// The change edit by edit, sorted and disjoint, when it has more than
    /// one; empty otherwise.
    pub edits: Vec<Edit>,
    /// Whether `lint --fix` applies it on its own.
    pub applicability: Applicability,
}

impl Fix {
    /// A safe fix that inserts `inserted` at the point `at` and deletes
    /// `deleted`, a later stretch; `kept` is the unchanged text between.
    pub fn moving(at: Span, inserted: String, deleted: Span, kept: &str) -> Fix {
        Fix {
            span: Span::new(at.start, deleted.end),
            replacement: format!("{inserted}{kept}"),
            edits: vec![
                Edit {
                    span: at,
                    replacement: inserted,
                },
                Edit {
                    span: deleted,
                    replacement: String::new(),
                },
            ],
            applicability: Applicability::Safe,
        }
    }
}

/// Whether a fix only restates what the file says, or changes what it
/// grants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Applicability {
    /// The fix restates what the file already names in the form the
    /// runtime needs (canonical origin spelling, a trailing slash or path
    /// removed, the case of a request name, quotes, separators, a repeated
    /// item removed): `lint --fix` applies it.
    #[default]
    Safe,
    /// The fix grants something the file does not name (an origin added, a
    /// did-you-mean replacement, a structure guessed): `lint --fix` applies
    /// it only with `--unsafe-fixes`.
    Unsafe,
}

impl Applicability {
    /// `safe` or `unsafe`, as reports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
        }
    }
}

/// One replacement of a multi-part [`Fix`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// The bytes to replace.
    pub span: Span,
    /// What to write instead.
    pub replacement: String,
}

impl Fix {
    /// The fix as replacements: its `edits`, or the one replacement.
    pub fn parts(&self) -> Vec<Edit> {
        if self.edits.is_empty() {
            vec![Edit {
                span: self.span,
                replacement: self.replacement.clone(),
            }]
        } else {
            self.edits.clone()
        }
    }

    /// Whether the fix only deletes text.
    pub fn is_deletion(&self) -> bool {
        self.replacement.is_empty() && self.edits.is_empty()
    }
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
    /// For the closing finding of a rule that went over the limit per rule:
    /// how many of its findings are not listed (0 for every other finding).
    pub omitted: usize,
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
            omitted: 0,
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
            edits: Vec::new(),
            applicability: Applicability::Safe,
        });
        self
    }

    /// Marks the fix unsafe: it grants something the file does not name,
    /// so `lint --fix` applies it only with `--unsafe-fixes`.
    pub fn unsafe_fix(mut self) -> Diagnostic {
        if let Some(f) = &mut self.fix {
            f.applicability = Applicability::Unsafe;
        }
        self
    }

    /// Sets a fix that removes a few stretches of `span`, which then reads
    /// `replacement` (the quotes around a value: `"a, b"` → `a, b`).
    pub fn fix_deleting(
        mut self,
        span: Span,
        replacement: impl Into<String>,
        deleted: &[Span],
    ) -> Diagnostic {
        if let [one] = deleted {
            return self.fix(*one, "");
        }
        let mut edits: Vec<Edit> = deleted
            .iter()
            .map(|&span| Edit {
                span,
                replacement: String::new(),
            })
            .collect();
        edits.sort_by_key(|e| e.span.start);
        self.fix = Some(Fix {
            span,
            replacement: replacement.into(),
            edits,
            applicability: Applicability::Safe,
        });
        self
    }

    /// Sets a fix that inserts `inserted` at the point `at` and deletes
    /// `deleted`, a later stretch (text moved to a line of its own above);
    /// `kept` is what stands between the two, unchanged.
    pub fn fix_moving(
        mut self,
        at: Span,
        inserted: String,
        deleted: Span,
        kept: &str,
    ) -> Diagnostic {
        self.fix = Some(Fix::moving(at, inserted, deleted, kept));
        self
    }
}

/// By default a file lists at most this many findings of one rule; the
/// rest are counted in one closing finding. A list of a million bad entries
/// must not cost a million diagnostics (about 500 bytes each).
pub const DEFAULT_MAX_PER_RULE: usize = 1000;

/// A sink phases push diagnostics into. They keep going after errors, so a
/// single run reports every problem — up to a number per rule, beyond which
/// findings are only counted, so memory stays bounded on any input.
#[derive(Clone, Debug)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    /// Findings per rule, indexed by the code's position in [`Code::ALL`].
    seen: Vec<usize>,
    /// At most this many findings of one rule are kept (0: no limit).
    max_per_rule: usize,
    /// Per rule beyond the limit: how many, and the worst severity.
    omitted: BTreeMap<Code, (usize, Severity)>,
    /// Every finding pushed, listed or not.
    pushed: usize,
}

impl Default for Diagnostics {
    fn default() -> Diagnostics {
        Diagnostics::with_limit(DEFAULT_MAX_PER_RULE)
    }
}

impl Diagnostics {
    /// An empty sink with the default limit per rule.
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    /// An empty sink keeping at most `max_per_rule` findings of each rule
    /// (0: every finding).
    pub fn with_limit(max_per_rule: usize) -> Diagnostics {
        Diagnostics {
            items: Vec::new(),
            seen: vec![0; Code::ALL.len()],
            max_per_rule,
            omitted: BTreeMap::new(),
            pushed: 0,
        }
    }

    /// Records a diagnostic, or only counts it when its rule has reached the
    /// limit.
    pub fn push(&mut self, d: Diagnostic) {
        self.pushed += 1;
        // A code's discriminant is its position in `Code::ALL`.
        if let Some(seen) = self.seen.get_mut(d.code as usize) {
            *seen += 1;
            if self.max_per_rule != 0 && *seen > self.max_per_rule {
                let o = self.omitted.entry(d.code).or_insert((0, d.severity));
                o.0 += 1;
                o.1 = o.1.max(d.severity);
                return;
            }
        }
        self.items.push(d);
    }

    /// Whether a new finding of `code` would be listed rather than only
    /// counted.
    pub fn lists(&self, code: Code) -> bool {
        self.max_per_rule == 0
            || self
                .seen
                .get(code as usize)
                .is_none_or(|&n| n < self.max_per_rule)
    }

    /// How many findings were pushed, listed or only counted.
    pub fn pushed(&self) -> usize {
        self.pushed
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
            || self.omitted.values().any(|(_, s)| *s == Severity::Error)
    }

    /// The diagnostics kept so far.
    pub fn as_slice(&self) -> &[Diagnostic] {
        &self.items
    }

    /// The diagnostics kept so far.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.omitted.is_empty()
    }

    /// The kept diagnostics (unsorted), and one file-level finding per rule
    /// that went over the limit, saying how many more there are.
    pub fn finish(self) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
        let limit = self.max_per_rule;
        let summaries = self
            .omitted
            .into_iter()
            .map(|(code, (n, severity))| {
                let more = if n == 1 { "finding" } else { "findings" };
                Diagnostic {
                    severity,
                    omitted: n,
                    ..Diagnostic::file_level(
                        code,
                        format!("{n} more `{code}` {more} in this file are not listed"),
                    )
                    .help(format!(
                        "the first {limit} are; fix those and lint again, or raise the limit with `--max-per-rule`"
                    ))
                }
            })
            .collect();
        (self.items, summaries)
    }
}

#[cfg(test)]
impl Diagnostics {
    /// The diagnostics sorted by position, then code, with exact repeats
    /// removed, followed by the findings about omitted ones.
    fn into_sorted(self) -> Vec<Diagnostic> {
        let (mut items, summaries) = self.finish();
        sort_diagnostics(&mut items);
        items.extend(summaries);
        items
    }
}

impl Extend<Diagnostic> for Diagnostics {
    fn extend<T: IntoIterator<Item = Diagnostic>>(&mut self, iter: T) {
        for d in iter {
            self.push(d);
        }
    }
}

/// Sorts by position then code, and removes exact repeats.
pub(crate) fn sort_diagnostics(items: &mut Vec<Diagnostic>) {
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
            // A closing finding stands for the findings it counts.
            let n = d.omitted.max(1);
            match d.severity {
                Severity::Error => c.errors += n,
                Severity::Warning => c.warnings += n,
                Severity::Info => c.infos += n,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_index_the_catalog() {
        for (i, &c) in Code::ALL.iter().enumerate() {
            assert_eq!(c as usize, i, "{c}");
        }
    }

    #[test]
    fn findings_over_the_limit_are_counted() {
        let mut d = Diagnostics::with_limit(2);
        for i in 0..5 {
            d.push(Diagnostic::new(
                Code::MissingScheme,
                Span::point(10 - i),
                "m",
            ));
        }
        d.push(Diagnostic::new(Code::DuplicateOrigin, Span::point(0), "d"));
        assert!(d.has_errors());
        let all = d.into_sorted();
        let codes: Vec<_> = all.iter().map(|x| (x.code, x.omitted)).collect();
        assert_eq!(
            codes,
            [
                (Code::DuplicateOrigin, 0),
                (Code::MissingScheme, 0),
                (Code::MissingScheme, 0),
                (Code::MissingScheme, 3)
            ]
        );
        // The first two found are kept, sorted; the count closes the list.
        assert_eq!(all[1].span, Span::point(9));
        assert!(!all[3].located);
        let counts = Counts::of(&all);
        assert_eq!(counts.errors + counts.warnings + counts.infos, 6);
        let mut none = Diagnostics::with_limit(0);
        none.extend((0..3000).map(|i| Diagnostic::new(Code::MissingScheme, Span::point(i), "m")));
        assert_eq!(none.into_sorted().len(), 3000);
    }
}
