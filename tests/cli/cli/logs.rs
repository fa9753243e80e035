//! What crawlfish logs on stderr: the `-vv` request log (one line per request the servers saw, text or JSON, no
//! passwords), and `--log-format json` kept one JSON value per line, on SIGINT too.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::*;

/// A site with a redirect, a 404, a 503-then-200 retry, robots.txt and (through `--sitemap`) a sitemap request.
async fn busy_site() -> Site {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/robots.txt",
        vec![Step::new(200, "User-agent: *\nAllow: /\n")],
    );
    site.route("/r", vec![Step::new(301, "").header("location", "/a")]);
    site.html("/a", "arrived");
    site.route("/missing", vec![Step::new(404, "gone")]);
    site.route(
        "/flaky",
        vec![
            Step::new(503, "busy").header("retry-after", "0"),
            Step::html("ok"),
        ],
    );
    site
}

fn input(site: &Site) -> String {
    ["/r", "/missing", "/flaky"].map(|p| site.url(p)).join("\n")
}

#[tokio::test]
async fn dash_vv_logs_one_line_per_request_the_servers_saw() {
    let site = busy_site().await;
    let run = crawlfish(&["-vv", "-r", "0", "--sitemap"], &input(&site)).await;
    assert_eq!(run.code, Some(1), "the 404 fails the run: {}", run.stderr);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("crawlfish::request"))
        .collect();
    // robots.txt, /r, /a, /missing, /flaky twice, /sitemap.xml
    assert_eq!(site.total_hits(), 7, "{:?}", site.hit_times());
    assert_eq!(lines.len(), site.total_hits(), "{}", run.stderr);
    for l in &lines {
        for field in [
            "method=GET",
            "url=http://",
            "ms=",
            "attempt=",
            "purpose=",
            "hop=",
        ] {
            assert!(l.contains(field), "{field} in {l}");
        }
        assert!(l.contains("status="), "{l}");
    }
    let one = |needle: &[&str]| {
        let n = lines
            .iter()
            .filter(|l| needle.iter().all(|x| l.contains(x)))
            .count();
        assert_eq!(n, 1, "{needle:?} in {lines:#?}");
    };
    one(&[
        &format!("url={} ", site.url("/robots.txt")),
        "status=200",
        "purpose=robots",
    ]);
    one(&[&format!("url={} ", site.url("/r")), "status=301", "hop=0"]);
    one(&[
        &format!("url={} ", site.url("/a")),
        "status=200",
        "hop=1",
        "purpose=page",
    ]);
    one(&[
        &format!("url={} ", site.url("/missing")),
        "status=404",
        "attempt=1",
    ]);
    one(&[
        &format!("url={} ", site.url("/flaky")),
        "status=503",
        "attempt=1",
    ]);
    one(&[
        &format!("url={} ", site.url("/flaky")),
        "status=200",
        "attempt=2",
    ]);
    one(&[
        &format!("url={} ", site.url("/sitemap.xml")),
        "status=404",
        "purpose=sitemap",
    ]);

    // -v (one) shows none of them; -q neither.
    for quiet in ["-v", "-q"] {
        let site = busy_site().await;
        let run = crawlfish(&[quiet, "-r", "0", "--sitemap"], &input(&site)).await;
        assert_eq!(site.total_hits(), 7);
        assert!(
            !run.stderr.contains("crawlfish::request"),
            "{quiet}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("attempt="), "{quiet}: {}", run.stderr);
    }
}

#[tokio::test]
async fn dash_vv_json_logs_carry_the_same_fields_and_errors_name_their_kind() {
    let site = busy_site().await;
    let dead = refused_port("127.0.0.1").await;
    let dead_url = format!("http://{dead}/x");
    let stdin = format!("{}\n{dead_url}", input(&site));
    let run = crawlfish(
        &["-vv", "-r", "0", "--retries", "1", "--log-format", "json"],
        &stdin,
    )
    .await;
    let requests: Vec<Value> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["target"] == "crawlfish::request")
        .collect();
    assert_eq!(requests.len(), site.total_hits() + 1, "{}", run.stderr);
    for r in &requests {
        let f = &r["fields"];
        assert_eq!(f["method"], "GET");
        assert!(
            f["url"].is_string() && f["ms"].is_u64() && f["attempt"].is_u64(),
            "{r}"
        );
        assert!(
            f["status"].is_u64() != f["error"].is_string(),
            "status or error: {r}"
        );
    }
    // The refused port: robots.txt fails once (no retry for robots.txt), so the URL itself is never requested.
    let dead_lines: Vec<&Value> = requests
        .iter()
        .filter(|r| {
            r["fields"]["url"]
                .as_str()
                .unwrap()
                .contains(&dead.to_string())
        })
        .collect();
    assert_eq!(dead_lines.len(), 1, "{dead_lines:?}");
    assert_eq!(dead_lines[0]["fields"]["error"], "connect");
    assert_eq!(dead_lines[0]["fields"]["purpose"], "robots");
}

const SECRET: &str = "pw-9f3k";

// Guards: `-vv` request lines showed the password in a URL's userinfo.
#[tokio::test]
async fn vv_lines_never_show_a_urls_password() {
    let site = Site::start("127.0.0.155").await;
    site.html("/", "ok");
    let url = format!("http://user:{SECRET}@{}/", site.addr);
    let run = crawlfish(&["-vv", "-r", "0", "--log-format", "json"], &url).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("\"request\""))
        .collect();
    assert!(lines.len() >= 2, "robots.txt and the page: {}", run.stderr);
    assert!(!run.stderr.contains(SECRET), "{}", run.stderr);
    // The listed URL's userinfo is removed before the request (its credentials travel beside it).
    assert!(
        run.stderr.contains(&format!("http://{}/", site.addr)),
        "{}",
        run.stderr
    );
}

/// The request was sent (the server saw it); its `-vv` line says `error=aborted`.
// Guards: a request still running when the SIGTERM grace ended got no `-vv` line.
#[tokio::test]
async fn vv_logs_a_request_aborted_at_shutdown() {
    let site = Site::start("127.0.0.156").await;
    site.route(
        "/slow",
        vec![Step::html("late").delay(Duration::from_secs(60))],
    );
    let child = spawn_with_input(
        &["-vv", "-r", "0", "--ignore-robots", "--log-format", "json"],
        site.url("/slow"),
    );
    wait_until("the request", Duration::from_secs(10), || {
        site.hits("/slow") > 0
    })
    .await;
    kill(&child, "-TERM").await;
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("the run ends after the grace period")
        .unwrap();
    assert_eq!(out.status.code(), Some(143));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["fields"]["message"] == "request")
        .collect();
    assert_eq!(lines.len(), site.hits("/slow"), "{stderr}");
    assert_eq!(lines[0]["fields"]["error"], "aborted", "{stderr}");
}

#[tokio::test]
async fn json_logs_keep_stderr_one_json_value_per_line() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "ok"); // no sitemap.xml: an info-level log line with -v
    let input = format!("{}\nnot a url\n", site.url("/"));
    let run = crawlfish(
        &["-v", "--log-format", "json", "-r", "0", "--sitemap"],
        &input,
    )
    .await;
    let lines: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() >= 2, "{}", run.stderr);
    let summary = &lines.last().unwrap()["summary"];
    assert_eq!(summary["records"], 2);
    assert_eq!(summary["by_error_kind"]["invalid_url"], 1);
    assert_eq!(summary["by_status_class"]["2xx"], 1);
}

/// SIGINT with `--log-format json`: every stderr line, the interrupt notice included, is one JSON value.
// Guards: SIGINT wrote a plain-text notice into a `--log-format json` stderr.
#[tokio::test]
async fn sigint_keeps_json_logs_json() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/hang",
        vec![Step::html("late").delay(Duration::from_secs(60))],
    );
    let mut child = spawn_with_input(
        &["-r", "0", "--ignore-robots", "--log-format", "json"],
        site.url("/hang"),
    );
    wait_until("the request", Duration::from_secs(10), || {
        site.hits("/hang") > 0
    })
    .await;
    kill(&child, "-INT").await;
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut notice = String::new();
    tokio::time::timeout(RUN_LIMIT, stderr.read_line(&mut notice))
        .await
        .expect("a line within RUN_LIMIT")
        .unwrap();
    let value: serde_json::Value =
        serde_json::from_str(&notice).unwrap_or_else(|e| panic!("not JSON ({e}): {notice}"));
    assert!(value.to_string().contains("interrupt again"), "{notice}");
    kill(&child, "-INT").await;
    assert_eq!(
        exit_code_within(&mut child, Duration::from_secs(10)).await,
        Some(130)
    );
}
