//! The scheduler: one loop owns the frontier, the `JoinSet` of fetch tasks, the global semaphore and the host
//! table. It reads seeds only while the frontier is short (a huge list is streamed, never queued whole), takes a
//! global permit **before** spawning (so queued URLs cost memory, not tasks), turns every task outcome into exactly
//! one record on the bounded channel (a slow writer slows the crawl), and queues what pages link to.
//!
//! Tasks return what they found and touch no shared state. Must not write output (the writer owns it).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::{Id, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::cli::Config;
use crate::fetch::Fetcher;
use crate::frontier::{key, Frontier, Job};
use crate::host::Host;
use crate::input::{InputEvent, Seed};
use crate::output::{Progress, Resumed};
use crate::parse::{self, Page};
use crate::record::{cut, now_rfc3339, ErrorKind, Record};
use crate::url::host_key;

/// Queued URLs read ahead of dispatch at most: when the hosts at the head of the input are all busy, input is
/// read further (so a later host is not left idle), but never more than this, which bounds the frontier's memory.
const MAX_READ_AHEAD: usize = 4_096;

/// How long in-flight fetches may still finish after SIGINT/SIGTERM before they are cancelled.
pub const GRACE: Duration = Duration::from_secs(2);

/// What the run shares with every task.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub cfg: Arc<Config>,
    pub fetcher: Fetcher,
    pub progress: Arc<Progress>,
}

/// Why the scheduler stopped, beyond "everything was done".
#[derive(Debug, Default)]
pub struct CrawlEnd {
    pub input_error: Option<String>,
}

enum Outcome {
    Page {
        record: Box<Record>,
        /// Indices into `record.links` of the links a crawl may follow.
        follow: Vec<u32>,
    },
    Sitemap(Vec<(Url, String)>),
}

enum Running {
    Page(Job),
    Sitemap,
}

struct Scheduler {
    ctx: Ctx,
    frontier: Frontier,
    tasks: JoinSet<Outcome>,
    running: HashMap<Id, Running>,
    hosts: HashMap<Arc<str>, Arc<Host>>,
    sitemap_hosts: HashSet<Arc<str>>,
    semaphore: Arc<Semaphore>,
    records: mpsc::Sender<Record>,
    dispatched: u64,
    output_closed: bool,
}

/// Runs the crawl to its end: input exhausted and nothing queued or in flight, `--max-pages` reached, the output
/// closed, or `cancel` fired (then in-flight fetches get [`GRACE`] to finish).
pub async fn crawl(
    ctx: Ctx,
    mut seeds: mpsc::Receiver<InputEvent>,
    records: mpsc::Sender<Record>,
    frontier: Frontier,
    resumed: Vec<Resumed>,
    cancel: CancellationToken,
) -> CrawlEnd {
    let low_water = (ctx.cfg.concurrency * 4).max(256);
    let mut s = Scheduler {
        semaphore: Arc::new(Semaphore::new(ctx.cfg.concurrency)),
        ctx,
        frontier,
        tasks: JoinSet::new(),
        running: HashMap::new(),
        hosts: HashMap::new(),
        sitemap_hosts: HashSet::new(),
        records,
        dispatched: 0,
        output_closed: false,
    };
    s.requeue_resumed(resumed);
    let mut end = CrawlEnd::default();
    let mut input_open = true;
    let mut grace: Option<Instant> = None;
    loop {
        // Starved: a global slot is free but every queued URL's host is busy; reading further may find other hosts.
        let mut starved = false;
        if grace.is_none() && !s.output_closed {
            starved = s.dispatch();
        }
        let budget_spent = s.budget_spent();
        if s.tasks.is_empty()
            && (s.frontier.is_finished() || budget_spent || grace.is_some() || s.output_closed)
        {
            break;
        }
        if s.output_closed {
            s.tasks.shutdown().await;
            break;
        }
        let queued = s.frontier.queued();
        let want_input = input_open
            && grace.is_none()
            && !budget_spent
            && (queued < low_water || (starved && queued < MAX_READ_AHEAD));
        tokio::select! {
            biased;
            () = cancel.cancelled(), if grace.is_none() => grace = Some(Instant::now() + GRACE),
            () = sleep_until_opt(grace), if grace.is_some() => {
                s.tasks.shutdown().await;
                break;
            }
            Some(joined) = s.tasks.join_next_with_id(), if !s.tasks.is_empty() => s.finished(joined).await,
            event = seeds.recv(), if want_input => match event {
                Some(InputEvent::Seed(seed)) => s.seed(seed).await,
                Some(InputEvent::Failed(msg)) => {
                    tracing::error!("{msg}");
                    end.input_error = Some(msg);
                    input_open = false;
                    s.frontier.close_input();
                }
                None => {
                    input_open = false;
                    s.frontier.close_input();
                }
            },
            else => break,
        }
    }
    end
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

impl Scheduler {
    fn budget_spent(&self) -> bool {
        self.ctx
            .cfg
            .max_pages
            .is_some_and(|max| self.dispatched >= max)
    }

    /// Spawns fetches while a global permit and a ready job are both at hand. Returns true when a permit was
    /// left over because no queued job was ready (its host at `--per-host`, or its depth not yet open).
    fn dispatch(&mut self) -> bool {
        while !self.budget_spent() {
            let Ok(permit) = self.semaphore.clone().try_acquire_owned() else {
                return false;
            };
            let Some(job) = self.frontier.pop() else {
                return true;
            };
            self.dispatched += 1;
            let host = self.host(&job.host, &job.url);
            let ctx = self.ctx.clone();
            let task = job.clone();
            let handle = self
                .tasks
                .spawn(async move { visit(ctx, host, task, permit).await });
            self.running.insert(handle.id(), Running::Page(job));
            self.ctx.progress.in_flight.fetch_add(1, Ordering::Relaxed);
        }
        false
    }

    fn host(&mut self, key: &Arc<str>, url: &Url) -> Arc<Host> {
        let cfg = &self.ctx.cfg;
        self.hosts
            .entry(key.clone())
            .or_insert_with(|| Arc::new(Host::new(url, cfg.rate, cfg.max_retry_after)))
            .clone()
    }

    async fn seed(&mut self, seed: Seed) {
        match seed {
            Seed::Invalid { line, reason } => {
                let line = cut(&line, 2048);
                if self.frontier.first_sight(key(&line)) {
                    let msg = format!("not an http(s) URL: {reason}");
                    self.emit(Record::failed(&line, 0, None, ErrorKind::InvalidUrl, msg))
                        .await;
                }
            }
            Seed::Url(url) => {
                let host: Arc<str> = host_key(&url).into();
                let root: Arc<str> = url.host_str().unwrap_or_default().into();
                if self.ctx.cfg.sitemap && self.sitemap_hosts.insert(host.clone()) {
                    self.spawn_sitemap(&host, &url);
                }
                self.frontier.push(Job {
                    url,
                    host,
                    depth: 0,
                    parent: None,
                    root,
                });
            }
        }
    }

    fn spawn_sitemap(&mut self, host_key: &Arc<str>, listed: &Url) {
        let host = self.host(host_key, listed);
        let fetcher = self.ctx.fetcher.clone();
        let listed = listed.clone();
        self.frontier.hold(0);
        let handle = self.tasks.spawn(async move {
            Outcome::Sitemap(crate::sitemap::discover(&fetcher, &host, &listed).await)
        });
        self.running.insert(handle.id(), Running::Sitemap);
    }

    async fn finished(&mut self, joined: Result<(Id, Outcome), tokio::task::JoinError>) {
        let (id, outcome) = match joined {
            Ok((id, outcome)) => (id, Ok(outcome)),
            Err(e) => (e.id(), Err(e)),
        };
        match (self.running.remove(&id), outcome) {
            (Some(Running::Page(job)), outcome) => {
                self.ctx.progress.in_flight.fetch_sub(1, Ordering::Relaxed);
                let (record, follow) = page_outcome(&job, outcome);
                let parent: Arc<str> = Arc::from(record.url.as_str());
                for link in follow.iter().filter_map(|&i| record.links.get(i as usize)) {
                    self.queue_link(link, job.depth + 1, &parent, &job.root);
                }
                self.frontier.done(&job.host, job.depth);
                self.emit(record).await;
            }
            (Some(Running::Sitemap), outcome) => {
                if let Ok(Outcome::Sitemap(urls)) = outcome {
                    for (url, sitemap) in urls {
                        let root: Arc<str> = url.host_str().unwrap_or_default().into();
                        self.push_at(url, 0, Some(Arc::from(sitemap.as_str())), root);
                    }
                }
                self.frontier.release(0);
            }
            (None, _) => {}
        }
    }

    /// Queues a discovered link unless it was seen: the string is hashed once (most links were seen before) and
    /// only a new one is parsed.
    fn queue_link(&mut self, link: &str, depth: u32, parent: &Arc<str>, root: &Arc<str>) {
        if !self.frontier.first_sight(key(link)) {
            return;
        }
        if let Ok(url) = Url::parse(link) {
            self.frontier.enqueue(Job {
                host: host_key(&url).into(),
                url,
                depth,
                parent: Some(parent.clone()),
                root: root.clone(),
            });
        }
    }

    fn push_at(&mut self, url: Url, depth: u32, parent: Option<Arc<str>>, root: Arc<str>) {
        let host: Arc<str> = host_key(&url).into();
        self.frontier.push(Job {
            url,
            host,
            depth,
            parent,
            root,
        });
    }

    /// `--resume` in crawl mode: links of pages already written are queued again (the seen-set drops those done).
    fn requeue_resumed(&mut self, resumed: Vec<Resumed>) {
        let cfg = self.ctx.cfg.clone();
        for r in resumed {
            let Ok(page) = Url::parse(&r.url) else {
                continue;
            };
            if r.depth >= cfg.depth || r.status.is_none() {
                continue;
            }
            let root: Arc<str> = page.host_str().unwrap_or_default().into();
            let parent: Arc<str> = Arc::from(page.as_str());
            for link in r.links.iter().filter(|l| may_follow(&cfg, &root, l, true)) {
                self.queue_link(link, r.depth + 1, &parent, &root);
            }
        }
    }

    async fn emit(&mut self, record: Record) {
        if self.records.send(record).await.is_err() {
            self.output_closed = true;
        }
    }
}

/// The record for a finished page task and the indices of its links to follow. A task that panicked or returned
/// the wrong outcome still gets its one record.
fn page_outcome(job: &Job, outcome: Result<Outcome, tokio::task::JoinError>) -> (Record, Vec<u32>) {
    if let Ok(Outcome::Page { record, follow }) = outcome {
        return (*record, follow);
    }
    let msg = match outcome {
        Err(e) => format!("internal error while fetching: {e}"),
        Ok(_) => "internal error: task returned no page".to_owned(),
    };
    let parent = job.parent.as_deref().map(str::to_owned);
    let record = Record::failed(job.url.as_str(), job.depth, parent, ErrorKind::Other, msg);
    (record, Vec::new())
}

/// Whether a crawl may follow a discovered link: nofollow rules, scope, `--include`/`--exclude`.
fn may_follow(cfg: &Config, root: &str, link: &str, followable: bool) -> bool {
    (followable || cfg.follow_nofollow)
        && crate::url::host_of(link).is_some_and(|host| cfg.scope.allows(root, host))
        && (cfg.include.is_empty() || cfg.include.iter().any(|r| r.is_match(link)))
        && !cfg.exclude.iter().any(|r| r.is_match(link))
}

/// One URL, start to record: robots, politeness, fetch with retries, parse.
async fn visit(ctx: Ctx, host: Arc<Host>, job: Job, _permit: OwnedSemaphorePermit) -> Outcome {
    let cfg = &ctx.cfg;
    let parent = job.parent.as_deref().map(str::to_owned);
    if cfg.robots {
        if let Err((kind, msg)) = host.robots(&ctx.fetcher).await.check(&job.url) {
            let record = Box::new(Record::failed(
                job.url.as_str(),
                job.depth,
                parent,
                kind,
                msg,
            ));
            return Outcome::Page {
                record,
                follow: Vec::new(),
            };
        }
    }
    let fetched_at = now_rfc3339();
    let started = Instant::now();
    let (result, attempts) = ctx.fetcher.get(&host, &job.url).await;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let resp = match result {
        Ok(r) => r,
        Err(e) => {
            let mut record =
                Record::failed(job.url.as_str(), job.depth, parent, e.kind(), e.to_string());
            record.fetched_at = fetched_at;
            record.elapsed_ms = elapsed_ms;
            record.attempts = attempts;
            return Outcome::Page {
                record: Box::new(record),
                follow: Vec::new(),
            };
        }
    };
    let bytes = resp.body.len() as u64;
    let (page, parse_error) = if parse::is_html(resp.content_type.as_deref(), &resp.body) {
        parse_body(
            &ctx.cfg,
            resp.body,
            resp.content_type.as_deref(),
            &resp.final_url,
        )
        .await
    } else {
        (Page::default(), None)
    };
    let follow = if job.depth < cfg.depth && !(page.meta_nofollow && cfg.robots) {
        let links = page.links.iter().zip(&page.followable).enumerate();
        links
            .filter(|(_, (url, followable))| may_follow(cfg, &job.root, url, **followable))
            .map(|(i, _)| i as u32)
            .collect()
    } else {
        Vec::new()
    };
    let record = Box::new(Record {
        url: job.url.into(),
        final_url: Some(resp.final_url.into()),
        status: Some(resp.status),
        depth: job.depth,
        parent,
        content_type: resp.content_type,
        bytes,
        truncated: resp.truncated,
        title: page.title,
        links: page.links,
        fetched_at,
        elapsed_ms,
        attempts,
        error: parse_error,
        extract: page
            .extract
            .or_else(|| (!cfg.extractors.is_empty()).then(Default::default)),
    });
    Outcome::Page { record, follow }
}

/// Bodies up to this size are parsed right in the task (the scanner needs ~20 µs for a 15 KB page, less than a
/// hand-off to another thread costs); larger ones, or pages that need scraper for `--select`, go to the
/// blocking pool so a hostile multi-megabyte page cannot stall a runtime worker.
const INLINE_PARSE_MAX: usize = 256 * 1024;

async fn parse_body(
    cfg: &Arc<Config>,
    body: Vec<u8>,
    content_type: Option<&str>,
    url: &Url,
) -> (Page, Option<crate::record::RecordError>) {
    if body.len() <= INLINE_PARSE_MAX && cfg.extractors.is_empty() {
        return (parse_sync(&body, content_type, url, &[]), None);
    }
    // The blocking pool needs owned data: copies are made only on this (rare) path.
    let (cfg, content_type, url) = (cfg.clone(), content_type.map(str::to_owned), url.clone());
    let joined = tokio::task::spawn_blocking(move || {
        parse_sync(&body, content_type.as_deref(), &url, &cfg.extractors)
    })
    .await;
    match joined {
        Ok(page) => (page, None),
        Err(e) => (
            Page::default(),
            Some(crate::record::RecordError {
                kind: ErrorKind::Other,
                message: format!("parser failed: {e}"),
            }),
        ),
    }
}

fn parse_sync(
    body: &[u8],
    content_type: Option<&str>,
    url: &Url,
    extractors: &[parse::Extractor],
) -> Page {
    parse::parse_page(&parse::decode(body, content_type), url, extractors)
}
