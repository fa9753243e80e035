//! The core contract: one record per input line, dedup by hit counts, exit codes, files and stdin read in order,
//! and `--max-body` truncation.

use std::collections::HashSet;
use std::io::Write as _;

use crate::support::*;

#[tokio::test]
async fn one_record_per_line_and_each_url_fetched_once() {
    let site = Site::start("127.0.0.1").await;
    site.html("/a", "<title> A  page </title><a href='/b#x'>b</a>")
        .html("/b", "<p>b</p>")
        .route("/gone", vec![Step::new(404, "nope")]);
    let base = site.url("");
    let host_upper = base.replace("http://127.0.0.1", "HTTP://127.0.0.1");
    let input = format!(
        "# a comment\n\n{base}/a\n  {base}/a#frag \r\n{host_upper}/a\n{base}/b\n{base}/gone\n\
         not a url\nftp://x.test/\nhttp://[::1\n{base}/b\n"
    );
    let run = crawlfish(&args(&[]), &input).await;
    // Distinct lines: /a, /b, /gone and three invalid ones.
    assert_eq!(run.records.len(), 6, "{:#?}", run.records);
    assert_eq!(site.hits("/a"), 1);
    assert_eq!(site.hits("/b"), 1);
    assert_eq!(site.hits("/gone"), 1);
    let a = run.record(&format!("{base}/a"));
    assert_eq!(a["status"], 200);
    assert_eq!(a["title"], "A page");
    assert_eq!(a["links"], serde_json::json!([format!("{base}/b")]));
    assert_eq!(a["depth"], 0);
    assert_eq!(a["parent"], serde_json::Value::Null);
    assert_eq!(a["attempts"], 1);
    assert_eq!(a["content_type"], "text/html; charset=utf-8");
    assert_eq!(a["final_url"], format!("{base}/a"));
    assert!(a["fetched_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(run.record(&format!("{base}/gone"))["status"], 404);
    for bad in ["not a url", "ftp://x.test/", "http://[::1"] {
        assert_eq!(run.kind(bad), "invalid_url", "{bad}");
    }
    assert_eq!(run.code, Some(1), "a 404 and invalid lines make exit 1");
}

#[tokio::test]
async fn exit_zero_when_all_succeed_and_two_on_usage_errors() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "<title>ok</title>");
    let run = crawlfish(&args(&[]), &site.url("/")).await;
    assert_eq!(run.code, Some(0));
    assert_eq!(run.records.len(), 1);

    let missing = crawlfish(&args(&["/nonexistent/urls.txt"]), "").await;
    assert_eq!(missing.code, Some(2));
    assert!(missing.stdout.is_empty());
    assert!(missing.stderr.contains("cannot read"), "{}", missing.stderr);

    assert_eq!(crawlfish(&["--no-such-flag"], "").await.code, Some(2));
    assert_eq!(
        crawlfish(&["-o", "/nonexistent/dir/out"], "").await.code,
        Some(2)
    );
    let empty = crawlfish(&args(&[]), "# nothing\n\n").await;
    assert_eq!((empty.code, empty.records.len()), (Some(0), 0));
}

#[tokio::test]
async fn files_and_stdin_dash_are_read_in_order() {
    let site = Site::start("127.0.0.1").await;
    site.html("/1", "1").html("/2", "2");
    let dir = tempdir("files");
    let list = dir.join("urls.txt");
    std::fs::File::create(&list)
        .unwrap()
        .write_all(format!("{}\n", site.url("/1")).as_bytes())
        .unwrap();
    let list = list.to_str().unwrap();
    let run = crawlfish(&args(&[list, "-"]), &site.url("/2")).await;
    let urls: HashSet<String> = run.by_url().into_keys().collect();
    assert_eq!(urls, HashSet::from([site.url("/1"), site.url("/2")]));
}

#[tokio::test]
async fn max_body_truncates_plain_and_gzip_bombs() {
    use flate2::{write::GzEncoder, Compression};
    let site = Site::start("127.0.0.1").await;
    site.route("/huge", vec![Step::new(200, vec![b'x'; 5_000_000])]);
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    for _ in 0..100 {
        gz.write_all(&[0u8; 1 << 20]).unwrap(); // 100 MiB of zeros, ~100 KB compressed
    }
    let bomb = gz.finish().unwrap();
    site.route(
        "/bomb",
        vec![Step::new(200, bomb).header("content-encoding", "gzip")],
    );
    let input = format!("{}\n{}\n", site.url("/huge"), site.url("/bomb"));
    let run = crawlfish(&args(&["--max-body", "100000"]), &input).await;
    for path in ["/huge", "/bomb"] {
        let r = run.record(&site.url(path));
        assert_eq!(r["bytes"], 100_000, "{path}");
        assert_eq!(r["truncated"], true, "{path}");
        assert_eq!(r["error"], serde_json::Value::Null, "{path}");
    }
}
