//! `scapi eval POLICY REQUESTS` and `scapi explain POLICY --origin ORIGIN`.

use super::{
    Exit, HumanOrJson as Format, InputArgs, error, load_policy, print_stdout, read_input,
    write_stdout,
};
use clap::ValueEnum;
use scapi::eval::{self, ReportFormat, RequestsFormat, RunError};
use scapi::explain;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// An option export or a compiled policy JSON.
    #[arg(value_name = "POLICY")]
    policy: String,
    /// Sample requests: a JSON array, JSON Lines or a YAML list (`-` reads standard input).
    #[arg(value_name = "REQUESTS")]
    requests: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    #[command(flatten)]
    input: InputArgs,
}

pub fn run(args: Args) -> Exit {
    let policy = match load_policy(&args.policy, &args.input) {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    let bytes = match read_input(&args.requests, args.input.max_input_bytes) {
        Ok(b) => b,
        Err(e) => {
            error(e);
            return Exit::Unusable;
        }
    };
    let Ok(text) = String::from_utf8(bytes) else {
        error(format!("`{}` is not UTF-8 text", args.requests));
        return Exit::Unusable;
    };
    let format = RequestsFormat::detect(&args.requests, &text);
    let report = match args.format {
        Format::Json => ReportFormat::Json,
        Format::Human => ReportFormat::Human,
    };
    // A bad requests file is reported before anything is written.
    let mut outcome = None;
    let written = write_stdout(|out| match eval::run(&policy, &text, format, report, out) {
        Ok(summary) => {
            outcome = Some(Ok(summary));
            Ok(())
        }
        Err(RunError::Items(e)) => {
            outcome = Some(Err(e));
            Ok(())
        }
        Err(RunError::Io(e)) => Err(e),
    });
    if let Err(e) = written {
        error(e);
        return Exit::Unusable;
    }
    let summary = match outcome {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            error(format!("`{}`: {e}", args.requests));
            return Exit::Unusable;
        }
        None => return Exit::Unusable,
    };
    if summary.mismatches > 0 {
        Exit::Negative
    } else {
        Exit::Success
    }
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// An option export or a compiled policy JSON.
    #[arg(value_name = "POLICY")]
    policy: String,
    /// The origin, exactly as the browser presents it.
    #[arg(long, value_name = "ORIGIN")]
    origin: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Human)]
    format: ExplainFormat,
    #[command(flatten)]
    input: InputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExplainFormat {
    Human,
    Json,
    StateEvent,
}

pub fn explain(args: ExplainArgs) -> Exit {
    let policy = match load_policy(&args.policy, &args.input) {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    let e = explain::explain(&policy, &args.origin);
    let text = match args.format {
        ExplainFormat::Human => e.to_human(),
        ExplainFormat::Json => scapi::jsonfmt::to_string(&e.to_json()),
        ExplainFormat::StateEvent => scapi::jsonfmt::to_string(&e.to_state_event()),
    };
    match print_stdout(&text) {
        // Like `grep`: the answer is printed either way, and the exit code
        // says whether the origin is accepted at all.
        Ok(()) if e.is_accepted() => Exit::Success,
        Ok(()) => Exit::Negative,
        Err(e) => {
            error(e);
            Exit::Unusable
        }
    }
}
