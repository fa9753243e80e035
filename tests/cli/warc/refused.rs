//! A WARC file that cannot be written is refused before anything else is touched: not an input or the output, not
//! a file of `--state DIR`, not a foreign file with `--resume`; `-o` and DIR are left as they were, and a failed
//! write exits 2 with the reason.

use std::path::Path;

use crate::support::*;

#[tokio::test]
async fn warc_must_not_be_an_input_or_the_output() {
    let dir = tempdir("warc-same");
    let list = dir.join("urls.txt");
    std::fs::write(&list, "http://127.0.0.1:9/\n").unwrap();
    let list = list.to_str().unwrap();
    let run = crawlfish(&args(&["--warc", list, list]), "").await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("--warc"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(list).unwrap(),
        "http://127.0.0.1:9/\n"
    );
}

/// A file's bytes and modification time.
fn snapshot(path: &Path) -> Option<(Vec<u8>, std::time::SystemTime)> {
    let bytes = std::fs::read(path).ok()?;
    Some((bytes, std::fs::metadata(path).ok()?.modified().ok()?))
}

// Guards: a `--warc` refused at start-up had already truncated (or created) the `-o` file.
#[tokio::test]
async fn a_refused_warc_leaves_the_output_untouched() {
    let site = Site::start("127.0.0.5").await;
    site.html("/", "<title>t</title>");
    let dir = tempdir("warc-refused");
    let out = dir.join("out.jsonl");
    let out_s = out.to_str().unwrap().to_owned();
    let first = crawlfish(&args(&["-o", &out_s]), &site.url("/")).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    // A torn last line too, which --resume would cut.
    let mut earlier = std::fs::read(&out).unwrap();
    earlier.extend_from_slice(b"{\"url\":\"http://a.test/torn\",\"de");
    std::fs::write(&out, &earlier).unwrap();
    age(&out);
    let before = snapshot(&out).unwrap();
    std::os::unix::fs::symlink(&out, dir.join("link.jsonl")).unwrap();
    std::fs::hard_link(&out, dir.join("hard.jsonl")).unwrap();
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let names = [
        out_s.clone(),
        dir.join("link.jsonl").to_str().unwrap().to_owned(),
        dir.join("hard.jsonl").to_str().unwrap().to_owned(),
        dir.join("missing-dir/a.warc.gz")
            .to_str()
            .unwrap()
            .to_owned(),
        sub.to_str().unwrap().to_owned(),
    ];
    for warc in &names {
        for resume in [false, true] {
            let mut a = args(&["-o", &out_s, "--warc", warc]);
            if resume {
                a.push("--resume");
            }
            let run = crawlfish(&a, &site.url("/")).await;
            assert_eq!(
                run.code,
                Some(2),
                "--warc {warc} ({resume}): {}",
                run.stderr
            );
            assert!(run.stderr.contains(warc.as_str()), "{}", run.stderr);
            assert!(
                snapshot(&out).unwrap() == before,
                "--warc {warc} (resume: {resume}) changed -o"
            );
        }
    }
    // With --resume a FILE that is not a WARC file is refused (and left as it is) before -o's torn line is cut.
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "my notes\n").unwrap();
    let notes_s = notes.to_str().unwrap();
    let run = crawlfish(
        &args(&["-o", &out_s, "--resume", "--warc", notes_s]),
        &site.url("/"),
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("not a WARC file"), "{}", run.stderr);
    assert!(
        snapshot(&out).unwrap() == before,
        "a foreign --warc file: -o was cut"
    );
    assert_eq!(std::fs::read(&notes).unwrap(), b"my notes\n");
    let env = crawlfish_env(
        &args(&["-o", &out_s]),
        &site.url("/"),
        &[("CRAWLFISH_WARC", &out_s)],
    )
    .await;
    assert_eq!(env.code, Some(2), "{}", env.stderr);
    assert!(
        snapshot(&out).unwrap() == before,
        "CRAWLFISH_WARC changed -o"
    );
    assert_eq!(site.hits("/"), 1, "only the first run fetched");

    // Neither file exists yet: one path for both is refused, and nothing is left behind; nor is -o created when
    // --warc cannot be.
    let new = dir.join("new.jsonl");
    let new_s = new.to_str().unwrap();
    let run = crawlfish(&args(&["-o", new_s, "--warc", new_s]), &site.url("/")).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(!new.exists(), "the refused run left {new_s}");
    let bad = dir.join("missing-dir/a.warc.gz");
    let run = crawlfish(
        &args(&["-o", new_s, "--warc", bad.to_str().unwrap()]),
        &site.url("/"),
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(!new.exists(), "-o was created for a refused run");
    std::fs::remove_dir_all(&dir).unwrap();
}

// Guards: a `--warc` refused at start-up had already changed the `--state` DIR (or left its WARC file behind).
#[tokio::test]
async fn a_refused_warc_leaves_the_state_dir_untouched() {
    let site = Site::start("127.0.0.5").await;
    site.html("/", "<title>t</title>");
    let dir = tempdir("warc-refused-state");
    let state = dir.join("sd");
    let state_s = state.to_str().unwrap().to_owned();
    let first = crawlfish(&args(&["--state", &state_s]), &site.url("/")).await;
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    // An interrupted run's current.jsonl, with a torn last line the next run would cut.
    let latest = std::fs::read(state.join("latest.jsonl")).unwrap();
    let mut current = latest.clone();
    current.extend_from_slice(b"{\"url\":\"http://a.test/torn\",\"de");
    std::fs::write(state.join("current.jsonl"), &current).unwrap();
    for entry in std::fs::read_dir(&state).unwrap() {
        let path = entry.unwrap().path();
        if !std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink()
        {
            age(&path);
        }
    }
    let before = dir_snapshot(&state);
    std::os::unix::fs::symlink(state.join("current.jsonl"), dir.join("link.jsonl")).unwrap();
    let finished = before
        .iter()
        .find(|(n, ..)| n.starts_with('2'))
        .map(|(n, ..)| n.clone())
        .unwrap();
    let warcs = [
        state.join("current.jsonl"),
        state.join("latest.jsonl"),
        state.join("lock"),
        state.join(&finished),
        state.join("20991231T235959.999Z.jsonl"),
        dir.join("link.jsonl"),
        dir.join("missing-dir/a.warc.gz"),
        state.join("current.warc.gz"),
    ];
    // `--warc DIR` naming the --state DIR itself is no longer refused: DIR keeps one archive per run
    // (`tests/cli/warc/rotate.rs`).
    for warc in &warcs {
        let warc = warc.to_str().unwrap();
        let run = crawlfish(
            &args(&["--state", &state_s, "--warc", warc]),
            &site.url("/"),
        )
        .await;
        assert_eq!(run.code, Some(2), "--warc {warc}: {}", run.stderr);
        assert!(run.stderr.contains(warc), "{}", run.stderr);
        assert!(dir_snapshot(&state) == before, "--warc {warc} changed DIR");
    }
    assert_eq!(site.hits("/"), 1, "only the first run fetched");

    // A held lock (exit 75): the WARC file this run would have created is not left behind.
    let lock = std::fs::File::open(state.join("lock")).unwrap();
    lock.try_lock().unwrap();
    let warc = dir.join("busy.warc.gz");
    let run = crawlfish(
        &args(&["--state", &state_s, "--warc", warc.to_str().unwrap()]),
        &site.url("/"),
    )
    .await;
    assert_eq!(run.code, Some(75), "{}", run.stderr);
    assert!(
        !warc.exists(),
        "a run that changed nothing left its --warc file"
    );
    drop(lock);

    // A WARC in a DIR that does not exist yet is still fine: DIR is created first.
    let fresh = dir.join("fresh");
    let fresh_warc = fresh.join("a.warc.gz");
    let run = crawlfish(
        &args(&[
            "--state",
            fresh.to_str().unwrap(),
            "--warc",
            fresh_warc.to_str().unwrap(),
        ]),
        &site.url("/"),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(std::fs::metadata(&fresh_warc).unwrap().len() > 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_failed_warc_write_exits_2_with_the_reason() {
    let site = Site::start("127.0.0.1").await;
    site.html("/", "root");
    let run = crawlfish(&args(&["--warc", "/dev/full"]), &site.url("/")).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot write --warc /dev/full"),
        "{}",
        run.stderr
    );
}
