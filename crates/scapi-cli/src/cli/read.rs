//! Reading inputs: files and standard input, bounded by the size limit.

use super::error::CliError;
use std::io::Read;

/// An input file as read: its bytes (at most one past the size limit) and,
/// when they were cut there, its true size.
pub struct Input {
    pub bytes: Vec<u8>,
    pub size: Option<scapi::input::InputSize>,
}

/// Standard input must be open: a closed descriptor (`<&-`) is an error,
/// not an empty file.
pub fn check_stdin_open() -> Result<(), CliError> {
    let closed = || CliError::StdinClosed;
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

/// Opens a file argument to read it: a directory is refused; the size is
/// known for a regular file (not a device or a pipe).
pub fn open_file(path: &str) -> Result<(std::fs::File, Option<u64>), CliError> {
    let fail = |source| CliError::Read {
        path: path.to_string(),
        source,
    };
    let f = std::fs::File::open(path).map_err(fail)?;
    let meta = f.metadata().map_err(fail)?;
    if meta.is_dir() {
        return Err(CliError::ReadDirectory {
            path: path.to_string(),
        });
    }
    Ok((f, meta.is_file().then_some(meta.len())))
}

/// Reads an input file (`-` is standard input) without reading more than
/// `limit + 1` bytes, so an oversized file is refused cheaply (and said to
/// be its true size).
pub fn read_input(path: &str, limit: u64) -> Result<Input, CliError> {
    let fail = |source| CliError::Read {
        path: path.to_string(),
        source,
    };
    let mut bytes = Vec::new();
    let cap = limit.saturating_add(1);
    let mut known = None;
    let result = if path == "-" {
        check_stdin_open()?;
        std::io::stdin().lock().take(cap).read_to_end(&mut bytes)
    } else {
        let (f, size) = open_file(path)?;
        known = size;
        // Sized from the metadata up front: growing by doubling would hold
        // up to twice the file while reading.
        let expected = known.unwrap_or(0).min(cap);
        bytes.reserve_exact(usize::try_from(expected).unwrap_or(0).saturating_add(1));
        f.take(cap).read_to_end(&mut bytes)
    };
    result.map_err(fail)?;
    let size = (bytes.len() as u64 > limit).then_some(match known {
        Some(n) => scapi::input::InputSize::Exact(n),
        None => scapi::input::InputSize::MoreThan(limit),
    });
    Ok(Input { bytes, size })
}
