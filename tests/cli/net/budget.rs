//! `--max-inflight-bytes`: the response bodies of all tasks together stay under one cap (plus the one body that
//! may lead past it), and none waits forever.

use crate::support::*;

/// A server whose every answer is an endless body (bounded at 64 MiB a connection), without a length.
async fn endless_server(ip: &str) -> std::net::SocketAddr {
    raw_server(ip, |mut s| async move {
        read_request(&mut s).await;
        let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\nconnection: close\r\n\r\n";
        if !send(&mut s, head).await {
            return;
        }
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..1024 {
            if !send(&mut s, &chunk).await {
                return;
            }
        }
    })
    .await
}

/// The `peak=N` of the run's "response body bytes in flight" line (`-v`).
fn peak(stderr: &str) -> usize {
    let line = stderr
        .lines()
        .find(|l| l.contains("response body bytes in flight"))
        .unwrap_or_else(|| panic!("no in-flight line in {stderr}"));
    let at = line.find("peak=").unwrap() + "peak=".len();
    let digits: String = line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

// Guards: with no overall bound, -c endless bodies at --max-body each were all in memory at once (64 at the
// default reached 780 MB).
#[tokio::test]
async fn endless_bodies_stay_under_the_inflight_cap_and_all_finish() {
    let addr = endless_server("127.0.0.71").await;
    let n = 16;
    let list: Vec<String> = (0..n).map(|i| format!("http://{addr}/{i}")).collect();
    let (max_body, cap) = (1 << 20, 2 << 20);
    let flags = [
        "-v",
        "-r",
        "0",
        "--ignore-robots",
        "-c",
        "16",
        "--per-host",
        "16",
        "--max-body",
        "1MiB",
        "--max-inflight-bytes",
        "2MiB",
    ];
    let run = crawlfish(&flags, &list.join("\n")).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.records.len(), n, "one record a URL");
    for url in &list {
        let r = run.record(url);
        assert_eq!(r["status"], 200, "{r}");
        assert_eq!(r["truncated"], true, "{r}");
        assert_eq!(r["bytes"], max_body, "{r}");
    }
    let peak = peak(&run.stderr);
    // 16 bodies of 1 MiB would be 16 MiB; the cap lets 2 MiB in, plus one lead body past it.
    assert!(peak <= cap + max_body, "peak {peak} bytes in flight");
    assert!(peak >= max_body, "peak {peak}: the budget was not used");
}
