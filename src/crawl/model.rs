//! Model test of the scheduler ([`crate::crawl`]): random site graphs run through the real [`crate::crawl::crawl`]
//! loop with a model [`Visit`] (no network, a paused clock, deterministic per-page delays), checked against
//! breadth-first search: every run ends, every reachable URL gets exactly one record at its smallest depth, no
//! page is fetched twice, `-c` and `--per-host` are never exceeded, and `--max-pages` yields exactly that many.
//! With `--shard`, the search runs over this shard's pages only (listed pages and links of other shards are
//! dropped where they enter), and the skipped counts are checked too.
//!
//! `cargo test` runs a fixed-seed slice; `CRAWLFISH_MODEL_CASES=N` runs N cases (the benchmark runs 500).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::crawl::frontier::{Frontier, Job};
use crate::crawl::spill::Spill;
use crate::crawl::task::{SitemapTask, TaskOutcome, Visit};
use crate::crawl::CrawlOptions;
use crate::crawl::{crawl, Ctx};
use crate::input::{InputEvent, Seed};
use crate::output::Progress;
use crate::record::{ErrorKind, Record};
use crate::url::key::SeenSet;
use crate::url::shard::{OtherShards, Shard};
use crate::url::Scope;

/// Cases in `cargo test` (fixed seed).
const DEFAULT_CASES: u32 = 24;
/// Longest simulated page fetch.
const MAX_DELAY_MS: u64 = 40;

#[derive(Debug, Clone)]
struct Case {
    listed: usize,
    extra: usize,
    hosts: usize,
    max_links: usize,
    depth: u32,
    per_host: usize,
    concurrency: usize,
    max_pages: Option<u64>,
    shard: Option<Shard>,
    seed: u64,
}

/// A site graph: page `p` is `http://h{p % hosts}.test/p{p}`, links are page indices.
struct Graph {
    hosts: usize,
    links: Vec<Vec<usize>>,
    listed: Vec<usize>,
}

impl Graph {
    fn new(c: &Case) -> Graph {
        let mut rng = fastrand::Rng::with_seed(c.seed);
        let pages = c.listed + c.extra;
        let links = (0..pages)
            .map(|_| {
                let n = rng.usize(0..=c.max_links);
                (0..n).map(|_| rng.usize(0..pages)).collect()
            })
            .collect();
        let listed = (0..c.listed).map(|_| rng.usize(0..pages)).collect();
        Graph {
            hosts: c.hosts,
            links,
            listed,
        }
    }

    fn url(&self, p: usize) -> String {
        format!("http://{}/p{p}", self.host(p))
    }

    fn host(&self, p: usize) -> String {
        format!("h{}.test", p % self.hosts)
    }

    /// Multi-source breadth-first search over the pages `shard` owns: page → smallest depth, up to `max_depth`;
    /// and what the scheduler should have left to other shards (listed lines; distinct links it met while
    /// expanding pages above `max_depth`).
    fn bfs(&self, max_depth: u32, shard: Option<Shard>) -> (HashMap<usize, u32>, OtherShards) {
        let owned = |p: usize| shard.is_none_or(|s| s.owns_host(&self.host(p)));
        let mut depth = HashMap::new();
        let mut queue = VecDeque::new();
        let mut other = OtherShards::default();
        let mut linked = std::collections::HashSet::new();
        for &p in &self.listed {
            if !owned(p) {
                other.listed += 1;
            } else if depth.insert(p, 0).is_none() {
                queue.push_back(p);
            }
        }
        while let Some(p) = queue.pop_front() {
            let d = depth[&p];
            if d == max_depth {
                continue;
            }
            for &q in &self.links[p] {
                if !owned(q) {
                    linked.insert(q);
                } else if let std::collections::hash_map::Entry::Vacant(e) = depth.entry(q) {
                    e.insert(d + 1);
                    queue.push_back(q);
                }
            }
        }
        other.linked = linked.len() as u64;
        (depth, other)
    }
}

/// What the model saw: fetches per page, global and per-host concurrency.
#[derive(Default)]
struct Seen {
    fetches: Mutex<HashMap<usize, u32>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    host_in_flight: Mutex<HashMap<usize, usize>>,
    per_host_exceeded: AtomicUsize,
}

/// The model visitor: answers from the graph after a deterministic delay.
struct Model {
    graph: Arc<Graph>,
    depth: u32,
    per_host: usize,
    seen: Arc<Seen>,
}

fn page_of(url: &Url) -> usize {
    url.path()
        .trim_start_matches("/p")
        .parse()
        .unwrap_or(usize::MAX)
}

impl Visit for Model {
    fn page(&self, job: Job) -> BoxFuture<'static, TaskOutcome> {
        let p = page_of(&job.url);
        let host = p % self.graph.hosts;
        let seen = self.seen.clone();
        *seen.fetches.lock().unwrap().entry(p).or_default() += 1;
        let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        seen.max_in_flight.fetch_max(now, Ordering::SeqCst);
        {
            let mut h = seen.host_in_flight.lock().unwrap();
            let n = h.entry(host).or_default();
            *n += 1;
            if *n > self.per_host {
                seen.per_host_exceeded.fetch_add(1, Ordering::SeqCst);
            }
        }
        let links: Vec<String> = self.graph.links[p]
            .iter()
            .map(|&q| self.graph.url(q))
            .collect();
        let follow = if job.depth < self.depth {
            (0..links.len() as u32).collect()
        } else {
            Vec::new()
        };
        let delay = Duration::from_millis((p as u64).wrapping_mul(2_654_435_761) % MAX_DELAY_MS);
        async move {
            tokio::time::sleep(delay).await;
            seen.in_flight.fetch_sub(1, Ordering::SeqCst);
            *seen.host_in_flight.lock().unwrap().get_mut(&host).unwrap() -= 1;
            let mut record = Record::failed(
                job.url.as_str(),
                job.depth,
                job.parent.as_deref().map(str::to_owned),
                ErrorKind::Other,
                String::new(),
            );
            record.error = None;
            record.status = Some(200);
            record.links = links;
            TaskOutcome::Page {
                record: Box::new(record),
                follow,
                found: None,
            }
        }
        .boxed()
    }

    fn sitemap(&self, _task: SitemapTask) -> BoxFuture<'static, TaskOutcome> {
        unreachable!("the model runs without --sitemap")
    }
}

/// The case's `--frontier-memory`: none for odd seeds, else 0 to 6,000 bytes (0 to ~25 jobs in memory).
fn spill_budget(seed: u64) -> Option<u64> {
    seed.is_multiple_of(2).then_some((seed / 2 % 7) * 1_000)
}

/// The scheduler's context with the model as its visitor (recording what it fetched in `seen`), and the paused
/// single-thread runtime a case runs in (time is virtual: politeness waits cost nothing).
fn model_ctx(
    cfg: CrawlOptions,
    graph: &Arc<Graph>,
    c: &Case,
    seen: &Arc<Seen>,
) -> (Ctx, tokio::runtime::Runtime) {
    let model = Model {
        graph: graph.clone(),
        depth: c.depth,
        per_host: c.per_host,
        seen: seen.clone(),
    };
    let ctx = Ctx {
        cfg: Arc::new(cfg),
        visit: Arc::new(model),
        progress: Arc::new(Progress::default()),
        since: None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    (ctx, rt)
}

/// Runs one case through the real scheduler and checks it against the model. `Err` says what broke.
fn run_case(c: &Case) -> Result<(), String> {
    let graph = Arc::new(Graph::new(c));
    let cfg = CrawlOptions {
        concurrency: c.concurrency,
        per_host: c.per_host,
        depth: c.depth,
        max_pages: c.max_pages,
        robots: false,
        scope: Scope::Any,
        shard: c.shard,
        ..CrawlOptions::default()
    };
    let seen = Arc::new(Seen::default());
    let (ctx, rt) = model_ctx(cfg, &graph, c, &seen);
    let records = rt.block_on(async {
        let (seed_tx, seed_rx) = mpsc::channel(1024);
        let (rec_tx, mut rec_rx) = mpsc::channel::<Record>(1024);
        let listed: Vec<String> = graph.listed.iter().map(|&p| graph.url(p)).collect();
        tokio::spawn(async move {
            for u in listed {
                let url = Url::parse(&u).unwrap();
                if seed_tx
                    .send(InputEvent::Seeds(vec![Seed::Url(url)]))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        let collect = tokio::spawn(async move {
            let mut out = Vec::new();
            while let Some(r) = rec_rx.recv().await {
                out.push(r);
            }
            out
        });
        let frontier = Frontier::new(c.per_host, SeenSet::default());
        // Half the cases run with a frontier of a few jobs in memory, the rest on disk: the spill must keep
        // breadth-first order, exactly-once and the limits (budget 0 spills every job).
        let frontier = match spill_budget(c.seed) {
            Some(budget) => frontier.with_spill(budget, Spill::new(std::env::temp_dir())),
            None => frontier,
        };
        let run = crawl(
            ctx,
            seed_rx,
            rec_tx,
            frontier,
            crate::output::Requeue::default(),
            None,
            CancellationToken::new(),
        );
        // The clock is paused: a scheduler that waits on nothing trips this timeout at once.
        let end = tokio::time::timeout(Duration::from_secs(365 * 86_400), run)
            .await
            .map_err(|_| "the run never ended".to_owned())?;
        Ok::<_, String>((collect.await.unwrap(), end.other_shards))
    })?;
    check(c, &graph, &seen, &records)
}

fn check(
    c: &Case,
    graph: &Graph,
    seen: &Seen,
    (records, other): &(Vec<Record>, OtherShards),
) -> Result<(), String> {
    let (expected, want_other) = graph.bfs(c.depth, c.shard);
    // Without --max-pages every owned page above the depth is expanded, so the counts are exact.
    if c.max_pages.is_none() && *other != want_other {
        return Err(format!(
            "left to other shards {other:?}, expected {want_other:?}"
        ));
    }
    if c.shard.is_none() && *other != OtherShards::default() {
        return Err(format!("no --shard, yet {other:?}"));
    }
    let mut got: HashMap<usize, u32> = HashMap::new();
    for r in records {
        let p = page_of(&Url::parse(&r.url).unwrap());
        if got.insert(p, r.depth).is_some() {
            return Err(format!("two records for {}", r.url));
        }
        match expected.get(&p) {
            None => return Err(format!("{} is not reachable within the depth", r.url)),
            Some(&d) if d != r.depth => {
                return Err(format!("{} at depth {}, smallest is {d}", r.url, r.depth))
            }
            Some(_) => {}
        }
    }
    let want = c
        .max_pages
        .map_or(expected.len(), |m| expected.len().min(m as usize));
    if got.len() != want {
        return Err(format!("{} records, expected {want}", got.len()));
    }
    if let Some((p, n)) = seen.fetches.lock().unwrap().iter().find(|(_, &n)| n > 1) {
        return Err(format!("page {p} fetched {n} times"));
    }
    let max = seen.max_in_flight.load(Ordering::SeqCst);
    if max > c.concurrency {
        return Err(format!("{max} in flight with -c {}", c.concurrency));
    }
    if seen.per_host_exceeded.load(Ordering::SeqCst) > 0 {
        return Err(format!("--per-host {} exceeded", c.per_host));
    }
    Ok(())
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (
        1usize..=5_000,
        0usize..=5_000,
        1usize..=50,
        0usize..=100,
        0u32..=3,
        1usize..=64,
        1usize..=128,
        proptest::option::of(1u64..=6_000),
        proptest::option::of((1u32..=4).prop_flat_map(|n| (0..n, Just(n)))),
        any::<u64>(),
    )
        .prop_map(
            |(
                listed,
                extra,
                hosts,
                max_links,
                depth,
                per_host,
                concurrency,
                max_pages,
                shard,
                seed,
            )| {
                Case {
                    listed,
                    extra: extra.min(listed * 2),
                    hosts,
                    max_links,
                    depth,
                    per_host,
                    concurrency,
                    max_pages,
                    shard: shard.map(|(index, count)| Shard { index, count }),
                    seed,
                }
            },
        )
}

#[test]
fn scheduler_matches_breadth_first_search() {
    let cases = std::env::var("CRAWLFISH_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let config = RunnerConfig {
        cases,
        failure_persistence: None,
        ..RunnerConfig::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[42; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&case_strategy(), |c| {
        run_case(&c).map_err(|e| TestCaseError::fail(format!("{c:?}: {e}")))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// A crawl wider than its frontier's memory: every level past the first mostly on disk, one and many hosts.
#[test]
fn spilled_frontier_matches_breadth_first_search() {
    for (hosts, seed) in [(1, 4), (3, 6), (7, 8)] {
        let c = Case {
            listed: 20,
            extra: 3_000,
            hosts,
            max_links: 12,
            depth: 4,
            per_host: 3,
            concurrency: 8,
            max_pages: None,
            shard: None,
            seed,
        };
        assert!(spill_budget(c.seed).is_some());
        run_case(&c).unwrap();
    }
}

/// The hang from the issue: 1,000 listed URLs on one host, 20 same-host links a page, depth 1, `--per-host 64`.
#[test]
fn many_listed_urls_with_parked_links_finish() {
    let c = Case {
        listed: 1_000,
        extra: 20_000,
        hosts: 1,
        max_links: 20,
        depth: 1,
        per_host: 64,
        concurrency: 64,
        max_pages: None,
        shard: None,
        seed: 1,
    };
    run_case(&c).unwrap();
}

// Kill-and-resume against the same model.
mod resume;
