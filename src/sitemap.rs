//! `--sitemap`: a listed host's sitemaps (robots.txt `Sitemap:` lines, else `/sitemap.xml`), sitemap indexes
//! one level deep and gzip sitemaps, bounded to 50,000 URLs a sitemap and 100 sitemaps a host.
//!
//! Returns URLs; the scheduler decides what to queue. Must not touch the frontier or records.

use std::io::Read;

use quick_xml::events::Event;
use quick_xml::Reader;
use url::Url;

use crate::fetch::Fetcher;
use crate::host::Host;

/// URLs kept from one sitemap (the protocol's own limit).
pub const MAX_URLS: usize = 50_000;
/// Sitemaps read per host, index children included.
pub const MAX_SITEMAPS: usize = 100;

#[derive(Debug, PartialEq, Eq)]
pub enum Sitemap {
    Index(Vec<String>),
    Urls(Vec<String>),
}

/// Parses a sitemap or sitemap index, gunzipping it first when it starts with the gzip magic bytes.
/// At most `max_bytes` are inflated (a gzip bomb is cut there).
///
/// # Errors
/// Malformed XML or gzip.
pub fn parse(body: &[u8], max_bytes: u64) -> Result<Sitemap, String> {
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

/// Every page URL the host's sitemaps list, each with the sitemap it came from.
pub async fn discover(fetcher: &Fetcher, host: &Host, listed: &Url) -> Vec<(Url, String)> {
    let robots = host.robots(fetcher).await;
    // (sitemap URL, listed at top level): only a top-level index is expanded, one level deep.
    let mut todo: Vec<(String, bool)> = robots
        .sitemaps()
        .iter()
        .map(|s| (s.clone(), true))
        .collect();
    if todo.is_empty() {
        if let Ok(u) = listed.join("/sitemap.xml") {
            todo.push((u.into(), true));
        }
    }
    todo.reverse();
    let mut read = 0;
    let mut found = Vec::new();
    while let Some((sm, top)) = todo.pop() {
        if read >= MAX_SITEMAPS {
            break;
        }
        read += 1;
        let Ok(url) = Url::parse(&sm) else { continue };
        host.ready().await;
        let max = fetcher.config().max_body;
        let body = match fetcher.get_once(&url, max).await {
            Ok(r) if (200..300).contains(&r.status) => r.body,
            Ok(r) => {
                tracing::info!(sitemap = %url, status = r.status, "sitemap not available");
                continue;
            }
            Err(e) => {
                tracing::info!(sitemap = %url, error = %e, "sitemap not fetched");
                continue;
            }
        };
        match parse(&body, max) {
            Ok(Sitemap::Index(children)) if top => {
                todo.extend(children.into_iter().rev().map(|c| (c, false)));
            }
            Ok(Sitemap::Index(_)) => {}
            Ok(Sitemap::Urls(urls)) => found.extend(
                urls.iter()
                    .filter_map(|u| crate::url::normalize(u).ok())
                    .map(|u| (u, sm.clone())),
            ),
            Err(e) => tracing::warn!(sitemap = %url, error = %e, "sitemap unreadable"),
        }
    }
    found
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
