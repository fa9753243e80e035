//! `--sitemap`: a listed host's sitemaps (robots.txt `Sitemap:` lines, else `/sitemap.xml`), sitemap indexes
//! one level deep and gzip sitemaps, bounded to 50,000 URLs a sitemap and 100 sitemaps a host.
//!
//! A sitemap lists URLs of its own origin only (sitemaps.org, "Sitemap file location"): entries on other origins
//! and relative `<loc>`s are skipped and counted in one log line per file; sitemap files on other origins are
//! skipped the same way. Every sitemap request goes through the politeness path ([`crate::polite`]) like a page.
//!
//! One step at a time ([`run`]): the scheduler decides when to read the next file and what to queue. Must not
//! touch the frontier or records.

use std::io::Read;
use std::sync::Arc;

use quick_xml::events::Event;
use quick_xml::Reader;
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

/// Parses a sitemap or sitemap index, gunzipping it first when it starts with the gzip magic bytes.
/// At most `max_bytes` are inflated (a gzip bomb is cut there).
///
/// # Errors
/// Malformed XML or gzip.
pub(crate) fn parse(body: &[u8], max_bytes: u64) -> Result<Sitemap, String> {
    let inflated;
    let xml: &[u8] = if body.starts_with(&[0x1f, 0x8b]) {
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
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut is_index = None;
    let mut in_loc = false;
    let mut locs = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                let name = e.local_name();
                if is_index.is_none() {
                    is_index = Some(name.as_ref() == b"sitemapindex");
                }
                in_loc = name.as_ref() == b"loc";
            }
            Ok(Event::End(_)) => in_loc = false,
            Ok(Event::Text(t)) if in_loc => {
                let text = t.unescape().map_err(|e| e.to_string())?;
                push_loc(&mut locs, &text);
            }
            Ok(Event::CData(t)) if in_loc => push_loc(&mut locs, &String::from_utf8_lossy(&t)),
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(format!("XML: {e}")),
        }
        if locs.len() >= MAX_URLS {
            break;
        }
        buf.clear();
    }
    Ok(if is_index == Some(true) {
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
}
