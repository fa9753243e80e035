//! The frontier: what has been seen, what waits (per-host queues by depth), what is in flight, and which host is
//! served next (round-robin). One owner (the scheduler), plain data, no locks, no async.
//!
//! Breadth-first is strict: a URL at depth d+1 is dispatched only once nothing at depth <= d is queued, in flight
//! or still to be read from the input, so every URL is reported at the smallest depth that reaches it.
//! The seen-set holds 64-bit hashes of normalised URLs (8 bytes a URL; a collision needs ~4·10⁹ URLs to
//! become likely), so memory follows the URLs actually seen, not their length.

use std::collections::hash_map::Entry as MapEntry;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use url::Url;

use crate::url::key::{key, KeyHasher, SeenSet};
use crate::url::scope::Root;

/// A URL waiting for (or given to) a fetch.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub url: Url,
    pub host: Arc<str>,
    pub depth: u32,
    pub parent: Option<Arc<str>>,
    /// The listed URL this job descends from: the reference for `--scope`, the origin `-H` goes to.
    pub root: Arc<Root>,
}

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
    fn push(&mut self, job: Job) {
        let pos = self.levels.iter().position(|(d, _)| *d >= job.depth);
        match pos {
            Some(i) if self.levels[i].0 == job.depth => self.levels[i].1.push_back(job),
            Some(i) => self.levels.insert(i, (job.depth, VecDeque::from([job]))),
            None => self.levels.push_back((job.depth, VecDeque::from([job]))),
        }
    }
    fn pop(&mut self) -> Option<Job> {
        let (_, q) = self.levels.front_mut()?;
        let job = q.pop_front();
        if q.is_empty() {
            self.levels.pop_front();
        }
        job
    }
}

/// The crawl frontier.
#[derive(Debug)]
pub(crate) struct Frontier {
    per_host: usize,
    seen: SeenSet,
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
}

impl Frontier {
    #[must_use]
    pub(crate) fn new(per_host: usize, seen: SeenSet) -> Frontier {
        Frontier {
            per_host: per_host.max(1),
            seen,
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
        }
    }

    /// Marks a key seen; false if it already was (the caller then drops the URL or line).
    pub(crate) fn first_sight(&mut self, k: u64) -> bool {
        self.seen.insert(k)
    }

    /// Whether a key was seen (this run, or in the file being resumed).
    #[must_use]
    pub(crate) fn was_seen(&self, k: u64) -> bool {
        self.seen.contains(&k)
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
        hq.push(job);
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
            let Some(job) = hq.pop() else { continue };
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

/// The map's own `Arc<str>` for a host, so the ring shares it instead of allocating.
fn hq_key(hosts: &HashMap<Arc<str>, HostQueue>, host: &str) -> Arc<str> {
    hosts
        .get_key_value(host)
        .map_or_else(|| Arc::from(host), |(k, _)| k.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(url: &str, depth: u32) -> Job {
        let url = Url::parse(url).unwrap();
        let host: Arc<str> = crate::url::host_key(&url).into();
        Job {
            root: Arc::new(Root::of(&url)),
            url,
            host,
            depth,
            parent: None,
        }
    }

    fn drain(f: &mut Frontier) -> Vec<String> {
        let mut out = vec![];
        while let Some(j) = f.pop() {
            out.push(j.url.path().to_owned());
            f.done(&j.host, j.depth);
        }
        out
    }

    #[test]
    fn dedups() {
        let mut f = Frontier::new(4, SeenSet::default());
        assert!(f.push(job("http://a.test/1", 0)));
        assert!(!f.push(job("http://a.test/1", 0)));
        assert!(!f.push(job("http://a.test/1", 1)));
        assert_eq!(f.queued(), 1);
    }

    #[test]
    fn resumed_keys_are_skipped() {
        let mut f = Frontier::new(4, SeenSet::from_iter([key("http://a.test/1")]));
        assert!(!f.push(job("http://a.test/1", 0)));
    }

    #[test]
    fn round_robin_across_hosts() {
        let mut f = Frontier::new(4, SeenSet::default());
        for i in 0..3 {
            f.push(job(&format!("http://big.test/{i}"), 0));
        }
        f.push(job("http://small.test/s", 0));
        f.close_input();
        let order: Vec<String> = std::iter::from_fn(|| f.pop())
            .map(|j| j.url.as_str().to_owned())
            .collect();
        assert_eq!(order[0], "http://big.test/0");
        assert_eq!(order[1], "http://small.test/s");
    }

    #[test]
    fn per_host_limit_holds_until_done() {
        let mut f = Frontier::new(2, SeenSet::default());
        for i in 0..5 {
            f.push(job(&format!("http://a.test/{i}"), 0));
        }
        let a = f.pop().unwrap();
        let _b = f.pop().unwrap();
        assert!(f.pop().is_none(), "third in flight exceeds --per-host 2");
        f.done(&a.host, 0);
        assert!(f.pop().is_some());
    }

    #[test]
    fn strict_breadth_first_levels() {
        let mut f = Frontier::new(8, SeenSet::default());
        f.push(job("http://a.test/root", 0));
        f.close_input();
        let root = f.pop().unwrap();
        // The root page finishes and yields two depth-1 pages.
        f.push(job("http://a.test/x", 1));
        f.push(job("http://b.test/y", 1));
        f.done(&root.host, 0);
        let x = f.pop().unwrap();
        // x finishes first and yields z at depth 2; z must wait until y (depth 1) is done.
        f.push(job("http://b.test/z", 2));
        f.done(&x.host, 1);
        let y = f.pop().unwrap();
        assert_eq!(y.url.path(), "/y");
        assert!(f.pop().is_none(), "depth 2 must wait for depth 1");
        f.done(&y.host, 1);
        assert_eq!(f.pop().unwrap().url.path(), "/z");
    }

    #[test]
    fn input_keeps_depth_zero_open_and_finishes() {
        let mut f = Frontier::new(8, SeenSet::default());
        f.push(job("http://a.test/0", 0));
        let j = f.pop().unwrap();
        f.push(job("http://a.test/1", 1));
        f.done(&j.host, 0);
        assert!(f.pop().is_none(), "input may still yield depth 0");
        f.push(job("http://a.test/late", 0));
        f.close_input();
        assert_eq!(drain(&mut f), ["/late", "/1"]);
        assert!(f.is_finished());
    }

    #[test]
    fn held_work_blocks_the_next_level() {
        let mut f = Frontier::new(8, SeenSet::default());
        f.close_input();
        f.hold(0);
        f.push(job("http://a.test/1", 1));
        assert!(f.pop().is_none());
        assert!(!f.is_finished());
        f.release(0);
        assert_eq!(drain(&mut f), ["/1"]);
        assert!(f.is_finished());
    }
}
