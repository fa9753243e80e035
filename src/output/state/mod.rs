//! `--state DIR`: one directory for recurring runs. It owns DIR's layout and its lock:
//!
//! ```text
//! DIR/lock                        held (flock) for the whole run: a second run exits 75 at once
//! DIR/current.jsonl               the run being written; resumed as --resume would when a run died
//! DIR/20261126T182517.123Z.jsonl  finished runs, named by their UTC end time (kept: --keep N)
//! DIR/latest.jsonl                symlink to the newest finished run; the next run compares with it
//! DIR/current.warc.gz             with --warc DIR: the run's archive, renamed with its records
//! DIR/20261126T182517.123Z.warc.gz    (and deleted with them by --keep)
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

/// The lock file in DIR.
pub(crate) const LOCK: &str = "lock";
/// The run being written.
pub(crate) const CURRENT: &str = "current.jsonl";
/// The run's archive being written, with `--warc DIR` (the same DIR).
pub(crate) const CURRENT_WARC: &str = "current.warc.gz";
/// A finished run's archive: its records' name with this instead of `.jsonl`.
const WARC_SUFFIX: &str = ".warc.gz";
/// The symlink to the newest finished run.
pub(crate) const LATEST: &str = "latest.jsonl";
/// The temporary name of the next `latest.jsonl`, renamed over it.
const LATEST_TMP: &str = "latest.jsonl.tmp";
/// A finished run's name: `YYYYMMDDTHHMMSS.mmmZ` and this.
const FINISHED_SUFFIX: &str = ".jsonl";
/// Length of the timestamp in a finished run's name.
const STAMP_LEN: usize = "20261126T182517.123Z".len();
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
    /// Held for the run; the lock goes with the file (also when the process dies).
    _lock: File,
}

impl State {
    /// Creates DIR if needed and takes its lock. A held lock is [`Busy`], and nothing in DIR is changed.
    ///
    /// # Errors
    /// [`Busy`], or DIR or its lock file cannot be created or locked.
    pub(crate) fn lock(dir: &Path, keep: usize) -> Result<State> {
        let name = dir.display();
        std::fs::create_dir_all(dir).with_context(|| format!("--state: cannot create {name}"))?;
        refuse_links(dir)?;
        let path = dir.join(LOCK);
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("--state: cannot open {}", path.display()))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = (&lock).take(MAX_PID_TEXT).read_to_string(&mut pid);
                let by = match pid.trim() {
                    "" => String::new(),
                    pid => format!(" (pid {pid})"),
                };
                return Err(Busy(format!(
                    "--state {name}: another crawlfish run is using it{by}; nothing was changed, try again later"
                ))
                .into());
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("--state: cannot lock {}", path.display()))
            }
        }
        // Who holds it, for the message of a run that finds it held (only ever written under the lock).
        let _ = lock
            .set_len(0)
            .and_then(|()| write!(lock, "{}", std::process::id()));
        Ok(State {
            dir: dir.to_owned(),
            keep,
            warc: false,
            _lock: lock,
        })
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
        let warc = self.warc.then(|| self.dir.join(CURRENT_WARC));
        for file in std::iter::once(&current).chain(&warc) {
            File::open(file)
                .and_then(|f| f.sync_all())
                .with_context(|| format!("--state: cannot sync {}", file.display()))?;
        }
        let target = self.dir.join(self.next_name()?);
        // latest.jsonl's replacement is made first: if that fails (no space, no inodes), nothing has moved and
        // current.jsonl is resumed next time.
        let tmp = self.latest_tmp(&target)?;
        // The archive before the records: a crash between the two leaves a finished archive and current.jsonl,
        // whose resumed run starts a new current.warc.gz, never records pointing into a renamed archive.
        if let Some(warc) = &warc {
            let to = warc_of(&target);
            std::fs::rename(warc, &to).with_context(|| {
                format!(
                    "--state: cannot rename {} to {}",
                    warc.display(),
                    to.display()
                )
            })?;
        }
        std::fs::rename(&current, &target).with_context(|| {
            format!(
                "--state: cannot rename {} to {}",
                current.display(),
                target.display()
            )
        })?;
        let latest = self.dir.join(LATEST);
        std::fs::rename(&tmp, &latest)
            .with_context(|| format!("--state: cannot replace {}", latest.display()))?;
        sync_dir(&self.dir);
        self.prune(&target);
        Ok(target)
    }

    /// The finished run's name: its UTC end time, or 1 ms after the newest run already there if the clock is
    /// behind that (a clock set back, a file from the future): names always sort in the order runs finished, so
    /// `--keep` never deletes the run that just ended and the next run compares with it.
    ///
    /// A name in DIR is never trusted: when nothing can sort after the newest (`99991231T235959.999Z.jsonl`, the
    /// format's last millisecond) or the clock is outside the format (before 1970), the run takes the first free
    /// name from its end time (logged: the next run compares with that newest file until it is removed).
    fn next_name(&self) -> Result<String> {
        let now = stamp(SystemTime::now());
        let newest = self.finished()?.pop();
        let newest_name = newest
            .as_ref()
            .and_then(|n| n.file_name()?.to_str())
            .unwrap_or_default();
        // Compared as names, i.e. to the millisecond: a run ending in the same millisecond as the last one would
        // otherwise take (and replace) its name.
        if let Some(name) = now.as_ref().map(|n| format!("{n}{FINISHED_SUFFIX}")) {
            if name.as_str() > newest_name {
                return Ok(name);
            }
        }
        let after = newest
            .as_deref()
            .and_then(unstamp)
            .and_then(|t| t.checked_add(Duration::from_millis(1)))
            .and_then(stamp);
        if let Some(after) = after {
            return Ok(after + FINISHED_SUFFIX);
        }
        tracing::warn!(
            newest = %newest_name,
            "--state: no run name sorts after the newest one in DIR; naming this run by its end time (remove \
             that file so runs compare with the run before them again)"
        );
        self.free_name(now.as_deref())
    }

    /// The first name from `start` on (else 1970's first millisecond), a millisecond apart, that no file in DIR
    /// has: a rename must never replace a run.
    fn free_name(&self, start: Option<&str>) -> Result<String> {
        let mut t = start
            .and_then(unstamp_str)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        for _ in 0..FREE_NAME_TRIES {
            if let Some(name) = stamp(t).map(|s| s + FINISHED_SUFFIX) {
                if std::fs::symlink_metadata(self.dir.join(&name)).is_err() {
                    return Ok(name);
                }
            }
            let Some(next) = t.checked_add(Duration::from_millis(1)) else {
                break;
            };
            t = next;
        }
        anyhow::bail!(
            "--state {}: no free name for this run; current.jsonl is kept and resumed next time",
            self.dir.display()
        )
    }

    /// A symlink to `target` under a temporary name, ready to be renamed over `latest.jsonl`.
    fn latest_tmp(&self, target: &Path) -> Result<PathBuf> {
        let tmp = self.dir.join(LATEST_TMP);
        let name = target.file_name().unwrap_or_default();
        match std::fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("--state: cannot remove {}", tmp.display()))
            }
        }
        std::os::unix::fs::symlink(name, &tmp)
            .with_context(|| format!("--state: cannot create {}", tmp.display()))?;
        Ok(tmp)
    }

    /// Deletes finished runs past `--keep`, oldest first, never `just_finished`; only regular files that hold
    /// crawlfish records (a file named like a run that is not one is left, and logged). A failure is logged.
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
            if std::fs::symlink_metadata(&warc).is_ok_and(|m| m.is_file()) {
                if let Err(e) = std::fs::remove_file(&warc) {
                    tracing::warn!(file = %warc.display(), error = %e, "--state: cannot delete an old archive");
                }
            }
        }
    }
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
        && ([LOCK, CURRENT, CURRENT_WARC, LATEST, LATEST_TMP].contains(&name)
            || is_finished_name(name)
            || name
                .strip_suffix(WARC_SUFFIX)
                .and_then(unstamp_str)
                .is_some())
}

/// A finished run's archive: `STAMP.warc.gz` beside `STAMP.jsonl`.
fn warc_of(run: &Path) -> PathBuf {
    let name = run.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let stamp = name.strip_suffix(FINISHED_SUFFIX).unwrap_or(name);
    run.with_file_name(format!("{stamp}{WARC_SUFFIX}"))
}

/// DIR's own files must be what they seem: `lock` and `current.jsonl` regular files (a symlink there would make
/// crawlfish write through it, outside DIR), `latest.jsonl` a symlink.
fn refuse_links(dir: &Path) -> Result<()> {
    for (name, want_link) in [
        (LOCK, false),
        (CURRENT, false),
        (CURRENT_WARC, false),
        (LATEST, true),
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

/// The time a finished run's name says (the inverse of [`stamp`]); `None` for any name that is not one.
fn unstamp(path: &Path) -> Option<SystemTime> {
    unstamp_str(path.file_name()?.to_str()?.strip_suffix(FINISHED_SUFFIX)?)
}

/// The time of a `YYYYMMDDTHHMMSS.mmmZ` stamp, checked byte by byte before any slicing (a hostile name must not
/// panic) and then as a date (no 13th month).
fn unstamp_str(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    let shaped = b.len() == STAMP_LEN
        && b.iter().enumerate().all(|(i, c)| match i {
            8 => *c == b'T',
            15 => *c == b'.',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    let part = |r: std::ops::Range<usize>| s.get(r);
    let rfc = format!(
        "{}-{}-{}T{}:{}:{}",
        part(0..4)?,
        part(4..6)?,
        part(6..8)?,
        part(9..11)?,
        part(11..13)?,
        part(13..STAMP_LEN)?
    );
    humantime::parse_rfc3339(&rfc).ok()
}

/// `YYYYMMDDTHHMMSS.mmmZ` (UTC): sorts by time, and has no `:` (awkward in file names). `None` outside what the
/// format holds (before 1970, after 9999).
fn stamp(t: SystemTime) -> Option<String> {
    use std::fmt::Write as _;
    t.duration_since(SystemTime::UNIX_EPOCH).ok()?;
    let mut text = String::new();
    // humantime's Display fails (and `to_string` would panic) past year 9999.
    write!(text, "{}", humantime::format_rfc3339_millis(t)).ok()?;
    Some(text.chars().filter(|c| *c != '-' && *c != ':').collect())
}

/// A finished run's name: a stamp that is a real time, and `.jsonl`.
fn is_finished_name(name: &str) -> bool {
    name.strip_suffix(FINISHED_SUFFIX)
        .and_then(unstamp_str)
        .is_some()
}

/// Makes the renames durable (a failure only weakens durability across a power loss: logged).
fn sync_dir(dir: &Path) {
    if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(dir = %dir.display(), error = %e, "--state: cannot sync the directory");
    }
}

#[cfg(test)]
mod tests;
