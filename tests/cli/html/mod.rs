//! What is read from a page: `<base href>` and relative links, charsets, and `--select` extraction (capped on
//! hostile nesting); every link source a browser follows (`links`) and the indexing fields (`index`).

mod index;
mod links;

use std::time::Instant;

use crate::support::*;

mod content;

#[tokio::test]
async fn base_href_and_relative_links() {
    let site = Site::start("127.0.0.1").await;
    site.html(
        "/dir/page",
        r#"<head><base href="/other/"></head><a href="x">x</a><a href="../up#f">up</a><a href="mailto:a@b">m</a>"#,
    );
    site.html(
        "/plain/page",
        r#"<a href="sib">s</a><a href="/abs">a</a><a href="?q=1">q</a>"#,
    );
    let input = format!("{}\n{}\n", site.url("/dir/page"), site.url("/plain/page"));
    let run = crawlfish(&args(&[]), &input).await;
    assert_eq!(
        run.record(&site.url("/dir/page"))["links"],
        serde_json::json!([site.url("/other/x"), site.url("/up")])
    );
    assert_eq!(
        run.record(&site.url("/plain/page"))["links"],
        serde_json::json!([
            site.url("/plain/sib"),
            site.url("/abs"),
            site.url("/plain/page?q=1")
        ])
    );
}

#[tokio::test]
async fn charsets_are_decoded() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/latin1",
        vec![Step::new(200, b"<title>caf\xe9</title>".to_vec())
            .header("content-type", "text/html; charset=iso-8859-1")],
    );
    site.route(
        "/meta",
        vec![Step::new(
            200,
            b"<meta charset=windows-1252><title>na\xefve</title>".to_vec(),
        )
        .header("content-type", "text/html")],
    );
    site.route(
        "/sniffed",
        vec![Step::new(200, "<!doctype html><title>no type</title>")],
    );
    let input = [site.url("/latin1"), site.url("/meta"), site.url("/sniffed")].join("\n");
    let run = crawlfish(&args(&[]), &input).await;
    assert_eq!(run.record(&site.url("/latin1"))["title"], "café");
    assert_eq!(run.record(&site.url("/meta"))["title"], "naïve");
    assert_eq!(run.record(&site.url("/sniffed"))["title"], "no type");
}

#[tokio::test]
async fn select_extracts_text_and_attributes() {
    let site = Site::start("127.0.0.1").await;
    site.html(
        "/",
        r#"<meta name="description" content="About us"><h1> Hello
            <em>world</em></h1><h1>Second</h1><a class="x" href="/1">one</a>"#,
    );
    let run = crawlfish(
        &args(&[
            "--select",
            "h1=h1",
            "--select",
            "desc=meta[name=description]@content",
            "--select",
            "links=a.x@href",
            "--select",
            "missing=table td",
        ]),
        &site.url("/"),
    )
    .await;
    let r = run.record(&site.url("/"));
    assert_eq!(
        r["extract"],
        serde_json::json!({"h1": ["Hello world", "Second"], "desc": ["About us"], "links": ["/1"], "missing": []})
    );
    let plain = crawlfish(&args(&[]), &site.url("/")).await;
    assert!(
        plain.record(&site.url("/")).get("extract").is_none(),
        "no --select, no field"
    );

    let bad = crawlfish(&args(&["--select", "x=p[[["]), "").await;
    assert_eq!(bad.code, Some(2));
    assert!(
        bad.stderr.contains("x=p[[["),
        "the error names the selector: {}",
        bad.stderr
    );
}

/// 20,000 nested `<div>`s with `--select x=div`: each div's text is the rest of the page, so unbounded this was a
/// 200 MB record. The record is capped near 1 MiB, says it was cut, and still has its title and link.
#[tokio::test]
async fn select_on_deep_nesting_is_capped() {
    let site = Site::start("127.0.0.6").await;
    let n = 20_000;
    let page = format!(
        "<title>deep</title><a href='/x'>x</a>{}{}",
        "<div>some words ".repeat(n),
        "</div>".repeat(n)
    );
    site.html("/deep", &page);
    let started = Instant::now();
    let run = crawlfish(&args(&["--select", "x=div"]), &site.url("/deep")).await;
    eprintln!(
        "hostile: 20,000 nested divs with --select x=div in {:?}",
        started.elapsed()
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let line = run.stdout.lines().next().unwrap();
    assert!(line.len() < 1_150_000, "record line {} bytes", line.len());
    let r = run.record(&site.url("/deep"));
    assert_eq!(r["title"], "deep");
    assert_eq!(r["links"][0], site.url("/x"));
    assert_eq!(r["extract"]["_truncated"], serde_json::json!(["x"]));
    assert!(r["extract"]["x"][0]
        .as_str()
        .unwrap()
        .starts_with("some words some words"));
}
