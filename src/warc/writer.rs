//! The WARC writer: sole owner of `--warc FILE`. A task archives an exchange ([`Archive::exchange`]) by building
//! its two records ([`crate::warc`]) and compressing each into its own gzip member itself ([`crate::warc::gzip`]; inline up
//! to [`INLINE_MAX`], else on the blocking pool): on a 2-core machine one writer thread doing all the
//! compression was the bottleneck (W1 2.6x slower). The writer thread only writes: the members waiting for it
//! (up to `BATCH` exchanges) in order with one `write`, so a crash leaves whole records and at most one torn
//! member at the end; then it sends each response member's offset back to its task (a oneshot), for the JSON
//! record's `warc_offset`. It naps rather than parks while exchanges flow: one wake-up per millisecond, not
//! two system calls and a wake-up per exchange.
//!
//! Opening the file: first without changing a byte ([`open`]: created if missing), then checked ([`WarcFile::check`],
//! read-only, every member verified by [`crate::warc::check`]), and only once every other file of the run is open and
//! checked too, cut ([`WarcFile::commit`]): without `--resume` truncated; with it, whole members are kept, a torn
//! last one is cut (a member damaged in the middle stops the run, or with `--warc-repair` is moved aside with
//! everything after it), and a new `warcinfo` is appended before anything else. A write failure cuts the file back to
//! its last whole member, cancels the run and ends the writer with [`WriterEnd::Failed`] (exit 2).

use std::fs::File;
use std::io::{IoSlice, Read as _, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::input::FileId;
use crate::output::WriterEnd;
use crate::warc::check::{self, Tail};
pub(crate) use crate::warc::gzip::{gzip, DEFAULT_LEVEL};
use crate::warc::Capture;

/// Exchanges waiting for the writer: a full channel makes tasks wait, so a slow disk slows the crawl.
const CHANNEL: usize = 256;
/// The most exchanges written with one `write`: a batch of members written together costs one system call
/// and one wake-up instead of two each.
pub(crate) const BATCH: usize = 128;
/// How long the writer naps when the channel is empty while exchanges are flowing, and how many naps in a row
/// before it parks on the channel (as the JSON writer does: a parked receiver costs every sender a thread
/// wake-up, a 1 ms nap one per millisecond).
const NAP: std::time::Duration = std::time::Duration::from_millis(1);
const NAPS_BEFORE_PARKING: u32 = 50;

/// Exchanges up to this many bytes are compressed right in the task (about 50 µs for a 15 KB page); bigger ones
/// on the blocking pool, so a 10 MB body cannot stall a runtime worker.
pub(crate) const INLINE_MAX: usize = 256 * 1024;

/// What the writer is sent: the request and response records of one exchange, each a whole gzip member.
struct Msg {
    request: Vec<u8>,
    response: Vec<u8>,
    reply: oneshot::Sender<u64>,
}

/// The handle tasks archive through (cheap to clone).
#[derive(Debug, Clone)]
pub(crate) struct Archive {
    tx: mpsc::Sender<Msg>,
    level: u32,
    /// `--warc-headers verbatim`.
    verbatim_headers: bool,
    /// `--warc-dedup`.
    dedup: bool,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

impl Archive {
    /// `--warc-headers verbatim`: request records show the `-H` values as sent.
    #[must_use]
    pub(crate) fn verbatim_headers(&self) -> bool {
        self.verbatim_headers
    }

    /// `--warc-dedup`: a 2xx whose payload the earlier run archived is a revisit.
    #[must_use]
    pub(crate) fn dedup(&self) -> bool {
        self.dedup
    }

    /// With `--warc-dedup`.
    #[must_use]
    pub(crate) fn with_dedup(mut self, dedup: bool) -> Archive {
        self.dedup = dedup;
        self
    }

    /// Archives one exchange; the byte offset of its response record's gzip member, once written. `None` when
    /// the writer has stopped (a write failure: the run is ending).
    pub(crate) async fn exchange(&self, capture: Capture<'_>) -> Option<u64> {
        let level = self.level;
        let (request, response) = if capture.len() <= INLINE_MAX {
            pack(&capture, level)
        } else {
            // The blocking pool needs the body owned: a copy, for the rare big body only.
            let (head, body, cut, revisit) = capture.into_parts();
            let body = body.to_vec();
            tokio::task::spawn_blocking(move || {
                pack(&head.with(&body, cut).revisit(revisit), level)
            })
            .await
            .ok()?
        };
        let (reply, rx) = oneshot::channel();
        let msg = Msg {
            request: request.ok()?,
            response: response.ok()?,
            reply,
        };
        self.tx.send(msg).await.ok()?;
        rx.await.ok()
    }
}

/// The exchange's two records, each compressed into one gzip member.
fn pack(capture: &Capture, level: u32) -> (std::io::Result<Vec<u8>>, std::io::Result<Vec<u8>>) {
    let records = capture.records();
    (
        gzip(&[&records.request], level),
        gzip(&records.response(), level),
    )
}

/// The opened file and where the next member goes.
#[derive(Debug)]
pub(crate) struct WarcFile {
    file: File,
    name: String,
    /// Where the next member goes: the file is cut to this length by [`WarcFile::commit`].
    len: u64,
    /// The file did not exist: its real path, so a run refused before it starts can remove it.
    created: Option<std::path::PathBuf>,
    /// FILE as given, to name `FILE.damaged-OFFSET` beside it.
    path: PathBuf,
    /// `--warc-repair` found a damaged member at `len`: where [`WarcFile::commit`] moves the tail from `len` on.
    damaged: Option<PathBuf>,
}

/// Opens FILE for writing (and with `append`, reading) without changing a byte of it (created when missing):
/// nothing is truncated or cut until [`WarcFile::check`] and [`WarcFile::commit`], so a usage error found after
/// this leaves FILE as it was.
///
/// # Errors
/// FILE is one of `others` (an input or the JSON output), another run's ([`crate::output::file::Busy`]), not
/// seekable (a FIFO, a pipe), or cannot be opened for writing (a missing directory, a directory, no permission).
pub(crate) fn open(path: &Path, append: bool, others: &[(FileId, &str)]) -> Result<WarcFile> {
    let name = path.display().to_string();
    let id = std::fs::metadata(path).ok().as_ref().and_then(FileId::of);
    if let Some((_, other)) = others.iter().find(|(f, _)| Some(*f) == id) {
        bail!("--warc {name}: is also {other}; refusing to write over it");
    }
    refuse_unseekable(path, &name, None)?;
    let (file, created) = crate::output::file::open_unchanged(path, append)
        .with_context(|| format!("cannot write --warc {name}"))?;
    refuse_unseekable(path, &name, Some(&file))?;
    crate::output::file::lock(&file, path, "--warc")?;
    Ok(WarcFile {
        file,
        name,
        len: 0,
        created,
        path: path.to_owned(),
        damaged: None,
    })
}

/// The archive is written at offsets (each record's `warc_offset`, the cut back to whole members): a FIFO, socket
/// or pipe (`/dev/stdout` into `| gzip`) cannot be. Checked by type before opening (opening a FIFO waits for a
/// reader), then by seeking the opened file (a terminal); `/dev/null` seeks and is accepted.
fn refuse_unseekable(path: &Path, name: &str, file: Option<&File>) -> Result<()> {
    use std::os::unix::fs::FileTypeExt as _;
    let seekable = match file {
        None => std::fs::metadata(path).map_or(true, |m| {
            !(m.file_type().is_fifo() || m.file_type().is_socket())
        }),
        Some(mut file) => file.stream_position().is_ok(),
    };
    if !seekable {
        bail!(
            "--warc {name}: is a pipe, FIFO or socket, which a WARC file cannot be (records are written at \
             offsets): give --warc a regular file"
        );
    }
    Ok(())
}

impl WarcFile {
    /// A second handle on the open file: the run's lock on it is held until this is dropped too (`--state` keeps
    /// it until the archive is renamed).
    #[must_use]
    pub(crate) fn hold(&self) -> Option<File> {
        self.file.try_clone().ok()
    }

    /// The file's identity (same device and inode), to tell it from the other files of the run.
    #[must_use]
    pub(crate) fn id(&self) -> Option<FileId> {
        self.file.metadata().ok().as_ref().and_then(FileId::of)
    }

    /// The file this run created, if it did.
    #[must_use]
    pub(crate) fn created(&self) -> Option<&Path> {
        self.created.as_deref()
    }

    /// Decides where writing starts, reading only: at 0 (the file is replaced), or with `append` after its whole
    /// members ([`check::members`]). A torn last member is cut by [`WarcFile::commit`]; a damaged member with whole
    /// ones after it is an error naming its offset, unless `repair` (`--warc-repair`): then the commit moves it and
    /// everything after it aside.
    ///
    /// # Errors
    /// With `append`, FILE is not a WARC file of gzip members, is damaged in the middle (without `repair`), or
    /// cannot be read.
    pub(crate) fn check(&mut self, append: bool, repair: bool) -> Result<()> {
        self.len = 0;
        if !append {
            return Ok(());
        }
        let name = &self.name;
        let checked = check::members(&self.file).with_context(|| format!("--warc {name}"))?;
        self.len = checked.whole;
        if let Tail::Damaged { next, why } = checked.tail {
            let at = checked.whole;
            let aside = damaged_path(&self.path, at);
            if !repair {
                bail!(
                    "--warc {name}: the record at byte {at} is damaged ({why}) and whole records follow it (the \
                     next at byte {next}); nothing was changed. --warc-repair moves bytes {at}.. aside to {} and \
                     goes on (URLs whose responses were archived there are fetched again)",
                    aside.display()
                );
            }
            if std::fs::symlink_metadata(&aside).is_ok() {
                bail!(
                    "--warc-repair: {} already exists (an earlier repair?); move it away first. Nothing was changed",
                    aside.display()
                );
            }
            self.damaged = Some(aside);
        }
        Ok(())
    }

    /// Where the archive's whole records end once committed: a record whose `warc_offset` is at or past it has
    /// no response in the file (cut as torn, or moved aside by `--warc-repair`).
    #[must_use]
    pub(crate) fn end(&self) -> u64 {
        self.len
    }

    /// Cuts the file to where writing starts (the first change made to it) and positions it there; with
    /// `--warc-repair` and damage, first copies the damaged tail aside.
    ///
    /// # Errors
    /// The file cannot be truncated or positioned, or the damaged tail cannot be saved (FILE is then not cut).
    pub(crate) fn commit(&mut self) -> Result<()> {
        let name = &self.name;
        let size = self.file.metadata()?.len();
        if let Some(aside) = self.damaged.take() {
            self.move_aside(&aside, size)?;
        } else if self.len < size {
            if self.len > 0 {
                tracing::warn!(
                    file = %name,
                    "--warc: cut a torn last record ({} bytes) before appending",
                    size - self.len
                );
            }
            self.file
                .set_len(self.len)
                .with_context(|| format!("cannot truncate --warc {name}"))?;
        }
        self.file.seek(SeekFrom::Start(self.len))?;
        Ok(())
    }

    /// `--warc-repair`: copies bytes `len..size` to `aside` (a new file), syncs it and its directory, and only
    /// then cuts FILE at `len` and syncs it: a crash in between leaves both copies, never neither.
    fn move_aside(&mut self, aside: &Path, size: u64) -> Result<()> {
        let (name, at) = (&self.name, self.len);
        let shown = aside.display();
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(aside)
            .with_context(|| format!("--warc-repair: cannot create {shown}"))?;
        self.file.seek(SeekFrom::Start(at))?;
        let copied = std::io::copy(&mut (&self.file).take(size - at), &mut out)
            .and_then(|n| out.sync_all().map(|()| n))
            .with_context(|| format!("--warc-repair: cannot write {shown}"))?;
        if let Some(dir) = aside.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The new name must survive a crash too; a directory that cannot be opened to sync is not fatal.
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        self.file
            .set_len(at)
            .and_then(|()| self.file.sync_all())
            .with_context(|| {
                format!("cannot cut --warc {name} after saving its damaged tail to {shown}")
            })?;
        tracing::warn!(
            file = %name,
            "--warc-repair: moved {copied} bytes from byte {at} on (a damaged record and everything after it) to \
             {shown}; URLs whose responses were there are fetched again"
        );
        Ok(())
    }
}

/// `FILE.damaged-OFFSET`, beside FILE.
fn damaged_path(path: &Path, at: u64) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".damaged-{at}"));
    PathBuf::from(name)
}

/// Starts the writer thread: it writes `info` (the `warcinfo` record) first, then every exchange sent to the
/// returned [`Archive`] (whose records are deflated at `level`), until every handle is dropped.
#[must_use]
pub(crate) fn spawn(
    out: WarcFile,
    info: &[u8],
    level: u32,
    verbatim_headers: bool,
    cancel: CancellationToken,
) -> (Archive, oneshot::Receiver<WriterEnd>) {
    let (tx, mut rx) = mpsc::channel::<Msg>(CHANNEL);
    let (done_tx, done_rx) = oneshot::channel();
    let info = gzip(&[info], level);
    std::thread::spawn(move || {
        let mut w = Writer {
            out,
            batch: Vec::with_capacity(BATCH),
        };
        let mut end = match info {
            Ok(member) => w.write(&[&member]).err().unwrap_or(WriterEnd::Drained),
            Err(e) => w.fail(&e),
        };
        let mut idle = 0u32;
        while end == WriterEnd::Drained {
            let msg = match rx.try_recv() {
                Ok(msg) => msg,
                Err(TryRecvError::Empty) => {
                    // Write what there is, so each task learns its offset soon. Then nap rather than park
                    // while exchanges are flowing (see NAP); long idle: park.
                    if let Err(e) = w.flush() {
                        end = e;
                        break;
                    }
                    idle += 1;
                    if idle <= NAPS_BEFORE_PARKING {
                        std::thread::sleep(NAP);
                        continue;
                    }
                    match rx.blocking_recv() {
                        Some(msg) => msg,
                        None => break,
                    }
                }
                Err(TryRecvError::Disconnected) => break,
            };
            idle = 0;
            w.batch.push(msg);
            if w.batch.len() >= BATCH {
                if let Err(e) = w.flush() {
                    end = e;
                }
            }
        }
        if end == WriterEnd::Drained {
            end = w.flush().err().unwrap_or(WriterEnd::Drained);
        }
        if end != WriterEnd::Drained {
            cancel.cancel();
            rx.close();
        }
        let _ = done_tx.send(end);
    });
    (
        Archive {
            tx,
            level,
            verbatim_headers,
            dedup: false,
        },
        done_rx,
    )
}

struct Writer {
    out: WarcFile,
    /// Exchanges received and not yet written (their tasks wait for their offsets).
    batch: Vec<Msg>,
}

impl Writer {
    /// Writes the batch's members in order, then tells each task where its response record is. On failure the
    /// tasks get no offset (their records say null).
    fn flush(&mut self) -> Result<(), WriterEnd> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let members: Vec<&[u8]> = batch
            .iter()
            .flat_map(|m| [m.request.as_slice(), m.response.as_slice()])
            .collect();
        let mut at = self.out.len;
        self.write(&members)?;
        for msg in batch {
            let _ = msg.reply.send(at + msg.request.len() as u64);
            at += (msg.request.len() + msg.response.len()) as u64;
        }
        Ok(())
    }

    /// Writes whole gzip members, in order and with as few `write`s as the kernel allows (one, normally), so a
    /// crash leaves whole members and at most one torn member at the end. On failure the file is cut back to
    /// its last whole member.
    fn write(&mut self, members: &[&[u8]]) -> Result<(), WriterEnd> {
        let mut slices: Vec<IoSlice> = members.iter().map(|m| IoSlice::new(m)).collect();
        let mut slices = slices.as_mut_slice();
        let total: usize = members.iter().map(|m| m.len()).sum();
        let mut written = 0;
        while written < total {
            match self.out.file.write_vectored(slices) {
                Ok(0) => return Err(self.fail(&std::io::ErrorKind::WriteZero.into())),
                Ok(n) => {
                    written += n;
                    IoSlice::advance_slices(&mut slices, n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.fail(&e)),
            }
        }
        self.out.len += total as u64;
        Ok(())
    }

    fn fail(&mut self, e: &std::io::Error) -> WriterEnd {
        let cut = self.out.file.set_len(self.out.len).is_ok();
        WriterEnd::Failed(format!(
            "cannot write --warc {}: {e}; {}",
            self.out.name,
            if cut {
                "the file ends with its last whole record"
            } else {
                "its last record may be torn (--resume cuts it)"
            }
        ))
    }
}
