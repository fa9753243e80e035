//! Finishing a run takes two renames (the archive, then the records). A run that died between them left
//! `current.jsonl` with no `current.warc.gz` and its archive already under a finished name with no records beside
//! it: the next run would resume the records into a new archive, every `warc_offset` pointing into the wrong file.
//! [`interrupted_finish`] moves that archive back, so the resumed run appends to it and renames both again.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::names::{is_archive_name, is_finished_name, is_warc, FINISHED_SUFFIX, WARC_SUFFIX};
use super::{CURRENT, CURRENT_WARC};

/// With DIR locked: if `current.jsonl` is there and `current.warc.gz` is not, and the newest file in DIR named like
/// a run is an archive (`STAMP.warc.gz`, a WARC) with no `STAMP.jsonl`, renames it back to `current.warc.gz` (logged).
/// Not while another run still holds `current.jsonl` (DIR's lock file deleted under it: it may be mid-finish).
/// Returns whether the archive was moved back.
pub(super) fn interrupted_finish(dir: &Path) -> bool {
    let current = dir.join(CURRENT);
    let warc = dir.join(CURRENT_WARC);
    let is_current = std::fs::symlink_metadata(&current).is_ok_and(|m| m.is_file());
    if !is_current || std::fs::symlink_metadata(&warc).is_ok() {
        return false;
    }
    let Some(orphan) = orphan_archive(dir) else {
        return false;
    };
    let Ok(held) = File::open(&current) else {
        return false;
    };
    if matches!(held.try_lock(), Err(std::fs::TryLockError::WouldBlock)) {
        return false;
    }
    match std::fs::rename(&orphan, &warc) {
        Ok(()) => {
            tracing::warn!(
                archive = %orphan.display(),
                "--state: a run died while finishing (its archive renamed, its records not); the archive is \
                 current.warc.gz again and is resumed with current.jsonl"
            );
            true
        }
        Err(e) => {
            tracing::warn!(archive = %orphan.display(), error = %e, "--state: cannot move an interrupted run's \
                archive back to current.warc.gz");
            false
        }
    }
}

/// The newest `STAMP.warc.gz` if it is newer than every finished run (so no `STAMP.jsonl` is beside it) and a WARC.
fn orphan_archive(dir: &Path) -> Option<PathBuf> {
    let mut newest_run = String::new();
    let mut newest_archive = String::new();
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if is_finished_name(name) {
            newest_run = newest_run.max(name.strip_suffix(FINISHED_SUFFIX)?.to_owned());
        } else if is_archive_name(name) {
            newest_archive = newest_archive.max(name.strip_suffix(WARC_SUFFIX)?.to_owned());
        }
    }
    if newest_archive.is_empty() || newest_archive <= newest_run {
        return None;
    }
    let path = dir.join(format!("{newest_archive}{WARC_SUFFIX}"));
    is_warc(&path).then_some(path)
}
