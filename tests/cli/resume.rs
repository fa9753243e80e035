//! `-o FILE --resume`: a run killed with SIGKILL mid-write, then resumed, ends with exactly one record per URL,
//! and no URL already in FILE is requested again.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

use crate::core::tempdir;
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
    kill(&child, "-INT");
    assert_eq!(
        exit_code_within(&mut child, Duration::from_secs(10)).await,
        Some(130)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.ends_with('\n'));
    assert_eq!(parse_lines(&text).len(), 1);
}
