//! `scapi compile FILE [-o OUT]`

use super::{
    CliError, Exit, InputArgs, SeverityArgs, display_name, eprint_diagnostics, read_input,
    write_atomically_with, write_stdout,
};
use clap::ValueEnum;
use scapi::render::FileDiagnostics;
use scapi::rules::Code;
use scapi::suppress::Level;
use scapi_policy::compiled::CompiledPolicy;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The option export to compile (`-` reads standard input).
    #[arg(value_name = "FILE")]
    file: String,
    /// Write the compiled policy here (atomically) instead of to standard output.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// Format of the compiled policy [default: the extension of OUT
    /// (`.yaml`, `.yml`, `.json`), else json].
    #[arg(long, value_enum)]
    output_format: Option<OutputFormat>,
    /// Mark the whole policy shadow: brokers decide, count and log with it
    /// as when enforcing, but refuse, limit, ignore and filter nothing.
    #[arg(long)]
    shadow: bool,
    /// Mark one entry shadow, by its origin (`*` for the any-origin
    /// entry); repeat for several.
    #[arg(long, value_name = "ORIGIN")]
    shadow_entry: Vec<String>,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    severity: SeverityArgs,
    #[command(flatten)]
    config: super::config::ConfigArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Json,
    Yaml,
}

impl OutputFormat {
    fn of_path(path: &std::path::Path) -> Option<OutputFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(OutputFormat::Json),
            "yaml" | "yml" => Some(OutputFormat::Yaml),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            OutputFormat::Json => "json",
            OutputFormat::Yaml => "yaml",
        }
    }
}

/// The format to write: `--output-format`, else the extension of `-o`,
/// else JSON. A flag that contradicts the extension is a usage error.
fn output_format(args: &Args) -> Result<OutputFormat, CliError> {
    let by_name = args.output.as_deref().and_then(OutputFormat::of_path);
    match (args.output_format, by_name) {
        (Some(f), Some(n)) if f != n => Err(CliError::Usage(format!(
            "`--output-format {}` contradicts the extension of `{}`; drop the flag or rename the file",
            f.name(),
            args.output
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ))),
        (Some(f), _) | (None, Some(f)) => Ok(f),
        (None, None) => Ok(OutputFormat::Json),
    }
}

pub fn run(args: Args, flags: &[(Code, Level)]) -> Exit {
    let settings = match super::config::settings(&args.config, None, args.input.max_per_rule, flags)
    {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    // A `scapi.toml` found upward can re-grade rules, and so decide what
    // compiles: say which one.
    if let Some(file) = &settings.file {
        eprintln!(
            "configuration: `{}` (`--isolated` ignores it)",
            scapi::render::exact(&file.display().to_string())
        );
    }
    let format = match output_format(&args) {
        Ok(f) => f,
        Err(e) => return e.report(),
    };
    let read = match read_input(&args.file, args.input.max_input_bytes) {
        Ok(r) => r,
        Err(e) => return e.report(),
    };
    let name = display_name(&args.file);
    let c = scapi::compile_vec(
        name,
        read.bytes,
        &scapi::Options {
            size: read.size,
            ..settings.options(args.input.options(), &args.file)
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
            return CliError::HasErrors {
                path: name.to_string(),
                what: "not compiled".into(),
            }
            .report();
        }
    };
    let policy = if args.shadow || !args.shadow_entry.is_empty() {
        let shadow = scapi_policy::policy::Shadow {
            all: args.shadow,
            entries: args
                .shadow_entry
                .iter()
                .map(|e| e.as_str().into())
                .collect(),
        };
        match policy.with_shadow(shadow) {
            Ok(p) => p,
            Err(entry) => {
                return CliError::Usage(format!(
                    "`--shadow-entry {}` names no entry of `{name}`; give an origin it lists, or `*` for its any-origin entry",
                    scapi::render::exact(&entry)
                ))
                .report();
            }
        }
    } else {
        policy
    };
    // Streamed: a policy of a million origins is never one document in
    // memory.
    let write = |out: &mut dyn std::io::Write| match format {
        OutputFormat::Json => CompiledPolicy::write_json(&policy, &mut &mut *out),
        OutputFormat::Yaml => scapi::write_compiled_yaml(&policy, &mut &mut *out),
    };
    let written = match &args.output {
        Some(path) => write_atomically_with(path, |w| write(w)),
        None => write_stdout(|w| write(w)),
    };
    match written {
        Ok(()) => Exit::Success,
        Err(e) => e.report(),
    }
}
