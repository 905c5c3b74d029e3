//! `scapi.toml`: the settings of `lint` and `compile` for a repository, and
//! `scapi config`, which prints the effective settings and where each came
//! from.
//!
//! ```toml
//! [lint]
//! fail-level = "warning"        # error (default) or warning
//! allow = ["SC0405"]            # codes or names
//! warn = ["cleartext-origin"]
//! deny = ["SC0207"]
//! max-per-rule = 100
//!
//! [[lint.files]]                # the object kind of exports, by path
//! path = "annexes/CfgPerson_*.cfg"
//! object = "person"
//! ```
//!
//! The file is `scapi.toml` or `.scapi.toml` in the current directory or the
//! nearest one above it; `--config FILE` names it, `--isolated` ignores any.
//! Paths in `[[lint.files]]` are globs relative to the file's directory.
//! Command-line flags override it; an unknown key is an error.

use super::{Exit, HumanOrJson as Format, SeverityArgs, error, print_stdout, stderr_style};
use scapi::ObjectLevel;
use scapi::diagnostic::Severity;
use scapi::rules::Code;
use scapi::suppress::{Level, Overrides};
use serde::Deserialize;
use std::path::{Component, Path, PathBuf};
use toml::Spanned;

/// Where the configuration comes from.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// Read the settings from this file instead of the `scapi.toml` found
    /// from the current directory upward.
    #[arg(long, value_name = "FILE", conflicts_with = "isolated")]
    config: Option<PathBuf>,
    /// Ignore any configuration file.
    #[arg(long)]
    isolated: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    lint: Option<Spanned<LintTable>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct LintTable {
    fail_level: Option<Spanned<String>>,
    #[serde(default)]
    allow: Vec<Spanned<String>>,
    #[serde(default)]
    warn: Vec<Spanned<String>>,
    #[serde(default)]
    deny: Vec<Spanned<String>>,
    max_per_rule: Option<Spanned<usize>>,
    #[serde(default)]
    files: Vec<FileRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRule {
    path: Spanned<String>,
    object: Spanned<String>,
}

/// Where a setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Built in.
    Default,
    /// A line of the configuration file.
    File(usize),
    /// A command-line flag.
    Flag(&'static str),
}

/// A path glob of `[[lint.files]]` and the object of the exports it matches.
#[derive(Clone, Debug)]
pub struct FileObject {
    pattern: String,
    matcher: globset::GlobMatcher,
    object: ObjectLevel,
    line: usize,
}

/// The effective settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The configuration file read, if any.
    pub file: Option<PathBuf>,
    /// Findings at or above it fail `lint`.
    pub fail_level: (Severity, Source),
    /// At most this many findings of one rule per file.
    pub max_per_rule: (usize, Source),
    /// Severity overrides, file first, then flags (the last wins).
    pub overrides: Vec<(Code, Level, Source)>,
    /// Objects by path.
    pub files: Vec<FileObject>,
}

impl Settings {
    /// The overrides to apply.
    pub fn overrides(&self) -> Overrides {
        let mut o = Overrides::new();
        for (code, level, _) in &self.overrides {
            o.set(*code, *level);
        }
        o
    }

    /// The compile options of the export at `path`: `--object`, else the
    /// object `[[lint.files]]` gives it; the limit per rule and the
    /// overrides of these settings.
    pub fn options(&self, input: &super::InputArgs, path: &str) -> scapi::Options {
        let base = input.options();
        scapi::Options {
            object: base.object.or_else(|| self.object_of(path)),
            max_per_rule: Some(self.max_per_rule.0),
            overrides: self.overrides(),
            ..base
        }
    }

    /// The object `[[lint.files]]` gives an export, if a glob matches it.
    pub fn object_of(&self, path: &str) -> Option<ObjectLevel> {
        let dir = self.file.as_ref()?.parent()?;
        let cwd = std::env::current_dir().ok()?;
        let full = normalize(&cwd.join(path));
        let relative = full.strip_prefix(normalize(&cwd.join(dir))).ok()?;
        self.files
            .iter()
            .find(|f| f.matcher.is_match(relative))
            .map(|f| f.object)
    }
}

/// `a/./b/../c` as `a/c`, without asking the file system.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The configuration file that applies: `--config`, else `scapi.toml` or
/// `.scapi.toml` in the current directory or the nearest above it.
fn find(args: &ConfigArgs) -> Result<Option<PathBuf>, String> {
    if args.isolated {
        return Ok(None);
    }
    if let Some(p) = &args.config {
        return Ok(Some(p.clone()));
    }
    let Ok(mut dir) = std::env::current_dir() else {
        return Ok(None);
    };
    loop {
        let found: Vec<PathBuf> = ["scapi.toml", ".scapi.toml"]
            .iter()
            .map(|n| dir.join(n))
            .filter(|p| p.is_file())
            .collect();
        match found.as_slice() {
            [] => {}
            [one] => return Ok(Some(one.clone())),
            _ => {
                return Err(format!(
                    "both `scapi.toml` and `.scapi.toml` are in `{}`; keep one",
                    dir.display()
                ));
            }
        }
        if !dir.pop() {
            return Ok(None);
        }
    }
}

/// A configuration error at a place of the file, drawn with its snippet.
struct Located {
    range: std::ops::Range<usize>,
    message: String,
    label: &'static str,
    help: Option<String>,
}

fn at<T>(s: &Spanned<T>, message: String, label: &'static str, help: Option<String>) -> Located {
    Located {
        range: s.span(),
        message,
        label,
        help,
    }
}

/// The 1-based lines of a text's offsets, found by a binary search over
/// its line starts (counted once): reading a list of 100,000 rules stays
/// linear.
struct Lines(Vec<usize>);

impl Lines {
    fn of(text: &str) -> Lines {
        Lines(memchr::memchr_iter(b'\n', text.as_bytes()).collect())
    }

    fn line_of(&self, offset: usize) -> usize {
        self.0.partition_point(|&nl| nl < offset) + 1
    }
}

fn rule(name: &Spanned<String>) -> Result<Code, Located> {
    let code = Code::parse(name.get_ref()).ok_or_else(|| {
        at(
            name,
            format!("unknown rule `{}`", name.get_ref()),
            "not a rule",
            Some("`scapi rule` lists every rule".into()),
        )
    })?;
    if !scapi::suppress::can_be_silenced(code) {
        return Err(at(
            name,
            format!("`{code}` cannot be allowed or re-graded"),
            "reports an unreadable file or a suppression",
            None,
        ));
    }
    Ok(code)
}

/// Reads a configuration file into settings (before flags).
fn read(path: &Path, text: &str) -> Result<Settings, Located> {
    let doc: FileDoc = toml::from_str(text).map_err(|e| Located {
        range: e.span().unwrap_or(0..0),
        message: e.message().trim_end().replace('\n', "; "),
        label: "here",
        help: Some(
            "the keys are `[lint]` `fail-level`, `allow`, `warn`, `deny`, `max-per-rule` and `[[lint.files]]` `path`, `object`".into(),
        ),
    })?;
    let mut s = Settings {
        file: Some(path.to_path_buf()),
        fail_level: (Severity::Error, Source::Default),
        max_per_rule: (scapi::diagnostic::DEFAULT_MAX_PER_RULE, Source::Default),
        overrides: Vec::new(),
        files: Vec::new(),
    };
    let Some(lint) = doc.lint.map(Spanned::into_inner) else {
        return Ok(s);
    };
    let lines = Lines::of(text);
    let line = |r: std::ops::Range<usize>| Source::File(lines.line_of(r.start));
    if let Some(f) = &lint.fail_level {
        let level = match f.get_ref().as_str() {
            "error" => Severity::Error,
            "warning" => Severity::Warning,
            other => {
                return Err(at(
                    f,
                    format!("`{other}` is not a fail level"),
                    "expected `error` or `warning`",
                    None,
                ));
            }
        };
        s.fail_level = (level, line(f.span()));
    }
    if let Some(n) = &lint.max_per_rule {
        s.max_per_rule = (*n.get_ref(), line(n.span()));
    }
    for (list, level) in [
        (&lint.allow, Level::Allow),
        (&lint.warn, Level::Warn),
        (&lint.deny, Level::Deny),
    ] {
        for name in list {
            s.overrides.push((rule(name)?, level, line(name.span())));
        }
    }
    for f in &lint.files {
        let object = match f.object.get_ref().as_str() {
            "application" => ObjectLevel::Application,
            "person" => ObjectLevel::Person,
            "agent-group" => ObjectLevel::AgentGroup,
            other => {
                return Err(at(
                    &f.object,
                    format!("`{other}` is not an object kind"),
                    "expected `application`, `person` or `agent-group`",
                    None,
                ));
            }
        };
        let glob = globset::GlobBuilder::new(f.path.get_ref())
            .literal_separator(true)
            .build()
            .map_err(|e| {
                at(
                    &f.path,
                    format!("`{}` is not a path glob: {}", f.path.get_ref(), e.kind()),
                    "here",
                    None,
                )
            })?;
        s.files.push(FileObject {
            pattern: f.path.get_ref().clone(),
            matcher: glob.compile_matcher(),
            object,
            line: lines.line_of(f.path.span().start),
        });
    }
    Ok(s)
}

/// The settings of `args` and the configuration file, or why there are
/// none (already reported: exit 2).
pub fn settings(
    config: &ConfigArgs,
    fail_level: Option<Severity>,
    max_per_rule: Option<usize>,
    flags: &[(Code, Level)],
) -> Result<Settings, Exit> {
    let mut s = match find(config) {
        Err(e) => {
            error(e);
            return Err(Exit::Unusable);
        }
        Ok(None) => Settings {
            file: None,
            fail_level: (Severity::Error, Source::Default),
            max_per_rule: (scapi::diagnostic::DEFAULT_MAX_PER_RULE, Source::Default),
            overrides: Vec::new(),
            files: Vec::new(),
        },
        Ok(Some(path)) => {
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(source) => {
                    return Err(super::CliError::Read {
                        path: path.display().to_string(),
                        source,
                    }
                    .report());
                }
            };
            match read(&path, &text) {
                Ok(s) => s,
                Err(l) => {
                    eprint!(
                        "{}",
                        scapi::render::human::render_located_error(
                            &path.display().to_string(),
                            &text,
                            l.range,
                            &format!(
                                "`{}` is not a valid configuration: {}",
                                path.display(),
                                l.message
                            ),
                            l.label,
                            l.help.as_deref(),
                            stderr_style(),
                        )
                    );
                    return Err(Exit::Unusable);
                }
            }
        }
    };
    if let Some(level) = fail_level {
        s.fail_level = (level, Source::Flag("--fail-level"));
    }
    if let Some(n) = max_per_rule {
        s.max_per_rule = (n, Source::Flag("--max-per-rule"));
    }
    for &(code, level) in flags {
        let flag = match level {
            Level::Allow => "--allow",
            Level::Warn => "--warn",
            Level::Deny => "--deny",
        };
        s.overrides.push((code, level, Source::Flag(flag)));
    }
    Ok(s)
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Fail on findings at or above this severity (as `lint` would).
    #[arg(long, value_enum)]
    fail_level: Option<super::lint::FailLevel>,
    /// At most this many findings of one rule per file (as `lint` would).
    #[arg(long, value_name = "N")]
    max_per_rule: Option<usize>,
    #[command(flatten)]
    severity: SeverityArgs,
    #[command(flatten)]
    config: ConfigArgs,
}

impl Source {
    fn describe(&self, file: Option<&Path>) -> String {
        match (self, file) {
            (Source::Default, _) => "default".into(),
            (Source::File(line), Some(f)) => format!("{}:{line}", f.display()),
            (Source::File(line), None) => format!("line {line}"),
            (Source::Flag(f), _) => (*f).into(),
        }
    }
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Allow => "allow",
        Level::Warn => "warn",
        Level::Deny => "deny",
    }
}

fn object_name(o: ObjectLevel) -> &'static str {
    match o {
        ObjectLevel::Application => "application",
        ObjectLevel::Person => "person",
        ObjectLevel::AgentGroup => "agent-group",
    }
}

/// `scapi config`: the effective settings and where each came from.
pub fn run(args: Args, flags: &[(Code, Level)]) -> Exit {
    let s = match settings(
        &args.config,
        args.fail_level.map(Into::into),
        args.max_per_rule,
        flags,
    ) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let file = s.file.as_deref();
    let text = match args.format {
        Format::Json => {
            let doc = serde_json::json!({
                "schemaVersion": 1,
                "configFile": file.map(|f| f.display().to_string()),
                "failLevel": {"value": s.fail_level.0.as_str(), "from": s.fail_level.1.describe(file)},
                "maxPerRule": {"value": s.max_per_rule.0, "from": s.max_per_rule.1.describe(file)},
                "rules": s.overrides.iter().map(|(c, l, src)| serde_json::json!({
                    "code": c.as_str(), "name": c.name(), "level": level_name(*l), "from": src.describe(file),
                })).collect::<Vec<_>>(),
                "files": s.files.iter().map(|f| serde_json::json!({
                    "path": f.pattern, "object": object_name(f.object), "from": Source::File(f.line).describe(file),
                })).collect::<Vec<_>>(),
            });
            scapi_policy::jsonfmt::to_string(&doc)
        }
        Format::Human => {
            let mut out = match file {
                Some(f) => format!("configuration file: {}\n", f.display()),
                None => "configuration file: none (built-in settings)\n".to_string(),
            };
            let row = |k: &str, v: String, from: String| format!("{k:<14} {v:<28} {from}\n");
            out.push_str(&row(
                "fail-level",
                s.fail_level.0.as_str().to_string(),
                s.fail_level.1.describe(file),
            ));
            out.push_str(&row(
                "max-per-rule",
                s.max_per_rule.0.to_string(),
                s.max_per_rule.1.describe(file),
            ));
            for (c, l, src) in &s.overrides {
                out.push_str(&row(
                    level_name(*l),
                    format!("{} {}", c.as_str(), c.name()),
                    src.describe(file),
                ));
            }
            for f in &s.files {
                out.push_str(&row(
                    "object",
                    format!("{} for {}", object_name(f.object), f.pattern),
                    Source::File(f.line).describe(file),
                ));
            }
            out
        }
    };
    match print_stdout(&text) {
        Ok(()) => Exit::Success,
        Err(e) => {
            error(e);
            Exit::Unusable
        }
    }
}
