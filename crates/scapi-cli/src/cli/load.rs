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

/// The policy of `eval` and `explain` with `--keys`: a compiled policy
/// whose signature (`POLICY.sig`) a trusted key made over exactly its
/// bytes; anything else is refused (exit 2) before it is read as a policy.
pub fn load_signed(
    path: &str,
    input: &InputArgs,
    keys: &scapi_policy::signing::TrustedKeys,
) -> Result<scapi_policy::policy::Policy, CliError> {
    let read = read_input(path, input.max_input_bytes)?;
    let signature = super::sign::read_signature(path)?;
    keys.verify(&read.bytes, signature.as_deref())
        .map_err(|source| CliError::Unverified {
            path: display_name(path).to_string(),
            source,
        })?;
    let options = scapi::Options {
        size: read.size,
        ..input.options()
    };
    match scapi::load_vec(display_name(path), read.bytes, &options) {
        Ok(scapi::Loaded::Compiled(p)) => Ok(p),
        Ok(scapi::Loaded::Export(_)) => Err(CliError::Usage(format!(
            "`{}` is an option export; with `--keys` the policy is a compiled, signed one (`scapi compile`, then `scapi sign`)",
            display_name(path)
        ))),
        Err(source) => Err(CliError::Policy {
            path: display_name(path).to_string(),
            source,
        }),
    }
}

/// The policy of `eval` and `explain`, and the keys it was verified with:
/// with `--keys` (a `.pub` file or a folder of them), the signed compiled
/// policy ([`load_signed`]); else a compiled policy JSON (detected) or an
/// option export ([`load_policy`]).
pub fn load_policy_with(
    path: &str,
    input: &InputArgs,
    keys: Option<&std::path::Path>,
) -> Result<
    (
        scapi_policy::policy::Policy,
        Option<scapi_policy::signing::TrustedKeys>,
    ),
    Exit,
> {
    match keys {
        Some(dir) => {
            let keys = super::sign::trusted_keys(dir).map_err(CliError::report)?;
            let policy = load_signed(path, input, &keys).map_err(CliError::report)?;
            Ok((policy, Some(keys)))
        }
        None => load_policy(path, input).map(|p| (p, None)),
    }
}

/// The policy of `eval` and `explain` without keys: a compiled policy JSON
/// (detected) or an option export. An export with errors is refused (exit
/// 1) after its diagnostics; one with warnings is used, with a note.
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
