//! `scapi fmt FILE… [--check | --write]`

use super::{
    CliError, Exit, InputArgs, display_name, eprint_diagnostics, print_stdout, read_input,
    write_atomically,
};
use scapi::fmt::{self, FmtError};
use scapi::front::config::Exports;
use scapi::render::FileDiagnostics;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// cfg/ini exports to format, or folders holding them (several with
    /// `--check` or `--write`).
    #[arg(required = true, value_name = "PATH")]
    files: Vec<String>,
    /// Change nothing; exit 1 and show the lines that would change.
    #[arg(long, conflicts_with = "write")]
    check: bool,
    /// Rewrite the files in place (atomically).
    #[arg(long)]
    write: bool,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    config: super::config::ConfigArgs,
}

pub fn run(args: Args) -> Exit {
    if let Err(e) = super::stdin_once(args.files.iter().map(String::as_str)) {
        return e.report();
    }
    let several = args.files.len() > 1 || args.files.iter().any(|f| Path::new(f).is_dir());
    if !(args.check || args.write) && several {
        return CliError::Usage(
            "formatting several files to standard output is ambiguous; use `--check` or `--write`"
                .into(),
        )
        .report();
    }
    // Only `include` and `exclude` of `scapi.toml` apply to `fmt`.
    let settings = match super::config::settings(&args.config, None, None, &[]) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let (paths, mut exit) = super::walk::expand(&args.files, &settings, Exports::Cfg, &[]);
    for path in &paths {
        let outcome = one(&args, path);
        exit = exit.max(outcome);
    }
    exit
}

fn one(args: &Args, path: &str) -> Exit {
    let read = match read_input(path, args.input.max_input_bytes) {
        Ok(r) => r,
        Err(e) => return e.report(),
    };
    let bytes = read.bytes;
    let name = display_name(path);
    let options = scapi::Options {
        size: read.size,
        ..args.input.options()
    };
    let formatted = match fmt::format(name, &bytes, &options) {
        Ok(f) => f,
        Err(FmtError::Diagnostics(c)) => {
            let unreadable = c.is_unreadable();
            eprint_diagnostics(&FileDiagnostics::of(*c));
            if unreadable {
                return Exit::Unusable;
            }
            return CliError::HasErrors {
                path: name.to_string(),
                what: "not formatted".into(),
            }
            .report();
        }
        Err(source) => {
            return CliError::Format {
                path: name.to_string(),
                source,
            }
            .report();
        }
    };
    if args.check {
        if !formatted.changed() {
            return Exit::Success;
        }
        let mut out = String::new();
        for (line, old, new) in &formatted.changes {
            out.push_str(&format!("{name}:{line}\n- {old}\n+ {new}\n"));
        }
        if let Err(e) = print_stdout(&out) {
            return e.report();
        }
        return Exit::Negative;
    }
    if args.write {
        if !formatted.changed() || path == "-" {
            return if path == "-" {
                print(&formatted.text)
            } else {
                Exit::Success
            };
        }
        return match write_atomically(Path::new(path), formatted.text.as_bytes()) {
            Ok(()) => {
                eprintln!(
                    "formatted {name} ({} line{})",
                    formatted.changes.len(),
                    if formatted.changes.len() == 1 {
                        ""
                    } else {
                        "s"
                    }
                );
                Exit::Success
            }
            Err(e) => e.report(),
        };
    }
    print(&formatted.text)
}

/// Prints the formatted export on standard output.
fn print(text: &str) -> Exit {
    match print_stdout(text) {
        Ok(()) => Exit::Success,
        Err(e) => e.report(),
    }
}
