//! The progress bar: indicatif on stderr, drawn only when stderr is a terminal (never into a pipe or a log file).
//!
//! Reads the shared counters; must not touch records.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::output::Progress;

/// Starts the bar if stderr is a terminal; it stops when `stop` is cancelled.
pub(crate) fn spawn(progress: Arc<Progress>, stop: CancellationToken) {
    if !std::io::stderr().is_terminal() {
        return;
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(5));
    if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
        bar.set_style(style);
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let start = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let written = progress.written.load(Ordering::Relaxed);
            #[allow(clippy::cast_precision_loss)] // a rate for display
            let rate = written as f64 / start.elapsed().as_secs_f64().max(0.001);
            bar.set_message(format!(
                "{written} records · {rate:.0} pages/s · {} failed · {} in flight",
                progress.errors.load(Ordering::Relaxed),
                progress.in_flight.load(Ordering::Relaxed),
            ));
            bar.tick();
        }
        bar.finish_and_clear();
    });
}
