//! Redirects: every hop recorded (`redirects`, `attempts`), too many hops listed, a discovered link that redirects
//! off scope not followed, and a redirect that cannot be followed still listed.

use crate::support::*;

#[tokio::test]
async fn redirect_chain_is_recorded_hop_by_hop() {
    let site = Site::start("127.0.0.1").await;
    site.route("/a", vec![redirect(301, "/b")]);
    site.route("/b", vec![redirect(302, &site.url("/c?x=1#frag"))]);
    site.html("/c?x=1", "<title>c</title>");
    let run = crawlfish(&args(&[]), &site.url("/a")).await;
    let r = run.record(&site.url("/a"));
    assert_eq!(r["status"], 200);
    assert_eq!(r["final_url"], site.url("/c?x=1"));
    assert_eq!(r["title"], "c");
    assert_eq!(r["attempts"], 3, "three requests: A, B, C");
    assert_eq!(
        r["redirects"],
        serde_json::json!([
            {"url": site.url("/b"), "status": 301},
            {"url": site.url("/c?x=1"), "status": 302}
        ])
    );
    let plain = crawlfish(&args(&[]), &site.url("/c")).await;
    assert_eq!(
        plain.record(&site.url("/c"))["redirects"],
        serde_json::json!([])
    );
}

#[tokio::test]
async fn too_many_redirects_lists_every_hop() {
    let site = Site::start("127.0.0.1").await;
    for i in 0..5 {
        site.route(
            &format!("/r{i}"),
            vec![redirect(302, &format!("/r{}", i + 1))],
        );
    }
    site.html("/r5", "end");
    let run = crawlfish(&args(&["--max-redirects", "3"]), &site.url("/r0")).await;
    let r = run.record(&site.url("/r0"));
    assert_eq!(run.kind(&site.url("/r0")), "too_many_redirects");
    assert_eq!(r["attempts"], 4);
    assert_eq!(r["redirects"].as_array().unwrap().len(), 4);
    assert_eq!(
        site.hits("/r4"),
        0,
        "the hop past the limit is not requested"
    );
}

#[tokio::test]
async fn a_discovered_link_redirecting_off_scope_is_not_followed() {
    let a = Site::start("127.0.0.1").await;
    let b = Site::start("127.0.0.2").await;
    a.html("/", &format!("<a href='{}'>x</a>", a.url("/out")));
    a.route("/out", vec![redirect(302, &b.url("/landing"))]);
    b.html("/landing", "off-host");
    let listed_b = Site::start("127.0.0.3").await;
    listed_b.route("/go", vec![redirect(302, &b.url("/listed-landing"))]);
    b.html("/listed-landing", "fine");
    let input = [a.url("/"), listed_b.url("/go")].join("\n");
    let run = crawlfish(&args(&["--depth", "1"]), &input).await;
    let out = run.record(&a.url("/out"));
    assert_eq!(out["status"], 302);
    assert_eq!(out["attempts"], 1);
    assert_eq!(out["redirects"][0]["url"], b.url("/landing"));
    assert_eq!(b.hits("/landing"), 0, "off-scope hop not requested");
    // A listed URL follows a redirect anywhere.
    assert_eq!(run.record(&listed_b.url("/go"))["status"], 200);
    assert_eq!(b.hits("/listed-landing"), 1);
}

// Guards: a redirect to an unfollowable scheme (`ftp:`, `javascript:`) was missing from `redirects`.
#[tokio::test]
async fn a_redirect_that_cannot_be_followed_is_still_listed() {
    let site = Site::start("127.0.0.1").await;
    site.route("/ftp", vec![redirect(302, "ftp://files.invalid/x")]);
    site.route("/js", vec![redirect(301, "javascript:alert(1)")]);
    let input = [site.url("/ftp"), site.url("/js")].join("\n");
    let run = crawlfish(&args(&[]), &input).await;
    let ftp = run.record(&site.url("/ftp"));
    assert_eq!(ftp["status"], 302);
    assert_eq!(
        ftp["redirects"],
        serde_json::json!([{"url": "ftp://files.invalid/x", "status": 302}])
    );
    assert_eq!(
        run.record(&site.url("/js"))["redirects"][0]["url"],
        "javascript:alert(1)"
    );
}
