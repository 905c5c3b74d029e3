//! scapi
#![forbid(unsafe_code)]
// Tests may unwrap and index: a panic there is a failing test.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod catalog;
pub mod compiled;
pub mod diagnostic;
pub mod input;
pub mod jsonfmt;
pub mod lower;
pub mod policy;
pub mod render;
pub mod rules;
pub mod source;
pub mod syntax;

use diagnostic::{Diagnostic, Severity};
use input::{InputFormat, ReadOptions};
use lower::{LowerOptions, ObjectLevel};
use policy::Policy;
use source::SourceFile;

/// How to read and compile an export.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Force the input format instead of detecting it.
    pub format: Option<InputFormat>,
    /// The object the export belongs to; detected from GAX file names when
    /// not given.
    pub object: Option<ObjectLevel>,
    /// Refuse inputs larger than this many bytes (default 64 MiB).
    pub max_input_bytes: Option<u64>,
}

/// The result of compiling one export.
#[derive(Clone, Debug)]
pub struct Compilation {
    /// The source, for rendering diagnostics against.
    pub source: SourceFile,
    /// The policy; `None` when the file could not be read at all.
    pub policy: Option<Policy>,
    /// Every diagnostic, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compilation {
    /// Whether the file could not be read (a command exits 2).
    pub fn is_unreadable(&self) -> bool {
        self.policy.is_none()
    }

    /// Whether any diagnostic is an error (`compile` refuses).
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Reads and compiles an option export: every diagnostic plus the policy.
///
/// Never fails: a file that cannot be read gives a compilation without a
/// policy and one diagnostic saying why.
pub fn compile(name: &str, bytes: &[u8], options: &Options) -> Compilation {
    let read = ReadOptions {
        format: options.format,
        max_input_bytes: options
            .max_input_bytes
            .unwrap_or(input::DEFAULT_MAX_INPUT_BYTES),
    };
    match lower::compile_bytes(
        name,
        bytes,
        read,
        LowerOptions {
            object: options.object,
        },
    ) {
        Ok(l) => Compilation {
            source: SourceFile::clone(&l.source),
            policy: Some(l.policy),
            diagnostics: l.diagnostics,
        },
        Err(f) => Compilation {
            source: *f.source,
            policy: None,
            diagnostics: vec![f.error.to_diagnostic()],
        },
    }
}

/// The JSON Schemas of scapi's documents (also in `grammar/`).
pub mod schema {
    /// The compiled policy (`scapi compile`).
    pub const COMPILED: &str = include_str!("../grammar/compiled.schema.json");
    /// The lint report (`scapi lint --format json`).
    pub const DIAGNOSTICS: &str = include_str!("../grammar/diagnostics.schema.json");
}
