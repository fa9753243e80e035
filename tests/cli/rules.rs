//! Every request obeys the rules, whatever path it takes: redirect hops (robots.txt of each hop's host, the rate
//! limit, scope, `attempts`, `redirects`), `-H` and userinfo only to the listed origin, sitemaps within their own
//! origin and the global limit, robots.txt that a bad rule cannot open up. Measured at the servers.

use std::collections::HashSet;
use std::time::Duration;

use crate::support::*;

fn redirect(status: u16, to: &str) -> Step {
    Step::new(status, "").header("location", to)
}

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
async fn a_redirect_into_a_disallowed_path_is_not_fetched() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/robots.txt",
        vec![Step::new(200, "User-agent: *\nDisallow: /private\n")],
    );
    site.route("/open", vec![redirect(307, "/private/x")]);
    site.html("/private/x", "secret");
    let run = crawlfish(&["-q", "-r", "0"], &site.url("/open")).await;
    assert_eq!(run.kind(&site.url("/open")), "robots_disallowed");
    let r = run.record(&site.url("/open"));
    assert_eq!(r["attempts"], 1);
    assert_eq!(r["redirects"][0]["url"], site.url("/private/x"));
    assert_eq!(site.hits("/private/x"), 0);
    assert_eq!(site.hits("/robots.txt"), 1);
}

#[tokio::test]
async fn a_redirect_to_another_host_asks_that_hosts_robots_first() {
    let a = Site::start("127.0.0.1").await;
    let b = Site::start("127.0.0.2").await;
    b.route(
        "/robots.txt",
        vec![Step::new(200, "User-agent: *\nDisallow: /no\n")],
    );
    a.route("/to-yes", vec![redirect(301, &b.url("/yes"))]);
    a.route("/to-no", vec![redirect(301, &b.url("/no"))]);
    b.html("/yes", "yes").html("/no", "no");
    let input = [a.url("/to-yes"), a.url("/to-no")].join("\n");
    let run = crawlfish(&["-q", "-r", "0"], &input).await;
    assert_eq!(run.record(&a.url("/to-yes"))["status"], 200);
    assert_eq!(run.kind(&a.url("/to-no")), "robots_disallowed");
    assert_eq!(b.hits("/robots.txt"), 1, "asked once, before the first hop");
    assert_eq!(b.hits("/no"), 0);
    let first_b = b.hit_times().first().unwrap().0.clone();
    assert_eq!(first_b, "/robots.txt");
}

#[tokio::test]
async fn redirect_hops_wait_on_the_rate_limit() {
    // Ten hops at -r 5: 11 requests to one host, no one-second window over R+1 = 6, so at least 2 s.
    let site = Site::start("127.0.0.1").await;
    for i in 0..10 {
        site.route(
            &format!("/h{i}"),
            vec![redirect(302, &format!("/h{}", i + 1))],
        );
    }
    site.html("/h10", "end");
    let run = crawlfish(&["-q", "--ignore-robots", "-r", "5"], &site.url("/h0")).await;
    assert_eq!(run.record(&site.url("/h0"))["attempts"], 11);
    let times: Vec<_> = site.hit_times().into_iter().map(|(_, t)| t).collect();
    assert_eq!(times.len(), 11);
    let worst = worst_window(&times, Duration::from_secs(1));
    assert!(worst <= 6, "{worst} requests in one second at -r 5");
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
    // A file is read when the frontier runs low: at most one ahead of what the budget consumed.
    assert!(
        after - before <= 2,
        "{} sitemap files read for 10 pages",
        after - before
    );
}

#[tokio::test]
async fn one_bad_rule_does_not_open_robots_txt() {
    let site = Site::start("127.0.0.1").await;
    let stars = "/a*".repeat(40);
    site.route(
        "/robots.txt",
        vec![Step::new(
            200,
            format!("User-agent: *\nDisallow: {stars}$\nDisallow: /\n"),
        )],
    );
    site.html("/page", "p");
    let run = crawlfish(&["-q", "-r", "0"], &site.url("/page")).await;
    assert_eq!(run.kind(&site.url("/page")), "robots_disallowed");
    assert_eq!(site.hits("/page"), 0);
}

#[tokio::test]
async fn rates_the_limiter_cannot_hold_are_usage_errors() {
    for r in ["1e-300", "1e12", "1.5e9", "nan", "inf"] {
        let run = crawlfish(&["-q", "-r", r], "").await;
        assert_eq!(run.code, Some(2), "-r {r}");
        assert!(run.stderr.contains("--rate"), "{}", run.stderr);
    }
}
