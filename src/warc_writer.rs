//! The WARC writer: sole owner of `--warc FILE`. A task archives an exchange ([`Archive::exchange`]) by building
//! its two records (`warc.rs`) and compressing each into its own gzip member itself (inline up to
//! [`INLINE_MAX`], else on the blocking pool): on a 2-core machine one writer thread doing all the compression
//! was the bottleneck (W1 2.6x slower). The writer thread only writes each member with one `write_all`, so a
//! crash leaves whole records and at most one torn member at the end, and sends the response member's offset
//! back to the task (a oneshot), for the JSON record's `warc_offset`.
//!
//! Opening the file: without `--resume` it is created (truncated); with it, complete gzip members are kept, a torn
//! last one is cut, and a new `warcinfo` is appended before anything else. A write failure cuts the file back to
//! its last whole member, cancels the run and ends the writer with [`WriterEnd::Failed`] (exit 2).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use std::cell::RefCell;

use flate2::{Compress, Compression, FlushCompress, Status};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::input::FileId;
use crate::output::WriterEnd;
use crate::warc::Capture;

/// Exchanges waiting for the writer: a full channel makes tasks wait, so a slow disk slows the crawl.
const CHANNEL: usize = 256;
/// gzip level of each member: level 1 compresses HTML about as well as level 6 would (within ~10 %) at a
/// fraction of the CPU, and the writer thread must keep up with the crawl.
const LEVEL: u32 = 1;
/// The deflate window: 32 KiB, the most gzip allows.
const WINDOW_BITS: u8 = 15;
/// Room for the gzip header and trailer and incompressible slack.
const GZIP_OVERHEAD: usize = 64;
/// Bytes read at a time while checking an existing file on `--resume`.
const READ_BUF: usize = 256 * 1024;

/// Exchanges up to this many bytes are compressed right in the task (about 50 µs for a 15 KB page); bigger ones
/// on the blocking pool, so a 10 MB body cannot stall a runtime worker.
pub const INLINE_MAX: usize = 256 * 1024;

/// What the writer is sent: the request and response records of one exchange, each a whole gzip member.
struct Msg {
    request: Vec<u8>,
    response: Vec<u8>,
    reply: oneshot::Sender<u64>,
}

/// The handle tasks archive through (cheap to clone).
#[derive(Debug, Clone)]
pub struct Archive {
    tx: mpsc::Sender<Msg>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

impl Archive {
    /// Archives one exchange; the byte offset of its response record's gzip member, once written. `None` when
    /// the writer has stopped (a write failure: the run is ending).
    pub async fn exchange(&self, capture: Capture) -> Option<u64> {
        let (request, response) = if capture.len() <= INLINE_MAX {
            pack(&capture)
        } else {
            tokio::task::spawn_blocking(move || pack(&capture))
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
fn pack(capture: &Capture) -> (std::io::Result<Vec<u8>>, std::io::Result<Vec<u8>>) {
    let (request, response) = capture.records();
    (gzip(&request), gzip(&response))
}

thread_local! {
    /// Each thread's compressor, reset for every member: a fresh one per member allocated and zeroed its
    /// ~300 KB of window and tables every time (memset was 8 % of a W1 `--warc` profile).
    static GZIP: RefCell<Option<Compress>> = const { RefCell::new(None) };
}

/// One gzip member holding `record`.
///
/// # Errors
/// Only if the compressor fails (it cannot on a `Vec`).
pub fn gzip(record: &[u8]) -> std::io::Result<Vec<u8>> {
    GZIP.with(|cell| {
        let mut cell = cell.borrow_mut();
        let z =
            cell.get_or_insert_with(|| Compress::new_gzip(Compression::new(LEVEL), WINDOW_BITS));
        z.reset();
        // Compressed HTML is about a third of its size: one allocation in most cases.
        let mut out = Vec::with_capacity(record.len() / 2 + GZIP_OVERHEAD);
        loop {
            let done = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
            let status = z
                .compress_vec(
                    record.get(done..).unwrap_or_default(),
                    &mut out,
                    FlushCompress::Finish,
                )
                .map_err(std::io::Error::other)?;
            if status == Status::StreamEnd {
                return Ok(out);
            }
            out.reserve(out.capacity().max(GZIP_OVERHEAD));
        }
    })
}

/// The opened file and where the next member goes.
#[derive(Debug)]
pub struct WarcFile {
    file: File,
    name: String,
    len: u64,
}

/// Opens FILE for writing. With `append`, keeps its whole gzip members, cuts a torn last one, and appends.
///
/// # Errors
/// FILE is one of `others` (an input or the JSON output), is not a WARC file of gzip members, or cannot be
/// opened, read or truncated.
pub fn open(path: &Path, append: bool, others: &[(FileId, &str)]) -> Result<WarcFile> {
    let name = path.display().to_string();
    let id = std::fs::metadata(path).ok().as_ref().and_then(FileId::of);
    if let Some((_, other)) = others.iter().find(|(f, _)| Some(*f) == id) {
        bail!("--warc {name}: is also {other}; refusing to write over it");
    }
    if !append {
        let file = File::create(path).with_context(|| format!("cannot write --warc {name}"))?;
        return Ok(WarcFile { file, name, len: 0 });
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("cannot open --warc {name}"))?;
    let whole = whole_members(&mut file).with_context(|| format!("--warc {name}"))?;
    let size = file.metadata()?.len();
    if whole < size {
        tracing::warn!(
            file = %name,
            "--warc: cut a torn last record ({} bytes) before appending",
            size - whole
        );
        file.set_len(whole)
            .with_context(|| format!("cannot truncate --warc {name}"))?;
    }
    file.seek(SeekFrom::Start(whole))?;
    Ok(WarcFile {
        file,
        name,
        len: whole,
    })
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
/// returned [`Archive`], until every handle is dropped.
#[must_use]
pub fn spawn(
    out: WarcFile,
    info: Vec<u8>,
    cancel: CancellationToken,
) -> (Archive, oneshot::Receiver<WriterEnd>) {
    let (tx, mut rx) = mpsc::channel::<Msg>(CHANNEL);
    let (done_tx, done_rx) = oneshot::channel();
    std::thread::spawn(move || {
        let mut w = Writer { out };
        let mut end = match gzip(&info) {
            Ok(member) => w.member(&member).err().unwrap_or(WriterEnd::Drained),
            Err(e) => w.fail(&e),
        };
        while end == WriterEnd::Drained {
            let Some(msg) = rx.blocking_recv() else {
                break;
            };
            match w.member(&msg.request).and_then(|_| w.member(&msg.response)) {
                Ok(at) => {
                    let _ = msg.reply.send(at);
                }
                Err(e) => end = e,
            }
        }
        if end != WriterEnd::Drained {
            cancel.cancel();
            rx.close();
        }
        let _ = done_tx.send(end);
    });
    (Archive { tx }, done_rx)
}

struct Writer {
    out: WarcFile,
}

impl Writer {
    /// Writes one gzip member whole; its offset. On failure the file is cut back to its last whole member.
    fn member(&mut self, bytes: &[u8]) -> Result<u64, WriterEnd> {
        let at = self.out.len;
        if let Err(e) = self
            .out
            .file
            .write_all(bytes)
            .and_then(|()| self.out.file.flush())
        {
            return Err(self.fail(&e));
        }
        self.out.len += bytes.len() as u64;
        Ok(at)
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
