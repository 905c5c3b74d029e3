//! Why a command could not do its job, typed, and the one place each kind
//! gets its exit code.

use super::Exit;
use std::io;

/// A command that cannot go on: its input cannot be read, its output
/// cannot be written, or it was asked something it cannot do. Printed as
/// `error: …`, one short lowercase sentence; the I/O error it comes from is
/// its [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A file (or standard input, `<stdin>`) cannot be read.
    #[error("cannot read `{path}`: {}", io_reason(source))]
    Read {
        path: String,
        #[source]
        source: io::Error,
    },
    /// The baseline file cannot be read.
    #[error("cannot read the baseline `{path}`: {}", io_reason(source))]
    ReadBaseline {
        path: String,
        #[source]
        source: io::Error,
    },
    /// A requests file over the size limit that must be read whole (a JSON
    /// array or a YAML list): its size (`None`: standard input, more than
    /// the limit) and the limit.
    #[error(
        "`{path}` is {}, over the limit of {}; JSON Lines are read as they stream, a JSON array or YAML list whole (raise `--max-input-bytes`, or write one item per line)",
        size.map_or_else(|| format!("more than {}", scapi::input::byte_count(*limit)), scapi::input::byte_count),
        scapi::input::byte_count(*limit)
    )]
    TooLarge {
        path: String,
        size: Option<u64>,
        limit: u64,
    },
    /// An export with errors, which the command refuses to use (exit 1):
    /// `what` says what was not done.
    #[error("`{path}` has errors; {what}")]
    HasErrors { path: String, what: String },
    /// `lint --fix` of something that is not a regular file.
    #[error(
        "`{path}` is not a regular file; `--fix` rewrites files in place (`--fix -` fixes standard input)"
    )]
    NotRegularFile { path: String },
    /// `fmt` could not format an export.
    #[error("`{path}`: {source}")]
    Format {
        path: String,
        #[source]
        source: scapi::fmt::FmtError,
    },
    /// `lint --fix` refused to write a file (it stays as it was).
    #[error("`{path}`: {source}")]
    FixRefused {
        path: String,
        #[source]
        source: scapi::fix::FixRunError,
    },
    /// A baseline that cannot be used.
    #[error("`{path}`: {source}")]
    Baseline {
        path: String,
        #[source]
        source: scapi::baseline::BaselineError,
    },
    /// Where the configuration is cannot be told (two files in one
    /// directory).
    #[error(transparent)]
    Config(#[from] scapi::front::config::ConfigError),
    /// A rule name that cannot be used (`--allow`, `scapi rule`).
    #[error(transparent)]
    Rule(#[from] scapi::front::RuleError),
    /// A text input that is not UTF-8.
    #[error("`{path}` is not UTF-8 text")]
    NotUtf8 { path: String },
    /// A requests file that cannot be evaluated from one of its items on
    /// (what was decided before it has been printed).
    #[error("`{path}`: {source}")]
    Requests {
        path: String,
        #[source]
        source: scapi_tools::eval::ItemError,
    },
    /// A file argument is a directory.
    #[error("cannot read `{path}`: it is a directory")]
    ReadDirectory { path: String },
    /// A folder given to `lint` or `fmt` cannot be walked, in part.
    #[error("cannot walk `{path}`: {message}")]
    Walk { path: String, message: String },
    /// The folders given hold no option export, and no file was named.
    #[error("no option exports found in {}; name the files, or match them with `include` in `scapi.toml`", paths.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", "))]
    NoExports { paths: Vec<String> },
    /// Standard input was closed (`<&-`), not merely empty.
    #[error("cannot read standard input: it is closed")]
    StdinClosed,
    /// A file cannot be written; it is left as it was.
    #[error("cannot write `{path}`: {}", io_reason(source))]
    Write {
        path: String,
        #[source]
        source: io::Error,
    },
    /// The target of a write is a directory.
    #[error("cannot write `{path}`: it is a directory")]
    WriteDirectory { path: String },
    /// The target of a write is read-only: the user's "do not touch".
    #[error("cannot write `{path}`: it is read-only; nothing was written")]
    ReadOnly { path: String },
    /// Standard output cannot be written (a closed pipe is not an error).
    #[error("cannot write to standard output: {}", io_reason(source))]
    Stdout {
        #[source]
        source: io::Error,
    },
    /// A compiled policy that does not load.
    #[error("cannot load the compiled policy `{path}`: {source}")]
    Policy {
        path: String,
        #[source]
        source: scapi_policy::compiled::LoadError,
    },
    /// The fleet store cannot be used (not a Redis URL, refused, out of
    /// reach when connecting).
    #[error("{source}")]
    Store {
        #[source]
        source: scapi_redis::RedisStoreError,
    },
    /// The language server could not run.
    #[error("{0}")]
    Lsp(#[from] scapi_lsp::LspError),
    /// A key, a signature or a set of trusted keys that cannot be used.
    #[error("`{path}`: {source}")]
    Key {
        path: String,
        #[source]
        source: scapi_policy::signing::VerifyError,
    },
    /// A policy whose signature does not hold, where keys are trusted:
    /// it is not used.
    #[error("refused the policy `{path}`: {source}")]
    Unverified {
        path: String,
        #[source]
        source: scapi_policy::signing::VerifyError,
    },
    /// No secure random source for a new key.
    #[error("cannot draw a random key: {0}")]
    Random(String),
    /// The command line asks for something that cannot be done (an unknown
    /// rule, contradicting flags); the message says what and how.
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// The exit code of this failure: every one of them is "unusable input
    /// or usage" (2) today; a new kind decides here.
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Read { .. }
            | CliError::ReadBaseline { .. }
            | CliError::TooLarge { .. }
            | CliError::NotRegularFile { .. }
            | CliError::Format { .. }
            | CliError::FixRefused { .. }
            | CliError::Baseline { .. }
            | CliError::Config(_)
            | CliError::Rule(_)
            | CliError::NotUtf8 { .. }
            | CliError::Requests { .. }
            | CliError::Store { .. }
            | CliError::Lsp(_)
            | CliError::ReadDirectory { .. }
            | CliError::Walk { .. }
            | CliError::NoExports { .. }
            | CliError::Key { .. }
            | CliError::Unverified { .. }
            | CliError::Random(_)
            | CliError::StdinClosed
            | CliError::Write { .. }
            | CliError::WriteDirectory { .. }
            | CliError::ReadOnly { .. }
            | CliError::Stdout { .. }
            | CliError::Policy { .. }
            | CliError::Usage(_) => Exit::Unusable,
            CliError::HasErrors { .. } => Exit::Negative,
        }
    }

    /// Prints the error the way the whole CLI does and gives its exit code.
    pub fn report(self) -> Exit {
        super::error(&self);
        self.exit()
    }
}

impl From<CliError> for Exit {
    fn from(e: CliError) -> Exit {
        e.report()
    }
}

/// A lowercase reason for an I/O error.
pub fn io_reason(e: &io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "no such file or directory".into(),
        K::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            let s = s.split(" (os error").next().unwrap_or(&s).to_string();
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_lowercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_says_what_and_keeps_its_cause() {
        let e = CliError::Read {
            path: "wwews.cfg".into(),
            source: io::Error::from(io::ErrorKind::NotFound),
        };
        assert_eq!(
            e.to_string(),
            "cannot read `wwews.cfg`: no such file or directory"
        );
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("entity not found"));
        assert_eq!(e.exit(), Exit::Unusable);
    }
}
