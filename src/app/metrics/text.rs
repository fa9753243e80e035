//! The Prometheus text exposition format (version 0.0.4) of a run's counters: `# HELP` and `# TYPE` before each
//! family, every label value of a family always present (a series never appears mid-run), names `crawlfish_*`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::net::meter::{Meter, BUCKETS};
use crate::output::Progress;
use crate::record::ErrorKind;

/// The `Content-Type` of [`render`]'s text.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The status classes' label values, by index (1 = 1xx … 5 = 5xx).
const CLASSES: [&str; 6] = ["", "1xx", "2xx", "3xx", "4xx", "5xx"];

fn get(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn single(out: &mut String, (name, kind, help): (&str, &str, &str), value: u64) {
    family(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

fn by_class(out: &mut String, name: &str, help: &str, counts: &[AtomicU64; 6]) {
    family(out, name, "counter", help);
    for (label, count) in CLASSES.iter().zip(counts).skip(1) {
        let _ = writeln!(out, "{name}{{class=\"{label}\"}} {}", get(count));
    }
}

fn by_kind(out: &mut String, name: &str, help: &str, counts: &[AtomicU64]) {
    family(out, name, "counter", help);
    for (kind, count) in ErrorKind::ALL.iter().zip(counts) {
        let _ = writeln!(out, "{name}{{kind=\"{}\"}} {}", kind.as_str(), get(count));
    }
}

fn histogram(out: &mut String, meter: &Meter) {
    let name = "crawlfish_request_duration_seconds";
    family(
        out,
        name,
        "histogram",
        "Time from sending a request to its body read (or its error).",
    );
    let mut cumulative = 0;
    for (bound, count) in BUCKETS.iter().zip(&meter.buckets) {
        cumulative += get(count);
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
    }
    cumulative += get(&meter.buckets[BUCKETS.len()]);
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(out, "{name}_sum {}", get(&meter.micros) as f64 / 1e6);
    let _ = writeln!(out, "{name}_count {cumulative}");
}

/// The exposition of the records written so far (`progress`) and the requests sent (`meter`).
pub(crate) fn render(progress: &Progress, meter: &Meter) -> String {
    let mut out = String::with_capacity(4096);
    let records = ("crawlfish_records_total", "counter", "Records written.");
    single(&mut out, records, get(&progress.written));
    let failed = "Records written with an error or a status >= 400.";
    single(
        &mut out,
        ("crawlfish_records_failed_total", "counter", failed),
        get(&progress.errors),
    );
    let help = "Records written with a status, by status class.";
    by_class(
        &mut out,
        "crawlfish_records_by_status_total",
        help,
        &progress.by_class,
    );
    let help =
        "Records written with an error, by error kind (robots_disallowed: robots.txt denials).";
    by_kind(
        &mut out,
        "crawlfish_record_errors_total",
        help,
        &progress.by_kind,
    );
    let help = "HTTP responses received (robots.txt, redirect hops and retries included), by status class.";
    by_class(&mut out, "crawlfish_requests_total", help, &meter.by_class);
    let help = "HTTP requests that ended in an error (no response, or a body that broke off), by error kind.";
    by_kind(
        &mut out,
        "crawlfish_request_errors_total",
        help,
        &meter.by_kind,
    );
    let bytes = (
        "crawlfish_received_bytes_total",
        "counter",
        "Response body bytes received, decoded.",
    );
    single(&mut out, bytes, get(&meter.bytes));
    let retries = (
        "crawlfish_retries_total",
        "counter",
        "Requests that were a retry.",
    );
    single(&mut out, retries, get(&meter.retries));
    histogram(&mut out, meter);
    let requests = (
        "crawlfish_requests_in_flight",
        "gauge",
        "HTTP requests sent and not yet ended.",
    );
    single(&mut out, requests, get(&meter.in_flight));
    let urls = (
        "crawlfish_urls_in_flight",
        "gauge",
        "URLs being fetched (their redirects and retries included).",
    );
    single(&mut out, urls, get(&progress.in_flight));
    let queued = (
        "crawlfish_urls_queued",
        "gauge",
        "URLs waiting in the frontier (set by the scheduler each turn).",
    );
    single(&mut out, queued, get(&progress.queued));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_help_and_type_and_every_series_a_value() {
        let text = render(&Progress::default(), &Meter::default());
        let mut typed = 0;
        for line in text.lines() {
            if line.starts_with("# TYPE crawlfish_") {
                typed += 1;
            } else if !line.starts_with("# HELP crawlfish_") {
                let (series, value) = line.rsplit_once(' ').unwrap();
                assert!(series.starts_with("crawlfish_"), "{line}");
                assert!(value.parse::<f64>().is_ok(), "{line}");
            }
        }
        assert_eq!(typed, 12);
        assert!(text.contains("crawlfish_request_duration_seconds_bucket{le=\"+Inf\"} 0\n"));
    }
}
