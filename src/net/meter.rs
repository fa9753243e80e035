//! `--metrics`' request counters: plain atomics bumped where a request's `-vv` line is ended
//! ([`crate::net::request_log::Sent`]), read by the run wiring's exposition (`crate::app::metrics`).
//!
//! Relaxed atomics only: a scrape may see one request's counters half-updated, never a torn value.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;

use crate::record::ErrorKind;

/// The upper bounds of the response-time histogram's buckets, in seconds (`+Inf` is implied).
pub(crate) const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Counters of every request sent through the polite path (pages, hops, retries, robots.txt, sitemaps).
#[derive(Debug, Default)]
pub(crate) struct Meter {
    /// Responses by status class: index 1 = 1xx … 5 = 5xx.
    pub by_class: [AtomicU64; 6],
    /// Requests that ended in an error (no response, or a body that broke off), by [`ErrorKind::ALL`]'s order.
    pub by_kind: [AtomicU64; ErrorKind::ALL.len()],
    /// Body bytes received (after decoding).
    pub bytes: AtomicU64,
    /// Requests that were a retry (attempt > 1).
    pub retries: AtomicU64,
    /// Requests sent and not yet ended.
    pub in_flight: AtomicU64,
    /// Ended requests by duration: `buckets[i]` counts those in `(BUCKETS[i-1], BUCKETS[i]]`, the last slot
    /// those above every bound (not cumulative; the exposition sums them).
    pub buckets: [AtomicU64; BUCKETS.len() + 1],
    /// The sum of the ended requests' durations, in microseconds.
    pub micros: AtomicU64,
}

impl Meter {
    /// A request is sent (`attempt`: this hop's try, 1 = first).
    pub(crate) fn start(&self, attempt: u32) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        if attempt > 1 {
            self.retries.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A request ended after `took`, with its status (if a head arrived), its error and its body's length.
    pub(crate) fn end(
        &self,
        took: Duration,
        status: Option<StatusCode>,
        error: Option<ErrorKind>,
        bytes: u64,
    ) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        if let Some(s) = status {
            self.by_class[usize::from(s.as_u16() / 100).min(5)].fetch_add(1, Ordering::Relaxed);
        }
        if let Some(i) = error.and_then(|k| ErrorKind::ALL.iter().position(|a| *a == k)) {
            self.by_kind[i].fetch_add(1, Ordering::Relaxed);
        }
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// A request whose task was aborted before it ended: only no longer in flight.
    pub(crate) fn abort(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_lands_in_its_class_kind_and_bucket() {
        let m = Meter::default();
        m.start(2);
        m.end(
            Duration::from_millis(30),
            Some(StatusCode::NOT_FOUND),
            Some(ErrorKind::Body),
            7,
        );
        assert_eq!(m.by_class[4].load(Ordering::Relaxed), 1);
        assert_eq!(m.by_kind[6].load(Ordering::Relaxed), 1);
        assert_eq!(
            m.buckets[3].load(Ordering::Relaxed),
            1,
            "30 ms is in (25 ms, 50 ms]"
        );
        assert_eq!(m.retries.load(Ordering::Relaxed), 1);
        assert_eq!(m.in_flight.load(Ordering::Relaxed), 0);
        assert_eq!(m.bytes.load(Ordering::Relaxed), 7);
        m.start(1);
        m.end(Duration::from_secs(60), None, None, 0);
        assert_eq!(m.buckets[BUCKETS.len()].load(Ordering::Relaxed), 1);
    }
}
