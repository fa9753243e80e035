//! Every link a browser follows is a link: `a`/`area`, `iframe`/`frame` `src`, `<meta http-equiv=refresh>` and
//! `<link rel=next|prev>`; hreflang alternates are reported apart and followed only with `--follow-alternates`.

use serde_json::json;

use crate::support::*;

/// A page with one link of each kind, and its targets.
async fn site() -> Site {
    let site = Site::start("127.0.0.1").await;
    site.html(
        "/",
        r#"<html lang="en"><head>
             <meta http-equiv="refresh" content="5; url=/refreshed">
             <link rel="next" href="/next"><link rel="prev" href="prev.html">
             <link rel="stylesheet" href="/style.css"><link rel="icon" href="/favicon.ico">
             <link rel="alternate" hreflang="de" href="/de/"><link rel="alternate" type="application/rss+xml" href="/feed">
           </head><body>
             <a href="/a">a</a><map><area href="/area"></map>
             <iframe src="/iframe"><a href="/inside-iframe-text"></iframe>
             <frameset><frame src="/frame"></frameset>
           </body></html>"#,
    );
    for p in [
        "/refreshed",
        "/next",
        "/prev.html",
        "/a",
        "/area",
        "/iframe",
        "/frame",
        "/de/",
    ] {
        site.html(p, "<title>leaf</title>");
    }
    site
}

#[tokio::test]
async fn every_link_source_is_listed_and_followed() {
    let site = site().await;
    let run = crawlfish(&args(&["--depth", "1"]), &format!("{}\n", site.url("/"))).await;
    let root = run.record(&site.url("/"));
    let want: Vec<String> = [
        "/refreshed",
        "/next",
        "/prev.html",
        "/a",
        "/area",
        "/iframe",
        "/frame",
    ]
    .iter()
    .map(|p| site.url(p))
    .collect();
    assert_eq!(root["links"], json!(want), "{root}");
    assert_eq!(
        root["hreflang"],
        json!([{"lang": "de", "url": site.url("/de/")}])
    );
    for p in [
        "/refreshed",
        "/next",
        "/prev.html",
        "/a",
        "/area",
        "/iframe",
        "/frame",
    ] {
        assert_eq!(site.hits(p), 1, "{p} is a link and was followed");
    }
    // Resources and feeds are not pages; an alternate is not followed without the flag.
    for p in [
        "/style.css",
        "/favicon.ico",
        "/feed",
        "/inside-iframe-text",
        "/de/",
    ] {
        assert_eq!(site.hits(p), 0, "{p}");
    }
    assert_eq!(run.records.len(), 8);
}

#[tokio::test]
async fn alternates_are_followed_with_follow_alternates() {
    let site = site().await;
    let run = crawlfish(
        &args(&["--depth", "1", "--follow-alternates"]),
        &format!("{}\n", site.url("/")),
    )
    .await;
    assert_eq!(site.hits("/de/"), 1);
    let de = run.record(&site.url("/de/"));
    assert_eq!(de["parent"], site.url("/"));
    assert_eq!(de["depth"], 1);
    // Still not in `links`.
    assert!(!run.record(&site.url("/"))["links"]
        .as_array()
        .unwrap()
        .contains(&json!(site.url("/de/"))));
}

#[tokio::test]
async fn a_refresh_to_itself_and_a_nofollow_next_are_not_followed() {
    let site = Site::start("127.0.0.1").await;
    site.html(
        "/",
        r#"<meta http-equiv=refresh content="30"><link rel="next nofollow" href="/n"><a href="/x">x</a>"#,
    );
    site.html("/n", "n");
    site.html("/x", "x");
    let run = crawlfish(&args(&["--depth", "1"]), &format!("{}\n", site.url("/"))).await;
    assert_eq!(
        run.record(&site.url("/"))["links"],
        json!([site.url("/n"), site.url("/x")])
    );
    assert_eq!(site.hits("/n"), 0, "rel=nofollow on <link> is obeyed");
    assert_eq!(site.hits("/x"), 1);
    assert_eq!(site.hits("/"), 1);
}
