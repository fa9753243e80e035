//! The output adapter: records to stdout or `-o FILE` ([`writer`], through [`sink`]), and the earlier runs read
//! back: `--resume` ([`resume`]), `--save DIR`'s files ([`save`]), `--since` ([`since`]), `--state DIR` ([`state`]); the `--handoff DIR` segments ([`handoff`]); [`self::file`] opens files without
//! changing them.
//!
//! Must not log records or decide exit codes; the writer reports a [`Summary`] and how it ended.

pub(crate) mod file;
pub(crate) mod handoff;
pub(crate) mod journal;
pub(crate) mod resume;
pub(crate) mod save;
pub(crate) mod since;
pub(crate) mod sink;
pub(crate) mod state;
mod writer;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use crate::record::ErrorKind;

pub(crate) use resume::Resumed;
pub(crate) use writer::{open, spawn_writer, Output};

/// What a resumed crawl queues again: the links journal's entries when there is one, else the records' links.
#[derive(Debug, Default)]
pub(crate) struct Requeue {
    pub records: Vec<Resumed>,
    pub journal: Option<journal::Replay>,
    /// FILE's pages first with their body (digest, URL), in FILE's order: the duplicate rule's table again.
    pub bodies: Vec<(u128, String)>,
}

/// Live counters for the progress bar, the `--stats-interval` heartbeat and `--metrics` (written by the writer,
/// the scheduler and the input thread; read by the bar, the heartbeat and the exposition). Relaxed atomics: each is
/// exact on its own, a reading of several is a near snapshot.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// Records written.
    pub written: AtomicU64,
    /// Records with an error or a status >= 400.
    pub errors: AtomicU64,
    /// Records with a response (any status): the pages a rate counts.
    pub fetched: AtomicU64,
    /// Body bytes of the records written.
    pub bytes: AtomicU64,
    /// Records by error kind, indexed as [`ErrorKind::ALL`].
    pub by_kind: [AtomicU64; ErrorKind::ALL.len()],
    /// Page fetches running.
    pub in_flight: AtomicU64,
    /// URLs waiting in the frontier (set by the scheduler each turn).
    pub queued: AtomicU64,
    /// Input bytes read (by the input thread).
    pub input_read: std::sync::Arc<AtomicU64>,
    /// The input's size when every input is a regular file; 0: unknown.
    pub input_total: AtomicU64,
    /// Records written by status class, as [`Summary::by_class`].
    pub by_class: [AtomicU64; 6],
}

/// What was written, for the summary line and the exit code.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Records written.
    pub records: u64,
    /// Records with an error or a status >= 400.
    pub failed: u64,
    /// Records by status class: index 1 = 1xx … 5 = 5xx.
    pub by_class: [u64; 6],
    /// Records by error kind.
    pub by_kind: BTreeMap<ErrorKind, u64>,
}

/// How the writer stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriterEnd {
    /// Every record received was written and flushed.
    Drained,
    /// The reader of stdout went away (`| head -1`): a normal, quiet end.
    BrokenPipe,
    /// Writing failed (disk full …): a run-level error (exit 2). The message names the output and what was done
    /// about it; the summary counts only the records written before.
    Failed(String),
}

/// `--keep`'s default: finished runs kept in `--state DIR`.
pub(crate) const DEFAULT_KEEP: u32 = 10;

/// Where records go and what is read back: `-o`, `--resume`, `--since`, `--state`, `--fields`.
#[derive(Debug, Clone, Default)]
pub struct OutputOptions {
    /// `-o FILE`; `None`: stdout.
    pub output: Option<std::path::PathBuf>,
    /// `--resume`: continue FILE, skipping what it holds.
    pub resume: bool,
    /// `--since FILE`.
    pub since: Option<std::path::PathBuf>,
    /// `--state DIR` and `--keep N`.
    pub state: Option<(std::path::PathBuf, usize)>,
    /// `--fields`/`--no-links`, with what reading the output back needs; `None`: every field.
    pub fields: Option<crate::record::fields::Fields>,
}
