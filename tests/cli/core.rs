//! The core contract: one record per input line, dedup by hit counts, record shape, exit codes, truncation,
//! per-host limits, pipes and signals.

use std::collections::HashSet;
use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

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
async fn base_href_and_relative_links() {
    let site = Site::start("127.0.0.1").await;
    site.html(
        "/dir/page",
        r#"<head><base href="/other/"></head><a href="x">x</a><a href="../up#f">up</a><a href="mailto:a@b">m</a>"#,
    );
    site.html(
        "/plain/page",
        r#"<a href="sib">s</a><a href="/abs">a</a><a href="?q=1">q</a>"#,
    );
    let input = format!("{}\n{}\n", site.url("/dir/page"), site.url("/plain/page"));
    let run = crawlfish(&args(&[]), &input).await;
    assert_eq!(
        run.record(&site.url("/dir/page"))["links"],
        serde_json::json!([site.url("/other/x"), site.url("/up")])
    );
    assert_eq!(
        run.record(&site.url("/plain/page"))["links"],
        serde_json::json!([
            site.url("/plain/sib"),
            site.url("/abs"),
            site.url("/plain/page?q=1")
        ])
    );
}

#[tokio::test]
async fn charsets_are_decoded() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/latin1",
        vec![Step::new(200, b"<title>caf\xe9</title>".to_vec())
            .header("content-type", "text/html; charset=iso-8859-1")],
    );
    site.route(
        "/meta",
        vec![Step::new(
            200,
            b"<meta charset=windows-1252><title>na\xefve</title>".to_vec(),
        )
        .header("content-type", "text/html")],
    );
    site.route(
        "/sniffed",
        vec![Step::new(200, "<!doctype html><title>no type</title>")],
    );
    let input = [site.url("/latin1"), site.url("/meta"), site.url("/sniffed")].join("\n");
    let run = crawlfish(&args(&[]), &input).await;
    assert_eq!(run.record(&site.url("/latin1"))["title"], "café");
    assert_eq!(run.record(&site.url("/meta"))["title"], "naïve");
    assert_eq!(run.record(&site.url("/sniffed"))["title"], "no type");
}

#[tokio::test]
async fn head_one_ends_promptly_and_quietly() {
    let site = Site::start("127.0.0.1").await;
    let mut input = String::new();
    for i in 0..3000 {
        site.html(&format!("/{i}"), "<title>t</title>");
        input += &format!("{}\n", site.url(&format!("/{i}")));
    }
    let mut child = spawn_with_input(&["-r", "0", "--ignore-robots", "-c", "8"], input);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).await.unwrap();
    assert!(serde_json::from_str::<serde_json::Value>(&first).is_ok());
    drop(stdout); // `head -1` exits
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("crawlfish kept running after its reader left")
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.trim().is_empty(), "stderr not quiet: {stderr}");
    assert!(site.total_hits() < 3000, "the crawl stopped early");
}

#[tokio::test]
async fn sigint_and_sigterm_flush_complete_lines_and_exit_130_143() {
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let site = Site::start("127.0.0.1").await;
        site.html("/fast", "<title>fast</title>");
        site.route(
            "/hang",
            vec![Step::html("late").delay(Duration::from_secs(60))],
        );
        let input = format!("{}\n{}\n", site.url("/fast"), site.url("/hang"));
        let mut child = spawn_with_input(&["-r", "0", "--ignore-robots", "-q"], input);
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).await.unwrap();
        let first: serde_json::Value = serde_json::from_str(&first).unwrap();
        assert_eq!(first["url"], site.url("/fast"));
        kill(&child, &format!("-{signal}"));
        let mut rest = String::new();
        let status = tokio::time::timeout(Duration::from_secs(10), async {
            tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut rest)
                .await
                .unwrap();
            child.wait().await.unwrap()
        })
        .await
        .expect("no exit within the grace period");
        assert_eq!(status.code(), Some(code), "SIG{signal}");
        assert!(
            parse_lines(&rest).is_empty(),
            "the hanging fetch has no record: {rest}"
        );
        assert!(rest.is_empty() || rest.ends_with('\n'));
    }
}

pub fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("crawlfish-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_second_sigint_exits_at_once() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/hang",
        vec![Step::html("late").delay(Duration::from_secs(60))],
    );
    let mut child = spawn_with_input(&["-r", "0", "--ignore-robots"], site.url("/hang"));
    // Wait until the request is in flight (server-side), then interrupt twice, reading the first's notice.
    wait_until("the request", Duration::from_secs(10), || {
        site.hits("/hang") > 0
    })
    .await;
    kill(&child, "-INT");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut notice = String::new();
    stderr.read_line(&mut notice).await.unwrap();
    assert!(notice.contains("interrupt again"), "{notice}");
    let second = std::time::Instant::now();
    kill(&child, "-INT");
    assert_eq!(
        exit_code_within(&mut child, Duration::from_secs(10)).await,
        Some(130)
    );
    // The grace period is 2 s; the second interrupt must not wait for it (tolerance: 1 s).
    assert!(
        second.elapsed() < Duration::from_secs(1),
        "{:?}",
        second.elapsed()
    );
}

#[tokio::test]
async fn http_proxy_from_the_environment_is_used() {
    // The proxy is a local site: an absolute-form request for http://proxied.test/x lands on its "/x" route.
    let proxy = Site::start("127.0.0.1").await;
    proxy.html("/x", "<title>via proxy</title>");
    let mut child = bin()
        .args(["-q", "-r", "0", "--ignore-robots"])
        .env("HTTP_PROXY", proxy.url(""))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"http://proxied.test/x\n").await.unwrap();
    drop(stdin);
    let mut out = String::new();
    tokio::io::AsyncReadExt::read_to_string(child.stdout.as_mut().unwrap(), &mut out)
        .await
        .unwrap();
    child.wait().await.unwrap();
    let records = parse_lines(&out);
    assert_eq!(records[0]["title"], "via proxy", "{out}");
    assert_eq!(proxy.hits("/x"), 1);
}

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

#[tokio::test]
async fn progress_bar_only_on_a_terminal() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/slow",
        vec![Step::html("x").delay(Duration::from_millis(800))],
    );
    let dir = tempdir("tty");
    let list = dir.join("urls.txt");
    std::fs::write(&list, site.url("/slow")).unwrap();
    let cmd = format!(
        "{} -r 0 --ignore-robots -o {} {}",
        env!("CARGO_BIN_EXE_crawlfish"),
        dir.join("out.jsonl").display(),
        list.display()
    );
    // util-linux `script` runs the command on a pseudo-terminal and copies what it drew to stdout.
    let out = tokio::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_clear()
        .env("TERM", "xterm")
        .output()
        .await
        .expect("util-linux `script` is needed for this test");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("in flight"),
        "no progress bar on a terminal: {screen:?}"
    );
    assert!(screen.contains("crawlfish: 1 records"), "{screen:?}");

    // The same run with stderr on a pipe: only the summary line, no bar.
    let piped = crawlfish(&["-r", "0", "--ignore-robots"], &site.url("/slow")).await;
    assert!(!piped.stderr.contains("in flight"), "{}", piped.stderr);
    assert!(
        piped.stderr.starts_with("crawlfish: 1 records"),
        "{}",
        piped.stderr
    );
}
