//! `--content` and `--content-scope`: a page's main content as Markdown or text, from pages built like real
//! sites, served from loopback; bounded on huge and deep pages.

use crate::support::*;

const MARKER: &str = "\n\n[crawlfish: content truncated]";

/// An article among what real sites put around one: a cookie banner, navigation, a sidebar, comments, a footer,
/// inline scripts; the article holds headings, a list, emphasis, a relative link, a code block and a table.
fn news_page() -> String {
    let para = "The harbour authority said the new breakwater, finished after three winters of work, \
                had already cut the swell inside the port by half during the first storm of the season.";
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Breakwater holds</title>
<script>window.dataLayer = ["HEADSCRIPT"];</script><style>.x{{color:red}} STYLETEXT</style></head>
<body>
<div id="cookie-banner" class="cookie-consent">This site uses cookies. COOKIETEXT <a href="/privacy">Privacy</a> <button>OK</button></div>
<header class="site-header"><a href="/" class="logo">Coast News</a>
<nav class="main-nav"><ul><li><a href="/world">World</a></li><li><a href="/sport">NAVSPORT</a></li></ul></nav></header>
<div class="wrapper"><main id="content"><article class="post">
<h1>Breakwater holds in first storm</h1>
<p class="byline">By A. Reporter</p>
<p>{para} Officials called it <strong>a clear success</strong>, and <em>long overdue</em>.</p>
<p>{para} The <a href="../reports/breakwater.pdf">engineering report</a> is public.</p>
<h2>Numbers</h2>
<table><thead><tr><th>Storm</th><th>Swell (m)</th></tr></thead><tbody><tr><td>2025</td><td>3.1</td></tr><tr><td>2026</td><td>1.4</td></tr></tbody></table>
<p>{para}</p>
<h2>How the sensors report</h2>
<ol><li>Each buoy samples the swell.</li><li>The station averages ten minutes.</li></ol>
<pre><code>for buoy in buoys:
    report(buoy.swell)</code></pre>
<script>trackRead("INLINESCRIPT");</script>
<p>{para}</p>
</article>
<section class="comments" id="comments"><h3>3 Comments</h3>
<div class="comment"><p class="comment-body">COMMENTTEXT great news</p></div></section>
</main>
<aside class="sidebar widget-area"><h3>Most read</h3><ul><li><a href="/a">SIDEBARSTORY one</a></li><li><a href="/b">Another</a></li></ul></aside>
</div>
<footer class="site-footer"><p>FOOTERTEXT © 2026 Coast News</p><ul><li><a href="/contact">Contact</a></li></ul></footer>
</body></html>"#
    )
}

async fn content_of(site: &Site, path: &str, flags: &[&str]) -> String {
    let run = crawlfish(&args(flags), &site.url(path)).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.records.len(), 1);
    run.records[0]["content"].as_str().unwrap().to_owned()
}

const BOILERPLATE: [&str; 9] = [
    "HEADSCRIPT",
    "STYLETEXT",
    "COOKIETEXT",
    "NAVSPORT",
    "INLINESCRIPT",
    "COMMENTTEXT",
    "SIDEBARSTORY",
    "FOOTERTEXT",
    "Coast News",
];

#[tokio::test]
async fn markdown_is_the_article_without_boilerplate() {
    let site = Site::start("127.0.0.1").await;
    site.html("/news/2026/breakwater.html", &news_page());
    let md = content_of(
        &site,
        "/news/2026/breakwater.html",
        &["--content", "markdown"],
    )
    .await;
    for want in [
        "# Breakwater holds in first storm",
        "## Numbers",
        "**a clear success**",
        "*long overdue*",
        &format!(
            "[engineering report]({})",
            site.url("/news/reports/breakwater.pdf")
        ),
        "| Storm | Swell (m) |\n| --- | --- |\n| 2025 | 3.1 |\n| 2026 | 1.4 |",
        "1. Each buoy samples the swell.\n2. The station averages ten minutes.",
        "```\nfor buoy in buoys:\n    report(buoy.swell)\n```",
    ] {
        assert!(md.contains(want), "{want:?} missing from:\n{md}");
    }
    for junk in BOILERPLATE {
        assert!(!md.contains(junk), "{junk} kept in:\n{md}");
    }
}

#[tokio::test]
async fn text_is_the_same_content_without_markup() {
    let site = Site::start("127.0.0.1").await;
    site.html("/p", &news_page());
    let text = content_of(&site, "/p", &["--content", "text"]).await;
    assert!(
        text.contains("Breakwater holds in first storm\n\n"),
        "{text}"
    );
    assert!(text.contains("The engineering report is public."), "{text}");
    assert!(text.contains("Storm\tSwell (m)\n2025\t3.1"), "{text}");
    for markup in ["# ", "**", "](", "```", "| ---"] {
        assert!(!text.contains(markup), "{markup:?} in:\n{text}");
    }
    for junk in BOILERPLATE {
        assert!(!text.contains(junk), "{junk} kept in:\n{text}");
    }
}

#[tokio::test]
async fn full_scope_converts_the_whole_body() {
    let site = Site::start("127.0.0.1").await;
    site.html("/p", &news_page());
    let md = content_of(
        &site,
        "/p",
        &["--content", "markdown", "--content-scope", "full"],
    )
    .await;
    for kept in [
        "COOKIETEXT",
        "COMMENTTEXT",
        "SIDEBARSTORY",
        "FOOTERTEXT",
        "# Breakwater holds",
    ] {
        assert!(md.contains(kept), "{kept} missing from:\n{md}");
    }
    assert!(
        md.contains(&format!("[NAVSPORT]({})", site.url("/sport"))),
        "{md}"
    );
    for never in ["HEADSCRIPT", "STYLETEXT", "INLINESCRIPT"] {
        assert!(!md.contains(never), "{never} in:\n{md}");
    }
}

#[tokio::test]
async fn without_the_flag_there_is_no_field_and_with_it_null_when_no_page() {
    let site = Site::start("127.0.0.1").await;
    site.html("/p", &news_page());
    site.route(
        "/data.txt",
        vec![Step::new(200, "just text").header("content-type", "text/plain")],
    );
    let refused = refused_port("127.0.0.1").await;
    let dead = format!("http://{refused}/");
    let input = [site.url("/p"), site.url("/data.txt"), dead.clone()].join("\n");
    let plain = crawlfish(&args(&[]), &input).await;
    assert!(plain.records.iter().all(|r| r.get("content").is_none()));
    let run = crawlfish(&args(&["--content", "text"]), &input).await;
    assert_eq!(run.records.len(), 3);
    assert!(run.record(&site.url("/p"))["content"]
        .as_str()
        .unwrap()
        .contains("breakwater"));
    assert!(run.record(&site.url("/data.txt"))["content"].is_null());
    assert!(run.record(&dead)["content"].is_null());
    for line in run.stdout.lines() {
        let (last, content) = (line.find("\"meta_nofollow\":"), line.find("\"content\":"));
        assert!(last.unwrap() < content.unwrap(), "appended last: {line}");
    }
}

#[tokio::test]
async fn content_scope_needs_content() {
    let run = crawlfish(&args(&["--content-scope", "full"]), "").await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
}

#[tokio::test]
async fn huge_and_deep_pages_are_capped_and_the_run_ends() {
    let site = Site::start("127.0.0.1").await;
    // 6 MB of article text: past the 1 MiB field cap and the main step's 4 MiB input cap.
    let huge = format!(
        "<html><body><article>{}</article></body></html>",
        "<p>Tide tables are printed every week for the harbour pilots.</p>".repeat(100_000)
    );
    site.html("/huge", &huge);
    let n = 200_000;
    let deep = format!(
        "<body>{}deep text{}</body>",
        "<div>".repeat(n),
        "</div>".repeat(n)
    );
    site.html("/deep", &deep);
    let input = [site.url("/huge"), site.url("/deep")].join("\n");
    for scope in ["main", "full"] {
        let run = crawlfish(
            &args(&[
                "--content",
                "markdown",
                "--content-scope",
                scope,
                "--max-body",
                "20M",
            ]),
            &input,
        )
        .await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert_eq!(run.records.len(), 2, "one record each");
        let huge = run.record(&site.url("/huge"))["content"].as_str().unwrap();
        assert!(
            huge.ends_with(MARKER),
            "{scope}: {}",
            &huge[huge.len() - 80..]
        );
        assert!(
            huge.len() <= (1 << 20) + MARKER.len(),
            "{scope}: {}",
            huge.len()
        );
        assert!(huge.starts_with("Tide tables"), "{scope}");
        let deep = run.record(&site.url("/deep"))["content"].as_str().unwrap();
        assert!(deep.contains("deep text"), "{scope}: {deep}");
    }
}
