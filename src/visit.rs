//! What a task does with one job, start to finish: a page (the politeness path, then parse, then its record and
//! the links it may follow) or a sitemap step (which sitemap files a listed host has; what one file lists).
//! [`Live`] is the real implementation of the scheduler's [`Visit`] seam; tests plug in a model instead.
//!
//! With `--since`, a page's request carries the earlier run's validators, and a 304 is answered from the earlier
//! record (title, links, extract, digest, validators read back by `since.rs`): its links are followed as if the
//! page had been fetched. Tasks return what they found and mutate nothing shared. Must not queue, dedup or write (the scheduler and the
//! writer own those).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tokio::time::Instant;
use url::Url;

use crate::cli::Config;
use crate::crawl::{SitemapTask, TaskOutcome, Visit};
use crate::fetch::Response;
use crate::frontier::Job;
use crate::parse::{self, Page};
use crate::polite::{Follow, Polite, Root};
use crate::record::{now_rfc3339, ErrorKind, Record, RecordError, Redirect};
use crate::since::{Carried, Since, NOT_MODIFIED};

/// Bodies up to this size are parsed right in the task (the scanner needs ~20 µs for a 15 KB page, less than a
/// hand-off to another thread costs); larger ones, or pages that need scraper for `--select`, go to the
/// blocking pool so a hostile multi-megabyte page cannot stall a runtime worker.
const INLINE_PARSE_MAX: usize = 256 * 1024;

/// The real visitor: every request through [`Polite`].
#[derive(Debug, Clone)]
pub struct Live {
    pub polite: Polite,
    /// The earlier run, with `--since` or `--state`.
    pub since: Option<Arc<Since>>,
}

impl Visit for Live {
    fn page(&self, job: Job) -> BoxFuture<'static, TaskOutcome> {
        let polite = self.polite.clone();
        let since = self.since.clone();
        async move { visit(&polite, since.as_ref(), job).await }.boxed()
    }

    fn sitemap(&self, task: SitemapTask) -> BoxFuture<'static, TaskOutcome> {
        let polite = self.polite.clone();
        async move { crate::sitemap::run(&polite, task).await }.boxed()
    }
}

/// Whether a crawl may follow a discovered link: nofollow rules, scope, `--include`/`--exclude`.
pub(crate) fn may_follow(cfg: &Config, root: &str, link: &str, followable: bool) -> bool {
    (followable || cfg.follow_nofollow)
        && crate::url::host_of(link).is_some_and(|host| cfg.scope.allows(root, host))
        && (cfg.include.is_empty() || cfg.include.iter().any(|r| r.is_match(link)))
        && !cfg.exclude.iter().any(|r| r.is_match(link))
}

/// One URL, start to record: the politeness path (robots, limits, retries, redirects), then parse.
async fn visit(polite: &Polite, since: Option<&Arc<Since>>, job: Job) -> TaskOutcome {
    let cfg = polite.cfg();
    let parent = job.parent.as_deref().map(str::to_owned);
    // Listed URLs follow redirects anywhere; discovered and sitemap URLs stay within --scope.
    let follow = if job.depth == 0 && job.parent.is_none() {
        Follow::Anywhere
    } else {
        Follow::Scope
    };
    let fetched_at = now_rfc3339();
    let started = Instant::now();
    let cond = since.and_then(|s| s.conditional(job.url.as_str()));
    // Only a 304 to a conditional request is "not modified"; an unsolicited one is just a 304.
    let asked = cond.is_some();
    let ex = polite
        .get(&job.url, &job.root, follow, cfg.max_body, cond)
        .await;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let resp = match ex.result {
        Ok(r) => r,
        Err(e) => {
            let mut record =
                Record::failed(job.url.as_str(), job.depth, parent, e.kind(), e.to_string());
            record.fetched_at = fetched_at;
            record.elapsed_ms = elapsed_ms;
            record.attempts = ex.attempts;
            record.redirects = ex.redirects;
            return TaskOutcome::Page {
                record: Box::new(record),
                follow: Vec::new(),
            };
        }
    };
    if resp.status == NOT_MODIFIED && asked {
        if let Some(carried) = match since {
            Some(s) => s.carry(job.url.as_str()).await,
            None => None,
        } {
            let meta = (fetched_at, elapsed_ms, ex.attempts, ex.redirects);
            return not_modified(cfg, job, parent, resp, carried, meta);
        }
    }
    let bytes = resp.body.len() as u64;
    // Hashed once here, over the body as kept, rather than chunk by chunk in `fetch.rs`: the same cost (the
    // body is in cache either way) and robots.txt, sitemap and redirect bodies are not hashed at all.
    let digest = crate::digest::of(&resp.body);
    // An unfollowed redirect (it left --scope) is reported as it came; its body is a stub, not a page.
    let is_redirect =
        resp.location.is_some() && crate::polite::REDIRECT_STATUSES.contains(&resp.status);
    let (page, parse_error) =
        if !is_redirect && parse::is_html(resp.content_type.as_deref(), &resp.body) {
            parse_body(
                cfg,
                resp.body,
                resp.content_type.as_deref(),
                &resp.final_url,
            )
            .await
        } else {
            (Page::default(), None)
        };
    let follow = if job.depth < cfg.depth && !(page.meta_nofollow && cfg.robots) {
        let links = page.links.iter().zip(&page.followable).enumerate();
        links
            .filter(|(_, (url, followable))| may_follow(cfg, &job.root.host, url, **followable))
            .map(|(i, _)| i as u32)
            .collect()
    } else {
        Vec::new()
    };
    let record = Box::new(Record {
        url: job.url.into(),
        final_url: Some(resp.final_url.into()),
        status: Some(resp.status),
        depth: job.depth,
        parent,
        content_type: resp.content_type,
        bytes,
        truncated: resp.truncated,
        title: page.title,
        links: page.links,
        fetched_at,
        elapsed_ms,
        attempts: ex.attempts,
        error: parse_error,
        extract: page
            .extract
            .or_else(|| (!cfg.extractors.is_empty()).then(Default::default)),
        redirects: ex.redirects,
        etag: resp.etag,
        last_modified: resp.last_modified,
        digest,
        change: None,
        ip: resp.ip.map(|ip| ip.to_string()),
        http_version: resp.http_version,
        headers: resp.headers,
        warc_offset: resp.warc_offset,
        meta_nofollow: page.meta_nofollow,
    });
    TaskOutcome::Page { record, follow }
}

/// A 304 answered from the earlier record: its links are followed unless its `meta_nofollow` says not (all of
/// them otherwise: whether one was `rel=nofollow` is not in the record, as for `--resume`); the 304's own
/// validators win over the carried ones.
fn not_modified(
    cfg: &Config,
    job: Job,
    parent: Option<String>,
    resp: Response,
    carried: Carried,
    (fetched_at, elapsed_ms, attempts, redirects): (String, u64, u32, Vec<Redirect>),
) -> TaskOutcome {
    let follow = if job.depth < cfg.depth && !(carried.meta_nofollow && cfg.robots) {
        let links = carried.links.iter().enumerate();
        links
            .filter(|(_, url)| may_follow(cfg, &job.root.host, url, true))
            .map(|(i, _)| i as u32)
            .collect()
    } else {
        Vec::new()
    };
    let record = Box::new(Record {
        url: job.url.into(),
        final_url: Some(resp.final_url.into()),
        status: Some(resp.status),
        depth: job.depth,
        parent,
        content_type: resp.content_type,
        bytes: resp.body.len() as u64,
        truncated: resp.truncated,
        title: carried.title,
        links: carried.links,
        fetched_at,
        elapsed_ms,
        attempts,
        error: None,
        extract: (!cfg.extractors.is_empty()).then(|| carried.extract.unwrap_or_default()),
        redirects,
        etag: resp.etag.or(carried.etag),
        last_modified: resp.last_modified.or(carried.last_modified),
        digest: carried.digest,
        change: None,
        ip: resp.ip.map(|ip| ip.to_string()),
        http_version: resp.http_version,
        headers: resp.headers,
        warc_offset: resp.warc_offset,
        meta_nofollow: carried.meta_nofollow,
    });
    TaskOutcome::Page { record, follow }
}

async fn parse_body(
    cfg: &Arc<Config>,
    body: Vec<u8>,
    content_type: Option<&str>,
    url: &Url,
) -> (Page, Option<RecordError>) {
    if body.len() <= INLINE_PARSE_MAX && cfg.extractors.is_empty() {
        return (parse_sync(&body, content_type, url, &[]), None);
    }
    // The blocking pool needs owned data: copies are made only on this (rare) path.
    let (cfg, content_type, url) = (cfg.clone(), content_type.map(str::to_owned), url.clone());
    let joined = tokio::task::spawn_blocking(move || {
        parse_sync(&body, content_type.as_deref(), &url, &cfg.extractors)
    })
    .await;
    match joined {
        Ok(page) => (page, None),
        Err(e) => (
            Page::default(),
            Some(RecordError {
                kind: ErrorKind::Other,
                message: format!("parser failed: {e}"),
            }),
        ),
    }
}

fn parse_sync(
    body: &[u8],
    content_type: Option<&str>,
    url: &Url,
    extractors: &[parse::Extractor],
) -> Page {
    parse::parse_page(&parse::decode(body, content_type), url, extractors)
}

/// The root of a listed URL (shared by every job that descends from it).
#[must_use]
pub fn root_of(url: &Url) -> Arc<Root> {
    Arc::new(Root::of(url))
}
