//! The run's summary on stderr: one line for people, one JSON object for `--log-format json`.

use std::fmt::Write as _;

use crate::app::Outcome;
use crate::record::check::LinkReport;

/// Records with a response (any status): the pages a rate counts.
fn fetched(o: &Outcome) -> u64 {
    o.summary.by_class.iter().sum()
}

/// Fetched pages per second; `None` when no URL got a response (every one failed before one came).
fn pages_per_s(o: &Outcome) -> Option<f64> {
    let n = fetched(o);
    (n > 0).then(|| crate::app::heartbeat::rate(n, o.elapsed))
}

/// The summary line, e.g. `crawlfish: 20 records in 1.20 s (17 pages/s) · 2xx 20`. The rate counts fetched pages
/// only; with no response at all it is left out.
pub(crate) fn line(o: &Outcome) -> String {
    let s = &o.summary;
    let secs = o.elapsed.as_secs_f64();
    let mut line = format!("crawlfish: {} records in {secs:.2} s", s.records);
    if let Some(rate) = pages_per_s(o) {
        let _ = write!(line, " ({rate:.0} pages/s)");
    }
    for (class, n) in s.by_class.iter().enumerate().skip(1) {
        if *n > 0 {
            let _ = write!(line, " · {class}xx {n}");
        }
    }
    let errors: u64 = s.by_kind.values().sum();
    if errors > 0 {
        let kinds: Vec<String> = s.by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let _ = write!(line, " · errors {errors} ({})", kinds.join(", "));
    }
    if let Some(shard) = o.shard {
        let _ = write!(
            line,
            " · shard {shard}: skipped {} listed and {} linked URLs of other shards",
            o.other_shards.listed, o.other_shards.linked
        );
    }
    if o.signal.is_some() {
        line.push_str(" · interrupted");
    }
    if let Some(mb) = peak_rss_mb() {
        let _ = write!(line, " · peak RSS {mb:.1} MB");
    }
    line
}

/// The summary as one JSON object, so a `--log-format json` stderr stays one JSON value per line. `pages_per_s`
/// is the line's rate (fetched pages only), `null` when no URL got a response.
pub(crate) fn json(o: &Outcome) -> serde_json::Value {
    let s = &o.summary;
    let classes: serde_json::Map<String, serde_json::Value> = s
        .by_class
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, n)| **n > 0)
        .map(|(class, n)| (format!("{class}xx"), (*n).into()))
        .collect();
    let kinds: serde_json::Map<String, serde_json::Value> = s
        .by_kind
        .iter()
        .map(|(k, n)| (k.as_str().to_owned(), (*n).into()))
        .collect();
    let mut summary = serde_json::json!({
        "records": s.records,
        "failed": s.failed,
        "fetched": fetched(o),
        "elapsed_s": o.elapsed.as_secs_f64(),
        "pages_per_s": pages_per_s(o),
        "by_status_class": classes,
        "by_error_kind": kinds,
        "interrupted": o.signal.is_some(),
        "peak_rss_mb": peak_rss_mb(),
    });
    if let (Some(shard), Some(map)) = (o.shard, summary.as_object_mut()) {
        map.insert(
            "shard".into(),
            serde_json::json!({
                "index": shard.index,
                "count": shard.count,
                "other_shards_listed": o.other_shards.listed,
                "other_shards_linked": o.other_shards.linked,
            }),
        );
    }
    serde_json::json!({ "summary": summary })
}

/// Peak resident set size (Linux `VmHWM`), for the summary: memory targets are checked from it.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// `--check-links`' report for people: a head line, then each page that holds a bad link and, indented under it,
/// each such link and why (`404`, `connect`, `missing fragment`, `not checked: robots_disallowed`). URLs come
/// from servers (pages, links, fragments), so every one is escaped ([`crate::app::logs::escape`]).
pub(crate) fn links_line(report: &LinkReport) -> String {
    use crate::app::logs::escape;
    let pages = report.pages.len();
    let mut out = if report.broken == 0 {
        "crawlfish: no broken links".to_owned()
    } else {
        let s = if report.broken == 1 { "" } else { "s" };
        format!(
            "crawlfish: {} broken link{s} on {pages} page{}",
            report.broken,
            if pages == 1 { "" } else { "s" }
        )
    };
    if report.not_checked > 0 {
        let _ = write!(out, " · {} not checked", report.not_checked);
    }
    if report.fragments_unchecked > 0 {
        let _ = write!(
            out,
            " · {} #fragments not checked (memory caps)",
            report.fragments_unchecked
        );
    }
    for (page, links) in &report.pages {
        let _ = write!(out, "\n{}", escape(page));
        for bad in links {
            let _ = write!(out, "\n  {} → {}", escape(&bad.link), bad.why);
        }
    }
    if report.unlisted > 0 {
        let _ = write!(
            out,
            "\ncrawlfish: … and {} more not listed",
            report.unlisted
        );
    }
    out
}

/// The same report as one JSON object, for `--log-format json`.
pub(crate) fn links_json(report: &LinkReport) -> serde_json::Value {
    serde_json::json!({ "links": report })
}

/// Whether the report has anything to say (so `-q` prints it only then).
pub(crate) fn links_worth_saying(report: &LinkReport) -> bool {
    report.broken + report.not_checked + report.fragments_unchecked + report.unlisted > 0
}
