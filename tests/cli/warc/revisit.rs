//! WARC to the letter (issue 20): a block digest on every request and response record; a 304 to a conditional
//! request as a `revisit` (server-not-modified) naming the earlier capture; with `--warc-dedup`, an unchanged
//! 200 as a `revisit` (identical-payload-digest).

use serde_json::Value;

use crate::support::warcio::{check, warcio};
use crate::support::*;

/// `warcio index` with the fields these tests read.
fn records(path: &str) -> Vec<Value> {
    let (ok, out) = warcio(&[
        "index",
        "-f",
        "warc-type,warc-target-uri,warc-record-id,warc-date,warc-block-digest,warc-payload-digest,warc-profile,\
         warc-refers-to,warc-refers-to-target-uri,warc-refers-to-date,http:status",
        path,
    ]);
    assert!(ok, "warcio index failed: {out}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn every_request_and_response_record_has_a_block_digest() {
    let site = Site::start("127.0.0.1").await;
    site.html("/a", "<title>a</title>").html("/b", "");
    site.route("/c", vec![Step::new(302, "").header("location", "/a")]);
    let dir = tempdir("warc-block");
    let warc = dir.join("x.warc.gz");
    let warc_s = warc.to_str().unwrap();
    let input = format!(
        "{}\n{}\n{}\n",
        site.url("/a"),
        site.url("/b"),
        site.url("/c")
    );
    let run = crawlfish(&["-q", "-r", "0", "--warc", warc_s], &input).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let out = check(warc_s);
    let recs = records(warc_s);
    let exchanges: Vec<&Value> = recs
        .iter()
        .filter(|r| matches!(r["warc-type"].as_str(), Some("request" | "response")))
        .collect();
    assert!(
        exchanges.len() >= 8,
        "robots.txt and 4 pages, two records each: {recs:?}"
    );
    for r in &exchanges {
        let d = r["warc-block-digest"]
            .as_str()
            .unwrap_or_else(|| panic!("no block digest: {r}"));
        assert!(d.starts_with("sha1:") && d.len() == 37, "{r}");
    }
    // warcio check verifies every digest present: each record's block digest passes.
    assert!(!out.contains("fail"), "{out}");
}
