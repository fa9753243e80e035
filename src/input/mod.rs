//! Input files and stdin → a stream of [`Seed`]s, read on a plain thread and handed over through a bounded channel,
//! so a ten-million-line list is never in memory and a slow crawl stops the reading.
//!
//! Knows nothing of HTTP: a line is either a normalised URL or an invalid line to report. Each input's
//! byte-order mark is handled by [`crate::input::bom`] (UTF-8 BOM skipped, UTF-16 decoded).

pub(crate) mod bom;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use tokio::sync::mpsc;
use url::Url;

use crate::url::{normalize, MAX_URL_LEN};

/// Longest line read into memory; the rest of a longer line is skipped (the line is reported as invalid).
const MAX_LINE: usize = MAX_URL_LEN + 1;

/// One input line that matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seed {
    Url(Url),
    /// Not an http(s) URL: reported as one `invalid_url` record. `line` is lossy UTF-8; `key` is over the bytes.
    Invalid {
        line: String,
        reason: String,
        key: u64,
    },
}

/// What the reader thread sends: seeds, in batches of up to [`SEED_BATCH`], then at most one read failure (the
/// run then exits 2).
#[derive(Debug)]
pub(crate) enum InputEvent {
    Seeds(Vec<Seed>),
    Failed(String),
}

/// Seeds handed over at once. One at a time, a full channel woke the reader for every seed the crawl took: on
/// W1, 7,100 of the run's ~19,000 context switches were the reader's (`perf record -e context-switches`), and
/// as many again on the workers waking it. A batch is also sent whenever the reader would wait for more input,
/// so a line typed into a pipe is never held back for the rest of a batch.
pub(crate) const SEED_BATCH: usize = 64;

/// An opened input source.
pub(crate) struct Source {
    name: String,
    reader: Box<dyn Read + Send>,
    /// Set when the source is a regular file (stdin too, when redirected from one).
    id: Option<FileId>,
    /// A regular file's size, for the progress bar's and the heartbeat's percent.
    size: Option<u64>,
}

/// A regular file's identity (device and inode): the same file whatever path, symlink or hard link names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The identity of a regular file; `None` for anything else (a terminal, a pipe, a device).
    #[must_use]
    pub(crate) fn of(meta: &std::fs::Metadata) -> Option<FileId> {
        use std::os::unix::fs::MetadataExt as _;
        meta.is_file().then(|| FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }
}

/// The regular files among the inputs, by identity and name, so `-o` can refuse to be one of them.
#[must_use]
pub(crate) fn regular_files(sources: &[Source]) -> Vec<(FileId, &str)> {
    sources
        .iter()
        .filter_map(|s| Some((s.id?, s.name.as_str())))
        .collect()
}

/// The inputs' total size when every one is a regular file (`None`: a pipe, a terminal, a device among them).
#[must_use]
pub(crate) fn total_size(sources: &[Source]) -> Option<u64> {
    sources.iter().map(|s| s.size).sum()
}

/// Opens every input up front, so an unreadable file is a usage error (exit 2) before any request is made.
///
/// # Errors
/// A file that cannot be opened, or is a directory.
pub(crate) fn open(files: &[PathBuf]) -> Result<Vec<Source>> {
    if files.is_empty() {
        return Ok(vec![stdin_source()]);
    }
    files
        .iter()
        .map(|path| {
            if path.as_os_str() == "-" {
                return Ok(stdin_source());
            }
            let file =
                File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
            let meta = file.metadata().ok();
            if meta.as_ref().is_some_and(std::fs::Metadata::is_dir) {
                bail!("cannot read {}: is a directory", path.display());
            }
            Ok(Source {
                name: path.display().to_string(),
                reader: Box::new(file),
                id: meta.as_ref().and_then(FileId::of),
                size: meta
                    .as_ref()
                    .filter(|m| m.is_file())
                    .map(std::fs::Metadata::len),
            })
        })
        .collect()
}

fn stdin_source() -> Source {
    use std::os::fd::AsFd as _;
    // stdin redirected from a file (`< list.txt`) is that file: -o must not be it either.
    let meta = io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .and_then(|fd| File::from(fd).metadata().ok());
    Source {
        name: "<stdin>".into(),
        reader: Box::new(io::stdin()),
        id: meta.as_ref().and_then(FileId::of),
        size: meta
            .as_ref()
            .filter(|m| m.is_file())
            .map(std::fs::Metadata::len),
    }
}

/// Reads the sources one after another on a dedicated thread (not a tokio blocking thread: a reader stuck on an
/// idle stdin must not keep the runtime from shutting down). Ends when the input ends or the receiver is gone.
/// `read` counts the bytes of the lines handed over (a whole source counts as its size once read to its end).
pub(crate) fn spawn_reader(
    sources: Vec<Source>,
    tx: mpsc::Sender<InputEvent>,
    read: Arc<AtomicU64>,
) {
    std::thread::spawn(move || {
        let mut before = 0;
        for source in sources {
            let text = match crate::input::bom::text(source.reader) {
                Ok(text) => text,
                Err(e) => {
                    let msg = format!("reading {}: {e}", source.name);
                    let _ = tx.blocking_send(InputEvent::Failed(msg));
                    return;
                }
            };
            let mut reader = BufReader::with_capacity(64 * 1024, text);
            let mut line = Vec::with_capacity(256);
            let mut done = 0;
            let mut batch = Vec::with_capacity(SEED_BATCH);
            loop {
                line.clear();
                match read_line_capped(&mut reader, &mut line, MAX_LINE) {
                    Ok(0) => break,
                    Ok(n) => {
                        done += n as u64;
                        batch.extend(parse_line(&line));
                        // Nothing buffered: the next read may wait, so what is read goes now.
                        if (batch.len() >= SEED_BATCH || reader.buffer().is_empty())
                            && !hand_over(&tx, &mut batch)
                        {
                            return;
                        }
                        read.store(before + done, Ordering::Relaxed);
                    }
                    Err(e) => {
                        let msg = format!("reading {}: {e}", source.name);
                        if hand_over(&tx, &mut batch) {
                            let _ = tx.blocking_send(InputEvent::Failed(msg));
                        }
                        return;
                    }
                }
            }
            if !hand_over(&tx, &mut batch) {
                return;
            }
            before += source.size.unwrap_or(done);
            read.store(before, Ordering::Relaxed);
        }
    });
}

/// Sends the batch (if any); false when the run is no longer listening.
fn hand_over(tx: &mpsc::Sender<InputEvent>, batch: &mut Vec<Seed>) -> bool {
    batch.is_empty()
        || tx
            .blocking_send(InputEvent::Seeds(std::mem::replace(
                batch,
                Vec::with_capacity(SEED_BATCH),
            )))
            .is_ok()
}

/// Reads one line (without its `\n`) keeping at most `cap` bytes of it; returns the bytes consumed.
fn read_line_capped<R: BufRead>(r: &mut R, out: &mut Vec<u8>, cap: usize) -> io::Result<usize> {
    let mut consumed = 0;
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(consumed);
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], i + 1),
            None => (buf, buf.len()),
        };
        let room = cap.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let found_newline = done > chunk.len();
        r.consume(done);
        consumed += done;
        if found_newline {
            return Ok(consumed);
        }
    }
}

/// One line → a seed, or `None` for blank lines and `#` comments.
#[must_use]
pub(crate) fn parse_line(raw: &[u8]) -> Option<Seed> {
    let trimmed = raw.trim_ascii();
    if trimmed.is_empty() || trimmed.starts_with(b"#") {
        return None;
    }
    let Ok(text) = std::str::from_utf8(trimmed) else {
        return Some(Seed::Invalid {
            line: String::from_utf8_lossy(trimmed).into_owned(),
            reason: "not valid UTF-8".into(),
            key: crate::url::key::line_key(trimmed),
        });
    };
    Some(match normalize(text) {
        Ok(url) => Seed::Url(url),
        Err(reason) => Seed::Invalid {
            line: text.to_owned(),
            reason,
            key: crate::url::key::line_key(trimmed),
        },
    })
}

/// Reads until `buf` is full or the reader ends (retrying on `Interrupted`); returns the bytes read. Shared by
/// every reader that needs a whole header or record or to know it was cut short: the BOM sniff, the `--resume`
/// links journal, the frontier's spill segments.
///
/// # Errors
/// A read failed.
pub(crate) fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(parse_line(b"   \r"), None);
        assert_eq!(parse_line(b"# comment"), None);
        assert!(
            matches!(parse_line(b" example.com/x \r"), Some(Seed::Url(u)) if u.as_str() == "https://example.com/x")
        );
        assert!(matches!(
            parse_line(b"ftp://x.test/"),
            Some(Seed::Invalid { .. })
        ));
        assert!(
            matches!(parse_line(b"http://x.test/\xff"), Some(Seed::Invalid { line, .. }) if line.contains('\u{fffd}'))
        );
    }

    #[test]
    fn capped_lines_consume_everything() {
        let data = format!("{}\nnext\n", "a".repeat(100));
        let mut r = BufReader::with_capacity(16, data.as_bytes());
        let mut out = Vec::new();
        assert_eq!(read_line_capped(&mut r, &mut out, 10).unwrap(), 101);
        assert_eq!(out.len(), 10);
        out.clear();
        read_line_capped(&mut r, &mut out, 10).unwrap();
        assert_eq!(out, b"next");
        out.clear();
        assert_eq!(read_line_capped(&mut r, &mut out, 10).unwrap(), 0);
    }

    #[test]
    fn absurdly_long_line_is_invalid() {
        let data = format!("http://x.test/{}\n", "a".repeat(MAX_LINE * 2));
        let mut r = BufReader::new(data.as_bytes());
        let mut out = Vec::new();
        read_line_capped(&mut r, &mut out, MAX_LINE).unwrap();
        assert!(matches!(parse_line(&out), Some(Seed::Invalid { .. })));
    }

    #[test]
    fn a_hard_link_is_the_same_file() {
        let dir = std::env::temp_dir().join(format!("crawlfish-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
        std::fs::write(&a, "x").unwrap();
        std::fs::write(&c, "x").unwrap();
        std::fs::hard_link(&a, &b).unwrap();
        let id = |p: &std::path::Path| FileId::of(&std::fs::metadata(p).unwrap());
        assert_eq!(id(&a), id(&b));
        assert_ne!(id(&a), id(&c));
        assert_eq!(id(&dir), None, "only regular files have an identity here");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
