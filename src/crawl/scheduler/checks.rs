//! The scheduler's `--check-links` steps: a finished page's links to check are queued and the page handed to the
//! [`Checker`](crate::crawl::links::Checker); and `--resume`'s requeueing of written pages' links, which queues
//! checks too. A child of the scheduler so the loop's file keeps to the loop.

use std::sync::Arc;

use url::Url;

use super::Scheduler;
use crate::crawl::frontier::Job;
use crate::crawl::task::Found;
use crate::output::journal::{self, Replay, CHECK_BIT};
use crate::output::Resumed;
use crate::record::Record;
use crate::url::key::key;
use crate::url::scope::Root;

impl Scheduler {
    /// With `--check-links`: queues the page's links to check (one level down, never parsed) and lets the
    /// checker note who links what and the page's anchors, before its record is written.
    pub(super) fn checks(
        &mut self,
        job: &Job,
        record: &mut Record,
        parent: &Arc<str>,
        found: Option<Box<Found>>,
    ) {
        let Some(found) = found else {
            if let Some(checker) = self.checker.as_mut() {
                checker.page(record, job.check, None);
            }
            return;
        };
        for &i in &found.check {
            // A check index is always one of `links` (never an alternate).
            let Some(link) = record.keyed_link(i) else {
                continue;
            };
            if self.queue_link(link, (job.depth + 1, true), parent, &job.root) {
                record.queued.push(i | CHECK_BIT);
            }
        }
        if let Some(checker) = self.checker.as_mut() {
            checker.page(record, job.check, found.anchors);
        }
    }

    /// `--resume` in crawl mode with the links journal: each written page's first-queued links are queued again,
    /// at its depth + 1 with it as parent (the seen-set drops those done), entry by entry as read, so the spill
    /// bounds the memory whatever the journal holds. The entries are in FILE's order, which is the order the run
    /// being resumed queued them in, so each URL gets back the depth and parent it had. A read failure stops the run
    /// like a failed spill: dispatching a partial queue would lose URLs silently.
    pub(super) fn requeue_journal(&mut self, replay: &Replay) {
        let entries = match journal::entries(replay) {
            Ok(entries) => entries,
            Err(e) => return self.replay_failed(&format!("{e:#}")),
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => return self.replay_failed(&e),
            };
            let Ok(page) = Url::parse(&entry.url) else {
                continue;
            };
            let root = Root::shared(&page);
            let parent: Arc<str> = Arc::from(page.as_str());
            let body = entry.first_body.map(|d| (d, entry.url.clone()));
            self.duplicates.resumed(&self.ctx.cfg, body.into_iter());
            for (link, check) in &entry.links {
                self.queue_link((link, key(link)), (entry.depth + 1, *check), &parent, &root);
            }
        }
    }

    fn replay_failed(&mut self, why: &str) {
        let msg = format!("--resume: {why}");
        tracing::error!("{msg}");
        self.spill_error = Some(msg);
    }

    /// `--resume` in crawl mode without a links journal (FILE written before journals): links of pages already
    /// written are queued again (the seen-set drops those done).
    pub(super) fn requeue_resumed(&mut self, resumed: Vec<Resumed>) {
        let cfg = self.ctx.cfg.clone();
        let checking = self.checker.is_some();
        for r in resumed {
            let Ok(page) = Url::parse(&r.url) else {
                continue;
            };
            let may_follow = r.depth < cfg.depth && !(r.meta_nofollow && cfg.robots);
            if r.status.is_none() || !(may_follow || checking) {
                continue;
            }
            let root = Root::shared(&page);
            let mut page = page;
            crate::url::strip_userinfo(&mut page); // a record written before userinfo was stripped
            let parent: Arc<str> = Arc::from(page.as_str());
            for link in r.links.iter().flatten() {
                // With --check-links, what the page does not follow is checked, as in the run being resumed.
                let follow = may_follow && cfg.may_follow(&root.host, link, true);
                if follow || (checking && cfg.may_check(link)) {
                    self.queue_link((link, key(link)), (r.depth + 1, !follow), &parent, &root);
                }
            }
        }
    }
}
