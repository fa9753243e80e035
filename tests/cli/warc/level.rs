//! `--warc-level N` (gzip level of each WARC record, 0 = stored) and the batched WARC writer: many exchanges in
//! flight at once, every level read back by warcio and each JSON record's `warc_offset` pointing at its own
//! response record; bad levels refused before any I/O.

use std::collections::HashMap;

use crate::support::warcio::{check, field, index, record_at};
use crate::support::*;

/// Pages on the site: enough for the writer to batch members (64 requests in flight).
const PAGES: usize = 240;

/// Bigger than `INLINE_MAX` (compressed on the blocking pool) and than a stored block (65,535 bytes).
const BIG: usize = 300_000;

/// Serves PAGES pages of different sizes and one BIG page; their bodies by URL.
async fn site() -> (Site, HashMap<String, String>) {
    let site = Site::start("127.0.0.1").await;
    let mut bodies = HashMap::new();
    for i in 0..PAGES {
        let body = format!("<title>p{i}</title>{}", "<p>archive me</p>".repeat(i * 7));
        site.html(&format!("/p{i}"), &body);
        bodies.insert(site.url(&format!("/p{i}")), body);
    }
    let big = format!("<title>big</title>{}", "y".repeat(BIG));
    site.html("/big", &big);
    bodies.insert(site.url("/big"), big);
    (site, bodies)
}

#[tokio::test]
async fn every_warc_level_reads_back_with_every_offset_right() {
    let (site, bodies) = site().await;
    let input: String = bodies.keys().map(|u| format!("{u}\n")).collect();
    let body_bytes: usize = bodies.values().map(String::len).sum();
    let dir = tempdir("warc-level");
    let mut sizes = Vec::new();
    for (round, level) in ["0", "1", "9"].into_iter().enumerate() {
        let warc = dir.join(format!("l{level}.warc.gz"));
        let warc_s = warc.to_str().unwrap();
        let run = crawlfish(
            &args(&[
                "-c",
                "64",
                "--per-host",
                "64",
                "--max-body",
                "1000000",
                "--warc",
                warc_s,
                "--warc-level",
                level,
            ]),
            &input,
        )
        .await;
        assert_eq!(run.code, Some(0), "level {level}: {}", run.stderr);
        // warcio checks every payload digest against the stored body.
        check(warc_s);
        let idx = index(warc_s);
        let responses = idx.iter().filter(|r| r["warc-type"] == "response").count();
        assert_eq!(responses, bodies.len(), "level {level}");
        assert_eq!(site.total_hits(), bodies.len() * (round + 1));
        for (url, body) in &bodies {
            let rec = run.record(url);
            let offset = rec["warc_offset"]
                .as_u64()
                .unwrap_or_else(|| panic!("{rec}"));
            let (head, block) = record_at(warc_s, offset);
            assert_eq!(field(&head, "WARC-Type"), Some("response"), "{head}");
            assert_eq!(field(&head, "WARC-Target-URI"), Some(url.as_str()));
            assert!(
                block.ends_with(format!("\r\n\r\n{body}\r\n\r\n").as_bytes()),
                "level {level}, {url}: the record holds another body"
            );
        }
        sizes.push(std::fs::metadata(&warc).unwrap().len() as usize);
    }
    // Level 0 stores (every body whole, plus heads); 1 and 9 deflate, 9 at least as well as 1.
    assert!(sizes[0] > body_bytes, "{sizes:?} vs {body_bytes}");
    assert!(sizes[1] < body_bytes / 4, "{sizes:?} vs {body_bytes}");
    assert!(sizes[2] <= sizes[1], "{sizes:?}");
}

#[tokio::test]
async fn a_bad_warc_level_is_refused_before_any_io() {
    let dir = tempdir("warc-level-bad");
    let warc = dir.join("x.warc.gz");
    let warc_s = warc.to_str().unwrap();
    // Nothing listens there: a run that got as far as fetching would say so in a record, not exit 2.
    let url = "http://127.0.0.1:9/\n";
    for (extra, names) in [
        (vec!["--warc", warc_s, "--warc-level", "10"], "10"),
        (vec!["--warc", warc_s, "--warc-level", "-1"], "-1"),
        (vec!["--warc", warc_s, "--warc-level", "fast"], "fast"),
        (vec!["--warc-level", "1"], "--warc"),
    ] {
        let run = crawlfish(&args(&extra), url).await;
        assert_eq!(run.code, Some(2), "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains(names), "{extra:?}: {}", run.stderr);
        assert!(run.records.is_empty(), "{extra:?}");
        assert!(!warc.exists(), "{extra:?} created the WARC file");
    }
}
