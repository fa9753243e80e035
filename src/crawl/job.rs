//! A queued URL ([`Job`]): plain data shared by the frontier, its spill and the tasks (its own file, so the spill
//! can name it without importing the frontier that owns the spill).

use std::sync::Arc;

use url::Url;

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
    /// `--check-links`: only check the URL (HEAD, never parsed), a link the crawl does not follow.
    pub check: bool,
}
