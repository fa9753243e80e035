//! The indexing fields (`canonical`, `robots`, `lang`, `description`, `hreflang`), from the markup and from the
//! `Link` and `X-Robots-Tag` headers, and `X-Robots-Tag: nofollow` obeyed like the robots meta.

use serde_json::json;

use crate::support::*;

/// Robots obeyed (no `--ignore-robots`): the site has no robots.txt (404), so everything is allowed.
const OBEY: [&str; 5] = ["-q", "-r", "0", "--timeout", "5"];

#[tokio::test]
async fn fields_from_the_markup() {
    let site = Site::start("127.0.0.1").await;
    site.html(
        "/p?x=1",
        r#"<html LANG=" de-AT "><head><base href="/base/">
             <meta name="Description" content="  A  page
               about &amp; things ">
             <meta name="robots" content="NoIndex, noarchive"><meta name="crawlfish" content="noarchive, nosnippet">
             <link rel="canonical" href="canon#frag"><link rel="canonical" href="/second">
             <link rel="alternate" hreflang="en" href="/en"><link rel="alternate" hreflang="x-default" href="https://example.test/">
           </head><a href="/x">x</a>"#,
    );
    let run = crawlfish(&args(&[]), &format!("{}\n", site.url("/p?x=1"))).await;
    let r = run.record(&site.url("/p?x=1"));
    assert_eq!(r["canonical"], site.url("/base/canon"), "{r}");
    assert_eq!(r["robots"], json!(["noindex", "noarchive", "nosnippet"]));
    assert_eq!(r["lang"], "de-AT");
    assert_eq!(r["description"], "A page about & things");
    assert_eq!(
        r["hreflang"],
        json!([
            {"lang": "en", "url": site.url("/en")},
            {"lang": "x-default", "url": "https://example.test/"}
        ])
    );
    assert_eq!(r["meta_nofollow"], false);
    assert!(r["duplicate_of"].is_null());
}

#[tokio::test]
async fn fields_from_the_headers() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/doc.pdf",
        vec![Step::new(200, "%PDF-1.4")
            .header("content-type", "application/pdf")
            .header(
                "link",
                r#"</style.css>; rel=preload, </doc-canonical.pdf>; rel="canonical""#,
            )
            .header("x-robots-tag", "noindex")
            .header("x-robots-tag", "googlebot: nosnippet")
            .header("x-robots-tag", "crawlfish: noarchive")],
    );
    // The markup's canonical wins over the header's; header directives join the meta's.
    site.route(
        "/both",
        vec![Step::html(
            r#"<link rel=canonical href="/from-markup"><meta name=robots content=noindex>"#,
        )
        .header("link", "</from-header>; rel=canonical")
        .header("x-robots-tag", "NOINDEX, noimageindex")],
    );
    let input = format!("{}\n{}\n", site.url("/doc.pdf"), site.url("/both"));
    let run = crawlfish(&args(&[]), &input).await;
    let pdf = run.record(&site.url("/doc.pdf"));
    assert_eq!(pdf["canonical"], site.url("/doc-canonical.pdf"), "{pdf}");
    assert_eq!(pdf["robots"], json!(["noindex", "noarchive"]));
    assert!(pdf["lang"].is_null() && pdf["description"].is_null());
    assert_eq!(pdf["hreflang"], json!([]));
    let both = run.record(&site.url("/both"));
    assert_eq!(both["canonical"], site.url("/from-markup"));
    assert_eq!(both["robots"], json!(["noindex", "noimageindex"]));
}

#[tokio::test]
async fn x_robots_tag_nofollow_is_obeyed() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/",
        vec![Step::html(r#"<a href="/a">a</a><a href="/b">b</a>"#)
            .header("x-robots-tag", "noindex, nofollow")],
    );
    site.route(
        "/other-bot",
        vec![Step::html(r#"<a href="/c">c</a>"#).header("x-robots-tag", "googlebot: nofollow")],
    );
    site.route(
        "/none",
        vec![Step::html(r#"<a href="/d">d</a>"#).header("x-robots-tag", "crawlfish: none")],
    );
    site.html(
        "/crawlfish-meta",
        r#"<meta name=crawlfish content=nofollow><a href="/e">e</a>"#,
    );
    for p in ["/a", "/b", "/c", "/d", "/e"] {
        site.html(p, "leaf");
    }
    let mut a = OBEY.to_vec();
    a.extend(["--depth", "1"]);
    let input: String = ["/", "/other-bot", "/none", "/crawlfish-meta"]
        .iter()
        .map(|p| format!("{}\n", site.url(p)))
        .collect();
    let run = crawlfish(&a, &input).await;
    assert_eq!(
        site.hits("/a") + site.hits("/b"),
        0,
        "X-Robots-Tag: nofollow"
    );
    assert_eq!(
        site.hits("/c"),
        1,
        "a directive for another crawler does not apply"
    );
    assert_eq!(site.hits("/d"), 0, "crawlfish: none");
    assert_eq!(site.hits("/e"), 0, "<meta name=crawlfish content=nofollow>");
    let r = run.record(&site.url("/"));
    assert_eq!(
        r["meta_nofollow"], true,
        "so --resume does not follow it either"
    );
    assert_eq!(r["robots"], json!(["noindex", "nofollow"]));
    assert_eq!(r["links"], json!([site.url("/a"), site.url("/b")]));
    // --ignore-robots follows them all.
    let run = crawlfish(&args(&["--depth", "1"]), &input).await;
    assert_eq!(run.records.len(), 9);
    assert_eq!(site.hits("/a"), 1);
}
