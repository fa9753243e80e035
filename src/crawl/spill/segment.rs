//! One spill segment: an append-only file of queued jobs, each record checksummed.
//!
//! Record: `len: u32 LE`, `crc32(payload): u32 LE`, payload = `depth u32`, `root u32` (an index into the spill's
//! root table), `url` (u32 length + bytes), `parent tag u8` (0 none, 1 the previous record's parent, 2 given: u32
//! length + bytes; its top bit set for a `--check-links` job that is only checked). Links of one page are queued together, so "same parent as before" makes the parent cost one
//! byte for all but the first (measured: 45 bytes a leaf URL at W6 instead of 83).
//!
//! Reading checks every length and checksum: a torn or corrupt record is an error naming the file and offset,
//! never a skipped job.

/// The parent tag's top bit: a `--check-links` job.
const CHECK: u8 = 0x80;

use crate::input::read_full;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Longest payload accepted when reading: URLs are far shorter; a bigger length is damage, not a record.
const MAX_PAYLOAD: u32 = 1 << 20;
/// Buffer of a segment's writer and reader.
const BUF: usize = 1 << 18;

/// One job as stored: what is needed to rebuild it (the host is derived from the URL again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored {
    pub depth: u32,
    pub root: u32,
    pub url: String,
    pub parent: Option<Arc<str>>,
    /// `--check-links`: only checked, never parsed (the parent tag's top bit).
    pub check: bool,
}

/// Appends records to one segment file.
#[derive(Debug)]
pub(crate) struct SegWriter {
    pub path: PathBuf,
    out: BufWriter<File>,
    last_parent: Option<Arc<str>>,
    pub bytes: u64,
    buf: Vec<u8>,
}

impl SegWriter {
    pub(crate) fn create(path: PathBuf) -> io::Result<SegWriter> {
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| with_path(&path, &e))?;
        Ok(SegWriter {
            path,
            out: BufWriter::with_capacity(BUF, file),
            last_parent: None,
            bytes: 0,
            buf: Vec::with_capacity(256),
        })
    }

    pub(crate) fn append(
        &mut self,
        depth: u32,
        root: u32,
        url: &str,
        parent: Option<&Arc<str>>,
        check: bool,
    ) -> io::Result<()> {
        let b = &mut self.buf;
        b.clear();
        b.extend_from_slice(&depth.to_le_bytes());
        b.extend_from_slice(&root.to_le_bytes());
        put_str(b, url);
        let flag = if check { CHECK } else { 0 };
        match parent {
            None => b.push(flag),
            Some(p)
                if self
                    .last_parent
                    .as_ref()
                    .is_some_and(|l| Arc::ptr_eq(l, p) || **l == **p) =>
            {
                b.push(1 | flag);
            }
            Some(p) => {
                b.push(2 | flag);
                put_str(b, p);
                self.last_parent = Some(p.clone());
            }
        }
        let len = u32::try_from(b.len()).map_err(|_| io::Error::other("spill record too long"))?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&crc32fast::hash(b).to_le_bytes())?;
        self.out.write_all(b)?;
        self.bytes += 8 + u64::from(len);
        Ok(())
    }

    /// Writes out what is buffered and closes the file (the segment may then be read).
    pub(crate) fn finish(mut self) -> io::Result<PathBuf> {
        // A full disk shows here first (the buffer's last write): the message names the segment.
        self.out.flush().map_err(|e| with_path(&self.path, &e))?;
        Ok(self.path)
    }
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    // URLs are capped far below 4 GiB by the parser's input; a longer one would be cut, never wrapped.
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(&s.as_bytes()[..len as usize]);
}

/// Reads one segment's records in order.
#[derive(Debug)]
pub(crate) struct SegReader {
    pub path: PathBuf,
    input: BufReader<File>,
    offset: u64,
    last_parent: Option<Arc<str>>,
    buf: Vec<u8>,
}

impl SegReader {
    pub(crate) fn open(path: PathBuf) -> io::Result<SegReader> {
        let file = File::open(&path).map_err(|e| with_path(&path, &e))?;
        let input = BufReader::with_capacity(BUF, file);
        Ok(SegReader {
            path,
            input,
            offset: 0,
            last_parent: None,
            buf: Vec::with_capacity(256),
        })
    }

    /// The next record, `None` at the clean end of the file.
    pub(crate) fn next(&mut self) -> io::Result<Option<Stored>> {
        let mut head = [0u8; 8];
        match read_full(&mut self.input, &mut head)? {
            0 => return Ok(None),
            8 => {}
            _ => return Err(self.damage("truncated record header")),
        }
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len > MAX_PAYLOAD {
            return Err(self.damage("impossible record length"));
        }
        self.buf.resize(len as usize, 0);
        if read_full(&mut self.input, &mut self.buf)? != len as usize {
            return Err(self.damage("truncated record"));
        }
        if crc32fast::hash(&self.buf) != crc {
            return Err(self.damage("checksum mismatch"));
        }
        let stored = self
            .decode()
            .ok_or_else(|| self.damage("malformed record"))?;
        self.offset += 8 + u64::from(len);
        Ok(Some(stored))
    }

    fn decode(&mut self) -> Option<Stored> {
        let mut p = Payload(&self.buf);
        let depth = p.u32()?;
        let root = p.u32()?;
        let url = p.str()?.to_owned();
        let tag = p.byte()?;
        let parent = match tag & !CHECK {
            0 => None,
            1 => Some(self.last_parent.clone()?),
            2 => {
                let s: Arc<str> = Arc::from(p.str()?);
                self.last_parent = Some(s.clone());
                Some(s)
            }
            _ => return None,
        };
        p.0.is_empty().then_some(Stored {
            depth,
            root,
            url,
            parent,
            check: tag & CHECK != 0,
        })
    }

    fn damage(&self, what: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "spill segment {} is damaged at byte {}: {what}",
                self.path.display(),
                self.offset
            ),
        )
    }
}

struct Payload<'a>(&'a [u8]);

impl<'a> Payload<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).ok()
    }
}

/// The error, naming the segment (a spill error must say which file).
fn with_path(path: &Path, e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Removes a fully read segment.
pub(crate) fn remove(path: &Path) -> io::Result<()> {
    std::fs::remove_file(path).map_err(|e| with_path(path, &e))
}
