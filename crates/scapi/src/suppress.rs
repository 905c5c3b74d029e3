//! Severity control: inline suppressions and per-rule overrides.
//!
//! An inline suppression is a cfg comment on the line just above an option
//! (other comment lines may sit between them; a blank line ends its reach):
//! `; scapi: allow(SC0113) the CRM is internal until Q3`. It drops the
//! findings of the named rules whose primary span starts on that option's
//! line. The reason is mandatory; a suppression without one suppresses
//! nothing (SC0030), one that suppresses nothing is reported (SC0031), and
//! a `scapi:` comment that does not parse is reported (SC0032).
//!
//! Overrides (`--allow`, `--warn`, `--deny`) then drop or re-grade whole
//! rules. Findings about unreadable files and about suppressions themselves
//! can be neither suppressed nor allowed.

use crate::diagnostic::{Diagnostic, Severity};
use crate::input::Export;
use crate::rules::Code;
use crate::source::{SourceFile, Span};
use crate::syntax::suppression;
use std::collections::{BTreeMap, HashSet};

/// What an override does to a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    /// Drop its findings.
    Allow,
    /// Report them as warnings.
    Warn,
    /// Report them as errors.
    Deny,
}

/// Per-rule overrides, like clippy's `-A`, `-W`, `-D`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    levels: BTreeMap<Code, Level>,
}

impl Overrides {
    /// No override.
    pub fn new() -> Overrides {
        Overrides::default()
    }

    /// Sets a rule's level; a later call for the same rule wins.
    pub fn set(&mut self, code: Code, level: Level) {
        self.levels.insert(code, level);
    }

    /// Whether there is no override.
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// Applies the overrides to a file's diagnostics.
    pub fn apply(&self, diags: &mut Vec<Diagnostic>) {
        if self.levels.is_empty() {
            return;
        }
        diags.retain_mut(|d| {
            if !can_be_silenced(d.code) {
                return true;
            }
            match self.levels.get(&d.code) {
                Some(Level::Allow) => false,
                Some(Level::Warn) => {
                    d.severity = Severity::Warning;
                    true
                }
                Some(Level::Deny) => {
                    d.severity = Severity::Error;
                    true
                }
                None => true,
            }
        });
    }
}

/// Whether findings of a rule may be suppressed or allowed at all.
/// Neither unreadable files nor the suppression rules themselves are.
pub fn can_be_silenced(code: Code) -> bool {
    !code.is_fatal()
        && !matches!(
            code,
            Code::SuppressionWithoutReason | Code::UnusedSuppression | Code::InvalidSuppression
        )
}

/// A finding an inline suppression hid, with the suppression's reason (SARIF
/// reports it as suppressed in source; other formats leave it out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppressed {
    /// The finding.
    pub diagnostic: Diagnostic,
    /// The reason written in the suppression.
    pub reason: String,
}

struct Active {
    comment: Span,
    target_line: Option<usize>,
    rules: Vec<(Code, Span)>,
    reason: String,
}

/// Applies the inline suppressions of a cfg export to its diagnostics:
/// returns the diagnostics left (including reports of wrong or unused
/// suppressions) and the ones suppressed.
pub(crate) fn apply_inline(
    source: &SourceFile,
    export: &Export,
    diags: Vec<Diagnostic>,
) -> (Vec<Diagnostic>, Vec<Suppressed>) {
    let comment_lines: HashSet<usize> = export.comments.iter().map(|c| c.line).collect();
    let option_lines: HashSet<usize> = export
        .sections
        .iter()
        .flat_map(|s| s.options.iter())
        .map(|o| source.line_of(o.key_span.start))
        .collect();
    let mut found = Vec::new();
    let mut active: Vec<Active> = Vec::new();
    for c in &export.comments {
        let text = source.slice(c.span);
        if !suppression::is_directive(text) {
            continue;
        }
        let at = |s: Span| s.shift(c.span.start);
        let Some(parsed) = suppression::suppression(text) else {
            found.push(
                Diagnostic::new(
                    Code::InvalidSuppression,
                    c.span,
                    "this `scapi:` comment is not a suppression",
                )
                .label("expected `scapi: allow(CODE) reason`")
                .help("write `; scapi: allow(SC0113) why this is acceptable`"),
            );
            continue;
        };
        let mut rules = Vec::new();
        for (name, span) in &parsed.rules {
            match Code::parse(name) {
                Some(code) if can_be_silenced(code) => rules.push((code, at(*span))),
                Some(code) => found.push(
                    Diagnostic::new(
                        Code::InvalidSuppression,
                        at(*span),
                        format!("`{code}` cannot be suppressed"),
                    )
                    .label("findings about the file itself or about suppressions stay")
                    .help("fix the problem instead"),
                ),
                None => found.push(
                    Diagnostic::new(
                        Code::InvalidSuppression,
                        at(*span),
                        format!("unknown rule `{name}`"),
                    )
                    .label("not a rule code or name")
                    .help("`scapi rule` lists the rules; write a code such as `SC0113`"),
                ),
            }
        }
        if parsed.reason.is_empty() {
            found.push(
                Diagnostic::new(
                    Code::SuppressionWithoutReason,
                    c.span,
                    "suppression without a reason",
                )
                .label("nothing suppressed")
                .help(
                    "say why after the list: `; scapi: allow(SC0113) served inside the LAN only`",
                ),
            );
            continue;
        }
        // The option on the first line below that is not a comment.
        let mut target = c.line + 1;
        while comment_lines.contains(&target) {
            target += 1;
        }
        let target_line = option_lines.contains(&target).then_some(target);
        active.push(Active {
            comment: c.span,
            target_line,
            rules,
            reason: parsed.reason.to_string(),
        });
    }
    let mut by_line: std::collections::HashMap<usize, Vec<usize>> =
        std::collections::HashMap::new();
    for (i, a) in active.iter().enumerate() {
        if let Some(l) = a.target_line {
            by_line.entry(l).or_default().push(i);
        }
    }
    let mut used: HashSet<(Span, Code)> = HashSet::new();
    let mut kept = Vec::with_capacity(diags.len());
    let mut suppressed = Vec::new();
    for d in diags {
        let line = source.line_of(d.span.start);
        let by = by_line
            .get(&line)
            .into_iter()
            .flatten()
            .filter_map(|&i| active.get(i))
            .find(|a| {
                d.located && can_be_silenced(d.code) && a.rules.iter().any(|(c, _)| *c == d.code)
            });
        match by {
            Some(a) => {
                used.insert((a.comment, d.code));
                suppressed.push(Suppressed {
                    diagnostic: d,
                    reason: a.reason.clone(),
                });
            }
            None => kept.push(d),
        }
    }
    for a in &active {
        let unused: Vec<&(Code, Span)> = a
            .rules
            .iter()
            .filter(|(c, _)| !used.contains(&(a.comment, *c)))
            .collect();
        let all_unused = unused.len() == a.rules.len();
        for (code, span) in unused {
            let msg = match a.target_line {
                Some(_) => {
                    format!("`{code}` suppresses nothing: the option below has no such finding")
                }
                None => format!("`{code}` suppresses nothing: no option follows this comment"),
            };
            let mut d = Diagnostic::new(Code::UnusedSuppression, *span, msg)
                .label("unused")
                .help("remove it");
            if all_unused {
                d = d.fix(source.line_with_break(source.line_of(a.comment.start)), "");
            }
            found.push(d);
        }
    }
    kept.extend(found);
    (kept, suppressed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both user-data options set, so that no `SC0409` joins the findings.
    const USER_DATA: &str = "service-client-api.user-data.read-allowed=*\nservice-client-api.user-data.write-allowed=*\n";

    fn lint(text: &str) -> Vec<(Code, usize)> {
        let text = format!("{text}{USER_DATA}");
        let c = crate::compile("s.cfg", text.as_bytes(), &crate::Options::default());
        c.diagnostics
            .iter()
            .map(|d| (d.code, c.source.line_of(d.span.start)))
            .collect()
    }

    #[test]
    fn suppresses_the_option_below_only() {
        let text = "; scapi: allow(SC0113) LAN only\nservice-client-api.accepted-web-content-origins=http://crm.example.com\n";
        assert_eq!(lint(text), vec![]);
        let text = "; scapi: allow(cleartext-origin) LAN only\n; other comment\nservice-client-api.accepted-web-content-origins=http://a.example, http://b.example\n";
        assert_eq!(lint(text), vec![]);
        // A blank line ends the reach of the comment.
        let text = "; scapi: allow(SC0113) LAN only\n\nservice-client-api.accepted-web-content-origins=http://crm.example.com\n";
        assert_eq!(
            lint(text),
            vec![(Code::UnusedSuppression, 1), (Code::CleartextOrigin, 3)]
        );
    }

    #[test]
    fn reasons_are_mandatory_and_unused_ones_reported() {
        let text = "; scapi: allow(SC0113)\nservice-client-api.accepted-web-content-origins=http://crm.example.com\n";
        assert_eq!(
            lint(text),
            vec![
                (Code::SuppressionWithoutReason, 1),
                (Code::CleartextOrigin, 2)
            ]
        );
        let text = "; scapi: allow(SC0113, SC0117) why\nservice-client-api.accepted-web-content-origins=http://crm.example.com\n";
        assert_eq!(lint(text), vec![(Code::UnusedSuppression, 1)]);
        let text = "; scapi: allow(SC9999, SC0001) why\nservice-client-api.rate-limit=4\n";
        let codes: Vec<Code> = lint(text).into_iter().map(|(c, _)| c).collect();
        assert!(codes.contains(&Code::InvalidSuppression));
    }

    #[test]
    fn overrides() {
        let mut o = Overrides::new();
        o.set(Code::CleartextOrigin, Level::Deny);
        o.set(Code::AnyOrigin, Level::Allow);
        let c = crate::compile(
            "o.cfg",
            format!("service-client-api.accepted-web-content-origins=http://crm.example.com (agent.*), *\n{USER_DATA}").as_bytes(),
            &crate::Options { overrides: o, ..Default::default() },
        );
        let got: Vec<_> = c.diagnostics.iter().map(|d| (d.code, d.severity)).collect();
        assert_eq!(got, vec![(Code::CleartextOrigin, Severity::Error)]);
    }
}
