use std::fs;

use super::inbox::{parse_segment, Inbox};
use super::outbox::{self, write_segment};
use super::{inbox_dir, is_segment, run_name, Handoff};

fn link(url: &str, depth: u32) -> Handoff {
    Handoff {
        url: url.into(),
        depth,
        parent: "http://a.test/".into(),
        root: "http://a.test".into(),
    }
}

/// A fresh directory for one test (removed first: a failed earlier run may have left it).
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("crawlfish-handoff-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn line(h: &Handoff) -> String {
    serde_json::to_string(h).unwrap() + "\n"
}

#[test]
fn a_torn_last_line_and_foreign_lines_are_dropped() {
    let good = link("http://b.test/x", 2);
    let bytes = format!("{}not json\n{{\"url\":\"http://b.test/y\"", line(&good));
    assert_eq!(parse_segment(bytes.as_bytes(), "t"), vec![good.clone()]);
    assert_eq!(parse_segment(line(&good).as_bytes(), "t"), vec![good]);
    assert!(parse_segment(b"", "t").is_empty());
}

#[test]
fn scan_takes_whole_segments_once_and_never_temporary_or_own_files() {
    let dir = scratch("scan");
    let inbox = inbox_dir(&dir, 1);
    let own = run_name(1);
    let a = link("http://b.test/a", 1);
    write_segment(&inbox, "0-aa-1-000001.seg", line(&a).as_bytes()).unwrap();
    // A writer killed mid-write leaves its temporary file; a segment of this very run is for the next run.
    fs::write(
        inbox.join(".0-aa-1-000002.seg.tmp"),
        line(&link("http://b.test/tmp", 1)),
    )
    .unwrap();
    fs::write(
        inbox.join(format!("{own}-000001.seg")),
        line(&link("http://b.test/own", 1)),
    )
    .unwrap();
    fs::write(inbox.join("notes.txt"), "x").unwrap();
    let mut reader = Inbox::open(inbox.clone(), &own).unwrap();
    let first = reader.scan().unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].links, vec![a]);
    assert!(reader.scan().unwrap().is_empty(), "taken once");
    assert!(!is_segment(".x.seg.tmp") && !is_segment(".x.seg") && is_segment("x.seg"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn outbox_writes_one_segment_per_shard_and_leaves_no_temporary_file() {
    let dir = scratch("outbox");
    let (out, thread) = outbox::spawn(dir.clone(), run_name(0)).unwrap();
    for i in 0..5 {
        assert!(out.send(i % 2 + 1, link(&format!("http://b.test/{i}"), 1)));
    }
    drop(out);
    let end = thread.join().unwrap();
    assert_eq!((end.segments, end.links, end.failed), (2, 5, None));
    for (shard, want) in [(1, 3), (2, 2)] {
        let names: Vec<_> = fs::read_dir(inbox_dir(&dir, shard))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(is_segment(&names[0]), "{names:?}");
        let bytes = fs::read(inbox_dir(&dir, shard).join(&names[0])).unwrap();
        assert_eq!(parse_segment(&bytes, "t").len(), want);
    }
    fs::remove_dir_all(&dir).unwrap();
}

/// The inbox is a shared directory: a FIFO there (which blocked the run in `read`) and a symlink to `/dev/zero`
/// (which grew memory without bound) are skipped, and a good segment beside them is still taken.
#[test]
fn a_fifo_or_a_symlink_in_the_inbox_is_skipped() {
    let dir = scratch("special");
    let inbox = inbox_dir(&dir, 1);
    let a = link("http://b.test/a", 1);
    write_segment(&inbox, "0-aa-1-000003.seg", line(&a).as_bytes()).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(inbox.join("0-aa-1-000001.seg"))
        .status()
        .unwrap();
    assert!(made.success());
    std::os::unix::fs::symlink("/dev/zero", inbox.join("0-aa-1-000002.seg")).unwrap();
    let mut reader = Inbox::open(inbox.clone(), &run_name(1)).unwrap();
    let got = reader.scan().unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].links, vec![a]);
    fs::remove_dir_all(&dir).unwrap();
}
