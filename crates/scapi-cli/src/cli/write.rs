//! Writing outputs: standard output (a closed pipe is not an error) and
//! files, atomically, with no temporary file left behind by an interrupt.

use super::error::CliError;
use std::io::Write;
use std::path::Path;

/// Writes to stdout, treating a closed pipe as success.
pub fn print_stdout(text: &str) -> Result<(), CliError> {
    write_stdout(|out| out.write_all(text.as_bytes()))
}

/// Streams a document to standard output through a buffer; a closed pipe
/// is not an error.
pub fn write_stdout(
    write: impl FnOnce(&mut std::io::BufWriter<std::io::StdoutLock<'static>>) -> std::io::Result<()>,
) -> Result<(), CliError> {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    match write(&mut out).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(source) => Err(CliError::Stdout { source }),
    }
}

/// Writes `contents` to `path` atomically: a temporary file next to it,
/// then a rename. On any failure the target is untouched and the temporary
/// file is removed.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), CliError> {
    write_atomically_with(path, |w| w.write_all(contents))
}

/// Checks, before a run, that `path` can take an output written at its
/// end (by [`write_atomically_with`]): not a folder, not a read-only file,
/// in a folder that exists, and none of the run's `inputs` — so a long run
/// does not end in an error, or overwrite what it read.
pub fn check_output(path: &Path, inputs: &[&str]) -> Result<(), CliError> {
    let shown = path.display().to_string();
    refuse_target(path, std::fs::metadata(path).ok().as_ref())?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        return Err(CliError::Write {
            path: shown,
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("the folder `{}` does not exist", parent.display()),
            ),
        });
    }
    if let Ok(target) = std::fs::canonicalize(path) {
        for input in inputs.iter().filter(|i| **i != "-") {
            if std::fs::canonicalize(input).is_ok_and(|i| i == target) {
                return Err(CliError::Usage(format!(
                    "`{shown}` is an input of this run (`{input}`); write the output elsewhere"
                )));
            }
        }
    }
    Ok(())
}

/// A target no output replaces: a folder, or a read-only file (as
/// formatters do: the user's "do not touch").
fn refuse_target(path: &Path, existing: Option<&std::fs::Metadata>) -> Result<(), CliError> {
    let shown = || path.display().to_string();
    match existing {
        Some(m) if m.is_dir() => Err(CliError::WriteDirectory { path: shown() }),
        Some(m) if m.is_file() && m.permissions().readonly() => {
            Err(CliError::ReadOnly { path: shown() })
        }
        _ => Ok(()),
    }
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
) -> Result<(), CliError> {
    let shown = path.display().to_string();
    let fail = |source: std::io::Error| CliError::Write {
        path: shown.clone(),
        source,
    };
    let existing = std::fs::metadata(path).ok();
    refuse_target(path, existing.as_ref())?;
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
