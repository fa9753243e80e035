//! `--state DIR --warc DIR`: one archive per run beside its records (`DIR/current.warc.gz` while it runs, renamed
//! with them to `DIR/UTC-TIME.warc.gz`, deleted with them by `--keep`); `--warc FILE` elsewhere still appends.
//! A crash between the two renames, a failed rename, files in the way, and what `--keep` may delete.

use std::path::{Path, PathBuf};

use crate::support::strace;
use crate::support::warcio::{check, field, record_at};
use crate::support::*;

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn latest(dir: &Path) -> PathBuf {
    dir.join(std::fs::read_link(dir.join("latest.jsonl")).unwrap())
}

// Guards: with --state, --warc grew one archive forever (--keep did not rotate it).
#[tokio::test]
async fn state_with_warc_dir_keeps_one_archive_per_run_and_keep_prunes_it() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "<title>home</title>");
    let state = tempdir("warc-rotate").join("state");
    let state_s = state.to_str().unwrap();
    let mut runs = Vec::new();
    for _ in 0..2 {
        let run = crawlfish(
            &args(&["--state", state_s, "--warc", state_s, "--keep", "1"]),
            &site.url("/"),
        )
        .await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        let records = latest(&state);
        let stamp = records
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .strip_suffix(".jsonl")
            .unwrap()
            .to_owned();
        let archive = state.join(format!("{stamp}.warc.gz"));
        let archive_s = archive.to_str().unwrap();
        check(archive_s);
        let text = std::fs::read_to_string(&records).unwrap();
        let record = &parse_lines(&text)[0];
        let (head, _) = record_at(archive_s, record["warc_offset"].as_u64().unwrap());
        assert_eq!(
            field(&head, "WARC-Target-URI"),
            Some(site.url("/").as_str())
        );
        assert_eq!(field(&head, "WARC-Type"), Some("response"));
        runs.push(stamp);
    }
    assert_eq!(
        names(&state),
        [
            format!("{}.jsonl", runs[1]),
            format!("{}.warc.gz", runs[1]),
            "latest.jsonl".into(),
            "lock".into()
        ],
        "--keep 1 deleted the first run's records and archive; no current.warc.gz is left"
    );
}

/// `--state DIR --warc DIR` on `/a` and `/b`, expected to exit 0.
async fn rotated_run(site: &Site, state: &Path, extra: &[&str]) {
    let s = state.to_str().unwrap();
    let mut argv = vec!["--state", s, "--warc", s];
    argv.extend_from_slice(extra);
    let input = format!("{}\n{}\n", site.url("/a"), site.url("/b"));
    let run = crawlfish(&args(&argv), &input).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

async fn two_pages() -> Site {
    let site = Site::start("127.0.0.1").await;
    site.html("/a", "<title>a</title>")
        .html("/b", "<title>b</title>");
    site
}

/// Every finished run's records point at their own responses in the archive beside them, and every archive has
/// its records (no orphan).
fn assert_runs_match_their_archives(state: &Path) {
    for name in names(state) {
        if let Some(stamp) = name.strip_suffix(".warc.gz") {
            assert!(
                state.join(format!("{stamp}.jsonl")).exists(),
                "orphan {name}"
            );
        }
        let Some(stamp) = name.strip_suffix(".jsonl").filter(|s| s.starts_with("20")) else {
            continue;
        };
        let archive = state.join(format!("{stamp}.warc.gz"));
        let text = std::fs::read_to_string(state.join(&name)).unwrap();
        for r in parse_lines(&text) {
            let (head, _) = record_at(
                archive.to_str().unwrap(),
                r["warc_offset"].as_u64().unwrap(),
            );
            let url = r["final_url"].as_str().or(r["url"].as_str());
            assert_eq!(field(&head, "WARC-Target-URI"), url, "{name}: {head}");
            assert_eq!(field(&head, "WARC-Type"), Some("response"));
        }
    }
}

// Guards: a crash between finish's two renames (the archive renamed, the records not) made the next run resume
// current.jsonl into a new current.warc.gz: every warc_offset pointed into the wrong file, the old archive orphaned.
#[tokio::test]
async fn a_crash_between_the_two_finish_renames_is_recovered_and_offsets_point_into_their_own_archive(
) {
    let site = two_pages().await;
    let state = tempdir("warc-rotate-crash").join("state");
    rotated_run(&site, &state, &[]).await;
    let first = latest(&state);
    rotated_run(&site, &state, &[]).await;
    // The state the crash leaves: the second run's archive renamed, its records still current.jsonl, latest.jsonl
    // still the first run, its replacement made.
    let second = latest(&state);
    std::fs::rename(&second, state.join("current.jsonl")).unwrap();
    std::fs::remove_file(state.join("latest.jsonl")).unwrap();
    std::os::unix::fs::symlink(first.file_name().unwrap(), state.join("latest.jsonl")).unwrap();
    std::os::unix::fs::symlink(second.file_name().unwrap(), state.join("latest.jsonl.tmp"))
        .unwrap();
    rotated_run(&site, &state, &[]).await;
    assert!(!state.join("current.jsonl").exists() && !state.join("current.warc.gz").exists());
    assert_eq!(
        names(&state).len(),
        6,
        "two runs, their archives, latest and lock: {:?}",
        names(&state)
    );
    assert_runs_match_their_archives(&state);
}

// Guards: when the records' rename failed after the archive's, the archive stayed renamed (orphaned).
#[tokio::test]
async fn a_failed_records_rename_moves_the_archive_back() {
    let Some(strace) = strace::strace() else {
        return;
    };
    let site = two_pages().await;
    let state = tempdir("warc-rotate-eio").join("state");
    let s = state.to_str().unwrap();
    let input = format!("{}\n{}\n", site.url("/a"), site.url("/b"));
    let argv = args(&["--state", s, "--warc", s]);
    let run =
        strace::crawlfish_under(&strace, "inject=rename:error=EIO:when=2", &argv, &input).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert_eq!(
        names(&state),
        [
            "current.jsonl",
            "current.warc.gz",
            "latest.jsonl.tmp",
            "lock"
        ]
    );
    rotated_run(&site, &state, &[]).await;
    assert_runs_match_their_archives(&state);
}

// Guards: a finished run's archive was renamed over a user's file at its name (and so could the records be).
#[tokio::test]
async fn a_finished_run_never_renames_over_a_file_at_its_archive_name() {
    let site = two_pages().await;
    let state = tempdir("warc-rotate-taken").join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("20990101T000000.000Z.jsonl"), "").unwrap();
    let mine = state.join("20990101T000000.001Z.warc.gz");
    std::fs::write(&mine, "my notes\n").unwrap();
    rotated_run(&site, &state, &[]).await;
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "my notes\n");
    let run = latest(&state);
    assert_eq!(run.file_name().unwrap(), "20990101T000000.002Z.jsonl");
    assert_eq!(
        parse_lines(&std::fs::read_to_string(&run).unwrap()).len(),
        2
    );
    check(state.join("20990101T000000.002Z.warc.gz").to_str().unwrap());
}

// Guards: --keep deleted a text file named like an old run's archive.
#[tokio::test]
async fn keep_deletes_only_archives_that_are_warc_files() {
    let site = two_pages().await;
    let state = tempdir("warc-rotate-keep-text").join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("20000101T000000.000Z.jsonl"), "").unwrap();
    let mine = state.join("20000101T000000.000Z.warc.gz");
    std::fs::write(&mine, "not an archive\n").unwrap();
    rotated_run(&site, &state, &["--keep", "1"]).await;
    assert!(
        !state.join("20000101T000000.000Z.jsonl").exists(),
        "the old run's records were pruned"
    );
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "not an archive\n");
}
