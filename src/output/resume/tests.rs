//! `--resume`'s reading of its file: what is ours, what is cut, what counts as done.

use std::io::Read as _;

use super::*;

const RECORD: &str = "{\"url\":\"http://a.test/1\",\"final_url\":null,\"status\":null,\"depth\":0,\
    \"links\":[],\"attempts\":1,\"error\":{\"kind\":\"dns\",\"message\":\"x\"}}\n";

fn scan_bytes(bytes: &[u8]) -> Scan {
    let (mut done, mut again) = (SeenSet::default(), SeenSet::default());
    let read = Found {
        done: &mut done,
        kept: None,
        warc_end: None,
        again: &mut again,
        tally: &mut Tally::default(),
        bodies: None,
    };
    scan(bytes, read).unwrap()
}

#[test]
fn records_and_a_torn_tail_are_ours() {
    let mut file = RECORD.repeat(2).into_bytes();
    let complete = file.len() as u64;
    assert_eq!(scan_bytes(&file), Scan::Ours(complete));
    file.extend_from_slice(b"{\"url\":\"http://a.test/3\",\"de");
    assert_eq!(scan_bytes(&file), Scan::Ours(complete));
    file.extend_from_slice(&[0; 100]); // zeros after a power loss
    assert_eq!(scan_bytes(&file), Scan::Ours(complete));
    assert_eq!(scan_bytes(b""), Scan::Ours(0));
    assert_eq!(
        scan_bytes(b"{\"u"),
        Scan::Ours(0),
        "the very first write, torn"
    );
}

/// Found by the attack run: a one-line JSON file of another tool (no newline) starting like a record, and a
/// note appended to a real output file without a newline, were cut by `--resume`.
#[test]
fn a_last_line_that_is_not_a_torn_record_is_foreign() {
    let other = b"{\"url\":\"https://api.example/v1\",\"token\":\"KEEP-ME\",\"items\":[1,2,3]}";
    assert!(matches!(scan_bytes(other), Scan::Foreign(why) if why.contains("complete JSON")));
    let mut noted = RECORD.as_bytes().to_vec();
    noted.extend_from_slice(b"my notes: do not delete");
    assert!(matches!(scan_bytes(&noted), Scan::Foreign(why) if why.contains("last line 2")));
    // A whole record that only lost its newline is ours (cut and fetched again).
    let whole = RECORD.trim_end().as_bytes();
    assert_eq!(scan_bytes(whole), Scan::Ours(0));
}

#[test]
fn anything_else_is_foreign() {
    for bytes in [
        &b"remember the milk"[..],
        b"\n",
        b"{\"id\":1}\n",
        b"{\"url\":\"http://a.test/\",\"depth\":0}\n",
        b"\x7fELF\x02\x01",
    ] {
        assert!(
            matches!(scan_bytes(bytes), Scan::Foreign(_)),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    let mut mixed = RECORD.as_bytes().to_vec();
    mixed.extend_from_slice(b"not json\n");
    assert!(matches!(scan_bytes(&mixed), Scan::Foreign(why) if why.starts_with("line 2")));
}

#[test]
fn a_line_over_the_cap_is_foreign_without_reading_on() {
    let mut r = BufReader::new(io::repeat(b'x').take(10 * MAX_RECORD_LINE as u64));
    let mut line = b"{\"url\":\"".to_vec();
    assert_eq!(
        read_line(&mut r, &mut line, false).unwrap(),
        LineEnd::TooLong
    );
    assert!(line.capacity() <= 2 * MAX_RECORD_LINE);
}

/// Issue 22: a record whose response is not in the archive (null `warc_offset`, or past the archive's end) was
/// taken as done by `--resume --warc`; the last line of a URL decides.
#[test]
fn with_warc_a_record_missing_from_the_archive_is_not_done() {
    let line = |url: &str, status: &str, offset: &str| {
        format!(
            "{{\"url\":\"http://a.test/{url}\",\"final_url\":null,\"status\":{status},\"depth\":0,\
             \"attempts\":1,\"error\":null,\"warc_offset\":{offset}}}\n"
        )
    };
    let file = [
        line("null", "200", "null"),
        line("past", "200", "500"),
        line("kept", "200", "499"),
        line("dns", "null", "null"),
        line("again", "200", "null"),
        line("again", "200", "10"),
        line("undone", "200", "10"),
        line("undone", "200", "null"),
    ]
    .concat();
    let scan_with = |end: Option<u64>| {
        let (mut done, mut again) = (SeenSet::default(), SeenSet::default());
        let mut kept = Vec::new();
        let read = Found {
            done: &mut done,
            kept: Some(&mut kept),
            warc_end: end,
            again: &mut again,
            tally: &mut Tally::default(),
            bodies: None,
        };
        scan(file.as_bytes(), read).unwrap();
        (done, again.len(), kept.len())
    };
    let (done, again, kept) = scan_with(Some(500));
    for (url, is_done) in [
        ("null", false),
        ("past", false),
        ("kept", true),
        ("dns", true),
        ("again", true),
        ("undone", false),
    ] {
        assert_eq!(
            done.contains(&key(&format!("http://a.test/{url}"))),
            is_done,
            "{url}"
        );
    }
    assert_eq!((again, kept), (3, 4));
    // Without --warc this run does not archive: every URL is done, as before.
    assert_eq!(scan_with(None).0.len(), 6);
}

#[test]
fn null_fields_must_still_be_present() {
    let no_error = RECORD.replace(",\"error\":{\"kind\":\"dns\",\"message\":\"x\"}", "");
    assert!(serde_json::from_str::<Resumed>(&no_error).is_err());
    assert!(serde_json::from_str::<Resumed>(RECORD).is_ok());
}

#[test]
fn open_cuts_only_a_proven_file() {
    let dir = std::env::temp_dir().join(format!("crawlfish-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ours = dir.join("ours.jsonl");
    std::fs::write(&ours, format!("{RECORD}{{\"url\":\"http://a.test/2\",\"de")).unwrap();
    let r = open(&ours, "-o", (true, true), None).unwrap();
    assert!(r.done.contains(&key("http://a.test/1")));
    assert_eq!(r.resumed.len(), 1);
    assert!(
        std::fs::read_to_string(&ours).unwrap().len() > RECORD.len(),
        "not cut before the commit"
    );
    cut_torn_line(&r.file, r.len, "ours.jsonl").unwrap();
    assert_eq!(std::fs::read_to_string(&ours).unwrap(), RECORD);

    let theirs = dir.join("theirs.txt");
    std::fs::write(&theirs, "a note").unwrap();
    let e = open(&theirs, "-o", (false, false), None).err().unwrap();
    assert!(format!("{e:#}").contains("theirs.txt"), "{e:#}");
    assert_eq!(std::fs::read(&theirs).unwrap(), b"a note");
    std::fs::remove_dir_all(&dir).unwrap();
}
