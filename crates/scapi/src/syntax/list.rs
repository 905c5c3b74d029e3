//! Comma-separated lists: user-data key lists and web-content section-name
//! lists. Keys may contain dots and spaces; blanks around them are trimmed.
//!
//! [`key_list`] splits at commas only, as WWE does. [`user_data_keys`] reads
//! a user-data list the same way but also reports what administrators type
//! that WWE would take literally: quotes around the value or a key, `;` or
//! `|` used as a separator, and invisible or control characters inside a
//! key. Each of those yields a key no caller can send, so each is reported
//! with a fix, and the list is read as it was meant.

use super::{QUOTES, Removal, Res, is_blank, is_invisible};
use crate::diagnostic::Diagnostic;
use crate::rules::Code;
use crate::source::{Span, span_in};
use nom::Parser;
use nom::bytes::complete::take_till;
use nom::character::complete::char;
use nom::multi::separated_list1;
use std::borrow::Cow;

/// One item of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item<'a> {
    /// The item, blanks trimmed (may be empty).
    pub text: &'a str,
    /// Where the trimmed item is; for an empty item, the point where it
    /// would be.
    pub span: Span,
    /// How to remove the item with a separator.
    pub removal: Removal,
}

/// `key-list := key ("," key)*`
pub fn key_list(value: &str) -> Vec<Item<'_>> {
    let parsed: Res<'_, Vec<&str>> = separated_list1(char(','), key).parse(value);
    let raw = match parsed {
        Ok((_, items)) => items,
        // `key` accepts the empty string, so this cannot fail; stay total anyway.
        Err(_) => vec![value],
    };
    items_of(value, &raw)
}

/// Trimmed items with their spans and removals, from the pieces of `value`
/// between separators (each a sub-slice of it).
fn items_of<'a>(value: &str, raw: &[&'a str]) -> Vec<Item<'a>> {
    let trimmed: Vec<(&'a str, Span)> = raw
        .iter()
        .map(|piece| {
            let whole = span_in(value, piece);
            let text = piece.trim_matches(is_blank);
            let lead = piece.len() - piece.trim_start_matches(is_blank).len();
            (
                text,
                Span::new(whole.start + lead, whole.start + lead + text.len()),
            )
        })
        .collect();
    let spans: Vec<Span> = trimmed.iter().map(|(_, s)| *s).collect();
    trimmed
        .into_iter()
        .zip(Removal::of_items(&spans))
        .map(|((text, span), removal)| Item {
            text,
            span,
            removal,
        })
        .collect()
}

/// `key := blank* (any character but ",")* blank*`
fn key(i: &str) -> Res<'_, &str> {
    take_till(|c| c == ',').parse(i)
}

/// A user-data key of a [`KeyList`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key<'a> {
    /// The key as meant: blanks, quotes and invisible characters removed
    /// (may be empty).
    pub text: Cow<'a, str>,
    /// Where the key is written, quotes included; for an empty key, the
    /// point where it would be.
    pub span: Span,
    /// How to remove the key with a separator.
    pub removal: Removal,
}

/// A user-data key list and what is wrong with how it is written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyList<'a> {
    /// The keys, in order.
    pub keys: Vec<Key<'a>>,
    /// Quotes, wrong separators and invisible characters found.
    pub diagnostics: Vec<Diagnostic>,
}

/// `user-data-keys := user-data-key (key-separator user-data-key)*` — a
/// user-data list. Quotes around the whole value are reported, and the
/// keys inside read.
pub fn user_data_keys(value: &str) -> KeyList<'_> {
    let mut diagnostics = Vec::new();
    let body = unquote_whole(value, &mut diagnostics);
    let mut pieces: Vec<&str> = Vec::new();
    let mut rest = body;
    while let Ok((after, piece)) = user_data_key(rest) {
        pieces.push(piece);
        let Ok((after, sep)) = key_separator(after) else {
            break;
        };
        if sep != ',' {
            let at = span_in(value, after).start.saturating_sub(1);
            let sp = Span::new(at, at + 1);
            diagnostics.push(
                Diagnostic::new(
                    Code::KeySeparator,
                    sp,
                    format!("user-data keys are separated with `{sep}`"),
                )
                .label("WWE reads this as part of a key")
                .help("separate keys with `,`")
                .fix(sp, ","),
            );
        }
        rest = after;
    }
    let keys = items_of(value, &pieces)
        .into_iter()
        .map(|item| clean_key(value, item, &mut diagnostics))
        .collect();
    KeyList { keys, diagnostics }
}

/// `user-data-key := blank* (any character but "," | ";" | "|")* blank*`
fn user_data_key(i: &str) -> Res<'_, &str> {
    take_till(|c| matches!(c, ',' | ';' | '|')).parse(i)
}

/// `key-separator := "," | ";" | "|"` — only `,` separates keys for WWE.
fn key_separator(i: &str) -> Res<'_, char> {
    nom::character::complete::one_of(",;|").parse(i)
}

/// Quotes around the whole value are reported; the inside is returned.
fn unquote_whole<'a>(value: &'a str, diagnostics: &mut Vec<Diagnostic>) -> &'a str {
    let trimmed = value.trim_matches(is_blank);
    let mut chars = trimmed.chars();
    let (Some(first), Some(last)) = (chars.next(), chars.next_back()) else {
        return value;
    };
    let inner = chars.as_str();
    // `"a", "b"` is two quoted keys, not one quoted value.
    if !(QUOTES.contains(&first) && QUOTES.contains(&last)) || inner.contains(QUOTES) {
        return value;
    }
    let whole = span_in(value, trimmed);
    let open = Span::new(whole.start, whole.start + first.len_utf8());
    let close = Span::new(whole.end - last.len_utf8(), whole.end);
    diagnostics.push(
        Diagnostic::new(Code::QuotedValue, open, "the value is wrapped in quotes")
            .label("this quote becomes part of the first key")
            .with_secondary(close, "and this one part of the last")
            .help("remove the quotes; option values are written without them")
            .fix_deleting(whole, inner, &[open, close]),
    );
    inner
}

/// A key as meant: quotes around it and invisible characters in it are
/// reported and removed.
fn clean_key<'a>(value: &str, item: Item<'a>, diagnostics: &mut Vec<Diagnostic>) -> Key<'a> {
    let mut text = item.text;
    let unquoted = text.trim_start_matches(QUOTES).trim_end_matches(QUOTES);
    if unquoted.len() != text.len() {
        let inner = unquoted.trim_matches(is_blank);
        let at = span_in(value, inner);
        let quotes: Vec<Span> = [
            Span::new(item.span.start, at.start),
            Span::new(at.end, item.span.end),
        ]
        .into_iter()
        .filter(|q| !q.is_empty())
        .collect();
        diagnostics.push(
            Diagnostic::new(
                Code::QuotedValue,
                item.span,
                format!("key `{text}` is wrapped in quotes"),
            )
            .label("quotes are not part of a key")
            .help(format!("write `{inner}`"))
            .fix_deleting(item.span, inner, &quotes),
        );
        text = inner;
    }
    let text = if text.chars().any(is_invisible) {
        let visible: String = text.chars().filter(|c| !is_invisible(*c)).collect();
        let at = span_in(value, text);
        let shown: String = text.chars().flat_map(char::escape_default).collect();
        let first = text
            .char_indices()
            .find(|(_, c)| is_invisible(*c))
            .map_or(at, |(i, c)| {
                Span::new(at.start + i, at.start + i + c.len_utf8())
            });
        diagnostics.push(
            Diagnostic::new(
                Code::InvisibleCharacter,
                first,
                format!("key `{shown}` contains an invisible or control character"),
            )
            .label("no caller sends this character")
            .help(format!("write `{visible}`"))
            .fix(at, visible.clone()),
        );
        Cow::Owned(visible)
    } else {
        Cow::Borrowed(text)
    };
    Key {
        text,
        span: item.span,
        removal: item.removal,
    }
}

/// A comment written at the end of an option value, which cfg files do not
/// have: WWE reads it as part of the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InlineComment<'a> {
    /// The value before the comment, blanks before it excluded.
    pub before: &'a str,
    /// From the first blank before the marker to the end of the value.
    pub span: Span,
    /// The marker, `;` or `#`.
    pub marker: char,
    /// The comment's text after the marker, trimmed.
    pub text: &'a str,
}

/// `inline-comment := blank+ (";" | "#") (any character)*` — the first `;`
/// or `#` that follows a blank, and the rest of the value. Whether it is
/// meant as a comment depends on the option (a `;` may also be a mistaken
/// separator); lowering decides.
pub fn inline_comment(value: &str) -> Option<InlineComment<'_>> {
    // A value is mostly neither: find the markers, then look behind them.
    for i in memchr::memchr2_iter(b';', b'#', value.as_bytes()) {
        let head = value.get(..i)?;
        if !head.chars().next_back().is_some_and(is_blank) {
            continue;
        }
        let marker = if value.as_bytes().get(i) == Some(&b';') {
            ';'
        } else {
            '#'
        };
        let before = head.trim_end_matches(is_blank);
        let text = value.get(i + 1..)?.trim_matches(is_blank);
        return Some(InlineComment {
            before,
            span: Span::new(before.len(), value.len()),
            marker,
            text,
        });
    }
    None
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
        assert_eq!(&v[items[1].removal.span().range()], "My Key ,");
        // The last item goes with the separator before it.
        assert_eq!(&v[items[3].removal.span().range()], ",Key.3");
    }

    #[test]
    fn empty_value_is_one_empty_item() {
        let items = key_list("");
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].text, "");
    }

    fn keys(v: &str) -> (Vec<String>, Vec<Code>) {
        let l = user_data_keys(v);
        (
            l.keys.iter().map(|k| k.text.to_string()).collect(),
            l.diagnostics.iter().map(|d| d.code).collect(),
        )
    }

    #[test]
    fn user_data_keys_as_meant() {
        assert_eq!(
            keys("Key1, My Key"),
            (vec!["Key1".into(), "My Key".into()], vec![])
        );
        assert_eq!(
            keys("\"Key1, Key2\""),
            (vec!["Key1".into(), "Key2".into()], vec![Code::QuotedValue])
        );
        assert_eq!(
            keys("\u{201c}Key1\u{201d}, 'Key2'"),
            (
                vec!["Key1".into(), "Key2".into()],
                vec![Code::QuotedValue, Code::QuotedValue]
            )
        );
        assert_eq!(
            keys("Key1;Key2|Key3"),
            (
                vec!["Key1".into(), "Key2".into(), "Key3".into()],
                vec![Code::KeySeparator, Code::KeySeparator]
            )
        );
        assert_eq!(
            keys("Ke\u{200b}y1,Key\u{7}2"),
            (
                vec!["Key1".into(), "Key2".into()],
                vec![Code::InvisibleCharacter, Code::InvisibleCharacter]
            )
        );
        let v = "A; B";
        let l = user_data_keys(v);
        let fix = l.diagnostics[0].fix.as_ref().unwrap();
        assert_eq!(&v[fix.span.range()], ";");
        assert_eq!(&v[l.keys[1].removal.span().range()], "; B");
    }

    #[test]
    fn inline_comments() {
        let c = inline_comment("https://a ; the CRM").unwrap();
        assert_eq!((c.before, c.marker, c.text), ("https://a", ';', "the CRM"));
        assert_eq!(c.span, Span::new(9, 19));
        assert!(inline_comment("Key1;Key2").is_none());
        assert!(inline_comment("https://a#x").is_none());
        assert_eq!(inline_comment("50 # per agent").unwrap().before, "50");
    }
}
