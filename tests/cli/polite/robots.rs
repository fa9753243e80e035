//! robots.txt, measured at the server: fetched once a host and obeyed (redirect hops included, percent-encoded
//! paths too), its failures, a bad rule that cannot open it up, and Crawl-delay (from the robots request, capped).

use std::time::Duration;

use crate::support::*;

#[tokio::test]
async fn robots_txt_is_fetched_once_and_obeyed() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/robots.txt",
        vec![Step::new(
            200,
            "User-agent: *\nDisallow: /\n\nUser-agent: crawlfish\nDisallow: /private\nAllow: /private/ok\n",
        )
        .delay(Duration::from_millis(200))],
    );
    let mut input = String::new();
    for i in 0..8 {
        site.html(&format!("/pub{i}"), "ok");
        input += &format!("{}\n", site.url(&format!("/pub{i}")));
    }
    site.html("/private/x", "secret")
        .html("/private/ok/y", "fine");
    input += &format!(
        "{}\n{}\n",
        site.url("/private/x"),
        site.url("/private/ok/y")
    );
    let run = crawlfish(&["-q", "-r", "0", "--per-host", "8"], &input).await;
    assert_eq!(run.records.len(), 10);
    assert_eq!(
        site.hits("/robots.txt"),
        1,
        "single-flight: 8 concurrent first requests, one fetch"
    );
    assert_eq!(run.kind(&site.url("/private/x")), "robots_disallowed");
    assert_eq!(site.hits("/private/x"), 0);
    assert_eq!(run.record(&site.url("/private/ok/y"))["status"], 200);
    assert_eq!(
        run.code,
        Some(0),
        "obeying robots.txt is not a failure: {}",
        run.stderr
    );

    let ignored = crawlfish(&args(&[]), &site.url("/private/x")).await;
    assert_eq!(ignored.record(&site.url("/private/x"))["status"], 200);
    assert_eq!(
        site.hits("/robots.txt"),
        1,
        "--ignore-robots does not fetch robots.txt"
    );
}

/// A host whose name does not resolve is given up at its robots.txt, the cause first: `dns: NAME: no such host
/// (…) (while fetching robots.txt)`, not "fetching robots.txt: …". `.invalid` never resolves (RFC 6761): no
/// query is made, no network needed.
#[tokio::test]
async fn an_unresolvable_host_names_the_cause_before_robots_txt() {
    let url = "http://docs.invalid/page";
    let run = crawlfish(&["-q", "-r", "0"], &format!("{url}\n")).await;
    assert_eq!(run.kind(url), "dns");
    let msg = run.record(url)["error"]["message"].as_str().unwrap();
    assert_eq!(
        msg,
        "dns: docs.invalid: no such host (.invalid never resolves, RFC 6761) (while fetching robots.txt)"
    );
}

#[tokio::test]
async fn robots_5xx_disallows_4xx_allows_unreachable_reports_kind() {
    let down = Site::start("127.0.0.1").await;
    down.route("/robots.txt", vec![Step::new(503, "down")]);
    down.html("/page", "x");
    let open = Site::start("127.0.0.2").await;
    open.html("/page", "x"); // robots.txt is a 404
    let refused = refused_port("127.0.0.3").await;
    let unreachable = format!("http://{refused}/page");
    let input = format!(
        "{}\n{}\n{unreachable}\n",
        down.url("/page"),
        open.url("/page")
    );
    let run = crawlfish(&["-q", "-r", "0", "--retries", "0"], &input).await;
    assert_eq!(
        run.kind(&unreachable),
        "connect",
        "robots.txt unreachable: the host is"
    );
    let msg = run.record(&unreachable)["error"]["message"]
        .as_str()
        .unwrap();
    assert!(
        msg.starts_with("connect: ") && msg.ends_with(" (while fetching robots.txt)"),
        "{msg}"
    );
    assert_eq!(run.kind(&down.url("/page")), "robots_disallowed");
    assert!(run.record(&down.url("/page"))["error"]["message"]
        .as_str()
        .unwrap()
        .contains("503"));
    assert_eq!(down.hits("/page"), 0);
    assert_eq!(run.record(&open.url("/page"))["status"], 200);
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

// Guards: a percent-encoded path (`/%7Ejoe/`, `/%70rivate`) slipped past the robots.txt rule for its decoded form.
#[tokio::test]
async fn robots_rules_match_percent_encoded_paths() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/robots.txt",
        vec![Step::new(
            200,
            "User-agent: *\nDisallow: /~joe/\nDisallow: /private\nDisallow: /UP%41\n",
        )],
    );
    site.html(
        "/",
        "<a href='/%7Ejoe/a'>1</a><a href='/%7ejoe/b'>2</a><a href='/%70rivate/c'>3</a><a href='/UPA'>4</a>",
    );
    site.route("/go", vec![redirect(302, "/%70rivate/d")]);
    for p in [
        "/%7Ejoe/a",
        "/%7ejoe/b",
        "/%70rivate/c",
        "/%70rivate/d",
        "/UPA",
    ] {
        site.html(p, "secret");
    }
    let input = [site.url("/"), site.url("/go")].join("\n");
    let run = crawlfish(&["-q", "-r", "0", "--depth", "1"], &input).await;
    for p in [
        "/%7Ejoe/a",
        "/%7ejoe/b",
        "/%70rivate/c",
        "/%70rivate/d",
        "/UPA",
    ] {
        assert_eq!(site.hits(p), 0, "{p} fetched despite robots.txt");
    }
    assert_eq!(run.kind(&site.url("/go")), "robots_disallowed");
}

#[tokio::test]
async fn crawl_delay_spaces_requests() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/robots.txt",
        vec![Step::new(200, "User-agent: *\nCrawl-delay: 1\n")],
    );
    let mut input = String::new();
    for i in 0..3 {
        site.html(&format!("/p{i}"), "ok");
        input += &format!("{}\n", site.url(&format!("/p{i}")));
    }
    let run = crawlfish(&["-q", "-r", "0", "--per-host", "4"], &input).await;
    assert_eq!(run.records.len(), 3);
    let mut times: Vec<_> = site
        .hit_times()
        .into_iter()
        .filter(|(p, _)| p != "/robots.txt")
        .map(|(_, t)| t)
        .collect();
    times.sort();
    for w in times.windows(2) {
        // Tolerance: 50 ms under the 1 s delay.
        assert!(
            w[1] - w[0] >= Duration::from_millis(950),
            "{:?}",
            w[1] - w[0]
        );
    }
}

// Guards: Crawl-delay was not counted from the robots.txt request, so the first page came too early.
#[tokio::test]
async fn crawl_delay_applies_from_the_robots_request() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/robots.txt",
        vec![Step::new(200, "User-agent: *\nCrawl-delay: 1\n")],
    );
    site.html("/", "p");
    crawlfish(&["-q", "-r", "0"], &site.url("/")).await;
    let hits = site.hit_times();
    assert_eq!(hits[0].0, "/robots.txt");
    // Tolerance: 5 % under the 1 s delay for timer slop.
    assert!(
        hits[1].1 - hits[0].1 >= Duration::from_millis(950),
        "{hits:?}"
    );
}

/// A Crawl-delay of an hour (or infinity) is lowered to 60 s and logged. The page then waits 60 s after robots.txt,
/// so the run is stopped once the log line is seen (the cap's value is unit-tested in robots.rs).
// Guards: a Crawl-delay of an hour (or infinity) stalled the host instead of being capped at 60 s and logged.
#[tokio::test]
async fn huge_crawl_delays_are_capped_and_logged() {
    use tokio::io::AsyncBufReadExt;
    for delay in ["3600", "1e400"] {
        let site = Site::start("127.0.0.1").await;
        site.route(
            "/robots.txt",
            vec![Step::new(
                200,
                format!("User-agent: *\nCrawl-delay: {delay}\n"),
            )],
        );
        site.html("/", "p");
        let mut child = spawn_with_input(&["-r", "0"], site.url("/"));
        let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let seen = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Crawl-delay capped at 60 s") {
                    return true;
                }
            }
            false
        })
        .await;
        kill(&child, "-KILL").await;
        assert_eq!(seen.ok(), Some(true), "Crawl-delay: {delay}");
        assert_eq!(site.hits("/"), 0, "the page waits for the (capped) delay");
    }
}

/// Issue 20: the group is chosen by --user-agent's product token (any case), --robots-agent overrides it, and a
/// rule before the first User-agent line applies to no one.
#[tokio::test]
async fn the_user_agents_product_token_chooses_the_group() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/robots.txt",
        vec![Step::new(
            200,
            "Disallow: /loose\n\nUser-agent: *\nDisallow: /star/\n\nUser-agent: ACME-Bot\nDisallow: /private/\n",
        )],
    );
    for p in ["/private/x", "/star/x", "/loose"] {
        site.html(p, "page");
    }
    let input = format!(
        "{}\n{}\n{}\n",
        site.url("/private/x"),
        site.url("/star/x"),
        site.url("/loose")
    );
    let acme = crawlfish(
        &[
            "-q",
            "-r",
            "0",
            "--user-agent",
            "acme-bot/1.0 (+http://acme.test)",
        ],
        &input,
    )
    .await;
    assert_eq!(acme.kind(&site.url("/private/x")), "robots_disallowed");
    assert_eq!(
        acme.record(&site.url("/star/x"))["status"],
        200,
        "its own group, not *"
    );
    assert_eq!(
        acme.record(&site.url("/loose"))["status"],
        200,
        "outside any group"
    );
    assert_eq!(site.hits("/private/x"), 0);
    assert_eq!(
        site.header("/star/x", "user-agent").as_deref(),
        Some("acme-bot/1.0 (+http://acme.test)")
    );

    let named = crawlfish(&["-q", "-r", "0", "--robots-agent", "other-bot"], &input).await;
    assert_eq!(named.record(&site.url("/private/x"))["status"], 200);
    assert_eq!(
        named.kind(&site.url("/star/x")),
        "robots_disallowed",
        "no group names it: *"
    );
    let overridden = crawlfish(
        &[
            "-q",
            "-r",
            "0",
            "--user-agent",
            "x/1",
            "--robots-agent",
            "acme-BOT",
        ],
        &input,
    )
    .await;
    assert_eq!(
        overridden.kind(&site.url("/private/x")),
        "robots_disallowed"
    );

    let bad = crawlfish(&["-q", "--robots-agent", "acme/1.0"], "").await;
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("--robots-agent"), "{}", bad.stderr);
}

/// Issue 20: a 429 on robots.txt is no longer "allow all, fetch at once": the host pauses for Retry-After
/// (capped by --max-retry-after), robots.txt is asked again, and the page waits for its rules.
#[tokio::test]
async fn robots_429_pauses_the_host_and_asks_again_before_the_page() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/robots.txt",
        vec![
            Step::new(429, "slow down").header("retry-after", "30"),
            Step::new(200, "User-agent: *\nDisallow: /private\n"),
        ],
    );
    site.html("/page", "x").html("/private", "secret");
    let input = format!("{}\n{}\n", site.url("/page"), site.url("/private"));
    let run = crawlfish(
        &[
            "-q",
            "-r",
            "0",
            "--retries",
            "2",
            "--max-retry-after",
            "400ms",
        ],
        &input,
    )
    .await;
    assert_eq!(site.hits("/robots.txt"), 2, "asked again after the 429");
    assert_eq!(
        run.kind(&site.url("/private")),
        "robots_disallowed",
        "the second answer's rules"
    );
    assert_eq!(site.hits("/private"), 0);
    assert_eq!(run.record(&site.url("/page"))["status"], 200);
    let order: Vec<(String, std::time::Instant)> = site.hit_times();
    let paths: Vec<&str> = order.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        ["/robots.txt", "/robots.txt", "/page"],
        "the page waited for the rules"
    );
    let gap = order[1].1 - order[0].1;
    assert!(
        gap >= Duration::from_millis(390),
        "paused for the capped Retry-After: {gap:?}"
    );
    assert!(
        gap < Duration::from_secs(10),
        "Retry-After: 30 was capped at 400ms: {gap:?}"
    );
}

/// A robots.txt that keeps answering 5xx (or 429) is asked 1 + --retries times, each after a pause; then the
/// host's pages get robots_disallowed (RFC 9309 2.3.1.4) and none is requested.
#[tokio::test]
async fn robots_5xx_is_asked_again_then_the_host_is_disallowed() {
    for status in [503, 500, 429] {
        let site = Site::start("127.0.0.1").await;
        site.route("/robots.txt", vec![Step::new(status, "down")]);
        site.html("/a", "x").html("/b", "y");
        let input = format!("{}\n{}\n", site.url("/a"), site.url("/b"));
        let run = crawlfish(
            &[
                "-q",
                "-r",
                "0",
                "--retries",
                "2",
                "--max-retry-after",
                "50ms",
            ],
            &input,
        )
        .await;
        assert_eq!(
            site.hits("/robots.txt"),
            3,
            "{status}: once and two re-asks, not more"
        );
        assert_eq!(site.hits("/a") + site.hits("/b"), 0, "{status}");
        for p in ["/a", "/b"] {
            assert_eq!(run.kind(&site.url(p)), "robots_disallowed", "{status}");
            let msg = run.record(&site.url(p))["error"]["message"]
                .as_str()
                .unwrap();
            assert!(
                msg.contains(&format!("answered {status}")) && msg.contains("3 times"),
                "{msg}"
            );
        }
        let times: Vec<_> = site.hit_times().into_iter().map(|(_, t)| t).collect();
        assert!(
            times
                .windows(2)
                .all(|w| w[1] - w[0] >= Duration::from_millis(45)),
            "{status}: paused"
        );
    }
}
