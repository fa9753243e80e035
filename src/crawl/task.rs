//! The task seam: what the scheduler asks of a task ([`Visit`]) and what a task answers ([`TaskOutcome`]).
//! The real visitor is [`super::visit::Live`]; the model test has one without a network.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use url::Url;

use crate::crawl::frontier::Job;
use crate::html::scan::anchors::Anchors;
use crate::record::{ErrorKind, Record};
use crate::url::scope::Root;

/// The seam between the scheduler and the network: what a task does with a job.
pub(crate) trait Visit: Send + Sync + 'static {
    /// Fetches and parses one page; must return [`TaskOutcome::Page`].
    fn page(&self, job: Job) -> BoxFuture<'static, TaskOutcome>;
    /// One sitemap step; returns [`TaskOutcome::SitemapFiles`] or [`TaskOutcome::SitemapUrls`].
    fn sitemap(&self, task: SitemapTask) -> BoxFuture<'static, TaskOutcome>;
}

/// A sitemap step of a listed host.
#[derive(Debug)]
pub(crate) enum SitemapTask {
    /// Which sitemap files the host has: robots.txt `Sitemap:` lines on its origin, else `/sitemap.xml`.
    Discover { listed: Url, root: Arc<Root> },
    /// One sitemap file; an index is expanded only when `top` (one level deep).
    File {
        url: Url,
        root: Arc<Root>,
        top: bool,
    },
}

/// What `--check-links` needs from a page beyond its record.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// Indices into `record.links` of the links to check (HEAD, never parsed): those not followed.
    pub check: Vec<u32>,
    /// The page's anchors and `#fragment` links; `None` when it was not parsed (not HTML, a 304 carried over).
    pub anchors: Option<Anchors>,
}

/// What a task found.
#[derive(Debug)]
pub(crate) enum TaskOutcome {
    Page {
        record: Box<Record>,
        /// Indices into `record.links` of the links a crawl may follow.
        follow: Vec<u32>,
        /// With `--check-links`: what the link checker needs from the page.
        found: Option<Box<Found>>,
    },
    /// Sitemap files to read next (`top`: listed by robots.txt or the default; else an index's children).
    SitemapFiles {
        root: Arc<Root>,
        files: Vec<Url>,
        top: bool,
    },
    /// The page URLs one sitemap file lists (already limited to its origin).
    SitemapUrls {
        root: Arc<Root>,
        sitemap: Arc<str>,
        urls: Vec<Url>,
    },
}

/// The record for a finished page task and the indices of its links to follow. A task that panicked or returned
/// the wrong outcome still gets its one record.
pub(crate) fn page_outcome(
    job: &Job,
    outcome: Result<TaskOutcome, tokio::task::JoinError>,
) -> (Record, Vec<u32>, Option<Box<Found>>) {
    if let Ok(TaskOutcome::Page {
        record,
        follow,
        found,
    }) = outcome
    {
        return (*record, follow, found);
    }
    let msg = match outcome {
        Err(e) => format!("internal error while fetching: {e}"),
        Ok(_) => "internal error: task returned no page".to_owned(),
    };
    let parent = job.parent.as_deref().map(str::to_owned);
    let record = Record::failed(job.url.as_str(), job.depth, parent, ErrorKind::Other, msg);
    (record, Vec::new(), None)
}
