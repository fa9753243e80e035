//! Differential test: the scanner against html5gum, a WHATWG tokenizer, on generated markup.
//!
//! html5gum runs with the same "naive" state switching as the scanner (after a start tag of a raw-text element
//! its content is tokenized as RCDATA, RAWTEXT, script data or PLAINTEXT). From its tokens we take the expected
//! links (`a`/`area` `href`, first attribute wins, `rel` nofollow; `iframe`/`frame` `src`; `meta` refresh targets;
//! `link rel=next|prev`), the first `<base href>`, robots and crawlfish metas, the first canonical, the hreflang
//! alternates, the first description and `<html lang>`, and the first title's text, and compare with [`super::scan`]. The inputs come from fixed-seed generators, so a failure
//! is reproducible: random soup of tricky fragments, and pages shaped like real ones; a third of them cut off at
//! a random character boundary, as `--max-body` does. On a disagreement the test shrinks the input and prints it;
//! every case it ever found is kept as an explicit regression test in `super::tests`.
//!
//! Compared as a crawler sees them: hrefs with CR and LF removed (the tokenizer turns CR into LF, the URL parser
//! drops both), titles whitespace-collapsed.

use std::borrow::Cow;

use html5gum::{State, Token, Tokenizer};

use super::generate::{cut_off, page, soup};
use super::scan;
use crate::html::collapse;

#[derive(Debug, PartialEq, Eq)]
struct View {
    links: Vec<(String, bool)>,
    base: Option<String>,
    meta_nofollow: bool,
    title: Option<String>,
    canonical: Option<String>,
    alternates: Vec<(String, String)>,
    robots: Vec<String>,
    description: Option<String>,
    lang: Option<String>,
}

fn rel_has(rel: &str, name: &str) -> bool {
    rel.split_ascii_whitespace()
        .any(|r| r.eq_ignore_ascii_case(name))
}

fn rel_nofollow(rel: &str) -> bool {
    rel.split_ascii_whitespace()
        .any(|r| r.eq_ignore_ascii_case("nofollow"))
}

fn url_text(s: &str) -> String {
    s.replace(['\r', '\n'], "")
}

/// The tokenizer's state after a start tag named `name` (lowercase), as a tree builder would switch it.
fn raw_state(name: &[u8]) -> Option<State> {
    match name {
        b"title" | b"textarea" => Some(State::RcData),
        b"script" => Some(State::ScriptData),
        b"plaintext" => Some(State::PlainText),
        b"style" | b"xmp" | b"iframe" | b"noembed" | b"noframes" | b"noscript" => {
            Some(State::RawText)
        }
        _ => None,
    }
}

/// A `<meta>`'s refresh target, robots directives and description, from the tokenizer's attributes.
fn expected_meta(attr: &dyn Fn(&str) -> Option<String>, view: &mut View) {
    let Some(content) = attr("content") else {
        return;
    };
    let trim = |s: &str| s.trim_matches(|c: char| c.is_ascii_whitespace()).to_owned();
    let refresh = attr("http-equiv").is_some_and(|e| trim(&e).eq_ignore_ascii_case("refresh"));
    if let Some(target) = refresh
        .then(|| super::head::refresh_url(content.as_str().into()))
        .flatten()
    {
        view.links.push((url_text(&target), false));
    }
    match attr("name")
        .map(|n| trim(&n).to_ascii_lowercase())
        .as_deref()
    {
        Some("robots" | "crawlfish") => {
            view.meta_nofollow |= content.split(',').any(|d| {
                let d = trim(d);
                d.eq_ignore_ascii_case("nofollow") || d.eq_ignore_ascii_case("none")
            });
            view.robots.push(content);
        }
        Some("description") if view.description.is_none() => view.description = Some(content),
        _ => {}
    }
}

fn expected(html: &str) -> View {
    let mut view = View {
        links: Vec::new(),
        base: None,
        meta_nofollow: false,
        title: None,
        canonical: None,
        alternates: Vec::new(),
        robots: Vec::new(),
        description: None,
        lang: None,
    };
    let mut in_title = false;
    let mut tokenizer = Tokenizer::new(html);
    while let Some(Ok(token)) = tokenizer.next() {
        match token {
            Token::StartTag(tag) => {
                in_title = false;
                let attr = |n: &str| {
                    tag.attributes
                        .get(n.as_bytes())
                        .map(|v| String::from_utf8_lossy(&v.value).into_owned())
                };
                match &tag.name[..] {
                    b"a" | b"area" => {
                        if let Some(href) = attr("href") {
                            let nofollow = attr("rel").is_some_and(|r| rel_nofollow(&r));
                            view.links.push((url_text(&href), nofollow));
                        }
                    }
                    b"base" if view.base.is_none() => {
                        view.base = attr("href").map(|h| url_text(&h));
                    }
                    b"iframe" | b"frame" => {
                        if let Some(src) = attr("src") {
                            view.links.push((url_text(&src), false));
                        }
                    }
                    b"link" => {
                        if let (Some(href), Some(rel)) = (attr("href"), attr("rel")) {
                            if rel_has(&rel, "next") || rel_has(&rel, "prev") {
                                view.links
                                    .push((url_text(&href), rel_has(&rel, "nofollow")));
                            }
                            if view.canonical.is_none() && rel_has(&rel, "canonical") {
                                view.canonical = Some(url_text(&href));
                            }
                            if let Some(lang) =
                                attr("hreflang").filter(|_| rel_has(&rel, "alternate"))
                            {
                                view.alternates.push((lang, url_text(&href)));
                            }
                        }
                    }
                    b"html" if view.lang.is_none() => view.lang = attr("lang"),
                    b"meta" => expected_meta(&attr, &mut view),
                    b"title" if view.title.is_none() => {
                        view.title = Some(String::new());
                        in_title = true;
                    }
                    _ => {}
                }
                if let Some(state) = raw_state(&tag.name) {
                    tokenizer.set_state(state);
                }
            }
            Token::String(s) => {
                if in_title {
                    if let Some(t) = view.title.as_mut() {
                        t.push_str(&String::from_utf8_lossy(&s.value));
                    }
                }
            }
            Token::EndTag(_) | Token::Comment(_) | Token::Doctype(_) => in_title = false,
            Token::Error(_) => {}
        }
    }
    view.title = view.title.map(|t| collapse(&t));
    view
}

fn actual(html: &str) -> View {
    let s = scan(html, usize::MAX);
    View {
        links: s
            .hrefs
            .into_iter()
            .map(|(h, nofollow)| (url_text(&h), nofollow))
            .collect(),
        base: s.base.map(|b| url_text(&b)),
        meta_nofollow: s.meta_nofollow,
        title: s.title.map(|t| collapse(&t)),
        canonical: s.canonical.map(|c| url_text(&c)),
        alternates: s
            .alternates
            .into_iter()
            .map(|(l, h)| (l.into_owned(), url_text(&h)))
            .collect(),
        robots: s.robots.into_iter().map(Cow::into_owned).collect(),
        description: s.description.map(Cow::into_owned),
        lang: s.lang.map(Cow::into_owned),
    }
}

fn agrees(html: &str) -> bool {
    expected(html) == actual(html)
}

/// A smaller input that still disagrees: drops characters while the disagreement stays.
fn shrink(html: &str) -> String {
    let mut chars: Vec<char> = html.chars().collect();
    let mut chunk = chars.len().max(1);
    while chunk > 0 {
        let mut i = 0;
        while i < chars.len() {
            let mut candidate = chars.clone();
            candidate.drain(i..(i + chunk).min(chars.len()));
            let text: String = candidate.iter().collect();
            if agrees(&text) {
                i += chunk;
            } else {
                chars = candidate;
            }
        }
        chunk /= 2;
    }
    chars.into_iter().collect()
}

#[test]
fn scanner_agrees_with_html5gum_tokenizer() {
    let mut rng = fastrand::Rng::with_seed(0x5CA9_2024);
    let mut failures = Vec::new();
    for case in 0..6_000 {
        let doc = if case % 2 == 0 {
            soup(&mut rng)
        } else {
            page(&mut rng)
        };
        let doc = if case % 3 == 0 {
            cut_off(&mut rng, &doc)
        } else {
            doc
        };
        if !agrees(&doc) {
            failures.push(doc);
        }
    }
    let shrunk: Vec<String> = failures.iter().take(5).map(|d| shrink(d)).collect();
    for s in &shrunk {
        eprintln!(
            "disagreement: {s:?}\n  tokenizer: {:?}\n  scanner:   {:?}",
            expected(s),
            actual(s)
        );
    }
    assert!(
        failures.is_empty(),
        "{} disagreements, first ones shrunk: {shrunk:#?}",
        failures.len()
    );
}

/// The state switching above is right: html5gum sees no markup inside raw-text elements.
#[test]
fn tokenizer_oracle_switches_states() {
    let v = expected("<script><a href=/s></script><noframes><a href=/n></noframes><title>&amp;<b></title><a href=/y>");
    assert_eq!(v.links, [("/y".to_owned(), false)]);
    assert_eq!(v.title.as_deref(), Some("&<b>"));
}

/// Every regression case in `super::tests`, and other edge cases, agree with the tokenizer.
#[test]
fn explicit_cases_agree() {
    let cases = [
        "<a href", "<a href=", "<a href=\"/docs/pa", "<a href='/docs/pa", "<a href=/docs/pa", "<base href", "<title",
        "<title/", "<title lang=\"e", "<title>never closed", "<title>ends in </title", "<title>ends in </title x='",
        "<!----!><a href=>", "<!-- x --!><a href=/after>", "<!--!><a href=/no>--><a href=/yes>",
        "<!---!><a href=/no>--><a href=/yes>", "<!-- --!-><a href=/no>--><a href=/yes>",
        "<!-- <!-- nested --><a href=/yes>", "<!---><a href=/yes><!----><a href=/yes2>", "</v s='><a href=g>",
        "<script></script a='><a href>", "</div class='>' <a href=/in><a href=/out>", "</><a href=/a></ x><a href=/b>",
        "<script><!--<script></script><a href>", "<script><!--<script </script><a href>--></script><a href=/yes>",
        "<script><!--<script>--></script><a href=/yes>", "<script><!--></script><a href=/yes>",
        "<script><!--<scripts></script><a href=/yes>",
        "<title>&not &copy &amp &nbsp &lt</title>",
        "<title>&notit; &copy2024 &#0 &#8 &#9;x &#128; &#x9d; &#xD800; &#99999999; &bogus; &#x &#</title>",
        "<title>a\0b</title>", "<a href=&copy>", "<a href='?a=1&copy=2&amp;b&ampx&notin;&amp'>", "<a href=&#128>",
        "<a href=\"/a\0b\">", "<a rel=x rel=nofollow href=/a>", "<meta name=x name=robots content=nofollow>",
        "<meta name=robots name=x content=nofollow>", "<title>\u{a0}x\u{a0} \u{2003}</title>",
        "<svg><![CDATA[<a href=/cdata>]]></svg>", "<a href=\"x\"href=y>", "<a =href=x href=y>",
        "<iframe src=/f><a href=/no></iframe><a href=/yes>", "<iframe src=/f", "<frame src=/f src=/g>",
        "<link rel=next href=/n><link rel='prev nofollow' href=/p><link rel=stylesheet href=/s.css>",
        "<link rel=canonical href=/c1><link rel=canonical href=/c2>", "<link rel=alternate hreflang=de href=/de>",
        "<link rel=alternate href=/feed.xml>", "<meta http-equiv=refresh content='0; url=/r'>",
        "<meta http-equiv=refresh content=5>", "<meta content=\"0;URL=&quot;/q&quot;\" http-equiv=REFRESH>",
        "<meta name=description content=first><meta name=description content=second>", "<html lang=en><html lang=de>",
        "<meta name=CrawlFish content=none>", "<meta name=robots content=noindex><meta name=robots content=nofollow>",
    ];
    for html in cases {
        assert_eq!(actual(html), expected(html), "{html:?}");
    }
}
