//! The `--stats-interval` heartbeat: one line on stderr per interval, for a run whose stderr is a log, not a
//! terminal (README "Progress and the heartbeat"). Text, or one JSON object per line under `--log-format json`.
//!
//! Reads the shared counters ([`Progress`]), as the bar does; must not touch records. The [`Snapshot`] and its
//! percent and ETA are the bar's too.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::output::Progress;
use crate::record::ErrorKind;

/// The counters at one moment.
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    pub elapsed: Duration,
    pub records: u64,
    pub fetched: u64,
    pub failed: u64,
    pub by_kind: Vec<(ErrorKind, u64)>,
    pub in_flight: u64,
    pub queued: u64,
    pub bytes: u64,
    /// Input bytes read and the input's size, when the size is known.
    pub input: Option<(u64, u64)>,
}

impl Snapshot {
    pub(crate) fn take(p: &Progress, elapsed: Duration) -> Snapshot {
        let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        let by_kind = ErrorKind::ALL
            .iter()
            .zip(&p.by_kind)
            .map(|(k, n)| (*k, load(n)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let total = load(&p.input_total);
        Snapshot {
            elapsed,
            records: load(&p.written),
            fetched: load(&p.fetched),
            failed: load(&p.errors),
            by_kind,
            in_flight: load(&p.in_flight),
            queued: load(&p.queued),
            bytes: load(&p.bytes),
            input: (total > 0).then(|| (load(&p.input_read).min(total), total)),
        }
    }

    /// Percent of the input read (0–100), when its size is known.
    #[allow(clippy::cast_precision_loss)] // a percent for display
    pub(crate) fn percent(&self) -> Option<f64> {
        let (read, total) = self.input?;
        Some(read as f64 * 100.0 / total as f64)
    }

    /// Time left at the pace so far, by input bytes read: only while the input is being read.
    #[allow(clippy::cast_precision_loss)] // an estimate for display
    pub(crate) fn eta(&self) -> Option<Duration> {
        let (read, total) = self.input?;
        if read == 0 || read >= total {
            return None;
        }
        let left = self.elapsed.as_secs_f64() * (total - read) as f64 / read as f64;
        Duration::try_from_secs_f64(left).ok()
    }
}

/// Pages (records with a response) per second.
#[allow(clippy::cast_precision_loss)] // a rate for display
pub(crate) fn rate(pages: u64, over: Duration) -> f64 {
    pages as f64 / over.as_secs_f64().max(0.001)
}

/// A duration for people: `45s`, `3m05s`, `1h02m03s`.
pub(crate) fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, m, sec) => format!("{h}h{m:02}m{sec:02}s"),
    }
}

/// A byte count for people: `512 B`, `12.3 kB`, `4.0 MB`, `1.2 GB` (powers of 1000).
#[allow(clippy::cast_precision_loss)] // a size for display
pub(crate) fn size(bytes: u64) -> String {
    let units = [(1e9, "GB"), (1e6, "MB"), (1e3, "kB")];
    let b = bytes as f64;
    units.iter().find(|(per, _)| b >= *per).map_or_else(
        || format!("{bytes} B"),
        |(per, u)| format!("{:.1} {u}", b / per),
    )
}

/// The text line, e.g. `crawlfish: stats 1m30s · 1200 records · 14 pages/s (12 overall) · failed 3 (timeout 3)
/// · 12 in flight · 340 queued · 4.2 MB · 45% ETA 1m50s`.
pub(crate) fn line(now: &Snapshot, before: &Snapshot) -> String {
    let recent = rate(
        now.fetched - before.fetched.min(now.fetched),
        now.elapsed.saturating_sub(before.elapsed),
    );
    let mut line = format!(
        "crawlfish: stats {} · {} records · {recent:.0} pages/s ({:.0} overall) · failed {}",
        clock(now.elapsed),
        now.records,
        rate(now.fetched, now.elapsed),
        now.failed,
    );
    if !now.by_kind.is_empty() {
        let kinds: Vec<String> = now
            .by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = write!(line, " ({})", kinds.join(", "));
    }
    let _ = write!(
        line,
        " · {} in flight · {} queued · {}",
        now.in_flight,
        now.queued,
        size(now.bytes)
    );
    if let Some(percent) = now.percent() {
        let _ = write!(line, " · {percent:.0}%");
        if let Some(eta) = now.eta() {
            let _ = write!(line, " ETA {}", clock(eta));
        }
    }
    line
}

/// The JSON form: `{"stats": {…}}`, one object per line like the summary's.
pub(crate) fn json(now: &Snapshot, before: &Snapshot) -> serde_json::Value {
    let kinds: serde_json::Map<String, serde_json::Value> = now
        .by_kind
        .iter()
        .map(|(k, n)| (k.as_str().to_owned(), (*n).into()))
        .collect();
    let interval = now.elapsed.saturating_sub(before.elapsed);
    serde_json::json!({ "stats": {
        "elapsed_s": now.elapsed.as_secs_f64(),
        "records": now.records,
        "fetched": now.fetched,
        "failed": now.failed,
        "pages_per_s": rate(now.fetched - before.fetched.min(now.fetched), interval),
        "pages_per_s_overall": rate(now.fetched, now.elapsed),
        "by_error_kind": kinds,
        "in_flight": now.in_flight,
        "queued": now.queued,
        "bytes": now.bytes,
        "input_bytes_read": now.input.map(|(read, _)| read),
        "input_bytes_total": now.input.map(|(_, total)| total),
        "percent": now.percent(),
        "eta_s": now.eta().map(|d| d.as_secs_f64()),
    }})
}

/// Starts the heartbeat, a line every `period` (JSON objects if `json`); when `stop` is cancelled it prints a
/// last line (if it printed any) and ends.
pub(crate) fn spawn(
    progress: Arc<Progress>,
    period: Duration,
    json_lines: bool,
    started: Instant,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut before = Snapshot::default();
        let mut printed = false;
        loop {
            let last = tokio::select! {
                () = stop.cancelled() => true,
                _ = tick.tick() => false,
            };
            if last && !printed {
                return;
            }
            let now = Snapshot::take(&progress, started.elapsed());
            let text = if json_lines {
                json(&now, &before).to_string()
            } else {
                line(&now, &before)
            };
            // One write per line, so it never interleaves with a log line; a gone stderr is ignored.
            let _ = std::io::stderr().write_all(format!("{text}\n").as_bytes());
            (before, printed) = (now, true);
            if last {
                return;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, fetched: u64, input: Option<(u64, u64)>) -> Snapshot {
        Snapshot {
            elapsed: Duration::from_secs(secs),
            records: fetched + 1,
            fetched,
            failed: 1,
            by_kind: vec![(ErrorKind::Timeout, 1)],
            in_flight: 2,
            queued: 7,
            bytes: 4_200_000,
            input,
        }
    }

    #[test]
    fn a_text_line_has_every_count() {
        let line = line(&at(90, 1200, Some((450, 1000))), &at(60, 800, None));
        assert_eq!(
            line,
            "crawlfish: stats 1m30s · 1201 records · 13 pages/s (13 overall) · failed 1 (timeout 1) \
             · 2 in flight · 7 queued · 4.2 MB · 45% ETA 1m50s"
        );
    }

    #[test]
    fn the_json_form_leaves_unknowns_null() {
        let v = json(&at(10, 100, None), &Snapshot::default());
        assert_eq!(v["stats"]["records"], 101);
        assert_eq!(v["stats"]["by_error_kind"]["timeout"], 1);
        assert!(v["stats"]["percent"].is_null() && v["stats"]["eta_s"].is_null());
    }

    #[test]
    fn no_eta_before_any_input_or_once_it_is_read() {
        assert_eq!(at(5, 0, Some((0, 10))).eta(), None);
        assert_eq!(at(5, 0, Some((10, 10))).eta(), None);
        assert_eq!(at(5, 0, Some((5, 10))).eta(), Some(Duration::from_secs(5)));
    }

    #[test]
    fn clocks_and_sizes() {
        assert_eq!(clock(Duration::from_secs(3723)), "1h02m03s");
        assert_eq!(clock(Duration::from_secs(9)), "9s");
        assert_eq!(size(512), "512 B");
        assert_eq!(size(12_300), "12.3 kB");
    }
}
