//! `--warc FILE`: read back by an independent reader (`support/warcio.rs`) and by hand at each record's
//! `warc_offset` (`null` when nothing was archived); a run killed with SIGKILL, then resumed, still leaves a whole
//! file; sitemap files are archived too.

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::support::warcio::{check, field, index, record_at, warcio};
use crate::support::*;

fn gzip(text: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

#[tokio::test]
async fn warc_holds_every_exchange_and_reads_back_with_warcio() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/robots.txt",
        vec![Step::new(200, "User-agent: *\nAllow: /\n")],
    );
    site.route(
        "/start",
        vec![Step::new(301, "").header("location", "/hop")],
    );
    site.route(
        "/hop",
        vec![Step::new(302, "").header("location", "/final")],
    );
    site.html("/final", "<title>final</title>");
    site.html("/big", &format!("<title>big</title>{}", "x".repeat(20_000)));
    let page = "<title>zipped</title><p>hello</p>";
    site.route(
        "/gz",
        vec![Step::new(200, gzip(page))
            .header("content-type", "text/html")
            .header("content-encoding", "gzip")],
    );
    site.route("/missing", vec![Step::new(404, "gone")]);
    let dir = tempdir("warc");
    let warc = dir.join("crawl.warc.gz");
    let warc_s = warc.to_str().unwrap();
    let urls = ["/start", "/big", "/gz", "/missing"].map(|p| site.url(p));
    let run = crawlfish(
        &[
            "-q",
            "-r",
            "0",
            "--timeout",
            "5",
            "--max-body",
            "4096",
            "--warc",
            warc_s,
        ],
        &(urls.join("\n") + "\n"),
    )
    .await;
    assert_eq!(run.code, Some(1), "a 404 is a failure: {}", run.stderr);

    let out = check(warc_s);
    eprintln!("warcio check -v:\n{out}");
    let idx = index(warc_s);
    assert_eq!(idx[0]["warc-type"], "warcinfo");
    let responses: Vec<&Value> = idx
        .iter()
        .filter(|r| r["warc-type"] == "response")
        .collect();
    let requests = idx.iter().filter(|r| r["warc-type"] == "request").count();
    // robots.txt, /start, /hop, /final, /big, /gz, /missing: one response per request the server saw.
    assert_eq!(responses.len(), site.total_hits(), "{out}\n{idx:#?}");
    assert_eq!(responses.len(), 7);
    assert_eq!(requests, 7);
    for path in [
        "/robots.txt",
        "/start",
        "/hop",
        "/final",
        "/big",
        "/gz",
        "/missing",
    ] {
        let n = responses
            .iter()
            .filter(|r| r["warc-target-uri"] == site.url(path).as_str())
            .count();
        assert_eq!(n, 1, "{path}: {idx:#?}");
    }
    let big = responses
        .iter()
        .find(|r| r["warc-target-uri"] == site.url("/big").as_str())
        .unwrap();
    assert_eq!(big["warc-truncated"], "length");

    for url in &urls {
        let rec = run.record(url);
        let offset = rec["warc_offset"]
            .as_u64()
            .unwrap_or_else(|| panic!("{rec}"));
        let (head, _) = record_at(warc_s, offset);
        assert_eq!(field(&head, "WARC-Type"), Some("response"), "{head}");
        assert_eq!(
            field(&head, "WARC-Target-URI"),
            rec["final_url"].as_str(),
            "{head}"
        );
        assert!(
            field(&head, "WARC-IP-Address") == Some("127.0.0.1"),
            "{head}"
        );
    }
    // The gzip page is stored decoded, its headers saying so.
    let (_, block) = record_at(
        warc_s,
        run.record(&urls[2])["warc_offset"].as_u64().unwrap(),
    );
    let block = String::from_utf8(block).unwrap();
    assert!(block.starts_with("HTTP/1.1 200 OK\r\n"), "{block}");
    assert!(
        !block.to_ascii_lowercase().contains("content-encoding"),
        "{block}"
    );
    assert!(
        block.contains(&format!("content-length: {}\r\n", page.len())),
        "{block}"
    );
    assert!(block.ends_with(&format!("{page}\r\n\r\n")), "{block}");
    // The request record: reconstructed head, credentials never archived.
    let req = idx
        .iter()
        .find(|r| r["warc-type"] == "request" && r["warc-target-uri"] == urls[2].as_str())
        .unwrap();
    let (_, block) = record_at(warc_s, req["offset"].as_str().unwrap().parse().unwrap());
    let block = String::from_utf8(block).unwrap();
    assert!(
        block.starts_with("GET /gz HTTP/1.1\r\nhost: 127.0.0.1:"),
        "{block}"
    );
    assert!(
        block.contains("accept-encoding: gzip,deflate,br\r\n"),
        "{block}"
    );
    let (head, _) = record_at(
        warc_s,
        run.record(&urls[0])["warc_offset"].as_u64().unwrap(),
    );
    assert_eq!(
        field(&head, "WARC-Target-URI"),
        Some(site.url("/final").as_str())
    );
}

#[tokio::test]
async fn warc_after_kill_9_and_resume_reads_back_whole() {
    let site = Site::start("127.0.0.1").await;
    let n = 40;
    let input = slow_pages(&site, n, Duration::from_millis(40));
    let dir = tempdir("warc-resume");
    let list = dir.join("urls.txt");
    std::fs::write(&list, &input).unwrap();
    let (out, warc) = (dir.join("out.jsonl"), dir.join("crawl.warc.gz"));
    let (list, out_s, warc_s) = (
        list.to_str().unwrap(),
        out.to_str().unwrap(),
        warc.to_str().unwrap(),
    );
    let mut child = bin()
        .args([
            "-q",
            "-r",
            "0",
            "--ignore-robots",
            "-c",
            "2",
            "--per-host",
            "2",
            "-o",
            out_s,
            "--warc",
            warc_s,
            list,
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("10 records on disk", Duration::from_secs(20), || {
        std::fs::read_to_string(&out).map_or(0, |s| s.lines().count()) >= 10
    })
    .await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    // A crash in the middle of a write: the first half of a gzip member at the end.
    let torn = gzip("WARC/1.1\r\nWARC-Type: response\r\n");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&warc)
        .unwrap()
        .write_all(&torn[..torn.len() / 2])
        .unwrap();

    let run = crawlfish(
        &args(&["-o", out_s, "--resume", "--warc", warc_s, list]),
        "",
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    check(warc_s);
    let idx = index(warc_s);
    let infos = idx.iter().filter(|r| r["warc-type"] == "warcinfo").count();
    assert_eq!(infos, 2, "a new warcinfo opens the resumed part");
    let records = parse_lines(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(records.len(), n);
    for rec in records.iter().filter(|r| r["warc_offset"].is_u64()) {
        let (head, _) = record_at(warc_s, rec["warc_offset"].as_u64().unwrap());
        assert_eq!(field(&head, "WARC-Target-URI"), rec["final_url"].as_str());
    }
    // Every page has a response in the file (the killed run's ones included).
    for i in 0..n {
        let url = site.url(&format!("/p{i}"));
        assert!(
            idx.iter()
                .any(|r| r["warc-type"] == "response" && r["warc-target-uri"] == url.as_str()),
            "{url}"
        );
    }
}

#[tokio::test]
async fn sitemap_files_are_archived_and_a_tampered_body_fails_warcio_check() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/sitemap.xml",
        vec![Step::new(
            200,
            format!(
                "<urlset><url><loc>{}</loc></url></urlset>",
                site.url("/only")
            ),
        )],
    );
    site.html("/", "root").html("/only", "only page");
    let dir = tempdir("warc-sitemap");
    let warc = dir.join("crawl.warc.gz");
    let warc_s = warc.to_str().unwrap();
    let run = crawlfish(
        &["-q", "-r", "0", "--sitemap", "--warc", warc_s],
        &site.url("/"),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    check(warc_s);
    let idx = index(warc_s);
    for path in ["/robots.txt", "/sitemap.xml", "/", "/only"] {
        assert!(
            idx.iter()
                .any(|r| r["warc-type"] == "response"
                    && r["warc-target-uri"] == site.url(path).as_str()),
            "{path}: {idx:#?}"
        );
    }
    // The control: one body byte changed (member recompressed in place) and warcio check must fail.
    let offset = run.record(&site.url("/only"))["warc_offset"]
        .as_u64()
        .unwrap() as usize;
    let bytes = std::fs::read(&warc).unwrap();
    let mut decoder = flate2::bufread::GzDecoder::new(&bytes[offset..]);
    let mut record = Vec::new();
    decoder.read_to_end(&mut record).unwrap();
    let rest = decoder.into_inner();
    let at = record.windows(9).position(|w| w == b"only page").unwrap();
    record[at] = b'O';
    let mut tampered = bytes[..offset].to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&record).unwrap();
    tampered.extend(gz.finish().unwrap());
    tampered.extend_from_slice(rest);
    let bad = dir.join("tampered.warc.gz");
    std::fs::write(&bad, tampered).unwrap();
    let (ok, out) = warcio(&["check", bad.to_str().unwrap()]);
    assert!(!ok && out.contains("payload digest failed"), "{out}");
}

// Guards: a record with nothing archived lacked `warc_offset` instead of carrying `null`.
#[tokio::test]
async fn every_record_of_a_warc_run_has_warc_offset_null_when_nothing_was_archived() {
    let site = Site::start("127.0.0.154").await;
    site.html("/", "ok");
    let dead = refused_port("127.0.0.154").await;
    let dir = tempdir("warc-offset-null");
    let warc = dir.join("a.warc.gz");
    let input = format!("{}\nhttp://{dead}/\n", site.url("/"));
    let run = crawlfish(
        &[
            "-q",
            "-r",
            "0",
            "--ignore-robots",
            "--retries",
            "0",
            "--warc",
            warc.to_str().unwrap(),
        ],
        &input,
    )
    .await;
    assert_eq!(run.records.len(), 2);
    assert!(run.record(&site.url("/"))["warc_offset"].is_u64());
    let failed = run.record(&format!("http://{dead}/"));
    assert!(
        failed
            .get("warc_offset")
            .is_some_and(serde_json::Value::is_null),
        "{failed}"
    );
    // Without --warc the field is absent.
    let run = crawlfish(&["-q", "-r", "0", "--ignore-robots"], &site.url("/")).await;
    assert!(run.records[0].get("warc_offset").is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

// Guards issue 22.8: a response whose body broke off was archived (`WARC-Truncated: disconnect`) but its record had
// `warc_offset`, `status` and `final_url` null.
#[tokio::test]
async fn a_body_that_broke_off_is_archived_and_its_record_says_what_was_received() {
    let half = raw_server("127.0.0.155", |mut s| async move {
        read_request(&mut s).await;
        send(
            &mut s,
            b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\netag: \"v1\"\r\ncontent-length: 1000\r\n\r\n<title>half",
        )
        .await;
        drop(s); // FIN with 989 bytes missing
    })
    .await;
    let url = format!("http://{half}/");
    let dir = tempdir("warc-broken-body");
    let warc = dir.join("a.warc.gz");
    let warc_s = warc.to_str().unwrap();
    let run = crawlfish(&args(&["--retries", "0", "--warc", warc_s]), &url).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let r = run.record(&url);
    assert_eq!(r["error"]["kind"], "body", "{r}");
    assert_eq!(
        (r["status"].as_u64(), r["final_url"].as_str()),
        (Some(200), Some(url.as_str()))
    );
    assert_eq!(
        (r["truncated"].as_bool(), r["bytes"].as_u64()),
        (Some(true), Some(0))
    );
    assert_eq!(
        (r["content_type"].as_str(), r["etag"].as_str()),
        (Some("text/html"), Some("\"v1\""))
    );
    assert!(r["digest"].is_null() && r["title"].is_null(), "{r}");
    let (head, _) = record_at(warc_s, r["warc_offset"].as_u64().expect("warc_offset"));
    assert_eq!(field(&head, "WARC-Type"), Some("response"));
    assert_eq!(field(&head, "WARC-Target-URI"), Some(url.as_str()));
    assert_eq!(field(&head, "WARC-Truncated"), Some("disconnect"));
    check(warc_s);
    // Without --warc the record says the same, without warc_offset.
    let run = crawlfish(&args(&["--retries", "0"]), &url).await;
    let r = run.record(&url);
    assert_eq!(
        (r["status"].as_u64(), r["error"]["kind"].as_str()),
        (Some(200), Some("body"))
    );
    assert!(r.get("warc_offset").is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}
