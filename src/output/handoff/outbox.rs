//! The handoff writer: one thread that gathers handed-over links per receiving shard and writes them as whole
//! segments (temporary name, `fsync`, rename, directory `fsync`), so a shard killed at any moment leaves at most a
//! `.tmp` file that no reader takes.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{inbox_dir, Handoff};

/// Links buffered per receiving shard before a segment is written (~150 bytes a line: ~1.5 MB a segment). Bigger
/// segments mean fewer files on a shared volume; a reader holds one whole segment in memory at a time.
const SEGMENT_LINES: usize = 10_000;
/// A partial segment is written after this long without reaching [`SEGMENT_LINES`], so shards running at the same
/// time see each other's links within about a second (and a quiet run leaves nothing buffered for long).
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Links waiting for the thread at most: the scheduler waits when it is full (the volume is slower than the
/// crawl), which bounds memory as the record channel does.
const CHANNEL: usize = 65_536;

/// The scheduler's end of the outbox: hands a link to shard `to`.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    tx: SyncSender<(u32, Handoff)>,
}

impl Outbox {
    /// Queues `link` for shard `to`. False when the thread is gone (it failed; its end says why).
    pub(crate) fn send(&self, to: u32, link: Handoff) -> bool {
        self.tx.send((to, link)).is_ok()
    }
}

/// What the writer did, once every [`Outbox`] is dropped and it has written what was left.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct OutboxEnd {
    /// Segments written.
    pub segments: u64,
    /// Links written in them.
    pub links: u64,
    /// The first write that failed (the links of that segment and all later ones are lost).
    pub failed: Option<String>,
}

/// Starts the writer for links leaving this run (`run` from [`super::run_name`]).
pub(crate) fn spawn(dir: PathBuf, run: String) -> io::Result<(Outbox, JoinHandle<OutboxEnd>)> {
    let (tx, rx) = mpsc::sync_channel::<(u32, Handoff)>(CHANNEL);
    let thread = std::thread::Builder::new()
        .name("handoff".into())
        .spawn(move || {
            let mut w = Writer {
                dir,
                run,
                seq: 0,
                buffers: BTreeMap::new(),
                end: OutboxEnd::default(),
            };
            loop {
                match rx.recv_timeout(FLUSH_EVERY) {
                    Ok((to, link)) => w.add(to, &link),
                    Err(RecvTimeoutError::Timeout) => w.flush_all(),
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            w.flush_all();
            w.end
        })?;
    Ok((Outbox { tx }, thread))
}

struct Writer {
    dir: PathBuf,
    run: String,
    seq: u64,
    /// Lines waiting per receiving shard, and their count.
    buffers: BTreeMap<u32, (Vec<u8>, usize)>,
    end: OutboxEnd,
}

impl Writer {
    fn add(&mut self, to: u32, link: &Handoff) {
        let (buf, n) = self.buffers.entry(to).or_default();
        if serde_json::to_writer(&mut *buf, link).is_ok() {
            buf.push(b'\n');
            *n += 1;
        }
        if *n >= SEGMENT_LINES {
            self.flush(to);
        }
    }

    fn flush_all(&mut self) {
        let full: Vec<u32> = self
            .buffers
            .iter()
            .filter(|(_, (_, n))| *n > 0)
            .map(|(&to, _)| to)
            .collect();
        for to in full {
            self.flush(to);
        }
    }

    fn flush(&mut self, to: u32) {
        let Some((buf, n)) = self.buffers.remove(&to) else {
            return;
        };
        if n == 0 || self.end.failed.is_some() {
            return;
        }
        self.seq += 1;
        let name = format!("{}-{:06}.seg", self.run, self.seq);
        match write_segment(&inbox_dir(&self.dir, to), &name, &buf) {
            Ok(()) => {
                self.end.segments += 1;
                self.end.links += n as u64;
            }
            Err(e) => {
                let msg = format!("--handoff: cannot write {name} to shard {to}'s inbox: {e}");
                tracing::error!("{msg}");
                self.end.failed = Some(msg);
            }
        }
    }
}

/// Writes `bytes` as `inbox/name`: to `.name.tmp` first (created new: one writer per file), synced, renamed, and
/// the directory synced so the rename survives a crash. A temporary file left by a failure is removed.
pub(crate) fn write_segment(inbox: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    fs::create_dir_all(inbox)?;
    let tmp = inbox.join(format!(".{name}.tmp"));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| fs::rename(&tmp, inbox.join(name)));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // Some file systems (and FUSE mounts) cannot sync a directory; the segment is whole either way.
    let _ = File::open(inbox).and_then(|d| d.sync_all());
    Ok(())
}
