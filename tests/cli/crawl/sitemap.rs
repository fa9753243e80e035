//! Sitemaps (`--sitemap`): an index with a gzip child, `sitemap.xml` as the fallback, URLs only from the sitemap's
//! own origin, and sitemap fetches within the global limit, read lazily.

use std::collections::HashSet;
use std::io::Write as _;
use std::time::Duration;

use crate::support::*;

#[tokio::test]
async fn sitemap_index_with_a_gzip_child() {
    use flate2::{write::GzEncoder, Compression};
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/robots.txt",
        vec![Step::new(
            200,
            format!(
                "User-agent: *\nAllow: /\nSitemap: {}\n",
                site.url("/index.xml")
            ),
        )],
    );
    site.route(
        "/index.xml",
        vec![Step::new(
            200,
            format!(
                "<sitemapindex><sitemap><loc>{}</loc></sitemap><sitemap><loc>{}</loc></sitemap></sitemapindex>",
                site.url("/a.xml.gz"),
                site.url("/b.xml")
            ),
        )],
    );
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(
        format!(
            "<urlset><url><loc>{}</loc></url><url><loc>{}</loc></url></urlset>",
            site.url("/s1"),
            site.url("/s2")
        )
        .as_bytes(),
    )
    .unwrap();
    site.route(
        "/a.xml.gz",
        vec![Step::new(200, gz.finish().unwrap()).header("content-type", "application/gzip")],
    );
    site.route(
        "/b.xml",
        vec![Step::new(
            200,
            format!("<urlset><url><loc>{}</loc></url></urlset>", site.url("/s3")),
        )],
    );
    for p in ["/", "/s1", "/s2", "/s3"] {
        site.html(p, "page");
    }
    let run = crawlfish(&["-q", "-r", "0", "--sitemap"], &site.url("/")).await;
    let got: HashSet<String> = run.by_url().into_keys().collect();
    let want: HashSet<String> = ["/", "/s1", "/s2", "/s3"]
        .iter()
        .map(|p| site.url(p))
        .collect();
    assert_eq!(got, want);
    assert_eq!(run.record(&site.url("/s1"))["depth"], 0);
    assert_eq!(
        run.record(&site.url("/s1"))["parent"],
        site.url("/a.xml.gz")
    );
    assert_eq!(site.hits("/robots.txt"), 1);
}

#[tokio::test]
async fn sitemap_xml_is_the_fallback() {
    let site = Site::start("127.0.0.2").await;
    site.route(
        "/sitemap.xml",
        vec![Step::new(
            200,
            format!(
                "<urlset><url><loc>{}</loc></url></urlset>",
                site.url("/only")
            ),
        )],
    );
    site.html("/", "root").html("/only", "only");
    let run = crawlfish(&["-q", "-r", "0", "--sitemap"], &site.url("/")).await;
    let got: HashSet<String> = run.by_url().into_keys().collect();
    assert_eq!(got, HashSet::from([site.url("/"), site.url("/only")]));
}

#[tokio::test]
async fn sitemaps_list_their_own_origin_only() {
    let site = Site::start("127.0.0.1").await;
    let other = Site::start("127.0.0.2").await;
    let ssh = std::net::SocketAddr::new(site.addr.ip(), 22);
    site.route(
        "/sitemap.xml",
        vec![Step::new(
            200,
            format!(
                "<urlset><url><loc>{}</loc></url><url><loc>{}</loc></url><url><loc>/m0</loc></url>\
                 <url><loc>http://{ssh}/</loc></url></urlset>",
                site.url("/mine"),
                other.url("/theirs"),
            ),
        )],
    );
    site.html("/", &format!("<a href='{}'>o</a>", other.url("/linked")));
    site.html("/mine", "mine");
    other.html("/theirs", "theirs").html("/linked", "linked");
    let run = crawlfish(
        &[
            "-v",
            "-r",
            "0",
            "--sitemap",
            "--depth",
            "2",
            "--scope",
            "host",
        ],
        &site.url("/"),
    )
    .await;
    let got: HashSet<String> = run.by_url().into_keys().collect();
    assert_eq!(got, HashSet::from([site.url("/"), site.url("/mine")]));
    assert_eq!(other.total_hits(), 0, "no request to a foreign origin");
    assert!(
        run.stderr.contains("skipped=3"),
        "the skipped entries are counted in a log line: {}",
        run.stderr
    );
}

#[tokio::test]
async fn sitemap_fetches_obey_the_global_limit_and_are_read_lazily() {
    let site = Site::start("127.0.0.1").await;
    let children = 30;
    let index: String = (0..children)
        .map(|i| {
            format!(
                "<sitemap><loc>{}</loc></sitemap>",
                site.url(&format!("/s{i}.xml"))
            )
        })
        .collect();
    site.route(
        "/robots.txt",
        vec![Step::new(
            200,
            format!("Sitemap: {}\n", site.url("/index.xml")),
        )],
    );
    site.route(
        "/index.xml",
        vec![Step::new(
            200,
            format!("<sitemapindex>{index}</sitemapindex>"),
        )],
    );
    for i in 0..children {
        let urls: String = (0..20)
            .map(|j| format!("<url><loc>{}</loc></url>", site.url(&format!("/p{i}-{j}"))))
            .collect();
        site.route(
            &format!("/s{i}.xml"),
            vec![
                Step::new(200, format!("<urlset>{urls}</urlset>")).delay(Duration::from_millis(20))
            ],
        );
        for j in 0..20 {
            site.html(&format!("/p{i}-{j}"), "p");
        }
    }
    site.html("/", "root");
    let run = crawlfish(&["-q", "-r", "0", "-c", "2", "--sitemap"], &site.url("/")).await;
    assert_eq!(run.records.len(), 1 + children * 20);
    assert!(
        site.max_in_flight() <= 2,
        "{} in flight with -c 2",
        site.max_in_flight()
    );
    // --max-pages: only as many sitemap files are read as the budget needs.
    let before: usize = (0..children)
        .map(|i| site.hits(&format!("/s{i}.xml")))
        .sum();
    crawlfish(
        &["-q", "-r", "0", "--sitemap", "--max-pages", "10"],
        &site.url("/"),
    )
    .await;
    let after: usize = (0..children)
        .map(|i| site.hits(&format!("/s{i}.xml")))
        .sum();
    // A file is read only while what is queued is short of the budget's rest: the first file's 20 URLs cover
    // the 10 pages (3 files were read under load when any queue under 256 URLs counted as low).
    assert!(
        after - before == 1,
        "{} sitemap files read for 10 pages",
        after - before
    );
}

/// Issue 20: a text sitemap, an RSS 2.0 feed and an Atom feed named by `Sitemap:` lines are read as sitemaps, and
/// an XML sitemap's extension elements (image, video, xhtml:link) are never queued as pages.
#[tokio::test]
async fn text_sitemaps_feeds_and_extensions() {
    let site = Site::start("127.0.0.1").await;
    let u = |p: &str| site.url(p);
    site.route(
        "/robots.txt",
        vec![Step::new(
            200,
            format!(
                "User-agent: *\nAllow: /\nSitemap: {}\nSitemap: {}\nSitemap: {}\nSitemap: {}\n",
                u("/urls.txt"),
                u("/feed.rss"),
                u("/atom.xml"),
                u("/media.xml")
            ),
        )],
    );
    site.route(
        "/urls.txt",
        vec![Step::new(200, format!("{}\r\n\n{}\n", u("/t1"), u("/t2")))
            .header("content-type", "text/plain")],
    );
    site.route(
        "/feed.rss",
        vec![Step::new(
            200,
            format!(
                "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><link>{}</link><item><link>{}</link>\
                 <enclosure url=\"{}\"/></item></channel></rss>",
                u("/"),
                u("/r1"),
                u("/r1.mp3")
            ),
        )],
    );
    site.route(
        "/atom.xml",
        vec![Step::new(
            200,
            format!(
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><link rel=\"self\" href=\"{}\"/><entry>\
                 <link href=\"{}\"/><link rel=\"enclosure\" href=\"{}\"/></entry></feed>",
                u("/atom.xml"),
                u("/a1"),
                u("/a1.mp3")
            ),
        )],
    );
    site.route(
        "/media.xml",
        vec![Step::new(
            200,
            format!(
                "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" \
                 xmlns:image=\"http://www.google.com/schemas/sitemap-image/1.1\" \
                 xmlns:video=\"http://www.google.com/schemas/sitemap-video/1.1\" \
                 xmlns:xhtml=\"http://www.w3.org/1999/xhtml\"><url><loc>{}</loc>\
                 <image:image><image:loc>{}</image:loc></image:image>\
                 <video:video><video:content_loc>{}</video:content_loc></video:video>\
                 <xhtml:link rel=\"alternate\" hreflang=\"de\" href=\"{}\"/></url></urlset>",
                u("/m1"),
                u("/m1.jpg"),
                u("/m1.mp4"),
                u("/m1-de")
            ),
        )],
    );
    for p in [
        "/", "/t1", "/t2", "/r1", "/a1", "/m1", "/m1.jpg", "/m1.mp4", "/m1-de",
    ] {
        site.html(p, "page");
    }
    let run = crawlfish(&["-q", "-r", "0", "--sitemap"], &u("/")).await;
    let got: HashSet<String> = run.by_url().into_keys().collect();
    let want: HashSet<String> = ["/", "/t1", "/t2", "/r1", "/a1", "/m1"]
        .iter()
        .map(|p| u(p))
        .collect();
    assert_eq!(got, want);
    assert_eq!(run.record(&u("/t1"))["parent"], u("/urls.txt"));
    assert_eq!(run.record(&u("/r1"))["parent"], u("/feed.rss"));
    assert_eq!(run.record(&u("/a1"))["parent"], u("/atom.xml"));
    for p in ["/m1.jpg", "/m1.mp4", "/m1-de", "/r1.mp3", "/a1.mp3"] {
        assert_eq!(site.hits(p), 0, "{p} is no page of the sitemap");
    }
}
