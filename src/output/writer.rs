//! The writer: sole owner of stdout or `-o FILE`. One JSON line per record, whole lines only, written whenever the
//! channel is momentarily empty; `--resume` files are checked and read by [`super::resume`], bytes go through
//! [`super::sink`] (which cuts a failed write back to whole records); broken pipe as a quiet end.
//!
//! Runs on its own thread, so a slow consumer blocks only the writer and, through the bounded channel, the crawl.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::input::FileId;
use crate::output::journal;
use crate::output::sink::Sink;
use crate::output::{Progress, Requeue, Summary, WriterEnd};
use crate::record::Record;
use crate::url::key::SeenSet;

/// The output stream and, with `--resume`, the records already in it.
pub(crate) struct Output {
    pub writer: Sink,
    pub done: SeenSet,
    /// What a resumed crawl queues again: the links journal's entries, or (FILE written before journals) the
    /// records that may have children to crawl (only kept when `--depth` > 0).
    pub requeue: Requeue,
    /// FILE's identity (same device and inode), to tell it from `--warc`'s; `None` for stdout and devices.
    pub id: Option<FileId>,
    /// FILE did not exist and was created (its real path), so a run refused before it starts can remove it.
    pub created: Option<PathBuf>,
    /// A second handle on FILE, so the run's lock on it outlives the writer thread (`--state` holds it until
    /// `current.jsonl` is renamed); `None` for stdout and devices.
    pub hold: Option<File>,
    /// The change not made yet: FILE cut to this length (0 without `--resume`), by [`Output::commit`].
    cut: Option<Cut>,
    /// Crawl mode with FILE: the links journal beside it (removed by the run once complete).
    pub journal: Option<PathBuf>,
    /// The journal already there, opened unchanged and locked for the run (a fresh one is made by `commit`).
    journal_file: Option<File>,
    /// How FILE was named on the command line (`-o`, `--state`), for the messages of a fresh journal.
    flag: String,
}

struct Cut {
    file: File,
    len: u64,
    name: String,
    resume: bool,
}

impl Output {
    /// Makes the first change to FILE: truncates it, or with `--resume` cuts its torn last line. Called once every
    /// file of the run is open and checked, so a usage error never touches FILE.
    ///
    /// # Errors
    /// FILE cannot be truncated.
    pub(crate) fn commit(&mut self) -> Result<()> {
        let Some(cut) = self.cut.take() else {
            return Ok(());
        };
        if cut.resume {
            crate::output::resume::cut_torn_line(&cut.file, cut.len, &cut.name)?;
        } else {
            cut.file
                .set_len(0)
                .with_context(|| format!("cannot write {}", cut.name))?;
        }
        if let Some(path) = &self.journal {
            // A resumed FILE with a checked journal appends to it; a fresh FILE (or one resumed without a
            // journal: from the records' links) starts a new one.
            let file = match self.journal_file.take() {
                Some(file) => file,
                None => journal::open_locked(path, &self.flag, true)?.with_context(|| {
                    format!("cannot create the links journal {}", path.display())
                })?,
            };
            let writer = match &self.requeue.journal {
                Some(replay) => journal::Writer::resume(file, path, replay.end)?,
                None => journal::Writer::start(file, path)?,
            };
            self.writer.set_journal(writer);
        }
        Ok(())
    }
}

/// Opens stdout or `-o FILE` without changing a byte of FILE (it is created when missing) and locks FILE for the
/// run, named as `flag` in messages ([`crate::output::file::lock`]). With `--resume`, reads FILE, finds a torn
/// last line and collects the URLs done (with `warc_end`, the end of `--warc`'s whole records, not those whose
/// response is missing from the archive: see [`crate::output::resume`]). [`Output::commit`] then truncates or
/// cuts it.
///
/// # Errors
/// FILE is one of the `inputs` (same device and inode), another run's ([`crate::output::file::Busy`]), or cannot
/// be opened or read.
pub(crate) fn open(
    path: Option<&Path>,
    flag: &str,
    resume: bool,
    keep_links: bool,
    inputs: &[(FileId, &str)],
    warc_end: Option<u64>,
) -> Result<Output> {
    let Some(path) = path else {
        // `crawlfish list.txt >> list.txt`: stdout is a regular file that is also an input.
        let id = crate::output::file::stdout_meta()
            .as_ref()
            .and_then(FileId::of);
        if let Some((_, name)) = inputs.iter().find(|(input, _)| Some(*input) == id) {
            bail!("stdout is also an input ({name}); refusing to write over the list being read");
        }
        return Ok(Output {
            writer: Sink::stdout(),
            done: SeenSet::default(),
            requeue: Requeue::default(),
            id: None,
            created: None,
            hold: None,
            cut: None,
            journal: None,
            journal_file: None,
            flag: flag.to_owned(),
        });
    };
    let id = std::fs::metadata(path).ok().as_ref().and_then(FileId::of);
    if let Some((_, name)) = inputs.iter().find(|(input, _)| Some(*input) == id) {
        bail!(
            "-o {}: is also an input ({name}); refusing to write over the list being read",
            path.display()
        );
    }
    let name = path.display().to_string();
    let journal_path = journal::path_for(path);
    if keep_links {
        journal::refuse_odd(&journal_path)?; // before FILE is created or read
    }
    // With a journal, the links come from it: FILE's are not kept (nor, with --no-links, there).
    let from_journal = resume && keep_links && journal_path.exists();
    let mut replay = None;
    let mut bodies = Vec::new();
    let (file, len, done, resumed, created) = if resume {
        let r = crate::output::resume::open(
            path,
            flag,
            (keep_links && !from_journal, keep_links && !from_journal),
            warc_end,
        )?;
        if from_journal {
            replay = journal::check(&journal_path, &name, r.len, r.tally)?;
        }
        bodies = r.bodies.first;
        (r.file, r.len, r.done, r.resumed, r.created)
    } else {
        let (file, created) = crate::output::file::open_unchanged(path, false)
            .with_context(|| format!("cannot write {name}"))?;
        // Truncating too: a second run writing the same file interleaves lines just the same.
        // A file this run just created and another one locked first is that run's now: it is not removed.
        crate::output::file::lock(&file, path, flag)?;
        (file, 0, SeenSet::default(), Vec::new(), created)
    };
    let id = file.metadata().ok().as_ref().and_then(FileId::of);
    // Only a regular file is cut (a device or FIFO is written as it is, as `File::create` would).
    let cut = match id {
        Some(_) => Some(Cut {
            file: file
                .try_clone()
                .with_context(|| format!("cannot write {name}"))?,
            len,
            name: name.clone(),
            resume,
        }),
        None => None,
    };
    let hold = id.and_then(|_| file.try_clone().ok());
    // Only beside a regular file, and only when links are crawled: list mode and devices pay nothing.
    // A FILE resumed from its records' links (written before journals) gets none: one covering only the new
    // records would be refused by the next --resume, which reads FILE's links again instead.
    let writes_journal = keep_links && id.is_some() && (!resume || from_journal || len == 0);
    // One already there is locked now, like FILE: a run using it as its own -o exits 75 before anything changes.
    let journal_file = if writes_journal {
        journal::open_locked(&journal_path, flag, false)?
    } else {
        None
    };
    Ok(Output {
        // A FILE written before journals is resumed from its records' links: this run's records keep them.
        writer: Sink::file(file, name, len)
            .needing_links(keep_links && resume && len > 0 && !from_journal),
        done,
        requeue: Requeue {
            records: resumed,
            journal: replay,
            bodies,
        },
        id,
        created,
        hold,
        cut,
        journal: writes_journal.then_some(journal_path),
        journal_file,
        flag: flag.to_owned(),
    })
}

/// How long the writer naps when the channel is empty while records are flowing, and how many naps in a row
/// before it parks on the channel (50 ms of silence).
const NAP: std::time::Duration = std::time::Duration::from_millis(1);
const NAPS_BEFORE_PARKING: u32 = 50;

/// Starts the writer thread. It ends when every sender is dropped (then drains and flushes) or on a write
/// failure (then it cancels the run and closes the channel so the crawl stops instead of blocking).
pub(crate) fn spawn_writer(
    mut sink: Sink,
    mut rx: mpsc::Receiver<Record>,
    progress: Arc<Progress>,
    cancel: CancellationToken,
) -> oneshot::Receiver<(Summary, WriterEnd)> {
    let (done_tx, done_rx) = oneshot::channel();
    std::thread::spawn(move || {
        let mut summary = Summary::default();
        let mut idle = 0u32;
        let end = loop {
            let record = match rx.try_recv() {
                Ok(record) => record,
                Err(TryRecvError::Empty) => {
                    // Momentarily empty: write what there is, so `| jq` sees it. Then nap instead of parking on
                    // the channel while records are flowing: a parked receiver costs every sender a thread
                    // wake-up (one per record), a 1 ms nap costs one per millisecond. Long idle: park.
                    if let Err(end) = sink.flush(&mut summary, &progress) {
                        break end;
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
                    break match sink.flush(&mut summary, &progress) {
                        Ok(()) => WriterEnd::Drained,
                        Err(end) => end,
                    };
                }
            };
            idle = 0;
            if let Err(e) = sink.push(&record) {
                tracing::error!(error = %e, url = %record.url, "record not serialisable");
                continue;
            }
            if sink.wants_flush() {
                if let Err(end) = sink.flush(&mut summary, &progress) {
                    break end;
                }
            }
        };
        if end != WriterEnd::Drained {
            cancel.cancel();
            rx.close();
        }
        let _ = done_tx.send((summary, end));
    });
    done_rx
}
