//! One page, one crawl: `--strip-query`/`--sort-query` canonicalise discovered links before dedup, a body seen
//! before makes a page `duplicate_of` (crawl mode, unless `--follow-duplicates`), and `--canonical-dedup`.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn strip_and_sort_query_before_dedup() {
    let site = Site::start("127.0.0.1").await;
    site.html(
        "/",
        r#"<a href="/p?utm_source=x&id=1">1</a><a href="/p?id=1&fbclid=9">2</a>
           <a href="/p?b=2&a=1">3</a><a href="/p?a=1&b=2&utm_medium=m">4</a><a href="/q?utm_campaign=c">5</a>"#,
    );
    for p in ["/p?id=1", "/p?a=1&b=2", "/q"] {
        site.html(p, "leaf");
    }
    // The listed URL is kept as written, query and all.
    let listed = site.url("/?utm_source=list");
    site.html(
        "/?utm_source=list",
        r#"<a href="/?utm_source=other">self</a>"#,
    );
    let input = format!("{}\n{listed}\n", site.url("/"));
    let run = crawlfish(
        &args(&[
            "--depth",
            "1",
            "--strip-query",
            "utm_*",
            "--strip-query",
            "fbclid",
            "--sort-query",
        ]),
        &input,
    )
    .await;
    assert_eq!(
        run.record(&site.url("/"))["links"],
        json!([site.url("/p?id=1"), site.url("/p?a=1&b=2"), site.url("/q")])
    );
    assert_eq!(site.hits("/p?id=1"), 1);
    assert_eq!(site.hits("/p?a=1&b=2"), 1);
    assert_eq!(site.hits("/q"), 1);
    assert_eq!(site.hits("/?utm_source=list"), 1);
    // The record's url is the canonical one; the listed one stays as written.
    assert_eq!(run.record(&site.url("/q"))["depth"], 1);
    assert_eq!(run.record(&listed)["depth"], 0);
    // `/?utm_source=other` is `/` once stripped: already listed, not fetched again.
    assert_eq!(site.hits("/"), 1);
    assert_eq!(run.records.len(), 5, "{:#?}", run.records);

    // Without the flags every form is its own URL.
    let site2 = Site::start("127.0.0.1").await;
    site2.html(
        "/",
        r#"<a href="/p?b=2&a=1">3</a><a href="/p?a=1&b=2">4</a>"#,
    );
    let run = crawlfish(&args(&["--depth", "1"]), &format!("{}\n", site2.url("/"))).await;
    assert_eq!(run.records.len(), 3);
    let run = crawlfish(
        &args(&["--depth", "1", "--sort-query"]),
        &format!("{}\n", site2.url("/")),
    )
    .await;
    assert_eq!(run.records.len(), 2);
}

/// Two URLs with the same body whose relative links differ: `/x/page` and `/y/page` both say `<a href=next>`.
async fn twins() -> Site {
    let site = Site::start("127.0.0.1").await;
    site.html("/", r#"<a href="/x/page">x</a><a href="/y/page">y</a>"#);
    site.html("/x/page", r#"<title>same</title><a href="next">n</a>"#);
    site.html("/y/page", r#"<title>same</title><a href="next">n</a>"#);
    site.html("/x/next", "x");
    site.html("/y/next", "y");
    site
}

#[tokio::test]
async fn a_duplicate_body_is_reported_and_its_links_not_followed() {
    let site = twins().await;
    let run = crawlfish(&args(&["--depth", "2"]), &format!("{}\n", site.url("/"))).await;
    let (x, y) = (
        run.record(&site.url("/x/page")),
        run.record(&site.url("/y/page")),
    );
    assert_eq!(x["digest"], y["digest"]);
    // Whichever finished first is the original; the other names it and its link is not followed.
    let (dup, first) = if x["duplicate_of"].is_null() {
        (y, x)
    } else {
        (x, y)
    };
    assert_eq!(dup["duplicate_of"], first["url"], "{dup}");
    assert!(first["duplicate_of"].is_null());
    assert_eq!(site.hits("/x/next") + site.hits("/y/next"), 1);
    assert_eq!(run.records.len(), 4);
    // The duplicate's own links are still reported.
    assert_eq!(dup["links"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn follow_duplicates_and_list_mode_keep_duplicates() {
    let site = twins().await;
    let run = crawlfish(
        &args(&["--depth", "2", "--follow-duplicates"]),
        &format!("{}\n", site.url("/")),
    )
    .await;
    assert_eq!(site.hits("/x/next"), 1);
    assert_eq!(site.hits("/y/next"), 1);
    assert!(run.records.iter().all(|r| r["duplicate_of"].is_null()));
    // List mode (no --depth): the same bodies, no duplicate rule.
    let input = format!("{}\n{}\n", site.url("/x/page"), site.url("/y/page"));
    let run = crawlfish(&args(&[]), &input).await;
    assert!(run.records.iter().all(|r| r["duplicate_of"].is_null()));
}

#[tokio::test]
async fn canonical_dedup_stops_at_a_page_whose_canonical_was_seen() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", r#"<a href="/a">a</a><a href="/b?s=1">b</a>"#);
    site.html(
        "/a",
        r#"<link rel=canonical href="/a"><a href="/from-a">x</a>"#,
    );
    site.html(
        "/b?s=1",
        r#"<link rel=canonical href="/a"><a href="/only-b">y</a>"#,
    );
    site.html("/from-a", "x");
    site.html("/only-b", "y");
    let input = format!("{}\n", site.url("/"));
    let run = crawlfish(&args(&["--depth", "2", "--canonical-dedup"]), &input).await;
    let b = run.record(&site.url("/b?s=1"));
    assert_eq!(b["canonical"], site.url("/a"));
    assert_eq!(b["duplicate_of"], site.url("/a"), "{b}");
    assert_eq!(site.hits("/only-b"), 0);
    // A page that is its own canonical is not a duplicate of itself.
    assert!(run.record(&site.url("/a"))["duplicate_of"].is_null());
    assert_eq!(site.hits("/from-a"), 1);
    // Without the flag the canonical is only reported.
    let run = crawlfish(&args(&["--depth", "2"]), &input).await;
    assert!(run.record(&site.url("/b?s=1"))["duplicate_of"].is_null());
    assert_eq!(site.hits("/only-b"), 1);
}
