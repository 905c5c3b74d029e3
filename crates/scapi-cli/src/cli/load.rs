//! Loading the policy of `eval` and `explain`: a compiled policy or an
//! export compiled on the spot.

use super::error::CliError;
use super::read::read_input;
use super::{Exit, InputArgs, display_name, eprint_diagnostics};

/// Reads a policy argument and loads it: a compiled policy JSON, or the
/// compilation of an export. Exit 2 when the file cannot be read or is a
/// compiled policy that does not load.
pub fn read_policy(path: &str, input: &InputArgs) -> Result<scapi::Loaded, Exit> {
    let read = read_input(path, input.max_input_bytes).map_err(CliError::report)?;
    let options = scapi::Options {
        size: read.size,
        ..input.options()
    };
    scapi::load_vec(display_name(path), read.bytes, &options).map_err(|source| {
        CliError::Policy {
            path: display_name(path).to_string(),
            source,
        }
        .report()
    })
}

/// The policy of `eval` and `explain`: a compiled policy JSON (detected) or
/// an option export. An export with errors is refused (exit 1) after its
/// diagnostics; one with warnings is used, with a note.
pub fn load_policy(path: &str, input: &InputArgs) -> Result<scapi_policy::policy::Policy, Exit> {
    let name = display_name(path);
    let c = match read_policy(path, input)? {
        scapi::Loaded::Compiled(p) => return Ok(p),
        scapi::Loaded::Export(c) => c,
    };
    let counts = scapi::diagnostic::Counts::of(&c.diagnostics);
    if c.is_unreadable() || c.has_errors() {
        eprint_diagnostics(&scapi::render::FileDiagnostics {
            source: c.source,
            diagnostics: c.diagnostics,
            suppressed: Vec::new(),
        });
        if c.policy.is_none() {
            return Err(Exit::Unusable);
        }
        return Err(CliError::HasErrors {
            path: name.to_string(),
            what: format!("fix them first (`scapi lint {name}`)"),
        }
        .report());
    }
    if counts.warnings > 0 {
        eprintln!(
            "note: `{name}` has {} warning{}; see `scapi lint {name}`",
            counts.warnings,
            if counts.warnings == 1 { "" } else { "s" }
        );
    }
    c.policy.ok_or(Exit::Unusable)
}
