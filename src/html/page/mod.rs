//! HTML → owned data: charset decoding, HTML sniffing, title, links (resolved against `<base href>`, http(s) only,
//! fragment-free, de-duplicated, in document order), robots meta and `--select` extracts.
//!
//! Synchronous and pure: `scraper::Html` is not `Send`, so callers run [`parse_page`] on a blocking thread and get
//! back a [`Page`] that owns everything. Must not await or do I/O.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::url::key::KeyHasher;

use scraper::Selector;
use url::Url;

use crate::record::{cut, Extract, Hreflang};
use crate::url::query::QueryRules;

/// Longest title kept (characters): a hostile 5 MB `<title>` must not become a 5 MB JSON field. The description
/// is cut at the same length.
pub(crate) const MAX_TITLE_CHARS: usize = 2048;
/// Longest `lang` kept (characters): language tags are short; a hostile one must not fill the record.
const MAX_LANG_CHARS: usize = 64;
/// Robots directives kept at most, each at most [`MAX_LANG_CHARS`] characters: a page of a thousand robots metas
/// must not become a thousand-item field.
pub(crate) const MAX_ROBOTS_DIRECTIVES: usize = 32;

/// What a page yielded.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Page {
    pub title: Option<String>,
    /// Absolute http(s) links, fragment-free, de-duplicated, in document order.
    pub links: Vec<String>,
    /// Parallel to `links`: false when every occurrence of the link carried `rel="nofollow"`.
    pub followable: Vec<bool>,
    /// Parallel to `links`: each one's [`crate::url::key::key`] (the dedup below computes it; the crawl reuses it).
    pub link_keys: Vec<u64>,
    /// `<meta name="robots" content="nofollow">` (or `none`, or `name="crawlfish"`) was present.
    pub meta_nofollow: bool,
    pub extract: Option<Extract>,
    /// The first `<link rel=canonical>`, resolved against the base.
    pub canonical: Option<String>,
    /// Directives of `<meta name=robots|crawlfish>`, lowercase, each once, in order.
    pub robots: Vec<String>,
    pub lang: Option<String>,
    pub description: Option<String>,
    /// `<link rel=alternate hreflang>`, resolved (those that are not http(s) URLs are left out).
    pub hreflang: Vec<Hreflang>,
    /// `--content`: the page's text as asked (`None` without the flag).
    pub content: Option<String>,
}

/// One compiled `--select NAME=CSS[@ATTR]`.
#[derive(Debug, Clone)]
pub struct Extractor {
    pub name: String,
    pub selector: Selector,
    pub attr: Option<String>,
}

impl Extractor {
    /// Parses `NAME=CSS` or `NAME=CSS@ATTR`. The `@ATTR` suffix is recognised only when it is a plain attribute
    /// name after the last `@`, outside brackets and quotes, so `a[href*="@"]` stays a selector.
    ///
    /// # Errors
    /// A message naming what is wrong.
    pub fn parse(spec: &str) -> Result<Extractor, String> {
        let (name, rest) = spec
            .split_once('=')
            .ok_or("expected NAME=CSS or NAME=CSS@ATTR")?;
        let name = name.trim();
        if name.is_empty() {
            return Err("empty NAME".into());
        }
        if name == crate::html::select::TRUNCATED_KEY {
            return Err(format!("NAME {name:?} is reserved: it marks a cut extract"));
        }
        let (css, attr) = match rest.rsplit_once('@') {
            Some((css, attr))
                if !attr.is_empty()
                    && attr
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':')) =>
            {
                (css, Some(attr.to_owned()))
            }
            _ => (rest, None),
        };
        let selector = Selector::parse(css.trim())
            .map_err(|e| format!("invalid CSS selector {css:?}: {e}"))?;
        Ok(Extractor {
            name: name.to_owned(),
            selector,
            attr,
        })
    }
}

/// Whether a response is HTML: by Content-Type, or by sniffing the first bytes when there is none.
#[must_use]
pub(crate) fn is_html(content_type: Option<&str>, body: &[u8]) -> bool {
    if let Some(ct) = content_type {
        let mime = ct.split(';').next().unwrap_or("").trim();
        return mime.eq_ignore_ascii_case("text/html")
            || mime.eq_ignore_ascii_case("application/xhtml+xml");
    }
    let head = &body[..body.len().min(512)];
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    let head = String::from_utf8_lossy(&head[start..]).to_ascii_lowercase();
    ["<!doctype html", "<html", "<head", "<body", "<title"]
        .iter()
        .any(|p| head.starts_with(p))
}

/// Decodes a body: charset from Content-Type, else `<meta charset>` in the first 1,024 bytes, else UTF-8.
/// Invalid bytes become U+FFFD; nothing panics.
#[must_use]
pub(crate) fn decode<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    let label = content_type
        .and_then(charset_param)
        .or_else(|| meta_charset(&body[..body.len().min(1024)]));
    let encoding = label
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    encoding.decode_with_bom_removal(body).0
}

fn charset_param(ct: &str) -> Option<String> {
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// `<meta charset="x">` or `<meta http-equiv content="…; charset=x">`, found by a byte scan (no DOM yet).
fn meta_charset(head: &[u8]) -> Option<String> {
    let lower = String::from_utf8_lossy(head).to_ascii_lowercase();
    let at = lower.find("charset=")?;
    let rest = lower[at + "charset=".len()..].trim_start_matches(['"', '\'', ' ']);
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')))
        .unwrap_or(rest.len());
    (end > 0).then(|| rest[..end].to_owned())
}

/// Parses an HTML document fetched from `url`: title, links, base and robots meta come from [`crate::html::scan`]
/// (one linear pass, no DOM); only `--select` builds a DOM, with scraper.
#[must_use]
pub fn parse_page(html: &str, url: &Url, extractors: &[Extractor]) -> Page {
    parse_page_with(html, url, extractors, &QueryRules::default(), None)
}

/// [`parse_page`], with links (not the canonical or alternates: they are reported as the page states them)
/// canonicalised by `--strip-query`/`--sort-query` before they are de-duplicated; and `--content` when `content`
/// is set (its links resolve against the same base as the page's).
#[must_use]
pub(crate) fn parse_page_with(
    html: &str,
    url: &Url,
    extractors: &[Extractor],
    rules: &QueryRules,
    content: Option<crate::html::ContentOptions>,
) -> Page {
    let scan = crate::html::scan::scan(html, MAX_TITLE_CHARS * 4);
    let base = scan
        .base
        .as_deref()
        .and_then(|href| url.join(trim_url(href)).ok())
        .unwrap_or_else(|| url.clone());
    let Resolved {
        links,
        followable,
        keys: link_keys,
    } = resolve_links(&base, scan.hrefs, rules);
    let extract = (!extractors.is_empty()).then(|| crate::html::select::extract(html, extractors));
    let mut robots = Vec::new();
    for content in &scan.robots {
        add_directives(&mut robots, content);
    }
    Page {
        title: scan.title.map(|t| cut(&collapse(&t), MAX_TITLE_CHARS)),
        links,
        followable,
        link_keys,
        meta_nofollow: scan.meta_nofollow,
        extract,
        canonical: scan
            .canonical
            .and_then(|href| resolve(&base, trim_url(&href))),
        robots,
        lang: scan.lang.map(|l| {
            cut(
                l.trim_matches(|c: char| c.is_ascii_whitespace()),
                MAX_LANG_CHARS,
            )
        }),
        description: scan
            .description
            .map(|d| cut(&collapse(&d), MAX_TITLE_CHARS)),
        hreflang: scan
            .alternates
            .into_iter()
            .filter_map(|(lang, href)| {
                let url = resolve(&base, trim_url(&href))?;
                let lang = cut(
                    lang.trim_matches(|c: char| c.is_ascii_whitespace()),
                    MAX_LANG_CHARS,
                );
                Some(Hreflang { lang, url })
            })
            .collect(),
        content: content.map(|opts| crate::html::content::extract(html, &base, opts)),
    }
}

/// Adds the directives of a comma-separated list (a robots meta's `content`, an `X-Robots-Tag` value) to `out`:
/// trimmed, lowercase, each once, at most [`MAX_ROBOTS_DIRECTIVES`].
pub(crate) fn add_directives(out: &mut Vec<String>, list: &str) {
    for d in list.split(',') {
        let d = d.trim_matches(|c: char| c.is_ascii_whitespace());
        if d.is_empty() || out.len() >= MAX_ROBOTS_DIRECTIVES {
            continue;
        }
        let d = cut(&d.to_lowercase(), MAX_LANG_CHARS);
        if !out.contains(&d) {
            out.push(d);
        }
    }
}

/// Resolves hrefs against the base: http(s) only, fragment dropped, canonicalised by `rules`, de-duplicated in
/// document order.
/// A page's links, each once, with [`Page`]'s parallel `followable` and `link_keys`.
struct Resolved {
    links: Vec<String>,
    followable: Vec<bool>,
    keys: Vec<u64>,
}

fn resolve_links(base: &Url, hrefs: Vec<(Cow<'_, str>, bool)>, rules: &QueryRules) -> Resolved {
    let mut links: Vec<String> = Vec::with_capacity(hrefs.len());
    let mut followable: Vec<bool> = Vec::with_capacity(hrefs.len());
    let mut keys: Vec<u64> = Vec::with_capacity(hrefs.len());
    let mut index: HashMap<u64, usize, BuildHasherDefault<KeyHasher>> =
        HashMap::with_capacity_and_hasher(hrefs.len(), BuildHasherDefault::default());
    for (href, nofollow) in hrefs {
        let Some(mut link) = resolve(base, trim_url(&href)) else {
            continue;
        };
        if !rules.is_empty() {
            if let Cow::Owned(canon) = rules.apply(&link) {
                link = canon;
            }
        }
        let k = crate::url::key::key(&link);
        match index.entry(k) {
            Entry::Occupied(e) => followable[*e.get()] |= !nofollow,
            Entry::Vacant(e) => {
                e.insert(links.len());
                links.push(link);
                followable.push(!nofollow);
                keys.push(k);
            }
        }
    }
    Resolved {
        links,
        followable,
        keys,
    }
}

/// What the URL parser strips from both ends of its input: C0 controls and space (not U+00A0 and other
/// Unicode spaces, which it percent-encodes).
fn trim_url(href: &str) -> &str {
    href.trim_matches(|c: char| c <= ' ')
}

/// An href as an absolute http(s) URL without fragment, or `None`.
fn resolve(base: &Url, href: &str) -> Option<String> {
    if let Some(link) = crate::url::join_plain(base, href) {
        return Some(link);
    }
    let mut link = base.join(href).ok()?;
    if !matches!(link.scheme(), "http" | "https") || link.host_str().is_none() {
        return None;
    }
    link.set_fragment(None);
    Some(link.into())
}

/// Strips and collapses ASCII whitespace (tab, LF, FF, CR, space) to one space, as `document.title` does; other
/// spaces such as U+00A0 are text and stay.
#[must_use]
pub(crate) fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s
        .split(|c: char| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests;
