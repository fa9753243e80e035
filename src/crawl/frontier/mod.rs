//! The frontier: what has been seen, what waits (per-host queues by depth), what is in flight, and which host is
//! served next (round-robin). One owner (the scheduler), plain data, no locks, no async.
//!
//! Breadth-first is strict: a URL at depth d+1 is dispatched only once nothing at depth <= d is queued, in flight
//! or still to be read from the input, so every URL is reported at the smallest depth that reaches it.
//! The seen-set holds 64-bit hashes of normalised URLs (8 bytes a URL; a collision needs ~4·10⁹ URLs to
//! become likely), so memory follows the URLs actually seen, not their length ([`crate::url::seen`]); past half of
//! `--frontier-memory` its keys go to runs on disk ([`crate::crawl::seen`]), and queued jobs get what it leaves.
//!
//! Past `--frontier-memory`, queued jobs go to the [`crate::crawl::spill`] (one segment chain per depth) instead of
//! the per-host queues; they are counted as queued all the same, so the levels close exactly as before. The
//! per-host queues are refilled from the open level's chain in batches of [`REFILL_BATCH`]: when fewer than that
//! are ready in memory, or when no host in memory can go (all at `--per-host`) and memory is under the budget,
//! so a host whose jobs are on disk waits at most for the memory budget's worth of other hosts' jobs. The
//! dispatcher never reads the disk to find a ready host.

use std::collections::hash_map::Entry as MapEntry;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use crate::crawl::seen::SeenStore;
use crate::crawl::spill::Spill;
use crate::url::key::{key, KeyHasher, SeenSet};
use crate::url::seen::Seen;

/// Jobs moved from the spill into the per-host queues at once. 8,192 jobs are ~2 MB in memory, and a refill's
/// disk read (~400 KB) is far below the fetches it feeds.
const REFILL_BATCH: usize = 8_192;
/// A queued job's slot in its host's queue: the `Url` (its string's handle and offsets), the host, parent and
/// root handles, depth. Counted by the queue's capacity, not its length: a `VecDeque` doubles, so up to half its
/// slots are empty, and a count by length (the estimate before issue 19) was short by that slack.
const JOB_SLOT: usize = std::mem::size_of::<Job>();
/// A queued job's heap besides its URL's and host's bytes: the host's `Arc<str>` counts (16 bytes) and the
/// allocator's rounding of the two strings. The parent and root are shared by siblings. Measured with
/// `the_job_estimate_matches_rss` (frontier tests, ignored: run alone).
const JOB_HEAP: usize = 32;
/// Bytes a `deep` entry holds (a `u64` key and `u32` depth padded to 16, a control byte).
const DEEP_ENTRY: usize = 17;

pub(crate) use crate::crawl::job::Job;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Idle,
    Ring,
    Parked,
}

#[derive(Debug)]
struct HostQueue {
    /// Queues by depth: `levels[0]` holds the smallest depth waiting.
    levels: VecDeque<(u32, VecDeque<Job>)>,
    in_flight: usize,
    slot: Slot,
}

impl HostQueue {
    fn queued(&self) -> usize {
        self.levels.iter().map(|(_, q)| q.len()).sum()
    }
    fn min_depth(&self) -> Option<u32> {
        self.levels.front().map(|(d, _)| *d)
    }
    /// Queues a job; returns the slots its depth's queue grew by (a `VecDeque` doubles).
    fn push(&mut self, job: Job) -> usize {
        let depth = job.depth;
        let pos = self.levels.iter().position(|(d, _)| *d >= depth);
        if let Some(q) = pos.filter(|&i| self.levels[i].0 == depth) {
            let q = &mut self.levels[q].1;
            let before = q.capacity();
            q.push_back(job);
            return q.capacity() - before;
        }
        let q = VecDeque::from([job]);
        let grown = q.capacity();
        self.levels
            .insert(pos.unwrap_or(self.levels.len()), (depth, q));
        grown
    }
    /// The next job, and the slots freed if its depth's queue is now empty (a `VecDeque` never shrinks).
    fn pop(&mut self) -> Option<(Job, usize)> {
        let (_, q) = self.levels.front_mut()?;
        let job = q.pop_front()?;
        let freed = if q.is_empty() { q.capacity() } else { 0 };
        if q.is_empty() {
            self.levels.pop_front();
        }
        Some((job, freed))
    }
}

/// The crawl frontier.
#[derive(Debug)]
pub(crate) struct Frontier {
    per_host: usize,
    seen: SeenStore,
    hosts: HashMap<Arc<str>, HostQueue>,
    ring: VecDeque<Arc<str>>,
    parked: Vec<Arc<str>>,
    /// Queued + in flight + held, by depth.
    pending: Vec<usize>,
    /// Queued only, by depth.
    queued_at: Vec<usize>,
    /// Keys of queued jobs deeper than 0, with their depth: a listed (or sitemap) URL that arrives after it was
    /// discovered as a link is promoted to depth 0 instead of being dropped as seen.
    deep: HashMap<u64, u32, BuildHasherDefault<KeyHasher>>,
    /// Keys of deep jobs superseded by a promotion: dropped when they reach the head of their queue.
    stale: SeenSet,
    queued: usize,
    /// The input may still yield depth-0 URLs.
    input_open: bool,
    level: u32,
    /// Estimated bytes of the jobs in the per-host queues.
    mem_bytes: usize,
    /// `--frontier-memory`: past it jobs are spilled (when a spill is set).
    budget: usize,
    spill: Option<Spill>,
    /// The first spill error: the run stops dispatching and exits 2.
    failure: Option<String>,
}

impl Frontier {
    #[must_use]
    pub(crate) fn new(per_host: usize, seen: SeenSet) -> Frontier {
        Frontier {
            per_host: per_host.max(1),
            seen: SeenStore::new(Seen::from(seen)),
            hosts: HashMap::new(),
            ring: VecDeque::new(),
            parked: Vec::new(),
            pending: Vec::new(),
            queued_at: Vec::new(),
            deep: HashMap::default(),
            stale: SeenSet::default(),
            queued: 0,
            input_open: true,
            level: 0,
            mem_bytes: 0,
            budget: usize::MAX,
            spill: None,
            failure: None,
        }
    }

    /// Keeps queued jobs and the seen-set within `budget` bytes of memory together, the rest on disk in
    /// `spill`'s directory: the seen-set may hold half the budget in memory ([`crate::crawl::seen`]), and jobs
    /// get what it does not use, at least a quarter of the budget.
    #[must_use]
    pub(crate) fn with_spill(mut self, budget: u64, spill: Spill) -> Frontier {
        self.budget = usize::try_from(budget).unwrap_or(usize::MAX);
        self.seen.spill_to(spill.shared_dir(), self.budget / 2);
        self.spill = Some(spill);
        self
    }

    /// The first disk error (disk full, a damaged segment or run), once: the caller stops the run.
    pub(crate) fn take_failure(&mut self) -> Option<String> {
        self.failure.take().or_else(|| self.seen.take_failure())
    }

    /// Memory of the jobs queued in memory: their slots and heap, and the `deep` table while depth 0 is open.
    fn queued_bytes(&self) -> usize {
        self.mem_bytes + self.deep.capacity() * DEEP_ENTRY
    }

    /// The queued jobs' share of the budget: what the seen-set leaves, at least a quarter.
    fn job_budget(&self) -> usize {
        if self.budget == usize::MAX {
            return usize::MAX;
        }
        self.budget
            .saturating_sub(self.seen.bytes())
            .max(self.budget / 4)
    }

    /// Logs the seen-set's size (`-vv`) and what was spilled (`-v`), for the run's report.
    pub(crate) fn log_sizes(&self) {
        let (seen, bytes) = (self.seen.len(), self.seen.bytes());
        tracing::debug!("seen-set: {seen} URLs in {bytes} bytes of memory");
        let (runs, keys) = self.seen.on_disk();
        if runs > 0 {
            tracing::info!(
                "seen-set on disk: {keys} of {seen} URLs in {runs} runs, {} bytes written",
                self.seen.written
            );
        }
        tracing::debug!(
            "queued jobs: {} bytes of memory, about",
            self.queued_bytes()
        );
        if let Some(spill) = self.spill.as_ref().filter(|sp| sp.spilled > 0) {
            tracing::info!(
                "frontier spill: {} jobs, {} bytes written ({:.1} bytes a job) in {}",
                spill.spilled,
                spill.written,
                spill.written as f64 / spill.spilled as f64,
                spill
                    .dir()
                    .map_or_else(String::new, |d| d.display().to_string())
            );
        }
    }

    /// The spill, for tests.
    #[cfg(test)]
    #[must_use]
    pub(crate) fn spill(&self) -> Option<&Spill> {
        self.spill.as_ref()
    }

    /// Marks a key seen; false if it already was (the caller then drops the URL or line).
    pub(crate) fn first_sight(&mut self, k: u64) -> bool {
        self.seen.insert(k)
    }

    /// Whether a key was seen (this run, or in the file being resumed).
    #[must_use]
    pub(crate) fn was_seen(&self, k: u64) -> bool {
        self.seen.contains(k)
    }

    /// Queues a job unless its URL was seen. Returns whether it was queued. A depth-0 job whose URL waits in a
    /// queue at a greater depth (a link found before the input reached it) replaces that job: the URL is
    /// reported once, at depth 0.
    pub(crate) fn push(&mut self, job: Job) -> bool {
        let k = key(job.url.as_str());
        if !self.first_sight(k) {
            if job.depth > 0 || self.deep.remove(&k).is_none() {
                return false;
            }
            self.stale.insert(k);
        }
        self.enqueue(job, k);
        true
    }

    /// Queues a job whose URL the caller has just marked seen with [`Frontier::first_sight`] under key `k` (so a
    /// page's links are hashed once and only new ones are parsed and given a host key).
    pub(crate) fn enqueue(&mut self, job: Job, k: u64) {
        self.add_pending(job.depth, 1);
        self.queued += 1;
        let d = job.depth as usize;
        if self.queued_at.len() <= d {
            self.queued_at.resize(d + 1, 0);
        }
        self.queued_at[d] += 1;
        // Only while depth 0 is open can a listed or sitemap URL still arrive and promote a deeper job.
        if d > 0 && self.level == 0 {
            self.deep.insert(k, job.depth);
        }
        let Some(job) = self.spill_or_keep(job) else {
            return;
        };
        self.place(job);
    }

    /// Spills a job when memory is past the budget or its depth already has jobs on disk (so each depth stays
    /// first in, first out). Gives the job back to be kept in memory otherwise, or if the spill failed.
    fn spill_or_keep(&mut self, job: Job) -> Option<Job> {
        let over = self.queued_bytes() + job_bytes(&job) + JOB_SLOT > self.job_budget();
        let Some(spill) = self.spill.as_mut() else {
            return Some(job);
        };
        if !over && spill.len(job.depth) == 0 || self.failure.is_some() {
            return Some(job);
        }
        match spill.push(&job) {
            Ok(()) => None,
            Err(e) => {
                // Named, so an unusable --spill-dir (a file, /proc) is told apart from a full disk.
                let at = spill.dir().unwrap_or(spill.parent()).display().to_string();
                self.failure = Some(format!("the frontier's spill to disk in {at} failed: {e}"));
                Some(job)
            }
        }
    }

    /// Puts a job into its host's queue and wakes the host if it may go.
    fn place(&mut self, job: Job) {
        self.mem_bytes += job_bytes(&job);
        let host = job.host.clone();
        let depth = job.depth;
        let hq = match self.hosts.entry(host.clone()) {
            MapEntry::Occupied(e) => e.into_mut(),
            MapEntry::Vacant(e) => e.insert(HostQueue {
                levels: VecDeque::new(),
                in_flight: 0,
                slot: Slot::Idle,
            }),
        };
        self.mem_bytes += hq.push(job) * JOB_SLOT;
        let wake = match hq.slot {
            Slot::Idle => hq.in_flight < self.per_host,
            Slot::Parked => depth <= self.level,
            Slot::Ring => false,
        };
        if wake {
            hq.slot = Slot::Ring;
            self.ring.push_back(host);
        }
    }

    /// The next job to dispatch: round-robin over hosts with a free slot whose smallest waiting depth is open.
    pub(crate) fn pop(&mut self) -> Option<Job> {
        if self.spill.is_some() {
            self.refill(false);
            if let Some(job) = self.pop_ready() {
                return Some(job);
            }
            self.refill(true);
        }
        self.pop_ready()
    }

    /// Moves a batch of the open level's spilled jobs into the per-host queues when few are ready in memory, or
    /// (`starved`) when none in memory could go and memory is under the budget.
    fn refill(&mut self, starved: bool) {
        let on_disk = self.spill.as_ref().map_or(0, |sp| sp.len(self.level));
        if on_disk == 0 || self.failure.is_some() {
            return;
        }
        let in_memory = self.queued_ready().saturating_sub(on_disk);
        let wanted = if starved {
            self.queued_bytes() < self.job_budget()
        } else {
            in_memory < REFILL_BATCH
        };
        if !wanted {
            return;
        }
        let Some(spill) = self.spill.as_mut() else {
            return;
        };
        match spill.take(self.level, REFILL_BATCH) {
            Ok(jobs) => jobs.into_iter().for_each(|j| self.place(j)),
            Err(e) => {
                self.failure = Some(format!(
                    "the frontier's spill to disk failed (finishing or reading back a segment): {e}"
                ));
            }
        }
    }

    fn pop_ready(&mut self) -> Option<Job> {
        let mut tries = self.ring.len();
        while tries > 0 {
            tries -= 1;
            let host = self.ring.pop_front()?;
            let Some(hq) = self.hosts.get_mut(&host) else {
                continue;
            };
            let depth = match hq.min_depth() {
                None => {
                    hq.slot = Slot::Idle;
                    continue;
                }
                Some(_) if hq.in_flight >= self.per_host => {
                    hq.slot = Slot::Idle;
                    continue;
                }
                Some(d) if d > self.level => {
                    hq.slot = Slot::Parked;
                    self.parked.push(host);
                    continue;
                }
                Some(d) => d,
            };
            let Some((job, freed)) = hq.pop() else {
                continue;
            };
            let bytes = job_bytes(&job) + freed * JOB_SLOT;
            self.mem_bytes = self.mem_bytes.saturating_sub(bytes);
            self.queued -= 1;
            self.queued_at[depth as usize] -= 1;
            if depth > 0 && !(self.deep.is_empty() && self.stale.is_empty()) {
                let k = key(job.url.as_str());
                self.deep.remove(&k);
                if !self.stale.is_empty() && self.stale.remove(&k) {
                    // Promoted to depth 0 and reported there: this copy is dropped; the host keeps its turn.
                    self.ring.push_front(host);
                    tries += 1;
                    self.add_pending(depth, -1);
                    continue;
                }
            }
            hq.in_flight += 1;
            self.ring.push_back(host);
            return Some(job);
        }
        None
    }

    /// A dispatched job finished (whatever its outcome).
    pub(crate) fn done(&mut self, host: &str, depth: u32) {
        let wake = self.hosts.get_mut(host).is_some_and(|hq| {
            hq.in_flight = hq.in_flight.saturating_sub(1);
            let wake = hq.slot == Slot::Idle && hq.queued() > 0;
            if wake {
                hq.slot = Slot::Ring;
            }
            wake
        });
        if wake {
            let k = hq_key(&self.hosts, host);
            self.ring.push_back(k);
        }
        self.add_pending(depth, -1);
    }

    /// Counts work at `depth` that is neither queued nor dispatched (e.g. a sitemap being read), so the level
    /// below cannot close while it may still add URLs. Undo with `release`.
    pub(crate) fn hold(&mut self, depth: u32) {
        self.add_pending(depth, 1);
    }

    pub(crate) fn release(&mut self, depth: u32) {
        self.add_pending(depth, -1);
    }

    /// The open breadth-first level: every job of a smaller depth is done, so every link of this depth or less
    /// that this run finds is known (`--handoff` places handed-over links by it).
    #[must_use]
    pub(crate) fn level(&self) -> u32 {
        self.level
    }

    /// No more depth-0 URLs will come from the input.
    pub(crate) fn close_input(&mut self) {
        self.input_open = false;
        self.update_level();
    }

    #[must_use]
    pub(crate) fn queued(&self) -> usize {
        self.queued
    }

    /// Queued URLs at the open level: the only ones that may be dispatched now (deeper ones wait for it to close).
    #[must_use]
    pub(crate) fn queued_ready(&self) -> usize {
        self.queued_at
            .get(self.level as usize)
            .copied()
            .unwrap_or(0)
    }

    /// Nothing queued, in flight, held, or still to come from the input.
    #[must_use]
    pub(crate) fn is_finished(&self) -> bool {
        !self.input_open && self.pending.iter().all(|&n| n == 0)
    }

    fn add_pending(&mut self, depth: u32, delta: isize) {
        let d = depth as usize;
        if self.pending.len() <= d {
            self.pending.resize(d + 1, 0);
        }
        self.pending[d] = self.pending[d].saturating_add_signed(delta);
        if delta < 0 {
            self.update_level();
        }
    }

    fn update_level(&mut self) {
        let level = if self.input_open {
            0
        } else {
            let first = self.pending.iter().position(|&n| n > 0);
            first.map_or(self.pending.len(), |i| i) as u32
        };
        if level != self.level {
            self.level = level;
            if level > 0 {
                // Depth 0 is closed: no promotion can come any more (stale copies are still dropped on pop).
                self.deep = HashMap::default();
            }
            for host in std::mem::take(&mut self.parked) {
                if let Some(hq) = self.hosts.get_mut(&host) {
                    if hq.slot == Slot::Parked {
                        hq.slot = Slot::Ring;
                        self.ring.push_back(host);
                    }
                }
            }
        }
    }
}

/// A queued job's heap: its URL and host strings and [`JOB_HEAP`] (its slot is counted by its queue's capacity).
fn job_bytes(job: &Job) -> usize {
    JOB_HEAP + job.url.as_str().len() + job.host.len()
}

/// The map's own `Arc<str>` for a host, so the ring shares it instead of allocating.
fn hq_key(hosts: &HashMap<Arc<str>, HostQueue>, host: &str) -> Arc<str> {
    hosts
        .get_key_value(host)
        .map_or_else(|| Arc::from(host), |(k, _)| k.clone())
}

#[cfg(test)]
mod tests;
