//! Folders given to `lint` and `fmt`: the option exports they hold.
//!
//! A folder is walked as ripgrep walks one (the `ignore` crate): hidden
//! files and folders are skipped, so are those `.ignore` files name and,
//! inside a git repository, those its `.gitignore` files name (as git reads
//! them: not above the repository's root); `exclude` in `scapi.toml` skips
//! more. A file found is read when it has an export's extension and
//! `include` matches it, or — without `include` — when it looks like an
//! export ([`looks_like_export`]). Files are taken in path order, so a
//! run's report is the same every time, and each file once however many
//! arguments reach it. The files a run writes (a baseline) are never taken.
//! A file named on the command line is always read. When the folders given
//! hold no export and nothing else is named, the run is unusable (exit 2).

use super::{CliError, Exit};
use scapi::front::config::{
    Exports, SNIFF_BYTES, Settings, has_export_extension, looks_like_export,
};
use std::collections::HashSet;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// The files of `args`: each folder replaced by the exports it holds,
/// without `skip` (files the run writes) and without repeats. What cannot
/// be walked (an unreadable folder, a file name that is not UTF-8) is
/// reported and makes the run unusable; a folder with no export beside
/// other files is named on standard error.
pub fn expand(
    args: &[String],
    settings: &Settings,
    kinds: Exports,
    skip: &[&Path],
) -> (Vec<String>, Exit) {
    let mut files = Vec::new();
    let mut exit = Exit::Success;
    let mut empty = Vec::new();
    // Each file once: by its resolved path when it has one.
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let identity = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let skipped: HashSet<PathBuf> = skip.iter().map(|p| identity(p)).collect();
    for arg in args {
        if arg == "-" || !Path::new(arg).is_dir() {
            if arg == "-" || seen.insert(identity(Path::new(arg))) {
                files.push(arg.clone());
            }
            continue;
        }
        let before = files.len();
        let walk = ignore::WalkBuilder::new(arg)
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
            if !has_export_extension(path, kinds) {
                continue;
            }
            let take = match settings.discovers(path) {
                Some(included) => included,
                None => match head(path) {
                    Ok(bytes) => looks_like_export(path, &bytes, kinds),
                    // Read again by the command, which says why it cannot.
                    Err(_) => true,
                },
            };
            if !take || skipped.contains(&identity(path)) || !seen.insert(identity(path)) {
                continue;
            }
            // `lint .` names `a/wwews.cfg`, as ruff and git do.
            let shown = match path.strip_prefix(".") {
                Ok(rest) if arg == "." => rest,
                _ => path,
            };
            match shown.to_str() {
                Some(name) => files.push(name.to_string()),
                None => {
                    let message = format!(
                        "the file name `{}` is not UTF-8; rename it or name it on the command line",
                        scapi::render::exact(&shown.to_string_lossy())
                    );
                    let path = arg.clone();
                    exit = exit.max(CliError::Walk { path, message }.report());
                }
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

/// The first [`SNIFF_BYTES`] of a file.
fn head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(SNIFF_BYTES)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
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
