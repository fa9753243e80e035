//! Where the writer's lines go: whole record lines are buffered, written, and counted only once the write
//! returned for them, so the summary counts records that reached the file. When a write to `-o FILE` fails
//! (disk full, quota, file size limit), FILE is cut back to its last complete record, so it holds whole lines
//! only and `--resume` can complete it.
//!
//! stdout and devices are never cut: crawlfish did not open them and does not know who else writes there.

use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::Ordering;

use crate::output::{journal, Progress, Summary, WriterEnd};
use crate::record::fields::Fields;
use crate::record::{ErrorKind, Record};

/// Buffered bytes that trigger a write even while records keep coming.
const FLUSH_AT: usize = 64 * 1024;

/// A buffer grown by a huge record is given back past this size once written.
const KEEP_CAPACITY: usize = 4 * FLUSH_AT;

/// What a record adds to the [`Summary`] once it is written.
#[derive(Debug, Clone, Copy)]
struct Tally {
    failed: bool,
    class: Option<usize>,
    kind: Option<ErrorKind>,
    bytes: u64,
}

impl Tally {
    fn of(r: &Record) -> Tally {
        Tally {
            failed: r.is_failure(),
            class: r.status.map(|s| usize::from(s / 100).min(5)),
            kind: r.error.as_ref().map(|e| e.kind),
            bytes: r.bytes,
        }
    }

    fn add(self, s: &mut Summary, progress: &Progress) {
        s.records += 1;
        progress.written.fetch_add(1, Ordering::Relaxed);
        if self.failed {
            s.failed += 1;
            progress.errors.fetch_add(1, Ordering::Relaxed);
        }
        progress.bytes.fetch_add(self.bytes, Ordering::Relaxed);
        if let Some(class) = self.class {
            s.by_class[class] += 1;
            progress.fetched.fetch_add(1, Ordering::Relaxed);
            progress.by_class[class].fetch_add(1, Ordering::Relaxed);
        }
        if let Some(kind) = self.kind {
            *s.by_kind.entry(kind).or_default() += 1;
            if let Some(i) = ErrorKind::ALL.iter().position(|k| *k == kind) {
                progress.by_kind[i].fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

enum Target {
    Stdout(io::Stdout),
    File {
        file: File,
        /// A regular file, which a failed write is cut back in.
        cut: bool,
    },
}

/// The output stream, as the writer thread owns it.
pub(crate) struct Sink {
    target: Target,
    /// For messages: "stdout" or FILE's path.
    name: String,
    /// Whole lines not yet written.
    buf: Vec<u8>,
    /// For each buffered line: where it ends in `buf`, and what it adds to the summary.
    pending: Vec<(usize, Tally)>,
    /// Length of FILE up to its last complete record written (where `buf` goes).
    at: u64,
    /// `--fields`: only these are written (`None`: the whole record, serialised directly).
    fields: Option<Fields>,
    /// Crawl mode with `-o FILE`: the links journal, written before the lines its entries belong to.
    journal: Option<journal::Writer>,
    /// `links` kept whatever `--fields`/`--no-links` say ([`Sink::needing_links`]).
    links_needed: bool,
}

impl Sink {
    #[must_use]
    pub(crate) fn stdout() -> Sink {
        Sink::new(Target::Stdout(io::stdout()), "stdout".into(), 0)
    }

    /// FILE, opened by the caller and positioned at `at`, the end of its complete records.
    #[must_use]
    pub(crate) fn file(file: File, name: String, at: u64) -> Sink {
        let cut = file.metadata().is_ok_and(|m| m.is_file());
        Sink::new(Target::File { file, cut }, name, at)
    }

    fn new(target: Target, name: String, at: u64) -> Sink {
        Sink {
            target,
            name,
            buf: Vec::with_capacity(FLUSH_AT),
            pending: Vec::new(),
            at,
            fields: None,
            journal: None,
            links_needed: false,
        }
    }

    /// Keeps `links` (and `meta_nofollow`) in every record whatever [`Sink::with_fields`] is given: a resumed
    /// FILE written before links journals is resumed from its records' links.
    #[must_use]
    pub(crate) fn needing_links(mut self, needed: bool) -> Sink {
        self.links_needed = needed;
        self
    }

    /// Journals each record's first-queued links from now on ([`crate::output::journal`]).
    pub(crate) fn set_journal(&mut self, journal: journal::Writer) {
        self.journal = Some(journal);
    }

    /// Writes only `fields` of each record from now on (`--fields`, `--no-links`).
    #[must_use]
    pub(crate) fn with_fields(mut self, fields: Option<Fields>) -> Sink {
        self.fields = fields.map(|f| if self.links_needed { f.with_links() } else { f });
        self
    }

    /// Buffers `record` as one line.
    ///
    /// # Errors
    /// The record cannot be serialised (nothing is buffered then).
    pub(crate) fn push(&mut self, record: &Record) -> serde_json::Result<()> {
        let start = self.buf.len();
        let written = match self.fields {
            None => serde_json::to_writer(&mut self.buf, record),
            Some(fields) => fields.write(&mut self.buf, record),
        };
        if let Err(e) = written {
            self.buf.truncate(start);
            return Err(e);
        }
        self.buf.push(b'\n');
        if let Some(journal) = self.journal.as_mut() {
            journal.add(self.at + start as u64, record);
        }
        self.pending.push((self.buf.len(), Tally::of(record)));
        Ok(())
    }

    #[must_use]
    pub(crate) fn wants_flush(&self) -> bool {
        self.buf.len() >= FLUSH_AT
    }

    /// Writes the buffered lines and adds those written whole to `summary`.
    ///
    /// # Errors
    /// How the writer ends: a broken pipe, or a failure (FILE then cut back to its last complete record).
    pub(crate) fn flush(
        &mut self,
        summary: &mut Summary,
        progress: &Progress,
    ) -> Result<(), WriterEnd> {
        // The entries first: a record line in FILE always has its entry in the journal (a kill -9 keeps the
        // order of one process's writes). A failed journal write writes no line.
        if let Some(journal) = self.journal.as_mut() {
            journal.write().map_err(WriterEnd::Failed)?;
        }
        let mut done = 0;
        let result = loop {
            if done == self.buf.len() {
                break self.target.flush();
            }
            match self.target.write(&self.buf[done..]) {
                Ok(0) => break Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        let whole = self.pending.partition_point(|(end, _)| *end <= done);
        let whole_bytes = whole.checked_sub(1).map_or(0, |last| self.pending[last].0);
        for (_, tally) in self.pending.drain(..whole) {
            tally.add(summary, progress);
        }
        self.at += whole_bytes as u64;
        match result {
            Ok(()) => {
                self.buf.clear();
                self.buf.shrink_to(KEEP_CAPACITY);
                Ok(())
            }
            Err(e) => Err(self.fail(&e)),
        }
    }

    fn fail(&mut self, e: &io::Error) -> WriterEnd {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return WriterEnd::BrokenPipe;
        }
        let name = &self.name;
        let Target::File { file, cut: true } = &mut self.target else {
            return WriterEnd::Failed(format!("cannot write {name}: {e}"));
        };
        WriterEnd::Failed(match file.set_len(self.at) {
            Ok(()) => format!(
                "cannot write {name}: {e}; it was cut back to its last complete record (run again, with --resume \
                 for -o, to complete it)"
            ),
            Err(cut) => format!(
                "cannot write {name}: {e}; cutting it back to its last complete record failed too ({cut}), so its \
                 last line may be torn"
            ),
        })
    }
}

impl Target {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Target::Stdout(out) => out.write(buf),
            Target::File { file, .. } => file.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Target::Stdout(out) => out.flush(),
            Target::File { .. } => Ok(()), // unbuffered: written is handed to the kernel
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(url: &str) -> Record {
        Record::failed(url, 0, None, ErrorKind::Dns, "x".into())
    }

    #[test]
    fn a_failed_write_is_cut_back_to_whole_records() {
        let dir = std::env::temp_dir().join(format!("crawlfish-sink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.jsonl");
        let file = File::create(&path).unwrap();
        let mut sink = Sink::file(file.try_clone().unwrap(), "out.jsonl".into(), 0);
        let (mut summary, progress) = (Summary::default(), Progress::default());
        sink.push(&record("http://a.test/1")).unwrap();
        sink.flush(&mut summary, &progress).unwrap();
        let first = std::fs::read(&path).unwrap();
        assert_eq!(summary.records, 1);
        // A write that stops halfway through the second line, as a full disk does.
        let mut torn = file;
        torn.write_all(&first[..first.len() / 2]).unwrap();
        sink.push(&record("http://a.test/2")).unwrap();
        let WriterEnd::Failed(msg) = sink.fail(&io::Error::from_raw_os_error(28)) else {
            panic!("not a failure");
        };
        assert!(
            msg.contains("out.jsonl") && msg.contains("--resume"),
            "{msg}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), first);
        assert_eq!(summary.records, 1, "only records on disk are counted");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_device_is_not_cut() {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let mut sink = Sink::file(file, "/dev/full".into(), 0);
        let (mut summary, progress) = (Summary::default(), Progress::default());
        sink.push(&record("http://a.test/1")).unwrap();
        let end = sink.flush(&mut summary, &progress).unwrap_err();
        assert!(matches!(end, WriterEnd::Failed(m) if m.contains("/dev/full")));
        assert_eq!(summary.records, 0);
    }
}
