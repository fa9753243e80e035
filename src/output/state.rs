//! `--state DIR`: one directory for recurring runs. It owns DIR's layout and its lock:
//!
//! ```text
//! DIR/lock                        held (flock) for the whole run: a second run exits 75 at once
//! DIR/current.jsonl               the run being written; resumed as --resume would when a run died
//! DIR/20261126T182517.123Z.jsonl  finished runs, named by their UTC end time (kept: --keep N)
//! DIR/latest.jsonl                symlink to the newest finished run; the next run compares with it
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
/// The symlink to the newest finished run.
pub(crate) const LATEST: &str = "latest.jsonl";
/// The temporary name of the next `latest.jsonl`, renamed over it.
const LATEST_TMP: &str = "latest.jsonl.tmp";
/// A finished run's name: `YYYYMMDDTHHMMSS.mmmZ` and this.
const FINISHED_SUFFIX: &str = ".jsonl";
/// Length of the timestamp in a finished run's name.
const STAMP_LEN: usize = "20261126T182517.123Z".len();
/// Longest PID text read back from a held lock, for the message.
const MAX_PID_TEXT: u64 = 32;

/// Another run holds DIR's lock: exit 75 (`EX_TEMPFAIL`, try again later).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Busy(String);

/// DIR, locked for this run.
#[derive(Debug)]
pub(crate) struct State {
    dir: PathBuf,
    keep: usize,
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
            _lock: lock,
        })
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
        File::open(&current)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("--state: cannot sync {}", current.display()))?;
        let target = self.dir.join(self.next_name()?);
        // latest.jsonl's replacement is made first: if that fails (no space, no inodes), nothing has moved and
        // current.jsonl is resumed next time.
        let tmp = self.latest_tmp(&target)?;
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
    fn next_name(&self) -> Result<String> {
        let name = stamp(SystemTime::now()) + FINISHED_SUFFIX;
        let Some(newest) = self.finished()?.pop() else {
            return Ok(name);
        };
        let newest_name = newest
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        // Compared as names, i.e. to the millisecond: a run ending in the same millisecond as the last one would
        // otherwise take (and replace) its name.
        if name.as_str() > newest_name {
            return Ok(name);
        }
        let after = unstamp(&newest).map_or_else(SystemTime::now, |t| t + Duration::from_millis(1));
        Ok(stamp(after) + FINISHED_SUFFIX)
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
    in_dir && ([LOCK, CURRENT, LATEST, LATEST_TMP].contains(&name) || is_finished_name(name))
}

/// DIR's own files must be what they seem: `lock` and `current.jsonl` regular files (a symlink there would make
/// crawlfish write through it, outside DIR), `latest.jsonl` a symlink.
fn refuse_links(dir: &Path) -> Result<()> {
    for (name, want_link) in [(LOCK, false), (CURRENT, false), (LATEST, true)] {
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

/// The time a finished run's name says (the inverse of [`stamp`]).
fn unstamp(path: &Path) -> Option<SystemTime> {
    let s = path.file_name()?.to_str()?.strip_suffix(FINISHED_SUFFIX)?;
    let b = s.get(..STAMP_LEN)?;
    let rfc = format!(
        "{}-{}-{}T{}:{}:{}",
        &b[0..4],
        &b[4..6],
        &b[6..8],
        &b[9..11],
        &b[11..13],
        &b[13..]
    );
    humantime::parse_rfc3339(&rfc).ok()
}

/// `YYYYMMDDTHHMMSS.mmmZ` (UTC): sorts by time, and has no `:` (awkward in file names).
fn stamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t)
        .to_string()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect()
}

fn is_finished_name(name: &str) -> bool {
    let Some(stamp) = name.strip_suffix(FINISHED_SUFFIX) else {
        return false;
    };
    let b = stamp.as_bytes();
    b.len() == STAMP_LEN
        && b.iter().enumerate().all(|(i, c)| match i {
            8 => *c == b'T',
            15 => *c == b'.',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// Makes the renames durable (a failure only weakens durability across a power loss: logged).
fn sync_dir(dir: &Path) {
    if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(dir = %dir.display(), error = %e, "--state: cannot sync the directory");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_sort_and_are_recognised() {
        let t = humantime::parse_rfc3339("2026-11-26T18:25:17.123Z").unwrap();
        assert_eq!(stamp(t), "20261126T182517.123Z");
        assert!(is_finished_name("20261126T182517.123Z.jsonl"));
        for other in [
            CURRENT,
            LATEST,
            LATEST_TMP,
            LOCK,
            "notes.jsonl",
            "20261126T182517.123Z.jsonl.tmp",
        ] {
            assert!(!is_finished_name(other), "{other}");
        }
    }

    #[test]
    fn lock_finish_keep() {
        let dir = std::env::temp_dir().join(format!("crawlfish-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let state = State::lock(&dir, 2).unwrap();
        let again = State::lock(&dir, 2).unwrap_err();
        assert!(again.is::<Busy>(), "{again:#}");
        assert_eq!(state.latest().unwrap(), None);
        let mut done = Vec::new();
        for run in 0..3 {
            std::fs::write(state.current(), format!("{{\"url\":\"run {run}\"}}\n")).unwrap();
            done.push(state.finish().unwrap());
            assert!(!state.current().exists());
            assert_eq!(
                std::fs::read_to_string(dir.join(LATEST)).unwrap(),
                format!("{{\"url\":\"run {run}\"}}\n")
            );
            assert_eq!(state.latest().unwrap().as_ref(), done.last());
        }
        assert!(!done[0].exists(), "--keep 2 deleted the oldest");
        assert!(done[1].exists() && done[2].exists());
        drop(state);
        assert!(State::lock(&dir, 2).is_ok(), "the lock goes with the run");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Two runs ending in the same millisecond (or a run "from the future" in DIR) must not share a name: the
    /// second rename would replace the first run.
    #[test]
    fn names_never_collide_or_go_back() {
        let dir =
            std::env::temp_dir().join(format!("crawlfish-state-names-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let state = State::lock(&dir, 5).unwrap();
        let now = stamp(SystemTime::now()) + FINISHED_SUFFIX;
        std::fs::write(dir.join(&now), "{\"url\":\"x\"}\n").unwrap();
        assert!(state.next_name().unwrap() > now, "same millisecond");
        let future = "20991231T235959.999Z.jsonl";
        std::fs::write(dir.join(future), "{\"url\":\"x\"}\n").unwrap();
        assert_eq!(state.next_name().unwrap(), "21000101T000000.000Z.jsonl");
        drop(state);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
