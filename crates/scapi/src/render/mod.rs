//! Rendering diagnostics for people (miette) and for tools (JSON).
//!
//! A [`FileDiagnostics`] pairs a source with its diagnostics; renderers
//! never change what was found, only how it is shown.

pub mod concise;
mod excerpt;
pub mod github;
pub mod gitlab;
pub mod human;
pub mod json;
pub mod junit;
pub mod sarif;

use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;

pub use scapi_tools::text::{clip, exact};

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
    use crate::syntax::is_invisible;

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
