//! `scapi lint FILE…`

use super::{
    Exit, InputArgs, SeverityArgs, error, print_stdout, read_input, shown, stderr_style,
    write_stdout,
};
use clap::ValueEnum;
use scapi::diagnostic::Severity;
use scapi::render::{FileDiagnostics, github, human, json, sarif};
use scapi::suppress::Overrides;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Option exports to lint (`-` reads standard input).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Human)]
    format: LintFormat,
    /// Fail (exit 1) on findings at or above this severity.
    #[arg(long, value_enum, default_value_t = FailLevel::Error)]
    fail_level: FailLevel,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    severity: SeverityArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LintFormat {
    Human,
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitHub Actions workflow-command annotations.
    Github,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FailLevel {
    Error,
    Warning,
}

pub fn run(args: Args, overrides: Overrides) -> Exit {
    let options = scapi::Options {
        overrides,
        ..args.input.options()
    };
    let mut files = Vec::new();
    let mut exit = Exit::Success;
    for path in &args.files {
        let read = match read_input(path, args.input.max_input_bytes) {
            Ok(r) => r,
            Err(msg) => {
                error(msg);
                exit = Exit::Unusable;
                continue;
            }
        };
        let name = shown(path);
        let c = scapi::compile_vec(
            name,
            read.bytes,
            &scapi::Options {
                size: read.size,
                ..options.clone()
            },
        );
        if c.is_unreadable() {
            exit = Exit::Unusable;
        }
        files.push(FileDiagnostics {
            source: c.source,
            diagnostics: c.diagnostics,
            suppressed: c.suppressed,
        });
    }
    let threshold = match args.fail_level {
        FailLevel::Error => Severity::Error,
        FailLevel::Warning => Severity::Warning,
    };
    let failing = files
        .iter()
        .flat_map(|f| &f.diagnostics)
        .any(|d| d.severity >= threshold);
    if failing && exit == Exit::Success {
        exit = Exit::Negative;
    }
    // Machine formats are streamed: a report of many thousands of findings
    // is never held whole.
    let successful = exit != Exit::Unusable;
    let written = match args.format {
        LintFormat::Json => write_stdout(|out| json::write_report(&files, out)),
        LintFormat::Sarif => write_stdout(|out| sarif::write_log(&files, successful, out)),
        LintFormat::Github => print_stdout(&github::annotations(&files)),
        LintFormat::Human => Ok(()),
    };
    if let Err(e) = written {
        error(e);
        return Exit::Unusable;
    }
    match args.format {
        LintFormat::Json | LintFormat::Sarif | LintFormat::Github => {}
        // With no file read there is nothing to summarize; the errors said why.
        LintFormat::Human if files.is_empty() => {}
        LintFormat::Human => eprint!("{}", human::render_run(&files, stderr_style())),
    }
    exit
}
