//! `--handoff DIR` for one run: the inbox read at the start (after the run's files are locked, so a run that exits
//! 75 takes nothing), the outbox and inbox threads started and stopped, and the taken segments deleted once the
//! run's records are written.

use std::path::PathBuf;
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use tokio::sync::mpsc;

use crate::config::Config;
use crate::crawl::handoff::HandoffIo;
use crate::crawl::CrawlEnd;
use crate::output::handoff::inbox::{spawn_poller, Inbox};
use crate::output::handoff::outbox::{self, OutboxEnd};
use crate::output::handoff::{inbox_dir, run_name};
use crate::output::WriterEnd;

/// Segments the poller may have read ahead of the scheduler.
const POLLED_AHEAD: usize = 4;

/// The threads of a run with `--handoff`.
pub(super) struct Running {
    outbox: JoinHandle<OutboxEnd>,
    /// Dropped to stop the poller.
    stop: std::sync::mpsc::Sender<()>,
}

/// Opens this shard's inbox, takes what it holds, starts the threads. `None` without `--handoff`.
///
/// # Errors
/// DIR or the inbox cannot be created or listed, or a thread cannot be started.
pub(super) fn start(cfg: &Config) -> Result<Option<(HandoffIo, Running)>> {
    let (Some(dir), Some(shard)) = (&cfg.crawl.handoff, cfg.crawl.shard) else {
        return Ok(None);
    };
    let run = run_name(shard.index);
    let inbox_path = inbox_dir(dir, shard.index);
    let mut inbox = Inbox::open(inbox_path.clone(), &run)
        .with_context(|| format!("--handoff: cannot create {}", inbox_path.display()))?;
    let initial = inbox
        .scan()
        .with_context(|| format!("--handoff: cannot read {}", inbox_path.display()))?;
    let links: usize = initial.iter().map(|s| s.links.len()).sum();
    tracing::info!(
        "handoff: took {} segments ({links} links) from {}",
        initial.len(),
        inbox_path.display()
    );
    let (outbox, thread) =
        outbox::spawn(dir.clone(), run).context("--handoff: cannot start its thread")?;
    let (tx, polled) = mpsc::channel(POLLED_AHEAD);
    let (stop, stop_rx) = std::sync::mpsc::channel();
    spawn_poller(inbox, tx, stop_rx).context("--handoff: cannot start its thread")?;
    let io = HandoffIo {
        outbox,
        initial,
        polled,
    };
    Ok(Some((
        io,
        Running {
            outbox: thread,
            stop,
        },
    )))
}

/// Stops the poller and waits for the outbox to write what is left (the scheduler, its only sender, is gone).
/// [`stop`] for a run that has a `--handoff` outbox; `None` without one.
pub(super) async fn stop_any(running: Option<Running>) -> Option<OutboxEnd> {
    match running {
        Some(running) => Some(stop(running).await),
        None => None,
    }
}

async fn stop(running: Running) -> OutboxEnd {
    drop(running.stop);
    let joined = tokio::task::spawn_blocking(move || running.outbox.join()).await;
    match joined {
        Ok(Ok(end)) => end,
        _ => OutboxEnd {
            failed: Some("--handoff: its writer thread died".into()),
            ..OutboxEnd::default()
        },
    }
}

/// Logs what was handed over; deletes the segments taken when the run is `complete` and every record written,
/// or makes a failed handoff the run's failure (its links would be lost: exit 2, and nothing taken is deleted).
pub(super) fn settle(end: &CrawlEnd, handed: OutboxEnd, complete: bool, writer: &mut WriterEnd) {
    tracing::info!(
        "handoff: {} links handed over ({} put back for the next run) in {} segments; {} segments taken done",
        end.handed,
        end.deferred,
        handed.segments,
        end.handoff_taken.len()
    );
    if *writer != WriterEnd::Drained {
        return;
    }
    match handed.failed {
        Some(e) => *writer = WriterEnd::Failed(e),
        None if complete => delete_taken(&end.handoff_taken),
        None => {}
    }
}

/// Deletes the segments the run took, once every link in them is accounted for: its record written (and, with
/// `--state`, the run renamed into place), dropped as already seen, or written back to this shard's inbox. A
/// segment that cannot be deleted is taken again by the next run, whose seen set drops what is done.
fn delete_taken(taken: &[PathBuf]) {
    for path in taken {
        if let Err(e) = std::fs::remove_file(path) {
            tracing::warn!("--handoff: cannot delete {}: {e}", path.display());
        }
    }
}
