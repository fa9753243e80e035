//! Conditional requests (`--since FILE`, and `--state DIR`'s latest run): foreign files refused, crawl mode goes on
//! through 304s, a 304 stands in only for a whole page, and a page's nofollow holds through a 304.

use super::{latest, records_in};
use crate::support::*;

#[tokio::test]
async fn since_refuses_foreign_files_and_its_own_output() {
    let dir = tempdir("since-foreign");
    let theirs = dir.join("theirs.jsonl");
    std::fs::write(&theirs, "{\"id\":1}\n").unwrap();
    let run = crawlfish(
        &args(&["--since", theirs.to_str().unwrap()]),
        "http://a.invalid/",
    )
    .await;
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("not crawlfish's output"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    let ours = dir.join("ours.jsonl");
    let first = crawlfish(&args(&["-o", ours.to_str().unwrap()]), "http://a.invalid/").await;
    assert_eq!(first.code, Some(1));
    let before = std::fs::read(&ours).unwrap();
    let o = ours.to_str().unwrap();
    let same = crawlfish(&args(&["--since", o, "-o", o]), "http://a.invalid/").await;
    assert_eq!(same.code, Some(2), "{}", same.stderr);
    assert_eq!(std::fs::read(&ours).unwrap(), before);
}

#[tokio::test]
async fn crawl_mode_goes_on_through_304s() {
    let site = Site::start("127.0.0.1").await;
    let tree = [
        ("/", "<a href=/a>a</a><a href=/b>b</a>"),
        ("/a", "<a href=/a/deep>deep</a><a href=/b>b</a>"),
        ("/b", "<title>b</title>"),
        ("/a/deep", "<title>deep</title>"),
    ];
    for (path, body) in tree {
        let etag = format!("\"{}\"", path.len());
        site.route(
            path,
            vec![
                Step::html(body).header("etag", &etag),
                Step::new(304, "").header("etag", &etag),
            ],
        );
    }
    let dir = tempdir("since-crawl");
    let first = dir.join("first.jsonl");
    let crawl = ["--depth", "2", "-o", first.to_str().unwrap()];
    let run1 = crawlfish(&args(&crawl), &site.url("/")).await;
    assert_eq!(run1.code, Some(0), "{}", run1.stderr);
    assert_eq!(records_in(&first).len(), 4);

    let run2 = crawlfish(
        &args(&["--depth", "2", "--since", first.to_str().unwrap()]),
        &site.url("/"),
    )
    .await;
    assert_eq!(run2.code, Some(0), "{}", run2.stderr);
    let got = run2.by_url();
    assert_eq!(
        run2.records.len(),
        4,
        "one record per URL: {:#?}",
        run2.records
    );
    for (path, _) in tree {
        let r = &got[&site.url(path)];
        assert_eq!(r["status"], 304, "{path}");
        assert_eq!(r["change"], "unchanged", "{path}");
        assert_eq!(site.hits(path), 2, "{path} fetched once per run");
    }
    assert_eq!(
        got[&site.url("/a/deep")]["depth"],
        2,
        "reached through a 304's carried links"
    );
    assert_eq!(got[&site.url("/a/deep")]["title"], "deep");
}

/// A 304 must not stand in for a page cut at --max-body, for an extract made with other
/// --select names, or when no conditional request was sent.
#[tokio::test]
async fn a_304_stands_in_only_for_a_whole_page_asked_about() {
    let site = Site::start("127.0.0.1").await;
    let page = Step::html("<title>t</title><h1>H</h1><a href='/x'>x</a>").header("etag", "\"v1\"");
    site.route("/", vec![page.clone()]);
    let state = tempdir("state-304").join("state");
    let state_s = state.to_str().unwrap();
    // Run 1 cuts the page: run 2 must not send If-None-Match.
    crawlfish(
        &args(&["--state", state_s, "--max-body", "10"]),
        &site.url("/"),
    )
    .await;
    crawlfish(&args(&["--state", state_s]), &site.url("/")).await;
    assert_eq!(
        site.header("/", "if-none-match"),
        None,
        "the earlier body was cut"
    );
    // Run 3 (after a whole run 2) with other --select names: no conditional request either.
    crawlfish(
        &args(&["--state", state_s, "--select", "h=h1"]),
        &site.url("/"),
    )
    .await;
    assert_eq!(
        site.header("/", "if-none-match"),
        None,
        "run 2 had no --select"
    );
    // Same names as run 3: now it asks.
    crawlfish(
        &args(&["--state", state_s, "--select", "h=h1"]),
        &site.url("/"),
    )
    .await;
    assert_eq!(site.header("/", "if-none-match").as_deref(), Some("\"v1\""));
    // An unsolicited 304 (the earlier record was a 404) is reported as a 304, not as the earlier page.
    let other = Site::start("127.0.0.2").await;
    other.route(
        "/gone",
        vec![
            Step::new(404, "no").header("etag", "\"g\""),
            Step::new(304, ""),
        ],
    );
    let since = tempdir("state-304-since").join("first.jsonl");
    crawlfish(&args(&["-o", since.to_str().unwrap()]), &other.url("/gone")).await;
    let run = crawlfish(
        &args(&["--since", since.to_str().unwrap()]),
        &other.url("/gone"),
    )
    .await;
    let r = run.record(&other.url("/gone"));
    assert_eq!(r["status"], 304);
    assert_eq!(r["change"], "changed", "{r}");
    assert_eq!(other.header("/gone", "if-none-match"), None);
}

/// A page with `<meta name=robots content=nofollow>` answering 304 had its carried links
/// followed. The record now says `meta_nofollow`, and a 304 (or `--resume`) honours it.
#[tokio::test]
async fn meta_nofollow_holds_through_a_304() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "<a href='/nf'>nf</a>");
    site.route(
        "/nf",
        vec![
            Step::html(
                "<meta name=robots content=nofollow><link rel=canonical href=/nf><a href='/secret'>s</a>",
            )
            .header("etag", "\"nf\""),
            Step::new(304, "").header("etag", "\"nf\""),
        ],
    );
    site.html("/secret", "secret");
    let state = tempdir("state-nofollow").join("state");
    let state_s = state.to_str().unwrap();
    for _ in 0..2 {
        let run = crawlfish(
            &["-q", "-r", "0", "--depth", "3", "--state", state_s],
            &site.url("/"),
        )
        .await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
    }
    assert_eq!(
        site.header("/nf", "if-none-match").as_deref(),
        Some("\"nf\""),
        "run 2 asked"
    );
    assert_eq!(site.hits("/secret"), 0, "nofollow held through the 304");
    let nf = records_in(&latest(&state))
        .into_iter()
        .find(|r| r["url"] == site.url("/nf"))
        .unwrap();
    assert_eq!(
        (nf["status"].as_u64(), nf["meta_nofollow"].as_bool()),
        (Some(304), Some(true))
    );
    // The indexing fields are carried over with the rest.
    assert_eq!(nf["robots"], serde_json::json!(["nofollow"]));
    assert_eq!(nf["canonical"], site.url("/nf"));
}
