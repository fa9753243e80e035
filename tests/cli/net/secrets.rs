//! Secrets stay secret: `-H` values are not archived in clear (unless `--warc-headers verbatim`), a bad `-H` is
//! not echoed in its usage error, and a listed URL's userinfo is in no record's `url` or `parent`, while
//! `--resume` and `--since` still know the URL again.

use std::io::Read;

use crate::support::*;

/// Every gzip member of a WARC file, decompressed and concatenated.
fn warc_text(path: &std::path::Path) -> String {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text
}

// Guards: only Authorization, Cookie and Proxy-Authorization were redacted; `X-Api-Key` was archived in clear.
#[tokio::test]
async fn header_values_are_not_archived_in_clear() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "ok");
    let dir = tempdir("warc-headers");
    let warc = dir.join("a.warc.gz");
    let warc_s = warc.to_str().unwrap();
    let key = ["-H", "X-Api-Key: k3y-s3cret", "-H", "Cookie: c00kie"];
    let run = crawlfish(
        &args(&[&key[..], &["--warc", warc_s]].concat()),
        &site.url("/"),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(site.header("/", "x-api-key").as_deref(), Some("k3y-s3cret"));
    let text = warc_text(&warc);
    assert!(
        !text.contains("k3y-s3cret") && !text.contains("c00kie"),
        "{text}"
    );
    assert!(
        text.contains("x-api-key: (redacted by crawlfish)"),
        "{text}"
    );

    let flags = [&key[..], &["--warc", warc_s, "--warc-headers", "verbatim"]].concat();
    let run = crawlfish(&args(&flags), &site.url("/")).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let text = warc_text(&warc);
    assert!(text.contains("x-api-key: k3y-s3cret"), "{text}");
    assert!(text.contains("cookie: c00kie"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

// Guards: a malformed `-H` printed the whole argument, the secret included, in its usage error.
#[tokio::test]
async fn a_malformed_header_is_not_echoed() {
    for bad in [
        "X-Api-Key s3cret",
        "X-Api-Key: s3cret\u{1}",
        "Bad Name s3cret: v",
    ] {
        let run = crawlfish(&["-H", "X-Ok: 1", "-H", bad], "http://127.0.0.1:9/").await;
        assert_eq!(run.code, Some(2), "{bad:?}: {}", run.stderr);
        assert!(run.stderr.contains("-H"), "{}", run.stderr);
        assert!(run.stderr.contains("number 2"), "{}", run.stderr);
        assert!(!run.stderr.contains("s3cret"), "{bad:?}: {}", run.stderr);
    }
}

// Guards: a listed URL's password stayed in its record's `url`, in every child's `parent` and in `links`.
#[tokio::test]
async fn userinfo_is_in_no_record_and_resume_and_since_still_match() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "<a href='/child'>c</a>").html("/child", "c");
    let listed = site.url("/").replace("http://", "http://user:pa55w0rd@");
    let dir = tempdir("userinfo");
    let out = dir.join("out.jsonl");
    let out_s = out.to_str().unwrap();
    let flags = ["-r", "0", "--ignore-robots", "--depth", "1", "-o", out_s];
    let run = crawlfish(&flags, &listed).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        !text.contains("pa55w0rd") && !text.contains("user:"),
        "{text}"
    );
    let records = parse_lines(&text);
    assert_eq!(records.len(), 2);
    let root = records.iter().find(|r| r["url"] == site.url("/")).unwrap();
    assert_eq!(root["status"], 200);
    let child = records
        .iter()
        .find(|r| r["url"] == site.url("/child"))
        .unwrap();
    assert_eq!(child["parent"], site.url("/"));
    // base64("user:pa55w0rd"): the credentials still go to the listed origin.
    let basic = "Basic dXNlcjpwYTU1dzByZA==";
    assert_eq!(
        site.header("/child", "authorization").as_deref(),
        Some(basic)
    );

    // The same listed line is the same URL for --resume (nothing fetched again) …
    let hits = site.total_hits();
    let resumed = crawlfish(&[&flags[..], &["--resume"]].concat(), &listed).await;
    assert_eq!(resumed.code, Some(0), "{}", resumed.stderr);
    assert_eq!(site.total_hits(), hits, "--resume fetched again");
    assert_eq!(
        parse_lines(&std::fs::read_to_string(&out).unwrap()).len(),
        2
    );
    // … and for --since (known, not new).
    let since = crawlfish(&["-r", "0", "--ignore-robots", "--since", out_s], &listed).await;
    assert_eq!(since.code, Some(0), "{}", since.stderr);
    assert_eq!(since.record(&site.url("/"))["change"], "unchanged");
    std::fs::remove_dir_all(&dir).unwrap();
}

// Guards: a line without a scheme (`admin:PASSWORD@host`) was read as scheme `admin:` and its invalid_url record
// showed the password in `url`; --resume must still know the masked record as that line's.
#[tokio::test]
async fn a_password_in_a_line_without_a_scheme_is_in_no_record() {
    let lines = "admin:s3cr3tQ2@example.com\nuser:s3cr3tQ1@127.0.0.3:8000/p9\n";
    let dir = tempdir("schemeless-userinfo");
    let out = dir.join("out.jsonl");
    let out_s = out.to_str().unwrap();
    let run = crawlfish(&["-q", "-o", out_s], lines).await;
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(!run.stderr.contains("s3cr3t"), "{}", run.stderr);
    let records = parse_lines(&text);
    assert_eq!(records.len(), 2, "{text}");
    for r in &records {
        assert_eq!(r["error"]["kind"], "invalid_url", "{r}");
        assert!(!r["error"]["message"].as_str().unwrap().contains("s3cr3t"));
    }
    let urls: Vec<&str> = records.iter().map(|r| r["url"].as_str().unwrap()).collect();
    assert!(urls.contains(&"admin:***@example.com"), "{urls:?}");
    assert!(urls.contains(&"user:***@127.0.0.3:8000/p9"), "{urls:?}");
    let resumed = crawlfish(&["-q", "-o", out_s, "--resume"], lines).await;
    assert!(matches!(resumed.code, Some(0 | 1)), "{}", resumed.stderr);
    assert_eq!(
        parse_lines(&std::fs::read_to_string(&out).unwrap()).len(),
        2
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
