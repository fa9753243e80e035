use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use crate::support::*;

#[tokio::test]
async fn transport_failures_get_their_kind() {
    let site = Site::start("127.0.0.1").await;
    site.html("/ok", "<title>fine</title>");
    site.route(
        "/loop",
        vec![Step::new(302, "").header("location", "/loop2")],
    );
    site.route(
        "/loop2",
        vec![Step::new(302, "").header("location", "/loop")],
    );
    let refused = refused_port("127.0.0.3").await;
    let plain = Site::start("127.0.0.4").await;
    let hang = raw_server("127.0.0.5", |mut s| async move {
        read_request(&mut s).await;
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
    .await;
    let urls = [
        (site.url("/ok"), "none"),
        (site.url("/loop"), "too_many_redirects"),
        (format!("http://{refused}/"), "connect"),
        ("http://no-such-host.invalid/".to_owned(), "dns"),
        (format!("https://{}/", plain.addr), "tls"),
        (format!("http://{hang}/"), "timeout"),
    ];
    let input: String = urls.iter().map(|(u, _)| format!("{u}\n")).collect();
    let started = Instant::now();
    let run = crawlfish(
        &[
            "-q",
            "-r",
            "0",
            "--ignore-robots",
            "--timeout",
            "2",
            "--retries",
            "0",
        ],
        &input,
    )
    .await;
    for (url, kind) in &urls {
        assert_eq!(run.kind(url), *kind, "{url}: {}", run.record(url));
        eprintln!(
            "fault: {url} -> {kind} in {} ms",
            run.record(url)["elapsed_ms"]
        );
    }
    assert_eq!(run.record(&site.url("/ok"))["title"], "fine");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(run.code, Some(1));
}

/// An https server that accepts TCP and then hangs up in the handshake is a TLS failure, not a refused
/// connection: TCP worked. Reads the ClientHello first, then closes (the client reads EOF) or resets.
#[tokio::test]
async fn tls_handshake_hang_ups_are_tls() {
    async fn read_hello(s: &mut tokio::net::TcpStream) {
        use tokio::io::AsyncReadExt;
        let mut hello = [0; 4096];
        let _ = s.read(&mut hello).await;
    }
    let eof = raw_server("127.0.0.1", |mut s| async move {
        read_hello(&mut s).await;
    })
    .await;
    let reset = raw_server("127.0.0.1", |mut s| async move {
        read_hello(&mut s).await;
        // Deprecated because a lingering close can block; with a zero linger it resets at once.
        #[allow(deprecated)]
        s.set_linger(Some(Duration::ZERO)).unwrap();
    })
    .await;
    let refused = refused_port("127.0.0.1").await;
    let plain = Site::start("127.0.0.1").await;
    let urls = [
        (format!("https://{eof}/"), "tls"),
        (format!("https://{reset}/"), "tls"),
        (format!("https://{refused}/"), "connect"),
        (format!("https://{}/", plain.addr), "tls"),
        (format!("http://{eof}/"), "connect"),
        (format!("http://{reset}/"), "connect"),
    ];
    let input: String = urls.iter().map(|(u, _)| format!("{u}\n")).collect();
    let run = crawlfish(
        &[
            "-q",
            "-r",
            "0",
            "--ignore-robots",
            "--timeout",
            "5",
            "--retries",
            "0",
        ],
        &input,
    )
    .await;
    for (url, kind) in &urls {
        assert_eq!(run.kind(url), *kind, "{url}: {}", run.record(url));
    }
}

/// Serves `head` then `body` chunks, pausing `gap` between chunks.
async fn drip_server(ip: &str, head: &'static [u8], chunks: Vec<Vec<u8>>, gap: Duration) -> String {
    let addr = raw_server(ip, move |mut s| {
        let chunks = chunks.clone();
        async move {
            read_request(&mut s).await;
            if !send(&mut s, head).await {
                return;
            }
            for c in chunks {
                if !send(&mut s, &c).await {
                    return;
                }
                tokio::time::sleep(gap).await;
            }
            let _ = s.shutdown().await;
        }
    })
    .await;
    format!("http://{addr}/")
}

#[tokio::test]
async fn hostile_servers_end_in_bounded_classified_records() {
    let ip = "127.0.0.6";
    let second = Duration::from_secs(1);
    let ok_head: &[u8] =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 100\r\n\r\n";
    let drip_body = drip_server(ip, ok_head, vec![b"x".to_vec(); 100], second).await;
    let drip_headers = drip_server(
        ip,
        b"",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
            .iter()
            .map(|b| vec![*b])
            .collect(),
        second,
    )
    .await;
    let endless = raw_server(ip, |mut s| async move {
        read_request(&mut s).await;
        let head =
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/html\r\n\r\n";
        let mut chunk = b"400\r\n".to_vec();
        chunk.extend_from_slice(&[b'a'; 1024]);
        chunk.extend_from_slice(b"\r\n");
        if send(&mut s, head).await {
            // Endless, but bounded here: 1 GiB at most, ended as soon as the client hangs up.
            for _ in 0..(1 << 20) {
                if !send(&mut s, &chunk).await {
                    break;
                }
            }
        }
    })
    .await;
    let endless = format!("http://{endless}/");
    let reset = raw_server(ip, |mut s| async move {
        read_request(&mut s).await;
        send(
            &mut s,
            b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\npartial",
        )
        .await;
        #[allow(deprecated)] // linger 0 is the point: the drop sends RST instead of FIN
        let _ = s.set_linger(Some(Duration::ZERO));
        drop(s); // RST with 99,993 bytes missing
    })
    .await;
    let bad_chunks = drip_server(
        ip,
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nnot hex\r\n",
        vec![],
        Duration::ZERO,
    )
    .await;
    let site = Site::start(ip).await;
    site.html(
        "/title",
        &format!("<title>{}</title>", "t".repeat(5_000_000)),
    );
    site.html(
        "/nested",
        &format!(
            "{}deep{}",
            "<div>".repeat(100_000),
            "</div>".repeat(100_000)
        ),
    );
    let many: String = (0..100_000)
        .map(|i| format!("<a href='/l{i}'>l</a>"))
        .collect();
    site.html("/links", &many);
    site.route(
        "/lying",
        vec![Step::new(
            200,
            b"<meta charset=utf-8><title>\xff\xfe bad \xc3</title>".to_vec(),
        )
        .header("content-type", "text/html")],
    );
    let binary: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    site.route(
        "/binary",
        vec![Step::new(200, binary).header("content-type", "text/html")],
    );
    site.route("/big", vec![Step::new(200, vec![b'y'; 50_000_000])]);
    site.route(
        "/bomb",
        vec![Step::new(200, gzip_zeros(1 << 30))
            .header("content-encoding", "gzip")
            .header("content-type", "text/html")],
    );
    let fine = site.url("/title");

    let input = [
        drip_body.clone(),
        drip_headers.clone(),
        endless.clone(),
        format!("http://{reset}/"),
        bad_chunks.clone(),
        site.url("/lying"),
        site.url("/binary"),
        site.url("/big"),
        site.url("/bomb"),
        fine.clone(),
    ]
    .join("\n");
    let run = crawlfish(
        &[
            "-r",
            "0",
            "--ignore-robots",
            "--timeout",
            "3",
            "--retries",
            "0",
            "--max-body",
            "1000000",
        ],
        &input,
    )
    .await;
    assert_eq!(run.records.len(), 10, "{}", run.stderr);
    assert_eq!(run.kind(&drip_body), "timeout");
    assert_eq!(run.kind(&drip_headers), "timeout");
    let e = run.record(&endless);
    assert_eq!(
        (e["truncated"].as_bool(), e["bytes"].as_u64()),
        (Some(true), Some(1_000_000))
    );
    assert_eq!(run.kind(&format!("http://{reset}/")), "body");
    assert_eq!(run.kind(&bad_chunks), "body");
    assert!(run.record(&site.url("/lying"))["title"]
        .as_str()
        .unwrap()
        .contains('\u{fffd}'));
    assert_eq!(run.record(&site.url("/binary"))["status"], 200);
    let bomb = run.record(&site.url("/bomb"));
    assert_eq!(
        (bomb["bytes"].as_u64(), bomb["truncated"].as_bool()),
        (Some(1_000_000), Some(true)),
        "a 1 GiB gzip bomb is cut at --max-body"
    );
    let big = run.record(&site.url("/big"));
    assert_eq!(
        (big["bytes"].as_u64(), big["truncated"].as_bool()),
        (Some(1_000_000), Some(true))
    );
    // The 5 MB title was cut by --max-body first (1 MB), then to the 2,048-character title limit.
    assert_eq!(run.record(&fine)["title"].as_str().unwrap().len(), 2048);
    // Shown with --nocapture: what each hostile case returned, and how long it took.
    for r in &run.records {
        eprintln!(
            "hostile: {} -> status {} kind {} bytes {} in {} ms",
            r["url"], r["status"], r["error"]["kind"], r["bytes"], r["elapsed_ms"]
        );
    }
    // Every deadline held: nothing took much longer than --timeout 3.
    for r in &run.records {
        assert!(r["elapsed_ms"].as_u64().unwrap() < 4_500, "{r}");
    }
    let rss = peak_rss_mb(&run.stderr);
    eprintln!("hostile: peak RSS {rss} MB for all cases in one run");
    assert!(rss < 200.0, "peak RSS {rss} MB");

    // Markup bombs, whole (default --max-body): 100,000 nested elements, 100,000 links.
    let input = format!("{}\n{}\n", site.url("/nested"), site.url("/links"));
    let run = crawlfish(&["-r", "0", "--ignore-robots", "--timeout", "10"], &input).await;
    let nested = run.record(&site.url("/nested"));
    assert_eq!(
        (nested["status"].as_u64(), nested["truncated"].as_bool()),
        (Some(200), Some(false))
    );
    let links = run.record(&site.url("/links"));
    assert_eq!(links["links"].as_array().unwrap().len(), 100_000);
    for r in &run.records {
        eprintln!(
            "hostile: {} -> {} links in {} ms",
            r["url"],
            r["links"].as_array().unwrap().len(),
            r["elapsed_ms"]
        );
    }
    let rss = peak_rss_mb(&run.stderr);
    eprintln!("hostile: peak RSS {rss} MB for the markup bombs");
    assert!(rss < 200.0, "peak RSS {rss} MB");
}

/// The summary line's "peak RSS N MB".
pub fn peak_rss_mb(stderr: &str) -> f64 {
    let at = stderr
        .find("peak RSS ")
        .unwrap_or_else(|| panic!("no peak RSS in {stderr}"));
    stderr[at + 9..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// `n` zero bytes, gzipped (1 GiB becomes about 1 MB).
fn gzip_zeros(n: usize) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let block = vec![0u8; 1 << 20];
    for _ in 0..n / block.len() {
        gz.write_all(&block).unwrap();
    }
    gz.finish().unwrap()
}
