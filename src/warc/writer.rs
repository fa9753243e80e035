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
//! read-only), and only once every other file of the run is open and checked too, cut ([`WarcFile::commit`]):
//! without `--resume` truncated; with it, complete gzip members are kept, a torn last one is cut, and a new
//! `warcinfo` is appended before anything else. A write failure cuts the file back to
//! its last whole member, cancels the run and ends the writer with [`WriterEnd::Failed`] (exit 2).

use std::fs::File;
use std::io::{BufRead, BufReader, IoSlice, Read, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::input::FileId;
use crate::output::WriterEnd;
pub(crate) use crate::warc::gzip::{gzip, DEFAULT_LEVEL};
use crate::warc::Capture;

/// Exchanges waiting for the writer: a full channel makes tasks wait, so a slow disk slows the crawl.
const CHANNEL: usize = 256;
/// Bytes read at a time while checking an existing file on `--resume`.
const READ_BUF: usize = 256 * 1024;
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

    /// Archives one exchange; the byte offset of its response record's gzip member, once written. `None` when
    /// the writer has stopped (a write failure: the run is ending).
    pub(crate) async fn exchange(&self, capture: Capture<'_>) -> Option<u64> {
        let level = self.level;
        let (request, response) = if capture.len() <= INLINE_MAX {
            pack(&capture, level)
        } else {
            // The blocking pool needs the body owned: a copy, for the rare big body only.
            let (head, body, cut) = capture.into_parts();
            let body = body.to_vec();
            tokio::task::spawn_blocking(move || pack(&head.with(&body, cut), level))
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
}

/// Opens FILE for writing (and with `append`, reading) without changing a byte of it (created when missing):
/// nothing is truncated or cut until [`WarcFile::check`] and [`WarcFile::commit`], so a usage error found after
/// this leaves FILE as it was.
///
/// # Errors
/// FILE is one of `others` (an input or the JSON output), or cannot be opened for writing (a missing directory,
/// a directory, no permission).
pub(crate) fn open(path: &Path, append: bool, others: &[(FileId, &str)]) -> Result<WarcFile> {
    let name = path.display().to_string();
    let id = std::fs::metadata(path).ok().as_ref().and_then(FileId::of);
    if let Some((_, other)) = others.iter().find(|(f, _)| Some(*f) == id) {
        bail!("--warc {name}: is also {other}; refusing to write over it");
    }
    let (file, created) = crate::output::file::open_unchanged(path, append)
        .with_context(|| format!("cannot write --warc {name}"))?;
    Ok(WarcFile {
        file,
        name,
        len: 0,
        created,
    })
}

impl WarcFile {
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
    /// gzip members (a torn last one is cut by [`WarcFile::commit`]).
    ///
    /// # Errors
    /// With `append`, FILE is not a WARC file of gzip members, or cannot be read.
    pub(crate) fn check(&mut self, append: bool) -> Result<()> {
        self.len = if append {
            whole_members(&mut self.file).with_context(|| format!("--warc {}", self.name))?
        } else {
            0
        };
        Ok(())
    }

    /// Cuts the file to where writing starts (the first change made to it) and positions it there.
    ///
    /// # Errors
    /// The file cannot be truncated or positioned.
    pub(crate) fn commit(&mut self) -> Result<()> {
        let name = &self.name;
        let size = self.file.metadata()?.len();
        if self.len < size {
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
}

/// A reader that counts the bytes consumed from it (the end of each gzip member).
struct Counting<R> {
    inner: R,
    pos: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.pos += n as u64;
        self.inner.consume(n);
    }
}

/// The length of the file's prefix made of whole gzip members (each decompressed to check it). The first member
/// must be a WARC record: anything else is refused rather than cut.
fn whole_members(file: &mut File) -> Result<u64> {
    let mut r = Counting {
        inner: BufReader::with_capacity(READ_BUF, &mut *file),
        pos: 0,
    };
    let mut whole = 0;
    loop {
        if r.fill_buf()?.is_empty() {
            return Ok(whole);
        }
        let mut decoder = flate2::bufread::GzDecoder::new(&mut r);
        let ok = if whole == 0 {
            let mut magic = [0u8; 5];
            match decoder.read_exact(&mut magic) {
                Ok(()) if &magic == b"WARC/" => {
                    std::io::copy(&mut decoder, &mut std::io::sink()).is_ok()
                }
                Ok(()) => bail!("not a WARC file (its first record does not start with WARC/)"),
                Err(_) => false,
            }
        } else {
            std::io::copy(&mut decoder, &mut std::io::sink()).is_ok()
        };
        if !ok {
            if whole == 0 {
                bail!("not a WARC file of gzip members (its first member is unreadable); refusing to cut it");
            }
            return Ok(whole);
        }
        whole = r.pos;
    }
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
