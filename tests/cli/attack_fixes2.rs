//! Breaks found by the third attack run (proxies, TLS, files), each kept as a test: a proxy password from
//! `CRAWLFISH_PROXY` printed by `--help` and `-v`, `--warc` onto stdout, stdout appended to an input, a refused
//! `--state` run rewriting its lock, `warc_offset` missing instead of null, a URL's password in `-vv` lines.

use std::process::Stdio;
use std::time::Duration;

use crate::attack_fixes::{age, dir_snapshot};
use crate::conventions::run_env;
use crate::core::tempdir;
use crate::support::*;

const SECRET: &str = "pw-9f3k";

#[tokio::test]
async fn a_proxy_password_from_the_environment_is_never_printed() {
    let site = Site::start("127.0.0.151").await;
    site.html("/", "ok");
    // A proxy nobody listens on: the run's record fails, which is fine; only what is printed matters here.
    let dead = refused_port("127.0.0.151").await;
    let proxy = format!("http://user:{SECRET}@{dead}");
    let env = [("CRAWLFISH_PROXY", proxy.as_str())];
    let help = run_env(&["--help"], &env, "").await;
    assert_eq!(help.code, Some(0));
    assert!(help.stdout.contains("CRAWLFISH_PROXY"), "{}", help.stdout);
    assert!(!help.stdout.contains(SECRET), "{}", help.stdout);
    let run = run_env(
        &["-v", "-r", "0", "--ignore-robots", "--timeout", "3"],
        &env,
        &site.url("/"),
    )
    .await;
    assert!(run.stderr.contains("CRAWLFISH_PROXY=***"), "{}", run.stderr);
    assert!(!run.stderr.contains(SECRET), "{}", run.stderr);
    assert!(!run.stdout.contains(SECRET), "{}", run.stdout);
}

/// Runs `crawlfish ARGS` through `bash -c` (pipefail: a pipeline's code is crawlfish's) with stdout redirected as
/// `redirect` says (e.g. `>> list`).
async fn shell(args: &str, redirect: &str) -> (Option<i32>, String) {
    let bin = env!("CARGO_BIN_EXE_crawlfish");
    let out = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(format!("set -o pipefail; {bin} {args} {redirect}"))
        .env_clear()
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .await
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn stdout_is_neither_the_warc_nor_an_input() {
    let site = Site::start("127.0.0.152").await;
    site.html("/", "ok");
    let dir = tempdir("stdout-identity");
    let list = dir.join("list.txt");
    std::fs::write(&list, site.url("/") + "\n").unwrap();
    age(&list);
    let before = std::fs::read(&list).unwrap();
    let l = list.to_str().unwrap();
    // Records appended to the list being read.
    let (code, err) = shell(&format!("-q -r 0 --ignore-robots {l}"), &format!(">> {l}")).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("stdout is also an input"), "{err}");
    assert_eq!(std::fs::read(&list).unwrap(), before);
    // The archive onto stdout: a pipe, and a regular file stdout was redirected to.
    let out = dir.join("out.jsonl");
    for redirect in [
        "| cat > /dev/null".to_owned(),
        format!("> {}", out.display()),
    ] {
        let (code, err) = shell(
            &format!("-q -r 0 --ignore-robots --warc /dev/stdout {l}"),
            &redirect,
        )
        .await;
        assert_eq!(code, Some(2), "{redirect}: {err}");
        assert!(err.contains("is stdout"), "{err}");
    }
    assert_eq!(site.total_hits(), 0);
    // /dev/null for both (a cron line) is not refused.
    let (code, err) = shell(
        &format!("-q -r 0 --ignore-robots --warc /dev/null {l}"),
        "> /dev/null",
    )
    .await;
    assert_eq!(code, Some(0), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_state_run_refused_for_its_input_leaves_the_lock_alone() {
    let site = Site::start("127.0.0.153").await;
    site.html("/", "ok");
    let dir = tempdir("state-lock-refused");
    let state = dir.join("s");
    let s = state.to_str().unwrap();
    let first = crawlfish(
        &["-q", "-r", "0", "--ignore-robots", "--state", s],
        &site.url("/"),
    )
    .await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    // A list named like the state's own current file, inside DIR.
    let current = state.join("current.jsonl");
    std::fs::write(&current, site.url("/") + "\n").unwrap();
    for entry in std::fs::read_dir(&state).unwrap() {
        let p = entry.unwrap().path();
        if !std::fs::symlink_metadata(&p)
            .unwrap()
            .file_type()
            .is_symlink()
        {
            age(&p);
        }
    }
    let before = dir_snapshot(&state);
    let run = crawlfish(
        &[
            "-q",
            "-r",
            "0",
            "--ignore-robots",
            "--state",
            s,
            current.to_str().unwrap(),
        ],
        "",
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("is also an input"), "{}", run.stderr);
    assert_eq!(dir_snapshot(&state), before, "DIR changed, lock included");
    std::fs::remove_dir_all(&dir).unwrap();
}

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

#[tokio::test]
async fn vv_lines_never_show_a_urls_password() {
    let site = Site::start("127.0.0.155").await;
    site.html("/", "ok");
    let url = format!("http://user:{SECRET}@{}/", site.addr);
    let run = crawlfish(&["-vv", "-r", "0", "--log-format", "json"], &url).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("\"request\""))
        .collect();
    assert!(lines.len() >= 2, "robots.txt and the page: {}", run.stderr);
    assert!(!run.stderr.contains(SECRET), "{}", run.stderr);
    assert!(run.stderr.contains("user:***@"), "{}", run.stderr);
}

/// Found by the fourth attack run: a request still running when SIGTERM's grace ends was sent (the server saw
/// it) but got no `-vv` line. Now its line says `error=aborted`.
#[tokio::test]
async fn vv_logs_a_request_aborted_at_shutdown() {
    let site = Site::start("127.0.0.156").await;
    site.route(
        "/slow",
        vec![Step::html("late").delay(Duration::from_secs(60))],
    );
    let child = spawn_with_input(
        &["-vv", "-r", "0", "--ignore-robots", "--log-format", "json"],
        site.url("/slow"),
    );
    wait_until("the request", Duration::from_secs(10), || {
        site.hits("/slow") > 0
    })
    .await;
    kill(&child, "-TERM");
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("the run ends after the grace period")
        .unwrap();
    assert_eq!(out.status.code(), Some(143));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["fields"]["message"] == "request")
        .collect();
    assert_eq!(lines.len(), site.hits("/slow"), "{stderr}");
    assert_eq!(lines[0]["fields"]["error"], "aborted", "{stderr}");
}

/// Found by the fourth attack run: a response that is not HTTP (a garbled head) was `connect` and retried.
#[tokio::test]
async fn a_garbled_response_head_is_other_and_not_retried() {
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let addr = raw_server("127.0.0.157", move |mut s| {
        let counter = counter.clone();
        async move {
            read_request(&mut s).await;
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            send(&mut s, b"X-Before: status\r\nHTTP/1.1 200 OK\r\n\r\nhi").await;
        }
    })
    .await;
    let url = format!("http://{addr}/");
    let run = crawlfish(&args(&["--retries", "2"]), &url).await;
    assert_eq!(run.kind(&url), "other", "{}", run.record(&url));
    assert_eq!(run.record(&url)["attempts"], 1);
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}
