//! The main content of a page, as HTML: rs-trafilatura (a port of trafilatura) picks it; [`super::render`]
//! writes it out.
//!
//! Why a crate here and not a scorer of our own: on the 181 real pages of scrapinghub's article-extraction
//! benchmark (`bench/content_eval.py`) its text scored token F1 0.957 where `dom_smoothie`, the best
//! readability-style Rust crate, scored 0.855 (README, "Content extraction").

use super::{MAX_MAIN_INPUT, MAX_MAIN_TAGS};

/// The main content, as rs-trafilatura found it.
pub(super) struct Main {
    /// Its HTML (empty when none was found).
    pub(super) html: String,
    /// Its text, when `html` is the content node's HTML: the blocks to keep ([`super::filter`]).
    pub(super) text: Option<String>,
    /// The page was cut to [`MAX_MAIN_INPUT`].
    pub(super) cut: bool,
}

/// The page's main content.
pub(super) fn main_html(html: &str) -> Main {
    let (html, mut cut) = if html.len() > MAX_MAIN_INPUT {
        let mut end = MAX_MAIN_INPUT;
        while !html.is_char_boundary(end) {
            end -= 1;
        }
        (&html[..end], true)
    } else {
        (html, false)
    };
    // rs-trafilatura's own parse and scoring are not metered and grow faster than the page: 4 MiB of
    // `<span>w</span>` (~300,000 elements) took 97 s and 575 MB (the attack run). Real pages hold far fewer tags
    // (the 181 benchmark pages: at most 3,229), so only the first MAX_MAIN_TAGS are given to it; that page then
    // took 11.5 s and 66 MB in a debug build (1.75 s without --content), the rest of it scanning 10 MiB unoptimised.
    let html = match memchr::memchr_iter(b'<', html.as_bytes()).nth(MAX_MAIN_TAGS) {
        Some(end) => {
            cut = true;
            &html[..end]
        }
        None => html,
    };
    let options = rs_trafilatura::Options {
        include_links: true,
        include_tables: true,
        include_images: true,
        include_formatting: true,
        ..rs_trafilatura::Options::default()
    };
    let (html, text) = match rs_trafilatura::extract_with_options(html, &options) {
        Ok(r) => match r.content_html {
            Some(html) if !html.trim().is_empty() => (html, Some(r.content_text)),
            // Its fallbacks (JSON-LD bodies, merged sections, listing items) give text only: 2 of the 181
            // benchmark pages, which scored 0 before this.
            _ => (paragraphs(&r.content_text), None),
        },
        Err(_) => (String::new(), None),
    };
    Main { html, text, cut }
}

/// Plain text as HTML paragraphs (one per run of lines between blank lines), escaped.
fn paragraphs(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + text.len() / 8);
    for para in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        html.push_str("<p>");
        for (i, line) in para.lines().enumerate() {
            if i > 0 {
                html.push_str("<br>");
            }
            html.push_str(&html_escape::encode_text(line));
        }
        html.push_str("</p>");
    }
    html
}
