//! Rendering diagnostics for people (miette) and for tools (JSON).
//!
//! A [`FileDiagnostics`] pairs a source with its diagnostics; renderers
//! never change what was found, only how it is shown.

mod excerpt;
pub mod human;
pub mod json;

use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;

/// One file's diagnostics, ready to render.
#[derive(Clone, Debug)]
pub struct FileDiagnostics {
    /// The file.
    pub source: SourceFile,
    /// What was found, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}
