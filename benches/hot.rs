//! criterion benches for the pure hot paths: URL normalisation, link extraction (the scanner, and scraper for
//! comparison), record serialisation. End-to-end throughput is `bench/run.py`'s job.
//!
//! `cargo bench --bench hot`

// Bench code: panics on bad fixtures are fine, and the pedantic style guards the engine.
#![allow(clippy::unwrap_used, clippy::pedantic)]

use std::hint::black_box;

use crawlfish::bench::parse_page;
use crawlfish::Record;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use url::Url;

/// A ~15 KB page shaped like the benchmark site's: title, meta, filler and 40 links of mixed forms.
fn page() -> String {
    let mut s = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Bench page &amp; co</title>\
         <meta name=\"description\" content=\"a page\"><style>body{margin:0}</style></head><body>",
    );
    for i in 0..40 {
        let href = match i % 4 {
            0 => format!("/s{:02}/p{i:05}.html", i % 50),
            1 => format!("p{i:05}.html#frag"),
            2 => format!("../s{:02}/p{i:05}.html", i % 7),
            _ => format!("http://127.0.0.12:8080/s01/p{i:05}.html"),
        };
        s += &format!(
            "<p class=\"c\">{} <a href=\"{href}\">link {i}</a></p>",
            "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod ".repeat(4)
        );
    }
    s + "</body></html>"
}

fn benches(c: &mut Criterion) {
    let html = page();
    let url = Url::parse("http://127.0.0.11:8080/s03/p00003.html").unwrap();
    let mut g = c.benchmark_group("extract");
    g.throughput(Throughput::Bytes(html.len() as u64));
    g.bench_function("scanner title+links", |b| {
        b.iter(|| parse_page(black_box(&html), &url, &[]))
    });
    let sel = scraper::Selector::parse("a[href], area[href]").unwrap();
    let title = scraper::Selector::parse("title").unwrap();
    g.bench_function("scraper title+links", |b| {
        b.iter(|| {
            let doc = scraper::Html::parse_document(black_box(&html));
            let t: Option<String> = doc.select(&title).next().map(|t| t.text().collect());
            let links: Vec<Url> = doc
                .select(&sel)
                .filter_map(|a| url.join(a.value().attr("href")?).ok())
                .collect();
            (t, links)
        })
    });
    g.finish();

    c.bench_function("normalize", |b| {
        b.iter(|| crawlfish::bench::normalize(black_box("HTTP://Example.COM:80/a/b/../c?q=1#frag")))
    });

    let p = parse_page(&html, &url, &[]);
    let record = Record {
        url: url.to_string(),
        final_url: Some(url.to_string()),
        status: Some(200),
        depth: 0,
        parent: None,
        content_type: Some("text/html; charset=utf-8".into()),
        bytes: html.len() as u64,
        truncated: false,
        title: p.title,
        links: p.links,
        fetched_at: crawlfish::bench::now_rfc3339(),
        elapsed_ms: 3,
        attempts: 1,
        error: None,
        extract: None,
        redirects: Vec::new(),
        etag: Some("\"33a64df5\"".into()),
        last_modified: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
        digest: crawlfish::bench::digest_of(html.as_bytes()),
        change: None,
        ip: Some("127.0.0.1".into()),
        http_version: Some("HTTP/1.1"),
        headers: None,
        warc_offset: None,
        meta_nofollow: false,
        checked: None,
        missing_fragments: None,
        rendered: None,
        render_ms: None,
        screenshot: None,
        canonical: p.canonical,
        robots: p.robots,
        lang: p.lang,
        description: p.description,
        hreflang: p.hreflang,
        duplicate_of: None,
        saved: None,
        content: None,
        queued: Vec::new(),
        link_keys: Vec::new(),
    };
    let mut buf = Vec::with_capacity(8192);
    c.bench_function("record to JSON line", |b| {
        b.iter(|| {
            buf.clear();
            serde_json::to_writer(&mut buf, black_box(&record)).unwrap();
            buf.push(b'\n');
        })
    });
}

criterion_group!(hot, benches);
criterion_main!(hot);
