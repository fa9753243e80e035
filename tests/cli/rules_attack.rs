//! Every request obeys the rules, continued: the cases the attack runs found (a helper given only the README and
//! the binary), each kept as a test: backoff and rate edges, percent-encoded robots paths, Crawl-delay bounds,
//! overlong Retry-After, unfollowable redirects.

use std::time::Duration;

use crate::support::*;

fn redirect(status: u16, to: &str) -> Step {
    Step::new(status, "").header("location", to)
}

#[tokio::test]
async fn a_429_pauses_requests_already_waiting_on_the_limiter() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/p0",
        vec![
            Step::new(429, "slow down").header("retry-after", "2"),
            Step::html("ok"),
        ],
    );
    let mut input = String::new();
    for i in 0..12 {
        if i > 0 {
            site.html(&format!("/p{i}"), "ok");
        }
        input += &format!("{}\n", site.url(&format!("/p{i}")));
    }
    let run = crawlfish(
        &["-q", "--ignore-robots", "-r", "5", "--per-host", "8"],
        &input,
    )
    .await;
    assert_eq!(run.records.len(), 12);
    let hits = site.hit_times();
    let t429 = hits.iter().find(|(p, _)| p == "/p0").unwrap().1;
    // Tolerance: a request already on the wire when the 429 was answered may land within 50 ms of it.
    let inside: Vec<_> = hits
        .iter()
        .filter(|(_, t)| {
            *t > t429 + Duration::from_millis(50) && *t < t429 + Duration::from_millis(1950)
        })
        .collect();
    assert!(
        inside.is_empty(),
        "requests during the 2 s pause: {inside:?}"
    );
}

#[tokio::test]
async fn the_rate_holds_after_a_backoff_pause() {
    // Each URL answers 503 + Retry-After: 1 once: retries and fresh requests meet when pauses end (pauses capped
    // at 2 s, so the host-wide doubling keeps the test short).
    let site = Site::start("127.0.0.1").await;
    let mut input = String::new();
    for i in 0..5 {
        site.route(
            &format!("/b{i}"),
            vec![
                Step::new(503, "busy").header("retry-after", "1"),
                Step::html("ok"),
            ],
        );
        input += &format!("{}\n", site.url(&format!("/b{i}")));
    }
    let run = crawlfish(
        &[
            "-q",
            "--ignore-robots",
            "-r",
            "2",
            "--per-host",
            "8",
            "--max-retry-after",
            "2",
        ],
        &input,
    )
    .await;
    assert_eq!(run.records.len(), 5);
    let times: Vec<_> = site.hit_times().into_iter().map(|(_, t)| t).collect();
    let worst = worst_window(&times, Duration::from_secs(1));
    assert!(
        worst <= 3,
        "{worst} requests in one second at -r 2 (limit R+1 = 3)"
    );
}

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
        kill(&child, "-KILL");
        assert_eq!(seen.ok(), Some(true), "Crawl-delay: {delay}");
        assert_eq!(site.hits("/"), 0, "the page waits for the (capped) delay");
    }
}

#[tokio::test]
async fn an_unreadably_long_retry_after_gives_the_url_up() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/huge",
        vec![
            Step::new(503, "later").header("retry-after", "99999999999999999999"),
            Step::html("ok"),
        ],
    );
    let run = crawlfish(&args(&[]), &site.url("/huge")).await;
    let r = run.record(&site.url("/huge"));
    assert_eq!(
        (r["status"].as_u64(), r["attempts"].as_u64()),
        (Some(503), Some(1))
    );
}

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

/// Found by the attack run: a 429/503 on a URL with no retry left did not pause the rest of the host.
#[tokio::test]
async fn a_503_pauses_the_host_even_without_a_retry() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/busy",
        vec![Step::new(503, "busy").header("retry-after", "2")],
    );
    site.html("/a1", "ok").html("/a2", "ok");
    let input = [site.url("/busy"), site.url("/a1"), site.url("/a2")].join("\n");
    let run = crawlfish(
        &[
            "-q",
            "--ignore-robots",
            "-r",
            "0",
            "-c",
            "1",
            "--retries",
            "0",
        ],
        &input,
    )
    .await;
    assert_eq!(run.records.len(), 3);
    let hits = site.hit_times();
    let busy = hits.iter().find(|(p, _)| p == "/busy").unwrap().1;
    let next = hits.iter().find(|(p, _)| p == "/a1").unwrap().1;
    // Tolerance: 5 % under the 2 s pause for timer slop.
    assert!(next - busy >= Duration::from_millis(1900), "{hits:?}");
}
