//! WARC to the letter (issue 20): a block digest on every request and response record; a 304 to a conditional
//! request as a `revisit` (server-not-modified) naming the earlier capture; with `--warc-dedup`, an unchanged
//! 200 as a `revisit` (identical-payload-digest).

use serde_json::Value;

use crate::support::warcio::{check, warcio};
use crate::support::*;

/// `warcio index` with the fields these tests read.
fn records(path: &str) -> Vec<Value> {
    let (ok, out) = warcio(&[
        "index",
        "-f",
        "warc-type,warc-target-uri,warc-record-id,warc-date,warc-block-digest,warc-payload-digest,warc-profile,\
         warc-refers-to,warc-refers-to-target-uri,warc-refers-to-date,http:status",
        path,
    ]);
    assert!(ok, "warcio index failed: {out}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn every_request_and_response_record_has_a_block_digest() {
    let site = Site::start("127.0.0.1").await;
    site.html("/a", "<title>a</title>").html("/b", "");
    site.route("/c", vec![Step::new(302, "").header("location", "/a")]);
    let dir = tempdir("warc-block");
    let warc = dir.join("x.warc.gz");
    let warc_s = warc.to_str().unwrap();
    let input = format!(
        "{}\n{}\n{}\n",
        site.url("/a"),
        site.url("/b"),
        site.url("/c")
    );
    let run = crawlfish(&["-q", "-r", "0", "--warc", warc_s], &input).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let out = check(warc_s);
    let recs = records(warc_s);
    let exchanges: Vec<&Value> = recs
        .iter()
        .filter(|r| matches!(r["warc-type"].as_str(), Some("request" | "response")))
        .collect();
    assert!(
        exchanges.len() >= 8,
        "robots.txt and 4 pages, two records each: {recs:?}"
    );
    for r in &exchanges {
        let d = r["warc-block-digest"]
            .as_str()
            .unwrap_or_else(|| panic!("no block digest: {r}"));
        assert!(d.starts_with("sha1:") && d.len() == 37, "{r}");
    }
    // warcio check verifies every digest present: each record's block digest passes.
    assert!(!out.contains("fail"), "{out}");
}

fn latest_archive(state: &std::path::Path) -> (String, Vec<Value>) {
    let records = state.join(std::fs::read_link(state.join("latest.jsonl")).unwrap());
    let name = records
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .strip_suffix(".jsonl")
        .unwrap();
    let archive = state.join(format!("{name}.warc.gz"));
    let text = std::fs::read_to_string(&records).unwrap();
    (archive.to_str().unwrap().to_owned(), parse_lines(&text))
}

/// The record of `url`'s final answer (not robots.txt, not its request).
fn capture<'a>(recs: &'a [Value], url: &str) -> &'a Value {
    recs.iter()
        .find(|r| {
            r["warc-target-uri"] == url
                && matches!(r["warc-type"].as_str(), Some("response" | "revisit"))
        })
        .unwrap_or_else(|| panic!("no capture of {url}: {recs:?}"))
}

/// Two `--state --warc DIR` runs: the second's 304 is a server-not-modified revisit naming the first run's
/// response (id, date, URI), and with `--warc-dedup` its unchanged 200 is an identical-payload-digest revisit.
#[tokio::test]
async fn a_304_and_an_unchanged_200_are_revisits_naming_the_earlier_capture() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/etag",
        vec![
            Step::html("<title>v1</title>").header("etag", "\"v1\""),
            Step::new(304, "").header("etag", "\"v1\""),
        ],
    );
    site.html("/same", "<title>same body every time</title>");
    let state = tempdir("warc-revisit").join("state");
    let state_s = state.to_str().unwrap();
    let input = format!("{}\n{}\n", site.url("/etag"), site.url("/same"));
    let flags = ["-q", "-r", "0", "--state", state_s, "--warc", state_s];
    let first = crawlfish(&flags, &input).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let (first_warc, _) = latest_archive(&state);
    let before = records(&first_warc);
    let (etag1, same1) = (
        capture(&before, &site.url("/etag")),
        capture(&before, &site.url("/same")),
    );
    assert_eq!(etag1["warc-type"], "response");

    let second = crawlfish(&[&flags[..], &["--warc-dedup"]].concat(), &input).await;
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    let (second_warc, lines) = latest_archive(&state);
    let etag_line = lines
        .iter()
        .find(|l| l["url"] == site.url("/etag").as_str())
        .unwrap();
    assert_eq!(etag_line["status"], 304);
    assert_ne!(first_warc, second_warc);
    let out = check(&second_warc);
    assert!(!out.contains("fail"), "{out}");
    let after = records(&second_warc);
    let etag2 = capture(&after, &site.url("/etag"));
    assert_eq!(etag2["warc-type"], "revisit", "{etag2}");
    assert_eq!(
        etag2["warc-profile"],
        "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
    );
    assert_eq!(etag2["warc-refers-to"], etag1["warc-record-id"]);
    assert_eq!(etag2["warc-refers-to-date"], etag1["warc-date"]);
    assert_eq!(
        etag2["warc-refers-to-target-uri"],
        site.url("/etag").as_str()
    );
    // Empty (no HTTP head), so that a replay resolves to the earlier capture's 200 and body instead of an empty
    // 304 (what pywb makes of a revisit holding a 3xx head).
    assert!(etag2.get("http:status").is_none(), "{etag2}");
    assert_eq!(etag2["warc-payload-digest"], etag1["warc-payload-digest"]);
    assert!(etag2["warc-block-digest"].is_string());
    let same2 = capture(&after, &site.url("/same"));
    assert_eq!(same2["warc-type"], "revisit", "{same2}");
    assert_eq!(
        same2["warc-profile"],
        "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
    );
    assert_eq!(same2["warc-refers-to"], same1["warc-record-id"]);
    assert_eq!(same2["warc-refers-to-date"], same1["warc-date"]);
    assert_eq!(same2["warc-payload-digest"], same1["warc-payload-digest"]);

    // A third run: revisits name the first capture (the one with the payload), and without --warc-dedup an
    // unchanged 200 is archived whole.
    let third = crawlfish(&flags, &input).await;
    assert_eq!(third.code, Some(0), "{}", third.stderr);
    let (third_warc, _) = latest_archive(&state);
    let last = records(&third_warc);
    assert_eq!(
        capture(&last, &site.url("/etag"))["warc-refers-to"],
        etag1["warc-record-id"]
    );
    assert_eq!(capture(&last, &site.url("/same"))["warc-type"], "response");
}

/// What a user of the archive sees (pywb 2.x): after an unchanged second `--state --warc` run, the page replays
/// with the first run's body at both dates, for a 304 (a server-not-modified revisit: empty, so pywb resolves it
/// to the capture it names; one holding the 304's head replays as an empty 304) and for an unchanged 200 under
/// `--warc-dedup` (an identical-payload-digest revisit).
#[tokio::test]
async fn an_unchanged_page_replays_with_its_first_body_at_both_dates() {
    let site = Site::start("127.0.0.1").await;
    site.route(
        "/etag",
        vec![
            Step::html("<title>v1</title>").header("etag", "\"v1\""),
            Step::new(304, "").header("etag", "\"v1\""),
        ],
    );
    site.html("/same", "<title>same body every time</title>");
    let root = tempdir("warc-replay");
    let state = root.join("state");
    let state_s = state.to_str().unwrap();
    let input = format!("{}\n{}\n", site.url("/etag"), site.url("/same"));
    let flags = [
        "-q",
        "-r",
        "0",
        "--state",
        state_s,
        "--warc",
        state_s,
        "--warc-dedup",
    ];
    let first = crawlfish(&flags, &input).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let (first_warc, _) = latest_archive(&state);
    // pywb's dates have whole seconds: the second run starts in a later second than the first ended in.
    let ended = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        <= ended
    {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = crawlfish(&flags, &input).await;
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    let (second_warc, lines) = latest_archive(&state);
    assert_eq!(
        lines
            .iter()
            .find(|l| l["url"] == site.url("/etag").as_str())
            .unwrap()["status"],
        304
    );
    let stamp = |warc: &str, url: &str| -> String {
        let date = capture(&records(warc), url)["warc-date"]
            .as_str()
            .unwrap()
            .to_owned();
        date.chars().filter(char::is_ascii_digit).take(14).collect()
    };
    let replay = crate::support::pywb::Replay::start(
        &root.join("pywb"),
        &[first_warc.clone().into(), second_warc.clone().into()],
    );
    for (path, body) in [
        ("/etag", "<title>v1</title>"),
        ("/same", "<title>same body every time</title>"),
    ] {
        let url = site.url(path);
        let (t1, t2) = (
            stamp(&first_warc, url.as_str()),
            stamp(&second_warc, url.as_str()),
        );
        assert!(t1 < t2, "{t1} {t2}");
        for t in [&t1, &t2] {
            let (status, got) = replay.get(t, url.as_str());
            assert_eq!(
                (status, String::from_utf8_lossy(&got).as_ref()),
                (200, body),
                "{path} at {t}"
            );
        }
    }
    drop(replay);
    std::fs::remove_dir_all(&root).unwrap();
}
