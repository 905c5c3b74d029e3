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

use super::{Exit, HumanOrJson as Format, SeverityArgs, print_stdout, stderr_style};
use scapi::diagnostic::Severity;
pub use scapi::front::config::Settings;
use scapi::front::config::{Source, find, read};
use scapi::rules::Code;
use scapi::suppress::Level;
use std::path::{Path, PathBuf};

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

/// The settings of `args` and the configuration file, or why there are
/// none (already reported: exit 2).
pub fn settings(
    config: &ConfigArgs,
    fail_level: Option<Severity>,
    max_per_rule: Option<usize>,
    flags: &[(Code, Level)],
) -> Result<Settings, Exit> {
    let mut s = match find(config.config.as_deref(), config.isolated) {
        Err(e) => return Err(super::CliError::Config(e).report()),
        Ok(None) => Settings::defaults(),
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

/// Where a setting came from, for `scapi config`.
fn describe(source: &Source, file: Option<&Path>) -> String {
    match (source, file) {
        (Source::Default, _) => "default".into(),
        (Source::File(line), Some(f)) => format!("{}:{line}", f.display()),
        (Source::File(line), None) => format!("line {line}"),
        (Source::Flag(f), _) => (*f).into(),
    }
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Allow => "allow",
        Level::Warn => "warn",
        Level::Deny => "deny",
    }
}

/// `include` or `exclude` as `scapi config --format json` lists them.
fn globs(list: &scapi::front::config::Globs, file: Option<&Path>) -> Vec<serde_json::Value> {
    list.list
        .iter()
        .map(|g| serde_json::json!({"path": g.pattern, "from": describe(&Source::File(g.line), file)}))
        .collect()
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
                "failLevel": {"value": s.fail_level.0.as_str(), "from": describe(&s.fail_level.1, file)},
                "maxPerRule": {"value": s.max_per_rule.0, "from": describe(&s.max_per_rule.1, file)},
                "rules": s.overrides.iter().map(|(c, l, src)| serde_json::json!({
                    "code": c.as_str(), "name": c.name(), "level": level_name(*l), "from": describe(src, file),
                })).collect::<Vec<_>>(),
                "files": s.files.iter().map(|f| serde_json::json!({
                    "path": f.pattern, "object": f.object.as_str(), "from": describe(&Source::File(f.line), file),
                })).collect::<Vec<_>>(),
                "include": globs(&s.include, file),
                "exclude": globs(&s.exclude, file),
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
                describe(&s.fail_level.1, file),
            ));
            out.push_str(&row(
                "max-per-rule",
                s.max_per_rule.0.to_string(),
                describe(&s.max_per_rule.1, file),
            ));
            for (c, l, src) in &s.overrides {
                out.push_str(&row(
                    level_name(*l),
                    format!("{} {}", c.as_str(), c.name()),
                    describe(src, file),
                ));
            }
            for (key, list) in [("include", &s.include), ("exclude", &s.exclude)] {
                for g in list.list.iter() {
                    let from = describe(&Source::File(g.line), file);
                    out.push_str(&row(key, g.pattern.clone(), from));
                }
            }
            for f in &s.files {
                out.push_str(&row(
                    "object",
                    format!("{} for {}", f.object.as_str(), f.pattern),
                    describe(&Source::File(f.line), file),
                ));
            }
            out
        }
    };
    match print_stdout(&text) {
        Ok(()) => Exit::Success,
        Err(e) => e.report(),
    }
}
