//! Untrusted text shown to people: escaped so that what is shown is what
//! was sent, and clipped to a width.

use std::borrow::Cow;

/// Whether a character is invisible or changes how text is shown instead
/// of being shown: control characters (C0, DEL, C1 — an ANSI escape, a
/// NUL), bidirectional overrides and isolates ("Trojan Source"), and
/// zero-width or other invisible format characters. No one types them on
/// purpose into an option, and a terminal must not receive them raw.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// Untrusted text (a presented origin, a request name) for a terminal, so
/// that what is shown is what was sent: unsafe characters and any
/// whitespace but the space are written as escapes (`\u{200b}`, `\n`).
pub fn exact(s: &str) -> Cow<'_, str> {
    let hidden = |c: char| is_invisible(c) || (c.is_whitespace() && c != ' ');
    if !s.chars().any(hidden) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if hidden(c) {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// At most `max` characters of `s`, a final `…` marking a cut.
pub fn clip(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some(_) => {
            let keep: String = s.chars().take(max.saturating_sub(1)).collect();
            Cow::Owned(format!("{keep}…"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_is_shown_as_sent() {
        assert_eq!(exact("https://crm.example.com"), "https://crm.example.com");
        assert_eq!(exact("a\u{1b}[2Jb\n"), "a\\u{1b}[2Jb\\n");
        assert_eq!(
            exact("x\u{202e}y\u{200b}\u{a0}"),
            "x\\u{202e}y\\u{200b}\\u{a0}"
        );
        assert_eq!(exact("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abcd", 4), "abcd");
        assert_eq!(clip("ééééé", 3), "éé…");
    }
}
