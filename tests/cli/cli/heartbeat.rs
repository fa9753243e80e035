//! What a run says about itself while it runs: the `--stats-interval` heartbeat into a log file (text and JSON),
//! the bar's percent and ETA on a terminal, and a summary with no rate when no URL got a response.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncReadExt;

use crate::support::*;

/// Slow pages one at a time, stderr into a file (not a terminal): the heartbeat's lines, as written.
async fn heartbeat_run(name: &str, extra: &[&str]) -> (String, usize) {
    let site = Site::start("127.0.0.1").await;
    let input = slow_pages(&site, 6, Duration::from_millis(150));
    let dir = tempdir(name);
    let (list, log) = (dir.join("list.txt"), dir.join("stderr.log"));
    std::fs::write(&list, &input).unwrap();
    let mut args = vec![
        "-r",
        "0",
        "--ignore-robots",
        "-c",
        "1",
        "--stats-interval",
        "200ms",
    ];
    args.extend_from_slice(extra);
    // Not `output()`: tokio's pipes stderr whatever was set.
    let child = bin()
        .args(&args)
        .arg(&list)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the run ends")
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let records = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(records, 6);
    (std::fs::read_to_string(&log).unwrap(), records)
}

/// `field value`'s number in a text stats line (`6 records`, `failed 0`).
fn count_before(line: &str, word: &str) -> u64 {
    let words: Vec<&str> = line.split(' ').collect();
    let i = words.iter().position(|w| *w == word).unwrap();
    words[i - 1].parse().unwrap()
}

#[tokio::test]
async fn the_heartbeat_counts_up_to_the_runs_records_in_a_log_file() {
    let (stderr, records) = heartbeat_run("heartbeat-text", &[]).await;
    let stats: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("crawlfish: stats "))
        .collect();
    // Six answers of 150 ms one after another take at least 900 ms: four ticks of 200 ms and the last line.
    assert!(stats.len() >= 3, "{stderr}");
    let counts: Vec<u64> = stats.iter().map(|l| count_before(l, "records")).collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{stderr}");
    assert_eq!(counts.last().copied(), Some(records as u64), "{stderr}");
    for line in &stats {
        for part in ["pages/s", "failed 0", "in flight", "queued", "%"] {
            assert!(line.contains(part), "{part} in {line}");
        }
    }
    // The summary comes last, after the heartbeat's last line.
    assert!(
        stderr.lines().last().unwrap().contains("6 records in"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_heartbeat_is_one_json_object_per_line_under_json_logs() {
    let (stderr, records) = heartbeat_run("heartbeat-json", &["--log-format", "json"]).await;
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let stats: Vec<&Value> = lines.iter().filter_map(|v| v.get("stats")).collect();
    assert!(stats.len() >= 3, "{stderr}");
    let counts: Vec<u64> = stats
        .iter()
        .map(|s| s["records"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{stderr}");
    let last = stats.last().unwrap();
    assert_eq!(last["records"], records);
    assert_eq!(last["fetched"], records);
    assert_eq!(last["percent"], 100.0);
    assert_eq!(last["input_bytes_read"], last["input_bytes_total"]);
    assert!(last["pages_per_s_overall"].as_f64().unwrap() > 0.0);
    let summary = &lines.last().unwrap()["summary"];
    assert_eq!(summary["records"], records);
}

#[tokio::test]
async fn quiet_and_zero_silence_the_heartbeat() {
    for extra in [
        &["-q", "--stats-interval", "1ms"][..],
        &["--stats-interval", "0"],
    ] {
        let site = Site::start("127.0.0.1").await;
        site.html("/", "ok");
        let mut args = vec!["-r", "0", "--ignore-robots"];
        args.extend_from_slice(extra);
        let run = crawlfish(&args, &site.url("/")).await;
        assert_eq!(run.code, Some(0));
        assert!(!run.stderr.contains("stats"), "{extra:?}: {}", run.stderr);
    }
}

#[tokio::test]
async fn with_every_url_failing_the_summary_shows_no_rate() {
    let dead = refused_port("127.0.0.1").await;
    let input = format!("http://{dead}/a\nhttp://{dead}/b\n");
    let run = crawlfish(&["-r", "0", "--ignore-robots"], &input).await;
    assert_eq!(run.code, Some(1));
    let summary = run.stderr.lines().last().unwrap();
    assert!(summary.starts_with("crawlfish: 2 records in "), "{summary}");
    assert!(!summary.contains("pages/s"), "{summary}");
    assert!(summary.contains("errors 2 (connect 2)"), "{summary}");
    let run = crawlfish(
        &["-r", "0", "--ignore-robots", "--log-format", "json"],
        &input,
    )
    .await;
    let last: Value = serde_json::from_str(run.stderr.lines().last().unwrap()).unwrap();
    assert_eq!(last["summary"]["fetched"], 0);
    assert!(last["summary"]["pages_per_s"].is_null(), "{}", run.stderr);
}

#[tokio::test]
async fn a_fetched_page_beside_a_failure_gives_a_rate_of_fetched_pages() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "ok");
    let dead = refused_port("127.0.0.1").await;
    let input = format!("{}\nhttp://{dead}/\n", site.url("/"));
    let run = crawlfish(
        &["-r", "0", "--ignore-robots", "--log-format", "json"],
        &input,
    )
    .await;
    let last: Value = serde_json::from_str(run.stderr.lines().last().unwrap()).unwrap();
    assert_eq!(last["summary"]["fetched"], 1);
    let rate = last["summary"]["pages_per_s"].as_f64().unwrap();
    let secs = last["summary"]["elapsed_s"].as_f64().unwrap();
    assert!((rate * secs - 1.0).abs() < 0.01, "{}", run.stderr);
}

/// `script` runs a command on a pseudo-terminal; absent on some systems.
fn script() -> Option<std::path::PathBuf> {
    ["/usr/bin/script", "/bin/script"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
}

/// Reads `out` until `text` shows, or it ends; returns everything read.
async fn read_until(out: &mut tokio::process::ChildStdout, seen: &mut Vec<u8>, text: &str) {
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(seen).contains(text) {
        let n = tokio::time::timeout(Duration::from_secs(30), out.read(&mut buf))
            .await
            .expect("the terminal shows more")
            .unwrap();
        if n == 0 {
            return;
        }
        seen.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test]
async fn the_bar_on_a_terminal_shows_the_queue_percent_and_eta() {
    let Some(script) = script() else {
        eprintln!(
            "skipped: `script` (util-linux) is not installed, so no pseudo-terminal for the bar"
        );
        return;
    };
    let site = Site::start("127.0.0.1").await;
    let gate = Gate::default();
    site.route("/hold", vec![Step::html("held").held(&gate)]);
    // The held first URL stops the only slot: the reader stops ~1,300 lines in, well short of the end.
    let mut input = format!("{}\n", site.url("/hold"));
    for i in 0..2000 {
        input += &format!("{}\n", site.url(&format!("/p{i}")));
    }
    let dir = tempdir("bar-eta");
    let list = dir.join("list.txt");
    std::fs::write(&list, &input).unwrap();
    let command = format!(
        "stty cols 200; {} -r 0 --ignore-robots -c 1 {} > /dev/null",
        env!("CARGO_BIN_EXE_crawlfish"),
        list.display()
    );
    let mut child = tokio::process::Command::new(script)
        .args(["-qc", &command, "/dev/null"])
        .env_clear()
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    read_until(&mut out, &mut seen, "ETA").await;
    gate.open();
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(text.contains("ETA"), "{text}");
    assert!(text.contains("% · ETA "), "{text}");
    assert!(text.contains("queued"), "{text}");
    read_until(&mut out, &mut seen, "2001 records in").await;
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(text.contains("2001 records in"), "{text}");
    // Cleared first: the summary starts its own line, not after the bar's text.
    let summary_at = text.rfind("crawlfish: 2001 records in").unwrap();
    assert!(!text[..summary_at].ends_with("queued"), "{text}");
}
