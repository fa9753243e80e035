//! `--resolve HOST:PORT:ADDR`: the Host header kept, a final dot on either side ignored, empty labels refused.

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
