//! What requests carry: the user agent and `-H` headers, sent only to the listed origin (not to a redirect's other
//! origin), and a URL's userinfo as basic auth for its own origin only.

use crate::support::*;

#[tokio::test]
async fn user_agent_and_extra_headers_are_sent() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "ok");
    crawlfish(&args(&[]), &site.url("/")).await;
    let ua = site.header("/", "user-agent").unwrap();
    assert_eq!(ua, format!("crawlfish/{}", env!("CARGO_PKG_VERSION")));
    crawlfish(
        &args(&[
            "--user-agent",
            "probe/1",
            "-H",
            "X-Team: fish",
            "-H",
            "Accept-Language: fr",
        ]),
        &site.url("/"),
    )
    .await;
    assert_eq!(site.header("/", "user-agent").as_deref(), Some("probe/1"));
    assert_eq!(site.header("/", "x-team").as_deref(), Some("fish"));
    assert_eq!(site.header("/", "accept-language").as_deref(), Some("fr"));
}

#[tokio::test]
async fn headers_and_userinfo_go_only_to_the_listed_origin() {
    let a = Site::start("127.0.0.1").await;
    let b = Site::start("127.0.0.2").await;
    a.html(
        "/",
        &format!(
            "<a href='{}'>b</a><a href='/own'>own</a>",
            b.url("/crawled")
        ),
    );
    a.html("/own", "own");
    a.route("/hop", vec![redirect(302, &b.url("/hopped"))]);
    b.html("/crawled", "b").html("/hopped", "b");
    let listed = a.url("/").replace("http://", "http://user:pa%20ss@");
    let input = [listed.clone(), a.url("/hop")].join("\n");
    let run = crawlfish(
        &[
            "-q",
            "-r",
            "0",
            "--depth",
            "1",
            "--scope",
            "any",
            "-H",
            "Authorization: Bearer s3cret",
            "-H",
            "X-Team: fish",
        ],
        &input,
    )
    .await;
    assert_eq!(run.records.len(), 4, "{:?}", run.records);
    // The listed origin gets -H on every page (the userinfo one's Authorization is the -H, which wins).
    assert_eq!(a.header("/", "x-team").as_deref(), Some("fish"));
    assert_eq!(a.header("/own", "x-team").as_deref(), Some("fish"));
    assert_eq!(
        a.header("/hop", "authorization").as_deref(),
        Some("Bearer s3cret")
    );
    // Another host, reached by crawl or redirect, and every robots.txt: nothing.
    for (site, path) in [
        (&b, "/crawled"),
        (&b, "/hopped"),
        (&a, "/robots.txt"),
        (&b, "/robots.txt"),
    ] {
        assert_eq!(site.header(path, "authorization"), None, "{path}");
        assert_eq!(site.header(path, "x-team"), None, "{path}");
    }
}

#[tokio::test]
async fn userinfo_becomes_basic_auth_for_its_own_origin_only() {
    let a = Site::start("127.0.0.1").await;
    let b = Site::start("127.0.0.2").await;
    a.route("/in", vec![redirect(302, "/in2")]);
    a.html("/in2", "ok");
    a.route("/away", vec![redirect(302, &b.url("/x"))]);
    b.html("/x", "ok");
    let cred = |p: &str| a.url(p).replace("http://", "http://user:pa%20ss@");
    let input = [cred("/in"), cred("/away")].join("\n");
    let run = crawlfish(&args(&[]), &input).await;
    assert_eq!(run.records.len(), 2);
    // base64("user:pa ss")
    let basic = Some("Basic dXNlcjpwYSBzcw==".to_owned());
    assert_eq!(a.header("/in", "authorization"), basic);
    assert_eq!(
        a.header("/in2", "authorization"),
        basic,
        "same origin after a redirect"
    );
    assert_eq!(b.header("/x", "authorization"), None);
}
