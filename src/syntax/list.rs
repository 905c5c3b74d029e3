//! Comma-separated lists: user-data key lists and web-content section-name
//! lists. Keys may contain dots and spaces; blanks around them are trimmed.

use super::Res;
use crate::source::{Span, span_in};
use nom::Parser;
use nom::bytes::complete::take_till;
use nom::character::complete::char;
use nom::multi::separated_list1;

/// One item of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item<'a> {
    /// The item, blanks trimmed (may be empty).
    pub text: &'a str,
    /// Where the trimmed item is; for an empty item, the point where it
    /// would be.
    pub span: Span,
    /// The item with its separator, for removal fixes: the comma after it,
    /// or for the last item the comma before it.
    pub removal: Span,
}

/// `key-list := key ("," key)*` where `key := blank* (any character but ",")* blank*`
pub fn key_list(value: &str) -> Vec<Item<'_>> {
    let parsed: Res<'_, Vec<&str>> = separated_list1(char(','), key).parse(value);
    let raw = match parsed {
        Ok((_, items)) => items,
        // `key` accepts the empty string, so this cannot fail; stay total anyway.
        Err(_) => vec![value],
    };
    let n = raw.len();
    let mut out = Vec::with_capacity(n);
    for (i, piece) in raw.iter().enumerate() {
        let whole = span_in(value, piece);
        let text = piece.trim_matches(super::is_blank);
        let lead = piece.len() - piece.trim_start_matches(super::is_blank).len();
        let span = Span::new(whole.start + lead, whole.start + lead + text.len());
        let removal = if i + 1 < n {
            Span::new(whole.start, whole.end + 1)
        } else if i > 0 {
            Span::new(whole.start - 1, whole.end)
        } else {
            whole
        };
        out.push(Item {
            text,
            span,
            removal,
        });
    }
    out
}

/// `key := blank* (any character but ",")* blank*`
fn key(i: &str) -> Res<'_, &str> {
    take_till(|c| c == ',').parse(i)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn items_are_trimmed_with_spans() {
        let v = "Key1, My Key ,,Key.3";
        let items = key_list(v);
        let texts: Vec<_> = items.iter().map(|i| i.text).collect();
        assert_eq!(texts, vec!["Key1", "My Key", "", "Key.3"]);
        assert_eq!(&v[items[1].span.range()], "My Key");
        assert_eq!(items[2].span, Span::point(14));
        assert_eq!(&v[items[2].removal.range()], ",");
        assert_eq!(&v[items[3].removal.range()], ",Key.3");
    }

    #[test]
    fn empty_value_is_one_empty_item() {
        let items = key_list("");
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].text, "");
    }
}
