//! `--state DIR`: one directory for recurring runs. It owns DIR's layout and its lock:
//!
//! ```text
//! DIR/lock                        held (flock) for the whole run: a second run exits 75 at once
//! DIR/current.jsonl               the run being written; resumed as --resume would when a run died
//! DIR/20261126T182517.123Z.jsonl  finished runs, named by their UTC end time (kept: --keep N)
//! DIR/latest.jsonl                symlink to the newest finished run; the next run compares with it
//! DIR/latest.jsonl.tmp            the fresh symlink, renamed over latest.jsonl (anything else there: exit 2)
//! DIR/current.warc.gz             with --warc DIR: the run's archive, renamed with its records
//! DIR/20261126T182517.123Z.warc.gz    (and deleted with them by --keep)
//! DIR/cookies.txt                 the cookie jar: read at start, written (via cookies.txt.tmp) when a run completes
//! ```
//!
//! A finished run's `current.jsonl` is synced, then renamed to its timestamp name (atomic in one directory);
//! `latest.jsonl` is replaced by renaming a fresh symlink over it (atomic too), and only then are old runs
//! deleted. A symlink and not a copy: no second copy of every run on disk, `ls -l` shows which run it is, and
//! the swap is one rename either way. A run that is interrupted or fails to write leaves `current.jsonl` for the
//! next run to resume and moves nothing.
//!
//! Must not read or write records ([`crate::output::resume`], [`crate::output::since`] and the writer do), nor decide exit codes.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use self::names::{
    is_archive_name, is_finished_name, is_warc, stamp, unstamp, warc_of, FINISHED_SUFFIX,
};

mod names;
mod recover;

/// The lock file in DIR.
pub(crate) const LOCK: &str = "lock";
/// The run being written.
pub(crate) const CURRENT: &str = "current.jsonl";
/// The run's archive being written, with `--warc DIR` (the same DIR).
pub(crate) const CURRENT_WARC: &str = "current.warc.gz";
/// The symlink to the newest finished run.
pub(crate) const LATEST: &str = "latest.jsonl";
/// The cookie jar kept between runs (Netscape `cookies.txt`), written by the app at a complete run's end.
pub(crate) const COOKIES: &str = "cookies.txt";
/// The next `cookies.txt`, renamed over it.
const COOKIES_TMP: &str = "cookies.txt.tmp";
/// The temporary name of the next `latest.jsonl`, renamed over it.
const LATEST_TMP: &str = "latest.jsonl.tmp";
/// Names tried by [`State::free_name`] before giving up (a DIR holding a thousand runs in one second is not a
/// real one).
const FREE_NAME_TRIES: u32 = 1000;
/// Longest PID text read back from a held lock, for the message.
const MAX_PID_TEXT: u64 = 32;

pub(crate) use crate::output::file::Busy;

/// DIR, locked for this run.
#[derive(Debug)]
pub(crate) struct State {
    dir: PathBuf,
    keep: usize,
    /// `--warc DIR`: [`CURRENT_WARC`] is renamed and pruned with the records.
    warc: bool,
    /// An interrupted finish's archive was moved back to [`CURRENT_WARC`]: renamed with the records even when this
    /// run does not archive, so the resumed records keep pointing into it.
    recovered: bool,
    /// This run created DIR, and DIR's lock file: both removed if the run is refused ([`State::abandon`]).
    created: (bool, bool),
    /// Held for the run; the lock goes with the file (also when the process dies).
    _lock: File,
}

impl State {
    /// Creates DIR if needed and takes its lock, then moves back the archive of a run that died between its two
    /// end-of-run renames ([`recover::interrupted_finish`]). A held lock is [`Busy`], and nothing in DIR is changed
    /// (a lock file or DIR this call created is removed again). A file system that cannot lock (`ENOLCK`,
    /// `EOPNOTSUPP`) is logged and the run goes on unguarded.
    ///
    /// # Errors
    /// [`Busy`], one of DIR's names is not what crawlfish makes, or DIR or its lock file cannot be created or locked.
    pub(crate) fn lock(dir: &Path, keep: usize) -> Result<State> {
        let name = dir.display();
        let created_dir = std::fs::symlink_metadata(dir).is_err();
        std::fs::create_dir_all(dir).with_context(|| format!("--state: cannot create {name}"))?;
        refuse_links(dir)?;
        let path = dir.join(LOCK);
        let (mut lock, created_lock) = open_lock(&path)?;
        let state = State {
            dir: dir.to_owned(),
            keep,
            warc: false,
            recovered: false,
            created: (created_dir, created_lock),
            _lock: lock
                .try_clone()
                .context("--state: cannot duplicate the lock's handle")?,
        };
        if let Err(e) = take_lock(&lock, &path, dir) {
            state.abandon();
            return Err(e);
        }
        // Who holds it, for the message of a run that finds it held (only ever written under the lock).
        let _ = lock
            .set_len(0)
            .and_then(|()| write!(lock, "{}", std::process::id()));
        Ok(State {
            recovered: recover::interrupted_finish(dir),
            ..state
        })
    }

    /// A refused run's undoing: removes DIR's lock file and DIR itself if this run created them (DIR only if empty:
    /// the run's other files are removed first). Call while nothing else of the run's is left in DIR.
    pub(crate) fn abandon(self) {
        let (created_dir, created_lock) = self.created;
        if created_lock {
            let _ = std::fs::remove_file(self.dir.join(LOCK));
        }
        let dir = self.dir.clone();
        drop(self);
        if created_dir {
            let _ = std::fs::remove_dir(&dir);
        }
    }

    /// This run archives into DIR ([`CURRENT_WARC`], renamed and pruned with its records); returns its path.
    pub(crate) fn with_warc(&mut self) -> PathBuf {
        self.warc = true;
        self.dir.join(CURRENT_WARC)
    }

    /// Where this run writes.
    #[must_use]
    pub(crate) fn current(&self) -> PathBuf {
        self.dir.join(CURRENT)
    }

    /// The newest finished run: what `latest.jsonl` points to (or a newer one, had a crash come between a
    /// run's rename and its `latest.jsonl`). `None` before the first finished run.
    ///
    /// # Errors
    /// DIR cannot be listed.
    pub(crate) fn latest(&self) -> Result<Option<PathBuf>> {
        Ok(self.finished()?.pop())
    }

    /// The archive of the finished run `latest` (its `STAMP.warc.gz`), when that run archived into DIR.
    #[must_use]
    pub(crate) fn archive_of(latest: &Path) -> Option<PathBuf> {
        let warc = warc_of(latest);
        warc.is_file().then_some(warc)
    }

    /// Finished runs, oldest first (their names sort by time).
    fn finished(&self) -> Result<Vec<PathBuf>> {
        let list = std::fs::read_dir(&self.dir)
            .with_context(|| format!("--state: cannot list {}", self.dir.display()))?;
        let mut runs: Vec<PathBuf> = list
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(is_finished_name)
            })
            .collect();
        runs.sort();
        Ok(runs)
    }

    /// Ends a complete run: `current.jsonl` synced and renamed to its UTC end time, `latest.jsonl` pointed at
    /// it, runs past `--keep` deleted. Returns the finished run's path.
    ///
    /// # Errors
    /// A sync, rename or link failed; what was done before stays done (at worst `current.jsonl` is resumed, or
    /// `latest.jsonl` lags one run behind until the next run finishes).
    pub(crate) fn finish(&self) -> Result<PathBuf> {
        let current = self.current();
        let warc = (self.warc || self.recovered).then(|| self.dir.join(CURRENT_WARC));
        for file in std::iter::once(&current).chain(&warc) {
            File::open(file)
                .and_then(|f| f.sync_all())
                .with_context(|| format!("--state: cannot sync {}", file.display()))?;
        }
        // Both names free (the records' and the archive's): a rename never replaces a file.
        let target = self.dir.join(self.next_name()?);
        // latest.jsonl's replacement is made first: if that fails (no space, no inodes), nothing has moved and
        // current.jsonl is resumed next time.
        let tmp = self.latest_tmp(&target)?;
        // The archive before the records. A crash between the two leaves the archive under the finished name with
        // no records beside it: the next run moves it back ([`recover`]). A failed records rename moves it back now.
        if let Some(warc) = &warc {
            rename_new(warc, &warc_of(&target))?;
        }
        if let Err(e) = rename_new(&current, &target) {
            if let Some(warc) = &warc {
                if let Err(back) = std::fs::rename(warc_of(&target), warc) {
                    tracing::warn!(error = %back, "--state: cannot move the archive back to current.warc.gz");
                }
            }
            return Err(e);
        }
        let latest = self.dir.join(LATEST);
        std::fs::rename(&tmp, &latest)
            .with_context(|| format!("--state: cannot replace {}", latest.display()))?;
        sync_dir(&self.dir);
        self.prune(&target);
        Ok(target)
    }

    /// The finished run's name: its UTC end time, or the first millisecond after the newest run already there if
    /// the clock is behind that (a clock set back, a file from the future), and then the first whose records' and
    /// archive's names are both free: names always sort in the order runs finished, so `--keep` never deletes the
    /// run that just ended and the next run compares with it, and no rename replaces a file.
    ///
    /// A name in DIR is never trusted: when nothing can sort after the newest (`99991231T235959.999Z.jsonl`, the
    /// format's last millisecond) or the clock is outside the format (before 1970), the run takes the first free
    /// name from its end time (logged: the next run compares with that newest file until it is removed).
    fn next_name(&self) -> Result<String> {
        let now = SystemTime::now();
        let newest = self.finished()?.pop();
        let after = newest
            .as_ref()
            .and_then(|n| n.file_name()?.to_str())
            .unwrap_or_default();
        // Compared as names, i.e. to the millisecond: a run ending in the same millisecond as the last one would
        // otherwise take (and replace) its name.
        let start = match stamp(now) {
            Some(name) if format!("{name}{FINISHED_SUFFIX}").as_str() > after => Some(now),
            _ => newest
                .as_deref()
                .and_then(unstamp)
                .and_then(|t| t.checked_add(Duration::from_millis(1))),
        };
        if let Some(name) = start.and_then(|t| self.free_name(t, after)) {
            return Ok(name);
        }
        tracing::warn!(
            newest = %after,
            "--state: no run name sorts after the newest one in DIR; naming this run by its end time (remove \
             that file so runs compare with the run before them again)"
        );
        let own = if stamp(now).is_some() {
            now
        } else {
            SystemTime::UNIX_EPOCH
        };
        self.free_name(own, "").with_context(|| {
            format!(
                "--state {}: no free name for this run; current.jsonl is kept and resumed next time",
                self.dir.display()
            )
        })
    }

    /// The first name from `start` on, a millisecond apart, that sorts after `after` and whose records' and
    /// archive's names no file in DIR has. `None` when none does within [`FREE_NAME_TRIES`] or the format's end.
    fn free_name(&self, start: SystemTime, after: &str) -> Option<String> {
        let mut t = start;
        for _ in 0..FREE_NAME_TRIES {
            if let Some(name) = stamp(t).map(|s| s + FINISHED_SUFFIX) {
                let taken = |p: PathBuf| std::fs::symlink_metadata(p).is_ok();
                let path = self.dir.join(&name);
                if name.as_str() > after && !taken(warc_of(&path)) && !taken(path) {
                    return Some(name);
                }
            }
            t = t.checked_add(Duration::from_millis(1))?;
        }
        None
    }

    /// A symlink to `target` under a temporary name, ready to be renamed over `latest.jsonl` (a symlink left there
    /// by a run that died is replaced; anything else is not crawlfish's to remove).
    fn latest_tmp(&self, target: &Path) -> Result<PathBuf> {
        let tmp = self.dir.join(LATEST_TMP);
        let name = target.file_name().unwrap_or_default();
        match std::fs::symlink_metadata(&tmp) {
            Ok(m) if m.file_type().is_symlink() => std::fs::remove_file(&tmp)
                .with_context(|| format!("--state: cannot remove {}", tmp.display()))?,
            Ok(_) => anyhow::bail!(
                "--state: {} is not a symbolic link crawlfish made; refusing to remove it",
                tmp.display()
            ),
            Err(_) => {}
        }
        std::os::unix::fs::symlink(name, &tmp)
            .with_context(|| format!("--state: cannot create {}", tmp.display()))?;
        Ok(tmp)
    }

    /// Deletes finished runs past `--keep`, oldest first, never `just_finished`; only regular files that hold
    /// crawlfish records, and beside them only archives that are WARC files (a file named like a run or an archive
    /// that is not one is left, and logged). A failure is logged.
    fn prune(&self, just_finished: &Path) {
        let Ok(runs) = self.finished() else {
            return;
        };
        let extra = runs.len().saturating_sub(self.keep);
        for old in runs[..extra]
            .iter()
            .filter(|p| p.as_path() != just_finished)
        {
            if !crate::output::resume::looks_like_records(old) {
                tracing::warn!(file = %old.display(), "--state: not deleting a file that is not a crawlfish run");
                continue;
            }
            if let Err(e) = std::fs::remove_file(old) {
                tracing::warn!(file = %old.display(), error = %e, "--state: cannot delete an old run");
                continue;
            }
            let warc = warc_of(old);
            if std::fs::symlink_metadata(&warc).is_err() {
                continue;
            }
            if !is_warc(&warc) {
                tracing::warn!(file = %warc.display(), "--state: not deleting a file that is not a crawlfish archive");
            } else if let Err(e) = std::fs::remove_file(&warc) {
                tracing::warn!(file = %warc.display(), error = %e, "--state: cannot delete an old archive");
            }
        }
    }
}

/// Opens DIR's lock file, created when missing (race-free: `create_new` first); the second value says whether this
/// call created it.
fn open_lock(path: &Path) -> Result<(File, bool)> {
    let open = |new: bool| {
        let mut o = OpenOptions::new();
        o.read(true).write(true);
        if new {
            o.create_new(true);
        }
        o.open(path)
    };
    match open(true) {
        Ok(file) => Ok((file, true)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => open(false).map(|f| (f, false)),
        Err(e) => Err(e),
    }
    .with_context(|| format!("--state: cannot open {}", path.display()))
}

/// Takes DIR's lock: held is [`Busy`] (naming the pid the holder wrote); a file system without locks is a warning.
fn take_lock(lock: &File, path: &Path, dir: &Path) -> Result<()> {
    match lock.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = lock.take(MAX_PID_TEXT).read_to_string(&mut pid);
            let by = match pid.trim() {
                "" => String::new(),
                pid => format!(" (pid {pid})"),
            };
            Err(Busy(format!(
                "--state {}: another crawlfish run is using it{by}; nothing was changed, try again later",
                dir.display()
            ))
            .into())
        }
        Err(std::fs::TryLockError::Error(e)) if cannot_lock(&e) => {
            tracing::warn!(file = %path.display(), error = %e, "--state: cannot lock DIR (a file system without \
                locks?); a second run on it at the same time would not be refused");
            Ok(())
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("--state: cannot lock {}", path.display()))
        }
    }
}

/// The file system has no locks (NFS without a lock manager, some FUSE mounts): the run goes on unguarded.
fn cannot_lock(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOLCK | libc::EOPNOTSUPP | libc::ENOSYS)
    )
}

/// Whether `path` is one of the names DIR's layout owns (`lock`, `current.jsonl`, `latest.jsonl` and its temporary
/// name, a finished run's name), whether or not it exists yet: another file of the run (`--warc`) may not be one.
#[must_use]
pub(crate) fn owns(dir: &Path, path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let in_dir = match (std::fs::canonicalize(parent), std::fs::canonicalize(dir)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false, // DIR (or the parent) does not exist yet: nothing of DIR's can be there
    };
    in_dir
        && ([
            LOCK,
            CURRENT,
            CURRENT_WARC,
            LATEST,
            LATEST_TMP,
            COOKIES,
            COOKIES_TMP,
        ]
        .contains(&name)
            || is_finished_name(name)
            || is_archive_name(name))
}

/// DIR's own files must be what they seem, checked before anything is crawled: `lock`, `current.jsonl` and
/// `current.warc.gz`, `cookies.txt` and `cookies.txt.tmp` regular files (a symlink there would make crawlfish write through it, outside DIR),
/// `latest.jsonl` and `latest.jsonl.tmp` symlinks (a file or directory there is not crawlfish's to remove).
fn refuse_links(dir: &Path) -> Result<()> {
    for (name, want_link) in [
        (LOCK, false),
        (CURRENT, false),
        (CURRENT_WARC, false),
        (COOKIES, false),
        (COOKIES_TMP, false),
        (LATEST, true),
        (LATEST_TMP, true),
    ] {
        let path = dir.join(name);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let ok = if want_link {
            meta.file_type().is_symlink()
        } else {
            meta.file_type().is_file()
        };
        if !ok {
            anyhow::bail!(
                "--state: {} is not a {} crawlfish made; refusing to use it (nothing was changed)",
                path.display(),
                if want_link {
                    "symbolic link"
                } else {
                    "regular file"
                }
            );
        }
    }
    Ok(())
}

/// Renames `from` to `to`, which must not exist: a finished run's rename never replaces a file (checked under DIR's
/// lock, so no other crawlfish run can take the name in between).
fn rename_new(from: &Path, to: &Path) -> Result<()> {
    if std::fs::symlink_metadata(to).is_ok() {
        anyhow::bail!(
            "--state: cannot rename {} to {}: a file is already there (not replaced)",
            from.display(),
            to.display()
        );
    }
    std::fs::rename(from, to).with_context(|| {
        format!(
            "--state: cannot rename {} to {}",
            from.display(),
            to.display()
        )
    })
}

/// Makes the renames durable (a failure only weakens durability across a power loss: logged).
fn sync_dir(dir: &Path) {
    if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(dir = %dir.display(), error = %e, "--state: cannot sync the directory");
    }
}

#[cfg(test)]
mod tests;
