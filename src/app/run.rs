//! [`run`]: one crawl, from a [`Config`] to an [`Outcome`].

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::app::cookies;
use crate::app::files as run_files;
use crate::app::{heartbeat, metrics, progress, signal::Signal};
use crate::config::Config;
use crate::crawl::{self, frontier, visit};
use crate::net::fetch;
use crate::output::{self, Summary, WriterEnd};
use crate::url::shard;
use crate::warc::{self, writer as warc_writer};
use crate::{input, polite};

/// Starts `--warc`'s writer (the file open, checked and cut by [`crate::app::files`]; `name` its file name),
/// `warcinfo` first.
fn start_warc(
    cfg: &Config,
    file: Option<warc_writer::WarcFile>,
    name: &str,
    cancel: CancellationToken,
) -> Option<(
    warc_writer::Archive,
    tokio::sync::oneshot::Receiver<WriterEnd>,
)> {
    let (file, opts) = (file?, cfg.warc.as_ref()?);
    let info = warc::warcinfo(name, &opts.command, &cfg.net.user_agent, cfg.polite.robots);
    let (archive, done) =
        warc_writer::spawn(file, &info, opts.level, opts.verbatim_headers, cancel);
    Some((archive.with_dedup(opts.dedup), done))
}

/// How a run ended.
#[derive(Debug)]
pub struct Outcome {
    /// What was written.
    pub summary: Summary,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Set when a signal interrupted the run.
    pub signal: Option<Signal>,
    /// How the writer ended (drained, broken pipe, failed).
    pub writer: WriterEnd,
    /// The input could not be read to its end.
    pub input_error: Option<String>,
    /// `--shard`: listed and linked URLs left to the other shards.
    pub other_shards: shard::OtherShards,
    /// `--shard`, as given.
    pub shard: Option<shard::Shard>,
    /// `--check-links`: the broken links, by the page that holds them.
    pub links: Option<crate::record::check::LinkReport>,
}

/// The WARC writer's end: a failure of it is the run's when the JSON writer did not fail first.
async fn warc_end(done: tokio::sync::oneshot::Receiver<WriterEnd>, writer: &mut WriterEnd) {
    let end = done
        .await
        .unwrap_or_else(|_| WriterEnd::Failed("WARC writer thread died".into()));
    if matches!(end, WriterEnd::Failed(_)) && !matches!(writer, WriterEnd::Failed(_)) {
        *writer = end;
    }
}

/// `-v`: the most body bytes that were in flight at once, against `--max-inflight-bytes`.
fn log_budget(budget: &crate::net::budget::Budget) {
    tracing::info!(
        peak = budget.peak(),
        cap = budget.cap(),
        "response body bytes in flight (--max-inflight-bytes)"
    );
}

/// The polite path and the crawl engine's context, each built from its own options.
fn engine(
    cfg: &Config,
    fetcher: fetch::Fetcher,
    archive: Option<warc_writer::Archive>,
    since: Option<Arc<output::since::Since>>,
    progress: Arc<output::Progress>,
    meter: Option<Arc<crate::net::meter::Meter>>,
) -> crawl::Ctx {
    let mut polite = polite::Polite::new(Arc::new(cfg.polite.clone()), fetcher);
    if let Some(archive) = archive {
        polite = polite.with_archive(archive);
        if let Some(since) = &since {
            polite = polite.with_since(since.clone());
        }
    }
    if let Some(meter) = meter {
        polite = polite.with_meter(meter);
    }
    let crawl_options = Arc::new(cfg.crawl.clone());
    let visit = visit::Live {
        polite,
        cfg: crawl_options.clone(),
        since: since.clone(),
        renderer: cfg
            .render
            .clone()
            .map(|r| Arc::new(crate::render::Renderer::new(Arc::new(r)))),
    };
    crawl::Ctx {
        cfg: crawl_options,
        visit: Arc::new(visit),
        progress,
        since,
    }
}

/// Every record is written. `--state`'s journal goes before the renames (the next cycle starts a new
/// `current.jsonl`). `-o FILE`'s is sealed when the frontier ran dry (`dry`: a later `--resume` of the complete
/// FILE proves it is FILE's and queues nothing), and kept whole when the run stopped with URLs still queued
/// (`--max-pages`), so that `--resume` goes on from it.
fn end_journal(path: &std::path::Path, state: bool, dry: bool) {
    if !state && !dry {
        return;
    }
    let ended = if state {
        std::fs::remove_file(path).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(anyhow::Error::from(e)),
        })
    } else {
        output::journal::seal(path)
    };
    if let Err(e) = ended {
        tracing::warn!(journal = %path.display(), "the links journal: {e:#}");
    }
}

/// Once the crawl has ended: the writers drain and report, and a `complete` run (no signal, the input read to
/// its end) whose records were all written becomes `--state` DIR's newest; an interrupted or failed one leaves
/// `current.jsonl` to be resumed.
async fn finish(
    written: tokio::sync::oneshot::Receiver<(Summary, WriterEnd)>,
    warc_done: Option<tokio::sync::oneshot::Receiver<WriterEnd>>,
    state: Option<output::state::State>,
    journal: Option<(std::path::PathBuf, bool)>,
    complete: bool,
) -> (Summary, WriterEnd) {
    let (summary, mut writer) = written.await.unwrap_or_else(|_| {
        (
            Summary::default(),
            WriterEnd::Failed("writer thread died".into()),
        )
    });
    // Every task (and so every archive handle) is gone: the WARC writer drains, then reports.
    if let Some(done) = warc_done {
        warc_end(done, &mut writer).await;
    }
    if let (Some((path, dry)), true) = (journal, complete && writer == WriterEnd::Drained) {
        end_journal(&path, state.is_some(), dry);
    }
    if let Some(state) = state {
        if complete && writer == WriterEnd::Drained {
            if let Err(e) = state.finish() {
                writer = WriterEnd::Failed(format!("{e:#}"));
            }
        }
    }
    (summary, writer)
}

/// What watches the counters on stderr (unless `-q`): the `--stats-interval` heartbeat when set, else the bar on
/// a terminal. Awaited after `stop`, so the bar is cleared (and the heartbeat's last line out) before the summary.
fn watch(
    cfg: &Config,
    progress: Arc<output::Progress>,
    started: Instant,
    stop: CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    if !cfg.summary {
        return None;
    }
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    match cfg.stats.every(terminal) {
        Some(every) => Some(heartbeat::spawn(
            progress,
            every,
            cfg.stats.json,
            started,
            stop,
        )),
        None => progress::spawn(progress, started, stop),
    }
}

/// Runs a crawl until its input is done, `shutdown` resolves, or the output goes away.
///
/// # Errors
/// Run-level failures before any record: unreadable input, unwritable output, no TLS backend.
pub async fn run(cfg: Config, shutdown: impl Future<Output = Signal>) -> Result<Outcome> {
    let started = Instant::now();
    let shard = cfg.crawl.shard;
    let sources = input::open(&cfg.files)?;
    run_files::refuse_side_files(&cfg, &input::regular_files(&sources))?;
    let metrics = metrics::bind(&cfg)?;
    let fetcher =
        fetch::Fetcher::new(Arc::new(cfg.net.clone())).context("cannot build the HTTP client")?;
    let jar = fetcher.jar().cloned();
    cookies::load_flag(&cfg, jar.as_ref())?;
    // Last, once everything else has been checked: -o (or --state's current.jsonl) and --warc are opened and
    // checked together, and truncated or cut only once all of them are (app/files.rs).
    let inputs = input::regular_files(&sources);
    let run_files::Files {
        out,
        since,
        state,
        warc,
        warc_name,
        held,
    } = run_files::open(&cfg, &inputs)?;
    cookies::load_state(&cfg, jar.as_ref());
    if let Some(dir) = cfg.render.as_ref().and_then(|r| r.screenshot.as_ref()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--screenshot {}: cannot make the folder", dir.display()))?;
    }
    let (handoff_io, handoff) = super::handoff::start(&cfg)?.unzip();
    let cancel = CancellationToken::new();
    let warc = start_warc(&cfg, warc, &warc_name, cancel.clone());
    let (archive, warc_done) = warc.unzip();
    let progress = Arc::new(output::Progress::default());
    let input_size = input::total_size(&sources).unwrap_or(0);
    progress.input_total.store(input_size, Ordering::Relaxed);
    let metrics = metrics::start(metrics, &progress)?;

    // 1,024 seeds read ahead, as when they came one at a time.
    let (seed_tx, seed_rx) = mpsc::channel(1024 / input::SEED_BATCH);
    input::spawn_reader(sources, seed_tx, progress.input_read.clone());
    let (record_tx, record_rx) = mpsc::channel(1024);
    let written = output::spawn_writer(
        out.writer.with_fields(cfg.output.fields),
        record_rx,
        progress.clone(),
        cancel.clone(),
    );
    let bar_stop = CancellationToken::new();
    let watcher = watch(&cfg, progress.clone(), started, bar_stop.clone());

    let spill = crawl::spill::Spill::new(cfg.crawl.spill_parent.clone());
    let frontier = frontier::Frontier::new(cfg.crawl.per_host, out.done)
        .with_spill(cfg.crawl.frontier_memory, spill);
    let budget = fetcher.budget().clone();
    let meter = metrics.as_ref().map(metrics::Running::meter);
    let ctx = engine(&cfg, fetcher, archive, since, progress, meter);
    let crawl = crawl::crawl(
        ctx,
        seed_rx,
        record_tx,
        frontier,
        out.requeue,
        handoff_io,
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
    // A failed spill (disk full) ends the run like a failed input: exit 2, every record so far written.
    let input_error = end.input_error.clone().or(end.spill_error.clone());
    let complete = signal.is_none() && input_error.is_none();
    let handed = super::handoff::stop_any(handoff).await;
    let journal = out.journal.map(|path| (path, end.ran_dry));
    let (summary, mut writer) = finish(written, warc_done, state, journal, complete).await;
    if let Some(handed) = handed {
        super::handoff::settle(&end, handed, complete, &mut writer);
    }
    let saved = cookies::save(&cfg, jar.as_ref(), complete && writer == WriterEnd::Drained);
    if let (Err(e), false) = (saved, matches!(writer, WriterEnd::Failed(_))) {
        writer = WriterEnd::Failed(e);
    }
    metrics::finish(metrics).await;
    bar_stop.cancel();
    if let Some(watcher) = watcher {
        let _ = watcher.await;
    }
    log_budget(&budget);
    // The run's locks end here, after --state's renames: a second run cannot open current.jsonl in between.
    drop(held);
    Ok(Outcome {
        summary,
        elapsed: started.elapsed(),
        signal,
        writer,
        input_error,
        other_shards: end.other_shards,
        shard,
        links: end.links,
    })
}
