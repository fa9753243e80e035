//! `--state`'s unit tests: names, the lock, finishing and `--keep`, hostile names.

use super::*;

#[test]
fn stamps_sort_and_are_recognised() {
    let t = humantime::parse_rfc3339("2026-11-26T18:25:17.123Z").unwrap();
    assert_eq!(stamp(t).unwrap(), "20261126T182517.123Z");
    assert!(is_finished_name("20261126T182517.123Z.jsonl"));
    for other in [
        CURRENT,
        LATEST,
        LATEST_TMP,
        LOCK,
        "notes.jsonl",
        "20261126T182517.123Z.jsonl.tmp",
        "99999999T999999.999Z.jsonl",
        "2026112éT18251.123Z.jsonl",
        "20261326T182517.123Z.jsonl",
        "20991231T235960.000Z.jsonl",
        "20260230T000000.000Z.jsonl",
    ] {
        assert!(!is_finished_name(other), "{other}");
    }
}

#[test]
fn lock_finish_keep() {
    let dir = std::env::temp_dir().join(format!("crawlfish-state-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = State::lock(&dir, 2).unwrap();
    let again = State::lock(&dir, 2).unwrap_err();
    assert!(again.is::<Busy>(), "{again:#}");
    assert_eq!(state.latest().unwrap(), None);
    let mut done = Vec::new();
    for run in 0..3 {
        std::fs::write(state.current(), format!("{{\"url\":\"run {run}\"}}\n")).unwrap();
        done.push(state.finish().unwrap());
        assert!(!state.current().exists());
        assert_eq!(
            std::fs::read_to_string(dir.join(LATEST)).unwrap(),
            format!("{{\"url\":\"run {run}\"}}\n")
        );
        assert_eq!(state.latest().unwrap().as_ref(), done.last());
    }
    assert!(!done[0].exists(), "--keep 2 deleted the oldest");
    assert!(done[1].exists() && done[2].exists());
    drop(state);
    assert!(State::lock(&dir, 2).is_ok(), "the lock goes with the run");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Two runs ending in the same millisecond (or a run "from the future" in DIR) must not share a name: the
/// second rename would replace the first run.
#[test]
fn names_never_collide_or_go_back() {
    let dir = std::env::temp_dir().join(format!("crawlfish-state-names-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = State::lock(&dir, 5).unwrap();
    let now = stamp(SystemTime::now()).unwrap() + FINISHED_SUFFIX;
    std::fs::write(dir.join(&now), "{\"url\":\"x\"}\n").unwrap();
    assert!(state.next_name().unwrap() > now, "same millisecond");
    let future = "20991231T235959.999Z.jsonl";
    std::fs::write(dir.join(future), "{\"url\":\"x\"}\n").unwrap();
    assert_eq!(state.next_name().unwrap(), "21000101T000000.000Z.jsonl");
    drop(state);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A run named after the format's last millisecond made every later run panic (exit 101) when it named itself.
#[test]
fn hostile_names_never_panic_and_never_collide() {
    let dir = std::env::temp_dir().join(format!("crawlfish-state-hostile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = State::lock(&dir, 5).unwrap();
    let last = "99991231T235959.999Z.jsonl";
    std::fs::write(dir.join(last), "{\"url\":\"x\"}\n").unwrap();
    let name = state.next_name().unwrap();
    assert!(name.as_str() < last && is_finished_name(&name), "{name}");
    std::fs::write(dir.join(&name), "{\"url\":\"x\"}\n").unwrap();
    assert_ne!(
        state.next_name().unwrap(),
        name,
        "never the same name twice"
    );
    assert_eq!(stamp(SystemTime::UNIX_EPOCH - Duration::from_secs(1)), None);
    assert_eq!(unstamp(Path::new("99991231T235959.999Z.jsonl.x")), None);
    drop(state);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A leap-second name was taken for a run time whose "1 ms after" sorted before it: every later run took one name.
#[test]
fn a_leap_second_name_is_not_a_run_and_names_sort_after_the_newest() {
    let dir = std::env::temp_dir().join(format!("crawlfish-state-leap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let state = State::lock(&dir, 5).unwrap();
    std::fs::write(dir.join("20991231T235960.000Z.jsonl"), "{\"url\":\"x\"}\n").unwrap();
    assert_eq!(state.latest().unwrap(), None, "not a run name");
    let future = "20991231T235959.999Z.jsonl";
    std::fs::write(dir.join(future), "{\"url\":\"x\"}\n").unwrap();
    std::fs::write(dir.join("21000101T000000.000Z.warc.gz"), "not mine").unwrap();
    assert_eq!(
        state.next_name().unwrap(),
        "21000101T000000.001Z.jsonl",
        "after the newest, and the archive's name free too"
    );
    drop(state);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn only_a_gzip_member_holding_warc_is_an_archive() {
    use std::io::Write as _;
    let dir = std::env::temp_dir().join(format!("crawlfish-state-iswarc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gz = |text: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text).unwrap();
        e.finish().unwrap()
    };
    for (bytes, warc) in [
        (gz(b"WARC/1.1\r\n"), true),
        (gz(b"notes"), false),
        (b"WARC/1.1 plain".to_vec(), false),
        (Vec::new(), false),
    ] {
        std::fs::write(dir.join("a.warc.gz"), &bytes).unwrap();
        assert_eq!(is_warc(&dir.join("a.warc.gz")), warc, "{bytes:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
