//! `scapi compile FILE [-o OUT]`

use super::{
    Exit, InputArgs, SeverityArgs, eprint_diagnostics, error, read_input, shown,
    write_atomically_with, write_stdout,
};
use clap::ValueEnum;
use scapi::compiled::CompiledPolicy;
use scapi::render::FileDiagnostics;
use scapi::suppress::Overrides;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The option export to compile (`-` reads standard input).
    #[arg(value_name = "FILE")]
    file: String,
    /// Write the compiled policy here (atomically) instead of to standard output.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// Format of the compiled policy.
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    output_format: OutputFormat,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    severity: SeverityArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutputFormat {
    Json,
    Yaml,
}

pub fn run(args: Args, overrides: Overrides) -> Exit {
    let bytes = match read_input(&args.file, args.input.max_input_bytes) {
        Ok(b) => b,
        Err(msg) => {
            error(msg);
            return Exit::Unusable;
        }
    };
    let name = shown(&args.file);
    let c = scapi::compile_vec(
        name,
        bytes,
        &scapi::Options {
            overrides,
            ..args.input.options()
        },
    );
    let refused = c.has_errors();
    let unreadable = c.is_unreadable();
    let file = FileDiagnostics {
        source: c.source,
        diagnostics: c.diagnostics,
        suppressed: c.suppressed,
    };
    eprint_diagnostics(&file);
    let policy = match c.policy {
        Some(p) if !refused => p,
        _ if unreadable => return Exit::Unusable,
        _ => {
            error(format!("`{name}` has errors; not compiled"));
            return Exit::Negative;
        }
    };
    // Streamed: a policy of a million origins is never one document in
    // memory.
    let format = args.output_format;
    let write = |out: &mut dyn std::io::Write| match format {
        OutputFormat::Json => CompiledPolicy::write_json(&policy, &mut &mut *out),
        OutputFormat::Yaml => CompiledPolicy::write_yaml(&policy, &mut &mut *out),
    };
    let written = match &args.output {
        Some(path) => write_atomically_with(path, |w| write(w)),
        None => write_stdout(|w| write(w)),
    };
    match written {
        Ok(()) => Exit::Success,
        Err(e) => {
            error(e);
            Exit::Unusable
        }
    }
}
