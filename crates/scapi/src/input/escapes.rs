//! Maps a decoded string back through the escapes of its quoted source.
//!
//! The JSON and YAML parsers decode strings themselves; this walks the raw
//! text between the quotes beside the decoded value, one character at a time,
//! and records where each escape sequence sits. If the walk ever disagrees
//! with the decoded value (a form this walker does not know), it gives up and
//! the caller falls back to pointing at the whole value — never at wrong bytes.

use crate::source::{Escape, ValueMap};

/// Which quoting rules the raw text follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quoting {
    /// JSON string: `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\uXXXX`
    /// (a surrogate pair is two `\u` escapes for one character).
    Json,
    /// YAML double-quoted, single line: JSON's escapes plus `\xXX`,
    /// `\UXXXXXXXX` and one-letter escapes.
    YamlDouble,
    /// YAML single-quoted, single line: `''` is a quote.
    YamlSingle,
}

/// Maps `decoded` onto `raw` (the text between the quotes, which starts at
/// file offset `base`). `None` when they cannot be aligned.
pub(crate) fn map(raw: &str, decoded: &str, base: usize, quoting: Quoting) -> Option<ValueMap> {
    if raw.contains('\n') {
        return None;
    }
    let mut escapes = Vec::new();
    let mut r = 0; // offset in raw
    let mut dec = decoded.char_indices().peekable();
    while r < raw.len() {
        let rest = raw.get(r..)?;
        let (d_off, d_char) = dec.next()?;
        let raw_len = escape_len(rest, quoting);
        match raw_len {
            Some(len) => {
                escapes.push(Escape {
                    decoded: d_off,
                    decoded_len: d_char.len_utf8(),
                    raw: base + r,
                    raw_len: len,
                });
                r += len;
            }
            None => {
                let c = rest.chars().next()?;
                if c != d_char {
                    return None;
                }
                r += c.len_utf8();
            }
        }
    }
    if dec.next().is_some() {
        return None;
    }
    Some(if escapes.is_empty() {
        ValueMap::Direct { base }
    } else {
        ValueMap::Escaped { base, escapes }
    })
}

/// The byte length of the escape sequence `rest` starts with, if it starts
/// with one.
fn escape_len(rest: &str, quoting: Quoting) -> Option<usize> {
    let bytes = rest.as_bytes();
    match quoting {
        Quoting::YamlSingle => rest.starts_with("''").then_some(2),
        Quoting::Json | Quoting::YamlDouble => {
            if bytes.first() != Some(&b'\\') {
                return None;
            }
            let hex = |n: usize| -> Option<usize> {
                let digits = rest.get(2..2 + n)?;
                digits
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit())
                    .then_some(2 + n)
            };
            match bytes.get(1)? {
                b'u' => {
                    let len = hex(4)?;
                    let unit = u32::from_str_radix(rest.get(2..6)?, 16).ok()?;
                    // A high surrogate followed by a low one decodes to one char.
                    if (0xd800..0xdc00).contains(&unit) && rest.get(6..8) == Some("\\u") {
                        let low = u32::from_str_radix(rest.get(8..12)?, 16).ok()?;
                        if (0xdc00..0xe000).contains(&low) {
                            return Some(12);
                        }
                    }
                    Some(len)
                }
                b'x' if quoting == Quoting::YamlDouble => hex(2),
                b'U' if quoting == Quoting::YamlDouble => hex(8),
                _ => Some(2),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    #[test]
    fn json_escapes_map_exactly() {
        // "a\"b\u00e9\ud83d\ude00c"
        let raw = r#"a\"b\u00e9\ud83d\ude00c"#;
        let decoded = "a\"bé😀c";
        let m = map(raw, decoded, 100, Quoting::Json).unwrap();
        // 'c' is the last decoded char (offset 1+1+1+2+4 = 9), raw offset 22.
        assert_eq!(m.map(Span::new(9, 10)), Span::new(122, 123));
        // the emoji spans 12 raw bytes
        assert_eq!(m.map(Span::new(5, 9)), Span::new(110, 122));
    }

    #[test]
    fn plain_text_is_direct() {
        assert_eq!(
            map("abc", "abc", 7, Quoting::Json),
            Some(ValueMap::Direct { base: 7 })
        );
    }

    #[test]
    fn disagreement_gives_up() {
        assert_eq!(map("abc", "abd", 0, Quoting::Json), None);
        assert_eq!(map("a\nb", "a b", 0, Quoting::YamlDouble), None);
    }

    #[test]
    fn yaml_single_quote_doubling() {
        let m = map("it''s", "it's", 0, Quoting::YamlSingle).unwrap();
        assert_eq!(m.map(Span::new(3, 4)), Span::new(4, 5));
    }
}
