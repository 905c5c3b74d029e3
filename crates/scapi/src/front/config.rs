//! `scapi.toml`: the settings of `lint` and `compile` for a repository, and
//! where each setting comes from (`scapi config` prints them). The
//! command line, the language server and any other front end read it here.
//!
//! ```toml
//! include = ["config/**/*.cfg"]  # which files a folder holds (default below)
//! exclude = ["legacy", "*.bak.cfg"]    # without a `/`: at any depth
//!
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
//! Paths in `include`, `exclude` and `[[lint.files]]` are globs relative to
//! the file's directory. Command-line flags override it; an unknown key is
//! an error.
//!
//! `include` and `exclude` decide which files of a folder given to `lint`
//! or `fmt` are read (see [`Settings::discovers`]); a file named on the
//! command line is always read.

use crate::ObjectLevel;
use crate::diagnostic::Severity;
use crate::rules::Code;
use crate::suppress::{Level, Overrides};
use serde::Deserialize;
use std::path::{Component, Path, PathBuf};
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    include: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
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
    /// The glob as written.
    pub pattern: String,
    matcher: globset::GlobMatcher,
    /// The object of the exports it matches.
    pub object: ObjectLevel,
    /// Its line in the file.
    pub line: usize,
}

/// A path glob of `include` or `exclude`.
#[derive(Clone, Debug)]
pub struct PathGlob {
    /// The glob as written.
    pub pattern: String,
    /// Its line in the file.
    pub line: usize,
}

/// The globs of `include` or `exclude`, compiled into one set (a list of
/// 100,000 is matched in one pass).
#[derive(Clone, Debug)]
pub struct Globs {
    /// The globs as written, in order.
    pub list: Vec<PathGlob>,
    set: globset::GlobSet,
}

impl Default for Globs {
    fn default() -> Globs {
        Globs {
            list: Vec::new(),
            set: globset::GlobSet::empty(),
        }
    }
}

impl Globs {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    fn is_match(&self, path: &Path) -> bool {
        self.set.is_match(path)
    }
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
    /// When not empty, the files of a folder that are read.
    pub include: Globs,
    /// Files and folders a folder's walk skips.
    pub exclude: Globs,
}

/// Which files of a folder are option exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exports {
    /// cfg, ini, JSON and YAML (`lint`).
    Any,
    /// cfg and ini (`fmt`).
    Cfg,
}

/// How much of a file [`looks_like_export`] needs: its first 4 MiB.
pub const SNIFF_BYTES: u64 = 4 << 20;

/// Whether a file found in a folder has the extension of an export: `.cfg`
/// or `.ini` (and, for [`Exports::Any`], `.json`, `.yaml` or `.yml`), in
/// any case. Only such files are read to tell.
pub fn has_export_extension(path: &Path, kinds: Exports) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    matches!(
        (ext.as_deref(), kinds),
        (Some("cfg" | "ini"), _) | (Some("json" | "yaml" | "yml"), Exports::Any)
    )
}

/// Whether a file found in a folder is an option export, by its extension
/// ([`has_export_extension`]) and its first bytes (`head`, at least
/// [`SNIFF_BYTES`] of them when the file is that long): a cfg/ini file
/// with an `[interaction-workspace]` section or a `service-client-api.*`
/// key; a JSON or YAML file with an `interaction-workspace` key. Names are
/// compared in any case. A `setup.cfg`, `tox.ini` or `package.json` beside
/// the exports is not one, nor is a document that merely mentions the
/// options (a baseline, a report, a README in YAML).
pub fn looks_like_export(path: &Path, head: &[u8], kinds: Exports) -> bool {
    if !has_export_extension(path, kinds) {
        return false;
    }
    let lower = head.to_ascii_lowercase();
    let is_cfg = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("cfg") || e.eq_ignore_ascii_case("ini"));
    if is_cfg {
        return lower.split(|b| *b == b'\n').any(|line| {
            let line = line.trim_ascii();
            line.starts_with(b"service-client-api.")
                || line
                    .strip_prefix(b"[")
                    .is_some_and(|l| l.trim_ascii_start().starts_with(b"interaction-workspace"))
        });
    }
    // JSON and YAML: the section name as a key, quoted or not, followed by
    // its colon.
    let key = b"interaction-workspace";
    memchr::memmem::find_iter(&lower, key).any(|at| {
        let rest = lower.get(at + key.len()..).unwrap_or_default();
        let rest = rest
            .strip_prefix(b"\"")
            .or_else(|| rest.strip_prefix(b"'"))
            .unwrap_or(rest);
        rest.trim_ascii_start().starts_with(b":")
    })
}

impl Settings {
    /// The settings without a configuration file or flags.
    pub fn defaults() -> Settings {
        Settings {
            file: None,
            fail_level: (Severity::Error, Source::Default),
            max_per_rule: (crate::diagnostic::DEFAULT_MAX_PER_RULE, Source::Default),
            overrides: Vec::new(),
            files: Vec::new(),
            include: Globs::default(),
            exclude: Globs::default(),
        }
    }

    /// `path` relative to the configuration file's directory, when it is
    /// under it: compared as written (`./` and `..` resolved) and, when
    /// that fails, as the file system resolves both (a path through a
    /// symbolic link, such as a shell's `$PWD`).
    fn relative(&self, path: &Path) -> Option<PathBuf> {
        let dir = self.file.as_ref()?.parent()?;
        let cwd = std::env::current_dir().ok()?;
        let full = normalize(&cwd.join(path));
        let base = normalize(&cwd.join(dir));
        if let Ok(rel) = full.strip_prefix(&base) {
            return Some(rel.to_path_buf());
        }
        let (full, base) = (full.canonicalize().ok()?, base.canonicalize().ok()?);
        full.strip_prefix(base).ok().map(Path::to_path_buf)
    }

    /// Whether `exclude` skips `path` (a file or a folder) in a walk.
    pub fn excludes(&self, path: &Path) -> bool {
        if self.exclude.is_empty() {
            return false;
        }
        self.relative(path)
            .is_some_and(|rel| self.exclude.is_match(&rel))
    }

    /// Whether a file a walk found is read: when `include` is set, whether
    /// it matches (`None` when `include` is empty: then
    /// [`looks_like_export`] decides).
    pub fn discovers(&self, path: &Path) -> Option<bool> {
        if self.include.is_empty() {
            return None;
        }
        Some(
            self.relative(path)
                .is_some_and(|rel| self.include.is_match(&rel)),
        )
    }

    /// The overrides to apply.
    pub fn overrides(&self) -> Overrides {
        let mut o = Overrides::new();
        for (code, level, _) in &self.overrides {
            o.set(*code, *level);
        }
        o
    }

    /// The compile options of the export at `path`: `base` (the flags),
    /// with its object if it has one, else the object `[[lint.files]]`
    /// gives it; the limit per rule and the overrides of these settings.
    pub fn options(&self, base: crate::Options, path: &str) -> crate::Options {
        crate::Options {
            object: base.object.or_else(|| self.object_of(path)),
            max_per_rule: Some(self.max_per_rule.0),
            overrides: self.overrides(),
            ..base
        }
    }

    /// The object `[[lint.files]]` gives an export, if a glob matches it.
    pub fn object_of(&self, path: &str) -> Option<ObjectLevel> {
        let relative = self.relative(Path::new(path))?;
        self.files
            .iter()
            .find(|f| f.matcher.is_match(&relative))
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

/// The configuration file that applies: `explicit` (`--config`), none when
/// `isolated`, else `scapi.toml` or
/// `.scapi.toml` in the current directory or the nearest above it.
pub fn find(explicit: Option<&Path>, isolated: bool) -> Result<Option<PathBuf>, ConfigError> {
    if isolated {
        return Ok(None);
    }
    if let Some(p) = explicit {
        return Ok(Some(p.to_path_buf()));
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
                return Err(ConfigError::TwoFiles { dir });
            }
        }
        if !dir.pop() {
            return Ok(None);
        }
    }
}

/// Which configuration applies cannot be told.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Both names in one directory.
    #[error("both `scapi.toml` and `.scapi.toml` are in `{}`; keep one", dir.display())]
    TwoFiles {
        /// The directory.
        dir: PathBuf,
    },
}

/// A configuration error at a place of the file, drawn with its snippet.
#[derive(Clone, Debug)]
pub struct Located {
    /// The bytes it is about.
    pub range: std::ops::Range<usize>,
    /// What is wrong.
    pub message: String,
    /// The label under the bytes.
    pub label: &'static str,
    /// How to fix it.
    pub help: Option<String>,
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
    super::overridable(name.get_ref()).map_err(|e| {
        let label = match e {
            super::RuleError::Unknown(_) => "not a rule",
            super::RuleError::NotOverridable(_) => "not overridable",
        };
        at(name, e.headline(), label, Some(e.help().to_string()))
    })
}

/// A path glob of the file (`*` stays within one folder, `**` crosses them).
fn glob(pattern: &Spanned<String>) -> Result<globset::Glob, Located> {
    globset::GlobBuilder::new(pattern.get_ref())
        .literal_separator(true)
        .build()
        .map_err(|e| {
            at(
                pattern,
                format!("`{}` is not a path glob: {}", pattern.get_ref(), e.kind()),
                "here",
                None,
            )
        })
}

/// The globs of `include` or `exclude`. As in `.gitignore`, a glob with no
/// `/` matches at any depth (`legacy`, `*.bak.cfg`); one with a `/` is
/// anchored at the file's folder. A leading `./` or a trailing `/` is
/// dropped; an absolute path or a `..` cannot name anything of a walk
/// relative to the file, and is refused at its line.
fn walk_globs(list: &[Spanned<String>], lines: &Lines) -> Result<Globs, Located> {
    let mut globs = Globs::default();
    let mut set = globset::GlobSetBuilder::new();
    for pattern in list {
        let written = pattern.get_ref();
        let trimmed = written.trim_start_matches("./").trim_end_matches('/');
        if written.starts_with('/') || trimmed.split('/').any(|part| part == "..") {
            return Err(at(
                pattern,
                format!("`{written}` is outside the folder of the configuration file"),
                "here",
                Some("write a glob relative to this file's folder, e.g. `config/*.cfg`".into()),
            ));
        }
        if trimmed.is_empty() {
            return Err(at(
                pattern,
                format!("`{written}` names no file"),
                "here",
                None,
            ));
        }
        let anchored = if trimmed.contains('/') {
            trimmed.to_string()
        } else {
            format!("**/{trimmed}")
        };
        let spanned = Spanned::new(pattern.span(), anchored);
        set.add(glob(&spanned)?);
        globs.list.push(PathGlob {
            pattern: written.clone(),
            line: lines.line_of(pattern.span().start),
        });
    }
    globs.set = set.build().map_err(|e| Located {
        range: 0..0,
        message: format!("the globs cannot be compiled: {e}"),
        label: "here",
        help: None,
    })?;
    Ok(globs)
}

/// Reads a configuration file into settings (before flags).
pub fn read(path: &Path, text: &str) -> Result<Settings, Located> {
    let doc: FileDoc = toml::from_str(text).map_err(|e| Located {
        range: e.span().unwrap_or(0..0),
        message: e.message().trim_end().replace('\n', "; "),
        label: "here",
        help: Some(
            "the keys are `include`, `exclude`, `[lint]` `fail-level`, `allow`, `warn`, `deny`, `max-per-rule` and `[[lint.files]]` `path`, `object`".into(),
        ),
    })?;
    let mut s = Settings {
        file: Some(path.to_path_buf()),
        fail_level: (Severity::Error, Source::Default),
        max_per_rule: (crate::diagnostic::DEFAULT_MAX_PER_RULE, Source::Default),
        overrides: Vec::new(),
        files: Vec::new(),
        include: Globs::default(),
        exclude: Globs::default(),
    };
    let lines = Lines::of(text);
    s.include = walk_globs(&doc.include, &lines)?;
    s.exclude = walk_globs(&doc.exclude, &lines)?;
    let Some(lint) = doc.lint.map(Spanned::into_inner) else {
        return Ok(s);
    };
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
        let object = f
            .object
            .get_ref()
            .parse::<ObjectLevel>()
            .map_err(|e| at(&f.object, e.to_string(), "not an object level", None))?;
        s.files.push(FileObject {
            pattern: f.path.get_ref().clone(),
            matcher: glob(&f.path)?.compile_matcher(),
            object,
            line: lines.line_of(f.path.span().start),
        });
    }
    Ok(s)
}
