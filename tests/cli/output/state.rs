//! `--state DIR`: `change` over runs, a run killed with SIGKILL and run again, the lock (a second run exits 75 and
//! changes nothing, a refused run leaves it alone), `--keep`, and surprises in DIR.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use super::{by_url, latest, long_query, records_in, RECORD};
use crate::support::*;

const LAST_MODIFIED: &str = "Wed, 21 Oct 2015 07:28:00 GMT";

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

    // HELD: with FAST's 5 s timeout a slow second run let `/hang` time out, the holder finish and DIR change.
    let mut holder = spawn_with_input(&held_args(&["--state", state_s]), site.url("/hang"));
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

/// A run file "from the future" (a clock set back, or a copied file) made `--keep` delete
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

// Guards: a `--state` run refused because an input was inside DIR still rewrote the lock file.
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

/// `--state` (as `--since`) finds the earlier run's record of a long URL that failed: `changed`, not `new`.
// Guards: a long failed URL cut in the record was `new` again on the next `--state` run, not `changed`.
#[tokio::test]
async fn state_compares_long_failed_urls_with_the_earlier_run() {
    let url = format!("http://long.invalid/{}", long_query());
    let state = tempdir("long-url-state").join("sd");
    let state_s = state.to_str().unwrap();
    for change in ["new", "changed"] {
        let run = crawlfish(&args(&["--state", state_s]), &url).await;
        assert_eq!(run.code, Some(1), "{}", run.stderr);
        let records = parse_lines(&std::fs::read_to_string(state.join("latest.jsonl")).unwrap());
        assert_eq!(records.len(), 1);
        let got = records[0]["url"].as_str().unwrap();
        assert!(
            got == url,
            "url cut from {} to {} chars",
            url.len(),
            got.len()
        );
        assert_eq!(records[0]["change"], change);
    }
    std::fs::remove_dir_all(state.parent().unwrap()).unwrap();
}

// Guards: a finished run named after the format's last millisecond made every later run panic (exit 101) after
// crawling everything; other odd names in DIR (not UTF-8, impossible dates) must not be trusted either.
#[tokio::test]
async fn hostile_run_names_in_dir_never_panic_a_run() {
    use std::os::unix::ffi::OsStrExt as _;
    let site = Site::start("127.0.0.1").await;
    site.html("/", "<title>home</title>");
    let state = tempdir("state-hostile").join("state");
    std::fs::create_dir_all(&state).unwrap();
    let record = RECORD;
    let hostile = [
        "99991231T235959.999Z.jsonl".as_bytes(),
        b"99999999T999999.999Z.jsonl",
        b"20261326T000000.000Z.jsonl",
        b"2026\xff\xfe26T000000.000Z.jsonl",
    ];
    for name in hostile {
        std::fs::write(state.join(std::ffi::OsStr::from_bytes(name)), record).unwrap();
    }
    let state_s = state.to_str().unwrap();
    let mut made = Vec::new();
    for _ in 0..2 {
        let run = crawlfish(&args(&["--state", state_s, "--keep", "5"]), &site.url("/")).await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let newest = latest(&state);
        let name = newest.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            name.starts_with("20") && name.as_str() < "9999",
            "a sensible name: {name}"
        );
        assert_eq!(records_in(&newest).len(), 1);
        made.push(name);
    }
    assert_ne!(made[0], made[1], "two runs, two names");
    for name in hostile {
        let path = state.join(std::ffi::OsStr::from_bytes(name));
        assert_eq!(
            std::fs::read_to_string(path).unwrap(),
            record,
            "left as it was"
        );
    }
}
