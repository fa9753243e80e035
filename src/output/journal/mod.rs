//! The links journal beside a crawl's `-o FILE` (`FILE.links`, or `current.jsonl.links` in `--state DIR`): for
//! every record, the links its page put in the frontier for the first time, so `--resume` can rebuild the queue
//! without the `links` field (`--no-links`, `--fields` without `links`) and without reading every link of FILE.
//!
//! Written by the writer thread only ([`Writer`], through [`crate::output::sink`]): a batch of entries is written
//! **before** the batch of record lines it belongs to, so a record in FILE always has its entry in the journal.
//! A `kill -9` keeps that order (both writes are in the page cache of the one kernel); after a power loss only
//! `fsync` of the journal before each record write would, which is not done (it would cost a disk flush per
//! batch). A power loss can so leave records without entries: the check below then refuses the journal.
//!
//! Format (little endian): a 16-byte header ([`MAGIC`], the version, reserved), then entries, each
//! `len: u32, xxh3-64 of body: u64, body`; a body is `offset of the record's line in FILE: u64, depth: u32,
//! first body digest: u128 (0: none), url: str, count: u32, count × link: str` where a `str` is `len: u32, bytes` and a link's length has its top bit
//! set when the link is only to be checked (`--check-links`). 48 bytes a record plus its URL, and each discovered URL
//! once (its bytes and 4).
//!
//! Reading it back ([`check`]) proves it belongs to FILE: the entries whose record starts before FILE's end of
//! complete records must be exactly FILE's lines, in order (their count and a hash chained over each line's
//! offset and `url`). Entries past that end belong to records a kill cut off, and are cut; a torn or damaged
//! entry is accepted only there. Anything else is refused naming the journal: nothing is silently skipped.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::record::Record;

/// The journal's first bytes.
pub(crate) const MAGIC: &[u8; 8] = b"CFLINKS\n";
/// The format written and the only one read.
pub(crate) const VERSION: u32 = 1;
const HEADER: usize = 16;
/// The header's last word when the journal is sealed ([`seal()`]): a complete run's, cut to the header and the seal.
const SEALED: u32 = 1;
/// The seal after a sealed header: the count and chain ([`Tally`]) of FILE's records it stands for.
const SEAL: usize = 16;
/// The top bit of a link's length: the link is only to be checked.
pub(crate) const CHECK_BIT: u32 = 1 << 31;
/// An entry longer than this is damage: the cap of a record line (64 MiB, `output::resume`), not imported from
/// there, which imports [`Tally`] from here.
const MAX_ENTRY: usize = 64 << 20;

/// Refuses a journal path that is there but is not a regular file (a symlink, FIFO, device, directory), before
/// FILE is touched: writing through a link would overwrite another file, opening a FIFO would block the run.
///
/// # Errors
/// It is not a regular file.
pub(crate) fn refuse_odd(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => bail!(
            "the links journal {} is not a regular file (a symlink, FIFO, device or directory): refusing to read \
             or write through it; move it away",
            path.display()
        ),
        _ => Ok(()),
    }
}

/// The journal at `path` opened for writing without changing a byte (created when missing and `create`; `None`
/// when missing otherwise), never through a symlink nor blocking on a FIFO, and locked for the run like FILE
/// (named as `flag`): a second run given it as its own `-o` exits 75 instead of truncating it.
///
/// # Errors
/// It cannot be opened, is not a regular file, or another run holds it ([`crate::output::file::Busy`]).
pub(crate) fn open_locked(path: &Path, flag: &str, create: bool) -> Result<Option<File>> {
    use std::os::unix::fs::OpenOptionsExt as _;
    refuse_odd(path)?;
    let file = match OpenOptions::new()
        .write(true)
        .create(create)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => return Ok(None),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot open the links journal {}", path.display()))
        }
    };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        refuse_odd(path)?; // replaced between the check and the open
        bail!("the links journal {} is not a regular file", path.display());
    }
    crate::output::file::lock(&file, path, flag)?;
    Ok(Some(file))
}

/// The journal's path for the record file `file`: `file` with `.links` appended.
#[must_use]
pub(crate) fn path_for(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".links");
    PathBuf::from(name)
}

/// What FILE's lines add up to, chained in order: the journal's entries before FILE's end must give the same.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    pub lines: u64,
    pub chain: u64,
}

impl Tally {
    /// Adds the record line at `offset` whose `url` is as written.
    pub(crate) fn add(&mut self, offset: u64, url: &str) {
        self.lines += 1;
        self.chain = xxh3_64_with_seed(url.as_bytes(), self.chain ^ offset.rotate_left(29));
    }
}

/// The journal as the writer thread appends to it.
pub(crate) struct Writer {
    file: File,
    name: String,
    buf: Vec<u8>,
}

impl Writer {
    /// A new journal in `file` (held by [`open_locked`] at `path`; what it held is dropped): header only.
    ///
    /// # Errors
    /// The file cannot be cut or written.
    pub(crate) fn start(mut file: File, path: &Path) -> Result<Writer> {
        let mut header = [0u8; HEADER];
        header[..8].copy_from_slice(MAGIC);
        header[8..12].copy_from_slice(&VERSION.to_le_bytes());
        file.set_len(0)
            .and_then(|()| file.write_all(&header))
            .with_context(|| format!("cannot write the links journal {}", path.display()))?;
        Ok(Writer::over(file, path))
    }

    /// The checked journal in `file` (held at `path`), cut to `end` (what [`check`] kept) and appended to.
    ///
    /// # Errors
    /// The file cannot be cut.
    pub(crate) fn resume(mut file: File, path: &Path, end: u64) -> Result<Writer> {
        file.set_len(end)
            .and_then(|()| file.seek(SeekFrom::Start(end)).map(drop))
            .with_context(|| format!("cannot cut the links journal {}", path.display()))?;
        Ok(Writer::over(file, path))
    }

    /// [`Writer::start`] on a journal opened at `path` (tests and the model).
    #[cfg(test)]
    pub(crate) fn create(path: &Path) -> Result<Writer> {
        let file = open_locked(path, "-o", true)?.context("created")?;
        Writer::start(file, path)
    }

    /// [`Writer::resume`] on a journal opened at `path` (tests).
    #[cfg(test)]
    pub(crate) fn append(path: &Path, end: u64) -> Result<Writer> {
        let file = open_locked(path, "-o", false)?.context("there")?;
        Writer::resume(file, path, end)
    }

    fn over(file: File, path: &Path) -> Writer {
        Writer {
            file,
            name: path.display().to_string(),
            buf: Vec::new(),
        }
    }

    /// Buffers the entry of `record`, whose line starts at `offset` in FILE.
    pub(crate) fn add(&mut self, offset: u64, record: &Record) {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0u8; 12]);
        self.buf.extend_from_slice(&offset.to_le_bytes());
        self.buf.extend_from_slice(&record.depth.to_le_bytes());
        self.buf
            .extend_from_slice(&first_body(record).unwrap_or(0).to_le_bytes());
        put_str(&mut self.buf, record.url.as_bytes(), 0);
        let links = record
            .queued
            .iter()
            .filter_map(|&q| record.link_at(q & !CHECK_BIT).map(|l| (l, q & CHECK_BIT)));
        let count_at = self.buf.len();
        self.buf.extend_from_slice(&[0u8; 4]);
        let mut count = 0u32;
        for (link, check) in links {
            put_str(&mut self.buf, link.as_bytes(), check);
            count += 1;
        }
        self.buf[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes());
        let body = &self.buf[start + 12..];
        let (len, sum) = (u32::try_from(body.len()).unwrap_or(u32::MAX), xxh3_64(body));
        self.buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
        self.buf[start + 4..start + 12].copy_from_slice(&sum.to_le_bytes());
    }

    /// Writes the buffered entries: called before the record lines they belong to are written.
    ///
    /// # Errors
    /// The write failed (the record lines must then not be written).
    pub(crate) fn write(&mut self) -> Result<(), String> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(&self.buf)
            .map_err(|e| format!("cannot write the links journal {}: {e}", self.name))?;
        self.buf.clear();
        self.buf.shrink_to(1 << 20);
        Ok(())
    }
}

/// The record's body digest when its page entered the duplicate rule's table as the first with that body (a
/// page reported as a duplicate, or rendered, did not): `--resume` puts it back there.
fn first_body(record: &Record) -> Option<u128> {
    if record.duplicate_of.is_some() || record.rendered == Some(true) {
        return None;
    }
    crate::digest::parse(record.digest.as_deref()?)
}

fn put_str(buf: &mut Vec<u8>, s: &[u8], bits: u32) {
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX) & !CHECK_BIT;
    buf.extend_from_slice(&(len | bits).to_le_bytes());
    buf.extend_from_slice(s);
}

/// One record's entry: its page, depth and the links it queued first (`true`: only to be checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub offset: u64,
    pub depth: u32,
    /// The page's body digest when it was the first with that body (the duplicate rule's table).
    pub first_body: Option<u128>,
    pub url: String,
    pub links: Vec<(String, bool)>,
}

/// The checked journal: replay its entries up to `end` (all of them belong to records in FILE).
#[derive(Debug, Clone)]
pub(crate) struct Replay {
    pub path: PathBuf,
    /// Where the entries start (after the header and a seal).
    pub start: u64,
    pub end: u64,
}

mod read;
mod seal;
pub(crate) use read::{check, entries};
pub(crate) use seal::seal;

#[cfg(test)]
mod tests;
