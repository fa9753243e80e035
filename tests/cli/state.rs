//! `--since FILE` and `--state DIR`: conditional requests and `change` over three runs, crawl mode through 304s,
//! a run killed with SIGKILL and run again, the lock (a second run exits 75 and changes nothing), `--keep`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::core::tempdir;
use crate::support::*;

const LAST_MODIFIED: &str = "Wed, 21 Oct 2015 07:28:00 GMT";

fn records_in(path: &Path) -> Vec<Value> {
    parse_lines(&std::fs::read_to_string(path).unwrap())
}

fn by_url(records: &[Value]) -> BTreeMap<String, Value> {
    records
        .iter()
        .map(|r| (r["url"].as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

/// Finished runs in DIR (timestamp names), oldest first.
fn finished(dir: &Path) -> Vec<PathBuf> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.starts_with("20") && name.ends_with("Z.jsonl")
        })
        .collect();
    runs.sort();
    runs
}

fn latest(dir: &Path) -> PathBuf {
    dir.join(std::fs::read_link(dir.join("latest.jsonl")).unwrap())
}

/// Every file in DIR with its bytes (symlinks as their target).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = match std::fs::read_link(&p) {
                Ok(target) => target.to_string_lossy().as_bytes().to_vec(),
                Err(_) => std::fs::read(&p).unwrap(),
            };
            (name, bytes)
        })
        .collect()
}

#[tokio::test]
async fn three_runs_send_validators_and_say_what_changed() {
    let site = Site::start("127.0.0.1").await;
    let page = |body: &str, etag: &str| {
        Step::html(body)
            .header("etag", etag)
            .header("last-modified", LAST_MODIFIED)
    };
    let not_modified = |etag: &str| Step::new(304, "").header("etag", etag);
    site.route(
        "/same",
        vec![
            page("<title>Same</title><a href=/x>x</a>", "\"s1\""),
            not_modified("\"s1\""),
        ],
    )
    .route(
        "/edited",
        vec![
            page("<title>v1</title>", "\"e1\""),
            page("<title>v2</title>", "\"e2\""),
        ],
    )
    .route("/plain", vec![Step::html("<title>no validators</title>")])
    .route(
        "/gone",
        vec![
            page("<title>here</title>", "\"g1\""),
            Step::new(404, "gone"),
        ],
    );
    let dir = tempdir("since3");
    let (r1, r2, r3) = (
        dir.join("r1.jsonl"),
        dir.join("r2.jsonl"),
        dir.join("r3.jsonl"),
    );
    let listed = ["/same", "/edited", "/plain", "/gone"].map(|p| site.url(p));
    let input = listed.join("\n");

    let run1 = crawlfish(&args(&["-o", r1.to_str().unwrap()]), &input).await;
    assert_eq!(run1.code, Some(0), "{}", run1.stderr);
    let one = by_url(&records_in(&r1));
    assert!(
        one.values().all(|r| r.get("change").is_none()),
        "no --since, no change field"
    );
    assert_eq!(one[&site.url("/same")]["etag"], "\"s1\"");
    assert_eq!(one[&site.url("/same")]["last_modified"], LAST_MODIFIED);
    assert!(one[&site.url("/same")]["digest"]
        .as_str()
        .unwrap()
        .starts_with("xxh3:"));
    assert_eq!(one[&site.url("/plain")]["etag"], Value::Null);
    assert_eq!(site.header("/same", "if-none-match"), None);

    let input2 = format!("{input}\n{}", site.url("/added"));
    site.html("/added", "<title>new</title>");
    let since1 = ["--since", r1.to_str().unwrap(), "-o", r2.to_str().unwrap()];
    let run2 = crawlfish(&args(&since1), &input2).await;
    assert_eq!(
        run2.code,
        Some(1),
        "the 404 fails, a 304 does not: {}",
        run2.stderr
    );
    assert_eq!(
        site.header("/same", "if-none-match").as_deref(),
        Some("\"s1\"")
    );
    assert_eq!(
        site.header("/same", "if-modified-since").as_deref(),
        Some(LAST_MODIFIED)
    );
    assert_eq!(
        site.header("/edited", "if-none-match").as_deref(),
        Some("\"e1\"")
    );
    assert_eq!(
        site.header("/plain", "if-none-match"),
        None,
        "nothing to validate"
    );
    assert_eq!(site.header("/plain", "if-modified-since"), None);
    let two = by_url(&records_in(&r2));
    assert_eq!(two.len(), 5);
    let same = &two[&site.url("/same")];
    assert_eq!(same["status"], 304);
    assert_eq!(same["change"], "unchanged");
    assert_eq!(same["title"], "Same", "carried over from r1");
    assert_eq!(same["links"], serde_json::json!([site.url("/x")]));
    assert_eq!(same["digest"], one[&site.url("/same")]["digest"]);
    assert_eq!(same["last_modified"], LAST_MODIFIED);
    let edited = &two[&site.url("/edited")];
    assert_eq!(edited["change"], "changed");
    assert_eq!(edited["title"], "v2");
    assert_ne!(edited["digest"], one[&site.url("/edited")]["digest"]);
    assert_eq!(
        two[&site.url("/plain")]["change"],
        "unchanged",
        "same status, same digest"
    );
    assert_eq!(two[&site.url("/gone")]["change"], "changed");
    assert_eq!(two[&site.url("/added")]["change"], "new");

    let since2 = ["--since", r2.to_str().unwrap(), "-o", r3.to_str().unwrap()];
    let run3 = crawlfish(&args(&since2), &input2).await;
    assert_eq!(run3.code, Some(1), "{}", run3.stderr);
    assert_eq!(
        site.header("/same", "if-none-match").as_deref(),
        Some("\"s1\""),
        "a 304 record keeps the validators for the next run"
    );
    assert_eq!(
        site.header("/edited", "if-none-match").as_deref(),
        Some("\"e2\"")
    );
    assert_eq!(
        site.header("/gone", "if-none-match"),
        None,
        "a 404's validators are not sent"
    );
    let three = by_url(&records_in(&r3));
    assert_eq!(three[&site.url("/same")]["title"], "Same", "carried twice");
    assert_eq!(three[&site.url("/same")]["change"], "unchanged");
    assert_eq!(three[&site.url("/edited")]["change"], "unchanged");
    assert_eq!(
        three[&site.url("/gone")]["change"],
        "unchanged",
        "404 then, 404 now"
    );
    assert_eq!(three[&site.url("/added")]["change"], "unchanged");
}

#[tokio::test]
async fn since_refuses_foreign_files_and_its_own_output() {
    let dir = tempdir("since-foreign");
    let theirs = dir.join("theirs.jsonl");
    std::fs::write(&theirs, "{\"id\":1}\n").unwrap();
    let run = crawlfish(
        &args(&["--since", theirs.to_str().unwrap()]),
        "http://a.invalid/",
    )
    .await;
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("not crawlfish's output"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    let ours = dir.join("ours.jsonl");
    let first = crawlfish(&args(&["-o", ours.to_str().unwrap()]), "http://a.invalid/").await;
    assert_eq!(first.code, Some(1));
    let before = std::fs::read(&ours).unwrap();
    let o = ours.to_str().unwrap();
    let same = crawlfish(&args(&["--since", o, "-o", o]), "http://a.invalid/").await;
    assert_eq!(same.code, Some(2), "{}", same.stderr);
    assert_eq!(std::fs::read(&ours).unwrap(), before);
}

#[tokio::test]
async fn crawl_mode_goes_on_through_304s() {
    let site = Site::start("127.0.0.1").await;
    let tree = [
        ("/", "<a href=/a>a</a><a href=/b>b</a>"),
        ("/a", "<a href=/a/deep>deep</a><a href=/b>b</a>"),
        ("/b", "<title>b</title>"),
        ("/a/deep", "<title>deep</title>"),
    ];
    for (path, body) in tree {
        let etag = format!("\"{}\"", path.len());
        site.route(
            path,
            vec![
                Step::html(body).header("etag", &etag),
                Step::new(304, "").header("etag", &etag),
            ],
        );
    }
    let dir = tempdir("since-crawl");
    let first = dir.join("first.jsonl");
    let crawl = ["--depth", "2", "-o", first.to_str().unwrap()];
    let run1 = crawlfish(&args(&crawl), &site.url("/")).await;
    assert_eq!(run1.code, Some(0), "{}", run1.stderr);
    assert_eq!(records_in(&first).len(), 4);

    let run2 = crawlfish(
        &args(&["--depth", "2", "--since", first.to_str().unwrap()]),
        &site.url("/"),
    )
    .await;
    assert_eq!(run2.code, Some(0), "{}", run2.stderr);
    let got = run2.by_url();
    assert_eq!(
        run2.records.len(),
        4,
        "one record per URL: {:#?}",
        run2.records
    );
    for (path, _) in tree {
        let r = &got[&site.url(path)];
        assert_eq!(r["status"], 304, "{path}");
        assert_eq!(r["change"], "unchanged", "{path}");
        assert_eq!(site.hits(path), 2, "{path} fetched once per run");
    }
    assert_eq!(
        got[&site.url("/a/deep")]["depth"],
        2,
        "reached through a 304's carried links"
    );
    assert_eq!(got[&site.url("/a/deep")]["title"], "deep");
}

fn lines_in(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.matches('\n').count())
}

#[tokio::test]
async fn state_survives_kill_9_and_moves_latest_only_when_done() {
    let site = Site::start("127.0.0.1").await;
    let n = 40;
    let mut input = String::new();
    for i in 0..n {
        let path = format!("/p{i}");
        let fast = Step::html(&format!("<title>{i}</title>")).header("etag", &format!("\"{i}\""));
        // Runs 1 and 2 are fast; run 3 (killed) and its rerun are slow enough to be caught mid-run.
        site.route(
            &path,
            vec![
                fast.clone(),
                fast.clone(),
                fast.delay(Duration::from_millis(40)),
            ],
        );
        input += &format!("{}\n", site.url(&path));
    }
    let dir = tempdir("state-kill");
    let list = dir.join("urls.txt");
    std::fs::write(&list, &input).unwrap();
    let state = dir.join("state");
    let (list_s, state_s) = (list.to_str().unwrap(), state.to_str().unwrap());
    let flags = [
        "--state",
        state_s,
        "--keep",
        "5",
        "-c",
        "2",
        "--per-host",
        "2",
        list_s,
    ];

    for _ in 0..2 {
        let run = crawlfish(&args(&flags), "").await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert!(run.stdout.is_empty(), "records go to DIR");
    }
    assert_eq!(finished(&state).len(), 2);
    let second = latest(&state);
    assert_eq!(second, finished(&state)[1]);
    assert!(by_url(&records_in(&second))
        .values()
        .all(|r| r["change"] == "unchanged"));
    assert!(!state.join("current.jsonl").exists());

    let mut child = bin()
        .args(args(&flags))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let current = state.join("current.jsonl");
    wait_until(
        "5 records in current.jsonl",
        Duration::from_secs(20),
        || lines_in(&current) >= 5,
    )
    .await;
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    let done_before = lines_in(&current);
    assert!(done_before < n, "killed mid-run: {done_before}");
    assert_eq!(
        latest(&state),
        second,
        "latest moves only when a run is done"
    );
    assert_eq!(finished(&state).len(), 2);
    let hits_before: usize = (0..n).map(|i| site.hits(&format!("/p{i}"))).sum();

    let rerun = crawlfish(&args(&flags), "").await;
    assert_eq!(rerun.code, Some(0), "{}", rerun.stderr);
    assert!(!current.exists(), "current.jsonl became a finished run");
    let runs = finished(&state);
    assert_eq!(runs.len(), 3);
    let third = latest(&state);
    assert_eq!(third, runs[2]);
    let records = records_in(&third);
    let urls = by_url(&records);
    assert_eq!(records.len(), n, "exactly one record per URL");
    assert_eq!(urls.len(), n);
    assert!(
        urls.values().all(|r| r["change"] == "unchanged"),
        "compared with run 2"
    );
    let hits_after: usize = (0..n).map(|i| site.hits(&format!("/p{i}"))).sum();
    assert!(
        hits_after - hits_before <= n - done_before,
        "URLs already in current.jsonl are not fetched again"
    );
}

#[tokio::test]
async fn a_second_run_on_a_locked_state_exits_75_and_changes_nothing() {
    let site = Site::start("127.0.0.1").await;
    site.html("/ok", "<title>ok</title>").route(
        "/hang",
        vec![Step::html("late").delay(Duration::from_secs(60))],
    );
    let state = tempdir("state-lock").join("state");
    let state_s = state.to_str().unwrap();
    let first = crawlfish(&args(&["--state", state_s]), &site.url("/ok")).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);

    let mut holder = spawn_with_input(&args(&["--state", state_s]), site.url("/hang"));
    wait_until("the first run's request", Duration::from_secs(20), || {
        site.hits("/hang") == 1
    })
    .await;
    let before = snapshot(&state);
    let second = crawlfish(&args(&["--state", state_s]), &site.url("/ok")).await;
    assert_eq!(second.code, Some(75), "{}", second.stderr);
    assert!(
        second.stderr.contains("another crawlfish run"),
        "{}",
        second.stderr
    );
    assert!(
        second.elapsed < Duration::from_secs(10),
        "at once: {:?}",
        second.elapsed
    );
    assert_eq!(site.hits("/ok"), 1, "the second run fetched nothing");
    assert_eq!(snapshot(&state), before, "DIR is byte for byte as it was");
    holder.start_kill().unwrap();
    holder.wait().await.unwrap();
}

#[tokio::test]
async fn keep_2_keeps_the_two_newest_runs() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "<title>home</title>");
    let state = tempdir("state-keep").join("state");
    let state_s = state.to_str().unwrap();
    let mut made = Vec::new();
    for _ in 0..4 {
        let run = crawlfish(&args(&["--state", state_s, "--keep", "2"]), &site.url("/")).await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        made.push(latest(&state));
    }
    assert_eq!(finished(&state), made[2..].to_vec());
    let first = records_in(&made[3]);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["change"], "unchanged");
}

/// Found by the attack run: a run file "from the future" (a clock set back, or a copied file) made `--keep` delete
/// the run that had just finished; a file named like a run that is not one was deleted; a symlinked lock file was
/// written through.
#[tokio::test]
async fn state_dir_surprises_do_not_cost_runs_or_files() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "<title>home</title>");
    let state = tempdir("state-surprises").join("state");
    let state_s = state.to_str().unwrap();
    let run = crawlfish(&args(&["--state", state_s, "--keep", "1"]), &site.url("/")).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let first = latest(&state);
    let future = state.join("20991231T000000.000Z.jsonl");
    std::fs::copy(&first, &future).unwrap();
    let notes = state.join("20000101T000000.000Z.jsonl");
    std::fs::write(&notes, "my important notes\n").unwrap();
    let run = crawlfish(&args(&["--state", state_s, "--keep", "1"]), &site.url("/")).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let newest = latest(&state);
    assert!(
        newest.exists(),
        "latest points at the run that just finished"
    );
    assert!(
        newest > future,
        "{newest:?} sorts after the file from the future"
    );
    assert_eq!(std::fs::read(&notes).unwrap(), b"my important notes\n");
    // A lock that is a symlink is refused, and what it points to is untouched.
    let outside = tempdir("state-surprises-outside").join("precious.txt");
    std::fs::write(&outside, "precious").unwrap();
    let linked = tempdir("state-surprises-linked");
    std::os::unix::fs::symlink(&outside, linked.join("lock")).unwrap();
    let run = crawlfish(
        &args(&["--state", linked.to_str().unwrap()]),
        &site.url("/"),
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert_eq!(std::fs::read(&outside).unwrap(), b"precious");
}

/// Found by the attack run: a 304 must not stand in for a page cut at --max-body, for an extract made with other
/// --select names, or when no conditional request was sent.
#[tokio::test]
async fn a_304_stands_in_only_for_a_whole_page_asked_about() {
    let site = Site::start("127.0.0.1").await;
    let page = Step::html("<title>t</title><h1>H</h1><a href='/x'>x</a>").header("etag", "\"v1\"");
    site.route("/", vec![page.clone()]);
    let state = tempdir("state-304").join("state");
    let state_s = state.to_str().unwrap();
    // Run 1 cuts the page: run 2 must not send If-None-Match.
    crawlfish(
        &args(&["--state", state_s, "--max-body", "10"]),
        &site.url("/"),
    )
    .await;
    crawlfish(&args(&["--state", state_s]), &site.url("/")).await;
    assert_eq!(
        site.header("/", "if-none-match"),
        None,
        "the earlier body was cut"
    );
    // Run 3 (after a whole run 2) with other --select names: no conditional request either.
    crawlfish(
        &args(&["--state", state_s, "--select", "h=h1"]),
        &site.url("/"),
    )
    .await;
    assert_eq!(
        site.header("/", "if-none-match"),
        None,
        "run 2 had no --select"
    );
    // Same names as run 3: now it asks.
    crawlfish(
        &args(&["--state", state_s, "--select", "h=h1"]),
        &site.url("/"),
    )
    .await;
    assert_eq!(site.header("/", "if-none-match").as_deref(), Some("\"v1\""));
    // An unsolicited 304 (the earlier record was a 404) is reported as a 304, not as the earlier page.
    let other = Site::start("127.0.0.2").await;
    other.route(
        "/gone",
        vec![
            Step::new(404, "no").header("etag", "\"g\""),
            Step::new(304, ""),
        ],
    );
    let since = tempdir("state-304-since").join("first.jsonl");
    crawlfish(&args(&["-o", since.to_str().unwrap()]), &other.url("/gone")).await;
    let run = crawlfish(
        &args(&["--since", since.to_str().unwrap()]),
        &other.url("/gone"),
    )
    .await;
    let r = run.record(&other.url("/gone"));
    assert_eq!(r["status"], 304);
    assert_eq!(r["change"], "changed", "{r}");
    assert_eq!(other.header("/gone", "if-none-match"), None);
}

/// Found by the attack run: a page with `<meta name=robots content=nofollow>` answering 304 had its carried links
/// followed. The record now says `meta_nofollow`, and a 304 (or `--resume`) honours it.
#[tokio::test]
async fn meta_nofollow_holds_through_a_304() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "<a href='/nf'>nf</a>");
    site.route(
        "/nf",
        vec![
            Step::html("<meta name=robots content=nofollow><a href='/secret'>s</a>")
                .header("etag", "\"nf\""),
            Step::new(304, "").header("etag", "\"nf\""),
        ],
    );
    site.html("/secret", "secret");
    let state = tempdir("state-nofollow").join("state");
    let state_s = state.to_str().unwrap();
    for _ in 0..2 {
        let run = crawlfish(
            &["-q", "-r", "0", "--depth", "3", "--state", state_s],
            &site.url("/"),
        )
        .await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
    }
    assert_eq!(
        site.header("/nf", "if-none-match").as_deref(),
        Some("\"nf\""),
        "run 2 asked"
    );
    assert_eq!(site.hits("/secret"), 0, "nofollow held through the 304");
    let nf = records_in(&latest(&state))
        .into_iter()
        .find(|r| r["url"] == site.url("/nf"))
        .unwrap();
    assert_eq!(
        (nf["status"].as_u64(), nf["meta_nofollow"].as_bool()),
        (Some(304), Some(true))
    );
}
