//! Applying machine-applicable fixes to a file's text.
//!
//! Every fix replaces a byte range of the file as it was read. Fixes of one
//! lint run are meant to be applied together: lowering reports one finding
//! per root cause, so fixes of one file do not overlap. [`apply`] checks
//! that, applies them from the end of the file backwards (so earlier
//! offsets stay valid) and never splits a character.

use crate::diagnostic::{Edit, Fix};

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
    let mut out = text.to_string();
    for f in fixes.iter().rev() {
        let range = f.span.start..f.span.end;
        if text.get(range.clone()).is_none() {
            return Err(FixError::OutOfRange {
                start: f.span.start,
                end: f.span.end,
            });
        }
        out.replace_range(range, &f.replacement);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    fn fix(start: usize, end: usize, r: &str) -> Fix {
        Fix {
            span: Span::new(start, end),
            replacement: r.to_string(),
            edits: Vec::new(),
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
