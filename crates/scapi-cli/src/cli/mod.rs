//! Argument parsing and command dispatch. Each command lives in its own
//! module; they share file reading, output writing and exit codes here.
//!
//! Exit codes: 0 success, 1 negative verdict (findings at or above the fail
//! level, compile refused, …), 2 usage error or unreadable input.

mod compile;
mod config;
mod diff;
mod eval;
mod fmt;
mod lint;
mod lsp;
mod misc;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use scapi::ObjectLevel;
use scapi::input::InputFormat;
use scapi::rules::Code;
use scapi::suppress::{Level, Overrides};
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
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
    Requests(misc::RequestsArgs),
    /// Print a rule's documentation, or list every rule.
    Rule(misc::RuleArgs),
    /// Print a JSON Schema of scapi's documents.
    Schema(misc::SchemaArgs),
    /// Print the effective settings (`scapi.toml` and flags) and where each
    /// came from.
    Config(config::Args),
    /// Run the language server (LSP over standard input and output).
    Lsp(lsp::Args),
    /// Print a shell completion script.
    Completions(misc::CompletionsArgs),
}

/// Input options shared by commands that read exports.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// The Configuration Server object the export belongs to (GAX file names
    /// `CfgPerson_annex_*` and `CfgAgentGroup_annex_*` are detected).
    #[arg(long, value_enum)]
    object: Option<Object>,
    /// Read the input as this format instead of detecting it.
    #[arg(long, value_enum)]
    input_format: Option<Format>,
    /// Refuse inputs larger than this many bytes.
    #[arg(long, default_value_t = scapi::input::DEFAULT_MAX_INPUT_BYTES, value_name = "BYTES")]
    max_input_bytes: u64,
    /// List at most this many findings of one rule per file and count the
    /// rest (0: list all) [default: 1000, or `max-per-rule` of `scapi.toml`].
    #[arg(long, value_name = "N")]
    max_per_rule: Option<usize>,
}

impl Default for InputArgs {
    /// What the flags say when none is given.
    fn default() -> InputArgs {
        InputArgs {
            object: None,
            input_format: None,
            max_input_bytes: scapi::input::DEFAULT_MAX_INPUT_BYTES,
            max_per_rule: None,
        }
    }
}

impl InputArgs {
    fn options(&self) -> scapi::Options {
        scapi::Options {
            format: self.input_format.map(Format::into),
            object: self.object.map(Object::into),
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
fn overrides(m: &clap::ArgMatches) -> Result<Vec<(Code, Level)>, String> {
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
        let code = Code::parse(name)
            .ok_or_else(|| format!("unknown rule `{name}`; `scapi rule` lists every rule"))?;
        if !scapi::suppress::can_be_silenced(code) {
            return Err(format!(
                "`{code}` cannot be allowed or re-graded: it reports an unreadable file or a suppression"
            ));
        }
        o.push((code, level));
    }
    Ok(o)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Object {
    Application,
    Person,
    AgentGroup,
}

impl From<Object> for ObjectLevel {
    fn from(o: Object) -> ObjectLevel {
        match o {
            Object::Application => ObjectLevel::Application,
            Object::Person => ObjectLevel::Person,
            Object::AgentGroup => ObjectLevel::AgentGroup,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Cfg,
    Json,
    Yaml,
}

impl From<Format> for InputFormat {
    fn from(f: Format) -> InputFormat {
        match f {
            Format::Cfg => InputFormat::Cfg,
            Format::Json => InputFormat::Json,
            Format::Yaml => InputFormat::Yaml,
        }
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
        Some(Err(msg)) => {
            error(msg);
            return Exit::Unusable.into();
        }
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
        Command::Requests(a) => misc::requests(a),
        Command::Rule(a) => misc::rule(a),
        Command::Schema(a) => misc::schema(a),
        Command::Completions(a) => misc::completions(a, &mut Cli::command()),
    };
    exit.into()
}

/// An input file as read: its bytes (at most one past the size limit) and,
/// when they were cut there, its true size.
pub struct Input {
    pub bytes: Vec<u8>,
    pub size: Option<scapi::input::InputSize>,
}

/// Standard input must be open: a closed descriptor (`<&-`) is an error,
/// not an empty file.
pub fn check_stdin_open() -> Result<(), String> {
    let closed = || "cannot read standard input: it is closed".to_string();
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if std::io::stdin().as_fd().try_clone_to_owned().is_err() {
            return Err(closed());
        }
    }
    // The Rust runtime opens `/dev/null` read-write in place of a closed
    // standard descriptor; a shell opens `< /dev/null` read-only.
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{OFlags, fstat, major, minor};
        let stdin = std::io::stdin();
        let read_write =
            rustix::fs::fcntl_getfl(&stdin).is_ok_and(|f| f & OFlags::RWMODE == OFlags::RDWR);
        let dev_null = fstat(&stdin).is_ok_and(|st| {
            (st.st_mode & 0o170000) == 0o020000 && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3
        });
        if read_write && dev_null {
            return Err(closed());
        }
    }
    Ok(())
}

/// `1 byte`, `2 bytes`.
pub fn bytes(n: u64) -> String {
    scapi::input::bytes(n)
}

/// Reads an input file (`-` is standard input) without reading more than
/// `limit + 1` bytes, so an oversized file is refused cheaply (and said to
/// be its true size).
pub fn read_input(path: &str, limit: u64) -> Result<Input, String> {
    let mut bytes = Vec::new();
    let cap = limit.saturating_add(1);
    let mut known = None;
    let result = if path == "-" {
        check_stdin_open()?;
        std::io::stdin().lock().take(cap).read_to_end(&mut bytes)
    } else {
        match std::fs::File::open(path) {
            Ok(f) => {
                let meta = f
                    .metadata()
                    .map_err(|e| format!("cannot read `{path}`: {}", io_reason(&e)))?;
                if meta.is_dir() {
                    return Err(format!("cannot read `{path}`: it is a directory"));
                }
                known = meta.is_file().then_some(meta.len());
                // Sized from the metadata up front: growing by doubling
                // would hold up to twice the file while reading.
                let expected = known.unwrap_or(0).min(cap);
                bytes.reserve_exact(usize::try_from(expected).unwrap_or(0).saturating_add(1));
                f.take(cap).read_to_end(&mut bytes)
            }
            Err(e) => return Err(format!("cannot read `{path}`: {}", io_reason(&e))),
        }
    };
    result.map_err(|e| format!("cannot read `{path}`: {}", io_reason(&e)))?;
    let size = (bytes.len() as u64 > limit).then_some(match known {
        Some(n) => scapi::input::InputSize::Exact(n),
        None => scapi::input::InputSize::MoreThan(limit),
    });
    Ok(Input { bytes, size })
}

/// A lowercase reason for an I/O error.
pub fn io_reason(e: &std::io::Error) -> String {
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

/// `--format` of the commands whose report is human text or one JSON
/// document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HumanOrJson {
    Human,
    Json,
}

/// How a file argument is named in messages and reports (`-` is standard
/// input).
pub fn shown(path: &str) -> &str {
    if path == "-" { "<stdin>" } else { path }
}

/// Prints a file's diagnostics on standard error.
pub fn eprint_diagnostics(file: &scapi::render::FileDiagnostics) {
    eprint!(
        "{}",
        scapi::render::human::render_file(file, stderr_style())
    );
}

/// Reads a policy argument and loads it: a compiled policy JSON, or the
/// compilation of an export. Exit 2 when the file cannot be read or is a
/// compiled policy that does not load.
pub fn read_policy(path: &str, input: &InputArgs) -> Result<scapi::Loaded, Exit> {
    let read = read_input(path, input.max_input_bytes).map_err(|e| {
        error(e);
        Exit::Unusable
    })?;
    let options = scapi::Options {
        size: read.size,
        ..input.options()
    };
    scapi::load_vec(shown(path), read.bytes, &options).map_err(|e| {
        error(format!(
            "cannot load the compiled policy `{}`: {e}",
            shown(path)
        ));
        Exit::Unusable
    })
}

/// Prints a usage or I/O error the way the whole CLI does.
pub fn error(msg: impl std::fmt::Display) {
    eprintln!("error: {msg}");
}

/// Writes to stdout, treating a closed pipe as success.
pub fn print_stdout(text: &str) -> Result<(), String> {
    write_stdout(|out| out.write_all(text.as_bytes()))
}

/// Streams a document to standard output through a buffer; a closed pipe
/// is not an error.
pub fn write_stdout(
    write: impl FnOnce(&mut std::io::BufWriter<std::io::StdoutLock<'static>>) -> std::io::Result<()>,
) -> Result<(), String> {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    match write(&mut out).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!(
            "cannot write to standard output: {}",
            io_reason(&e)
        )),
    }
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

/// Writes `contents` to `path` atomically: a temporary file next to it,
/// then a rename. On any failure the target is untouched and the temporary
/// file is removed.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), String> {
    write_atomically_with(path, |w| w.write_all(contents))
}

/// The temporary file being written, if it has a name: what an interrupt
/// (Ctrl-C, `SIGTERM`, `SIGHUP`) removes before the process ends.
static PENDING: std::sync::Mutex<Option<std::path::PathBuf>> = std::sync::Mutex::new(None);

fn pending(path: Option<std::path::PathBuf>) {
    *PENDING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = path;
}

/// On an interrupt, removes the temporary file being written (if it has a
/// name) and exits 130.
fn on_interrupt() {
    let _ = ctrlc::set_handler(|| {
        if let Some(p) = PENDING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            let _ = std::fs::remove_file(p);
        }
        std::process::exit(130);
    });
}

/// [`write_atomically`] for contents written as they are produced.
///
/// A target that is a device or a FIFO (`/dev/null`, a named pipe) is
/// written through, since replacing it with a file would change what it
/// is; a symbolic link keeps pointing where it did, and the file it points
/// at is replaced. On Linux the temporary file has no name until it is
/// complete (`O_TMPFILE`), so even `SIGKILL` leaves none behind — but for
/// the instant between naming it and renaming it over the target; elsewhere
/// a named one is removed on an interrupt.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> std::io::Result<()>,
) -> Result<(), String> {
    let shown = path.display();
    let fail = |e: std::io::Error| format!("cannot write `{shown}`: {}", io_reason(&e));
    let existing = std::fs::metadata(path).ok();
    if existing.as_ref().is_some_and(|m| m.is_dir()) {
        return Err(format!("cannot write `{shown}`: it is a directory"));
    }
    // As formatters do: a read-only file is the user's "do not touch".
    if existing
        .as_ref()
        .is_some_and(|m| m.is_file() && m.permissions().readonly())
    {
        return Err(format!(
            "cannot write `{shown}`: it is read-only; nothing was written"
        ));
    }
    if existing.as_ref().is_some_and(|m| !m.is_file()) {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(fail)?;
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, &mut f);
        return write(&mut out).and_then(|_| out.flush()).map_err(fail);
    }
    // Through a link, the file it points at is what gets replaced.
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).map_err(fail)?,
        _ => path.to_path_buf(),
    };
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    // Keep the target's permissions and owner when replacing it; a new
    // file gets the usual 0644 rather than a temporary file's 0600.
    let permissions = existing;
    #[cfg(target_os = "linux")]
    if let Some(mut file) = unnamed::create(&dir) {
        fill(&mut file, write, permissions).map_err(fail)?;
        return unnamed::persist(&file, &dir, &target).map_err(fail);
    }
    on_interrupt();
    let mut tmp = tempfile::Builder::new()
        .prefix(".scapi-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(fail)?;
    pending(Some(tmp.path().to_path_buf()));
    let filled = fill(tmp.as_file_mut(), write, permissions);
    let result = filled
        .map_err(fail)
        .and_then(|()| tmp.persist(&target).map(drop).map_err(|e| fail(e.error)));
    pending(None);
    result
}

/// Writes the contents, syncs them and sets the permissions.
fn fill(
    file: &mut std::fs::File,
    write: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> std::io::Result<()>,
    replaced: Option<std::fs::Metadata>,
) -> std::io::Result<()> {
    {
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, &mut *file);
        write(&mut out)?;
        out.flush()?;
    }
    file.sync_all()?;
    match replaced {
        Some(m) => {
            // The owner first: changing it may clear set-id bits, which the
            // mode then restores. Replacing a file must not hand it to
            // whoever ran scapi (root, in a CI container).
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                std::os::unix::fs::fchown(&*file, Some(m.uid()), Some(m.gid()))?;
            }
            file.set_permissions(m.permissions())
        }
        None => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                file.set_permissions(std::fs::Permissions::from_mode(0o644))
            }
            #[cfg(not(unix))]
            Ok(())
        }
    }
}

/// Unnamed temporary files (`O_TMPFILE`): written in full before they get a
/// name, through `rustix`'s safe system-call wrappers.
#[cfg(target_os = "linux")]
mod unnamed {
    use rustix::fs::{AtFlags, CWD, Mode, OFlags};
    use std::os::fd::AsRawFd;
    use std::path::Path;

    /// An unnamed file in `dir`, if the file system supports them and
    /// `/proc` can name them later.
    pub fn create(dir: &Path) -> Option<std::fs::File> {
        if !Path::new("/proc/self/fd").is_dir() {
            return None;
        }
        let fd = rustix::fs::openat(
            CWD,
            dir,
            OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .ok()?;
        Some(std::fs::File::from(fd))
    }

    /// Gives the complete file a temporary name next to the target and
    /// renames it over the target.
    pub fn persist(file: &std::fs::File, dir: &Path, target: &Path) -> std::io::Result<()> {
        let proc = format!("/proc/self/fd/{}", file.as_raw_fd());
        super::on_interrupt();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        for attempt in 0..16u32 {
            let tmp = dir.join(format!(
                ".scapi-{}-{nanos:x}-{attempt}.tmp",
                std::process::id()
            ));
            super::pending(Some(tmp.clone()));
            match rustix::fs::linkat(CWD, proc.as_str(), CWD, &tmp, AtFlags::SYMLINK_FOLLOW) {
                Ok(()) => {
                    let renamed = std::fs::rename(&tmp, target);
                    if renamed.is_err() {
                        let _ = std::fs::remove_file(&tmp);
                    }
                    super::pending(None);
                    return renamed;
                }
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => {
                    super::pending(None);
                    return Err(e.into());
                }
            }
        }
        super::pending(None);
        Err(std::io::Error::other("no free temporary name"))
    }
}

/// The policy of `eval` and `explain`: a compiled policy JSON (detected) or
/// an option export. An export with errors is refused (exit 1) after its
/// diagnostics; one with warnings is used, with a note.
pub fn load_policy(path: &str, input: &InputArgs) -> Result<scapi_policy::policy::Policy, Exit> {
    let name = shown(path);
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
        error(format!(
            "`{name}` has errors; fix them first (`scapi lint {name}`)"
        ));
        return Err(Exit::Negative);
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
