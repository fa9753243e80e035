//! The progress bar: indicatif on stderr, drawn only when stderr is a terminal (never into a pipe or a log file).
//!
//! Reads the shared counters; must not touch records. One line: when the input's size is known (regular files)
//! the percent read and an ETA, then records, rate, failures, in flight and the queue.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::app::heartbeat::{clock, rate, Snapshot};
use crate::output::Progress;

/// The bar's message, e.g. `40% · ETA 12s · 20 records · 17 pages/s · 0 failed · 4 in flight · 12 queued`: the
/// percent and ETA (input of a known size only) first, where a narrow terminal does not cut them off.
fn message(now: &Snapshot) -> String {
    let mut msg = String::new();
    if let Some(percent) = now.percent() {
        let _ = write!(msg, "{percent:.0}% · ");
        if let Some(eta) = now.eta() {
            let _ = write!(msg, "ETA {} · ", clock(eta));
        }
    }
    let _ = write!(
        msg,
        "{} records · {:.0} pages/s · {} failed · {} in flight · {} queued",
        now.records,
        rate(now.fetched, now.elapsed),
        now.failed,
        now.in_flight,
        now.queued,
    );
    msg
}

/// Starts the bar if stderr is a terminal; it is cleared when `stop` is cancelled, before the task ends.
pub(crate) fn spawn(
    progress: Arc<Progress>,
    started: Instant,
    stop: CancellationToken,
) -> Option<JoinHandle<()>> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(5));
    if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {wide_msg}") {
        bar.set_style(style);
    }
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            bar.set_message(message(&Snapshot::take(&progress, started.elapsed())));
            bar.tick();
        }
        bar.finish_and_clear();
    }))
}
