//! The per-host rate (`-r`) and concurrency (`--per-host`, `-c`), measured at the server: held across redirect hops,
//! backoff pauses (429/503) that stop the whole host, rates the limiter cannot hold refused, and many hosts in a
//! small open-files limit.

use std::time::Duration;

use crate::support::*;

#[tokio::test]
async fn per_host_limits_in_flight_requests() {
    let site = Site::start("127.0.0.1").await;
    let mut input = String::new();
    for i in 0..12 {
        let path = format!("/slow{i}");
        site.route(
            &path,
            vec![Step::html("ok").delay(Duration::from_millis(150))],
        );
        input += &site.url(&path);
        input += "\n";
    }
    let run = crawlfish(&args(&["--per-host", "3", "-c", "64"]), &input).await;
    assert_eq!(run.records.len(), 12);
    assert_eq!(
        site.max_in_flight(),
        3,
        "--per-host 3 is both reached and never exceeded"
    );
}

#[tokio::test]
async fn per_host_rate_is_measured_at_the_server() {
    // -r 4: no one-second window may hold more than R+1 = 5 requests; 13 requests need >= (13-1)/4 = 3 s.
    let site = Site::start("127.0.0.1").await;
    let other = Site::start("127.0.0.2").await;
    let mut input = String::new();
    for i in 0..13 {
        site.html(&format!("/p{i}"), "ok");
        other.html(&format!("/p{i}"), "ok");
        input += &format!(
            "{}\n{}\n",
            site.url(&format!("/p{i}")),
            other.url(&format!("/p{i}"))
        );
    }
    let run = crawlfish(
        &["-q", "--ignore-robots", "-r", "4", "--per-host", "16"],
        &input,
    )
    .await;
    assert_eq!(run.records.len(), 26);
    for s in [&site, &other] {
        let times: Vec<_> = s.hit_times().into_iter().map(|(_, t)| t).collect();
        assert_eq!(times.len(), 13);
        let worst = times
            .iter()
            .map(|start| {
                times
                    .iter()
                    .filter(|t| **t >= *start && **t - *start < Duration::from_secs(1))
                    .count()
            })
            .max()
            .unwrap();
        assert!(worst <= 5, "{worst} requests in one second at -r 4");
        let span = *times.iter().max().unwrap() - *times.iter().min().unwrap();
        // Tolerance: 10% under the ideal 3 s for timer slop.
        assert!(
            span >= Duration::from_millis(2700),
            "13 requests in {span:?} at -r 4"
        );
    }
    // Two hosts are limited separately: both finish in about the time of one.
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
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
async fn rates_the_limiter_cannot_hold_are_usage_errors() {
    for r in ["1e-300", "1e12", "1.5e9", "nan", "inf"] {
        let run = crawlfish(&["-q", "-r", r], "").await;
        assert_eq!(run.code, Some(2), "-r {r}");
        assert!(run.stderr.contains("--rate"), "{}", run.stderr);
    }
}

#[tokio::test]
async fn a_rate_too_small_for_the_limiter_exits_2_instead_of_panicking() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "ok");
    // 5e-11 panicked in governor (exit 101); 1e-10 overflowed its clock in every task (internal errors).
    for r in ["5e-11", "1e-10", "3e-10", "1e-30"] {
        let run = crawlfish(&["-q", "-r", r], &site.url("/")).await;
        assert_eq!(run.code, Some(2), "-r {r}: {}", run.stderr);
        assert!(run.stderr.contains("100 years"), "{}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(run.records.is_empty());
    }
    assert_eq!(site.total_hits(), 0, "usage errors come before any request");
    // Just above the bound: the first request goes at once (robots.txt skipped, it would take the cell).
    let run = crawlfish(&["-q", "--ignore-robots", "-r", "4e-10"], &site.url("/")).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.records.len(), 1);
    assert_eq!(run.records[0]["status"], 200, "{}", run.stdout);
}

#[tokio::test]
async fn a_429_slows_the_whole_host() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/first",
        vec![
            Step::new(429, "").header("retry-after", "2"),
            Step::html("ok"),
        ],
    );
    let mut input = site.url("/first") + "\n";
    for i in 0..6 {
        let path = format!("/other{i}");
        // Slow enough that the others are still queued when the 429 arrives.
        site.route(
            &path,
            vec![Step::html("ok").delay(Duration::from_millis(50))],
        );
        input += &site.url(&path);
        input += "\n";
    }
    let run = crawlfish(&args(&["--per-host", "1"]), &input).await;
    assert_eq!(run.records.len(), 7);
    let hits = site.hit_times();
    let limited_at = hits.iter().find(|(p, _)| p == "/first").unwrap().1;
    let during: Vec<_> = hits
        .iter()
        .filter(|(_, t)| *t > limited_at && *t - limited_at < Duration::from_millis(1900))
        .collect();
    assert!(
        during.is_empty(),
        "requests during the host's pause: {during:?}"
    );
}

// Guards: requests already waiting on the rate limiter went out during a 429 pause.
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

// Guards: retries and fresh requests burst past `-r` when a backoff pause ended.
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

// Guards: a 429/503 on a URL with no retry left did not pause the rest of the host.
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

#[tokio::test]
async fn a_host_late_in_the_list_is_not_left_idle() {
    // 600 slow URLs of one host first, then one of another: with --per-host 1 the first host needs ~60 s, and
    // the second must still be served at once, not after the first host's queue has drained.
    let busy = Site::start("127.0.0.1").await;
    let late = Site::start("127.0.0.2").await;
    late.html("/", "late");
    let mut input = String::new();
    for i in 0..600 {
        let path = format!("/{i}");
        busy.route(
            &path,
            vec![Step::html("x").delay(Duration::from_millis(100))],
        );
        input += &format!("{}\n", busy.url(&path));
    }
    input += &late.url("/");
    let mut child = spawn_with_input(
        &["-q", "-r", "0", "--ignore-robots", "--per-host", "1"],
        input,
    );
    // Measured in the first host's requests (100 ms each, one at a time), not in wall time: a loaded machine slows
    // both hosts alike, and a start-up that takes seconds there says nothing about the queue.
    wait_until(
        "the second host's request (it waited behind the first)",
        RUN_LIMIT,
        || late.hits("/") > 0,
    )
    .await;
    let late_at = late.hit_times()[0].1;
    let _ = child.start_kill();
    assert_eq!(late.hits("/"), 1, "the second host waited behind the first");
    let before = busy
        .hit_times()
        .iter()
        .filter(|(_, t)| *t < late_at)
        .count();
    assert!(
        before < 40,
        "{before} hits before the second host's: the first host was not throttled"
    );
}

/// Runs crawlfish under an open-files limit of `nofile` (util-linux `prlimit`), `input` on stdin.
async fn crawlfish_limited(
    nofile: u32,
    args: &[&str],
    input: &str,
) -> (Vec<serde_json::Value>, String, Option<i32>) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new("prlimit")
        .arg(format!("--nofile={nofile}:{nofile}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_crawlfish"))
        .args(args)
        .env_clear()
        .kill_on_drop(true)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    (
        parse_lines(&stdout),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

#[tokio::test]
async fn many_hosts_fit_a_small_open_files_limit_and_robots_is_asked_once_a_host() {
    // 400 host names (`*.localhost` is loopback) on one server, each listed twice far apart: their state is
    // released in between (the table sweeps every 64 new hosts), but robots.txt comes from the cache. Keeping one
    // idle socket per host seen, as before, ran out of descriptors at 256.
    const HOSTS: usize = 400;
    let site = Site::start("127.0.0.1").await;
    site.html("/p1", "<title>one</title>");
    site.html("/p2", "<title>two</title>");
    site.route(
        "/robots.txt",
        vec![Step::new(200, "User-agent: *\nDisallow: /private\n")],
    );
    let port = site.addr.port();
    let url = |h: usize, p: u8| format!("http://h{h}.localhost:{port}/p{p}");
    let input: Vec<String> = (1..=2)
        .flat_map(|p| (0..HOSTS).map(move |h| (h, p)))
        .map(|(h, p)| url(h, p))
        .collect();
    let (records, stderr, code) = crawlfish_limited(
        256,
        &["-q", "-r", "0", "-c", "16", "--timeout", "5"],
        &input.join("\n"),
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(records.len(), 2 * HOSTS);
    assert!(records.iter().all(|r| r["status"] == 200), "{stderr}");
    assert_eq!(site.hits("/robots.txt"), HOSTS, "robots.txt once a host");
}

#[tokio::test]
async fn an_open_files_limit_too_small_for_c_is_a_clear_error() {
    let (records, stderr, code) =
        crawlfish_limited(64, &["-q", "-c", "200"], "http://127.0.0.1:9/\n").await;
    assert_eq!(code, Some(2));
    assert!(records.is_empty());
    assert!(
        stderr.contains("-c 200 needs") && stderr.contains("limit is 64"),
        "{stderr}"
    );
}
