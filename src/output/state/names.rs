//! DIR's names for finished runs: `YYYYMMDDTHHMMSS.mmmZ.jsonl` and its archive `….warc.gz`, and what a file must
//! hold to be deleted as one (`--keep`).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A finished run's archive: its records' name with this instead of `.jsonl`.
pub(super) const WARC_SUFFIX: &str = ".warc.gz";
/// A finished run's name: `YYYYMMDDTHHMMSS.mmmZ` and this.
pub(super) const FINISHED_SUFFIX: &str = ".jsonl";
/// Length of the timestamp in a finished run's name.
const STAMP_LEN: usize = "20261126T182517.123Z".len();

/// A finished run's archive: `STAMP.warc.gz` beside `STAMP.jsonl`.
pub(super) fn warc_of(run: &Path) -> PathBuf {
    let name = run.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let stamp = name.strip_suffix(FINISHED_SUFFIX).unwrap_or(name);
    run.with_file_name(format!("{stamp}{WARC_SUFFIX}"))
}

/// The time a finished run's name says (the inverse of [`stamp`]); `None` for any name that is not one.
pub(super) fn unstamp(path: &Path) -> Option<SystemTime> {
    unstamp_str(path.file_name()?.to_str()?.strip_suffix(FINISHED_SUFFIX)?)
}

/// The time of a `YYYYMMDDTHHMMSS.mmmZ` stamp, checked byte by byte before any slicing (a hostile name must not
/// panic), then as a date, and only if that time is written back as the very same stamp: every field in range (no
/// 13th month, no leap second `…235960`, which would be written as the next minute and sort wrongly).
pub(super) fn unstamp_str(s: &str) -> Option<SystemTime> {
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
    let t = humantime::parse_rfc3339(&rfc).ok()?;
    (stamp(t)? == s).then_some(t)
}

/// `YYYYMMDDTHHMMSS.mmmZ` (UTC): sorts by time, and has no `:` (awkward in file names). `None` outside what the
/// format holds (before 1970, after 9999).
pub(super) fn stamp(t: SystemTime) -> Option<String> {
    use std::fmt::Write as _;
    t.duration_since(SystemTime::UNIX_EPOCH).ok()?;
    let mut text = String::new();
    // humantime's Display fails (and `to_string` would panic) past year 9999.
    write!(text, "{}", humantime::format_rfc3339_millis(t)).ok()?;
    Some(text.chars().filter(|c| *c != '-' && *c != ':').collect())
}

/// A finished run's name: a stamp that is a real time, and `.jsonl`.
pub(super) fn is_finished_name(name: &str) -> bool {
    name.strip_suffix(FINISHED_SUFFIX)
        .and_then(unstamp_str)
        .is_some()
}

/// A finished run's archive name: a stamp that is a real time, and `.warc.gz`.
pub(super) fn is_archive_name(name: &str) -> bool {
    name.strip_suffix(WARC_SUFFIX)
        .and_then(unstamp_str)
        .is_some()
}

/// Whether `path` is a regular file that starts like a crawlfish archive: a gzip member whose content starts with
/// `WARC/` (`--keep` deletes nothing else named like an archive).
pub(super) fn is_warc(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut head = Vec::new();
    let read = flate2::read::GzDecoder::new(std::io::BufReader::new(file))
        .take(5)
        .read_to_end(&mut head);
    read.is_ok() && head == b"WARC/"
}
