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
    /// An input over the size limit that must be read whole; the message
    /// gives its size and how to get past the limit.
    #[error("{0}")]
    TooLarge(String),
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
            | CliError::TooLarge(_)
            | CliError::NotUtf8 { .. }
            | CliError::Requests { .. }
            | CliError::Store { .. }
            | CliError::Lsp(_)
            | CliError::ReadDirectory { .. }
            | CliError::StdinClosed
            | CliError::Write { .. }
            | CliError::WriteDirectory { .. }
            | CliError::ReadOnly { .. }
            | CliError::Stdout { .. }
            | CliError::Policy { .. }
            | CliError::Usage(_) => Exit::Unusable,
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
