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
