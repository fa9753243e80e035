//! `--resume`: proves that FILE is crawlfish's own output before anything is cut, then reads the records done.
//!
//! FILE must be a regular file whose complete lines are all records (JSON objects with at least `url`,
//! `final_url`, `status`, `depth`, `attempts` and `error`). Anything else (another tool's JSONL, text, a binary,
//! a FIFO or a device) is a usage error naming the file, and the file is left byte for byte as it was. Only a
//! file proven ours has its torn last line (a write cut short by a crash) cut, and only by [`cut_torn_line`], once
//! the run's other files have been checked too ([`crate::app::files`]). A missing or empty FILE is a fresh start.
//!
//! With `--warc`, a record whose response is not in the archive is not done: it has a `status` and a null
//! `warc_offset` (the archive failed, e.g. a full disk), or a `warc_offset` at or past the end of the archive's whole
//! records (cut as torn, or moved aside by `--warc-repair`). Its URL is fetched again and gets a new line after the
//! old one; the last line of a URL is the one that counts (here and in `--since`).
//!
//! Reading is streaming with a line cap ([`MAX_RECORD_LINE`]): memory stays bounded whatever the file holds.
//! `--since FILE` ([`crate::output::since`]) reads its file through the same checks (`scan_lines`), read-only.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek};
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};

use crate::output::journal::Tally;
use crate::url::key::{key, SeenSet};
use crate::url::without_userinfo;

/// The longest line a record can plausibly be; a longer one means the file is not crawlfish's.
///
/// A record's bounded fields (a listed URL at 8 KiB, the title at 2,048 characters, redirects, the 1 MiB
/// `--select` extract) stay well under 8 MiB; only `links` (and a linked page's `url`) grow with the page: a
/// 10 MiB body (the `--max-body` default) packed with `<a href=/N>` gives about 25 MiB of JSON. 64 MiB leaves
/// room for that with margin, and is also the most memory the check ever holds for one line.
pub(crate) const MAX_RECORD_LINE: usize = 64 << 20;

/// How every record line starts (`url` is the first field): a torn first write still starts like this.
const RECORD_START: &[u8] = b"{\"url\":\"";

/// Read buffer for the file.
const READ_BUFFER: usize = 64 * 1024;

/// A record already in the `--resume` file, as far as resuming needs it. The fields without `serde(default)`
/// must be present (even when `null`): they are how a record is told from another tool's JSON line.
#[derive(Debug, Deserialize)]
pub(crate) struct Resumed {
    pub url: String,
    pub depth: u32,
    /// `None`: the record was written without `links` (`--no-links`, `--fields`).
    #[serde(default)]
    pub links: Option<Vec<String>>,
    #[serde(deserialize_with = "present")]
    pub status: Option<u16>,
    #[serde(rename = "final_url", deserialize_with = "present")]
    _final_url: Option<IgnoredAny>,
    #[serde(rename = "attempts")]
    _attempts: u32,
    #[serde(rename = "error", deserialize_with = "present")]
    _error: Option<IgnoredAny>,
    /// The page said `<meta name=robots content=nofollow>`: its links are not queued again (older records: false).
    #[serde(default)]
    pub meta_nofollow: bool,
    /// Absent (`None`) without `--warc`; `Some(None)` when written as null.
    #[serde(default, deserialize_with = "present_some")]
    #[allow(clippy::option_option)]
    // absent and null differ: only a null says the archive missed it
    warc_offset: Option<Option<u64>>,
    /// The body's digest: the first page with each is what the duplicate rule compares later pages with.
    #[serde(default)]
    digest: Option<String>,
    /// A rendered page never enters the duplicate rule.
    #[serde(default)]
    rendered: Option<bool>,
    /// A page reported as a duplicate did not enter the rule's table either.
    #[serde(default)]
    duplicate_of: Option<IgnoredAny>,
}

impl Resumed {
    /// With `--warc` (whose whole records end at `end`): the record says it has a response, but the archive does
    /// not hold it.
    fn unarchived(&self, end: u64) -> bool {
        match self.warc_offset {
            Some(None) => self.status.is_some(),
            Some(Some(offset)) => offset >= end,
            None => false,
        }
    }
}

/// A field that is present (null or not): `Some`, so that a missing one (`serde(default)`: `None`) can be told
/// from a null.
#[allow(clippy::option_option)]
fn present_some<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A required field that may be `null` (serde treats a missing `Option` as `None` unless told otherwise).
pub(crate) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
}

/// Distinct body digests collected at most for the duplicate rule's table (`crawl::duplicates`, which remembers
/// fewer): bounded memory whatever FILE holds.
pub(crate) const FIRST_BODIES: usize = 1 << 16;

/// FILE's pages that were the first with their body, in FILE's order, with their digest: a resumed crawl puts
/// them back in the duplicate rule's table, so a copy fetched after the resume is reported as one (and its links
/// not followed) exactly as in an uninterrupted run.
#[derive(Debug, Default)]
pub(crate) struct Bodies {
    pub first: Vec<(u128, String)>,
    digests: std::collections::HashSet<u128>,
}

impl Bodies {
    fn add(&mut self, r: &Resumed) {
        if self.digests.len() >= FIRST_BODIES
            || r.rendered == Some(true)
            || r.duplicate_of.is_some()
        {
            return;
        }
        let Some(digest) = crate::digest::parse(r.digest.as_deref().unwrap_or_default()) else {
            return;
        };
        if self.digests.insert(digest) {
            self.first.push((digest, r.url.clone()));
        }
    }
}

/// FILE opened for appending after its last complete record, and what it holds. Nothing in FILE has changed yet:
/// [`cut_torn_line`] cuts a torn last line, once the run's other files are checked too.
pub(crate) struct Resume {
    pub file: File,
    /// Length of FILE up to its last complete record: where the next record goes.
    pub len: u64,
    pub done: SeenSet,
    /// Records that may have children to crawl (only kept when asked).
    pub resumed: Vec<Resumed>,
    /// FILE did not exist and was created (its real path), so a run refused before it starts can remove it.
    pub created: Option<std::path::PathBuf>,
    /// FILE's complete lines, chained: what the links journal must match ([`crate::output::journal`]).
    pub tally: Tally,
    /// Crawl mode: the pages first with their body.
    pub bodies: Bodies,
}

/// Opens FILE for `--resume` and locks it for the run (as `flag`, [`crate::output::file::lock`]) before reading a
/// byte: checks it is ours, finds a torn last line, collects the URLs done. FILE is created when missing, and
/// otherwise left as it is (see [`cut_torn_line`]).
///
/// # Errors
/// FILE is another run's ([`crate::output::file::Busy`]), is not a regular file, is not crawlfish's output, or
/// cannot be read.
pub(crate) fn open(
    path: &Path,
    flag: &str,
    (keep_links, crawl): (bool, bool),
    warc_end: Option<u64>,
) -> Result<Resume> {
    let name = path.display();
    let file = match std::fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .with_context(|| format!("cannot create {name} for --resume"))?;
            crate::output::file::lock(&file, path, flag)?;
            return Ok(Resume {
                file,
                len: 0,
                done: SeenSet::default(),
                resumed: Vec::new(),
                created: Some(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())),
                tally: Tally::default(),
                bodies: Bodies::default(),
            });
        }
        Err(e) => return Err(e).with_context(|| format!("cannot open {name} for --resume")),
        // Checked before opening: opening a FIFO could block, a device is never a record file.
        Ok(meta) if !meta.is_file() => bail!(not_regular(path)),
        Ok(_) => OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .with_context(|| format!("cannot open {name} for --resume"))?,
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        bail!(not_regular(path)); // replaced between the check and the open
    }
    // Before reading: a file another run is appending to has a torn line in the middle of the read.
    crate::output::file::lock(&file, path, flag)?;
    let mut resume = Resume {
        file,
        len: 0,
        done: SeenSet::default(),
        resumed: Vec::new(),
        created: None,
        tally: Tally::default(),
        bodies: Bodies::default(),
    };
    let mut kept = keep_links.then_some(Vec::new());
    let mut again = SeenSet::default();
    let read = Found {
        done: &mut resume.done,
        kept: kept.as_mut(),
        warc_end,
        again: &mut again,
        tally: &mut resume.tally,
        bodies: crawl.then_some(&mut resume.bodies),
    };
    let scan =
        scan(&mut resume.file, read).with_context(|| format!("cannot read {name} for --resume"))?;
    let complete = match scan {
        Scan::Ours(complete) => complete,
        Scan::Foreign(why) => bail!(
            "--resume: {name} is not crawlfish's output ({why}); it was left as it is. --resume only continues a \
             file crawlfish wrote: give -o a new file"
        ),
    };
    if !again.is_empty() {
        tracing::warn!(
            file = %name,
            "--resume --warc: {} URLs have a record but no response in the archive (warc_offset null, or past the \
             end of its whole records): they are fetched again, and each gets a new line that supersedes the old",
            again.len()
        );
    }
    let unlinked = kept.as_ref().map_or(0, |k| {
        k.iter()
            .filter(|r| r.links.is_none() && r.status.is_some())
            .count()
    });
    if unlinked > 0 {
        bail!(
            "--resume: {name} has {unlinked} pages written without `links` (--no-links or --fields) and no links \
             journal beside it ({name}.links), so the crawl cannot continue from it; it was left as it is. Put the \
             journal back, or crawl again into a new file"
        );
    }
    resume.file.seek(io::SeekFrom::Start(complete))?;
    resume.len = complete;
    resume.resumed = kept.unwrap_or_default();
    Ok(resume)
}

/// Cuts FILE's torn last line, after `len` (the first change `--resume` makes to FILE); `name` for the message.
///
/// # Errors
/// FILE cannot be cut.
pub(crate) fn cut_torn_line(file: &File, len: u64, name: &str) -> Result<()> {
    if len < file.metadata()?.len() {
        file.set_len(len)
            .with_context(|| format!("cannot cut the torn last line of {name}"))?;
    }
    Ok(())
}

fn not_regular(path: &Path) -> String {
    format!(
        "--resume: {} is not a regular file (a directory, FIFO or device); --resume only continues a file \
         crawlfish wrote",
        path.display()
    )
}

/// Opens `path` read-only for `flag` (`--since`) once it is known to be a regular file (a FIFO could block the
/// open, a device is never a record file): the same rule as `--resume`, without creating or cutting anything.
///
/// # Errors
/// `path` is missing, not a regular file, or unreadable.
pub(crate) fn open_regular(path: &Path, flag: &str) -> Result<File> {
    let name = path.display();
    let meta = std::fs::metadata(path).with_context(|| format!("{flag}: cannot open {name}"))?;
    if !meta.is_file() {
        bail!("{flag}: {name} is not a regular file (a directory, FIFO or device); it must be crawlfish's output");
    }
    let file = File::open(path).with_context(|| format!("{flag}: cannot open {name}"))?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        bail!("{flag}: {name} is not a regular file"); // replaced between the check and the open
    }
    Ok(file)
}

/// What reading the file found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// Every complete line is a record; the number is the length up to the last of them.
    Ours(u64),
    /// Why the file is not crawlfish's output.
    Foreign(String),
}

/// Where reading the records puts what it finds.
struct Found<'a> {
    done: &'a mut SeenSet,
    /// Records kept for their links (crawl mode).
    kept: Option<&'a mut Vec<Resumed>>,
    /// With `--warc`: where the archive's whole records end.
    warc_end: Option<u64>,
    /// URLs whose last line has no response in the archive: fetched again.
    again: &'a mut SeenSet,
    /// Every line, in order, for the links journal's check.
    tally: &'a mut Tally,
    /// Crawl mode: the pages first with their body.
    bodies: Option<&'a mut Bodies>,
}

/// Reads the file line by line (each line capped at [`MAX_RECORD_LINE`]) and checks every complete line. A URL's
/// last line decides whether it is done.
fn scan<R: io::Read>(file: R, mut to: Found<'_>) -> io::Result<Scan> {
    scan_lines(file, |line, offset| {
        let r = serde_json::from_slice::<Resumed>(line).map_err(|e| e.to_string())?;
        to.tally.add(offset, &r.url);
        let k = key(&without_userinfo(&r.url));
        if to.warc_end.is_some_and(|end| r.unarchived(end)) {
            to.done.remove(&k);
            to.again.insert(k);
            return Ok(());
        }
        to.done.insert(k);
        to.again.remove(&k);
        if let Some(b) = to.bodies.as_deref_mut() {
            b.add(&r);
        }
        if let Some(v) = to.kept.as_deref_mut() {
            v.push(r);
        }
        Ok(())
    })
}

/// Reads records line by line (each line capped at [`MAX_RECORD_LINE`]): `each` gets every complete line (its
/// `\n` included) and where it starts, and says why it is not a record. A torn last line is left out. Shared
/// with `--since` ([`crate::output::since`]), so both accept exactly the same files.
pub(crate) fn scan_lines<R: io::Read>(
    file: R,
    mut each: impl FnMut(&[u8], u64) -> Result<(), String>,
) -> io::Result<Scan> {
    let mut reader = BufReader::with_capacity(READ_BUFFER, file);
    let mut line = Vec::new();
    let mut complete = 0u64;
    for number in 1u64.. {
        line.clear();
        let end = read_line(&mut reader, &mut line, number == 1)?;
        match end {
            // The end, or a torn last line: the rest of a record cut short by a crash (or the start of the first).
            LineEnd::Eof => return Ok(Scan::Ours(complete)),
            LineEnd::Torn => return Ok(torn_tail(&line, number, complete)),
            LineEnd::TooLong => {
                return Ok(Scan::Foreign(format!(
                    "line {number} is longer than {} MiB",
                    MAX_RECORD_LINE >> 20
                )))
            }
            LineEnd::NotARecord => {
                return Ok(Scan::Foreign(format!(
                    "line {number} does not start like a record"
                )))
            }
            LineEnd::Newline => {}
        }
        if let Err(e) = each(&line, complete) {
            return Ok(Scan::Foreign(format!(
                "line {number} is not a record: {e}{}",
                missing_hint(&e)
            )));
        }
        complete += line.len() as u64;
        if line.capacity() > READ_BUFFER * 16 {
            line.shrink_to(READ_BUFFER); // a huge record's buffer is not kept for the rest of the file
        }
    }
    unreachable!("a file has fewer than 2^64 lines")
}

/// For a line that lacks a field crawlfish reads back: most likely a `--fields` output written to stdout (an
/// `-o FILE` always keeps them), so say which fields are needed.
fn missing_hint(why: &str) -> String {
    if !why.starts_with("missing field") {
        return String::new();
    }
    format!(
        " (an output written with --fields to stdout? reading it back needs {}; -o FILE always keeps them)",
        crate::record::fields::RESUME_NEEDS.join(",")
    )
}

/// Whether `path` is a regular file that is empty or starts like a record (a cheap check before deleting a file
/// named like a finished run).
#[must_use]
pub(crate) fn looks_like_records(path: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.file_type().is_file() {
        return false;
    }
    let mut start = [0u8; RECORD_START.len()];
    let n = File::open(path)
        .and_then(|mut f| io::Read::read(&mut f, &mut start))
        .unwrap_or(0);
    n == 0 || (n == start.len() && start == *RECORD_START)
}

/// A last line without a newline is cut only when it can be a record a crash cut short: it starts like one, and
/// it is not a complete JSON value that is something else (another tool's one-line JSON, a note appended by hand).
fn torn_tail(line: &[u8], number: u64, complete: u64) -> Scan {
    if !(line.starts_with(RECORD_START) || RECORD_START.starts_with(line)) {
        return Scan::Foreign(format!(
            "its last line {number} has no newline and does not start like a record"
        ));
    }
    let complete_json = serde_json::from_slice::<serde_json::Value>(line).is_ok();
    if complete_json && serde_json::from_slice::<Resumed>(line).is_err() {
        return Scan::Foreign(format!(
            "its last line {number} is complete JSON but not a record"
        ));
    }
    Scan::Ours(complete)
}

#[derive(Debug, PartialEq, Eq)]
enum LineEnd {
    /// A complete line (ending in `\n`, kept in the buffer).
    Newline,
    /// Bytes, then the end of the file: a torn line.
    Torn,
    Eof,
    TooLong,
    /// Checked as soon as a line's first bytes are in: a line that cannot be a record stops the read at once.
    NotARecord,
}

/// Reads one line into `line`, stopping early at the cap or, with `check_start`, at a start no record has.
fn read_line<R: BufRead>(r: &mut R, line: &mut Vec<u8>, check_start: bool) -> io::Result<LineEnd> {
    let mut checked = !check_start;
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            if !checked && !RECORD_START.starts_with(line) {
                return Ok(LineEnd::NotARecord);
            }
            return Ok(if line.is_empty() {
                LineEnd::Eof
            } else {
                LineEnd::Torn
            });
        }
        let (take, newline) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if line.len() + take > MAX_RECORD_LINE + 1 {
            return Ok(LineEnd::TooLong);
        }
        line.extend_from_slice(&buf[..take]);
        r.consume(take);
        if !checked && (line.len() >= RECORD_START.len() || newline) {
            if !line.starts_with(RECORD_START) {
                return Ok(LineEnd::NotARecord);
            }
            checked = true;
        }
        if newline {
            return Ok(LineEnd::Newline);
        }
    }
}

#[cfg(test)]
mod tests;
