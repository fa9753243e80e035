//! The writer: sole owner of stdout or `-o FILE`. One JSON line per record, whole lines only, flushed whenever the
//! channel is momentarily empty; `--resume` reading (torn last line dropped); broken pipe as a quiet end.
//!
//! Runs on its own thread, so a slow consumer blocks only the writer and, through the bounded channel, the crawl.
//! Must not log records or decide exit codes; it reports a [`Summary`] and how it ended.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use serde::Deserialize;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::frontier::{key, SeenSet};
use crate::record::{ErrorKind, Record};

/// Live counters for the progress bar (written by the writer and the scheduler, read by the bar).
#[derive(Debug, Default)]
pub struct Progress {
    pub written: AtomicU64,
    pub errors: AtomicU64,
    pub in_flight: AtomicU64,
}

/// What was written, for the summary line and the exit code.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub records: u64,
    /// Records with an error or a status >= 400.
    pub failed: u64,
    /// Records by status class: index 1 = 1xx … 5 = 5xx.
    pub by_class: [u64; 6],
    pub by_kind: BTreeMap<ErrorKind, u64>,
}

/// How the writer stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriterEnd {
    /// Every record received was written and flushed.
    Drained,
    /// The reader of stdout went away (`| head -1`): a normal, quiet end.
    BrokenPipe,
    /// Writing failed (disk full …): a run-level error.
    Failed(String),
}

/// A record already in the `--resume` file, as far as resuming needs it.
#[derive(Debug, Deserialize)]
pub struct Resumed {
    pub url: String,
    #[serde(default)]
    pub depth: u32,
    #[serde(default)]
    pub links: Vec<String>,
    #[serde(default)]
    pub status: Option<u16>,
}

/// The output stream and, with `--resume`, the records already in it.
pub struct Output {
    pub writer: Box<dyn Write + Send>,
    pub done: SeenSet,
    /// Records from the file that may have children to crawl (only kept when `--depth` > 0).
    pub resumed: Vec<Resumed>,
}

/// Opens stdout or `-o FILE`. With `--resume`, reads FILE, cuts a torn last line and collects the URLs done.
///
/// # Errors
/// FILE cannot be opened, read or truncated.
pub fn open(path: Option<&Path>, resume: bool, keep_links: bool) -> Result<Output> {
    let Some(path) = path else {
        return Ok(Output {
            writer: Box::new(BufWriter::with_capacity(64 * 1024, io::stdout())),
            done: SeenSet::default(),
            resumed: Vec::new(),
        });
    };
    let mut done = SeenSet::default();
    let mut resumed = Vec::new();
    let file = if resume {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .with_context(|| format!("cannot open {} for --resume", path.display()))?;
        let complete = read_done(&mut file, &mut done, keep_links.then_some(&mut resumed))
            .with_context(|| format!("cannot read {}", path.display()))?;
        file.set_len(complete)
            .with_context(|| format!("cannot cut the torn last line of {}", path.display()))?;
        file.seek(io::SeekFrom::End(0))?;
        file
    } else {
        File::create(path).with_context(|| format!("cannot write {}", path.display()))?
    };
    Ok(Output {
        writer: Box::new(BufWriter::with_capacity(64 * 1024, file)),
        done,
        resumed,
    })
}

/// Reads complete lines; returns the length of the file up to its last complete line.
fn read_done(
    file: &mut File,
    done: &mut SeenSet,
    mut resumed: Option<&mut Vec<Resumed>>,
) -> io::Result<u64> {
    let mut reader = BufReader::new(&mut *file);
    let mut line = Vec::new();
    let mut complete = 0u64;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            break; // end of file, or a torn line written by a crash: dropped.
        }
        complete += n as u64;
        match serde_json::from_slice::<Resumed>(&line) {
            Ok(r) => {
                done.insert(key(&r.url));
                if let Some(v) = resumed.as_deref_mut() {
                    v.push(r);
                }
            }
            Err(e) => tracing::warn!(error = %e, "--resume: skipping a line that is not a record"),
        }
    }
    Ok(complete)
}

/// How long the writer naps when the channel is empty while records are flowing, and how many naps in a row
/// before it parks on the channel (50 ms of silence).
const NAP: std::time::Duration = std::time::Duration::from_millis(1);
const NAPS_BEFORE_PARKING: u32 = 50;

/// Starts the writer thread. It ends when every sender is dropped (then drains and flushes) or on a write
/// failure (then it cancels the run and closes the channel so the crawl stops instead of blocking).
pub fn spawn_writer(
    mut out: Box<dyn Write + Send>,
    mut rx: mpsc::Receiver<Record>,
    progress: Arc<Progress>,
    cancel: CancellationToken,
) -> oneshot::Receiver<(Summary, WriterEnd)> {
    let (done_tx, done_rx) = oneshot::channel();
    std::thread::spawn(move || {
        let mut summary = Summary::default();
        let mut line = Vec::with_capacity(4096);
        let mut idle = 0u32;
        let end = loop {
            let record = match rx.try_recv() {
                Ok(record) => record,
                Err(TryRecvError::Empty) => {
                    // Momentarily empty: flush, so `| jq` sees what there is. Then nap instead of parking on
                    // the channel while records are flowing: a parked receiver costs every sender a thread
                    // wake-up (one per record), a 1 ms nap costs one per millisecond. Long idle: park.
                    if let Err(e) = out.flush() {
                        break fail(&e);
                    }
                    idle += 1;
                    if idle <= NAPS_BEFORE_PARKING {
                        std::thread::sleep(NAP);
                        continue;
                    }
                    match rx.blocking_recv() {
                        Some(record) => record,
                        None => break WriterEnd::Drained,
                    }
                }
                Err(TryRecvError::Disconnected) => {
                    break match out.flush() {
                        Ok(()) => WriterEnd::Drained,
                        Err(e) => fail(&e),
                    };
                }
            };
            idle = 0;
            line.clear();
            if let Err(e) = serde_json::to_writer(&mut line, &record) {
                tracing::error!(error = %e, url = %record.url, "record not serialisable");
                continue;
            }
            line.push(b'\n');
            if let Err(e) = out.write_all(&line) {
                break fail(&e);
            }
            tally(&mut summary, &record, &progress);
        };
        if end != WriterEnd::Drained {
            cancel.cancel();
            rx.close();
        }
        let _ = done_tx.send((summary, end));
    });
    done_rx
}

fn fail(e: &io::Error) -> WriterEnd {
    if e.kind() == io::ErrorKind::BrokenPipe {
        WriterEnd::BrokenPipe
    } else {
        WriterEnd::Failed(e.to_string())
    }
}

fn tally(s: &mut Summary, r: &Record, progress: &Progress) {
    s.records += 1;
    progress.written.fetch_add(1, Ordering::Relaxed);
    if r.is_failure() {
        s.failed += 1;
        progress.errors.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(status) = r.status {
        s.by_class[usize::from(status / 100).min(5)] += 1;
    }
    if let Some(e) = &r.error {
        *s.by_kind.entry(e.kind).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_cuts_the_torn_line() {
        let dir = std::env::temp_dir().join(format!("crawlfish-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.jsonl");
        std::fs::write(
            &path,
            "{\"url\":\"http://a.test/1\",\"depth\":0}\nnot json\n{\"url\":\"http://a.test/2\",\"de",
        )
        .unwrap();
        let out = open(Some(&path), true, true).unwrap();
        drop(out.writer);
        assert!(out.done.contains(&key("http://a.test/1")));
        assert!(!out.done.contains(&key("http://a.test/2")));
        assert_eq!(out.resumed.len(), 1);
        let left = std::fs::read_to_string(&path).unwrap();
        assert!(left.ends_with("not json\n"), "{left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
