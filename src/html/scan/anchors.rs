//! `--check-links`' second look at a page: the anchors a `#fragment` may point at (`id` on any element, `name` on
//! `<a>`) and the page's links that carry a fragment. A pass of its own, run only under `--check-links`, so the
//! scanner every page goes through ([`super::scan`]) pays nothing for it; it reuses that scanner's tokenizer steps
//! (comments, raw text, script data, attribute values, character references), so both read markup alike.
//!
//! Pure and synchronous; linear in the input.

use std::collections::HashSet;

use memchr::memchr;
use url::Url;

use super::{
    attribute_value, decode, is_space, raw_text, script_data, skip_markup_declaration, skip_past,
    tag_name_end,
};

/// What `#fragment` checks need from a page.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Anchors {
    /// Every `id` and `<a name>` value (entities decoded), in document order, each once.
    pub names: Vec<String>,
    /// `(link, fragment)` for each `<a href>`/`<area href>` with a non-empty fragment: the link resolved as the
    /// page's `links` are (absolute http(s), no fragment), the fragment as the URL parser left it; each pair once.
    pub fragment_links: Vec<(String, String)>,
}

/// Elements whose content is text, not markup (as in [`super::scan`]).
const RAW: [&[u8]; 8] = [
    b"style",
    b"textarea",
    b"xmp",
    b"iframe",
    b"noembed",
    b"noframes",
    b"noscript",
    b"title",
];

/// The anchors and fragment links of `html`, fetched from `url`.
#[must_use]
pub(crate) fn anchors(html: &str, url: &Url) -> Anchors {
    let b = html.as_bytes();
    let mut names = Vec::new();
    let mut hrefs = Vec::new();
    let mut base: Option<String> = None;
    let mut i = 0;
    while let Some(off) = memchr(b'<', &b[i..]) {
        let lt = i + off;
        let next = match b.get(lt + 1) {
            Some(b'!') => Some(skip_markup_declaration(b, lt + 2)),
            Some(b'?' | b'/') => Some(skip_past(b, lt + 1, b'>')),
            Some(c) if c.is_ascii_alphabetic() => {
                tag(html, lt + 1, &mut names, &mut hrefs, &mut base)
            }
            _ => Some(lt + 1),
        };
        let Some(next) = next else { break };
        i = next;
    }
    let base = base
        .and_then(|h| url.join(h.trim()).ok())
        .unwrap_or_else(|| url.clone());
    let mut seen = HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    let mut pairs = HashSet::new();
    let fragment_links = hrefs
        .iter()
        .filter_map(|href| with_fragment(&base, href))
        .filter(|pair| pairs.insert(pair.clone()))
        .collect();
    Anchors {
        names,
        fragment_links,
    }
}

/// A start tag at `i` (its first name byte): notes its anchor, href or base; returns where scanning resumes.
fn tag(
    html: &str,
    i: usize,
    names: &mut Vec<String>,
    hrefs: &mut Vec<String>,
    base: &mut Option<String>,
) -> Option<usize> {
    let b = html.as_bytes();
    let name_end = tag_name_end(b, i)?;
    let name = &b[i..name_end];
    let is = |s: &[u8]| name.eq_ignore_ascii_case(s);
    let link = is(b"a") || is(b"area");
    let mut j = name_end;
    let mut seen = [false; 3];
    let end = loop {
        while j < b.len() && (is_space(b[j]) || b[j] == b'/') {
            j += 1;
        }
        if *b.get(j)? == b'>' {
            break j + 1;
        }
        let start = j;
        j += 1;
        while j < b.len() && !(is_space(b[j]) || matches!(b[j], b'/' | b'>' | b'=')) {
            j += 1;
        }
        let attr = &b[start..j];
        while j < b.len() && is_space(b[j]) {
            j += 1;
        }
        let mut value = "";
        if b.get(j) == Some(&b'=') {
            j += 1;
            while j < b.len() && is_space(b[j]) {
                j += 1;
            }
            (value, j) = attribute_value(html, j)?;
        }
        // The first occurrence of an attribute wins, as in the tokenizer.
        let slot = [b"id" as &[u8], b"name", b"href"]
            .iter()
            .position(|a| attr.eq_ignore_ascii_case(a));
        match slot {
            Some(k) if !seen[k] => seen[k] = true,
            _ => continue,
        }
        let value = decode(value, true).into_owned();
        match slot {
            Some(0) if !value.is_empty() => names.push(value),
            Some(1) if is(b"a") && !value.is_empty() => names.push(value),
            Some(2) if link && value.contains('#') => hrefs.push(value),
            Some(2) if is(b"base") && base.is_none() => *base = Some(value),
            _ => {}
        }
    };
    if is(b"script") {
        return script_data(html, end);
    }
    if is(b"plaintext") {
        return Some(b.len());
    }
    match RAW.iter().find(|r| is(r)) {
        Some(raw) => raw_text(html, end, raw).1,
        None => Some(end),
    }
}

/// `href` resolved against `base` as an http(s) link without its fragment, and that fragment (when not empty).
fn with_fragment(base: &Url, href: &str) -> Option<(String, String)> {
    let mut link = base.join(href.trim_matches(|c: char| c <= ' ')).ok()?;
    if !matches!(link.scheme(), "http" | "https") || link.host_str().is_none() {
        return None;
    }
    let fragment = link.fragment().filter(|f| !f.is_empty())?.to_owned();
    link.set_fragment(None);
    Some((link.into(), fragment))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(html: &str) -> Anchors {
        anchors(html, &Url::parse("http://h.test/dir/p.html").unwrap())
    }

    #[test]
    fn ids_and_a_names_in_order_once() {
        let a = of(
            r#"<h1 id="top">t</h1><a name="old">o</a><div name="not-a">x</div>
                     <p ID='Caf&eacute;' id="second">p</p><a id=top></a><span id="">e</span>"#,
        );
        assert_eq!(a.names, ["top", "old", "Café"]);
    }

    #[test]
    fn fragment_links_resolve_like_links() {
        let a = of(
            r##"<base href="/b/"><a href="#sec">s</a><a href="other.html#x">o</a>
                      <area href="http://x.test/p?q=1#y"><a href="#">empty</a><a href="plain">p</a>
                      <a href="mailto:a@b.c#z">m</a><a href="#sec">dup</a><link href="/css#n">"##,
        );
        assert_eq!(
            a.fragment_links,
            [
                ("http://h.test/b/".to_owned(), "sec".to_owned()),
                ("http://h.test/b/other.html".to_owned(), "x".to_owned()),
                ("http://x.test/p?q=1".to_owned(), "y".to_owned()),
            ]
        );
    }

    #[test]
    fn markup_that_is_not_markup_hides_nothing_real() {
        let a = of(
            r#"<!-- <a id="c"> --><script>var s = '<a id="s">';</script><style>#x{}</style>
                      <textarea><b id="t"></b></textarea><b id="real">"#,
        );
        assert_eq!(a.names, ["real"]);
        // A tag cut off by the end of the body is dropped, as the link scanner drops it.
        assert!(of(r#"<b id="cut"#).names.is_empty());
    }
}
