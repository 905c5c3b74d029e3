//! Folders given to `lint` and `fmt`: the option exports they hold.
//!
//! A folder is walked as ruff and ripgrep walk one (the `ignore` crate):
//! `.gitignore`, `.ignore` and hidden files are skipped, whether or not
//! the folder is in a git repository; `exclude` in `scapi.toml` skips
//! more. A file found is read when `include` matches it, or — without
//! `include` — when it looks like an export ([`looks_like_export`]). Files
//! are taken in path order, so a run's report is the same every time. A
//! file named on the command line is always read. When the folders given
//! hold no export and nothing else is named, the run is unusable (exit 2).

use super::{CliError, Exit};
use scapi::front::config::{Exports, Settings, looks_like_export};
use std::path::Path;

/// The files of `args`: each folder replaced by the exports it holds.
/// What cannot be walked (an unreadable folder) is reported and makes the
/// run unusable; a folder with no export is named on standard error.
pub fn expand(args: &[String], settings: &Settings, kinds: Exports) -> (Vec<String>, Exit) {
    let mut files = Vec::new();
    let mut exit = Exit::Success;
    let mut empty = Vec::new();
    for arg in args {
        if arg == "-" || !Path::new(arg).is_dir() {
            files.push(arg.clone());
            continue;
        }
        let before = files.len();
        let walk = ignore::WalkBuilder::new(arg)
            .require_git(false)
            .sort_by_file_name(Ord::cmp)
            .filter_entry({
                let settings = settings.clone();
                move |e| e.depth() == 0 || !settings.excludes(e.path())
            })
            .build();
        for entry in walk {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let message = match (e.io_error(), path_of(&e)) {
                        (Some(io), Some(p)) => {
                            format!("`{}`: {}", p.display(), super::error::io_reason(io))
                        }
                        (Some(io), None) => super::error::io_reason(io),
                        _ => e.to_string(),
                    };
                    let path = arg.clone();
                    exit = exit.max(CliError::Walk { path, message }.report());
                    continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let path = entry.path();
            let take = match settings.discovers(path) {
                Some(included) => included,
                None => match std::fs::read(path) {
                    Ok(bytes) => looks_like_export(path, &bytes, kinds),
                    // Read again by the command, which says why it cannot.
                    Err(_) => true,
                },
            };
            if take {
                // `lint .` names `a/wwews.cfg`, as ruff and git do.
                let shown = match path.strip_prefix(".") {
                    Ok(rest) if arg == "." => rest,
                    _ => path,
                };
                files.push(shown.to_string_lossy().into_owned());
            }
        }
        if files.len() == before && exit == Exit::Success {
            empty.push(arg.clone());
        }
    }
    // Nothing at all to read is an error: a gate pointed at the wrong
    // folder must not pass. A folder with none beside others is named.
    if files.is_empty() && !empty.is_empty() {
        let _ = CliError::NoExports { paths: empty }.report();
        return (files, Exit::Unusable);
    }
    for arg in empty {
        eprintln!(
            "warning: no option exports found in `{}`",
            scapi::render::exact(&arg)
        );
    }
    (files, exit)
}

/// The path an error of the walk is about.
fn path_of(e: &ignore::Error) -> Option<&Path> {
    match e {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            path_of(err)
        }
        _ => None,
    }
}
