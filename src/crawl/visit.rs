//! What a task does with one job, start to finish: a page (the politeness path, then parse, then its record and
//! the links it may follow) or a sitemap step (which sitemap files a listed host has; what one file lists).
//! [`Live`] is the real implementation of the scheduler's [`Visit`] seam; tests plug in a model instead.
//!
//! With `--since`, a page's request carries the earlier run's validators, and a 304 is answered from the earlier
//! record (title, links, extract, digest, validators read back by [`crate::output::since`]): its links are followed as if the
//! page had been fetched. Tasks return what they found and mutate nothing shared. Must not queue, dedup or write (the scheduler and the
//! writer own those).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tokio::time::Instant;
use url::Url;

use crate::crawl::frontier::Job;
use crate::crawl::task::{SitemapTask, TaskOutcome, Visit};
use crate::crawl::CrawlOptions;
use crate::html::{self, Page};
use crate::net::fetch::Response;
use crate::output::since::{Carried, Since, NOT_MODIFIED};
use crate::polite::{Follow, Polite};
use crate::record::{now_rfc3339, ErrorKind, FetchError, Record, RecordError, Redirect};

/// Bodies up to this size are parsed right in the task (the scanner needs ~20 µs for a 15 KB page, less than a
/// hand-off to another thread costs); larger ones, or pages that need scraper for `--select`, go to the
/// blocking pool so a hostile multi-megabyte page cannot stall a runtime worker.
const INLINE_PARSE_MAX: usize = 256 * 1024;

/// The real visitor: every request through [`Polite`].
#[derive(Debug, Clone)]
pub(crate) struct Live {
    pub polite: Polite,
    pub cfg: Arc<CrawlOptions>,
    /// The earlier run, with `--since` or `--state`.
    pub since: Option<Arc<Since>>,
}

impl Visit for Live {
    fn page(&self, job: Job) -> BoxFuture<'static, TaskOutcome> {
        let polite = self.polite.clone();
        let (cfg, since) = (self.cfg.clone(), self.since.clone());
        async move { visit(&polite, &cfg, since.as_ref(), job).await }.boxed()
    }

    fn sitemap(&self, task: SitemapTask) -> BoxFuture<'static, TaskOutcome> {
        let polite = self.polite.clone();
        let max_body = self.cfg.max_body;
        async move { crate::crawl::sitemap::run(&polite, max_body, task).await }.boxed()
    }
}

/// One URL, start to record: the politeness path (robots, limits, retries, redirects), then parse.
async fn visit(
    polite: &Polite,
    cfg: &Arc<CrawlOptions>,
    since: Option<&Arc<Since>>,
    job: Job,
) -> TaskOutcome {
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
    let exchange = TripFacts {
        fetched_at,
        elapsed_ms,
        attempts: ex.attempts,
        redirects: ex.redirects,
    };
    let mut resp = match ex.result {
        Ok(r) => r,
        Err(e) => {
            return TaskOutcome::Page {
                record: failed_record(job, parent, &e, ex.received, exchange),
                follow: Vec::new(),
            };
        }
    };
    if resp.status == NOT_MODIFIED && asked {
        if let Some(carried) = match since {
            Some(s) => s.carry(job.url.as_str()).await,
            None => None,
        } {
            return not_modified(cfg, job, parent, resp, carried, exchange);
        }
    }
    let bytes = resp.body.len() as u64;
    // Hashed once here, over the body as kept, rather than chunk by chunk in `fetch.rs`: the same cost (the
    // body is in cache either way) and robots.txt, sitemap and redirect bodies are not hashed at all.
    let digest = crate::digest::of(&resp.body);
    // An unfollowed redirect (it left --scope) is reported as it came; its body is a stub, not a page.
    let is_redirect =
        resp.location.is_some() && crate::polite::REDIRECT_STATUSES.contains(&resp.status);
    let body = std::mem::take(&mut resp.body);
    let (page, parse_error) = if !is_redirect && html::is_html(resp.content_type.as_deref(), &body)
    {
        parse_body(cfg, body, resp.content_type.as_deref(), &resp.final_url).await
    } else {
        (Page::default(), None)
    };
    let followable = &page.followable;
    let follow = follow_list(cfg, &job, &page.links, page.meta_nofollow, |i| {
        followable.get(i).copied().unwrap_or(false)
    });
    let content = Content {
        bytes,
        title: page.title,
        links: page.links,
        extract: page
            .extract
            .or_else(|| (!cfg.extractors.is_empty()).then(Default::default)),
        digest,
        meta_nofollow: page.meta_nofollow,
        error: parse_error,
        content: cfg.content.map(|_| page.content),
    };
    TaskOutcome::Page {
        record: response_record(job, parent, resp, exchange, content),
        follow,
    }
}

/// The facts of a URL's trip through the polite path that its record reports.
struct TripFacts {
    fetched_at: String,
    elapsed_ms: u64,
    attempts: u32,
    redirects: Vec<Redirect>,
}

/// What a record says about the page: parsed from this response, or carried over from the earlier run by a 304.
struct Content {
    bytes: u64,
    title: Option<String>,
    links: Vec<String>,
    extract: Option<crate::record::Extract>,
    digest: Option<String>,
    meta_nofollow: bool,
    error: Option<RecordError>,
    /// `--content` (`Some`): the page's text, null (`Some(None)`) when there is no page to read.
    #[allow(clippy::option_option, clippy::struct_field_names)]
    // absent vs null, as `Record::content`
    content: Option<Option<String>>,
}

/// The indices of `links` a crawl may follow from this page: none past `--depth` or when the page's robots meta
/// said nofollow (unless robots are ignored); otherwise scope, `--include`/`--exclude` and `rel=nofollow`.
fn follow_list(
    cfg: &CrawlOptions,
    job: &Job,
    links: &[String],
    meta_nofollow: bool,
    followable: impl Fn(usize) -> bool,
) -> Vec<u32> {
    if job.depth >= cfg.depth || (meta_nofollow && cfg.robots) {
        return Vec::new();
    }
    links
        .iter()
        .enumerate()
        .filter(|(i, url)| cfg.may_follow(&job.root.host, url, followable(*i)))
        .map(|(i, _)| i as u32)
        .collect()
}

/// The one place a response becomes a record.
fn response_record(
    job: Job,
    parent: Option<String>,
    resp: Response,
    exchange: TripFacts,
    content: Content,
) -> Box<Record> {
    Box::new(Record {
        url: job.url.into(),
        final_url: Some(resp.final_url.into()),
        status: Some(resp.status),
        depth: job.depth,
        parent,
        content_type: resp.content_type,
        bytes: content.bytes,
        truncated: resp.truncated,
        title: content.title,
        links: content.links,
        fetched_at: exchange.fetched_at,
        elapsed_ms: exchange.elapsed_ms,
        attempts: exchange.attempts,
        error: content.error,
        extract: content.extract,
        redirects: exchange.redirects,
        etag: resp.etag,
        last_modified: resp.last_modified,
        digest: content.digest,
        change: None,
        ip: resp.ip.map(|ip| ip.to_string()),
        http_version: resp.http_version,
        headers: resp.headers,
        warc_offset: resp.warc_offset.map(Some),
        meta_nofollow: content.meta_nofollow,
        content: content.content,
    })
}

/// A URL without a whole final response. When a response came but its body broke off (`received`), the record
/// says what was received: the head's fields (`status`, `final_url`, `content_type`, validators, `ip`,
/// `http_version`, `headers`) and its archived record's `warc_offset`, with `truncated` true, no body (`bytes` 0,
/// `digest` null: none is kept), no title or links (a page cut off is not parsed) and the error.
fn failed_record(
    job: Job,
    parent: Option<String>,
    e: &FetchError,
    received: Option<Box<Response>>,
    exchange: TripFacts,
) -> Box<Record> {
    let error = RecordError {
        kind: e.kind(),
        message: e.to_string(),
    };
    if let Some(mut head) = received {
        head.truncated = true;
        let content = Content {
            bytes: 0,
            title: None,
            links: Vec::new(),
            extract: None,
            digest: None,
            meta_nofollow: false,
            error: Some(error),
            content: None,
        };
        return response_record(job, parent, *head, exchange, content);
    }
    let mut record = Record::failed(
        job.url.as_str(),
        job.depth,
        parent,
        error.kind,
        error.message,
    );
    record.fetched_at = exchange.fetched_at;
    record.elapsed_ms = exchange.elapsed_ms;
    record.attempts = exchange.attempts;
    record.redirects = exchange.redirects;
    Box::new(record)
}

/// A 304 answered from the earlier record: its links are followed unless its `meta_nofollow` says not (all of
/// them otherwise: whether one was `rel=nofollow` is not in the record, as for `--resume`); the 304's own
/// validators win over the carried ones.
fn not_modified(
    cfg: &CrawlOptions,
    job: Job,
    parent: Option<String>,
    mut resp: Response,
    carried: Carried,
    exchange: TripFacts,
) -> TaskOutcome {
    let follow = follow_list(cfg, &job, &carried.links, carried.meta_nofollow, |_| true);
    resp.etag = resp.etag.or(carried.etag);
    resp.last_modified = resp.last_modified.or(carried.last_modified);
    let content = Content {
        bytes: resp.body.len() as u64,
        title: carried.title,
        links: carried.links,
        extract: (!cfg.extractors.is_empty()).then(|| carried.extract.unwrap_or_default()),
        digest: carried.digest,
        meta_nofollow: carried.meta_nofollow,
        error: None,
        // A 304 has no body to read; the earlier record's content is not carried (it may be large).
        content: cfg.content.map(|_| None),
    };
    TaskOutcome::Page {
        record: response_record(job, parent, resp, exchange, content),
        follow,
    }
}

async fn parse_body(
    cfg: &Arc<CrawlOptions>,
    body: Vec<u8>,
    content_type: Option<&str>,
    url: &Url,
) -> (Page, Option<RecordError>) {
    if body.len() <= INLINE_PARSE_MAX && cfg.extractors.is_empty() && cfg.content.is_none() {
        return (parse_sync(&body, content_type, url, &[], None), None);
    }
    // The blocking pool needs owned data: copies are made only on this (rare) path.
    let (cfg, content_type, url) = (cfg.clone(), content_type.map(str::to_owned), url.clone());
    let joined = tokio::task::spawn_blocking(move || {
        parse_sync(
            &body,
            content_type.as_deref(),
            &url,
            &cfg.extractors,
            cfg.content,
        )
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
    extractors: &[html::Extractor],
    content: Option<html::ContentOptions>,
) -> Page {
    html::parse_page_with(&html::decode(body, content_type), url, extractors, content)
}
