//! `-o FILE --resume`: a run killed with SIGKILL mid-write, then resumed, ends with exactly one record per URL, no
//! URL already in FILE is requested again (error records keep long URLs whole for that), and `--resume` only
//! continues crawlfish's own output.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

use super::{long_query, pages, snapshot, RECORD};
use crate::support::*;

fn lines_in(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.matches('\n').count())
}

#[tokio::test]
async fn kill_9_then_resume_gives_one_record_per_url() {
    let site = Site::start("127.0.0.1").await;
    let n = 60;
    let mut input = slow_pages(&site, n, Duration::from_millis(40));
    input += "not a url\n";
    let dir = tempdir("resume");
    let list = dir.join("urls.txt");
    std::fs::write(&list, &input).unwrap();
    let out = dir.join("out.jsonl");
    let (list, out_s) = (list.to_str().unwrap(), out.to_str().unwrap());

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
            list,
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Wait (bounded) until some records are on disk, then kill without warning.
    wait_until("10 records on disk", Duration::from_secs(20), || {
        lines_in(&out) >= 10
    })
    .await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    // Simulate a crash in the middle of a write: a torn last line.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&out)
        .unwrap()
        .write_all(b"{\"url\":\"http://torn")
        .unwrap();
    let before: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(before.len() >= 10 && before.len() < n, "{}", before.len());
    let hits_before: HashMap<String, usize> = (0..n)
        .map(|i| (format!("/p{i}"), site.hits(&format!("/p{i}"))))
        .collect();

    let run = crawlfish(&args(&["-o", out_s, "--resume", list]), "").await;
    assert!(run.stdout.is_empty(), "records go to the file");
    let after = parse_lines(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(
        after.len(),
        n + 1,
        "exactly one record per URL and per invalid line"
    );
    let mut urls: Vec<&str> = after.iter().map(|r| r["url"].as_str().unwrap()).collect();
    urls.sort_unstable();
    urls.dedup();
    assert_eq!(urls.len(), n + 1);
    for r in &before {
        if let Some(path) = r["url"]
            .as_str()
            .and_then(|u| u.strip_prefix(&site.url("")))
        {
            assert_eq!(
                site.hits(path),
                hits_before[path],
                "{path} was fetched again"
            );
        }
    }
    // Resuming a finished file changes nothing and requests nothing.
    let total = site.total_hits();
    let again = crawlfish(&args(&["-o", out_s, "--resume", list]), "").await;
    assert_eq!(
        again.code,
        Some(0),
        "the exit code covers the records this run wrote: none"
    );
    assert_eq!(site.total_hits(), total);
    assert_eq!(lines_in(&out), n + 1);
}

#[tokio::test]
async fn output_file_holds_complete_lines_after_sigint() {
    let site = Site::start("127.0.0.1").await;
    site.html("/a", "a");
    site.route(
        "/hang",
        vec![Step::html("x").delay(Duration::from_secs(60))],
    );
    let dir = tempdir("sigint-file");
    let out = dir.join("out.jsonl");
    let input = format!("{}\n{}\n", site.url("/a"), site.url("/hang"));
    let out_s = out.to_str().unwrap();
    let mut child = spawn_with_input(&["-q", "-r", "0", "--ignore-robots", "-o", out_s], input);
    wait_until("a record on disk", Duration::from_secs(20), || {
        lines_in(&out) >= 1
    })
    .await;
    kill(&child, "-INT").await;
    assert_eq!(
        exit_code_within(&mut child, Duration::from_secs(10)).await,
        Some(130)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.ends_with('\n'));
    assert_eq!(parse_lines(&text).len(), 1);
}

#[tokio::test]
async fn resume_refuses_what_crawlfish_did_not_write() {
    let (site, list) = pages(2).await;
    let dir = tempdir("resume-foreign");
    let cases: [(&str, &[u8]); 8] = [
        ("note.txt", b"remember the milk"),
        // Found by the attack run: one line of another tool's JSON, no newline, starting like a record.
        (
            "api.json",
            b"{\"url\":\"https://api.example/v1\",\"token\":\"KEEP-ME\",\"items\":[1,2,3]}",
        ),
        // A note appended by hand to real output, without a newline.
        (
            "noted.jsonl",
            b"{\"url\":\"http://a.test/1\",\"final_url\":null,\"status\":null,\"depth\":0,\"links\":[],\"attempts\":0,\"error\":null}\nmy notes: do not delete",
        ),
        (
            "lines.txt",
            b"first line\nsecond line\nno newline at the end",
        ),
        ("other.jsonl", b"{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"na"),
        (
            "almost.jsonl",
            b"{\"url\":\"http://a.test/\",\"score\":3}\n{\"url\":\"http://b",
        ),
        (
            "binary.bin",
            b"\x7fELF\x02\x01\x01\0\0\0\n\0\0\x03\0>\0\x01\0\0\0",
        ),
        ("blank.jsonl", b"\n\n{\"url\":\"http"),
    ];
    for (name, bytes) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let before = snapshot(&path);
        let run = crawlfish(&args(&["-o", path.to_str().unwrap(), "--resume"]), &list).await;
        assert_eq!(run.code, Some(2), "{name}: {}", run.stderr);
        assert!(run.stderr.contains(name), "{name}: {}", run.stderr);
        assert_eq!(snapshot(&path), before, "{name} was changed");
    }
    assert_eq!(
        site.total_hits(),
        0,
        "nothing is fetched before the file is proven ours"
    );
}

#[tokio::test]
async fn resume_refuses_a_huge_line_without_reading_it_all() {
    // 300 MB of zeros after a record's first bytes, no newline: over the line cap, so not ours.
    let dir = tempdir("resume-huge");
    let path = dir.join("big.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"{\"url\":\"http://a.test/").unwrap();
    f.set_len(300_000_000).unwrap();
    drop(f);
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let run = crawlfish(&args(&["-o", path.to_str().unwrap(), "--resume"]), "").await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("big.jsonl"), "{}", run.stderr);
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.len(), 300_000_000);
    assert_eq!(meta.modified().unwrap(), mtime);
}

#[tokio::test]
async fn resume_refuses_devices_and_fifos() {
    let dir = tempdir("resume-special");
    let fifo = dir.join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for path in ["/dev/zero", "/dev/null", fifo.to_str().unwrap()] {
        let run = crawlfish(&args(&["-o", path, "--resume"]), "").await;
        assert_eq!(run.code, Some(2), "{path}: {}", run.stderr);
        assert!(run.stderr.contains(path), "{}", run.stderr);
        assert!(run.stderr.contains("not a regular file"), "{}", run.stderr);
    }
    // Without --resume a device is a fine place for records.
    let (_site, list) = pages(1).await;
    assert_eq!(
        crawlfish(&args(&["-o", "/dev/null"]), &list).await.code,
        Some(0)
    );
}

#[tokio::test]
async fn resume_starts_fresh_on_a_missing_or_empty_file_and_cuts_only_its_own_torn_line() {
    let (_site, list) = pages(2).await;
    let dir = tempdir("resume-own");
    let missing = dir.join("new.jsonl");
    let run = crawlfish(&args(&["-o", missing.to_str().unwrap(), "--resume"]), &list).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        parse_lines(&std::fs::read_to_string(&missing).unwrap()).len(),
        2
    );

    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let run = crawlfish(&args(&["-o", empty.to_str().unwrap(), "--resume"]), &list).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        parse_lines(&std::fs::read_to_string(&empty).unwrap()).len(),
        2
    );

    // A record torn in the middle of the very first write is still ours.
    let torn = dir.join("torn.jsonl");
    std::fs::write(&torn, &RECORD[..40]).unwrap();
    let run = crawlfish(&args(&["-o", torn.to_str().unwrap(), "--resume"]), &list).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        parse_lines(&std::fs::read_to_string(&torn).unwrap()).len(),
        2
    );
}

// Guards: error records cut a long URL at 2,048 characters, so `--resume` fetched the URL again.
#[tokio::test]
async fn long_urls_of_error_records_are_kept_whole_so_resume_skips_them() {
    let site = Site::start("127.0.0.3").await;
    site.route(
        "/robots.txt",
        vec![Step::new(200, "User-agent: *\nDisallow: /private\n")],
    );
    let refused = refused_port("127.0.0.3").await;
    let urls = [
        format!("http://{refused}/{}", long_query()),
        format!("http://long.invalid/{}", long_query()),
        site.url(&format!("/private{}", long_query())),
    ];
    let dir = tempdir("long-url-resume");
    let list = dir.join("urls.txt");
    std::fs::write(&list, urls.join("\n") + "\n").unwrap();
    let out = dir.join("out.jsonl");
    let (list, out_s) = (list.to_str().unwrap(), out.to_str().unwrap());
    for resume in [false, true, true] {
        let mut a = vec![
            "-q",
            "-r",
            "0",
            "--retries",
            "0",
            "--timeout",
            "5",
            "-o",
            out_s,
        ];
        if resume {
            a.push("--resume");
        }
        a.push(list);
        let run = crawlfish(&a, "").await;
        // The resumed runs have nothing left to do (a URL fetched again would make them exit 1).
        let want = if resume { 0 } else { 1 };
        assert_eq!(run.code, Some(want), "resume: {resume}: {}", run.stderr);
    }
    let records = parse_lines(&std::fs::read_to_string(&out).unwrap());
    let kinds: Vec<(usize, &str)> = records
        .iter()
        .map(|r| {
            (
                r["url"].as_str().unwrap().len(),
                r["error"]["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        records.len(),
        3,
        "one record per URL after two --resumes: {kinds:?}"
    );
    for (url, kind) in urls.iter().zip(["connect", "dns", "robots_disallowed"]) {
        let r = records.iter().find(|r| r["url"] == url.as_str());
        let r = r.unwrap_or_else(|| panic!("no record with the whole URL ({kind}): {kinds:?}"));
        assert_eq!(r["error"]["kind"], kind);
    }
    assert_eq!(site.total_hits(), 1, "only robots.txt, once");
    std::fs::remove_dir_all(&dir).unwrap();
}
