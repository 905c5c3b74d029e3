//! `scapi lint FILE…`: report, fix, gate.

use super::config::{ConfigArgs, Settings};
use super::{
    CliError, Exit, InputArgs, SeverityArgs, display_name, print_stdout, read_input, stderr_style,
    write_atomically, write_stdout,
};
use clap::ValueEnum;
use scapi::baseline::Baseline;
use scapi::diagnostic::Severity;
use scapi::front::config::Exports;
use scapi::render::{FileDiagnostics, concise, github, gitlab, human, json, junit, sarif};
use scapi::rules::Code;
use scapi::suppress::Level;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Option exports to lint, or folders holding them (`-` reads standard
    /// input).
    #[arg(required = true, value_name = "PATH")]
    files: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Human)]
    format: LintFormat,
    /// Fail (exit 1) on findings at or above this severity [default: error,
    /// or `fail-level` of `scapi.toml`].
    #[arg(long, value_enum)]
    fail_level: Option<FailLevel>,
    /// Apply every safe fix in place (atomically), then report what is
    /// left; with `-`, print the fixed export.
    #[arg(long)]
    fix: bool,
    /// With `--fix` or `--diff`, also apply unsafe fixes: those that grant
    /// something the export does not name.
    #[arg(long)]
    unsafe_fixes: bool,
    /// Print the unified diff of the fixes instead of writing them; exit 1
    /// when there is one.
    #[arg(long, conflicts_with = "fix")]
    diff: bool,
    /// Report (and fail on) only findings not recorded in this baseline.
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    baseline: Option<PathBuf>,
    /// Record the findings in this baseline file (atomically) and exit 0.
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    severity: SeverityArgs,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LintFormat {
    Human,
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// GitHub Actions workflow-command annotations.
    Github,
    /// JUnit XML, as Jenkins and GitLab read test reports.
    Junit,
    /// GitLab Code Quality JSON.
    Gitlab,
    /// One line per finding: `path:line:col: CODE message`.
    Concise,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FailLevel {
    Error,
    Warning,
}

impl From<FailLevel> for Severity {
    fn from(f: FailLevel) -> Severity {
        match f {
            FailLevel::Error => Severity::Error,
            FailLevel::Warning => Severity::Warning,
        }
    }
}

/// One file of the run: what was read, and what is reported.
struct Linted {
    path: String,
    report: FileDiagnostics,
    unreadable: bool,
}

/// What `--fix` or `--diff` did.
#[derive(Default)]
struct Fixing {
    fixed: usize,
    files: usize,
    unsafe_left: usize,
    /// Files whose fixes were refused (left as they were).
    refused: usize,
    diff: String,
}

fn lint_one(
    path: &str,
    args: &Args,
    settings: &Settings,
    baseline: Option<&Baseline>,
    fixing: &mut Fixing,
) -> Result<Linted, Exit> {
    // In place means a regular file: a FIFO or a device would block or be
    // written through, which is not fixing a file.
    if args.fix && !args.diff && path != "-" {
        match std::fs::metadata(path) {
            Ok(m) if !m.is_file() && !m.is_dir() => {
                return Err(CliError::NotRegularFile {
                    path: path.to_string(),
                }
                .report());
            }
            _ => {}
        }
    }
    let read = read_input(path, args.input.max_input_bytes).map_err(CliError::report)?;
    let name = display_name(path);
    let mut options = scapi::Options {
        size: read.size,
        ..settings.options(args.input.options(), path)
    };
    // A baseline matches every finding one by one, listed or not: past
    // `--max-per-rule` a closing count would hide new findings.
    if args.baseline.is_some() || args.write_baseline.is_some() {
        options.max_per_rule = Some(0);
    }
    let c = if args.fix || args.diff {
        // The input is kept only where it is shown again: in the diff, or
        // echoed whole when standard input has nothing to fix.
        let original = (args.diff || path == "-").then(|| read.bytes.clone());
        // What the baseline holds is left as it is: a team that adopted
        // one is not made to fix (or blocked by) legacy findings.
        let known = baseline.zip(args.baseline.as_deref());
        let file = known.map(|(_, at)| relative_to(at, path));
        let held = known.zip(file.as_deref()).map(|((b, _), f)| (b, f));
        let run =
            match scapi::fix::fix_file_with(name, read.bytes, &options, args.unsafe_fixes, held) {
                Ok(r) => r,
                Err(source) => {
                    // Refused: the file stays as it was, and is still reported
                    // (the run exits 2); standard input is echoed unchanged, so
                    // `--fix - < in > out` never writes an empty file.
                    let _ = CliError::FixRefused {
                        path: name.to_string(),
                        source,
                    }
                    .report();
                    fixing.refused += 1;
                    // The input as it was: kept for standard input and the
                    // diff, read again for a file (which is unchanged).
                    let bytes = match original {
                        Some(b) => b,
                        None => {
                            read_input(path, args.input.max_input_bytes)
                                .map_err(CliError::report)?
                                .bytes
                        }
                    };
                    if path == "-" && !args.diff {
                        write_stdout(|out| out.write_all(&bytes)).map_err(CliError::report)?;
                    }
                    let c = scapi::compile_vec(name, bytes, &options);
                    return Ok(Linted {
                        path: path.to_string(),
                        unreadable: true,
                        report: FileDiagnostics::of(c),
                    });
                }
            };
        // Standard output gets the export byte for byte, and nothing when it
        // could not be read (the error says why; a mangled copy would be
        // data loss downstream).
        let echo =
            |bytes: &[u8]| write_stdout(|out| out.write_all(bytes)).map_err(CliError::report);
        let original = original.filter(|_| !run.after.is_unreadable());
        match (&run.fixed_bytes, original) {
            (Some(fixed), Some(before)) if args.diff => {
                fixing.diff.push_str(&unified_diff(name, &before, fixed));
            }
            (Some(fixed), _) if path == "-" => echo(fixed)?,
            (None, Some(before)) if path == "-" && !args.diff => echo(&before)?,
            (Some(fixed), _) if !args.diff => {
                write_atomically(std::path::Path::new(path), fixed).map_err(CliError::report)?;
            }
            _ => {}
        }
        // Counted once written: a refused write fixed nothing.
        fixing.unsafe_left += run.unsafe_left;
        fixing.fixed += run.fixed.len();
        fixing.files += usize::from(run.changed());
        run.after
    } else {
        scapi::compile_vec(name, read.bytes, &options)
    };
    Ok(Linted {
        path: path.to_string(),
        unreadable: c.is_unreadable(),
        report: FileDiagnostics::of(c),
    })
}

/// How a baseline at `baseline` names the file at `path`: relative to the
/// baseline's folder (with `..` when the file is elsewhere), so the
/// baseline holds wherever `lint` runs from and however the file is
/// spelled (`./x.cfg`, an absolute path, a path through a symbolic link).
fn relative_to(baseline: &std::path::Path, path: &str) -> String {
    use std::path::{Component, Path, PathBuf};
    let Ok(cwd) = std::env::current_dir() else {
        return path.to_string();
    };
    if path == "-" {
        return path.to_string();
    }
    let resolve = |p: &Path| {
        let p = scapi::front::config::normalize(&cwd.join(p));
        p.canonicalize().unwrap_or(p)
    };
    let file = resolve(Path::new(path));
    let Some(dir) = scapi::front::config::normalize(&cwd.join(baseline))
        .parent()
        .map(|d| d.canonicalize().unwrap_or_else(|_| d.to_path_buf()))
    else {
        return path.to_string();
    };
    // The common ancestor, then `..` for each folder of the baseline's
    // below it.
    let (f, d): (Vec<Component>, Vec<Component>) =
        (file.components().collect(), dir.components().collect());
    let common = f.iter().zip(&d).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return path.to_string();
    }
    let mut rel = PathBuf::new();
    for _ in common..d.len() {
        rel.push("..");
    }
    for c in f.iter().skip(common) {
        rel.push(c.as_os_str());
    }
    rel.to_string_lossy().into_owned()
}

/// A unified diff of one file's fixes, `a/` and `b/` prefixed as git writes
/// them.
fn unified_diff(name: &str, before: &[u8], after: &[u8]) -> String {
    let (a, b) = (
        String::from_utf8_lossy(before),
        String::from_utf8_lossy(after),
    );
    let diff = similar::TextDiff::from_lines(a.as_ref(), b.as_ref());
    // As git writes them: `./` dropped, and a name with a control character
    // escaped (a line break would end the header).
    let name = name.strip_prefix("./").unwrap_or(name);
    // An absolute path under the current folder is written relative to it.
    let cwd = std::env::current_dir().unwrap_or_default();
    let name = match std::path::Path::new(name).strip_prefix(&cwd) {
        Ok(rel) if !cwd.as_os_str().is_empty() => rel.to_string_lossy().into_owned(),
        _ => name.to_string(),
    };
    let name = scapi::render::exact(&name);
    let mut out = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn read_baseline(path: &std::path::Path) -> Result<Baseline, Exit> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        super::CliError::ReadBaseline {
            path: path.display().to_string(),
            source,
        }
        .report()
    })?;
    Baseline::from_json(&text).map_err(|source| {
        CliError::Baseline {
            path: path.display().to_string(),
            source,
        }
        .report()
    })
}

pub fn run(args: Args, flags: &[(Code, Level)]) -> Exit {
    if let Err(e) = super::stdin_once(args.files.iter().map(String::as_str)) {
        return e.report();
    }
    let settings = match super::config::settings(
        &args.config,
        args.fail_level.map(Into::into),
        args.input.max_per_rule,
        flags,
    ) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    if args.unsafe_fixes && !(args.fix || args.diff) {
        return CliError::Usage("`--unsafe-fixes` applies with `--fix` or `--diff`".into())
            .report();
    }
    // Standard output holds one thing: the report, the diff (`--diff`) or
    // the fixed export (`--fix -`).
    if args.format != LintFormat::Human {
        if args.diff {
            return CliError::Usage(
                "`--diff` prints the diff on standard output; use it without `--format`".into(),
            )
            .report();
        }
        if args.fix && args.files.iter().any(|f| f == "-") {
            return CliError::Usage(
                "`--fix -` prints the fixed export on standard output; use it without `--format`"
                    .into(),
            )
            .report();
        }
    }
    let baseline = match &args.baseline {
        Some(p) => match read_baseline(p) {
            Ok(b) => Some(b),
            Err(exit) => return exit,
        },
        None => None,
    };
    // The baseline is the run's own file, never an export to lint.
    let own: Vec<&std::path::Path> = [&args.baseline, &args.write_baseline]
        .into_iter()
        .flatten()
        .map(PathBuf::as_path)
        .collect();
    let (paths, mut exit) = super::walk::expand(&args.files, &settings, Exports::Any, &own);
    let mut fixing = Fixing::default();
    let mut linted = Vec::new();
    for path in &paths {
        match lint_one(path, &args, &settings, baseline.as_ref(), &mut fixing) {
            Ok(l) => linted.push(l),
            Err(e) => exit = exit.max(e),
        }
    }
    if linted.iter().any(|l| l.unreadable) {
        exit = Exit::Unusable;
    }
    if let Some(path) = &args.write_baseline {
        let names: Vec<String> = linted.iter().map(|l| relative_to(path, &l.path)).collect();
        let b = Baseline::of(linted.iter().zip(&names).map(|(l, n)| {
            (
                n.as_str(),
                &l.report.source,
                l.report.diagnostics.as_slice(),
            )
        }));
        if let Err(e) = write_atomically(path, b.to_json().as_bytes()) {
            return e.report();
        }
        let n: usize = b.findings.iter().map(|e| e.count).sum();
        eprintln!(
            "wrote {n} finding{} to the baseline `{}`",
            if n == 1 { "" } else { "s" },
            path.display()
        );
        return exit;
    }
    let mut held = 0;
    if let (Some(b), Some(at)) = (&baseline, &args.baseline) {
        let mut m = b.matcher();
        let files: Vec<String> = linted.iter().map(|l| relative_to(at, &l.path)).collect();
        for (l, name) in linted.iter_mut().zip(&files) {
            held += m.filter(name, &l.report.source, &mut l.report.diagnostics);
        }
        for (entry, gone) in m.stale(&files) {
            let path = args
                .baseline
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            // The baseline's text is the file's, escaped: it cannot drive
            // the terminal or forge a line.
            let exact = scapi::render::exact;
            eprintln!(
                "warning: baseline `{}`: {gone} `{}` finding{} of `{}` in `{}` ({}) no longer found; record the baseline again with `--write-baseline`",
                exact(&path),
                exact(&entry.code),
                if gone == 1 { "" } else { "s" },
                exact(&entry.text),
                exact(&entry.file),
                if entry.option.is_empty() {
                    "the file".into()
                } else {
                    exact(&entry.option)
                },
            );
        }
    }
    let files: Vec<FileDiagnostics> = linted.into_iter().map(|l| l.report).collect();
    let threshold = settings.fail_level.0;
    let failing = files
        .iter()
        .flat_map(|f| &f.diagnostics)
        .any(|d| d.severity >= threshold);
    if args.diff {
        // The diff is the output; its verdict is whether there is one.
        if let Err(e) = print_stdout(&fixing.diff) {
            return e.report();
        }
        eprint!("{}", fix_summary(&fixing, args.unsafe_fixes, true));
        return if exit == Exit::Unusable {
            exit
        } else if fixing.diff.is_empty() {
            Exit::Success
        } else {
            Exit::Negative
        };
    }
    if failing && exit == Exit::Success {
        exit = Exit::Negative;
    }
    // Machine formats are streamed: a report of many thousands of findings
    // is never held whole.
    let successful = exit != Exit::Unusable;
    // Which configuration decided the verdict is part of the report: a
    // `scapi.toml` found upward can allow or re-grade rules.
    let configuration = settings.file.as_ref().map(|p| p.display().to_string());
    let configuration = configuration.as_deref();
    let written = match args.format {
        LintFormat::Json => {
            write_stdout(|out| json::write_report_configured(&files, configuration, out))
        }
        LintFormat::Sarif => {
            write_stdout(|out| sarif::write_log_configured(&files, successful, configuration, out))
        }
        LintFormat::Github => print_stdout(&github::annotations(&files)),
        LintFormat::Junit => print_stdout(&junit::report(&files, threshold)),
        LintFormat::Gitlab => print_stdout(&gitlab::report(&files)),
        LintFormat::Concise => print_stdout(&concise::lines(&files)),
        LintFormat::Human => Ok(()),
    };
    if let Err(e) = written {
        return e.report();
    }
    if args.fix && !files.is_empty() {
        eprint!("{}", fix_summary(&fixing, args.unsafe_fixes, false));
    }
    if held > 0 {
        eprintln!(
            "{held} finding{} held by the baseline",
            if held == 1 { "" } else { "s" }
        );
    }
    if let Some(file) = configuration
        && !files.is_empty()
    {
        // Escaped: a directory name cannot drive the terminal or hide
        // the very line that names it.
        eprintln!(
            "configuration: `{}` (`--isolated` ignores it)",
            scapi::render::exact(file)
        );
    }
    match args.format {
        LintFormat::Human if !files.is_empty() => {
            eprint!("{}", human::render_run(&files, stderr_style()));
        }
        // With no file read there is nothing to summarize; the errors said
        // why. Machine formats carry their own summary.
        _ => {}
    }
    exit
}

fn fix_summary(f: &Fixing, unsafe_fixes: bool, diff: bool) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let verb = if diff { "would fix" } else { "fixed" };
    let mut out = if f.fixed == 0 && f.refused > 0 {
        "no fixes applied".to_string()
    } else if f.fixed == 0 {
        "no fixes to apply".to_string()
    } else {
        format!(
            "{verb} {} in {}",
            plural(f.fixed, "finding"),
            plural(f.files, "file")
        )
    };
    if f.refused > 0 {
        out.push_str(&format!(
            "; {} left as {} (see the error above)",
            plural(f.refused, "file"),
            if f.refused == 1 {
                "it was"
            } else {
                "they were"
            }
        ));
    }
    if f.unsafe_left > 0 && !unsafe_fixes {
        let what = match f.unsafe_left {
            1 => "1 more fix is unsafe (it would widen access; `--unsafe-fixes` applies it)"
                .to_string(),
            n => format!(
                "{n} more fixes are unsafe (they would widen access; `--unsafe-fixes` applies them)"
            ),
        };
        out.push_str(&format!("; {what}"));
    }
    out.push('\n');
    out
}
