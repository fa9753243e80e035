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

/// Another crawlfish run is writing one of this run's files (or holds `--state`'s lock): exit 75
/// (`EX_TEMPFAIL`, try again later). Nothing was changed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Busy(pub(crate) String);

/// Takes this run's advisory lock (`flock`, exclusive, not waiting) on `file`, opened from `path`, for `flag`
/// (`-o`, `--warc`, `--state`). The lock is on the open file itself, not on a lock file beside it: a second path or
/// hard link to the same inode meets it, and deleting a lock file cannot get around it. It is held as long as
/// `file` (or a duplicate of it) is open, and goes with the process.
///
/// Only regular files are locked (stdout, `/dev/null` and FIFOs are shared by design). A file system that cannot
/// lock (`ENOLCK`: NFS without a lock manager) is logged and the run goes on unguarded, as before locks existed.
///
/// # Errors
/// [`Busy`], naming the file and the holder's pid where the kernel says (`/proc/locks`); also when `path` no longer
/// names `file` once locked (another run renamed or replaced it meanwhile).
pub(crate) fn lock(file: &File, path: &Path, flag: &str) -> anyhow::Result<()> {
    let Ok(meta) = file.metadata() else {
        return Ok(());
    };
    if !meta.is_file() {
        return Ok(());
    }
    let name = path.display();
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let by = match holder(&meta) {
                // A link from one file of the run to another: a usage error, not a reason to try again.
                Some(pid) if pid == std::process::id() => anyhow::bail!(
                    "{flag} {name}: is also another file of this run; refusing to write over it"
                ),
                Some(pid) => format!(" (pid {pid})"),
                None => String::new(),
            };
            return Err(Busy(format!(
                "{flag} {name}: another crawlfish run is writing it{by}; nothing was changed, try again later"
            ))
            .into());
        }
        Err(std::fs::TryLockError::Error(e)) => {
            tracing::warn!(file = %name, error = %e, "{flag}: cannot lock the file (a file system without locks?); \
                a second run writing it at the same time would not be refused");
            return Ok(());
        }
    }
    // Opened by name, then locked: a run that renamed the file away in between (`--state` finishing) leaves this
    // run holding a lock on a file that is no longer at `path`.
    let now = std::fs::metadata(path).ok();
    if now.as_ref().map(same_inode) != Some(same_inode(&meta)) {
        return Err(Busy(format!(
            "{flag} {name}: another crawlfish run moved it while this one opened it; nothing was changed, try \
             again later"
        ))
        .into());
    }
    Ok(())
}

fn same_inode(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt as _;
    (meta.dev(), meta.ino())
}

/// The pid holding a `flock` on the file, from `/proc/locks` (Linux: `N: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE
/// 0 EOF`, device numbers in hex). `None` where there is no such file or no such line (another OS, another pid
/// namespace shows 0).
fn holder(meta: &std::fs::Metadata) -> Option<u32> {
    let text = std::fs::read_to_string("/proc/locks").ok()?;
    holder_in(&text, &meta_key(meta))
}

/// `MAJ:MIN:INODE` as `/proc/locks` writes it (glibc's encoding of `st_dev`).
fn meta_key(meta: &std::fs::Metadata) -> String {
    let (dev, ino) = same_inode(meta);
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    format!("{major:02x}:{minor:02x}:{ino}")
}

fn holder_in(locks: &str, key: &str) -> Option<u32> {
    locks.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        // Waiters are listed as `N: -> FLOCK …`: only the holder's line has the type second.
        match f.as_slice() {
            [_, "FLOCK", _, _, pid, at, ..] if *at == key => pid.parse().ok().filter(|p| *p > 0),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_is_read_from_proc_locks() {
        let locks = "1: FLOCK  ADVISORY  WRITE 26967 fe:00:5972899 0 EOF\n\
                     1: -> FLOCK  ADVISORY  WRITE 777 fe:00:42 0 EOF\n\
                     2: FLOCK  ADVISORY  WRITE 26953 fe:00:42 0 EOF\n\
                     3: POSIX  ADVISORY  WRITE 11 08:01:7 0 EOF\n";
        assert_eq!(holder_in(locks, "fe:00:42"), Some(26953));
        assert_eq!(holder_in(locks, "08:01:7"), None, "not a flock");
        assert_eq!(holder_in("garbage\n\n1:", "fe:00:42"), None);
    }

    #[test]
    fn a_second_lock_on_the_same_inode_is_busy_and_names_the_holder() {
        let dir = std::env::temp_dir().join(format!("crawlfish-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a"), dir.join("b"));
        let _ = std::fs::remove_file(&b);
        std::fs::write(&a, "x").unwrap();
        std::fs::hard_link(&a, &b).unwrap();
        let first = File::open(&a).unwrap();
        lock(&first, &a, "-o").unwrap();
        let second = File::open(&b).unwrap();
        let err = lock(&second, &b, "-o").unwrap_err();
        if Path::new("/proc/locks").exists() {
            assert!(
                err.to_string().contains("another file of this run"),
                "{err:#}"
            );
        } else {
            assert!(err.is::<Busy>(), "{err:#}");
        }
        drop(first);
        lock(&second, &b, "-o").unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
