//! # scapi — the compiler of the Service Client API security options
//!
//! Workspace Web Edition (WWE) embeds third-party web applications in the
//! agent desktop. A handful of options on the WWEWS Cluster application
//! decide which of them (by browser origin) may call which Service Client
//! API requests, how often, and which attached-data keys they may touch.
//! This crate reads those options from an export (GAX cfg/ini, the
//! provisioning API's JSON, or YAML), reports every problem with a precise
//! diagnostic, and compiles them into a typed [`runtime::Policy`] and a
//! versioned JSON artifact.
//!
//! **Which crate you want:** a broker that enforces a compiled policy
//! links `scapi-policy` alone (re-exported here as [`runtime`]); tools that
//! read, check or rewrite option exports link this crate; the `scapi`
//! command is `scapi-cli`.
//!
//! ## Compile an export
//!
//! [`compile`] never fails: it returns the policy together with every
//! diagnostic, and the policy is absent only when the file cannot be read
//! at all.
//!
//! ```
//! let export = "\
//! [interaction-workspace]
//! service-client-api.accepted-web-content-origins=https://crm.example.com (agent.*, voice.dial)
//! service-client-api.rate-limit.voice.dial=4
//! service-client-api.user-data.read-allowed=CaseId
//! service-client-api.user-data.write-allowed=CaseId
//! ";
//! let c = scapi::compile("wwews.cfg", export.as_bytes(), &scapi::Options::default());
//! assert!(c.diagnostics.is_empty());
//! let policy = c.policy.expect("readable");
//!
//! let crm = policy.grant_for("https://crm.example.com").expect("accepted");
//! assert!(crm.permits("voice.dial"));
//! assert!(crm.permits("agent.getState"));
//! assert!(!crm.permits("interaction.setUserData"));
//! assert_eq!(policy.rate_limits().limit_for("voice.dial"), 4);
//! ```
//!
//! ## Diagnostics
//!
//! Every finding has a stable [`Code`](rules::Code) (`scapi rule CODE`
//! documents it), a severity, a message, the exact byte span in the file —
//! also inside JSON strings with escapes — and, where the fix is mechanical,
//! a replacement.
//!
//! ```
//! use scapi::rules::Code;
//!
//! let export = "service-client-api.accepted-web-content-origins=http://my-web-server/path/page.html\n";
//! let c = scapi::compile("wwews.cfg", export.as_bytes(), &scapi::Options::default());
//! let d = c.diagnostics.iter().find(|d| d.code == Code::OriginHasPath).expect("reported");
//! assert_eq!(c.source.slice(d.span), "/path/page.html");
//! let fix = d.fix.as_ref().expect("machine-applicable");
//! assert_eq!(c.source.slice(fix.span), "http://my-web-server/path/page.html");
//! assert_eq!(fix.replacement, "http://my-web-server");
//! assert!(c.has_errors());
//! ```
//!
//! Renderers for people ([`render::human`], through miette) and tools
//! ([`render::json`], [`render::sarif`], [`render::github`]) take the same
//! diagnostics; [`fix::apply`] applies the fixes of a run together.
//!
//! ## The compiled policy
//!
//! [`CompiledPolicy`](runtime::CompiledPolicy) is the versioned JSON
//! document brokers load (schema in [`schema::COMPILED`]). Output is
//! deterministic, and it loads back into the same policy.
//!
//! ```
//! use scapi::runtime::CompiledPolicy;
//!
//! let export = "service-client-api.accepted-web-content-origins=HTTPS://App.Example:443 (*, auth.getJwtToken)\n";
//! let c = scapi::compile("wwews.cfg", export.as_bytes(), &scapi::Options::default());
//! let policy = c.policy.expect("readable");
//! let json = CompiledPolicy::from(&policy).to_json();
//! assert!(json.starts_with("{\n  \"schemaVersion\": 1,"));
//! let loaded = CompiledPolicy::load(&json).expect("valid");
//! assert!(loaded.check("https://app.example", "auth.getJwtToken").is_allowed());
//! assert!(loaded.same_rules(&policy));
//! ```
//!
//! [`load`] takes either form — an export or a compiled policy, JSON or
//! YAML — and says which it found.
//!
//! ## Where things are
//!
//! The pipeline runs one way: [`input`] (bytes → sections and options with
//! spans) → the nom grammars of each option value → lowering (the typed
//! policy plus semantic diagnostics) → [`render`], the compiled document
//! and [`fmt`]. The tools over a compiled policy (`eval`, `explain`,
//! `diff`) are the crate [`scapi_tools`], which needs only the runtime.
//! `ARCHITECTURE.md` in the repository describes the invariants.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
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

pub use scapi_policy as runtime;

pub mod baseline;
pub mod diagnostic;
pub mod fix;
pub mod fmt;
pub mod front;
pub mod input;
#[cfg(feature = "invariants")]
pub mod invariants;
mod lower;
pub mod options;
pub mod render;
pub mod rules;
pub mod source;
mod suggest;
pub mod suppress;
mod syntax;

pub use lower::ObjectLevel;

use diagnostic::{Diagnostic, Severity};
use input::{InputFormat, ReadOptions};
use lower::LowerOptions;
use scapi_policy::policy::Policy;
use source::SourceFile;

/// How to read and compile an export.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Force the input format instead of detecting it.
    pub format: Option<InputFormat>,
    /// The object the export belongs to; detected from GAX file names when
    /// not given.
    pub object: Option<ObjectLevel>,
    /// Refuse inputs larger than this many bytes (default 64 MiB).
    pub max_input_bytes: Option<u64>,
    /// List at most this many findings of one rule per file, and count the
    /// rest in one closing finding (default
    /// [`DEFAULT_MAX_PER_RULE`](diagnostic::DEFAULT_MAX_PER_RULE); 0 lists
    /// every finding).
    pub max_per_rule: Option<usize>,
    /// Per-rule severity overrides (`--allow`, `--warn`, `--deny`).
    pub overrides: suppress::Overrides,
    /// The input's true size when the bytes given were cut at the size
    /// limit while reading; `None` when they are the whole input.
    pub size: Option<input::InputSize>,
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
    /// Findings hidden by inline suppressions (reported only in SARIF).
    pub suppressed: Vec<suppress::Suppressed>,
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
    compile_vec(name, bytes.to_vec(), options)
}

/// [`compile`] for bytes it may keep: the file's text is the same memory,
/// never a copy, which matters for exports of many megabytes.
pub fn compile_vec(name: &str, bytes: Vec<u8>, options: &Options) -> Compilation {
    let read = ReadOptions {
        format: options.format,
        max_input_bytes: options
            .max_input_bytes
            .unwrap_or(input::DEFAULT_MAX_INPUT_BYTES),
        max_per_rule: options
            .max_per_rule
            .unwrap_or(diagnostic::DEFAULT_MAX_PER_RULE),
        size: options.size,
    };
    match lower::compile_bytes(
        name,
        bytes,
        read,
        LowerOptions {
            object: options.object,
        },
    ) {
        Ok(mut l) => {
            options.overrides.apply(&mut l.diagnostics);
            Compilation {
                source: l.source,
                policy: Some(l.policy),
                diagnostics: l.diagnostics,
                suppressed: l.suppressed,
            }
        }
        Err(f) => Compilation {
            source: *f.source,
            policy: None,
            diagnostics: vec![f.error.to_diagnostic()],
            suppressed: Vec::new(),
        },
    }
}

/// The READMEs' Rust examples run as doctests, so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The repository README's Rust examples.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct RepositoryReadmeDoctests;

/// The JSON Schemas of scapi's documents (also in `grammar/`).
pub mod schema {
    /// The compiled policy (`scapi compile`).
    pub const COMPILED: &str = include_str!("../grammar/compiled.schema.json");
    /// The lint report (`scapi lint --format json`).
    pub const DIAGNOSTICS: &str = include_str!("../grammar/diagnostics.schema.json");
    /// The eval report (`scapi eval --format json`).
    pub const EVAL: &str = include_str!("../grammar/eval.schema.json");
    /// The requests file `scapi eval` reads.
    pub const REQUESTS: &str = include_str!("../grammar/requests.schema.json");
    /// The diff report (`scapi diff --format json`).
    pub const DIFF: &str = include_str!("../grammar/diff.schema.json");
    /// A baseline (`scapi lint --write-baseline`).
    pub const BASELINE: &str = include_str!("../grammar/baseline.schema.json");
    /// A policy's signature and the key files (`scapi sign`, `scapi keygen`).
    pub const SIGNATURE: &str = include_str!("../grammar/signature.schema.json");
    /// A line of a decision log (`scapi eval --decision-log`).
    pub const DECISION_LOG: &str = include_str!("../grammar/decision-log.schema.json");
    /// The requests and answers of `scapi serve`.
    pub const SERVE: &str = include_str!("../grammar/serve.schema.json");
}

/// What [`load`] found.
#[derive(Clone, Debug)]
pub enum Loaded {
    /// A compiled policy JSON, loaded and checked.
    Compiled(Policy),
    /// An option export, compiled (look at its diagnostics before using
    /// the policy: `compile` refuses one with errors).
    Export(Compilation),
}

/// Loads a policy from either form: a compiled policy, JSON or YAML
/// (detected by its `schemaVersion` and `origins`), or an option export.
pub fn load(
    name: &str,
    bytes: &[u8],
    options: &Options,
) -> Result<Loaded, scapi_policy::compiled::LoadError> {
    load_vec(name, bytes.to_vec(), options)
}

/// [`load`] for bytes it may keep (no copy of the text).
pub fn load_vec(
    name: &str,
    bytes: Vec<u8>,
    options: &Options,
) -> Result<Loaded, scapi_policy::compiled::LoadError> {
    // An oversized file is refused by the export path, before any parse.
    let limit = options
        .max_input_bytes
        .unwrap_or(input::DEFAULT_MAX_INPUT_BYTES);
    if bytes.len() as u64 <= limit
        && let Ok(text) = std::str::from_utf8(&bytes)
    {
        if scapi_policy::compiled::looks_compiled(text) {
            return scapi_policy::compiled::CompiledPolicy::from_json(text)
                .and_then(|c| c.to_policy())
                .map(Loaded::Compiled);
        }
        if looks_compiled_yaml(text) {
            return compiled_from_yaml(text)
                .and_then(|c| c.to_policy())
                .map(Loaded::Compiled);
        }
    }
    Ok(Loaded::Export(compile_vec(name, bytes, options)))
}

/// Whether `text` looks like a compiled policy written as YAML
/// (`scapi compile --output-format yaml`): a mapping with `schemaVersion`
/// and `origins` at the top, which no option export has.
pub(crate) fn looks_compiled_yaml(text: &str) -> bool {
    let top = |key: &str| {
        text.lines().any(|l| {
            l.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        })
    };
    top("schemaVersion") && top("origins") && {
        #[derive(serde::Deserialize)]
        struct Probe {
            #[serde(rename = "schemaVersion")]
            _v: serde::de::IgnoredAny,
            #[serde(rename = "origins")]
            _o: serde::de::IgnoredAny,
        }
        // Aliases past the budget are for the reader to refuse, not to
        // expand here.
        !input::yaml::aliases_within_budget(text) || serde_yaml_ng::from_str::<Probe>(text).is_ok()
    }
}

/// Writes the compiled policy of `policy` as YAML, origins converted one
/// at a time (`scapi compile --output-format yaml`).
pub fn write_compiled_yaml(policy: &Policy, out: &mut impl std::io::Write) -> std::io::Result<()> {
    serde_yaml_ng::to_writer(out, &scapi_policy::CompiledPolicy::streamed(policy))
        .map_err(std::io::Error::other)
}

/// Reads a compiled policy written as YAML (its aliases held to an
/// export's budget).
pub fn compiled_from_yaml(
    text: &str,
) -> Result<scapi_policy::compiled::CompiledPolicy, scapi_policy::compiled::LoadError> {
    if !input::yaml::aliases_within_budget(text) {
        return Err(scapi_policy::compiled::LoadError::new(
            scapi_policy::compiled::LoadErrorKind::Syntax,
            "not a compiled policy: YAML aliases expand to too many nodes (write the values out instead of nesting aliases)",
        ));
    }
    serde_yaml_ng::from_str(text).map_err(|e| {
        scapi_policy::compiled::LoadError::new(
            scapi_policy::compiled::LoadErrorKind::Syntax,
            format!("not a compiled policy: {e}"),
        )
    })
}
