use std::io::Write as _;

use super::*;
use crate::record::ErrorKind;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("crawlfish-journal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn record(url: &str, links: &[&str], queued: &[u32]) -> Record {
    let mut r = Record::failed(url, 1, None, ErrorKind::Other, String::new());
    r.links = links.iter().map(|l| (*l).to_owned()).collect();
    r.queued = queued.to_vec();
    r
}

/// Writes three records' entries (lines of 100 bytes each in FILE) and returns the journal and FILE's tally.
fn three(path: &Path) -> Tally {
    let mut w = Writer::create(path).unwrap();
    let mut tally = Tally::default();
    for (i, r) in [
        record(
            "http://a.test/",
            &["http://a.test/x", "http://a.test/y"],
            &[1, CHECK_BIT],
        ),
        record("http://a.test/y", &[], &[]),
        record("http://a.test/z", &["http://b.test/"], &[0]),
    ]
    .iter()
    .enumerate()
    {
        w.add(i as u64 * 100, r);
        tally.add(i as u64 * 100, &r.url);
    }
    w.write().unwrap();
    tally
}

#[test]
fn entries_come_back_as_written() {
    let d = dir("back");
    let path = path_for(&d.join("out.jsonl"));
    assert!(path.ends_with("out.jsonl.links"));
    let tally = three(&path);
    let replay = check(&path, "out.jsonl", 300, tally).unwrap().unwrap();
    assert_eq!(replay.end, std::fs::metadata(&path).unwrap().len());
    let got: Vec<Entry> = entries(&replay).unwrap().map(Result::unwrap).collect();
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[0].links,
        vec![
            ("http://a.test/y".to_owned(), false),
            ("http://a.test/x".to_owned(), true)
        ]
    );
    assert_eq!((got[2].offset, got[2].depth), (200, 1));
    assert_eq!(got[2].links, vec![("http://b.test/".to_owned(), false)]);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn entries_of_records_not_in_file_are_cut_torn_or_not() {
    let d = dir("tail");
    let path = d.join("out.jsonl.links");
    let full = three(&path);
    // FILE holds the first two records only (the kill came between the journal's write and the lines').
    let mut two = Tally::default();
    two.add(0, "http://a.test/");
    two.add(100, "http://a.test/y");
    assert_ne!(two, full);
    // And the journal's last entry is torn.
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let replay = check(&path, "out.jsonl", 200, two).unwrap().unwrap();
    assert_eq!(entries(&replay).unwrap().count(), 2);
    let mut w = Writer::append(&path, replay.end).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        replay.end,
        "the tail is cut"
    );
    let next = record("http://a.test/w", &[], &[]);
    w.add(200, &next);
    w.write().unwrap();
    two.add(200, &next.url);
    let again = check(&path, "out.jsonl", 300, two).unwrap().unwrap();
    assert_eq!(entries(&again).unwrap().count(), 3);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn damage_before_the_last_record_of_file_is_refused() {
    let d = dir("damage");
    let path = d.join("out.jsonl.links");
    let tally = three(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[HEADER + 30] ^= 1; // inside the first entry
    std::fs::write(&path, &bytes).unwrap();
    let e = check(&path, "out.jsonl", 300, tally)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("damaged (checksum)") && e.contains("last 3 records"),
        "{e}"
    );
    // Torn before FILE's end: the same.
    let tally = three(&path);
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 1)
        .unwrap();
    let e = check(&path, "out.jsonl", 300, tally)
        .unwrap_err()
        .to_string();
    assert!(e.contains("torn") && e.contains("last 1 records"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn another_runs_or_versions_journal_is_refused() {
    let d = dir("other");
    let path = d.join("out.jsonl.links");
    let _ = three(&path);
    let mut other = Tally::default();
    for (i, u) in ["http://c.test/", "http://c.test/1", "http://c.test/2"]
        .iter()
        .enumerate()
    {
        other.add(i as u64 * 100, u);
    }
    let e = check(&path, "out.jsonl", 300, other)
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not belong to out.jsonl"), "{e}");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[8] = 2;
    std::fs::write(&path, &bytes).unwrap();
    let e = check(&path, "out.jsonl", 300, other)
        .unwrap_err()
        .to_string();
    assert!(e.contains("format version 2"), "{e}");
    let mut f = File::create(&path).unwrap();
    f.write_all(b"{\"url\":\"x\"}\n").unwrap();
    let e = check(&path, "out.jsonl", 300, other)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a crawlfish links journal"), "{e}");
    assert!(check(&d.join("none"), "out.jsonl", 0, Tally::default())
        .unwrap()
        .is_none());
    std::fs::remove_dir_all(&d).unwrap();
}
