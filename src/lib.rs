//! crawlfish: a URL list in, one JSON line per URL out.
//!
//! # Architecture
//! ```text
//! input (thread) ──seeds──▶ crawl::crawl (scheduler loop) ──spawn──▶ visit tasks (Visit seam: visit.rs)
//!                              │  frontier: seen-set, per-host queues,          │ polite.rs, per hop:
//!                              │  strict BFS levels, round-robin                 │ robots → backoff/-r/Crawl-delay
//!                              │  global Semaphore (permit before spawn)         │ → fetch.rs (one exchange)
//!                              │  sitemap steps (read as the frontier drains)    │ → redirect? scope? next hop
//!                              └──records (bounded mpsc)──▶ output writer (thread) ──▶ stdout / -o FILE
//! ```
//! * One owner per thing: the scheduler owns the frontier and the `JoinSet`; tasks return what they found and
//!   mutate nothing shared; the writer alone touches the output; `main` alone picks the exit code.
//! * Exactly one record per distinct input line or URL: invalid lines are answered by the scheduler at once,
//!   every dispatched task's outcome (even a panic) becomes a record, nothing is dropped on a full channel
//!   (senders wait, so a slow consumer slows the crawl).
//! * Shutdown: `run` takes the shutdown future as a parameter. On it, dispatch stops, in-flight fetches get
//!   [`crawl::GRACE`], the rest are aborted; the writer holds no token: it drains and flushes whatever was sent.
//!   A broken pipe on stdout cancels the run quietly.
//! * The input and the writer run on plain threads: blocking reads and writes never stall the runtime's workers.
//!
//! * Every request (page, redirect hop, retry, robots.txt, sitemap file) takes `polite.rs`'s one path; `fetch.rs`
//!   makes one exchange and `host.rs` holds per-host state, and neither imports the other.
//!
//! * Names: `dns.rs`'s one resolver, shared by every HTTP client of the run (one per host): `--resolve`, RFC 6761
//!   names, `/etc/hosts`, then DNS (hickory with its cache off; `dns_cache.rs`'s TTL cache, bounded in entries and
//!   in addresses per entry; overlapping lookups of a name shared).
//!
//! * `--warc FILE`: `polite.rs` captures every exchange it makes (`warc.rs` builds the records, the task
//!   compresses them) and `warc_writer.rs`'s thread alone writes the file, one gzip member per record, sending
//!   the response member's offset back for the record's `warc_offset`.
//!
//! * `--shard I/N`: `shard.rs` owns the partition (XXH3-64 of the registrable domain, mod N). The scheduler drops
//!   other shards' URLs where they enter (listed seeds, new links), so the frontier never holds them, and
//!   `polite.rs` follows no redirect (nor robots.txt redirect) to their hosts; the counts reach the summary.
//! * Proxies and TLS trust (`net.rs`, `trust.rs`) are resolved once per run into the options every client is
//!   built with: they change where a connection goes and whom it trusts, never which requests are made.
//!
//! * Recurring runs: `since.rs` reads an earlier run's output (validators, digests, where each record is) and
//!   decides `change`; `state.rs` owns `--state DIR` (lock, `current.jsonl`, rename, `latest.jsonl`, `--keep`).
//!   Both read files only after `resume.rs` has proven them crawlfish's own output. `run_files.rs` opens the
//!   output and `--warc FILE` together: each opened unchanged and checked, then truncated or cut only once all are.
//!
//! * The command line: `cli.rs` defines the flags and validates them into a `Config`; `cli_command.rs` adds a
//!   `CRAWLFISH_<NAME>` variable to every option generically and renders `--generate`; `units.rs` parses
//!   durations and sizes. `request_log.rs` is the `-vv` line that `polite.rs` logs per request.
//!
//! # Where this differs from DESIGN.md, and why
//! * `--per-host` is enforced by the frontier's in-flight counters, not a per-host semaphore: the scheduler is the
//!   only dispatcher, so a counter it owns is exact and needs no permit juggling. A redirect hop to another host
//!   counts against the job's host, not the hop's; the hop's host still gets its robots.txt, `-r` and backoff,
//!   and the task's global permit bounds it.
//! * The host table (`host::Hosts`) is shared by the tasks behind one mutex (a hop may land on any host), not
//!   owned by the scheduler: a lookup is a hash and a lock per request, far below a request's cost.
//! * Title and links come from `scan.rs`, a linear single-pass scanner, not scraper: parsing bounds the crawl, and
//!   html5ever's tree builder is quadratic on deep nesting. scraper is kept for `--select`, behind `depth.rs`
//!   (nesting past 512 flattened before html5ever runs) and `select.rs` (a metered parse, a capped extract).
//! * Pages up to 256 KiB are parsed inside the fetch task (~20 µs); only bigger ones and `--select` go to the
//!   blocking pool. The hand-off cost more than the parse (futex wake/park was ~10 % of a profile).
//! * Breadth-first is strict (level by level), so a URL's `depth` is always its smallest.

pub mod bom;
pub mod cli;
pub mod cli_command;
pub mod crawl;
pub mod depth;
pub mod digest;
pub(crate) mod dns;
pub(crate) mod dns_cache;
pub mod fetch;
pub mod fields;
pub mod frontier;
pub mod host;
pub mod input;
pub mod logs;
pub mod net;
pub mod output;
pub mod parse;
pub mod polite;
pub mod process;
pub mod progress;
pub mod record;
mod request_log;
pub mod resume;
pub mod robots;
pub mod robots_cache;
mod run_files;
pub mod scan;
pub mod select;
pub mod shard;
pub mod signal;
pub mod since;
pub mod sink;
pub mod sitemap;
pub mod state;
pub mod trust;
mod units;
pub mod url;
pub mod visit;
pub mod warc;
mod warc_gzip;
pub mod warc_writer;

#[cfg(test)]
mod crawl_model;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use cli::{Cli, Config};
pub use output::{Summary, WriterEnd};
pub use record::{ErrorKind, Record};
pub use signal::Signal;

/// Starts `--warc FILE`'s writer (the file open, checked and cut by `run_files.rs`), `warcinfo` first.
fn start_warc(
    cfg: &Config,
    path: &std::path::Path,
    file: warc_writer::WarcFile,
    cancel: CancellationToken,
) -> (
    warc_writer::Archive,
    tokio::sync::oneshot::Receiver<WriterEnd>,
) {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let info = warc::warcinfo(&name, &args, &cfg.user_agent, cfg.robots);
    warc_writer::spawn(file, &info, cfg.warc_level, cancel)
}

/// How a run ended.
#[derive(Debug)]
pub struct Outcome {
    pub summary: Summary,
    pub elapsed: Duration,
    /// Set when a signal interrupted the run.
    pub signal: Option<Signal>,
    pub writer: WriterEnd,
    /// The input could not be read to its end.
    pub input_error: Option<String>,
    /// `--shard`: listed and linked URLs left to the other shards.
    pub other_shards: shard::OtherShards,
    /// `--shard`, as given.
    pub shard: Option<shard::Shard>,
}

/// Runs a crawl until its input is done, `shutdown` resolves, or the output goes away.
///
/// # Errors
/// Run-level failures before any record: unreadable input, unwritable output, no TLS backend.
pub async fn run(cfg: Config, shutdown: impl Future<Output = Signal>) -> Result<Outcome> {
    let started = Instant::now();
    let shard = cfg.shard;
    let cfg = Arc::new(cfg);
    let sources = input::open(&cfg.files)?;
    let fetcher = fetch::Fetcher::new(cfg.clone()).context("cannot build the HTTP client")?;
    // Last, once everything else has been checked: -o (or --state's current.jsonl) and --warc are opened and
    // checked together, and truncated or cut only once all of them are (`run_files.rs`).
    let inputs = input::regular_files(&sources);
    let run_files::Files {
        out,
        since,
        state,
        warc,
    } = run_files::open(&cfg, &inputs)?;
    let cancel = CancellationToken::new();
    let warc = match (warc, &cfg.warc) {
        (Some(file), Some(path)) => Some(start_warc(&cfg, path, file, cancel.clone())),
        _ => None,
    };
    let (archive, warc_done) = warc.unzip();
    let progress = Arc::new(output::Progress::default());

    let (seed_tx, seed_rx) = mpsc::channel(1024);
    input::spawn_reader(sources, seed_tx);
    let (record_tx, record_rx) = mpsc::channel(1024);
    let written = output::spawn_writer(
        out.writer.with_fields(cfg.fields),
        record_rx,
        progress.clone(),
        cancel.clone(),
    );
    let bar_stop = CancellationToken::new();
    if cfg.summary {
        progress::spawn(progress.clone(), bar_stop.clone());
    }

    let frontier = frontier::Frontier::new(cfg.per_host, out.done);
    let mut polite = polite::Polite::new(cfg.clone(), fetcher);
    if let Some(archive) = archive {
        polite = polite.with_archive(archive);
    }
    let visit = visit::Live {
        polite,
        since: since.clone(),
    };
    let ctx = crawl::Ctx {
        cfg,
        visit: Arc::new(visit),
        progress,
        since,
    };
    let crawl = crawl::crawl(
        ctx,
        seed_rx,
        record_tx,
        frontier,
        out.resumed,
        cancel.clone(),
    );
    tokio::pin!(crawl);
    let mut signal = None;
    let end = tokio::select! {
        end = &mut crawl => end,
        sig = shutdown => {
            signal = Some(sig);
            cancel.cancel();
            crawl.await
        }
    };
    bar_stop.cancel();
    let (summary, mut writer) = written.await.unwrap_or_else(|_| {
        (
            Summary::default(),
            WriterEnd::Failed("writer thread died".into()),
        )
    });
    // Every task (and so every archive handle) is gone: the WARC writer drains, then reports.
    if let Some(done) = warc_done {
        let end = done
            .await
            .unwrap_or_else(|_| WriterEnd::Failed("WARC writer thread died".into()));
        if matches!(end, WriterEnd::Failed(_)) && !matches!(writer, WriterEnd::Failed(_)) {
            writer = end;
        }
    }
    // A complete run becomes DIR's newest; an interrupted or failed one leaves current.jsonl to be resumed.
    if let Some(state) = state {
        if signal.is_none() && writer == WriterEnd::Drained && end.input_error.is_none() {
            if let Err(e) = state.finish() {
                writer = WriterEnd::Failed(format!("{e:#}"));
            }
        }
    }
    Ok(Outcome {
        summary,
        elapsed: started.elapsed(),
        signal,
        writer,
        input_error: end.input_error,
        other_shards: end.other_shards,
        shard,
    })
}
