//! The model test of kill-and-resume: a crawl whose output stops at a random record (as `kill -9` stops it: the
//! records so far in FILE, written `--no-links`, and the links journal so far, perhaps with entries of records
//! that never reached FILE and a torn last line), then resumed from FILE and its journal, must end with exactly
//! breadth-first search's pages at their smallest depths, every page once, none in FILE fetched again, and each
//! URL a page of FILE queued with that page as its parent.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::{case_strategy, model_ctx, page_of, spill_budget, Case, Graph, Seen};
use crate::crawl::frontier::Frontier;
use crate::crawl::spill::Spill;
use crate::crawl::{crawl, CrawlOptions};
use crate::input::{InputEvent, Seed};
use crate::output::journal;
use crate::output::Requeue;
use crate::record::Record;
use crate::url::key::SeenSet;
use crate::url::Scope;

/// Cases in `cargo test` (fixed seed).
const CASES: u32 = 16;

/// One run of the case through the real scheduler: `frontier` and `requeue` as a resumed run has them; `each`
/// gets every record until it says stop (the "kill"). Returns what the model fetched.
fn run(
    c: &Case,
    graph: &Arc<Graph>,
    (frontier, requeue): (Frontier, Requeue),
    mut each: impl FnMut(Record) -> bool + Send + 'static,
) -> Arc<Seen> {
    let seen = Arc::new(Seen::default());
    let cfg = CrawlOptions {
        concurrency: c.concurrency,
        per_host: c.per_host,
        depth: c.depth,
        robots: false,
        scope: Scope::Any,
        ..CrawlOptions::default()
    };
    let (ctx, rt) = model_ctx(cfg, graph, c, &seen);
    rt.block_on(async {
        let (seed_tx, seed_rx) = mpsc::channel(1024);
        let (rec_tx, mut rec_rx) = mpsc::channel::<Record>(1024);
        let listed: Vec<String> = graph.listed.iter().map(|&p| graph.url(p)).collect();
        tokio::spawn(async move {
            for u in listed {
                let event = InputEvent::Seeds(vec![Seed::Url(Url::parse(&u).unwrap())]);
                if seed_tx.send(event).await.is_err() {
                    return;
                }
            }
        });
        let collect = tokio::spawn(async move {
            while let Some(r) = rec_rx.recv().await {
                if !each(r) {
                    return; // the kill: what is still in the channel is lost
                }
            }
        });
        let end = crawl(
            ctx,
            seed_rx,
            rec_tx,
            frontier,
            requeue,
            None,
            CancellationToken::new(),
        );
        tokio::time::timeout(Duration::from_secs(365 * 86_400), end)
            .await
            .expect("the run never ended");
        collect.await.unwrap();
    });
    seen
}

fn frontier(c: &Case, done: SeenSet) -> Frontier {
    let f = Frontier::new(c.per_host, done);
    match spill_budget(c.seed) {
        Some(budget) => f.with_spill(budget, Spill::new(std::env::temp_dir())),
        None => f,
    }
}

/// Run one, killed after `kill_at` records reach FILE (`-o FILE --no-links` with its journal), with `extra`
/// entries journaled whose lines never came and, when `torn`, half a line after the last whole one.
fn killed(c: &Case, graph: &Arc<Graph>, path: &Path, (kill_at, extra, torn): (usize, usize, bool)) {
    let mut journal = journal::Writer::create(&journal::path_for(path)).unwrap();
    let mut file = std::fs::File::create(path).unwrap();
    let (mut offset, mut n) = (0u64, 0usize);
    run(
        c,
        graph,
        (frontier(c, SeenSet::default()), Requeue::default()),
        move |mut r| {
            n += 1;
            journal.add(offset, &r);
            journal.write().unwrap();
            r.links.clear(); // --no-links: FILE cannot give the queue back
            let mut line = serde_json::to_vec(&r).unwrap();
            line.push(b'\n');
            offset += line.len() as u64; // as the writer's buffer: the next line's place, written or not
            if n <= kill_at {
                file.write_all(&line).unwrap();
                return true;
            }
            // Past the kill point: journaled, never written (the kill came between the two writes).
            if n < kill_at + extra.max(1) {
                return true;
            }
            if torn {
                file.write_all(&line[..line.len() / 2]).unwrap();
            }
            false
        },
    );
}

/// FILE's records: page → (depth, parent page).
fn file_records(path: &Path) -> Vec<(usize, u32, Option<usize>)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| l.ends_with('}'))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let page = |s: &str| page_of(&Url::parse(s).unwrap());
            let parent = v["parent"].as_str().map(page);
            (
                page(v["url"].as_str().unwrap()),
                v["depth"].as_u64().unwrap() as u32,
                parent,
            )
        })
        .collect()
}

fn run_killed_case(c: &Case, kill: (usize, usize, bool)) -> Result<(), String> {
    let graph = Arc::new(Graph::new(c));
    let dir = std::env::temp_dir().join(format!(
        "crawlfish-model-resume-{}-{}",
        std::process::id(),
        c.seed
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("out.jsonl");
    killed(c, &graph, &path, kill);
    // The resume, as `output::open` does it: FILE read for its URLs, the journal checked against it.
    let r = crate::output::resume::open(&path, "--resume", (false, false), None)
        .map_err(|e| format!("{e:#}"))?;
    let replay = journal::check(&journal::path_for(&path), "out.jsonl", r.len, r.tally)
        .map_err(|e| format!("{e:#}"))?
        .ok_or("no journal")?;
    // What FILE's pages queued first, by the journal: each such URL must keep that parent.
    let mut queued_by = HashMap::new();
    for e in journal::entries(&replay).unwrap() {
        let e = e.unwrap();
        for (link, _) in e.links {
            queued_by.insert(
                page_of(&Url::parse(&link).unwrap()),
                page_of(&Url::parse(&e.url).unwrap()),
            );
        }
    }
    let before = file_records(&path);
    let got = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = got.clone();
    let requeue = Requeue {
        records: Vec::new(),
        journal: Some(replay),
        bodies: Vec::new(),
    };
    let seen = run(c, &graph, (frontier(c, r.done), requeue), move |r| {
        let page = |s: &str| page_of(&Url::parse(s).unwrap());
        sink.lock()
            .unwrap()
            .push((page(&r.url), r.depth, r.parent.as_deref().map(page)));
        true
    });
    let _ = std::fs::remove_dir_all(&dir);
    let after = got.lock().unwrap().clone();
    let fetched = seen.fetches.lock().unwrap();
    if let Some((p, ..)) = before.iter().find(|(p, ..)| fetched.contains_key(p)) {
        return Err(format!("page {p} is in FILE, yet fetched again"));
    }
    if let Some((p, n)) = fetched.iter().find(|(_, &n)| n > 1) {
        return Err(format!("page {p} fetched {n} times by the resumed run"));
    }
    compare(c, &graph, &before, &after, &queued_by)
}

type Rows = [(usize, u32, Option<usize>)];

/// The union of FILE and the resumed run against breadth-first search.
fn compare(
    c: &Case,
    graph: &Graph,
    before: &Rows,
    after: &Rows,
    queued_by: &HashMap<usize, usize>,
) -> Result<(), String> {
    let (expected, _) = graph.bfs(c.depth, None);
    let mut got = HashMap::new();
    for &(p, depth, parent) in before.iter().chain(after) {
        if got.insert(p, (depth, parent)).is_some() {
            return Err(format!("two records for page {p}"));
        }
        if expected.get(&p) != Some(&depth) {
            return Err(format!(
                "page {p} at depth {depth}, breadth-first says {:?}",
                expected.get(&p)
            ));
        }
        // A listed page a link found first is still listed (depth 0, no parent), as in an uninterrupted run.
        if let (Some(&q), true) = (queued_by.get(&p), depth > 0) {
            if parent != Some(q) {
                return Err(format!(
                    "page {p} has parent {parent:?}; FILE's page {q} queued it"
                ));
            }
        }
        if let Some(q) = parent {
            if !graph.links[q].contains(&p) || expected.get(&q) != Some(&(depth - 1)) {
                return Err(format!("page {p}'s parent {q} is no breadth-first parent"));
            }
        }
    }
    if got.len() != expected.len() {
        return Err(format!(
            "{} records, breadth-first reaches {}",
            got.len(),
            expected.len()
        ));
    }
    Ok(())
}

#[test]
fn a_crawl_killed_anywhere_and_resumed_matches_breadth_first_search() {
    let config = RunnerConfig {
        cases: CASES,
        failure_persistence: None,
        ..RunnerConfig::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[19; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let strategy = (case_strategy(), 0usize..1000, 0usize..4, any::<bool>());
    let result = runner.run(&strategy, |(mut c, at, extra, torn)| {
        (c.max_pages, c.shard) = (None, None);
        c.depth = c.depth.max(1);
        let reach = Graph::new(&c).bfs(c.depth, None).0.len();
        let kill = (reach * at / 1000, extra, torn);
        run_killed_case(&c, kill)
            .map_err(|e| TestCaseError::fail(format!("{c:?} killed at {kill:?}: {e}")))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Killed before any record and after nearly all: both ends of the range.
#[test]
fn a_crawl_killed_at_either_end_is_resumed() {
    let c = Case {
        listed: 5,
        extra: 400,
        hosts: 3,
        max_links: 8,
        depth: 3,
        per_host: 2,
        concurrency: 6,
        max_pages: None,
        shard: None,
        seed: 2,
    };
    let reach = Graph::new(&c).bfs(c.depth, None).0.len();
    for kill in [
        (0, 0, false),
        (0, 2, true),
        (reach - 1, 1, true),
        (reach / 2, 3, false),
    ] {
        run_killed_case(&c, kill).unwrap();
    }
}
