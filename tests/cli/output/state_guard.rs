//! `--state DIR`'s names: a leap-second name is not a run, `latest.jsonl.tmp` is checked before anything is
//! crawled, and a file system without locks is a warning, not a failed run.

use std::path::Path;

use super::{latest, RECORD};
use crate::support::strace;
use crate::support::*;

/// The finished runs' names in DIR, sorted.
fn runs(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("20") && n.ends_with(".jsonl"))
        .collect();
    v.sort();
    v
}

// Guards: `20991231T235960.000Z.jsonl` was taken as a run time whose next millisecond sorted before it, so every
// later run was renamed onto one name (data loss; --keep 5 kept one run).
#[tokio::test]
async fn a_leap_second_name_is_not_a_run_and_every_run_keeps_its_own_name() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "<title>home</title>");
    let state = tempdir("state-leap").join("state");
    std::fs::create_dir_all(&state).unwrap();
    let leap = "20991231T235960.000Z.jsonl";
    std::fs::write(state.join(leap), RECORD).unwrap();
    let s = state.to_str().unwrap();
    for _ in 0..3 {
        let run = crawlfish(&args(&["--state", s, "--keep", "5"]), &site.url("/")).await;
        assert_eq!(run.code, Some(0), "{}", run.stderr);
    }
    let names = runs(&state);
    assert_eq!(names.len(), 4, "three runs and the leap name: {names:?}");
    assert_eq!(
        std::fs::read_to_string(state.join(leap)).unwrap(),
        RECORD,
        "left alone"
    );
    assert_ne!(latest(&state).file_name().unwrap(), leap);
}

// Guards: a file at DIR/latest.jsonl.tmp was silently unlinked, and a directory there failed the run (exit 2)
// only after the whole crawl, and every later run too.
#[tokio::test]
async fn a_file_or_directory_at_latest_tmp_exits_2_before_anything_is_crawled() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "<title>home</title>");
    for dir_there in [false, true] {
        let state = tempdir(&format!("state-tmp-{dir_there}")).join("state");
        std::fs::create_dir_all(&state).unwrap();
        let tmp = state.join("latest.jsonl.tmp");
        if dir_there {
            std::fs::create_dir(&tmp).unwrap();
        } else {
            std::fs::write(&tmp, "mine\n").unwrap();
        }
        let run = crawlfish(&args(&["--state", state.to_str().unwrap()]), &site.url("/")).await;
        assert_eq!(run.code, Some(2), "{}", run.stderr);
        assert!(run.stderr.contains("latest.jsonl.tmp"), "{}", run.stderr);
        assert_eq!(site.total_hits(), 0, "nothing crawled");
        assert_eq!(tmp.is_dir(), dir_there);
        if !dir_there {
            assert_eq!(std::fs::read_to_string(&tmp).unwrap(), "mine\n");
        }
        assert_eq!(
            std::fs::read_dir(&state).unwrap().count(),
            1,
            "nothing else made"
        );
    }
}

// Guards: `--state` on a file system without locks (ENOLCK from flock on DIR/lock) exited 2 instead of warning.
#[tokio::test]
async fn a_state_dir_without_locks_is_a_warning_and_the_run_goes_on() {
    let Some(strace) = strace::strace() else {
        return;
    };
    let site = Site::start("127.0.0.1").await;
    site.html("/", "<title>home</title>");
    let state = tempdir("state-enolck").join("state");
    let argv = [
        "-r",
        "0",
        "--ignore-robots",
        "--state",
        state.to_str().unwrap(),
    ];
    let run =
        strace::crawlfish_under(&strace, "inject=flock:error=ENOLCK", &argv, &site.url("/")).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("cannot lock DIR"), "{}", run.stderr);
    assert_eq!(runs(&state).len(), 1, "the run finished");
}
