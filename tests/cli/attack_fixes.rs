//! Breaks found by an attack run (a tester with only the README and the binary), each kept as a test: `-o` and
//! `--state` files untouched when `--warc` is refused, long URLs kept whole in error records (so `--resume` skips
//! them), and `--resolve` names with a final dot.

use std::path::Path;

use crate::core::tempdir;
use crate::support::*;

/// A query long enough to pass the old 2,048-character cut, well under the 8 KiB input-line limit.
fn long_query() -> String {
    format!("?q={}", "x".repeat(4000))
}

#[tokio::test]
async fn long_urls_of_error_records_are_kept_whole_so_resume_skips_them() {
    let site = Site::start("127.0.0.3").await;
    site.route(
        "/robots.txt",
        vec![Step::new(200, "User-agent: *\nDisallow: /private\n")],
    );
    let refused = refused_port("127.0.0.3").await;
    let urls = [
        format!("http://{refused}/{}", long_query()),
        format!("http://long.invalid/{}", long_query()),
        site.url(&format!("/private{}", long_query())),
    ];
    let dir = tempdir("long-url-resume");
    let list = dir.join("urls.txt");
    std::fs::write(&list, urls.join("\n") + "\n").unwrap();
    let out = dir.join("out.jsonl");
    let (list, out_s) = (list.to_str().unwrap(), out.to_str().unwrap());
    for resume in [false, true, true] {
        let mut a = vec![
            "-q",
            "-r",
            "0",
            "--retries",
            "0",
            "--timeout",
            "5",
            "-o",
            out_s,
        ];
        if resume {
            a.push("--resume");
        }
        a.push(list);
        let run = crawlfish(&a, "").await;
        // The resumed runs have nothing left to do (a URL fetched again would make them exit 1).
        let want = if resume { 0 } else { 1 };
        assert_eq!(run.code, Some(want), "resume: {resume}: {}", run.stderr);
    }
    let records = parse_lines(&std::fs::read_to_string(&out).unwrap());
    let kinds: Vec<(usize, &str)> = records
        .iter()
        .map(|r| {
            (
                r["url"].as_str().unwrap().len(),
                r["error"]["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        records.len(),
        3,
        "one record per URL after two --resumes: {kinds:?}"
    );
    for (url, kind) in urls.iter().zip(["connect", "dns", "robots_disallowed"]) {
        let r = records.iter().find(|r| r["url"] == url.as_str());
        let r = r.unwrap_or_else(|| panic!("no record with the whole URL ({kind}): {kinds:?}"));
        assert_eq!(r["error"]["kind"], kind);
    }
    assert_eq!(site.total_hits(), 1, "only robots.txt, once");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--state` (as `--since`) finds the earlier run's record of a long URL that failed: `changed`, not `new`.
#[tokio::test]
async fn state_compares_long_failed_urls_with_the_earlier_run() {
    let url = format!("http://long.invalid/{}", long_query());
    let state = tempdir("long-url-state").join("sd");
    let state_s = state.to_str().unwrap();
    for change in ["new", "changed"] {
        let run = crawlfish(&args(&["--state", state_s]), &url).await;
        assert_eq!(run.code, Some(1), "{}", run.stderr);
        let records = parse_lines(&std::fs::read_to_string(state.join("latest.jsonl")).unwrap());
        assert_eq!(records.len(), 1);
        let got = records[0]["url"].as_str().unwrap();
        assert!(
            got == url,
            "url cut from {} to {} chars",
            url.len(),
            got.len()
        );
        assert_eq!(records[0]["change"], change);
    }
    std::fs::remove_dir_all(state.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn resolve_ignores_one_final_dot_on_either_side() {
    let site = Site::start("127.0.0.4").await;
    let port = site.addr.port();
    for path in ["/dot-in-url", "/dot-in-flag", "/dot-in-both"] {
        site.html(path, "<title>t</title>");
    }
    // `.invalid` names: should an override not apply, the name fails at once, without a DNS query.
    let input = format!(
        "http://a.invalid.:{port}/dot-in-url\nhttp://b.invalid:{port}/dot-in-flag\n\
         http://c.invalid.:{port}/dot-in-both\n"
    );
    let (a, b, c) = (
        format!("a.invalid:{port}:127.0.0.4"),
        format!("B.invalid.:{port}:127.0.0.4"),
        format!("c.invalid.:{port}:127.0.0.4"),
    );
    let run = crawlfish(
        &args(&["--resolve", &a, "--resolve", &b, "--resolve", &c]),
        &input,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.records.len(), 3);
    for r in &run.records {
        assert_eq!(r["status"], 200, "{r}");
    }
    for path in ["/dot-in-url", "/dot-in-flag", "/dot-in-both"] {
        assert_eq!(site.hits(path), 1, "{path}");
    }
}

#[tokio::test]
async fn resolve_refuses_a_host_with_an_empty_label() {
    for bad in [
        "a.invalid..:80:127.0.0.4",
        ".:80:127.0.0.4",
        "a..invalid:80:127.0.0.4",
    ] {
        let run = crawlfish(&args(&["--resolve", bad]), "http://a.invalid/\n").await;
        assert_eq!(run.code, Some(2), "{bad}: {}", run.stderr);
        assert!(run.stderr.contains(bad), "{bad}: {}", run.stderr);
        assert!(run.records.is_empty());
    }
}

/// Every entry of `dir` (not followed into links): its name, its bytes (a link: its target) and its mtime.
pub fn dir_snapshot(dir: &Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let bytes = if meta.file_type().is_symlink() {
                std::fs::read_link(&path)
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                std::fs::read(&path).unwrap()
            };
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, bytes, meta.modified().unwrap())
        })
        .collect();
    v.sort();
    v
}

/// An hour ago: a file written by the run would get a new mtime.
pub fn age(path: &Path) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
}

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
        state.clone(),
    ];
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
/// A file's bytes and modification time.
fn snapshot(path: &Path) -> Option<(Vec<u8>, std::time::SystemTime)> {
    let bytes = std::fs::read(path).ok()?;
    Some((bytes, std::fs::metadata(path).ok()?.modified().ok()?))
}
