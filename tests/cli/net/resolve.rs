//! `--resolve HOST:PORT:ADDR`: the Host header kept, each URL's own port kept, a final dot on either side ignored,
//! empty labels refused.

use crate::support::*;

#[tokio::test]
async fn resolve_keeps_the_host_header() {
    let site = Site::start("127.0.0.4").await;
    site.html("/", "<title>staging</title>");
    let r = format!("www.example.com:{}:127.0.0.4", site.addr.port());
    let url = format!("http://www.example.com:{}/", site.addr.port());
    let run = crawlfish(&args(&["--resolve", &r]), &url).await;
    assert_eq!(run.record(&url)["title"], "staging");
    assert_eq!(site.hits("/"), 1);
}

// Guards: a `--resolve` name or URL host with a final dot did not match its override.
#[tokio::test]
async fn resolve_ignores_one_final_dot_on_either_side() {
    let site = Site::start("127.0.0.4").await;
    let port = site.addr.port();
    for path in ["/dot-in-url", "/dot-in-flag", "/dot-in-both"] {
        site.html(path, "<title>t</title>");
    }
    // `.invalid` names: should an override not apply, the name fails at once, without a DNS query.
    let input = format!(
        "http://a.invalid.:{port}/dot-in-url\nhttp://b.invalid:{port}/dot-in-flag\n\
         http://c.invalid.:{port}/dot-in-both\n"
    );
    let (a, b, c) = (
        format!("a.invalid:{port}:127.0.0.4"),
        format!("B.invalid.:{port}:127.0.0.4"),
        format!("c.invalid.:{port}:127.0.0.4"),
    );
    let run = crawlfish(
        &args(&["--resolve", &a, "--resolve", &b, "--resolve", &c]),
        &input,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.records.len(), 3);
    for r in &run.records {
        assert_eq!(r["status"], 200, "{r}");
    }
    for path in ["/dot-in-url", "/dot-in-flag", "/dot-in-both"] {
        assert_eq!(site.hits(path), 1, "{path}");
    }
}

// Guards: a `--resolve` host with an empty label was accepted instead of exiting 2.
#[tokio::test]
async fn resolve_refuses_a_host_with_an_empty_label() {
    for bad in [
        "a.invalid..:80:127.0.0.4",
        ".:80:127.0.0.4",
        "a..invalid:80:127.0.0.4",
    ] {
        let run = crawlfish(&args(&["--resolve", bad]), "http://a.invalid/\n").await;
        assert_eq!(run.code, Some(2), "{bad}: {}", run.stderr);
        assert!(run.stderr.contains(bad), "{bad}: {}", run.stderr);
        assert!(run.records.is_empty());
    }
}

// Guards: `--resolve bücher.test:PORT:ADDR` was accepted and never matched (URLs carry the punycode name, the
// override kept the typed one), and `--no-proxy bücher.test` was refused: both are keyed as URLs spell the host.
#[tokio::test]
async fn idn_names_in_resolve_and_no_proxy_are_spelled_as_urls_spell_them() {
    let site = Site::start("127.0.0.4").await;
    site.html("/", "<title>idn</title>");
    let port = site.addr.port();
    let proxy = proxy::HttpProxy::start("127.0.0.5", None).await;
    let url = format!("http://bücher.test:{port}/");
    let resolve = format!("bücher.test:{port}:127.0.0.4");
    let proxy_url = proxy.url();
    let run = crawlfish(
        &args(&[
            "--resolve",
            &resolve,
            "--proxy",
            &proxy_url,
            "--no-proxy",
            "bücher.test",
        ]),
        &url,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let record = &run.records[0];
    assert_eq!(record["title"], "idn", "{record}");
    assert_eq!(
        record["ip"], "127.0.0.4",
        "connected to the override, directly"
    );
    assert!(proxy.seen().is_empty(), "--no-proxy applied");
    assert_eq!(
        site.header("/", "host").as_deref(),
        Some(format!("xn--bcher-kva.test:{port}").as_str())
    );
}

// Guards: IDN forms of a `--resolve` name were accepted but never applied (the request went to real DNS): U+3002
// (IDNA's ideographic full stop) as the final dot; it as an empty label, where the ASCII forms exit 2; and invalid
// punycode, which no URL can have.
#[tokio::test]
async fn resolve_converts_idn_forms_before_checking_dots_and_refuses_invalid_punycode() {
    let site = Site::start("127.0.0.4").await;
    site.html("/", "<title>idn</title>");
    let port = site.addr.port();
    let url = format!("http://bücher.test:{port}/");
    let resolve = format!("bücher.test\u{3002}:{port}:127.0.0.4");
    let run = crawlfish(&args(&["--resolve", &resolve]), &url).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.records[0]["title"], "idn", "{}", run.records[0]);
    assert_eq!(run.records[0]["ip"], "127.0.0.4");
    for bad in [
        format!("\u{3002}bücher.test:{port}:127.0.0.4"),
        format!("bücher.test\u{3002}\u{3002}:{port}:127.0.0.4"),
        format!("xn--zz.test:{port}:127.0.0.4"),
    ] {
        let run = crawlfish(&args(&["--resolve", &bad]), &url).await;
        assert_eq!(run.code, Some(2), "{bad}: {}", run.stderr);
        assert!(run.stderr.contains("--resolve"), "{bad}: {}", run.stderr);
        assert!(run.records.is_empty());
    }
    assert_eq!(site.hits("/"), 1, "only the accepted override was used");
}

// Guards: an override answered with its PORT, and the connector takes an answer's port over a URL without one:
// `--resolve site.test:PORT:ADDR` sent `http://site.test/` (port 80) to ADDR:PORT, where another server answered
// (an attack run; with `:443`, plain HTTP to a TLS port). The override names an address for every port.
#[tokio::test]
async fn resolve_gives_an_address_the_url_keeps_its_own_port() {
    // An address of its own, where nothing listens on port 80: the default port must be the one tried.
    let site = Site::start("127.0.0.179").await;
    site.html("/", "on the resolve port");
    let port = site.addr.port();
    let r = format!("site.test:{port}:127.0.0.179");
    let other = format!("site2.test:{port}:127.0.0.179");
    let explicit = format!("http://site2.test:{port}/");
    let input = format!("http://site.test/\n{explicit}\n");
    let run = crawlfish(&args(&["--resolve", &r, "--resolve", &other]), &input).await;
    assert_eq!(
        run.kind("http://site.test/"),
        "connect",
        "{}",
        run.record("http://site.test/")
    );
    assert_eq!(run.record(&explicit)["status"], 200);
    assert_eq!(site.hits("/"), 1, "only the URL naming the port reached it");
}
