//! `scapi diff OLD NEW [--format human|json] [--fail-on widening|any]`

use super::{
    Exit, HumanOrJson as Format, InputArgs, display_name, eprint_diagnostics, print_stdout,
    read_policy,
};
use clap::ValueEnum;
use scapi_policy::policy::Policy;
use scapi_tools::diff;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The policy deployed now: an export or a compiled policy JSON.
    #[arg(value_name = "OLD")]
    old: String,
    /// The policy to deploy.
    #[arg(value_name = "NEW")]
    new: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Exit 1 when a change of this class is found.
    #[arg(long, value_enum, value_name = "CLASS")]
    fail_on: Option<FailOn>,
    #[command(flatten)]
    input: InputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    /// Any change that gives more access or looser limits.
    Widening,
    /// Any change at all.
    Any,
}

/// Loads one side. An export with errors is compared for what it certainly
/// grants (entries with errors grant nothing), with a note; the lint step
/// of a gate reports the errors themselves.
fn side(path: &str, input: &InputArgs) -> Result<Policy, Exit> {
    let c = match read_policy(path, input)? {
        scapi::Loaded::Compiled(p) => return Ok(p),
        scapi::Loaded::Export(c) => c,
    };
    if c.is_unreadable() {
        eprint_diagnostics(&scapi::render::FileDiagnostics::of(c));
        return Err(Exit::Unusable);
    }
    if c.has_errors() {
        let name = display_name(path);
        eprintln!(
            "note: `{name}` has errors; comparing what it certainly grants (see `scapi lint {name}`)"
        );
    }
    c.policy.ok_or(Exit::Unusable)
}

pub fn run(args: Args) -> Exit {
    if let Err(e) = super::stdin_once([args.old.as_str(), args.new.as_str()]) {
        return e.report();
    }
    let old = match side(&args.old, &args.input) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let new = match side(&args.new, &args.input) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let changes = diff::diff(&old, &new);
    let text = match args.format {
        Format::Human => diff::to_human(&changes),
        Format::Json => scapi_policy::jsonfmt::to_string(&diff::to_json(&changes)),
    };
    if let Err(e) = print_stdout(&text) {
        return e.report();
    }
    let (widening, _) = diff::counts(&changes);
    match args.fail_on {
        Some(FailOn::Widening) if widening > 0 => Exit::Negative,
        Some(FailOn::Any) if !changes.is_empty() => Exit::Negative,
        _ => Exit::Success,
    }
}
