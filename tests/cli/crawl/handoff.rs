//! `--handoff DIR` end to end over the web of `web.rs` (eight hosts, `--scope any`, depth 2): three shards run at
//! the same time, cycle after cycle, and together reach exactly the one-machine crawl (every URL, at its depth, by
//! its owner only, once per run) although one shard alone loses the links to the others; a handed-over link keeps
//! its depth and parent; temporary and torn files are never read; a shard killed mid-run leaves its inbox for the
//! next run and only whole segments in the others'.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::web::*;
use crate::support::*;

/// Cycles at most before the union must equal one machine (the web's cross-shard chains are at most two links
/// long at depth 2, and each crossing takes at most two cycles: same run when polled in time, else the next).
const MAX_CYCLES: usize = 6;

/// The whole segment files of `inbox`, and whether any file there is not one (a temporary one).
fn segments(inbox: &Path) -> (Vec<String>, bool) {
    let mut names = Vec::new();
    let mut other = false;
    for e in std::fs::read_dir(inbox).into_iter().flatten() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if !name.starts_with('.') && name.ends_with(".seg") {
            names.push(name);
        } else {
            other = true;
        }
    }
    (names, other)
}

/// Every line of every segment in `inbox`, parsed (a torn one fails the test).
fn handed(inbox: &Path) -> Vec<Value> {
    let (names, _) = segments(inbox);
    let mut out = Vec::new();
    for name in names {
        let text = std::fs::read_to_string(inbox.join(&name)).unwrap();
        assert!(text.ends_with('\n'), "{name} is torn: {text:?}");
        out.extend(
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    out
}

fn line(url: &str, depth: u32, parent: &str) -> String {
    serde_json::json!({"url": url, "depth": depth, "parent": parent, "root": parent}).to_string()
        + "\n"
}

/// The records of shard `i`'s run: its stdout, or with `--state` the run `latest.jsonl` now points at.
fn records_of(run: &Run, state: Option<&Path>) -> Vec<Value> {
    match state {
        None => run.records.clone(),
        Some(dir) => parse_lines(&std::fs::read_to_string(dir.join("latest.jsonl")).unwrap()),
    }
}

#[tokio::test]
async fn three_shards_over_cycles_reach_exactly_one_machine() {
    cycles_reach_one_machine(false).await;
}

/// The cron recipe: each shard keeps its own `--state DIR`; each cycle takes what the others handed over since.
#[tokio::test]
async fn three_shards_with_state_over_cycles_reach_exactly_one_machine() {
    cycles_reach_one_machine(true).await;
}

async fn cycles_reach_one_machine(state: bool) {
    let web = Web::start().await;
    let (whole, _) = web.run(&["--scope", "any"]).await;
    let want: BTreeMap<String, u64> = by_url(&whole.records)
        .into_iter()
        .map(|(u, (d, _))| (u, d))
        .collect();
    // Without --handoff the shards lose pages (so this test fails if handing over does nothing).
    let alone: usize = (0..N).map(|i| web.model("any", Some(i)).0.len()).sum();
    assert!(alone < want.len(), "{alone} vs {}", want.len());
    let dir = tempdir(&format!("handoff-cycles-{state}"));
    let dir_s = dir.display().to_string();
    let specs: Vec<String> = (0..N).map(|i| format!("{i}/{N}")).collect();
    let states: Vec<String> = (0..N).map(|i| format!("{dir_s}/state-{i}")).collect();
    let argv = |i: usize| {
        let mut a = vec!["--scope", "any", "--shard", &specs[i], "--handoff", &dir_s];
        if state {
            a.extend(["--state", states[i].as_str()]);
        }
        a
    };
    let mut best: BTreeMap<String, u64> = BTreeMap::new();
    let mut cycles = 0;
    while best != want {
        cycles += 1;
        assert!(
            cycles <= MAX_CYCLES,
            "after {MAX_CYCLES} cycles {best:?} != {want:?}"
        );
        let (a0, a1, a2) = (argv(0), argv(1), argv(2));
        let runs = tokio::join!(web.run(&a0), web.run(&a1), web.run(&a2));
        for (i, (run, _)) in [runs.0, runs.1, runs.2].into_iter().enumerate() {
            // 1: the input's invalid line is a failed record.
            assert!(matches!(run.code, Some(0 | 1)), "{}", run.stderr);
            let records = records_of(&run, state.then(|| Path::new(&states[i])));
            // by_url fails on a second record for one URL: exactly once per run.
            for (url, (depth, _)) in by_url(&records) {
                let Some(&d) = want.get(&url) else {
                    panic!("cycle {cycles}: shard {i} crawled {url}, which one machine does not");
                };
                if url.starts_with("http") {
                    assert_eq!(
                        web.host_of(&url).shard,
                        i as u32,
                        "{url} crawled by shard {i}"
                    );
                }
                assert!(depth >= d, "{url} at depth {depth} below its smallest {d}");
                let e = best.entry(url).or_insert(depth);
                *e = (*e).min(depth);
            }
            for r in &records {
                if let (Some(parent), Some(d)) = (r["parent"].as_str(), r["depth"].as_u64()) {
                    assert_eq!(want.get(parent), Some(&(d - 1)), "parent of {}", r["url"]);
                }
            }
        }
    }
    for i in 0..N {
        let (_, other) = segments(&dir.join(format!("inbox-{i}")));
        assert!(!other, "a temporary file was left in inbox-{i}");
    }
    eprintln!(
        "handoff (state {state}): {} URLs one machine = union of 3 shards after {cycles} cycles (alone {alone})",
        want.len()
    );
}

#[tokio::test]
async fn handed_links_keep_depth_and_parent_and_torn_files_are_never_read() {
    let web = Web::start().await;
    let h = &web.hosts[6]; // 127.0.0.9, shard 0
    assert_eq!(h.shard, 0);
    let dir = tempdir("handoff-carry");
    let inbox = dir.join("inbox-0");
    std::fs::create_dir_all(&inbox).unwrap();
    let fake = "http://127.0.0.7:9/fake";
    // /p4 is three links below / on its own host: beyond --depth 2 unless handed over at depth 1.
    let seg1 = line(&h.url("/p4"), 1, fake)
        + &line(&h.url("/"), 1, fake)
        + &line(&h.url("/deep"), 3, fake);
    std::fs::write(inbox.join("1-aa-1-000001.seg"), seg1).unwrap();
    let torn = line(&h.url("/whole"), 2, fake) + &line(&h.url("/torn"), 1, fake)[..30];
    std::fs::write(inbox.join("1-aa-1-000002.seg"), torn).unwrap();
    // What a writer killed mid-write leaves: a whole line, but under its temporary name.
    std::fs::write(
        inbox.join(".1-aa-1-000003.seg.tmp"),
        line(&h.url("/tmp"), 1, fake),
    )
    .unwrap();
    let dir_s = dir.display().to_string();
    let (run, _) = web
        .run(&["--scope", "any", "--shard", "0/3", "--handoff", &dir_s])
        .await;
    assert!(matches!(run.code, Some(0 | 1)), "{}", run.stderr);
    let got = by_url(&run.records);
    let p4 = run.record(&h.url("/p4"));
    assert_eq!(
        (p4["depth"].as_u64(), p4["parent"].as_str()),
        (Some(1), Some(fake))
    );
    assert_eq!(
        got[&h.url("/")].0,
        0,
        "a listed URL handed over again keeps its one record"
    );
    assert_eq!(got[&h.url("/whole")].0, 2);
    for never in ["/deep", "/torn", "/tmp"] {
        assert!(!got.contains_key(&h.url(never)), "{never} was crawled");
        assert_eq!(h.site.hits(never), 0, "{never} was requested");
    }
    let (left, other) = segments(&inbox);
    assert!(
        left.is_empty(),
        "taken segments are deleted once written: {left:?}"
    );
    assert!(other, "the temporary file is left alone");
    // What shard 0 left to the others is handed to them, whole, with depth and parent.
    let (_, _, linked_other) = web.model("any", Some(0));
    let out: Vec<Value> = (1..N)
        .flat_map(|i| handed(&dir.join(format!("inbox-{i}"))))
        .collect();
    assert_eq!(out.len() as u64, linked_other, "{out:?}");
    for l in &out {
        let d = l["depth"].as_u64().unwrap();
        assert!(
            (1..=2).contains(&d) && l["parent"].as_str().unwrap().starts_with("http"),
            "{l}"
        );
        assert_ne!(web.host_of(l["url"].as_str().unwrap()).shard, 0, "{l}");
    }
}

#[tokio::test]
async fn a_shard_killed_mid_run_leaves_its_inbox_and_only_whole_segments() {
    let mine = Site::start("127.0.0.9").await; // shard 0 of 3
    let theirs = Site::start("127.0.0.7").await; // shard 1 of 3
    let gate = Gate::default();
    mine.html(
        "/",
        &format!(
            "<a href=\"{}\">a</a><a href=\"/slow\">s</a>",
            theirs.url("/a")
        ),
    );
    mine.route("/slow", vec![Step::html("slow").held(&gate)]);
    theirs.html("/a", "<title>a</title>");
    let dir = tempdir("handoff-kill");
    let inbox0 = dir.join("inbox-0");
    std::fs::create_dir_all(&inbox0).unwrap();
    let kept = inbox0.join("2-bb-1-000001.seg");
    std::fs::write(&kept, line(&mine.url("/p"), 1, &mine.url("/"))).unwrap();
    let dir_s = dir.display().to_string();
    let base = [
        "-r",
        "0",
        "--timeout",
        "30",
        "--depth",
        "1",
        "--scope",
        "any",
        "-q",
        "--handoff",
        &dir_s,
    ];
    let mut a = base.to_vec();
    a.extend(["--shard", "0/3"]);
    let mut child = spawn_with_input(&a, mine.url("/") + "\n");
    let inbox1 = dir.join("inbox-1");
    // Both: `/`'s links go to the outbox (a segment, written by its own task) and to the queue (`/slow`) at about
    // the same time, in no fixed order, so a segment alone does not mean `/slow` was asked for yet.
    wait_until(
        "shard 0's handoff to shard 1 and /slow in flight",
        Duration::from_secs(20),
        || !segments(&inbox1).0.is_empty() && mine.hits("/slow") == 1,
    )
    .await;
    assert_eq!(mine.hits("/slow"), 1, "shard 0 is still in flight");
    kill(&child, "-KILL").await;
    exit_code_within(&mut child, Duration::from_secs(10)).await;
    gate.open();
    assert!(kept.exists(), "a run that died deletes nothing it took");
    let out = handed(&inbox1);
    assert_eq!(out.len(), 1, "{out:?}");
    // Shard 1, with nothing listed, crawls what it was handed: at its depth, with its parent.
    let mut b = base.to_vec();
    b.extend(["--shard", "1/3"]);
    let run = crawlfish(&b, "").await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.records.len(), 1, "{:?}", run.records);
    let r = run.record(&theirs.url("/a"));
    assert_eq!(
        (r["depth"].as_u64(), r["parent"].as_str()),
        (Some(1), Some(mine.url("/").as_str()))
    );
    assert!(segments(&inbox1).0.is_empty(), "taken and deleted");
}
