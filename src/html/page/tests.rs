//! Unit tests of the page parse: links, title, charsets, `--select`, and the scanner against html5ever.

use super::*;
use scraper::Html;

fn page(html: &str) -> Page {
    parse_page(
        html,
        &Url::parse("http://h.test/dir/page.html").unwrap(),
        &[],
    )
}

fn strs(links: &[String]) -> Vec<&str> {
    links.iter().map(String::as_str).collect()
}

#[test]
fn title_is_trimmed_and_collapsed() {
    let p = page("<html><head><title>\n  Hello \t  World \n</title></head></html>");
    assert_eq!(p.title.as_deref(), Some("Hello World"));
    assert_eq!(page("<p>no title</p>").title, None);
}

#[test]
fn links_resolved_deduped_filtered() {
    let p = page(
        r#"<a href="a.html#x">1</a><a href="/b">2</a><a href="a.html">dup</a>
           <a href="mailto:x@y.z">m</a><a href="javascript:void(0)">j</a>
           <a href="https://other.test/c#frag">3</a><area href="../d"><a>no href</a>
           <a href=" ftp://f.test/ ">ftp</a>"#,
    );
    assert_eq!(
        strs(&p.links),
        [
            "http://h.test/dir/a.html",
            "http://h.test/b",
            "https://other.test/c",
            "http://h.test/d"
        ]
    );
}

#[test]
fn base_href_wins() {
    let p = page(r#"<head><base href="http://base.test/x/"></head><a href="y">y</a>"#);
    assert_eq!(strs(&p.links), ["http://base.test/x/y"]);
    let p = page(r#"<head><base href="/root/"></head><a href="y">y</a>"#);
    assert_eq!(strs(&p.links), ["http://h.test/root/y"]);
}

#[test]
fn nofollow_rel_and_meta() {
    let p = page(
        r#"<a rel="nofollow" href="/n">n</a><a href="/f">f</a><a rel="NoFollow ugc" href="/both"></a>
           <a href="/both"></a>"#,
    );
    assert_eq!(p.followable, [false, true, true]);
    assert!(!p.meta_nofollow);
    let p = page(r#"<meta name="Robots" content="noindex, NOFOLLOW"><a href="/x">x</a>"#);
    assert!(p.meta_nofollow);
}

#[test]
fn selects_text_and_attributes() {
    let xs = [
        Extractor::parse("h1=h1").unwrap(),
        Extractor::parse("desc=meta[name=description]@content").unwrap(),
        Extractor::parse("none=table").unwrap(),
        Extractor::parse(r#"mail=a[href*="@"]"#).unwrap(),
    ];
    let html = r#"<meta name="description" content="D"><h1> A  <b>b</b> </h1><h1>C</h1>
                  <a href="mailto:x@y.z">mail</a>"#;
    let p = parse_page(html, &Url::parse("http://h.test/").unwrap(), &xs);
    let e = p.extract.unwrap().0;
    assert_eq!(e[0], ("h1".into(), vec!["A b".into(), "C".into()]));
    assert_eq!(e[1], ("desc".into(), vec!["D".into()]));
    assert_eq!(e[2], ("none".into(), vec![]));
    assert_eq!(e[3], ("mail".into(), vec!["mail".into()]));
}

#[test]
fn invalid_selectors_are_errors() {
    assert!(Extractor::parse("x=p[[").is_err());
    assert!(Extractor::parse("=p").is_err());
    assert!(Extractor::parse("p").is_err());
}

#[test]
fn html_detection() {
    assert!(is_html(Some("text/html; charset=utf-8"), b""));
    assert!(!is_html(Some("application/json"), b"<html>"));
    assert!(is_html(None, b"  \n<!DOCTYPE html><html>"));
    assert!(!is_html(None, b"\x89PNG\r\n"));
}

#[test]
fn charsets() {
    let latin1 = b"<title>caf\xe9</title>";
    assert_eq!(
        decode(latin1, Some("text/html; charset=ISO-8859-1")),
        "<title>café</title>"
    );
    let meta = b"<meta charset=\"windows-1252\"><title>caf\xe9</title>";
    assert!(decode(meta, None).contains("café"));
    // A lying meta charset and invalid bytes: decoded lossily, no panic.
    let lying = b"<meta charset=\"utf-8\"><title>\xff\xfe\xc3</title>";
    assert!(decode(lying, None).contains('\u{fffd}'));
}

#[test]
fn entities_are_decoded() {
    let p = page(r#"<title>Tom &amp; Jerry &eacute;</title><a href="/s?a=1&amp;b=2">x</a>"#);
    assert_eq!(p.title.as_deref(), Some("Tom & Jerry é"));
    assert_eq!(strs(&p.links), ["http://h.test/s?a=1&b=2"]);
}

#[test]
fn links_in_scripts_and_comments_are_not_links() {
    let p = page(
        r#"<script>var s = '<a href="/no1">';</script><!-- <a href="/no2"> --><a href="/yes">y</a>"#,
    );
    assert_eq!(strs(&p.links), ["http://h.test/yes"]);
}

#[test]
fn base_after_links_still_applies() {
    let p = page(r#"<a href="x">x</a><base href="http://b.test/">"#);
    assert_eq!(strs(&p.links), ["http://b.test/x"]);
}

#[test]
fn deep_nesting_is_linear() {
    let html = format!(
        "{}<a href='/deep'>d</a>{}",
        "<div>".repeat(100_000),
        "</div>".repeat(100_000)
    );
    let started = std::time::Instant::now();
    assert_eq!(strs(&page(&html).links), ["http://h.test/deep"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// The scanner against a full HTML5 parser (html5ever via scraper) on tricky markup: same links, same title.
#[test]
fn scanner_agrees_with_html5ever() {
    let samples = [
        r#"<!doctype html><html><head><title>T &amp; U</title><base href="/base/"></head>
           <body><a href="x">1</a><A HREF='Y?a=1&amp;b=2'>2</A><a href=z#f>3</a><area href="/ar"></body>"#,
        r#"<p><a href="/a" href="/ignored">first attribute wins</a><a data-x="<a href='/no'>" href="/yes">"#,
        r#"<script>document.write("<a href='/s'>")</script><style>/* <a href="/st"> */</style>
           <!-- <a href="/c"> --><textarea><a href="/ta"></textarea><a href="/after">"#,
        r#"<svg><title>svg title</title><a href="/svg">s</a></svg><title>html</title>"#,
        "<a href=/unquoted>u</a><a\nhref\n=\n'/spaced'>s</a><a href=''>empty</a><a href=\"&#x2F;hex\">h</a>",
        "<title>ünïcode — ☃</title><a href=\"/ö?q=ü\">u</a><a href=\"//other.test/proto\">p</a>",
    ];
    let url = Url::parse("http://h.test/d/p").unwrap();
    let sel = Selector::parse("a[href], area[href]").unwrap();
    for html in samples {
        let doc = Html::parse_document(html);
        let base = doc
            .select(&Selector::parse("base[href]").unwrap())
            .next()
            .and_then(|b| url.join(b.value().attr("href").unwrap()).ok())
            .unwrap_or_else(|| url.clone());
        let hrefs = doc
            .select(&sel)
            .map(|a| {
                (
                    Cow::Owned(a.value().attr("href").unwrap().to_owned()),
                    false,
                )
            })
            .collect();
        let want = resolve_links(&base, hrefs, &QueryRules::default()).links;
        let got = parse_page(html, &url, &[]);
        assert_eq!(strs(&got.links), strs(&want), "{html}");
        let title = doc
            .select(&Selector::parse("title").unwrap())
            .next()
            .map(|t| collapse(&t.text().collect::<String>()));
        assert_eq!(got.title, title, "{html}");
    }
}

/// `document.title` semantics: strip and collapse ASCII whitespace only; U+00A0 and other spaces are text.
#[test]
fn title_collapses_ascii_whitespace_only() {
    let p = page("<title>\u{a0}Hello\u{a0}\u{a0}World\u{2003} \t\r\n\x0c x </title>");
    assert_eq!(
        p.title.as_deref(),
        Some("\u{a0}Hello\u{a0}\u{a0}World\u{2003} x")
    );
    assert_eq!(
        collapse(" a\u{a0} \u{a0}b\u{85}c \r\n"),
        "a\u{a0} \u{a0}b\u{85}c"
    );
    assert_eq!(
        page("<title>&nbsp;</title>").title.as_deref(),
        Some("\u{a0}")
    );
    assert_eq!(page("<title> \t\n</title>").title.as_deref(), Some(""));
}

/// `--select` text uses the same ASCII-only collapsing.
#[test]
fn select_text_collapses_ascii_whitespace_only() {
    let xs = [Extractor::parse("h1=h1").unwrap()];
    let p = parse_page(
        "<h1>\n \u{a0}A\u{a0} <b>b</b>\t</h1>",
        &Url::parse("http://h.test/").unwrap(),
        &xs,
    );
    assert_eq!(p.extract.unwrap().0[0].1, ["\u{a0}A\u{a0} b"]);
}

/// Hrefs are trimmed as the URL parser trims (C0 controls and space), not of U+00A0.
#[test]
fn hrefs_keep_non_ascii_spaces() {
    let p = page("<a href=\"\u{a0}x\">n</a><a href=\"\t /y \n\">y</a>");
    assert_eq!(
        strs(&p.links),
        ["http://h.test/dir/%C2%A0x", "http://h.test/y"]
    );
}

#[test]
fn huge_title_is_cut() {
    let html = format!("<title>{}</title>", "x".repeat(10_000));
    assert_eq!(page(&html).title.unwrap().len(), MAX_TITLE_CHARS);
}
