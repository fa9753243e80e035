//! One writer per file: a second run that would write a file another run is writing (`--warc`, `-o` with or
//! without `--resume`, `--state`'s `current.jsonl` with DIR's lock file deleted) exits 75 and changes nothing. The
//! first run is held mid-crawl by a gated answer, so it is provably still running when the second starts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::records_in;
use crate::support::warcio::{field, record_at};
use crate::support::*;

/// A site where `/quick` answers at once and `/held` only once the gate opens.
async fn held_site() -> (Site, Gate) {
    let site = Site::start("127.0.0.1").await;
    let gate = Gate::default();
    site.html("/quick", "<title>quick</title>")
        .html("/other", "<title>other</title>")
        .route("/held", vec![Step::html("<title>held</title>").held(&gate)]);
    (site, gate)
}

/// Starts the first run on `/quick` and `/held`, and waits until `/held` is in flight and `watched` holds
/// `/quick`'s record (so the file has bytes of the first run's to lose).
async fn first_run(site: &Site, argv: &[&str], watched: &Path) -> tokio::process::Child {
    let input = format!("{}\n{}\n", site.url("/quick"), site.url("/held"));
    // HELD: `/held` must outlast the second runs, which a loaded machine can stretch past FAST's 5 s timeout.
    let child = spawn_with_input(&held_args(argv), input);
    wait_until("the first run's held request", RUN_LIMIT, || {
        site.hits("/held") == 1
    })
    .await;
    wait_until("the first run's first record", RUN_LIMIT, || {
        std::fs::read_to_string(watched).is_ok_and(|t| t.contains("/quick"))
    })
    .await;
    child
}

/// The second run exits 75 at once, names `file` and the first run's pid, and fetches nothing.
fn assert_refused(second: &Run, site: &Site, file: &str, first_pid: u32) {
    assert_eq!(second.code, Some(75), "{}", second.stderr);
    assert!(
        second.stderr.contains(file) && second.stderr.contains("another crawlfish run"),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains(&format!("pid {first_pid}")),
        "names the holder: {}",
        second.stderr
    );
    assert_eq!(site.hits("/other"), 0, "the second run fetched nothing");
}

/// Opens the gate and checks the first run still ends well, with one record per URL in `out()`.
async fn finish(mut first: tokio::process::Child, gate: &Gate, out: impl FnOnce() -> PathBuf) {
    gate.open();
    assert_eq!(exit_code_within(&mut first, RUN_LIMIT).await, Some(0));
    let mut urls: Vec<String> = records_in(&out())
        .iter()
        .map(|r| r["url"].as_str().unwrap().to_owned())
        .collect();
    urls.sort();
    assert_eq!(urls.len(), 2, "{urls:?}");
    assert!(urls[0].ends_with("/held") && urls[1].ends_with("/quick"));
}

// Guards: two `--resume` jobs sharing one --warc both exited 0, and the archive held half the responses with
// warc_offsets pointing at other URLs' records.
#[tokio::test]
async fn a_second_run_on_a_warc_in_use_exits_75_and_the_archive_stays_the_first_runs() {
    let (site, gate) = held_site().await;
    let dir = tempdir("lock-warc");
    let (a, b, w) = (
        dir.join("a.jsonl"),
        dir.join("b.jsonl"),
        dir.join("w.warc.gz"),
    );
    let (a_s, b_s, w_s) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        w.to_str().unwrap(),
    );
    let first = first_run(&site, &["-o", a_s, "--resume", "--warc", w_s], &a).await;
    let archive = std::fs::read(&w).unwrap();
    let second = crawlfish(
        &args(&["-o", b_s, "--resume", "--warc", w_s]),
        &site.url("/other"),
    )
    .await;
    assert_refused(&second, &site, w_s, first.id().unwrap());
    assert!(second.stderr.contains("--warc"), "{}", second.stderr);
    assert_eq!(
        std::fs::read(&w).unwrap(),
        archive,
        "the archive was not touched"
    );
    assert!(!b.exists(), "the second run left no file behind");
    finish(first, &gate, || a.clone()).await;
    for r in records_in(&a) {
        let (head, _) = record_at(w_s, r["warc_offset"].as_u64().unwrap());
        assert_eq!(field(&head, "WARC-Target-URI"), r["url"].as_str(), "{head}");
    }
}

// Guards: two overlapping `-o FILE --resume` runs (cron without --state) both exited 0, with lines lost and torn
// JSON in the middle; a truncating `-o` or a hard link to FILE got around any per-path guard.
#[tokio::test]
async fn a_second_run_on_an_output_in_use_exits_75_and_the_file_stays_the_first_runs() {
    let (site, gate) = held_site().await;
    let dir = tempdir("lock-output");
    let out = dir.join("out.jsonl");
    let link = dir.join("link.jsonl");
    let out_s = out.to_str().unwrap();
    let first = first_run(&site, &["-o", out_s, "--resume"], &out).await;
    std::fs::hard_link(&out, &link).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    let link_s = link.to_str().unwrap();
    for (argv, named) in [
        (vec!["-o", out_s, "--resume"], out_s),
        (vec!["-o", out_s], out_s),
        (vec!["-o", link_s, "--resume"], link_s),
    ] {
        let second = crawlfish(&args(&argv), &site.url("/other")).await;
        assert_refused(&second, &site, named, first.id().unwrap());
        assert_eq!(std::fs::read(&out).unwrap(), bytes, "{argv:?} changed FILE");
    }
    finish(first, &gate, || out.clone()).await;
}

// Guards: deleting DIR/lock during a --state run let a second run resume (and write into) the same current.jsonl.
#[tokio::test]
async fn a_state_run_whose_lock_file_was_deleted_still_keeps_a_second_run_out() {
    let (site, gate) = held_site().await;
    let state = tempdir("lock-state").join("state");
    let state_s = state.to_str().unwrap();
    let current = state.join("current.jsonl");
    let first = first_run(&site, &["--state", state_s], &current).await;
    std::fs::remove_file(state.join("lock")).unwrap();
    let bytes = std::fs::read(&current).unwrap();
    let second = crawlfish(&args(&["--state", state_s]), &site.url("/other")).await;
    assert_refused(&second, &site, "current.jsonl", first.id().unwrap());
    assert_eq!(
        std::fs::read(&current).unwrap(),
        bytes,
        "current.jsonl untouched"
    );
    finish(first, &gate, || super::latest(&state)).await;
    assert!(
        !current.exists(),
        "the first run finished and renamed its records"
    );
}

/// A FIFO (or `/dev/stdout` into a pipe) as --warc failed with "Illegal seek" naming no flag, after -o was cut.
#[tokio::test]
async fn a_warc_that_cannot_seek_is_a_usage_error_naming_warc_before_anything_is_touched() {
    let (site, _gate) = held_site().await;
    let dir = tempdir("warc-fifo");
    let fifo = dir.join("w.warc.gz");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let out = dir.join("out.jsonl");
    std::fs::write(&out, "not yet replaced\n").unwrap();
    let out_s = out.to_str().unwrap();
    for warc in [fifo.to_str().unwrap(), "/dev/stdout"] {
        let run = tokio::time::timeout(
            Duration::from_secs(20),
            crawlfish(&args(&["-o", out_s, "--warc", warc]), &site.url("/quick")),
        )
        .await
        .expect("a FIFO without a reader must not block the run");
        assert_eq!(run.code, Some(2), "{warc}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("--warc {warc}")),
            "{}",
            run.stderr
        );
        assert_eq!(std::fs::read(&out).unwrap(), b"not yet replaced\n");
    }
    assert_eq!(site.total_hits(), 0);
}

// Guards: a run refused with 75 (DIR's lock file deleted under a running run, so the second one made a new one and
// then met the first run's lock on current.jsonl, or on current.warc.gz with --warc DIR) left that DIR/lock behind.
#[tokio::test]
async fn a_state_run_refused_with_75_removes_the_lock_file_it_created() {
    for warc in [false, true] {
        let (site, gate) = held_site().await;
        let state = tempdir(&format!("lock-state-made-{warc}")).join("state");
        let s = state.to_str().unwrap();
        let mut argv = vec!["--state", s];
        if warc {
            argv.extend(["--warc", s]);
        }
        let current = state.join("current.jsonl");
        let first = first_run(&site, &argv, &current).await;
        std::fs::remove_file(state.join("lock")).unwrap();
        let second = crawlfish(&args(&argv), &site.url("/other")).await;
        let named = if warc {
            "current.warc.gz"
        } else {
            "current.jsonl"
        };
        assert_refused(&second, &site, named, first.id().unwrap());
        assert!(
            !state.join("lock").exists(),
            "the refused run left its lock file"
        );
        finish(first, &gate, || super::latest(&state)).await;
    }
}

// Guards: a refused run that had created DIR (and its lock) left them behind.
#[tokio::test]
async fn a_state_run_refused_after_creating_dir_removes_it() {
    let state = tempdir("lock-state-new").join("state");
    let s = state.to_str().unwrap();
    let owned = state.join("latest.jsonl");
    let run = crawlfish(
        &args(&["--state", s, "--warc", owned.to_str().unwrap()]),
        "http://127.0.0.1:9/",
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("own files"), "{}", run.stderr);
    assert!(
        !state.exists(),
        "DIR was created by the refused run and removed"
    );
}
