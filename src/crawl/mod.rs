//! The crawl engine: which URL is fetched when, and what becomes of what a page says.
//!
//! [`scheduler`] owns the loop (frontier, tasks, permits, the record channel); [`frontier`] is its plain-data
//! queue; [`visit`] is what one task does for one URL (through the polite path) and [`sitemap`] the `--sitemap`
//! steps. The model test (`src/crawl/model.rs`) proves the loop against breadth-first search.
//!
//! Must not write output (the writer owns it) nor make a request except through `crate::polite`.

mod duplicates;
pub(crate) mod frontier;
pub(crate) mod handoff;
pub(crate) mod job;
mod links;
#[cfg(test)]
mod model;
pub(crate) mod render;
mod scheduler;
mod seen;
pub(crate) mod sitemap;
pub(crate) mod spill;
pub(crate) mod task;
pub(crate) mod visit;

use std::path::PathBuf;
use std::sync::Arc;

use regex::Regex;

use crate::html::{ContentOptions, Extractor};
use crate::output::save::SaveOptions;
use crate::record::check::Accept;
use crate::url::query::QueryRules;
use crate::url::shard::Shard;
use crate::url::Scope;

pub(crate) use scheduler::{crawl, CrawlEnd, Ctx};

/// `-c`'s default: requests in flight, all hosts together.
pub(crate) const DEFAULT_CONCURRENCY: u32 = 64;
/// `--per-host`'s default: requests in flight to one host.
pub(crate) const DEFAULT_PER_HOST: u32 = 4;
/// `--max-body`'s default: body bytes kept per page (10 MiB).
pub(crate) const DEFAULT_MAX_BODY: u64 = 10 * 1024 * 1024;
/// `--frontier-memory`'s default: queued jobs held in memory before they spill to disk (64 MiB, ~270,000 URLs).
pub(crate) const DEFAULT_FRONTIER_MEMORY: u64 = 64 * 1024 * 1024;

/// What the crawl engine is built with: how wide, how deep, which links, what to extract.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // independent flags of the CLI contract
pub struct CrawlOptions {
    /// `-c`: requests in flight, all hosts together (the global permits).
    pub concurrency: usize,
    /// `--per-host`: requests in flight to one host.
    pub per_host: usize,
    /// `--depth`: link levels followed below the listed URLs.
    pub depth: u32,
    /// `--scope`: which discovered links are followed.
    pub scope: Scope,
    /// `--shard I/N`: only URLs of this shard are fetched.
    pub shard: Option<Shard>,
    /// `--handoff DIR`: links of other shards are handed to them through DIR, and DIR's inbox is crawled.
    pub handoff: Option<std::path::PathBuf>,
    /// `--include`: a link must match one (when any is given).
    pub include: Vec<Regex>,
    /// `--exclude`: a link matching one is not followed.
    pub exclude: Vec<Regex>,
    /// `--max-pages`: URLs dispatched at most.
    pub max_pages: Option<u64>,
    /// `--follow-nofollow`: `rel=nofollow` links are followed too.
    pub follow_nofollow: bool,
    /// `--select`: what to extract from each page.
    pub extractors: Vec<Extractor>,
    /// `--content` and `--content-scope`: the page's text into `content` (`None`: no content work at all).
    pub content: Option<ContentOptions>,
    /// `--max-body`: body bytes kept per page.
    pub max_body: u64,
    /// robots.txt and `<meta name=robots nofollow>` obeyed.
    pub robots: bool,
    /// `--sitemap`: listed hosts' sitemaps are read.
    pub sitemap: bool,
    /// `--warc`: records wait for their `warc_offset`.
    pub archive: bool,
    /// `--check-links` (with `--accept`'s statuses): links not followed are checked, fragments too.
    pub check_links: Option<Accept>,
    /// `--frontier-memory`: bytes of queued jobs kept in memory; past it they go to the spill directory.
    pub frontier_memory: u64,
    /// Where the spill directory is made (`--spill-dir`, else `--state DIR`, else the system's temp dir).
    pub spill_parent: PathBuf,
    /// `--render` other than `never`: every record carries `rendered` and `render_ms`.
    pub render: bool,
    /// `--screenshot`: every record carries `screenshot`.
    pub screenshot: bool,
    /// `--follow-alternates`: `<link rel=alternate hreflang>` URLs are followed too.
    pub follow_alternates: bool,
    /// `--strip-query`/`--sort-query`: how discovered links are canonicalised before dedup.
    pub query: QueryRules,
    /// `--canonical-dedup`: a page whose canonical URL was already seen has its links not followed.
    pub canonical_dedup: bool,
    /// `--follow-duplicates`: follow the links of a page whose body an earlier page had (off: the duplicate
    /// rule of crawl mode, [`duplicates`]).
    pub follow_duplicates: bool,
    /// `--save DIR`: where fetched bodies are written.
    pub save: Option<Arc<SaveOptions>>,
}

impl Default for CrawlOptions {
    fn default() -> CrawlOptions {
        CrawlOptions {
            concurrency: DEFAULT_CONCURRENCY as usize,
            per_host: DEFAULT_PER_HOST as usize,
            depth: 0,
            scope: Scope::Host,
            shard: None,
            handoff: None,
            include: Vec::new(),
            exclude: Vec::new(),
            max_pages: None,
            follow_nofollow: false,
            extractors: Vec::new(),
            content: None,
            max_body: DEFAULT_MAX_BODY,
            robots: true,
            sitemap: false,
            archive: false,
            check_links: None,
            frontier_memory: DEFAULT_FRONTIER_MEMORY,
            spill_parent: std::env::temp_dir(),
            render: false,
            screenshot: false,
            follow_alternates: false,
            query: QueryRules::default(),
            canonical_dedup: false,
            follow_duplicates: false,
            save: None,
        }
    }
}

impl CrawlOptions {
    /// Whether a crawl may follow a discovered link: nofollow rules, scope, `--include`/`--exclude`.
    pub(crate) fn may_follow(&self, root: &str, link: &str, followable: bool) -> bool {
        (followable || self.follow_nofollow)
            && crate::url::host_of(link).is_some_and(|host| self.scope.allows(root, host))
            && (self.include.is_empty() || self.include.iter().any(|r| r.is_match(link)))
            && !self.exclude.iter().any(|r| r.is_match(link))
    }

    /// Whether `--check-links` checks a link the crawl does not follow: `--include`/`--exclude` say which links
    /// the user cares about, and hold for checks too.
    pub(crate) fn may_check(&self, link: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|r| r.is_match(link)))
            && !self.exclude.iter().any(|r| r.is_match(link))
    }
}
