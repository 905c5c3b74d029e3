//! Applying machine-applicable fixes to a file's text.
//!
//! Every fix replaces a byte range of the file as it was read. Fixes of one
//! lint run are meant to be applied together: lowering reports one finding
//! per root cause, so fixes of one file do not overlap. [`apply`] checks
//! that, applies them from the end of the file backwards (so earlier
//! offsets stay valid) and never splits a character.

use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix};
use crate::source::Span;

/// Why a set of fixes cannot be applied together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FixError {
    /// Occurs when two fixes change the same bytes, so applying both has no
    /// single meaning.
    #[error(
        "two fixes change the same text (bytes {first_start}..{first_end} and {second_start}..{second_end})"
    )]
    Overlap {
        /// The first fix's range.
        first_start: usize,
        /// Its end.
        first_end: usize,
        /// The second fix's range.
        second_start: usize,
        /// Its end.
        second_end: usize,
    },
    /// Occurs when a fix's range is outside the text or not on character
    /// boundaries (a fix computed for another version of the file).
    #[error("a fix does not fit the text (bytes {start}..{end})")]
    OutOfRange {
        /// Start of the range.
        start: usize,
        /// End of the range.
        end: usize,
    },
}

/// What `lint --fix` did to one file.
#[derive(Clone, Debug)]
pub struct FixRun {
    /// The file after the fixes (its BOM kept); `None` when none applied.
    pub fixed_bytes: Option<Vec<u8>>,
    /// The findings fixed, as they were reported before their fix.
    pub fixed: Vec<Diagnostic>,
    /// Findings whose fix is unsafe, left because unsafe fixes were not
    /// asked for.
    pub unsafe_left: usize,
    /// The fixed file, compiled: what is left to report.
    pub after: crate::Compilation,
}

impl FixRun {
    /// Whether a fix changed the file.
    pub fn changed(&self) -> bool {
        self.fixed_bytes.is_some()
    }
}

/// Why `lint --fix` leaves a file as it was.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FixRunError {
    /// Occurs when the fixes would leave a finding that was not there
    /// before: a bug in a fix, reported instead of written.
    #[error("fixing it would introduce `{code}` ({message}); nothing was written")]
    Regression {
        /// The new finding's code.
        code: crate::rules::Code,
        /// Its message.
        message: String,
    },
    /// Occurs when fixes cannot be applied to the text (a bug).
    #[error("its fixes do not apply: {0}")]
    Apply(FixError),
    /// Occurs when safe fixes would widen access (`scapi diff` reports a
    /// widening): a fix classified safe that is not, reported instead of
    /// written.
    #[error("its safe fixes would widen access ({0}); nothing was written")]
    Widens(String),
}

/// Applies the machine-applicable fixes of a file — the safe ones, and the
/// unsafe ones too when `include_unsafe` — round after round (a fix may
/// make another finding's fix possible) until none is left, then checks
/// that the fixed file has none of the fixed findings and no new one, and,
/// for safe fixes, that the policy widens nowhere (`scapi diff`).
/// Fixes of one round that touch the same bytes wait for the next round.
pub fn fix_file(
    name: &str,
    bytes: Vec<u8>,
    options: &crate::Options,
    include_unsafe: bool,
) -> Result<FixRun, FixRunError> {
    fix_file_with(name, bytes, options, include_unsafe, None)
}

/// The edits chosen in one round, by start then end. They never cross
/// (an edit that would is not taken), so their ends grow with their
/// starts: the last one starting before an edit's end is the only one that
/// can reach into it, and a round of a million fixes is not quadratic.
#[derive(Default)]
struct Taken(std::collections::BTreeSet<(usize, usize)>);

impl Taken {
    /// Whether an edit overlaps a taken one: one that starts before its
    /// end and ends after its start (for an insertion, one strictly
    /// around it).
    fn overlaps(&self, edit: Span) -> bool {
        self.0
            .range(..(edit.end, 0))
            .next_back()
            .is_some_and(|&(_, end)| edit.start < end)
    }

    fn take(&mut self, edit: Span) {
        self.0.insert((edit.start, edit.end));
    }
}

/// [`fix_file`], leaving alone the findings `held` holds: a baseline and
/// the name it knows the file by. A team that adopted a baseline fixes
/// (and gates on) only what is new; what the baseline accepted stays as
/// it is, and is not counted among the unsafe fixes left.
pub fn fix_file_with(
    name: &str,
    bytes: Vec<u8>,
    options: &crate::Options,
    include_unsafe: bool,
    held: Option<(&crate::baseline::Baseline, &str)>,
) -> Result<FixRun, FixRunError> {
    let allowed = |a: Applicability| include_unsafe || a == Applicability::Safe;
    let holding = |c: &crate::Compilation| match held {
        Some((baseline, file)) => baseline.holds(file, &c.source, &c.diagnostics),
        None => vec![false; c.diagnostics.len()],
    };
    // Every finding counts, listed or not: past `--max-per-rule` the rest
    // would be one closing finding, and fixing the listed ones would list
    // more. Only a file that reached the limit is compiled again with no
    // limit (no round adds findings, so none reaches it later), and then
    // compiled once more at the end for the caller's report.
    let mut c = crate::compile_vec(name, bytes, options);
    let every = crate::Options {
        max_per_rule: Some(0),
        ..options.clone()
    };
    let limited = c.diagnostics.iter().any(|d| d.omitted > 0);
    if limited {
        c = crate::compile_vec(name, with_bom(&c.source, c.source.text()), &every);
    }
    let rounds = if limited { &every } else { options };
    let mut fixed: Vec<Diagnostic> = Vec::new();
    // Every round fixes at least one finding; the bound only guards
    // against a fix that would undo another.
    for _ in 0..256 {
        if c.is_unreadable() {
            break;
        }
        let mut chosen: Vec<&Diagnostic> = Vec::new();
        let mut taken = Taken::default();
        let held = holding(&c);
        for (d, _) in c.diagnostics.iter().zip(held).filter(|(_, h)| !h) {
            let Some(f) = d.fix.as_ref().filter(|f| allowed(f.applicability)) else {
                continue;
            };
            let parts = f.parts();
            if parts.iter().any(|e| taken.overlaps(e.span)) {
                continue;
            }
            for e in &parts {
                taken.take(e.span);
            }
            chosen.push(d);
        }
        if chosen.is_empty() {
            break;
        }
        let text = apply(
            c.source.text(),
            chosen.iter().filter_map(|d| d.fix.as_ref()),
        )
        .map_err(FixRunError::Apply)?;
        let next = crate::compile_vec(name, with_bom(&c.source, &text), rounds);
        check_no_regression(&c.diagnostics, &chosen, &next.diagnostics)?;
        if !include_unsafe {
            check_no_widening(c.policy.as_ref(), next.policy.as_ref())?;
        }
        fixed.extend(chosen.into_iter().cloned());
        c = next;
    }
    let unsafe_left = c
        .diagnostics
        .iter()
        .zip(holding(&c))
        .filter(|(d, h)| !h && d.fix.as_ref().is_some_and(|f| !allowed(f.applicability)))
        .count();
    let fixed_bytes = (!fixed.is_empty()).then(|| with_bom(&c.source, c.source.text()));
    // What is left, reported as the caller asked (at most `max-per-rule`
    // findings of a rule listed).
    let after = if limited && !c.is_unreadable() {
        let text = with_bom(&c.source, c.source.text());
        crate::compile_vec(name, text, options)
    } else {
        c
    };
    Ok(FixRun {
        fixed_bytes,
        fixed,
        unsafe_left,
        after,
    })
}

/// `text` as the bytes of a file, with the BOM `source` had.
fn with_bom(source: &crate::source::SourceFile, text: &str) -> Vec<u8> {
    let bom = if source.base() > 0 { "\u{feff}" } else { "" };
    [bom.as_bytes(), text.as_bytes()].concat()
}

/// A safe fix widens nothing: the semantic diff of a round reports no
/// widening.
fn check_no_widening(
    before: Option<&scapi_policy::policy::Policy>,
    after: Option<&scapi_policy::policy::Policy>,
) -> Result<(), FixRunError> {
    let (Some(old), Some(new)) = (before, after) else {
        return Ok(());
    };
    match scapi_tools::diff::diff(old, new)
        .into_iter()
        .find(|c| c.class == scapi_tools::diff::Class::Widening)
    {
        Some(c) => Err(FixRunError::Widens(c.message)),
        None => Ok(()),
    }
}

/// Per rule, the findings after a round are at most those before it less
/// the ones fixed.
fn check_no_regression(
    before: &[Diagnostic],
    fixed: &[&Diagnostic],
    after: &[Diagnostic],
) -> Result<(), FixRunError> {
    let mut budget: std::collections::BTreeMap<crate::rules::Code, isize> =
        std::collections::BTreeMap::new();
    for d in before {
        *budget.entry(d.code).or_default() += 1;
    }
    for d in fixed {
        *budget.entry(d.code).or_default() -= 1;
    }
    for d in after {
        let left = budget.entry(d.code).or_default();
        *left -= 1;
        if *left < 0 {
            return Err(FixRunError::Regression {
                code: d.code,
                message: d.message.clone(),
            });
        }
    }
    Ok(())
}

/// The text with every fix applied, edit by edit. Identical edits (two
/// findings with the same fix) count once; insertions at one point are
/// made in the order given (the order of the findings).
pub fn apply<'f>(text: &str, fixes: impl IntoIterator<Item = &'f Fix>) -> Result<String, FixError> {
    let mut fixes: Vec<Edit> = fixes.into_iter().flat_map(Fix::parts).collect();
    // Stable: insertions at one point keep their order.
    fixes.sort_by_key(|f| (f.span.start, f.span.end));
    fixes.dedup();
    for pair in fixes.windows(2) {
        if let [a, b] = pair
            && b.span.start < a.span.end
        {
            return Err(FixError::Overlap {
                first_start: a.span.start,
                first_end: a.span.end,
                second_start: b.span.start,
                second_end: b.span.end,
            });
        }
    }
    // One pass, front to back: the text between edits, then each edit's
    // replacement (replacing in place from the back moved the rest of the
    // text at every edit that changes its length: quadratic).
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in &fixes {
        let (Some(kept), Some(_)) = (
            text.get(at..f.span.start),
            text.get(f.span.start..f.span.end),
        ) else {
            return Err(FixError::OutOfRange {
                start: f.span.start,
                end: f.span.end,
            });
        };
        out.push_str(kept);
        out.push_str(&f.replacement);
        at = f.span.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Applying in one pass gives what replacing each edit in place,
        /// from the last, gives.
        #[test]
        fn applied_in_one_pass_as_in_place(
            text in "[a-z ,]{0,30}",
            edits in proptest::collection::vec((0usize..32, 0usize..4, "[A-Z]{0,3}"), 0..8)
        ) {
            let mut taken = Taken::default();
            let mut chosen: Vec<Fix> = Vec::new();
            for (start, len, r) in edits {
                let span = Span::new(start.min(text.len()), (start + len).min(text.len()));
                if !taken.overlaps(span) {
                    taken.take(span);
                    chosen.push(fix(span.start, span.end, &r));
                }
            }
            // Sorted as `apply` sorts (stably), and an edit written twice
            // applied once, as `apply` does.
            let mut sorted: Vec<&Fix> = chosen.iter().collect();
            sorted.sort_by_key(|f| (f.span.start, f.span.end));
            sorted.dedup_by(|b, a| a.span == b.span && a.replacement == b.replacement);
            let mut want = text.clone();
            for f in sorted.iter().rev() {
                want.replace_range(f.span.start..f.span.end, &f.replacement);
            }
            proptest::prop_assert_eq!(apply(&text, &chosen), Ok(want));
        }

        /// Edits are taken as comparing each with every edit taken before
        /// (the quadratic way) would take them.
        #[test]
        fn taken_edits_are_the_naive_ones(
            edits in proptest::collection::vec((0usize..40, 0usize..6), 0..60)
        ) {
            let mut taken = Taken::default();
            let mut naive: Vec<(usize, usize)> = Vec::new();
            for (start, len) in edits {
                let e = Span::new(start, start + len);
                let naive_overlaps = naive.iter().any(|&(s, t)| {
                    e.start < t && s < e.end
                        || (e.is_empty() && s < e.start && e.start < t)
                });
                proptest::prop_assert_eq!(taken.overlaps(e), naive_overlaps);
                if !naive_overlaps {
                    taken.take(e);
                    naive.push((e.start, e.end));
                }
            }
        }
    }

    fn fix(start: usize, end: usize, r: &str) -> Fix {
        Fix {
            span: Span::new(start, end),
            replacement: r.to_string(),
            edits: Vec::new(),
            applicability: Applicability::Safe,
        }
    }

    #[test]
    fn applies_from_the_end() {
        let fixes = [fix(0, 1, "A"), fix(2, 2, ","), fix(4, 5, "")];
        assert_eq!(apply("a bcd!", &fixes), Ok("A ,bc!".into()));
        assert_eq!(
            apply("ab", &[fix(0, 1, "x"), fix(0, 1, "x")]),
            Ok("xb".into())
        );
    }

    #[test]
    fn refuses_overlaps_and_bad_ranges() {
        assert!(matches!(
            apply("abcd", &[fix(0, 2, "x"), fix(1, 3, "y")]),
            Err(FixError::Overlap { .. })
        ));
        // Two insertions at one point are made in order.
        assert_eq!(
            apply("ab", &[fix(1, 1, ")"), fix(1, 1, ", c")]),
            Ok("a), cb".into())
        );
        // A multi-part fix leaves room for fixes between its parts.
        let quotes = Fix {
            span: Span::new(0, 5),
            replacement: "a,b".into(),
            edits: vec![
                Edit {
                    span: Span::new(0, 1),
                    replacement: String::new(),
                },
                Edit {
                    span: Span::new(4, 5),
                    replacement: String::new(),
                },
            ],
            applicability: Applicability::Safe,
        };
        assert_eq!(
            apply("\"a;b\"", &[quotes, fix(2, 3, ",")]),
            Ok("a,b".into())
        );
        assert!(matches!(
            apply("é", &[fix(0, 1, "x")]),
            Err(FixError::OutOfRange { .. })
        ));
    }
}
