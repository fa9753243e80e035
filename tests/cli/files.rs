//! The user's files are never destroyed: `-o` is opened only after every check passed, `--resume` only continues
//! crawlfish's own output, `-o` cannot be an input, a failed write leaves whole records, and input files with a
//! byte-order mark are read as the text they hold.

use std::path::Path;
use std::process::Stdio;

use crate::core::tempdir;
use crate::support::*;

/// Bytes, size and modification time: what "left as it was" means.
fn snapshot(path: &Path) -> (Vec<u8>, std::time::SystemTime) {
    let bytes = std::fs::read(path).unwrap();
    let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
    (bytes, mtime)
}

/// A site with `n` small pages and the list of their URLs (one per line).
async fn pages(n: usize) -> (Site, String) {
    let site = Site::start("127.0.0.1").await;
    let mut list = String::new();
    for i in 0..n {
        let path = format!("/p{i}");
        site.html(&path, "<title>page</title>");
        list += &format!("{}\n", site.url(&path));
    }
    (site, list)
}

/// A complete record line, as a previous run would have written it.
const RECORD: &str = "{\"url\":\"http://127.0.0.1:9/x\",\"final_url\":null,\"status\":null,\"depth\":0,\
    \"parent\":null,\"content_type\":null,\"bytes\":0,\"truncated\":false,\"title\":null,\"links\":[],\
    \"fetched_at\":\"2024-01-01T00:00:00Z\",\"elapsed_ms\":1,\"attempts\":1,\"error\":{\"kind\":\"connect\",\
    \"message\":\"refused\"},\"redirects\":[]}\n";

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
    let out = run.wait_with_output().await.unwrap();
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
