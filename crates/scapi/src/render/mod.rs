//! Rendering diagnostics for people (miette) and for tools (JSON).
//!
//! A [`FileDiagnostics`] pairs a source with its diagnostics; renderers
//! never change what was found, only how it is shown.

mod excerpt;
pub mod github;
pub mod gitlab;
pub mod human;
pub mod json;
pub mod junit;
pub mod sarif;

use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;
use std::borrow::Cow;

use crate::syntax::is_invisible;

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

/// One file's diagnostics, ready to render.
#[derive(Clone, Debug)]
pub struct FileDiagnostics {
    /// The file.
    pub source: SourceFile,
    /// What was found, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// What inline suppressions hid (only SARIF shows them).
    pub suppressed: Vec<crate::suppress::Suppressed>,
}

impl FileDiagnostics {
    /// A file's report from its compilation.
    pub fn of(c: crate::Compilation) -> FileDiagnostics {
        FileDiagnostics {
            source: c.source,
            diagnostics: c.diagnostics,
            suppressed: c.suppressed,
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

    #[test]
    fn unsafe_characters_fit_their_stand_ins() {
        // Excerpts replace them by a character of the same UTF-8 length,
        // which exists only up to three bytes.
        for c in (0..=0x10_ffff).filter_map(char::from_u32) {
            if is_invisible(c) {
                assert!(c.len_utf8() <= 3, "{c:?}");
            }
        }
    }
}
