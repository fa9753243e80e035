//! The scheduler's `--check-links` steps: a finished page's links to check are queued and the page handed to the
//! [`Checker`](crate::crawl::links::Checker); and `--resume`'s requeueing of written pages' links, which queues
//! checks too. A child of the scheduler so the loop's file keeps to the loop.

use std::sync::Arc;

use url::Url;

use super::Scheduler;
use crate::crawl::frontier::Job;
use crate::crawl::task::Found;
use crate::output::Resumed;
use crate::record::Record;
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
        for link in found
            .check
            .iter()
            .filter_map(|&i| record.links.get(i as usize))
        {
            self.queue_link(link, (job.depth + 1, true), parent, &job.root);
        }
        if let Some(checker) = self.checker.as_mut() {
            checker.page(record, job.check, found.anchors);
        }
    }

    /// `--resume` in crawl mode: links of pages already written are queued again (the seen-set drops those done).
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
            for link in &r.links {
                // With --check-links, what the page does not follow is checked, as in the run being resumed.
                let follow = may_follow && cfg.may_follow(&root.host, link, true);
                if follow || (checking && cfg.may_check(link)) {
                    self.queue_link(link, (r.depth + 1, !follow), &parent, &root);
                }
            }
        }
    }
}
