//! Retries: attempts counted, final statuses not retried, connect errors retried, Retry-After honoured and capped
//! (an unreadable one gives the URL up), and a response that is not HTTP not retried.

use std::time::Duration;

use crate::support::*;

#[tokio::test]
async fn retries_count_attempts_and_stop_on_final_statuses() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/flaky",
        vec![
            Step::new(503, "busy"),
            Step::new(500, "oops"),
            Step::html("<title>up</title>"),
        ],
    );
    site.route("/always502", vec![Step::new(502, "bad gateway")]);
    site.route("/missing", vec![Step::new(404, "no")]);
    let input = [
        site.url("/flaky"),
        site.url("/always502"),
        site.url("/missing"),
    ]
    .join("\n");
    // A short backoff base is not a flag; the 503 carries no Retry-After, so the host pauses ~1 s.
    let run = crawlfish(&args(&["--retries", "2"]), &input).await;
    let flaky = run.record(&site.url("/flaky"));
    assert_eq!(
        (flaky["status"].as_u64(), flaky["attempts"].as_u64()),
        (Some(200), Some(3))
    );
    assert_eq!(flaky["title"], "up");
    assert_eq!(site.hits("/flaky"), 3);
    let bad = run.record(&site.url("/always502"));
    assert_eq!(
        (bad["status"].as_u64(), bad["attempts"].as_u64()),
        (Some(502), Some(3))
    );
    assert_eq!(site.hits("/always502"), 3);
    let missing = run.record(&site.url("/missing"));
    assert_eq!(missing["attempts"], 1);
    assert_eq!(site.hits("/missing"), 1, "a 404 is final after one request");

    let none = Site::start("127.0.0.2").await;
    none.route("/x", vec![Step::new(503, "busy")]);
    let run = crawlfish(&args(&["--retries", "0"]), &none.url("/x")).await;
    assert_eq!(run.record(&none.url("/x"))["attempts"], 1);
    assert_eq!(none.hits("/x"), 1);
}

#[tokio::test]
async fn connect_errors_are_retried() {
    let refused = refused_port("127.0.0.1").await;
    let url = format!("http://{refused}/");
    let run = crawlfish(&args(&["--retries", "2"]), &url).await;
    assert_eq!(run.kind(&url), "connect");
    assert_eq!(run.record(&url)["attempts"], 3);
}

#[tokio::test]
async fn retry_after_is_honoured_and_capped() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/limited",
        vec![
            Step::new(429, "slow down").header("retry-after", "2"),
            Step::html("ok"),
        ],
    );
    let run = crawlfish(&args(&[]), &site.url("/limited")).await;
    let r = run.record(&site.url("/limited"));
    assert_eq!(
        (r["status"].as_u64(), r["attempts"].as_u64()),
        (Some(200), Some(2))
    );
    let times: Vec<_> = site.hit_times().into_iter().map(|(_, t)| t).collect();
    let gap = times[1] - times[0];
    // Tolerance: 100 ms under the 2 s asked for (timer granularity), never more than 1 s over.
    assert!(
        gap >= Duration::from_millis(1900) && gap < Duration::from_secs(3),
        "{gap:?}"
    );

    let capped = Site::start("127.0.0.2").await;
    capped.route(
        "/x",
        vec![Step::new(503, "maintenance").header("retry-after", "3600")],
    );
    let run = crawlfish(&args(&["--max-retry-after", "5"]), &capped.url("/x")).await;
    let r = run.record(&capped.url("/x"));
    assert_eq!(
        (r["status"].as_u64(), r["attempts"].as_u64()),
        (Some(503), Some(1))
    );
    assert!(
        run.elapsed < Duration::from_secs(5),
        "gave up at once: {:?}",
        run.elapsed
    );
}

// Guards: a Retry-After too long to read was retried (or overflowed) instead of giving the URL up.
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

// Guards: a response with a garbled (non-HTTP) head was `connect` and retried.
#[tokio::test]
async fn a_garbled_response_head_is_other_and_not_retried() {
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let addr = raw_server("127.0.0.157", move |mut s| {
        let counter = counter.clone();
        async move {
            read_request(&mut s).await;
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            send(&mut s, b"X-Before: status\r\nHTTP/1.1 200 OK\r\n\r\nhi").await;
        }
    })
    .await;
    let url = format!("http://{addr}/");
    let run = crawlfish(&args(&["--retries", "2"]), &url).await;
    assert_eq!(run.kind(&url), "other", "{}", run.record(&url));
    assert_eq!(run.record(&url)["attempts"], 1);
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}
