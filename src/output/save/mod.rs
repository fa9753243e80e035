//! `--save DIR`: writes a fetched body (and, with `--content`, its text) to `DIR/HOST[_PORT]/PATH`.
//!
//! Owns the file writing only: which path a URL gets is [`crate::url::save`]'s pure rule (its proptest proves the
//! path relative and plain); here the directories are made and the file written atomically (a temporary file in
//! the same directory, then a rename), so a reader never sees half a file and a crash leaves none. Nothing is ever
//! deleted: `--resume` and `--state` keep what earlier runs saved.
//!
//! Never outside DIR: each directory on the way is checked to be a real directory, not a symlink (a symlink
//! already in DIR, planted or not, is refused, not followed); the temporary file is created with `create_new`,
//! which does not follow a symlink either, and a rename replaces a symlink at the final name instead of writing
//! through it. Must not know about records or the crawl: it takes bytes and a URL, returns the relative path.
//! Blocking: callers run it on the blocking pool.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use url::Url;

/// `--save DIR` and `--save-content-only`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveOptions {
    pub dir: PathBuf,
    /// Write the `--content` text only, not the body.
    pub content_only: bool,
}

/// Tells this process's temporary files apart (tasks save at once).
static NEXT_TMP: AtomicU64 = AtomicU64::new(0);

/// Writes `body` for `url`; returns its path relative to DIR, `/`-separated (the record's `saved`).
pub(crate) fn body(opts: &SaveOptions, url: &Url, body: &[u8]) -> io::Result<String> {
    let parts = crate::url::save::path_of(url);
    write(&opts.dir, &parts, body)?;
    Ok(parts.join("/"))
}

/// The content hook: writes `text` (the record's `content`) beside the body, as the body's name plus `.EXT`
/// (`md` or `txt`); returns its relative path. With `--save-content-only` this is the only file written.
pub(crate) fn content(opts: &SaveOptions, url: &Url, text: &str, ext: &str) -> io::Result<String> {
    let mut parts = crate::url::save::path_of(url);
    if let Some(last) = parts.last_mut() {
        // Still a safe name: `safe` leaves room for the extension under the length limit.
        *last = crate::url::save::safe(&format!("{last}.{ext}"));
    }
    write(&opts.dir, &parts, text.as_bytes())?;
    Ok(parts.join("/"))
}

/// Makes the directories of `parts` under `dir` (refusing symlinks and non-directories on the way) and writes
/// the last part atomically.
fn write(dir: &Path, parts: &[String], bytes: &[u8]) -> io::Result<()> {
    let Some((name, dirs)) = parts.split_last() else {
        return Err(io::Error::other("empty path"));
    };
    std::fs::create_dir_all(dir)?;
    let mut at = dir.to_path_buf();
    for d in dirs {
        at.push(d);
        real_dir(&at)?;
    }
    let n = NEXT_TMP.fetch_add(1, Ordering::Relaxed);
    let tmp = at.join(format!(".crawlfish-{}-{n}.tmp", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes));
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, at.join(name))) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// Makes `path` a directory if it is missing; an existing symlink or file there is an error, never followed.
fn real_dir(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(io::Error::other(format!(
            "{} is not a directory (a symlink or a file): not followed",
            path.display()
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => match std::fs::create_dir(path) {
            // Made by another task meanwhile: fine only if it is a real directory.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if std::fs::symlink_metadata(path)?.is_dir() {
                    Ok(())
                } else {
                    Err(e)
                }
            }
            other => other,
        },
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests;
