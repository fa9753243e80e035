//! The scheduler: one loop owns the frontier, the `JoinSet` of tasks, the global semaphore and the sitemap queue.
//! It reads seeds while too few URLs are ready to go (a huge list is streamed, never queued whole), takes a global
//! permit **before** spawning (so queued URLs cost memory, not tasks), turns every page task's outcome into
//! exactly one record on the bounded channel (a slow writer slows the crawl), and queues what pages link to.
//!
//! What a task does is behind the [`Visit`] seam ([`crate::crawl::visit`] has the real one), so the loop runs without the
//! network under a paused clock in the model test (`src/crawl/model.rs`), which proves that every run ends with
//! exactly one record per reachable URL at its smallest depth.
//!
//! Liveness rule: input is read whenever nothing queued can be dispatched (in particular whenever nothing is in
//! flight), because only the input's end can close level 0 and release the deeper levels parked behind it.
//!
//! Must not write output (the writer owns it) or make requests (tasks do, through [`crate::polite`]).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::{Id, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::crawl::duplicates::Duplicates;
use crate::crawl::frontier::{Frontier, Job};
use crate::crawl::handoff::{self, HandoffIo, Handoffs};
use crate::crawl::links::Checker;
use crate::crawl::task::{page_outcome, SitemapTask, TaskOutcome, Visit};
use crate::crawl::CrawlOptions;
use crate::input::{InputEvent, Seed};
use crate::output::since::Since;
use crate::output::{Progress, Requeue};
use crate::record::check::LinkReport;
use crate::record::{cut, ErrorKind, Record};
use crate::url::host_key;
use crate::url::key::key;
use crate::url::scope::Root;
use crate::url::shard::OtherShards;

// `--check-links`' part of the loop, and `--resume`'s requeueing (which checks too).
mod checks;
// Reading sitemaps as the crawl drains them.
mod sitemaps;

/// Ready URLs read ahead of dispatch at most: when the hosts at the head of the input are all busy, input is
/// read further (so a later host is not left idle), but never more than this, which bounds the frontier's memory.
const MAX_READ_AHEAD: usize = 4_096;
/// Sitemap files read at once. One file lists up to 50,000 URLs; reading them one at a time, and only when the
/// frontier runs low, keeps memory independent of how many URLs a host's sitemaps hold.
const SITEMAP_FILES_IN_FLIGHT: usize = 1;
/// Longest listed-URL string kept in an `invalid_url` record.
const MAX_INVALID_LINE_CHARS: usize = 2048;

/// How long in-flight fetches may still finish after SIGINT/SIGTERM before they are cancelled.
pub(super) const GRACE: Duration = Duration::from_secs(2);

/// What the run shares with the scheduler.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub cfg: Arc<CrawlOptions>,
    pub visit: Arc<dyn Visit>,
    pub progress: Arc<Progress>,
    /// The earlier run (`--since`, `--state`): every record gets its `change` from it as it is sent.
    pub since: Option<Arc<Since>>,
}

/// Why the scheduler stopped, beyond "everything was done".
#[derive(Debug, Default)]
pub(crate) struct CrawlEnd {
    pub input_error: Option<String>,
    /// `--shard`: what was left to the other shards.
    pub other_shards: OtherShards,
    /// `--check-links`: the broken links, by page.
    pub links: Option<LinkReport>,
    /// The frontier's spill failed (disk full, a damaged segment): the run stopped dispatching.
    pub spill_error: Option<String>,
    /// `--handoff`: the inbox segments this run has accounted for (empty unless the frontier ran dry: a run
    /// stopped early leaves its segments for the next one), links handed to other shards, links put back.
    pub handoff_taken: Vec<std::path::PathBuf>,
    /// The frontier ran dry: every URL queued was dispatched and written (not so after `--max-pages`, a signal
    /// or a failure), so a sealed links journal may stand for the whole crawl.
    pub ran_dry: bool,
    pub handed: u64,
    pub deferred: u64,
}

/// What a running task is, so that even a panicked page task gets its record.
enum Running {
    Page(Job),
    /// A sitemap step; true for a file (it holds one of [`SITEMAP_FILES_IN_FLIGHT`]).
    Sitemap(bool),
}

/// The scheduler's whole state. The loop in [`crawl`] is a biased `select!` over four arms, in this order:
/// cancellation (starts the grace period), the grace deadline (aborts what is left), a finished task (record and
/// links), and the next input event (only while [`Scheduler::wants_input`]).
struct Scheduler {
    /// Flags, the visitor and the progress counters.
    ctx: Ctx,
    /// Seen-set, per-host queues and the breadth-first level: what waits and what may go next.
    frontier: Frontier,
    /// Every task in flight, pages and sitemap steps.
    tasks: JoinSet<TaskOutcome>,
    /// What each task in `tasks` is.
    running: HashMap<Id, Running>,
    /// Global permits: `-c`. Taken before a task is spawned, held by it to its end.
    semaphore: Arc<Semaphore>,
    /// Sitemap steps waiting for a permit; each one holds level 0 open in the frontier until it is processed.
    sitemaps: VecDeque<SitemapTask>,
    /// Sitemap files in flight (at most [`SITEMAP_FILES_IN_FLIGHT`]).
    sitemap_files_running: usize,
    /// Sitemap files queued per listed origin, bounded by [`crate::crawl::sitemap::MAX_SITEMAPS`].
    sitemap_hosts: HashMap<Arc<str>, usize>,
    /// The bounded channel to the writer.
    records: mpsc::Sender<Record>,
    /// Pages dispatched (for `--max-pages`).
    dispatched: u64,
    /// The writer is gone (broken pipe): stop.
    output_closed: bool,
    /// The input may still yield seeds.
    input_open: bool,
    /// Set once cancelled: in-flight tasks are aborted at this instant.
    grace: Option<Instant>,
    /// Below this many ready URLs the input is read on.
    low_water: usize,
    /// `--shard`: what was left to the other shards.
    other_shards: OtherShards,
    /// `--check-links`: who links what, fragments asked, the report.
    checker: Option<Checker>,
    /// The frontier's spill failed: nothing more is dispatched or read; tasks in flight finish and are written.
    spill_error: Option<String>,
    /// `--handoff`: links going to and coming from the other shards.
    handoff: Option<Handoffs>,
    /// Body digests seen (crawl mode's duplicate rule), fixed-size.
    duplicates: Duplicates,
}

/// Runs the crawl to its end: input exhausted and nothing queued or in flight, `--max-pages` reached, the output
/// closed, or `cancel` fired (then in-flight fetches get [`GRACE`] to finish).
pub(crate) async fn crawl(
    ctx: Ctx,
    mut seeds: mpsc::Receiver<InputEvent>,
    records: mpsc::Sender<Record>,
    frontier: Frontier,
    resumed: Requeue,
    handoff_io: Option<HandoffIo>,
    cancel: CancellationToken,
) -> CrawlEnd {
    let mut frontier = frontier;
    let own = ctx.cfg.shard.map_or(0, |s| s.index);
    let handoff = handoff_io.map(|io| Handoffs::new(io, own, ctx.cfg.depth, &mut frontier));
    let mut s = Scheduler {
        low_water: (ctx.cfg.concurrency * 4).max(256),
        checker: ctx.cfg.check_links.clone().map(Checker::new),
        semaphore: Arc::new(Semaphore::new(ctx.cfg.concurrency)),
        ctx,
        frontier,
        tasks: JoinSet::new(),
        running: HashMap::new(),
        sitemaps: VecDeque::new(),
        sitemap_files_running: 0,
        sitemap_hosts: HashMap::new(),
        records,
        dispatched: 0,
        output_closed: false,
        input_open: true,
        grace: None,
        other_shards: OtherShards::default(),
        spill_error: None,
        handoff,
        duplicates: Duplicates::default(),
    };
    s.duplicates.resumed(&s.ctx.cfg, resumed.bodies.into_iter());
    s.requeue_resumed(resumed.records);
    if let Some(journal) = resumed.journal {
        s.requeue_journal(&journal);
    }
    let mut end = CrawlEnd::default();
    loop {
        // Starved: a global slot is free but no queued URL is ready; reading further may find other hosts.
        let mut starved = false;
        s.check_spill();
        if s.grace.is_none() && !s.output_closed && s.spill_error.is_none() {
            s.inject_handoffs();
            starved = s.dispatch();
            // A refill that failed leaves nothing to dispatch: the failure, not a stall, ends the run.
            s.check_spill();
        }
        let queued = u64::try_from(s.frontier.queued()).unwrap_or(u64::MAX);
        s.ctx.progress.queued.store(queued, Ordering::Relaxed);
        if s.tasks.is_empty()
            && (s.frontier.is_finished()
                || s.budget_spent()
                || s.grace.is_some()
                || s.output_closed
                || s.spill_error.is_some())
        {
            break;
        }
        if s.output_closed {
            s.tasks.shutdown().await;
            break;
        }
        let want_input = s.wants_input(starved);
        if s.tasks.is_empty() && !want_input && s.grace.is_none() {
            // Unreachable by the liveness rule (the model test checks it); never wait on nothing.
            tracing::error!("scheduler: nothing in flight, nothing to read, yet work is queued");
            break;
        }
        tokio::select! {
            biased;
            () = cancel.cancelled(), if s.grace.is_none() => s.grace = Some(Instant::now() + GRACE),
            () = sleep_until_opt(s.grace), if s.grace.is_some() => {
                s.tasks.shutdown().await;
                break;
            }
            Some(joined) = s.tasks.join_next_with_id(), if !s.tasks.is_empty() => s.finished(joined).await,
            Some(segment) = handoff::next_segment(&mut s.handoff), if s.handoff.as_ref().is_some_and(Handoffs::polling) => {
                if let Some(h) = s.handoff.as_mut() {
                    h.take(segment, &mut s.frontier);
                }
            }
            event = seeds.recv(), if want_input => {
                if let Some(msg) = s.input(event).await {
                    end.input_error = Some(msg);
                }
            }
            else => break,
        }
    }
    // A seen-set lookup may fail with the last links queued: reported like any other disk failure.
    s.check_spill();
    end.other_shards = s.other_shards;
    let ran_dry = s.frontier.is_finished()
        && s.grace.is_none()
        && !s.output_closed
        && s.spill_error.is_none();
    end.ran_dry = ran_dry;
    if let Some(h) = s.handoff.take() {
        (end.handoff_taken, end.handed, end.deferred) = h.end(ran_dry);
    }
    end.links = s.checker.map(Checker::finish);
    end.spill_error = s.spill_error;
    s.frontier.log_sizes();
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

    /// Takes the frontier's first spill failure: logged once, and the run winds down.
    fn check_spill(&mut self) {
        if let Some(msg) = self.frontier.take_failure() {
            if self.spill_error.is_none() {
                tracing::error!("{msg}");
                self.spill_error = Some(msg);
            }
        }
    }

    fn close_input(&mut self) {
        self.input_open = false;
        self.frontier.close_input();
    }

    /// Input is read while few queued URLs are ready to go, further ahead (up to [`MAX_READ_AHEAD`]) while a
    /// global slot idles for want of a ready host, and always when nothing is in flight. URLs parked behind the
    /// breadth-first level do not count: they cannot go until level 0 closes, and only the input's end closes it.
    fn wants_input(&self, starved: bool) -> bool {
        if !self.input_open
            || self.grace.is_some()
            || self.budget_spent()
            || self.spill_error.is_some()
        {
            return false;
        }
        let ready = self.frontier.queued_ready();
        ready < self.low_water || (starved && ready < MAX_READ_AHEAD) || self.tasks.is_empty()
    }

    /// Spawns page fetches while a global permit and a ready job are both at hand, then sitemap steps. Returns true
    /// when a permit was left over because no queued page was ready.
    fn dispatch(&mut self) -> bool {
        let mut starved = false;
        while !self.budget_spent() {
            let Ok(permit) = self.semaphore.clone().try_acquire_owned() else {
                break;
            };
            let Some(job) = self.frontier.pop() else {
                starved = true;
                break;
            };
            self.dispatched += 1;
            let task = self.ctx.visit.page(job.clone());
            let handle = self.tasks.spawn(async move {
                let _permit = permit;
                task.await
            });
            self.running.insert(handle.id(), Running::Page(job));
            self.ctx.progress.in_flight.fetch_add(1, Ordering::Relaxed);
        }
        self.dispatch_sitemaps();
        starved
    }

    /// What the reader sent: a batch of seeds, a read failure (returned, logged) or the input's end.
    async fn input(&mut self, event: Option<InputEvent>) -> Option<String> {
        match event {
            Some(InputEvent::Seeds(seeds)) => {
                for seed in seeds {
                    self.seed(seed).await;
                }
                None
            }
            Some(InputEvent::Failed(msg)) => {
                tracing::error!("{msg}");
                self.close_input();
                Some(msg)
            }
            None => {
                self.close_input();
                None
            }
        }
    }

    /// A listed line. With `--shard`, a URL of another shard is left to it (no record here), and invalid lines are
    /// reported by shard 0 alone, so the shards' outputs together hold one record per line.
    async fn seed(&mut self, seed: Seed) {
        if let Some(shard) = self.ctx.cfg.shard {
            let mine = match &seed {
                Seed::Invalid { .. } => shard.index == 0,
                Seed::Url(url) => shard.owns_host(url.host_str().unwrap_or_default()),
            };
            if !mine {
                self.other_shards.listed += 1;
                return;
            }
        }
        match seed {
            Seed::Invalid {
                line,
                reason,
                key: k,
            } => {
                // A password in a line that is not a URL is not shown either.
                let line =
                    crate::url::without_userinfo(&cut(&line, MAX_INVALID_LINE_CHARS)).into_owned();
                // Distinct lines are told apart by their bytes; a line reported by the run being resumed is
                // known by its record's `url` (the lossy, cut line).
                if !self.frontier.was_seen(key(&line)) && self.frontier.first_sight(k) {
                    let msg = format!("not an http(s) URL: {reason}");
                    self.emit(Record::failed(&line, 0, None, ErrorKind::InvalidUrl, msg))
                        .await;
                }
            }
            Seed::Url(mut url) => {
                // The credentials travel in the root (sent only to its origin); the URL, and so the record's
                // `url`, every child's `parent` and the seen-set key, goes without them.
                let root = Root::shared(&url);
                crate::url::strip_userinfo(&mut url);
                let host: Arc<str> = host_key(&url).into();
                if self.ctx.cfg.sitemap && !self.sitemap_hosts.contains_key(&host) {
                    self.sitemap_hosts.insert(host.clone(), 0);
                    self.queue_sitemap(SitemapTask::Discover {
                        listed: url.clone(),
                        root: root.clone(),
                    });
                }
                self.push(Job {
                    url,
                    host,
                    depth: 0,
                    parent: None,
                    root,
                    check: false,
                });
            }
        }
    }

    async fn finished(&mut self, joined: Result<(Id, TaskOutcome), tokio::task::JoinError>) {
        let (id, outcome) = match joined {
            Ok((id, outcome)) => (id, Ok(outcome)),
            Err(e) => (e.id(), Err(e)),
        };
        match (self.running.remove(&id), outcome) {
            (Some(Running::Page(job)), outcome) => {
                self.ctx.progress.in_flight.fetch_sub(1, Ordering::Relaxed);
                let (mut record, mut follow, found) = page_outcome(&job, outcome);
                let parent: Arc<str> = Arc::from(record.url.as_str());
                let seen = |k| self.frontier.was_seen(k);
                if let Some(first) = self.duplicates.of(&self.ctx.cfg, &record, &parent, seen) {
                    record.duplicate_of = Some(first);
                    follow.clear();
                }
                // What this page queued first is journaled with its record, for --resume.
                let mut queued = Vec::new();
                for &i in &follow {
                    let Some(link) = record.keyed_link(i) else {
                        continue;
                    };
                    if self.queue_link(link, (job.depth + 1, false), &parent, &job.root) {
                        queued.push(i);
                    }
                }
                record.queued = queued;
                self.checks(&job, &mut record, &parent, found);
                self.frontier.done(&job.host, job.depth);
                self.emit(record).await;
            }
            (Some(Running::Sitemap(is_file)), outcome) => {
                if is_file {
                    self.sitemap_files_running = self.sitemap_files_running.saturating_sub(1);
                }
                match outcome {
                    Ok(TaskOutcome::SitemapFiles { root, files, top }) => {
                        self.sitemap_files(&root, files, top);
                    }
                    Ok(TaskOutcome::SitemapUrls {
                        root,
                        sitemap,
                        urls,
                    }) => {
                        for url in urls {
                            self.push_at(url, 0, Some(sitemap.clone()), root.clone());
                        }
                    }
                    // A step that panicked found nothing; the hold it took is released below all the same.
                    _ => {}
                }
                self.frontier.release(0);
            }
            (None, _) => {}
        }
    }

    /// Queues a discovered link (with its [`key`]) unless it was seen: most links were seen before, and only a
    /// new one is parsed. With `--shard`, a new link of another shard is counted and dropped here, where it
    /// enters, so the frontier only ever holds this shard's URLs. `check`: only checked (`--check-links`). True
    /// when the link went into this run's frontier (what the links journal keeps).
    fn queue_link(
        &mut self,
        (link, k): (&str, u64),
        (depth, check): (u32, bool),
        parent: &Arc<str>,
        root: &Arc<Root>,
    ) -> bool {
        if !self.frontier.first_sight(k) {
            return false;
        }
        if let Some(shard) = self.ctx.cfg.shard {
            let owner = crate::url::host_of(link).map(|h| shard.owner(h));
            if owner != Some(shard.index) {
                self.other_shards.linked += 1;
                // A link only to be checked (`--check-links`) is not another shard's to crawl.
                if let (false, Some(to), Some(h)) = (check, owner, self.handoff.as_mut()) {
                    h.hand(to, link, depth, parent, root);
                }
                return false;
            }
        }
        let Ok(url) = Url::parse(link) else {
            return false;
        };
        let job = Job {
            host: host_key(&url).into(),
            url,
            depth,
            parent: Some(parent.clone()),
            root: root.clone(),
            check,
        };
        self.frontier.enqueue(job, k);
        if let Some(checker) = self.checker.as_mut() {
            checker.track(k);
        }
        true
    }

    /// Queues the held handed-over links whose level is open (see [`crate::crawl::handoff`]), each through
    /// [`Scheduler::queue_link`] like a link found here, then releases its hold.
    fn inject_handoffs(&mut self) {
        loop {
            let level = self.frontier.level();
            let Some((depth, links)) = self.handoff.as_mut().and_then(|h| h.ready(level)) else {
                return;
            };
            for link in links {
                if let Ok(url) = Url::parse(&link.url) {
                    let root = handoff::root_of(&link, &url);
                    let parent: Arc<str> = link.parent.as_str().into();
                    let link = (link.url.as_str(), key(&link.url));
                    self.queue_link(link, (depth, false), &parent, &root);
                }
                self.frontier.release(depth);
            }
        }
    }

    fn push_at(&mut self, url: Url, depth: u32, parent: Option<Arc<str>>, root: Arc<Root>) {
        let host: Arc<str> = host_key(&url).into();
        self.push(Job {
            url,
            host,
            depth,
            parent,
            root,
            check: false,
        });
    }

    /// Queues a listed or sitemap URL (the frontier drops it when seen); `--check-links` tracks it.
    fn push(&mut self, job: Job) {
        let k = self.checker.is_some().then(|| key(job.url.as_str()));
        if self.frontier.push(job) {
            if let (Some(checker), Some(k)) = (self.checker.as_mut(), k) {
                checker.track(k);
            }
        }
    }

    async fn emit(&mut self, mut record: Record) {
        if let Some(since) = &self.ctx.since {
            record.change = Some(since.change(&record));
        }
        if self.ctx.cfg.archive {
            // With --warc every record carries the field: null when no response was archived.
            record.warc_offset.get_or_insert(None);
        }
        if self.ctx.cfg.content.is_some() {
            // With --content every record carries the field: null when there was no page to read.
            record.content.get_or_insert(None);
        }
        if self.ctx.cfg.render {
            // With --render every record says whether it was rendered; with --screenshot, where its picture is.
            record.rendered.get_or_insert(false);
            record.render_ms.get_or_insert(None);
            if self.ctx.cfg.screenshot {
                record.screenshot.get_or_insert(None);
            }
        }
        if let Some(checker) = self.checker.as_mut() {
            record.checked.get_or_insert(false);
            checker.written(&record);
        }
        if self.records.send(record).await.is_err() {
            self.output_closed = true;
        }
    }
}
