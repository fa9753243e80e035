//! `--sitemap`: a listed host's sitemaps (robots.txt `Sitemap:` lines, else `/sitemap.xml`), sitemap indexes
//! one level deep and gzip sitemaps, bounded to 50,000 URLs a sitemap and 100 sitemaps a host. A sitemap may be
//! XML, a text file of URLs, or an RSS 2.0 / Atom feed (sitemaps.org lists all three); only the entries' own
//! URLs are pages, never extension elements (images, videos, news, alternates).
//!
//! A sitemap lists URLs of its own origin only (sitemaps.org, "Sitemap file location"): entries on other origins
//! and relative `<loc>`s are skipped and counted in one log line per file; sitemap files on other origins are
//! skipped the same way. Every sitemap request goes through the politeness path ([`crate::polite`]) like a page.
//!
//! One step at a time ([`run`]): the scheduler decides when to read the next file and what to queue. Must not
//! touch the frontier or records.

use std::io::Read;
use std::sync::Arc;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::NsReader;
use url::{Origin, Url};

use crate::crawl::task::{SitemapTask, TaskOutcome};
use crate::net::request_log::Method;
use crate::polite::{Follow, Polite};
use crate::url::scope::Root;

/// URLs kept from one sitemap (the protocol's own limit).
pub(crate) const MAX_URLS: usize = 50_000;
/// Sitemaps read per host, index children included.
pub(crate) const MAX_SITEMAPS: usize = 100;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sitemap {
    Index(Vec<String>),
    Urls(Vec<String>),
}

/// Parses a sitemap, gunzipping it first when it starts with the gzip magic bytes: an XML sitemap or sitemap
/// index, an RSS 2.0 or Atom feed (its entries' links), or a text sitemap (one URL per line), the forms
/// sitemaps.org lists. At most `max_bytes` are inflated (a gzip bomb is cut there), at most [`MAX_URLS`] kept.
///
/// # Errors
/// Malformed XML or gzip.
pub(crate) fn parse(body: &[u8], max_bytes: u64) -> Result<Sitemap, String> {
    let inflated;
    let data: &[u8] = if body.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body)
            .take(max_bytes)
            .read_to_end(&mut out)
            .map_err(|e| format!("gzip: {e}"))?;
        inflated = out;
        &inflated
    } else {
        body
    };
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    if data.trim_ascii_start().starts_with(b"<") {
        xml(data)
    } else {
        Ok(Sitemap::Urls(text(data)))
    }
}

/// A text sitemap (sitemaps.org "Text file"): one URL per line, blank lines skipped; lines that are no URL are
/// dropped later with the foreign ones.
fn text(data: &[u8]) -> Vec<String> {
    data.split(|&b| b == b'\n')
        .map(|l| String::from_utf8_lossy(l.trim_ascii()))
        .filter(|l| !l.is_empty())
        .take(MAX_URLS)
        .map(std::borrow::Cow::into_owned)
        .collect()
}

/// The XML forms, told apart by their root element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Urlset,
    Index,
    Rss,
    Atom,
}

impl Form {
    /// The element holding one entry, the element holding its URL, and the entry's depth (root = 0).
    fn shape(self) -> (&'static [u8], &'static [u8], usize) {
        match self {
            Form::Urlset => (b"url", b"loc", 1),
            Form::Index => (b"sitemap", b"loc", 1),
            Form::Rss => (b"item", b"link", 2),
            Form::Atom => (b"entry", b"link", 1),
        }
    }
}

/// Where the walk through the XML is.
struct Walk {
    form: Option<Form>,
    /// The root element's namespace: an entry and its URL must be in it, so extension elements (`image:loc`,
    /// `video:*`, `news:*`, `xhtml:link`, an RSS item's `atom:link`) are never taken for pages.
    ns: Option<Vec<u8>>,
    depth: usize,
    in_entry: bool,
    in_loc: Option<String>,
    locs: Vec<String>,
}

impl Walk {
    /// An element opens (`empty`: it closes at once, so it holds no text).
    fn open(&mut self, ns: Option<&[u8]>, name: &[u8], e: &BytesStart<'_>, empty: bool) {
        let Some(form) = self.form else {
            self.form = Some(match name {
                b"sitemapindex" => Form::Index,
                b"rss" => Form::Rss,
                b"feed" => Form::Atom,
                _ => Form::Urlset,
            });
            self.ns = ns.map(<[u8]>::to_vec);
            return;
        };
        let (entry, loc, at) = form.shape();
        let ours = ns == self.ns.as_deref();
        if ours && self.depth == at && name == entry {
            self.in_entry = true;
        } else if ours && self.in_entry && self.depth == at + 1 && name == loc {
            if form == Form::Atom {
                atom_link(e, &mut self.locs);
            } else if !empty {
                self.in_loc = Some(String::new());
            }
        }
    }

    /// An element closes; `self.depth` is already its own depth.
    fn close(&mut self) {
        let Some((_, _, at)) = self.form.map(Form::shape) else {
            return;
        };
        if self.depth == at + 1 {
            if let Some(loc) = self.in_loc.take() {
                push_loc(&mut self.locs, &loc);
            }
        } else if self.depth == at {
            self.in_entry = false;
        }
    }
}

/// An Atom entry's `<link href>`: the entry's own page (`rel` absent or `alternate`), not its enclosures.
fn atom_link(e: &BytesStart<'_>, locs: &mut Vec<String>) {
    let attr = |key: &[u8]| {
        e.attributes()
            .flatten()
            .find(|a| a.key.local_name().as_ref() == key)
            .and_then(|a| a.unescape_value().ok().map(std::borrow::Cow::into_owned))
    };
    if attr(b"rel").is_none_or(|r| r.trim() == "alternate") {
        if let Some(href) = attr(b"href") {
            push_loc(locs, &href);
        }
    }
}

/// A sitemap, sitemap index, RSS 2.0 or Atom feed.
fn xml(data: &[u8]) -> Result<Sitemap, String> {
    let mut reader = NsReader::from_reader(data);
    let mut buf = Vec::new();
    let mut walk = Walk {
        form: None,
        ns: None,
        depth: 0,
        in_entry: false,
        in_loc: None,
        locs: Vec::new(),
    };
    // Bounded by the body: every event consumes input.
    loop {
        let (ns, event) = reader
            .read_resolved_event_into(&mut buf)
            .map_err(|e| format!("XML: {e}"))?;
        let ns = match ns {
            ResolveResult::Bound(Namespace(n)) => Some(n),
            _ => None,
        };
        match event {
            Event::Start(e) => {
                walk.open(ns, e.local_name().as_ref(), &e, false);
                walk.depth += 1;
            }
            Event::Empty(e) => walk.open(ns, e.local_name().as_ref(), &e, true),
            Event::End(_) => {
                walk.depth = walk.depth.saturating_sub(1);
                walk.close();
            }
            Event::Text(t) => {
                if let Some(loc) = &mut walk.in_loc {
                    loc.push_str(&t.unescape().map_err(|e| e.to_string())?);
                }
            }
            Event::CData(t) => {
                if let Some(loc) = &mut walk.in_loc {
                    loc.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::Eof => break,
            _ => {}
        }
        if walk.locs.len() >= MAX_URLS {
            break;
        }
        buf.clear();
    }
    let mut locs = walk.locs;
    Ok(if walk.form == Some(Form::Index) {
        locs.truncate(MAX_SITEMAPS);
        Sitemap::Index(locs)
    } else {
        Sitemap::Urls(locs)
    })
}

fn push_loc(locs: &mut Vec<String>, text: &str) {
    let t = text.trim();
    if !t.is_empty() {
        locs.push(t.to_owned());
    }
}

/// One sitemap step: which files a listed host has, or what one file lists.
pub(crate) async fn run(polite: &Polite, max_body: u64, task: SitemapTask) -> TaskOutcome {
    match task {
        SitemapTask::Discover { listed, root } => {
            let files = discover(polite, &listed, &root).await;
            TaskOutcome::SitemapFiles {
                root,
                files,
                top: true,
            }
        }
        SitemapTask::File { url, root, top } => read(polite, &url, root, top, max_body).await,
    }
}

/// The listed host's sitemap files: its robots.txt `Sitemap:` lines on its own origin, else `/sitemap.xml`.
async fn discover(polite: &Polite, listed: &Url, root: &Root) -> Vec<Url> {
    let host = polite.hosts().get(listed);
    // robots.txt the address guard refused names no sitemaps; `/sitemap.xml` is then refused the same way.
    let robots = polite.robots(&host, root).await;
    let mut skipped = 0usize;
    let mut files: Vec<Url> = robots
        .as_ref()
        .map_or(&[][..], |r| r.sitemaps())
        .iter()
        .filter_map(|s| {
            let kept = same_origin(s, &root.origin);
            skipped += usize::from(kept.is_none());
            kept
        })
        .take(MAX_SITEMAPS)
        .collect();
    if skipped > 0 {
        tracing::info!(
            host = %root.origin.ascii_serialization(),
            skipped,
            "robots.txt Sitemap: lines on other origins skipped"
        );
    }
    if files.is_empty() {
        files.extend(listed.join("/sitemap.xml"));
    }
    files
}

/// Reads one sitemap file: its page URLs, or (for a top-level index) its child sitemaps, own origin only.
async fn read(polite: &Polite, url: &Url, root: Arc<Root>, top: bool, max: u64) -> TaskOutcome {
    let sitemap: Arc<str> = url.as_str().into();
    let none = |root| TaskOutcome::SitemapUrls {
        root,
        sitemap: sitemap.clone(),
        urls: Vec::new(),
    };
    let ex = polite
        .get(url, &root, Follow::SameOrigin, max, None, Method::Get)
        .await;
    let body = match ex.result {
        Ok(r) if (200..300).contains(&r.status) => r.body,
        Ok(r) => {
            tracing::info!(sitemap = %url, status = r.status, "sitemap not available");
            return none(root);
        }
        Err(e) => {
            tracing::info!(sitemap = %url, error = %e, "sitemap not fetched");
            return none(root);
        }
    };
    let (is_index, locs) = match parse(&body, max) {
        Ok(Sitemap::Index(_)) if !top => {
            tracing::info!(sitemap = %url, "nested sitemap index ignored (one level is read)");
            return none(root);
        }
        Ok(Sitemap::Index(children)) => (true, children),
        Ok(Sitemap::Urls(locs)) => (false, locs),
        Err(e) => {
            tracing::warn!(sitemap = %url, error = %e, "sitemap unreadable");
            return none(root);
        }
    };
    let total = locs.len();
    let urls: Vec<Url> = locs
        .iter()
        .filter_map(|l| same_origin(l, &url.origin()))
        .collect();
    if urls.len() < total {
        tracing::info!(
            sitemap = %url,
            skipped = total - urls.len(),
            "sitemap entries on other origins or relative skipped"
        );
    }
    if is_index {
        TaskOutcome::SitemapFiles {
            root,
            files: urls,
            top: false,
        }
    } else {
        TaskOutcome::SitemapUrls {
            root,
            sitemap,
            urls,
        }
    }
}

/// An absolute http(s) `<loc>` on `origin`, normalised; relative or foreign entries are `None`.
fn same_origin(loc: &str, origin: &Origin) -> Option<Url> {
    // Url::parse (not normalize): a relative "/m0" must not become "https:///m0" = host "m0".
    let url = Url::parse(loc.trim()).ok()?;
    let url = crate::url::normalize(url.as_str()).ok()?;
    (url.origin() == *origin).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn urlset_and_index() {
        let set = br#"<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
            <url><loc> http://a.test/1 </loc></url><url><loc>http://a.test/2?x=1&amp;y=2</loc></url></urlset>"#;
        assert_eq!(
            parse(set, 1 << 20).unwrap(),
            Sitemap::Urls(vec![
                "http://a.test/1".into(),
                "http://a.test/2?x=1&y=2".into()
            ])
        );
        let idx =
            br"<sitemapindex><sitemap><loc>http://a.test/s1.xml.gz</loc></sitemap></sitemapindex>";
        assert_eq!(
            parse(idx, 1 << 20).unwrap(),
            Sitemap::Index(vec!["http://a.test/s1.xml.gz".into()])
        );
    }

    #[test]
    fn gzip_and_bounds() {
        let mut xml = String::from("<urlset>");
        for i in 0..(MAX_URLS + 10) {
            xml += "<url><loc>http://a.test/";
            xml += &i.to_string();
            xml += "</loc></url>";
        }
        xml.push_str("</urlset>");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(xml.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        match parse(&gz, 1 << 30).unwrap() {
            Sitemap::Urls(u) => assert_eq!(u.len(), MAX_URLS),
            Sitemap::Index(_) => panic!("a urlset is not an index"),
        }
        assert!(parse(b"<urlset><loc>x</wrong>", 1 << 20).is_err());
    }

    fn urls(body: &str) -> Vec<String> {
        match parse(body.as_bytes(), 1 << 20).unwrap() {
            Sitemap::Urls(u) => u,
            Sitemap::Index(i) => panic!("not an index: {i:?}"),
        }
    }

    /// Issue 20: `image:loc` (local name `loc`) was taken for a page.
    #[test]
    fn extension_elements_are_never_pages() {
        let set = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
  xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"
  xmlns:video="http://www.google.com/schemas/sitemap-video/1.1"
  xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"
  xmlns:xhtml="http://www.w3.org/1999/xhtml">
 <url><loc>http://a.test/p</loc>
  <image:image><image:loc>http://a.test/i.jpg</image:loc></image:image>
  <video:video><video:content_loc>http://a.test/v.mp4</video:content_loc><video:player_loc>http://a.test/pl</video:player_loc>
   <video:thumbnail_loc>http://a.test/t.jpg</video:thumbnail_loc></video:video>
  <news:news><news:publication><news:name>N</news:name></news:publication><news:title>T</news:title></news:news>
  <xhtml:link rel="alternate" hreflang="de" href="http://a.test/de"/>
  <loc xmlns="http://www.google.com/schemas/sitemap-image/1.1">http://a.test/k.jpg</loc>
 </url>
 <url><loc><![CDATA[http://a.test/q]]></loc></url>
</urlset>"#;
        assert_eq!(urls(set), ["http://a.test/p", "http://a.test/q"]);
        let bare = "<urlset><url><loc>http://a.test/1</loc><image:loc xmlns:image=\"x\">http://a.test/i</image:loc></url></urlset>";
        assert_eq!(urls(bare), ["http://a.test/1"]);
    }

    #[test]
    fn text_sitemaps_list_one_url_a_line() {
        assert_eq!(
            urls("\u{feff}http://a.test/1\r\n\n  http://a.test/2  \nhttp://a.test/3"),
            ["http://a.test/1", "http://a.test/2", "http://a.test/3"]
        );
        let many = "http://a.test/x\n".repeat(MAX_URLS + 5);
        assert_eq!(urls(&many).len(), MAX_URLS);
    }

    #[test]
    fn feeds_give_their_entries_links() {
        let rss = r#"<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
  <title>T</title><link>http://a.test/</link><atom:link href="http://a.test/feed" rel="self"/>
  <item><title>One</title><link>http://a.test/1</link><guid>http://a.test/g1</guid>
   <enclosure url="http://a.test/e.mp3"/><atom:link href="http://a.test/x"/></item>
  <item><link> http://a.test/2 </link></item></channel></rss>"#;
        assert_eq!(urls(rss), ["http://a.test/1", "http://a.test/2"]);
        let atom = r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
  <title>T</title><link href="http://a.test/"/><link rel="self" href="http://a.test/atom"/>
  <entry><title>One</title><link href="http://a.test/1"/><link rel="enclosure" href="http://a.test/e"/>
   <id>urn:x</id></entry>
  <entry><link rel="alternate" href="http://a.test/2?a=1&amp;b=2"></link></entry></feed>"#;
        assert_eq!(urls(atom), ["http://a.test/1", "http://a.test/2?a=1&b=2"]);
    }
}
