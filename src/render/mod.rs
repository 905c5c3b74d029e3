//! Rendering diagnostics for people (miette) and for tools (JSON).
//!
//! A [`FileDiagnostics`] pairs a source with its diagnostics; renderers
//! never change what was found, only how it is shown.

mod excerpt;
pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;

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
