//! The frontier's disk spill (`--frontier-memory`, `--spill-dir`): queued jobs past the memory budget, kept in
//! append-only, checksummed segment files, one chain per depth, read back first in, first out.
//!
//! Owns the spill directory (created at the first spilled job, so a crawl that fits never touches disk; removed
//! when the spill is dropped) and its segments. Must not decide what is queued or dispatched (the frontier does),
//! and must not hold the seen-set.
//!
//! Why per depth: breadth-first dispatch only ever takes from the open level, so a chain per depth is read from
//! its head while deeper levels are appended at their tails; the dispatcher never scans the disk for a ready
//! host: the frontier moves bounded batches from the open level's chain into its per-host queues.

pub(crate) mod dir;
pub(crate) mod segment;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dir::PrivateDir;

use url::Url;

use crate::crawl::job::Job;
use crate::url::host_key;
use crate::url::scope::Root;
use segment::{SegReader, SegWriter};

/// A segment is closed (and a new one begun) past this size, so read segments can be deleted as the crawl goes
/// (disk use follows what is still queued, not what was ever spilled).
const SEGMENT_BYTES: u64 = 16 << 20;

/// One depth's chain of segments.
#[derive(Debug, Default)]
struct Level {
    /// Written and closed, not yet read: oldest first.
    closed: VecDeque<PathBuf>,
    writing: Option<SegWriter>,
    reading: Option<SegReader>,
    /// Jobs of this depth on disk, not yet taken.
    len: usize,
}

/// The spill: per-depth segment chains under one private directory.
#[derive(Debug)]
pub(crate) struct Spill {
    /// Shared with the seen-set's runs ([`crate::crawl::seen`]): removed when the last of the two is dropped.
    dir: Arc<PrivateDir>,
    levels: Vec<Level>,
    /// Roots of spilled jobs, by index: a root is shared by every job that descends from its listed URL (and
    /// carries what the polite path learned about it), so it stays in memory and the record holds its index.
    roots: Vec<Arc<Root>>,
    root_ids: HashMap<usize, u32>,
    next_segment: u64,
    /// [`SEGMENT_BYTES`], smaller in tests.
    segment_bytes: u64,
    /// Bytes written to segments, all levels, ever (for the report's bytes per URL).
    pub written: u64,
    /// Jobs spilled, ever.
    pub spilled: u64,
}

impl Spill {
    /// A spill whose directory will be made inside `parent` when the first job is spilled.
    #[must_use]
    pub(crate) fn new(parent: PathBuf) -> Spill {
        Spill {
            dir: Arc::new(PrivateDir::new(parent)),
            levels: Vec::new(),
            roots: Vec::new(),
            root_ids: HashMap::new(),
            next_segment: 0,
            segment_bytes: SEGMENT_BYTES,
            written: 0,
            spilled: 0,
        }
    }

    /// Jobs of `depth` waiting on disk.
    #[must_use]
    pub(crate) fn len(&self, depth: u32) -> usize {
        self.levels.get(depth as usize).map_or(0, |l| l.len)
    }

    /// Appends a job to its depth's chain.
    pub(crate) fn push(&mut self, job: &Job) -> io::Result<()> {
        let root = self.root_id(&job.root);
        let d = job.depth as usize;
        if self.levels.len() <= d {
            self.levels.resize_with(d + 1, Level::default);
        }
        if self.levels[d].writing.is_none() {
            let path = self.segment_path(job.depth)?;
            self.levels[d].writing = Some(SegWriter::create(path)?);
        }
        let level = &mut self.levels[d];
        let Some(w) = level.writing.as_mut() else {
            return Err(io::Error::other("spill: no segment open"));
        };
        let before = w.bytes;
        w.append(
            job.depth,
            root,
            job.url.as_str(),
            job.parent.as_ref(),
            job.check,
        )?;
        self.written += w.bytes - before;
        self.spilled += 1;
        level.len += 1;
        if w.bytes >= self.segment_bytes {
            if let Some(w) = level.writing.take() {
                level.closed.push_back(w.finish()?);
            }
        }
        Ok(())
    }

    /// Takes up to `max` jobs of `depth`, oldest first. Read segments are deleted.
    pub(crate) fn take(&mut self, depth: u32, max: usize) -> io::Result<Vec<Job>> {
        let mut out = Vec::with_capacity(max.min(self.len(depth)));
        let Some(level) = self.levels.get_mut(depth as usize) else {
            return Ok(out);
        };
        // Bounded: each turn takes a job or finishes a segment, and there are `len` jobs in finitely many segments.
        while out.len() < max && level.len > 0 {
            let Some(reader) = level.reading.as_mut() else {
                let path = match level.closed.pop_front() {
                    Some(p) => p,
                    None => match level.writing.take() {
                        Some(w) => w.finish()?,
                        None => return Err(lost(depth, level.len)),
                    },
                };
                level.reading = Some(SegReader::open(path)?);
                continue;
            };
            match reader.next()? {
                Some(stored) => {
                    level.len -= 1;
                    let job = rebuild(stored, &self.roots).map_err(|e| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("{}: {e}", reader.path.display()),
                        )
                    })?;
                    out.push(job);
                }
                None => {
                    if let Some(r) = level.reading.take() {
                        segment::remove(&r.path)?;
                    }
                }
            }
        }
        if level.len == 0 {
            // Read to its last job: the segment is done with even before its end is seen.
            if let Some(r) = level.reading.take() {
                segment::remove(&r.path)?;
            }
        }
        Ok(out)
    }

    /// Where the spill directory is (to be) made.
    #[must_use]
    pub(crate) fn parent(&self) -> &Path {
        self.dir.parent()
    }

    /// The spill directory, once made.
    #[must_use]
    pub(crate) fn dir(&self) -> Option<&Path> {
        self.dir.made()
    }

    /// The spill directory's handle, for the seen-set's runs.
    #[must_use]
    pub(crate) fn shared_dir(&self) -> Arc<PrivateDir> {
        self.dir.clone()
    }

    fn root_id(&mut self, root: &Arc<Root>) -> u32 {
        let ptr = Arc::as_ptr(root) as usize;
        *self.root_ids.entry(ptr).or_insert_with(|| {
            self.roots.push(root.clone());
            u32::try_from(self.roots.len() - 1).unwrap_or(u32::MAX)
        })
    }

    fn segment_path(&mut self, depth: u32) -> io::Result<PathBuf> {
        let dir = self.dir.get()?;
        self.next_segment += 1;
        Ok(dir.join(format!("d{depth:04}-{:08}.seg", self.next_segment)))
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        // Open segments are closed before the directory (dropped with the last handle) is removed.
        self.levels.clear();
    }
}

fn lost(depth: u32, n: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("spill: {n} jobs of depth {depth} missing from its segments"),
    )
}

fn rebuild(stored: segment::Stored, roots: &[Arc<Root>]) -> Result<Job, String> {
    let url = Url::parse(&stored.url).map_err(|e| format!("stored URL {:?}: {e}", stored.url))?;
    let root = roots
        .get(stored.root as usize)
        .ok_or_else(|| format!("unknown root {}", stored.root))?
        .clone();
    Ok(Job {
        host: host_key(&url).into(),
        url,
        depth: stored.depth,
        parent: stored.parent,
        root,
        check: stored.check,
    })
}

#[cfg(test)]
mod tests;
