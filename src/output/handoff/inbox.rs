//! This shard's inbox: the segments other shards (and this shard's earlier runs) wrote to `DIR/inbox-I/`, read
//! once before the crawl starts and then polled while it runs.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use tokio::sync::mpsc;

use super::{is_segment, Handoff, Segment};

/// How often a running shard lists its inbox. A listing is one `readdir` on the shared volume (cheap even on NFS at
/// this pace), and a second is small beside a page's round trip, so links handed over while both shards run are
/// taken in the same run.
pub(crate) const POLL: Duration = Duration::from_secs(1);
/// A segment bigger than this is left alone (with a warning): crawlfish writes at most ~1.5 MB ones, and a reader
/// holds one whole segment in memory.
const MAX_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
/// Segments taken in one listing at most; the rest wait for the next poll (the scheduler takes them as it can).
const MAX_PER_SCAN: usize = 256;

/// The inbox of this run: which segments it has taken, and its own run's name (its own segments, links it put back
/// for the next run, are never taken by the run that wrote them).
#[derive(Debug)]
pub(crate) struct Inbox {
    dir: PathBuf,
    own_run: String,
    taken: HashSet<OsString>,
}

impl Inbox {
    /// The inbox `dir` (created if missing, so a bad DIR fails the run before anything is fetched).
    pub(crate) fn open(dir: PathBuf, own_run: &str) -> io::Result<Inbox> {
        fs::create_dir_all(&dir)?;
        Ok(Inbox {
            dir,
            own_run: format!("{own_run}-"),
            taken: HashSet::new(),
        })
    }

    /// Segments not taken yet, oldest name first, at most [`MAX_PER_SCAN`]. A segment that cannot be read is
    /// skipped with a warning and tried again at the next poll.
    pub(crate) fn scan(&mut self) -> io::Result<Vec<Segment>> {
        let mut names: Vec<OsString> = fs::read_dir(&self.dir)?
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .filter(|n| {
                n.to_str()
                    .is_some_and(|s| is_segment(s) && !s.starts_with(&self.own_run))
                    && !self.taken.contains(n)
            })
            .collect();
        names.sort();
        names.truncate(MAX_PER_SCAN);
        let mut out = Vec::new();
        for name in names {
            let path = self.dir.join(&name);
            match read_segment(&path) {
                Ok(links) => {
                    self.taken.insert(name);
                    out.push(Segment { path, links });
                }
                Err(e) => tracing::warn!("--handoff: skipping {}: {e}", path.display()),
            }
        }
        Ok(out)
    }
}

/// A segment's links. A line that is not a handoff (or a last line without its newline) is dropped with a warning:
/// crawlfish never writes one, so it is damage, and the rest of the segment is still good.
///
/// Only a regular file is read, opened without following a symlink, and never past [`MAX_SEGMENT_BYTES`] whatever
/// its size said: the directory is shared, and a FIFO there hung the run, a symlink to `/dev/zero` grew memory
/// without bound (both found by the attack run).
fn read_segment(path: &std::path::Path) -> io::Result<Vec<Handoff>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let meta = fs::symlink_metadata(path)?;
    if !meta.file_type().is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    if meta.len() > MAX_SEGMENT_BYTES {
        return Err(io::Error::other(format!(
            "{} bytes, more than a segment ever holds ({MAX_SEGMENT_BYTES})",
            meta.len()
        )));
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_SEGMENT_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SEGMENT_BYTES {
        return Err(io::Error::other("grew past the most a segment ever holds"));
    }
    Ok(parse_segment(&bytes, &path.display().to_string()))
}

/// The handoffs of a segment's bytes; `name` is for the warnings.
pub(crate) fn parse_segment(bytes: &[u8], name: &str) -> Vec<Handoff> {
    let mut pieces: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    // After the last newline: empty for a whole segment, a torn line otherwise.
    if pieces.pop().is_some_and(|torn| !torn.is_empty()) {
        tracing::warn!("--handoff: {name}: last line has no newline; dropped");
    }
    let mut bad = 0u64;
    let links = pieces
        .into_iter()
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            let parsed = serde_json::from_slice::<Handoff>(l).ok();
            bad += u64::from(parsed.is_none());
            parsed
        })
        .collect();
    if bad > 0 {
        tracing::warn!("--handoff: {name}: {bad} lines are not handoffs; dropped");
    }
    links
}

/// Polls `inbox` every [`POLL`] and sends what it finds, until `stop`'s sender is dropped or the scheduler stops
/// listening. Runs on its own thread: listing and reading a shared volume may block.
pub(crate) fn spawn_poller(
    mut inbox: Inbox,
    tx: mpsc::Sender<Segment>,
    stop: Receiver<()>,
) -> io::Result<()> {
    std::thread::Builder::new()
        .name("handoff-inbox".into())
        .spawn(move || loop {
            match stop.recv_timeout(POLL) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
            let segments = match inbox.scan() {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("--handoff: cannot list {}: {e}", inbox.dir.display());
                    continue;
                }
            };
            for segment in segments {
                if tx.blocking_send(segment).is_err() {
                    return;
                }
            }
        })?;
    Ok(())
}
