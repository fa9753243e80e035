//! Opening the run's files without changing them, and telling what stdout is: the primitives `-o`, `--warc` and
//! `--state` are opened with before anything is cut.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Opens `path` for writing (and with `read`, reading) without changing a byte of it: created when missing,
/// never truncated. The second value is the real path of a file this call created (a link followed), so a refused
/// run can remove it.
///
/// # Errors
/// The file cannot be opened (a missing directory, a directory, no permission).
pub(crate) fn open_unchanged(path: &Path, read: bool) -> io::Result<(File, Option<PathBuf>)> {
    let existed = std::fs::metadata(path).is_ok();
    let file = OpenOptions::new()
        .read(read)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let created =
        (!existed).then(|| std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()));
    Ok((file, created))
}

/// Metadata of what stdout is (a file, a pipe, a terminal), through a duplicate of the descriptor.
pub(crate) fn stdout_meta() -> Option<std::fs::Metadata> {
    use std::os::fd::AsFd as _;
    let fd = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
    File::from(fd).metadata().ok()
}
