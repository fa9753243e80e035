//! One sorted run of seen keys on disk, its Bloom filter and its sparse index.
//!
//! File: blocks of 4 KiB, each `count: u32 LE`, `crc32(keys): u32 LE`, then `count` keys as `u64 LE`, ascending
//! across the whole file; every block holds [`KEYS_PER_BLOCK`] keys but the last. The run's key count is kept in
//! memory, so a block's expected length and count are known before it is read: a truncated file, a flipped byte
//! or a block from elsewhere is an error naming the file and block, never a key reported "not seen".
//!
//! Memory per run: the filter (~10 bits a key) and the index (the first key of each block: 8 bytes a 511 keys,
//! ~0.016 bytes a key). A lookup that passes the filter is one `pread` of one block (a binary search of the index
//! finds it) and one checksum over 4 KiB (~0.3 µs).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::bloom::Bloom;

/// Bytes of a block on disk.
const BLOCK: usize = 4096;
/// Keys in a full block (8 bytes of header).
pub(crate) const KEYS_PER_BLOCK: usize = (BLOCK - 8) / 8;
/// Buffer of a run's writer and of each reader of a merge.
const BUF: usize = 1 << 16;

/// A run on disk, open for lookups.
#[derive(Debug)]
pub(crate) struct Run {
    pub path: PathBuf,
    file: File,
    pub keys: u64,
    /// First key of each block.
    index: Vec<u64>,
    filter: Bloom,
}

impl Run {
    /// Whether the run holds `k`: the filter, then (on a "maybe") the one block that would hold it.
    pub(crate) fn contains(&self, k: u64) -> io::Result<bool> {
        if !self.filter.may_contain(k) {
            return Ok(false);
        }
        let b = self.index.partition_point(|&first| first <= k);
        if b == 0 {
            return Ok(false);
        }
        let mut buf = [0u8; BLOCK];
        let keys = self.read_block(b - 1, &mut buf)?;
        // The first key not below `k` (a block holds at most 511: ~9 steps).
        let (mut lo, mut hi) = (0, keys.len() / 8);
        while lo < hi {
            let mid = lo.midpoint(hi);
            if key_at(keys, mid) < k {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo < keys.len() / 8 && key_at(keys, lo) == k)
    }

    /// Bytes of the file.
    #[must_use]
    pub(crate) fn disk_bytes(&self) -> u64 {
        file_len(self.keys)
    }

    /// Bytes held in memory (filter and index).
    #[must_use]
    pub(crate) fn bytes(&self) -> usize {
        self.filter.bytes() + self.index.capacity() * 8
    }

    /// Reads and checks block `b`; returns its keys' bytes.
    fn read_block<'a>(&self, b: usize, buf: &'a mut [u8; BLOCK]) -> io::Result<&'a [u8]> {
        let n = keys_in_block(self.keys, b);
        let len = 8 + n * 8;
        self.file
            .read_exact_at(&mut buf[..len], (b * BLOCK) as u64)
            .map_err(|e| damage(&self.path, b, &format!("truncated ({e})")))?;
        check_block(&self.path, b, &buf[..len], n)
    }
}

/// Writes a new run, keys ascending, to a temporary name; [`RunWriter::finish`] renames it into place.
#[derive(Debug)]
pub(crate) struct RunWriter {
    tmp: PathBuf,
    path: PathBuf,
    out: BufWriter<File>,
    block: Vec<u8>,
    in_block: usize,
    keys: u64,
    last: Option<u64>,
    index: Vec<u64>,
    filter: Bloom,
}

impl RunWriter {
    /// A run at `path` sized for `expected` keys, its filter at `bits_per_key`.
    pub(crate) fn create(path: PathBuf, expected: u64, bits_per_key: u32) -> io::Result<RunWriter> {
        let tmp = path.with_extension("tmp");
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| with_path(&tmp, &e))?;
        let blocks = usize::try_from(expected.div_ceil(KEYS_PER_BLOCK as u64)).unwrap_or(0);
        Ok(RunWriter {
            tmp,
            path,
            out: BufWriter::with_capacity(BUF, file),
            block: vec![0; BLOCK],
            in_block: 0,
            keys: 0,
            last: None,
            index: Vec::with_capacity(blocks),
            filter: Bloom::new(expected, bits_per_key),
        })
    }

    /// Appends a key greater than the last (an equal one is skipped: runs are disjoint sets).
    pub(crate) fn push(&mut self, k: u64) -> io::Result<()> {
        match self.last {
            Some(last) if k == last => return Ok(()),
            Some(last) if k < last => {
                return Err(io::Error::other("seen-set run: keys out of order"))
            }
            _ => {}
        }
        self.last = Some(k);
        if self.in_block == 0 {
            self.index.push(k);
        }
        let at = 8 + self.in_block * 8;
        self.block[at..at + 8].copy_from_slice(&k.to_le_bytes());
        self.in_block += 1;
        self.keys += 1;
        self.filter.insert(k);
        if self.in_block == KEYS_PER_BLOCK {
            self.end_block()?;
        }
        Ok(())
    }

    fn end_block(&mut self) -> io::Result<()> {
        let n = self.in_block;
        let len = 8 + n * 8;
        let crc = crc32fast::hash(&self.block[8..len]);
        self.block[..4].copy_from_slice(&(n as u32).to_le_bytes());
        self.block[4..8].copy_from_slice(&crc.to_le_bytes());
        self.out
            .write_all(&self.block[..len])
            .map_err(|e| with_path(&self.tmp, &e))?;
        self.in_block = 0;
        Ok(())
    }

    /// Writes the last block, renames the file into place and opens it for lookups.
    pub(crate) fn finish(mut self) -> io::Result<Run> {
        if self.in_block > 0 {
            self.end_block()?;
        }
        let tmp = self.tmp.clone();
        let file = self
            .out
            .into_inner()
            .map_err(|e| with_path(&tmp, e.error()))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| with_path(&self.path, &e))?;
        let mut index = self.index;
        index.shrink_to_fit();
        Ok(Run {
            path: self.path,
            file,
            keys: self.keys,
            index,
            filter: self.filter,
        })
    }
}

/// Reads a run's keys in order, block by block, each checked (a merge's input).
#[derive(Debug)]
pub(crate) struct RunReader {
    path: PathBuf,
    input: BufReader<File>,
    keys: u64,
    block: usize,
    buf: Vec<u8>,
    at: usize,
    end: usize,
}

impl RunReader {
    /// Opens the run at `path` that holds `keys` keys; its length must be what they take.
    pub(crate) fn open(path: PathBuf, keys: u64) -> io::Result<RunReader> {
        let file = File::open(&path).map_err(|e| with_path(&path, &e))?;
        let len = file.metadata().map_err(|e| with_path(&path, &e))?.len();
        let want = file_len(keys);
        if len != want {
            let what = format!("{len} bytes on disk, {want} written");
            return Err(damage(&path, 0, &what));
        }
        Ok(RunReader {
            path,
            input: BufReader::with_capacity(BUF, file),
            keys,
            block: 0,
            buf: vec![0; BLOCK],
            at: 0,
            end: 0,
        })
    }

    /// The next key, `None` past the last.
    pub(crate) fn next_key(&mut self) -> io::Result<Option<u64>> {
        if self.at == self.end {
            let n = keys_in_block(self.keys, self.block);
            if n == 0 {
                return Ok(None);
            }
            let len = 8 + n * 8;
            let (path, b) = (&self.path, self.block);
            self.input
                .read_exact(&mut self.buf[..len])
                .map_err(|e| damage(path, b, &format!("truncated ({e})")))?;
            check_block(path, b, &self.buf[..len], n)?;
            self.block += 1;
            (self.at, self.end) = (8, len);
        }
        let k = key_at(&self.buf[self.at..], 0);
        self.at += 8;
        Ok(Some(k))
    }
}

/// Keys in block `b` of a run of `keys` keys.
fn keys_in_block(keys: u64, b: usize) -> usize {
    let before = (b as u64).saturating_mul(KEYS_PER_BLOCK as u64);
    keys.saturating_sub(before).min(KEYS_PER_BLOCK as u64) as usize
}

/// Bytes of a run of `keys` keys.
fn file_len(keys: u64) -> u64 {
    let full = keys / KEYS_PER_BLOCK as u64;
    let rest = keys % KEYS_PER_BLOCK as u64;
    full * BLOCK as u64 + if rest > 0 { 8 + rest * 8 } else { 0 }
}

/// Checks a block's header against the `n` keys expected; returns the keys' bytes.
fn check_block<'a>(path: &Path, b: usize, block: &'a [u8], n: usize) -> io::Result<&'a [u8]> {
    let count = u32::from_le_bytes([block[0], block[1], block[2], block[3]]) as usize;
    let crc = u32::from_le_bytes([block[4], block[5], block[6], block[7]]);
    if count != n {
        return Err(damage(
            path,
            b,
            &format!("{count} keys where {n} were written"),
        ));
    }
    if crc32fast::hash(&block[8..]) != crc {
        return Err(damage(path, b, "checksum mismatch"));
    }
    Ok(&block[8..])
}

fn key_at(keys: &[u8], i: usize) -> u64 {
    let mut k = [0u8; 8];
    k.copy_from_slice(&keys[i * 8..i * 8 + 8]);
    u64::from_le_bytes(k)
}

fn damage(path: &Path, b: usize, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "seen-set run {} is damaged at block {b}: {what}",
            path.display()
        ),
    )
}

fn with_path(path: &Path, e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}
