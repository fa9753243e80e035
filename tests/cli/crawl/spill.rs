//! `--frontier-memory` / `--spill-dir`: a crawl whose frontier lives on disk ends with the records of one held in
//! memory, leaves no spill behind, and a full disk while spilling is exit 2 with every record so far intact.

use std::collections::BTreeSet;
use std::process::Stdio;

use crate::support::*;

/// A root linking to `hubs` hubs of `leaves` leaves each (1 + hubs + hubs × leaves pages).
async fn hub_site(ip: &str, hubs: usize, leaves: usize) -> Site {
    let site = Site::start(ip).await;
    let links = |paths: Vec<String>| -> String {
        paths
            .iter()
            .map(|p| format!("<a href=\"{p}\">x</a>"))
            .collect()
    };
    site.html("/", &links((0..hubs).map(|h| format!("/h{h}")).collect()));
    for h in 0..hubs {
        site.html(
            &format!("/h{h}"),
            &links((0..leaves).map(|l| format!("/h{h}/l{l}")).collect()),
        );
        for l in 0..leaves {
            site.html(&format!("/h{h}/l{l}"), "<title>leaf</title>");
        }
    }
    site
}

/// (url, depth, parent) of every record.
fn shape(run: &Run) -> BTreeSet<(String, u64, String)> {
    run.records
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (s("url"), r["depth"].as_u64().unwrap(), s("parent"))
        })
        .collect()
}

#[tokio::test]
async fn a_spilled_crawl_has_the_records_of_one_held_in_memory() {
    let site = hub_site("127.0.0.71", 30, 60).await;
    let dir = tempdir("spill-same");
    let dir_s = dir.to_str().unwrap();
    let root = site.url("/");
    let base = ["--depth", "2", "-c", "8", "--per-host", "8"];
    let memory = crawlfish(&args(&base), &root).await;
    assert_eq!(memory.code, Some(0), "{}", memory.stderr);
    assert_eq!(memory.records.len(), 1 + 30 + 30 * 60);
    // Budget 0: every queued URL goes through the spill. -v (without -q) logs what was spilled.
    let mut flags = base.to_vec();
    flags.extend(["-r", "0", "--ignore-robots", "--timeout", "5", "-v"]);
    flags.extend(["--frontier-memory", "0", "--spill-dir", dir_s]);
    let spilled = crawlfish(&flags, &root).await;
    assert_eq!(spilled.code, Some(0), "{}", spilled.stderr);
    assert!(
        spilled.stderr.contains("frontier spill: 18"),
        "{}",
        spilled.stderr
    );
    assert_eq!(shape(&spilled), shape(&memory));
    assert_eq!(spilled.records.len(), memory.records.len(), "each URL once");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "the spill directory is removed at exit"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_crawl_within_its_frontier_memory_writes_nothing_to_disk() {
    let site = hub_site("127.0.0.72", 5, 5).await;
    let dir = tempdir("spill-none");
    let flags = args(&["--depth", "2", "--spill-dir", dir.to_str().unwrap()]);
    // The spill directory would be made inside a path that cannot be created: any disk use fails the run.
    let blocked = dir.join("file");
    std::fs::write(&blocked, "").unwrap();
    let mut flags = flags;
    let last = flags.len() - 1;
    flags[last] = blocked.to_str().unwrap();
    let run = crawlfish(&flags, &site.url("/")).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.records.len(), 1 + 5 + 25);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Under `ulimit -f` (SIGXFSZ ignored) a segment's or a seen-set run's write fails with EFBIG, as on a full disk;
/// the records go to a pipe, which the limit does not apply to.
#[tokio::test]
async fn a_full_disk_while_spilling_is_exit_2_with_every_record_so_far() {
    let site = hub_site("127.0.0.73", 1, 4_000).await;
    let dir = tempdir("spill-full");
    let flags = args(&[
        "--depth",
        "2",
        "--frontier-memory",
        "0",
        "--spill-dir",
        dir.to_str().unwrap(),
    ]);
    let script = "trap '' XFSZ; ulimit -f 16; exec \"$0\" \"$@\"";
    let mut child = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_crawlfish"))
        .args(flags.iter().filter(|a| **a != "-q"))
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let root = site.url("/");
    tokio::spawn(async move {
        let _ = tokio::io::AsyncWriteExt::write_all(&mut pipe, root.as_bytes()).await;
    });
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("crawlfish ends within the 60 s safety limit")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // Whichever reaches the limit first: the jobs' segments or the seen-set's first run (4,000 URLs).
    assert!(
        stderr.contains("the frontier's spill to disk failed")
            || stderr.contains("the seen-set's runs on disk in"),
        "{stderr}"
    );
    assert!(stderr.contains("File too large"), "{stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let records = parse_lines(&text);
    assert!(!records.is_empty() && text.ends_with('\n'));
    assert!(records.len() < 4_002, "the run stopped");
    let urls: BTreeSet<&str> = records.iter().map(|r| r["url"].as_str().unwrap()).collect();
    assert_eq!(urls.len(), records.len(), "each URL once");
    assert!(
        stderr.contains(&format!("{} records", records.len())),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "the spill directory is removed"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--frontier-memory 0`: the seen-set's in-memory part is at its floor (16 KiB, ~900 URLs), so 2,041 URLs go
/// to disk in runs and are merged; every page is still fetched once and reported once, and the runs go with the
/// spill directory at exit.
#[tokio::test]
async fn a_seen_set_on_disk_reports_every_url_once() {
    let (hubs, leaves) = (40, 50);
    let site = hub_site("127.0.0.74", hubs, leaves).await;
    let dir = tempdir("spill-seen");
    let flags = [
        "--depth",
        "2",
        "-c",
        "8",
        "--per-host",
        "8",
        "-r",
        "0",
        "--ignore-robots",
        "--timeout",
        "5",
        "-v",
        "--frontier-memory",
        "0",
        "--spill-dir",
        dir.to_str().unwrap(),
    ];
    let run = crawlfish(&flags, &site.url("/")).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("seen-set on disk: "),
        "the seen-set went to disk: {}",
        run.stderr
    );
    let pages = 1 + hubs + hubs * leaves;
    assert_eq!(run.records.len(), pages);
    let urls: BTreeSet<&str> = run
        .records
        .iter()
        .map(|r| r["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls.len(), pages, "each URL once");
    assert!(run.records.iter().all(|r| r["status"] == 200));
    assert_eq!(site.total_hits(), pages, "each page fetched once");
    for h in [0, hubs - 1] {
        assert_eq!(site.hits(&format!("/h{h}")), 1);
        assert_eq!(site.hits(&format!("/h{h}/l{}", leaves - 1)), 1);
    }
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "the spill directory, runs and all, is removed at exit"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
