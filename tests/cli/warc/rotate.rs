//! `--state DIR --warc DIR`: one archive per run beside its records (`DIR/current.warc.gz` while it runs, renamed
//! with them to `DIR/UTC-TIME.warc.gz`, deleted with them by `--keep`); `--warc FILE` elsewhere still appends.

use std::path::{Path, PathBuf};

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
