//! The address guard against addresses off loopback: the cloud metadata endpoint in every form a page can write
//! it, a redirect hop and a sitemap entry that lead there, and the class rule (a public crawl reaches no private,
//! loopback or link-local address). Every test here runs inside a private network namespace with only loopback
//! up (`support::netns`): each outer test re-runs this binary there for its `inside_…` twin.

use crate::support::dns::{Dns, Zone};
use crate::support::netns::{inner_name, require_inside, run_inside};
use crate::support::proxy::HttpProxy;
use crate::support::*;

/// `#[test] fn $outer` runs the ignored `$inner` inside a private network namespace.
macro_rules! inside {
    ($($outer:ident => $inner:ident),* $(,)?) => {$(
        #[test]
        fn $outer() {
            run_inside(&inner_name(module_path!(), stringify!($inner)));
        }
    )*};
}

inside! {
    links_to_the_metadata_endpoint_in_any_form_are_refused_unconnected => inside_metadata_links,
    a_redirect_hop_to_the_metadata_endpoint_ends_its_url_unconnected => inside_metadata_hop,
    a_sitemap_entry_whose_host_rebinds_to_the_metadata_endpoint_is_refused => inside_sitemap_rebind,
    a_public_crawl_reaches_no_private_loopback_or_link_local_address => inside_class_rule,
}

/// `-q -r 0 --timeout 5`, robots.txt obeyed (its fetch is a request the guard must hold too).
fn robots_on(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["-q", "-r", "0", "--timeout", "5"]
        .map(str::to_owned)
        .to_vec();
    v.extend(extra.iter().map(|s| (*s).to_owned()));
    v
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn assert_blocked(run: &Run, url: &str, addr: &str) {
    let r = run.record(url);
    assert_eq!(r["error"]["kind"], "blocked_address", "{url}: {r}");
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(msg.contains(addr), "{url}: the message names {addr}: {msg}");
    assert_eq!(r["status"], serde_json::Value::Null, "{r}");
}

#[tokio::test]
#[ignore = "inside a private network namespace only: run by its outer test"]
async fn inside_metadata_links() {
    require_inside();
    let meta = Site::start("169.254.169.254").await;
    let link_local = Site::start("169.254.10.10").await;
    let dns = Dns::start("127.0.0.1", 300).await;
    let p = meta.addr.port();
    dns.set("meta-dns.test", Zone::Addrs(dns_v4("169.254.169.254")));
    let links = [
        format!("http://169.254.169.254:{p}/latest/meta-data/iam/security-credentials/"),
        format!("http://[::ffff:169.254.169.254]:{p}/mapped"),
        format!("http://2852039166:{p}/decimal"),
        format!("http://0251.0376.0251.0376:{p}/octal"),
        format!("http://169.254.169.254.:{p}/dot"),
        format!("http://meta-resolve.test:{p}/resolve"),
        format!("http://meta-dns.test:{p}/dns"),
        format!("http://metadata.google.internal:{p}/computeMetadata/v1/"),
        link_local.url("/plain-link-local"),
    ];
    let page = Site::start("127.0.0.2").await;
    let body: String = links
        .iter()
        .map(|l| format!("<a href=\"{l}\">x</a>"))
        .collect();
    page.html("/", &body);
    let resolve = format!("meta-resolve.test:{p}:169.254.169.254");
    let flags = robots_on(&[
        "-d",
        "1",
        "--scope",
        "any",
        "--resolve",
        &resolve,
        "--dns-server",
        &dns.arg(),
    ]);
    let run = crawlfish(&refs(&flags), &page.url("/")).await;
    assert_eq!(run.record(&page.url("/"))["status"], 200);
    let want = [
        (links[0].clone(), "169.254.169.254"),
        (
            format!("http://[::ffff:a9fe:a9fe]:{p}/mapped"),
            "169.254.169.254",
        ),
        (
            format!("http://169.254.169.254:{p}/decimal"),
            "169.254.169.254",
        ),
        (
            format!("http://169.254.169.254:{p}/octal"),
            "169.254.169.254",
        ),
        (format!("http://169.254.169.254:{p}/dot"), "169.254.169.254"),
        (links[5].clone(), "169.254.169.254"),
        (links[6].clone(), "169.254.169.254"),
        (links[7].clone(), "169.254.169.254"),
        (links[8].clone(), "169.254.10.10"),
    ];
    for (url, addr) in &want {
        assert_blocked(&run, url, addr);
    }
    assert_eq!(
        meta.total_hits(),
        0,
        "a connection reached the metadata endpoint"
    );
    assert_eq!(link_local.total_hits(), 0);
    // Through a proxy the same literal links never reach it (the proxy would resolve and forward them).
    let proxy = HttpProxy::start("127.0.0.5", None).await;
    let flags = robots_on(&[
        "-d",
        "1",
        "--scope",
        "any",
        "--proxy",
        &proxy.url(),
        "--no-proxy",
        "127.0.0.2",
    ]);
    let run = crawlfish(&refs(&flags), &page.url("/")).await;
    for (url, addr) in want.iter().take(5) {
        assert_blocked(&run, url, addr);
    }
    assert!(
        proxy
            .targets()
            .iter()
            .all(|t| !t.contains("169.254") && !t.contains("a9fe")),
        "{:?}",
        proxy.targets()
    );
    // The control: an --allow-net naming the range lets them through, so a connection would have been seen.
    let flags = robots_on(&[
        "-d",
        "1",
        "--scope",
        "any",
        "--resolve",
        &resolve,
        "--dns-server",
        &dns.arg(),
        "--allow-net",
        "169.254.0.0/16",
    ]);
    let run = crawlfish(&refs(&flags), &page.url("/")).await;
    assert_eq!(run.record(&links[0])["status"], 404, "{:?}", run.records);
    assert!(meta.total_hits() > 0 && link_local.total_hits() > 0);
}

#[tokio::test]
#[ignore = "inside a private network namespace only: run by its outer test"]
async fn inside_metadata_hop() {
    require_inside();
    let meta = Site::start("169.254.169.254").await;
    let site = Site::start("127.0.0.2").await;
    let target = meta.url("/latest/api/token");
    site.route("/go", vec![redirect(302, &target)]);
    let run = crawlfish(&refs(&robots_on(&["--retries", "2"])), &site.url("/go")).await;
    let r = run.record(&site.url("/go"));
    assert_blocked(&run, &site.url("/go"), "169.254.169.254");
    assert_eq!(
        r["redirects"],
        serde_json::json!([{"url": target, "status": 302}])
    );
    assert_eq!(r["attempts"], 1, "never retried: {r}");
    assert_eq!(meta.total_hits(), 0);
    // The summary counts the kind.
    let run = crawlfish(&["-r", "0", "--timeout", "5"], &site.url("/go")).await;
    assert!(run.stderr.contains("blocked_address 1"), "{}", run.stderr);
    assert_eq!(meta.total_hits(), 0);
}

/// A listed host whose name answers loopback until its sitemap is served, then the metadata endpoint (TTL 0):
/// the sitemap's own-origin entry is refused at the address it resolves to then.
#[tokio::test]
#[ignore = "inside a private network namespace only: run by its outer test"]
async fn inside_sitemap_rebind() {
    require_inside();
    let dns = std::sync::Arc::new(Dns::start("127.0.0.1", 0).await);
    dns.set("site.test", Zone::Addrs(dns_v4("127.0.0.2")));
    let port = std::sync::Arc::new(std::sync::OnceLock::<u16>::new());
    let (d, p) = (dns.clone(), port.clone());
    let addr = raw_server("127.0.0.2", move |mut stream| {
        let (dns, port) = (d.clone(), p.clone());
        async move {
            let head = read_request(&mut stream).await;
            let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
            let body = match path.as_str() {
                "/sitemap.xml" => {
                    // Rebound before the sitemap is answered: every later lookup gets the metadata endpoint.
                    dns.set("site.test", Zone::Addrs(dns_v4("169.254.169.254")));
                    let p = port.get().unwrap();
                    format!("<urlset><url><loc>http://site.test:{p}/page</loc></url></urlset>")
                }
                "/" => "<title>home</title>".to_owned(),
                _ => String::new(),
            };
            let status = if body.is_empty() { "404 Not Found" } else { "200 OK" };
            let reply = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            send(&mut stream, reply.as_bytes()).await;
        }
    })
    .await;
    port.set(addr.port()).unwrap();
    let meta = Site::start_at(format!("169.254.169.254:{}", addr.port()).parse().unwrap()).await;
    let listed = format!("http://site.test:{}/", addr.port());
    let flags = robots_on(&["--sitemap", "--dns-server", &dns.arg()]);
    let run = crawlfish(&refs(&flags), &listed).await;
    // The listed page itself may come before or after the sitemap (they are fetched side by side).
    run.record(&listed);
    let entry = format!("http://site.test:{}/page", addr.port());
    assert_blocked(&run, &entry, "169.254.169.254");
    assert_eq!(meta.total_hits(), 0);
}

/// Each listed URL's class is the reference: a public one reaches public addresses only, a private one also
/// private ones; a keep-alive connection the private crawl opened to a name is not reused by the public one.
/// `--allow-internal` is the behaviour before the guard.
#[tokio::test]
#[ignore = "inside a private network namespace only: run by its outer test"]
async fn inside_class_rule() {
    require_inside();
    let public = Site::start("198.51.100.1").await;
    let other_public = Site::start("198.51.100.2").await;
    let private = Site::start("10.1.2.3").await;
    let loopback = Site::start("127.0.0.2").await;
    let link_local = Site::start("169.254.10.10").await;
    let intra = format!("http://intra.test:{}", private.addr.port());
    let resolve = format!("intra.test:{}:10.1.2.3", private.addr.port());
    let from_public = [
        other_public.url("/p"),
        private.url("/x"),
        format!("{intra}/named"),
        loopback.url("/l"),
        link_local.url("/ll"),
    ];
    let links = |ls: &[String]| -> String {
        ls.iter()
            .map(|l| format!("<a href=\"{l}\">x</a>"))
            .collect()
    };
    public.html("/", &links(&from_public));
    let from_private = [other_public.url("/q"), loopback.url("/m")];
    private.html("/", &links(&from_private));
    for s in [&other_public, &private, &loopback, &link_local] {
        for p in ["/p", "/q", "/x", "/named", "/l", "/m", "/ll"] {
            s.html(p, "<title>t</title>");
        }
    }
    let input = format!("{}\n{intra}/\n", public.url("/"));
    let flags = robots_on(&["-d", "1", "--scope", "any", "--resolve", &resolve]);
    let run = crawlfish(&refs(&flags), &input).await;
    assert_eq!(run.record(&format!("{intra}/"))["status"], 200);
    assert_eq!(run.record(&other_public.url("/p"))["status"], 200);
    assert_eq!(run.record(&other_public.url("/q"))["status"], 200);
    assert_blocked(&run, &private.url("/x"), "10.1.2.3");
    assert_blocked(&run, &format!("{intra}/named"), "10.1.2.3");
    assert_blocked(&run, &loopback.url("/l"), "127.0.0.2");
    assert_blocked(&run, &link_local.url("/ll"), "169.254.10.10");
    assert_blocked(&run, &loopback.url("/m"), "127.0.0.2");
    let msg = run.record(&private.url("/x"))["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(msg.contains("private") && msg.contains("public"), "{msg}");
    assert_eq!(private.hits("/x") + private.hits("/named"), 0);
    assert_eq!(loopback.total_hits() + link_local.total_hits(), 0);
    let run = crawlfish(
        &refs(&robots_on(&[
            "-d",
            "1",
            "--scope",
            "any",
            "--resolve",
            &resolve,
            "--allow-internal",
        ])),
        &input,
    )
    .await;
    for url in from_public.iter().chain(&from_private) {
        assert_eq!(run.record(url)["status"], 200, "{url}: {:?}", run.records);
    }
}

fn dns_v4(ip: &str) -> Vec<std::net::IpAddr> {
    crate::support::dns::v4(ip)
}
