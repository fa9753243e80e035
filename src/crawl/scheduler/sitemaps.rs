//! The scheduler's sitemap steps: which sitemap files are read when (one at a time, only while the frontier runs low
//! or short of `--max-pages`' rest) and how many per origin. A child of the scheduler so the loop's file keeps to the
//! loop.

use std::sync::Arc;

use url::Url;

use super::{Running, Scheduler, SITEMAP_FILES_IN_FLIGHT};
use crate::crawl::task::SitemapTask;
use crate::url::scope::Root;

impl Scheduler {
    /// Pages `--max-pages` still allows (`usize::MAX` without it).
    fn budget_left(&self) -> usize {
        self.ctx.cfg.max_pages.map_or(usize::MAX, |max| {
            usize::try_from(max.saturating_sub(self.dispatched)).unwrap_or(usize::MAX)
        })
    }

    /// Sitemap steps go when a permit is free; a file only while the frontier runs low (or nothing else runs), so
    /// a host's sitemaps are expanded as the crawl drains them, not all at once.
    pub(super) fn dispatch_sitemaps(&mut self) {
        while !self.budget_spent() {
            let is_file = match self.sitemaps.front() {
                None => return,
                Some(SitemapTask::Discover { .. }) => false,
                Some(SitemapTask::File { .. }) => true,
            };
            // With --max-pages, what is queued may already cover what the budget has left: then no file is read
            // (it was one per 20 ms while a per-host limit paced the pages, 3 files for 10 pages under load).
            let want = self.low_water.min(self.budget_left());
            let low = self.frontier.queued() < want || self.tasks.is_empty();
            if is_file && (self.sitemap_files_running >= SITEMAP_FILES_IN_FLIGHT || !low) {
                return;
            }
            let Ok(permit) = self.semaphore.clone().try_acquire_owned() else {
                return;
            };
            let Some(step) = self.sitemaps.pop_front() else {
                return;
            };
            self.sitemap_files_running += usize::from(is_file);
            let task = self.ctx.visit.sitemap(step);
            let handle = self.tasks.spawn(async move {
                let _permit = permit;
                task.await
            });
            self.running.insert(handle.id(), Running::Sitemap(is_file));
        }
    }

    /// Queues a sitemap step; it holds level 0 open until its outcome is processed.
    pub(super) fn queue_sitemap(&mut self, step: SitemapTask) {
        self.frontier.hold(0);
        self.sitemaps.push_back(step);
    }

    /// Queues sitemap files of a listed origin, at most [`crate::crawl::sitemap::MAX_SITEMAPS`] per origin in the run.
    pub(super) fn sitemap_files(&mut self, root: &Arc<Root>, files: Vec<Url>, top: bool) {
        let origin: Arc<str> = root.origin.ascii_serialization().into();
        let count = self.sitemap_hosts.entry(origin).or_insert(0);
        let left = crate::crawl::sitemap::MAX_SITEMAPS.saturating_sub(*count);
        *count += files.len().min(left);
        for url in files.into_iter().take(left) {
            self.queue_sitemap(SitemapTask::File {
                url,
                root: root.clone(),
                top,
            });
        }
    }
}
