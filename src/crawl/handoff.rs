//! `--handoff` in the scheduler: links of other shards leave through the outbox, and links handed to this shard
//! are queued at the breadth-first level one machine would have queued them at.
//!
//! A handed-over link of depth `d` is **held** (the frontier counts it at `d`, so level `d` cannot close) until
//! the frontier's open level reaches `d`: by then every page of depth below `d` is done, so every link of depth
//! `<= d` this shard finds itself is already in the seen set, and the seen set alone decides (a URL this shard
//! reaches at depth `<= d` keeps its record; otherwise the handed-over one, at `d`, is the smallest depth). A link
//! that arrives while the level is already past `d` (taken by a poll, late) cannot be placed so: it is put back in
//! this shard's own inbox for the next run, which takes it at its start, in time.
//!
//! Must not touch files (the outbox and inbox threads in [`crate::output::handoff`] do).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use url::Url;

use crate::crawl::frontier::Frontier;
use crate::output::handoff::outbox::Outbox;
use crate::output::handoff::{Handoff, Segment};
use crate::url::scope::Root;

/// What the app gives the scheduler for `--handoff`.
#[derive(Debug)]
pub(crate) struct HandoffIo {
    /// Where links of other shards (and late ones of this shard) go.
    pub outbox: Outbox,
    /// The inbox as it was when the run started.
    pub initial: Vec<Segment>,
    /// Segments found by the inbox poller while the run goes on.
    pub polled: mpsc::Receiver<Segment>,
}

/// The scheduler's handoff state.
#[derive(Debug)]
pub(super) struct Handoffs {
    outbox: Outbox,
    /// `None` once the poller is gone.
    polled: Option<mpsc::Receiver<Segment>>,
    /// Handed-over links waiting for their level, by depth; each one holds its depth in the frontier.
    held: BTreeMap<u32, Vec<Handoff>>,
    /// Segments taken: every link in them is queued, dropped as seen, or put back in the outbox.
    taken: Vec<PathBuf>,
    /// This shard, and `--depth`.
    own: u32,
    max_depth: u32,
    /// Links put back for the next run; links handed to other shards.
    deferred: u64,
    handed: u64,
    /// The outbox thread is gone: nothing taken may be deleted.
    lost: bool,
}

impl Handoffs {
    pub(super) fn new(
        io: HandoffIo,
        own: u32,
        max_depth: u32,
        frontier: &mut Frontier,
    ) -> Handoffs {
        let mut h = Handoffs {
            outbox: io.outbox,
            polled: Some(io.polled),
            held: BTreeMap::new(),
            taken: Vec::new(),
            own,
            max_depth,
            deferred: 0,
            handed: 0,
            lost: false,
        };
        for segment in io.initial {
            h.take(segment, frontier);
        }
        h
    }

    /// Takes a segment: each link is held for its level, or put back when that level is past.
    pub(super) fn take(&mut self, segment: Segment, frontier: &mut Frontier) {
        self.taken.push(segment.path);
        for link in segment.links {
            if link.depth == 0 || link.depth > self.max_depth {
                continue;
            }
            if link.depth < frontier.level() {
                self.deferred += 1;
                self.send(self.own, link);
            } else {
                frontier.hold(link.depth);
                self.held.entry(link.depth).or_default().push(link);
            }
        }
    }

    /// The held links whose level is open now (the caller queues each and then releases its hold).
    pub(super) fn ready(&mut self, level: u32) -> Option<(u32, Vec<Handoff>)> {
        let first = self.held.first_entry()?;
        (*first.key() <= level).then(|| first.remove_entry())
    }

    /// Hands `link` (found at `depth - 1` on `parent`, under `root`) to shard `to`.
    pub(super) fn hand(&mut self, to: u32, link: &str, depth: u32, parent: &str, root: &Root) {
        self.handed += 1;
        let link = Handoff {
            url: link.to_owned(),
            depth,
            parent: parent.to_owned(),
            root: root.origin.ascii_serialization(),
        };
        self.send(to, link);
    }

    fn send(&mut self, to: u32, link: Handoff) {
        if !self.outbox.send(to, link) {
            self.lost = true;
        }
    }

    /// The next segment from the poller; `None` (forever) once it is gone.
    pub(super) async fn next(&mut self) -> Option<Segment> {
        let segment = self.polled.as_mut()?.recv().await;
        if segment.is_none() {
            self.polled = None;
        }
        segment
    }

    pub(super) fn polling(&self) -> bool {
        self.polled.is_some()
    }

    /// The segments whose links are all accounted for (none unless the run `ran_dry`: a run stopped early leaves
    /// its segments to the next run), for deletion once the run's records are written; links handed over; links
    /// put back.
    pub(super) fn end(self, ran_dry: bool) -> (Vec<PathBuf>, u64, u64) {
        let taken = if ran_dry && !self.lost {
            self.taken
        } else {
            Vec::new()
        };
        (taken, self.handed, self.deferred)
    }
}

/// The next segment from the poller, when there is a poller.
pub(super) async fn next_segment(h: &mut Option<Handoffs>) -> Option<Segment> {
    match h {
        Some(h) => h.next().await,
        None => None,
    }
}

/// The scope root a handed-over link descends from: its listed origin, else (not a URL) the link itself.
pub(super) fn root_of(link: &Handoff, url: &Url) -> Arc<Root> {
    match Url::parse(&link.root) {
        Ok(origin) => Root::shared(&origin),
        Err(_) => Root::shared(url),
    }
}
