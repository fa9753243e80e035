//! The crawl's exact seen-set within its share of `--frontier-memory`: the compact in-memory set
//! ([`crate::url::seen`], 8 bytes a key) while it fits, then sorted runs of bare keys on disk, in the spill's
//! private directory, each with a Bloom filter and a sparse index in memory ([`run`]).
//!
//! Owns the seen keys and the run files (removed with the spill directory at exit). Exact: a key is reported new
//! only if no tier holds it; a filter's "maybe" is always confirmed on disk, and a disk error (full disk, a
//! truncated or damaged run) is kept for the frontier to report (exit 2); from then on every key counts as seen,
//! so nothing is reported twice while the run winds down.
//!
//! The share: half the budget (32 MiB at the default 64 MiB). Filters and indexes come out of it first; the
//! in-memory set gets the rest (at least [`MIN_MEMORY`]) and is written out as a new run when it passes that.
//! Filters get 10 bits a key (~1 % false positives, 1.25 bytes a URL) while they fit in half the share (13 M
//! URLs at the default budget), then fewer, down to 4 (~15 %): a false positive costs a 4 KiB `pread`, mostly
//! from the page cache, while memory is the budget. Without a spill directory (library callers, tests) the set
//! stays in memory.
//!
//! Why sorted runs merged by size (a binary counter: a new run merges with the newest runs while their total is
//! at least the next one's, in one k-way pass) and not 256 bucket files rewritten at each flush: a flush moves at
//! most the in-memory share (~3 M keys at the default budget), so rewriting every bucket at each flush would
//! write the whole set once per flush (quadratic: ~50 GB at 100 M URLs), while runs merged by size write each key
//! about log2(set / flush) times and keep at most ~log2 runs, so a lookup probes a few filters (W6S, 1 M URLs,
//! `--frontier-memory 8MiB`: 786,432 keys in 2 runs, 6.3 MB written, 8 bytes a key; peak RSS 51 MB against 63 MB
//! with the whole set in memory). Why not fjall or redb: an LSM or B-tree store keeps values, deletes and a
//! write-ahead log this set never needs, and its cache is one more memory pool outside the budget; the runs and
//! filters are ~380 lines over `crc32fast`, which the tree already has. Merges run on the scheduler's thread
//! (a merge of 10 M keys streams 80 MB in and out, under a second from the page cache); fetches in flight go on.

pub(crate) mod bloom;
pub(crate) mod run;

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crate::crawl::spill::dir::PrivateDir;
use crate::url::seen::Seen;
use run::{Run, RunReader, RunWriter};

/// The in-memory set's floor: a crawl with a budget of 0 writes runs of ~900 keys, not one per key.
const MIN_MEMORY: usize = 16 << 10;
/// Filter bits a key while the filters fit in half the share, and the least they get past it.
const BITS_PER_KEY: (u64, u64) = (10, 4);

/// An exact seen-set: in memory, then on disk past its share.
#[derive(Debug, Default)]
pub(crate) struct SeenStore {
    memory: Seen,
    runs: Vec<Run>,
    /// Where runs go; none: the set stays in memory.
    dir: Option<Arc<PrivateDir>>,
    share: usize,
    /// [`MIN_MEMORY`], smaller in tests.
    min_memory: usize,
    /// The runs' filters and indexes, in bytes.
    run_bytes: usize,
    next_run: u64,
    /// Bytes written to runs, flushes and merges, ever; keys on disk now.
    pub written: u64,
    on_disk: u64,
    broken: AtomicBool,
    failure: OnceLock<String>,
}

impl SeenStore {
    /// A set held in memory.
    #[must_use]
    pub(crate) fn new(memory: Seen) -> SeenStore {
        SeenStore {
            memory,
            share: usize::MAX,
            min_memory: MIN_MEMORY,
            ..SeenStore::default()
        }
    }

    /// Past `share` bytes of memory the keys go to runs in `dir`.
    pub(crate) fn spill_to(&mut self, dir: Arc<PrivateDir>, share: usize) {
        self.dir = Some(dir);
        self.share = share;
    }

    /// Adds a key; false if it was there already (or the set is broken: see [`SeenStore::take_failure`]).
    pub(crate) fn insert(&mut self, k: u64) -> bool {
        if self.contains(k) {
            return false;
        }
        self.memory.insert(k);
        if self.dir.is_some() && self.memory.bytes() > self.memory_limit() {
            if let Err(e) = self.flush() {
                self.fail(&e);
            }
        }
        true
    }

    /// Whether a key is in the set. A disk error counts as seen (and is kept for the frontier to report).
    #[must_use]
    pub(crate) fn contains(&self, k: u64) -> bool {
        if self.broken.load(Ordering::Relaxed) || self.memory.contains(k) {
            return true;
        }
        for run in self.runs.iter().rev() {
            match run.contains(k) {
                Ok(false) => {}
                Ok(true) => return true,
                Err(e) => {
                    self.fail(&e);
                    return true;
                }
            }
        }
        false
    }

    /// Keys held.
    #[must_use]
    pub(crate) fn len(&self) -> usize {
        self.memory.len() + self.on_disk as usize
    }

    /// Bytes held in memory: the in-memory set, the runs' filters and indexes.
    #[must_use]
    pub(crate) fn bytes(&self) -> usize {
        self.memory.bytes() + self.run_bytes
    }

    /// Runs on disk and the keys in them.
    #[must_use]
    pub(crate) fn on_disk(&self) -> (usize, u64) {
        (self.runs.len(), self.on_disk)
    }

    /// The first disk error, once: the caller stops the run.
    pub(crate) fn take_failure(&mut self) -> Option<String> {
        self.failure.take()
    }

    fn fail(&self, e: &io::Error) {
        self.broken.store(true, Ordering::Relaxed);
        let at = self.dir.as_ref().map_or_else(String::new, |d| {
            d.made().unwrap_or(d.parent()).display().to_string()
        });
        let _ = self
            .failure
            .set(format!("the seen-set's runs on disk in {at} failed: {e}"));
    }

    /// What the in-memory set may hold: the share less the runs' filters and indexes, at least [`MIN_MEMORY`].
    fn memory_limit(&self) -> usize {
        self.share
            .saturating_sub(self.run_bytes)
            .max(self.min_memory)
    }

    /// Filter bits a key for runs holding `keys` keys in all: 10 while the filters fit in half the share.
    fn bits_per_key(&self, keys: u64) -> u32 {
        let room = (self.share / 2) as u64 * 8;
        (room / keys.max(1)).clamp(BITS_PER_KEY.1, BITS_PER_KEY.0) as u32
    }

    /// Writes the in-memory set out as a new run, then merges runs by size.
    fn flush(&mut self) -> io::Result<()> {
        let Some(dir) = self.dir.clone() else {
            return Ok(());
        };
        let dir = dir.get()?;
        let n = self.memory.len() as u64;
        let bits = self.bits_per_key(self.on_disk + n);
        let mut w = RunWriter::create(self.run_path(dir), n, bits)?;
        for chunk in self.memory.take_sorted() {
            for k in chunk {
                w.push(k)?;
            }
        }
        let run = w.finish()?;
        self.on_disk += run.keys;
        self.written += run.disk_bytes();
        self.runs.push(run);
        self.compact(dir)?;
        self.run_bytes = self.runs.iter().map(Run::bytes).sum();
        Ok(())
    }

    /// Merges the newest runs while their total is at least the size of the run before them: at most ~log2
    /// runs, each key rewritten ~log2 times. One k-way pass; the inputs' filters are freed before the new one is
    /// built, and their files removed once it is in place.
    fn compact(&mut self, dir: &Path) -> io::Result<()> {
        let mut start = self.runs.len().saturating_sub(1);
        let mut total = self.runs.last().map_or(0, |r| r.keys);
        while start > 0 && self.runs[start - 1].keys <= total {
            start -= 1;
            total += self.runs[start].keys;
        }
        if start + 1 >= self.runs.len() {
            return Ok(());
        }
        let inputs: Vec<(std::path::PathBuf, u64)> = self
            .runs
            .split_off(start)
            .into_iter()
            .map(|r| (r.path, r.keys))
            .collect();
        self.run_bytes = self.runs.iter().map(Run::bytes).sum();
        let mut readers = Vec::with_capacity(inputs.len());
        for (path, keys) in &inputs {
            readers.push(RunReader::open(path.clone(), *keys)?);
        }
        let bits = self.bits_per_key(self.on_disk);
        let mut w = RunWriter::create(self.run_path(dir), total, bits)?;
        merge(&mut readers, &mut w)?;
        let run = w.finish()?;
        if run.keys != total {
            return Err(io::Error::other(format!(
                "seen-set merge: {} keys out of {total}",
                run.keys
            )));
        }
        self.written += run.disk_bytes();
        self.runs.push(run);
        for (path, _) in inputs {
            std::fs::remove_file(&path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        }
        Ok(())
    }

    fn run_path(&mut self, dir: &Path) -> std::path::PathBuf {
        self.next_run += 1;
        dir.join(format!("seen-{:08}.run", self.next_run))
    }
}

/// Streams the readers' keys into `w` in order (runs are disjoint; a repeat would be skipped by the writer).
fn merge(readers: &mut [RunReader], w: &mut RunWriter) -> io::Result<()> {
    let mut heads = Vec::with_capacity(readers.len());
    for r in readers.iter_mut() {
        heads.push(r.next_key()?);
    }
    // A handful of inputs (~log2 runs): a linear minimum beats a heap's bookkeeping.
    while let Some((i, k)) = heads
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.map(|k| (i, k)))
        .min_by_key(|&(_, k)| k)
    {
        w.push(k)?;
        heads[i] = readers[i].next_key()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
