//! The user's files are never destroyed: `-o` is opened only after every check passed, `-o` (or stdout) cannot be
//! an input, a failed write leaves whole records, and input files with a byte-order mark are read as the text they
//! hold.

use std::process::Stdio;
use std::time::Duration;

use super::{pages, snapshot, RECORD};
use crate::support::*;

#[tokio::test]
async fn a_bad_flag_leaves_the_output_untouched() {
    let (_site, list) = pages(1).await;
    let dir = tempdir("bad-flag");
    let prev = dir.join("prev.jsonl");
    std::fs::write(&prev, RECORD).unwrap();
    let before = snapshot(&prev);
    let prev_s = prev.to_str().unwrap();
    for extra in [
        &["--user-agent", "a\nb"][..],
        &["--resume", "--user-agent", "a\rb"],
    ] {
        let mut argv = vec!["-o", prev_s];
        argv.extend_from_slice(extra);
        let run = crawlfish(&args(&argv), &list).await;
        assert_eq!(run.code, Some(2), "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains("--user-agent"), "{}", run.stderr);
        assert_eq!(snapshot(&prev), before, "{extra:?} changed the output file");
    }
    let missing = crawlfish(&args(&["-o", prev_s, "/nonexistent/urls.txt"]), "").await;
    assert_eq!(missing.code, Some(2));
    assert_eq!(snapshot(&prev), before);
}

#[tokio::test]
async fn output_that_is_an_input_is_refused_before_anything_is_written() {
    let (site, list) = pages(2).await;
    let dir = tempdir("same-file");
    let input = dir.join("list.txt");
    std::fs::write(&input, &list).unwrap();
    let before = snapshot(&input);
    let link = dir.join("link.txt");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    let hard = dir.join("hard.txt");
    std::fs::hard_link(&input, &hard).unwrap();
    let input_s = input.to_str().unwrap();
    for out in [&input, &link, &hard] {
        for resume in [false, true] {
            let mut argv = vec!["-o", out.to_str().unwrap(), input_s];
            if resume {
                argv.push("--resume");
            }
            let run = crawlfish(&args(&argv), "").await;
            assert_eq!(run.code, Some(2), "{argv:?}: {}", run.stderr);
            assert!(run.stderr.contains("input"), "{}", run.stderr);
            assert_eq!(snapshot(&input), before, "{argv:?} changed the list");
        }
    }
    // The list on stdin is the same file too.
    let status = bin()
        .args(args(&["-o", input_s]))
        .stdin(std::fs::File::open(&input).unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .unwrap();
    assert_eq!(status.code(), Some(2));
    assert_eq!(snapshot(&input), before);
    assert_eq!(site.total_hits(), 0);
}

#[tokio::test]
async fn dash_o_dash_is_stdout() {
    let (_site, list) = pages(2).await;
    let dir = tempdir("dash-o");
    let run = bin()
        .args(args(&["-o", "-"]))
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut run = run;
    let mut stdin = run.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, list.as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(60), run.wait_with_output())
        .await
        .expect("crawlfish ends within the 60 s safety limit")
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        parse_lines(&String::from_utf8(out.stdout).unwrap()).len(),
        2
    );
    assert!(!dir.join("-").exists(), "no file named '-'");
    let resume = crawlfish(&args(&["-o", "-", "--resume"]), &list).await;
    assert_eq!(
        resume.code,
        Some(2),
        "--resume needs a file: {}",
        resume.stderr
    );
}

/// Runs `crawlfish ARGS` through `bash -c` (pipefail: a pipeline's code is crawlfish's) with stdout redirected as
/// `redirect` says (e.g. `>> list`).
async fn shell(args: &str, redirect: &str) -> (Option<i32>, String) {
    let bin = env!("CARGO_BIN_EXE_crawlfish");
    let out = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(format!("set -o pipefail; {bin} {args} {redirect}"))
        .env_clear()
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .await
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// Guards: stdout appended to an input list, or `--warc /dev/stdout`, mixed records into a file being read or archived.
#[tokio::test]
async fn stdout_is_neither_the_warc_nor_an_input() {
    let site = Site::start("127.0.0.152").await;
    site.html("/", "ok");
    let dir = tempdir("stdout-identity");
    let list = dir.join("list.txt");
    std::fs::write(&list, site.url("/") + "\n").unwrap();
    age(&list);
    let before = std::fs::read(&list).unwrap();
    let l = list.to_str().unwrap();
    // Records appended to the list being read.
    let (code, err) = shell(&format!("-q -r 0 --ignore-robots {l}"), &format!(">> {l}")).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("stdout is also an input"), "{err}");
    assert_eq!(std::fs::read(&list).unwrap(), before);
    // The archive onto stdout: a pipe, and a regular file stdout was redirected to.
    let out = dir.join("out.jsonl");
    for redirect in [
        "| cat > /dev/null".to_owned(),
        format!("> {}", out.display()),
    ] {
        let (code, err) = shell(
            &format!("-q -r 0 --ignore-robots --warc /dev/stdout {l}"),
            &redirect,
        )
        .await;
        assert_eq!(code, Some(2), "{redirect}: {err}");
        assert!(err.contains("is stdout"), "{err}");
    }
    assert_eq!(site.total_hits(), 0);
    // /dev/null for both (a cron line) is not refused.
    let (code, err) = shell(
        &format!("-q -r 0 --ignore-robots --warc /dev/null {l}"),
        "> /dev/null",
    )
    .await;
    assert_eq!(code, Some(0), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs crawlfish under `ulimit -f BLOCKS` (with `trap`, SIGXFSZ ignored by the shell first), so a write past
/// the limit fails with EFBIG, as on a full disk (a real failed write on a regular file, no root needed).
async fn run_with_file_size_limit(
    trap: bool,
    blocks: u32,
    argv: &[&str],
    stdin: &str,
) -> (Option<i32>, String) {
    let trap = if trap { "trap '' XFSZ; " } else { "" };
    let script = format!("{trap}ulimit -f {blocks}; exec \"$0\" \"$@\"");
    let mut child = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_crawlfish"))
        .args(argv)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_owned();
    tokio::spawn(async move {
        let _ = tokio::io::AsyncWriteExt::write_all(&mut pipe, input.as_bytes()).await;
    });
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("crawlfish ends within the 60 s safety limit")
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// "crawlfish: N records in …" from the summary line.
fn summary_records(stderr: &str) -> usize {
    let line = stderr
        .lines()
        .find(|l| l.contains(" records in "))
        .unwrap_or_else(|| panic!("no summary line in {stderr}"));
    let n = line
        .trim_start_matches("crawlfish: ")
        .split(' ')
        .next()
        .unwrap();
    n.parse().unwrap()
}

#[tokio::test]
async fn a_failed_write_leaves_whole_records_that_resume_completes() {
    let n = 300;
    let (site, list) = pages(n).await;
    let dir = tempdir("disk-full");
    let out = dir.join("out.jsonl");
    let out_s = out.to_str().unwrap();
    // 16 blocks (8 KiB with sh's 512-byte blocks): a few dozen records of ~330 bytes fit.
    let flags = ["-r", "0", "--ignore-robots", "-c", "4", "-o", out_s];
    let (code, stderr) = run_with_file_size_limit(true, 16, &flags, &list).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write") && stderr.contains("out.jsonl"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        !text.is_empty() && text.ends_with('\n'),
        "torn last line: {text:?}"
    );
    let on_disk = parse_lines(&text).len();
    assert!(on_disk < n);
    assert_eq!(
        summary_records(&stderr),
        on_disk,
        "the summary counts records on disk"
    );

    let hits = site.total_hits();
    let run = crawlfish(&args(&["-o", out_s, "--resume", "-c", "4"]), &list).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let after = std::fs::read_to_string(&out).unwrap();
    assert!(
        after.starts_with(&text),
        "resume keeps every byte already there"
    );
    assert_eq!(parse_lines(&after).len(), n);
    assert!(
        site.total_hits() - hits <= n - on_disk + 4,
        "only missing URLs are fetched"
    );
}

/// SIGXFSZ's default action killed the run at the limit (exit 153: a torn line or member, no summary).
#[tokio::test]
async fn a_file_size_limit_is_a_failed_write_not_a_kill() {
    let n = 300;
    let (_site, list) = pages(n).await;
    let dir = tempdir("fsize-signal");
    let out = dir.join("out.jsonl");
    let out_s = out.to_str().unwrap();
    let flags = ["-r", "0", "--ignore-robots", "-c", "4", "-o", out_s];
    let (code, stderr) = run_with_file_size_limit(false, 16, &flags, &list).await;
    assert_eq!(code, Some(2), "{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        !text.is_empty() && text.ends_with('\n'),
        "torn last line: {text:?}"
    );
    assert_eq!(summary_records(&stderr), parse_lines(&text).len());

    // The archive hits the limit first (the records go to stdout, a device the limit does not apply to).
    let warc = dir.join("out.warc.gz");
    let warc_s = warc.to_str().unwrap();
    let flags = ["-r", "0", "--ignore-robots", "-c", "4", "--warc", warc_s];
    let (code, stderr) = run_with_file_size_limit(false, 16, &flags, &list).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot write --warc"), "{stderr}");
    summary_records(&stderr);
    assert!(std::fs::metadata(&warc).unwrap().len() > 0);
    crate::support::warcio::check(warc_s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_failed_write_to_a_device_exits_2_with_the_reason() {
    let (_site, list) = pages(3).await;
    let run = crawlfish(&["-r", "0", "--ignore-robots", "-o", "/dev/full"], &list).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("/dev/full"), "{}", run.stderr);
    assert!(run.stderr.contains("0 records"), "{}", run.stderr);
}

#[tokio::test]
async fn input_with_a_byte_order_mark_is_read_as_text() {
    let (site, list) = pages(2).await;
    let dir = tempdir("bom");
    let mut utf8 = b"\xEF\xBB\xBF".to_vec();
    utf8.extend_from_slice(list.as_bytes());
    let text = format!("# a comment\r\n{}", list.replace('\n', "\r\n"));
    let mut le = vec![0xFF, 0xFE];
    let mut be = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        le.extend_from_slice(&unit.to_le_bytes());
        be.extend_from_slice(&unit.to_be_bytes());
    }
    for (name, bytes) in [("utf8.txt", utf8), ("utf16le.txt", le), ("utf16be.txt", be)] {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        let run = crawlfish(&args(&[path.to_str().unwrap()]), "").await;
        assert_eq!(run.code, Some(0), "{name}: {:#?}", run.records);
        assert_eq!(run.records.len(), 2, "{name}");
        assert_eq!(run.record(&site.url("/p0"))["status"], 200, "{name}");
        // The same bytes on stdin.
        let stdin = bin()
            .args(args(&[]))
            .stdin(std::fs::File::open(&path).unwrap())
            .stdout(Stdio::piped())
            .output()
            .await
            .unwrap();
        assert_eq!(stdin.status.code(), Some(0), "{name} on stdin");
    }
}

/// Two lines that differ only in bytes that are not UTF-8 (both shown as U+FFFD) were one
/// record. Each distinct input line gets its own.
#[tokio::test]
async fn distinct_invalid_lines_get_a_record_each() {
    let run = crawlfish(&args(&[]), "http://127.0.0.1:9/\u{fffd}x\n").await;
    assert_eq!(run.records.len(), 1);
    let mut child = spawn_with_input(
        &args(&[]),
        b"http://127.0.0.1:9/\xff\nhttp://127.0.0.1:9/\xfe\nhttp://127.0.0.1:9/\xff\n".to_vec(),
    );
    let out = child.stdout.take().unwrap();
    let mut text = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut tokio::io::BufReader::new(out), &mut text)
        .await
        .unwrap();
    assert_eq!(
        exit_code_within(&mut child, Duration::from_secs(30)).await,
        Some(1)
    );
    let records = parse_lines(&text);
    assert_eq!(
        records.len(),
        2,
        "two distinct lines (one repeated): {records:?}"
    );
    assert!(records.iter().all(|r| r["error"]["kind"] == "invalid_url"));
}

// Guards: `--save-cookies` or `--metrics-file` naming the input list, `-o`'s file or the archive replaced it whole
// with a cookie jar or metrics text (exit 0, records gone).
#[tokio::test]
async fn side_files_never_write_over_the_runs_own_files() {
    let site = Site::start("127.0.0.153").await;
    site.html("/", "ok");
    let dir = tempdir("side-files");
    let list = dir.join("list.txt");
    std::fs::write(&list, site.url("/") + "\n").unwrap();
    let out = dir.join("out.jsonl");
    std::fs::write(&out, "").unwrap();
    let warc = dir.join("w.warc.gz");
    let (l, o, w) = (
        list.to_str().unwrap(),
        out.to_str().unwrap(),
        warc.to_str().unwrap(),
    );
    for flag in ["--save-cookies", "--metrics-file"] {
        for (target, extra, says) in [
            (l, String::new(), "is also an input"),
            (o, format!("-o {o}"), "is also -o's file"),
        ] {
            let before = std::fs::read(target).unwrap();
            let (code, err) = shell(
                &format!("-q -r 0 --ignore-robots {extra} {flag} {target} {l}"),
                "",
            )
            .await;
            assert_eq!(code, Some(2), "{flag} {target}: {err}");
            assert!(err.contains(flag) && err.contains(says), "{err}");
            assert_eq!(std::fs::read(target).unwrap(), before, "{flag} {target}");
        }
    }
    // The archive: created by an earlier run, then named by --save-cookies.
    let (code, _) = shell(
        &format!("-q -r 0 --ignore-robots --warc {w} -o {o} {l}"),
        "",
    )
    .await;
    assert_eq!(code, Some(0));
    let before = std::fs::read(&warc).unwrap();
    let (code, err) = shell(
        &format!("-q -r 0 --ignore-robots --warc {w} --resume -o {o} --save-cookies {w} {l}"),
        "",
    )
    .await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("is also --warc's file"), "{err}");
    assert_eq!(std::fs::read(&warc).unwrap(), before);
}
