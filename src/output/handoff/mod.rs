//! `--handoff DIR`: the links a shard finds that belong to another shard, passed to that shard through a
//! directory every shard can reach (a shared volume, NFS, a FUSE-mounted bucket). It owns DIR's layout:
//!
//! ```text
//! DIR/inbox-J/                         shard J's inbox (created by whoever writes to it first)
//! DIR/inbox-J/.I-RUN-SEQ.seg.tmp       a segment shard I is writing: never read
//! DIR/inbox-J/I-RUN-SEQ.seg            a whole segment: JSON lines {"url","depth","parent","root"}
//! ```
//!
//! Whole records only, visible at once: a segment is written under a temporary name, synced, and renamed into
//! place (a rename within one directory is atomic, on NFS too); every file has one writer and a name unique per
//! sending shard, run and sequence number; nothing is appended to a file another process reads (NFS appends are
//! not atomic). A reader takes only `*.seg` names not starting with `.`, and drops a last line without its
//! newline, so a writer killed mid-write ([`outbox`]) leaves nothing that is read as a record.
//!
//! [`outbox`] is the writer thread, [`inbox`] reads this shard's inbox at the start and polls it while the run
//! goes on. Which handed-over link is crawled, when and at which level is the scheduler's business
//! (`crawl::scheduler`); deleting the segments a run took is the app's, once their URLs are written.
//!
//! Must not decide what is crawled, nor write records.

pub(crate) mod inbox;
pub(crate) mod outbox;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// One link handed to the shard that owns its host: what a link found on one machine carries, so the owner
/// crawls it as one machine would (same depth, same parent, same scope root).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Handoff {
    /// The link, as the scheduler would queue it.
    pub url: String,
    /// Its depth: the finding page's depth + 1.
    pub depth: u32,
    /// The page it was found on (the record's `parent`).
    pub parent: String,
    /// The origin of the listed URL the crawl descends from (`--scope` is judged against its host).
    pub root: String,
}

/// A segment taken from the inbox: its path (deleted once the run has accounted for its links) and its links.
#[derive(Debug)]
pub(crate) struct Segment {
    pub path: PathBuf,
    pub links: Vec<Handoff>,
}

/// Shard `index`'s inbox in DIR.
#[must_use]
pub(crate) fn inbox_dir(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("inbox-{index}"))
}

/// This run's name part, unique per shard and run: the shard, the start time in nanoseconds and the pid (two runs
/// of one shard never share a nanosecond and a pid). Segment names are `{run}-{seq}.seg`.
#[must_use]
pub(crate) fn run_name(index: u32) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{index}-{nanos:x}-{}", std::process::id())
}

/// Whether a file name in an inbox is a whole segment (not a temporary file).
#[must_use]
pub(crate) fn is_segment(name: &str) -> bool {
    // crawlfish writes `.seg` in lower case only.
    !name.starts_with('.') && Path::new(name).extension().is_some_and(|e| e == "seg")
}

#[cfg(test)]
mod tests;
