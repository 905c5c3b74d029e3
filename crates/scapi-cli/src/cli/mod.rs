//! Argument parsing and command dispatch. Each command lives in its own
//! module; they share reading (`read`), writing (`write`), loading a
//! policy (`load`) and typed errors with their exit codes (`error`).
//!
//! Exit codes: 0 success, 1 negative verdict (findings at or above the fail
//! level, compile refused, …), 2 usage error or unreadable input.

mod compile;
mod config;
mod diff;
mod error;
mod eval;
mod fmt;
mod lint;
mod load;
mod lsp;
mod read;
mod reference;
mod serve;
mod sign;
mod walk;
mod write;

pub use error::CliError;
pub use load::read_policy;
pub use read::{check_stdin_open, read_input};
pub use write::{
    check_output, print_stdout, write_atomically, write_atomically_with, write_stdout,
};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use scapi::ObjectLevel;
use scapi::input::InputFormat;
use scapi::rules::Code;
use scapi::suppress::{Level, Overrides};
use std::io::IsTerminal;
use std::process::ExitCode;

/// Compiler and linter for the Workspace Web Edition Service Client API
/// security options.
#[derive(Debug, Parser)]
#[command(name = "scapi", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Report every problem in option exports (cfg, JSON or YAML).
    Lint(lint::Args),
    /// Compile an export into the policy JSON that brokers load.
    Compile(compile::Args),
    /// Decide sample requests (and redact events) under a policy.
    Eval(eval::Args),
    /// Show what one origin may call, and why.
    Explain(eval::ExplainArgs),
    /// Compare two policies by what they grant; flag widened access.
    Diff(diff::Args),
    /// Rewrite the Service Client API values of a cfg export canonically.
    Fmt(fmt::Args),
    /// Print the request catalog.
    Requests(reference::RequestsArgs),
    /// Print a rule's documentation, or list every rule.
    Rule(reference::RuleArgs),
    /// Print a JSON Schema of scapi's documents.
    Schema(reference::SchemaArgs),
    /// Print the effective settings (`scapi.toml` and flags) and where each
    /// came from.
    Config(config::Args),
    /// Run the language server (LSP over standard input and output).
    Lsp(lsp::Args),
    /// Print a shell completion script.
    Completions(reference::CompletionsArgs),
    /// Make an Ed25519 key pair for signing policies; print its key id.
    Keygen(sign::KeygenArgs),
    /// Sign a compiled policy: write its detached signature `POLICY.sig`.
    Sign(sign::SignArgs),
    /// Check a compiled policy's signature against trusted keys (exit 0
    /// valid, 1 refused, 2 unusable).
    Verify(sign::VerifyArgs),
    /// Run the decision service: HTTP/1.1 JSON checks and redactions for
    /// brokers in any language, with health, status, metrics and reloads.
    Serve(serve::Args),
}

/// Input options shared by commands that read exports.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// The Configuration Server object the export belongs to (GAX file names
    /// `CfgPerson_annex_*` and `CfgAgentGroup_annex_*` are detected).
    #[arg(long, value_parser = object_parser())]
    object: Option<ObjectLevel>,
    /// Read the input as this format instead of detecting it.
    #[arg(long, value_parser = input_format_parser())]
    input_format: Option<InputFormat>,
    /// Refuse inputs larger than this many bytes.
    #[arg(long, default_value_t = scapi::input::DEFAULT_MAX_INPUT_BYTES, value_name = "BYTES")]
    max_input_bytes: u64,
    /// List at most this many findings of one rule per file and count the
    /// rest (0: list all) [default: 1000, or `max-per-rule` of `scapi.toml`].
    #[arg(long, value_name = "N")]
    max_per_rule: Option<usize>,
}

impl InputArgs {
    pub fn options(&self) -> scapi::Options {
        scapi::Options {
            format: self.input_format,
            object: self.object,
            max_input_bytes: Some(self.max_input_bytes),
            max_per_rule: Some(
                self.max_per_rule
                    .unwrap_or(scapi::diagnostic::DEFAULT_MAX_PER_RULE),
            ),
            overrides: Overrides::new(),
            size: None,
        }
    }
}

/// Rule severity overrides, like clippy's `-A`/`-W`/`-D`.
#[derive(Debug, Clone, clap::Args)]
pub struct SeverityArgs {
    /// Drop the findings of a rule (code such as `SC0113` or name); repeatable.
    #[arg(long, value_name = "CODE")]
    allow: Vec<String>,
    /// Report a rule's findings as warnings; repeatable.
    #[arg(long, value_name = "CODE")]
    warn: Vec<String>,
    /// Report a rule's findings as errors; repeatable.
    #[arg(long, value_name = "CODE")]
    deny: Vec<String>,
}

/// The overrides of a subcommand, in command-line order: for a rule named
/// more than once, the last flag wins.
fn overrides(m: &clap::ArgMatches) -> Result<Vec<(Code, Level)>, CliError> {
    let mut flags: Vec<(usize, Level, &String)> = Vec::new();
    for (id, level) in [
        ("allow", Level::Allow),
        ("warn", Level::Warn),
        ("deny", Level::Deny),
    ] {
        let (Ok(Some(values)), Some(indices)) = (m.try_get_many::<String>(id), m.indices_of(id))
        else {
            continue;
        };
        flags.extend(indices.zip(values).map(|(i, v)| (i, level, v)));
    }
    flags.sort_by_key(|f| f.0);
    let mut o = Vec::new();
    for (_, level, name) in flags {
        o.push((scapi::front::overridable(name)?, level));
    }
    Ok(o)
}

/// A value of `--object` or `--input-format`, read by the compiler's
/// `FromStr` (the names and the message of `scapi.toml` and the npm
/// package), offered as the possible values of `--help` and completions.
#[derive(Clone)]
struct NameParser<T> {
    names: [&'static str; 3],
    parse: fn(&str) -> Result<T, scapi::front::UnknownName>,
}

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for NameParser<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let text = value.to_string_lossy();
        (self.parse)(&text).map_err(|e| {
            clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("{e}\n")).with_cmd(cmd)
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            self.names
                .iter()
                .map(|n| clap::builder::PossibleValue::new(*n)),
        ))
    }
}

fn object_parser() -> NameParser<ObjectLevel> {
    NameParser {
        names: ObjectLevel::ALL.map(ObjectLevel::as_str),
        parse: str::parse,
    }
}

fn input_format_parser() -> NameParser<InputFormat> {
    NameParser {
        names: InputFormat::ALL.map(InputFormat::as_str),
        parse: str::parse,
    }
}

/// The command's verdict, as an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    Success = 0,
    Negative = 1,
    Unusable = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

pub fn main() -> ExitCode {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    let (cli, matches) = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                Exit::Unusable
            } else {
                Exit::Success
            };
            let _ = e.print();
            return code.into();
        }
    };
    // Only `lint`, `compile` and `config` take severity flags.
    let with_severity = matches
        .subcommand()
        .filter(|(name, _)| matches!(*name, "lint" | "compile" | "config"));
    let flags = match with_severity.map(|(_, m)| overrides(m)) {
        Some(Err(e)) => return e.report().into(),
        Some(Ok(o)) => o,
        None => Vec::new(),
    };
    let exit = match cli.command {
        Command::Lint(a) => lint::run(a, &flags),
        Command::Compile(a) => compile::run(a, &flags),
        Command::Config(a) => config::run(a, &flags),
        Command::Lsp(a) => lsp::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Explain(a) => eval::explain(a),
        Command::Diff(a) => diff::run(a),
        Command::Fmt(a) => fmt::run(a),
        Command::Requests(a) => reference::requests(a),
        Command::Rule(a) => reference::rule(a),
        Command::Schema(a) => reference::schema(a),
        Command::Completions(a) => reference::completions(a, &mut Cli::command()),
        Command::Keygen(a) => sign::keygen(a),
        Command::Sign(a) => sign::sign(a),
        Command::Verify(a) => sign::verify(a),
        Command::Serve(a) => serve::run(a),
    };
    exit.into()
}

/// `--format` of the commands whose report is human text or one JSON
/// document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HumanOrJson {
    Human,
    Json,
}

/// How a file argument is named in messages and reports (`-` is standard
/// input).
pub fn display_name(path: &str) -> &str {
    if path == "-" { "<stdin>" } else { path }
}

/// Prints a file's diagnostics on standard error.
pub fn eprint_diagnostics(file: &scapi::render::FileDiagnostics) {
    eprint!(
        "{}",
        scapi::render::human::render_file(file, stderr_style())
    );
}

/// Prints a usage or I/O error the way the whole CLI does.
///
/// Messages quote what the user gave (a file name, a field of a requests
/// file), so they reach the terminal as `render::exact` shows untrusted
/// text: an escape sequence or a line break in them is written escaped.
pub fn error(msg: impl std::fmt::Display) {
    eprintln!("error: {}", scapi::render::exact(&msg.to_string()));
}

/// Standard input can be read once: naming `-` twice is a usage error,
/// not an empty second file.
pub fn stdin_once<'a>(paths: impl IntoIterator<Item = &'a str>) -> Result<(), CliError> {
    if paths.into_iter().filter(|p| *p == "-").count() > 1 {
        return Err(CliError::Usage(
            "`-` (standard input) is given more than once; it can be read only once".into(),
        ));
    }
    Ok(())
}

/// How human output to stderr should look: colour only on a terminal and
/// when `NO_COLOR` is not set.
pub fn stderr_style() -> scapi::render::human::Style {
    let tty = std::io::stderr().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|&w: &usize| w >= 40);
    scapi::render::human::Style {
        color: tty && !no_color,
        width: if tty { width.unwrap_or(100) } else { 80 },
    }
}
