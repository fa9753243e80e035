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
use crate::crawl::task::{Found, SitemapTask, TaskOutcome, Visit};
use crate::crawl::CrawlOptions;
use crate::html::scan::anchors::Anchors;
use crate::html::{self, Page};
use crate::net::fetch::Response;
use crate::net::request_log::Method;
use crate::output::save::SaveOptions;
use crate::output::since::{Carried, Since, NOT_MODIFIED};
use crate::polite::{Follow, Polite};
use crate::record::{now_rfc3339, ErrorKind, FetchError, Hreflang, Record, RecordError, Redirect};
use crate::render::{RenderMode, Renderer};
use crate::url::query::QueryRules;

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
    /// `--render` auto or always: the browser.
    pub renderer: Option<Arc<crate::render::Renderer>>,
}

impl Visit for Live {
    fn page(&self, job: Job) -> BoxFuture<'static, TaskOutcome> {
        let polite = self.polite.clone();
        let (cfg, since) = (self.cfg.clone(), self.since.clone());
        let renderer = self.renderer.clone();
        async move { visit(&polite, &cfg, (since.as_ref(), renderer.as_deref()), job).await }
            .boxed()
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
    (since, renderer): (Option<&Arc<Since>>, Option<&Renderer>),
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
    let ex = if job.check {
        polite.check(&job.url, &job.root, cfg.max_body).await
    } else {
        polite
            .get(&job.url, &job.root, follow, cfg.max_body, cond, Method::Get)
            .await
    };
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let exchange = TripFacts {
        fetched_at,
        elapsed_ms,
        attempts: ex.attempts,
        redirects: ex.redirects,
    };
    let resp = match ex.result {
        Ok(r) => r,
        Err(e) => {
            return TaskOutcome::Page {
                record: failed_record(job, parent, &e, ex.received, exchange),
                follow: Vec::new(),
                found: None,
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
    read_page((polite, renderer), cfg, job, parent, resp, exchange).await
}

/// A response's record, its body parsed when it is a page (not a redirect stub, not a `--check-links` check), and
/// what the crawl does next with its links.
async fn read_page(
    (polite, renderer): (&Polite, Option<&Renderer>),
    cfg: &Arc<CrawlOptions>,
    job: Job,
    parent: Option<String>,
    mut resp: Response,
    exchange: TripFacts,
) -> TaskOutcome {
    let bytes = resp.body.len() as u64;
    // Hashed once here, over the body as kept, rather than chunk by chunk in `fetch.rs`: the same cost (the
    // body is in cache either way) and robots.txt, sitemap and redirect bodies are not hashed at all.
    let digest = crate::digest::of(&resp.body);
    // An unfollowed redirect (it left --scope) is reported as it came; its body is a stub, not a page.
    let is_redirect =
        resp.location.is_some() && crate::polite::REDIRECT_STATUSES.contains(&resp.status);
    let html =
        !is_redirect && !job.check && html::is_html(resp.content_type.as_deref(), &resp.body);
    // `--save` writes the body as the record saw it, before the parse takes it.
    let saved = match &cfg.save {
        Some(opts) if !is_redirect && !job.check && !resp.body.is_empty() && !opts.content_only => {
            let body = std::mem::take(&mut resp.body);
            let (body, saved) = save_body(opts, &resp.final_url, body).await;
            resp.body = body;
            saved
        }
        _ => None,
    };
    let (mut page, anchors, parse_error, render) =
        page_of(polite, cfg, renderer, &job, &mut resp, html).await;
    let saved = match (&page.content, cfg.content) {
        (Some(text), Some(opts)) if cfg.save.is_some() => {
            save_text(
                cfg,
                &resp.final_url,
                text.clone(),
                opts.mode.extension(),
                saved,
            )
            .await
        }
        _ => saved,
    };
    let index = Indexing::of(&mut page, &resp);
    let followable = &page.followable;
    let alternates = cfg.follow_alternates.then_some(&index.hreflang[..]);
    let follow = follow_list(
        cfg,
        &job,
        &page.links,
        alternates,
        page.meta_nofollow,
        |i| followable.get(i).copied().unwrap_or(false),
    );
    let found = found(cfg, &page.links, &follow, anchors);
    let content = Content {
        bytes,
        title: page.title,
        links: page.links,
        link_keys: page.link_keys,
        extract: page
            .extract
            .or_else(|| (!cfg.extractors.is_empty()).then(Default::default)),
        digest,
        meta_nofollow: page.meta_nofollow,
        error: parse_error,
        render,
        index,
        saved,
        content: cfg.content.map(|_| page.content),
    };
    TaskOutcome::Page {
        record: response_record(job, parent, resp, exchange, content),
        follow,
        found,
    }
}

/// With `--check-links`: the links to check (those not followed that `--include`/`--exclude` let through) and
/// the page's anchors when it was parsed.
fn found(
    cfg: &CrawlOptions,
    links: &[String],
    follow: &[u32],
    anchors: Option<Anchors>,
) -> Option<Box<Found>> {
    cfg.check_links.as_ref()?;
    let mut followed = follow.iter().peekable();
    let check = (0..links.len())
        .filter(|&i| {
            // `follow` is in ascending order: one walk along it.
            let is_followed = followed.next_if(|&&f| f as usize == i).is_some();
            !is_followed && cfg.may_check(&links[i])
        })
        .map(|i| i as u32)
        .collect();
    Some(Box::new(Found { check, anchors }))
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
    /// Parallel to `links` (or empty): [`crate::html::Page::link_keys`].
    link_keys: Vec<u64>,
    extract: Option<crate::record::Extract>,
    digest: Option<String>,
    meta_nofollow: bool,
    error: Option<RecordError>,
    /// Rendered (`--render`): milliseconds, and the screenshot's name with `--screenshot`.
    render: Option<(u64, Option<String>)>,
    index: Indexing,
    /// `--save`: the body's path under the directory.
    saved: Option<String>,
    /// `--content` (`Some`): the page's text, null (`Some(None)`) when there is no page to read.
    #[allow(clippy::option_option, clippy::struct_field_names)]
    // absent vs null, as `Record::content`
    content: Option<Option<String>>,
}

/// What the markup and the headers together say about how the page may be indexed.
#[derive(Default)]
struct Indexing {
    canonical: Option<String>,
    robots: Vec<String>,
    lang: Option<String>,
    description: Option<String>,
    hreflang: Vec<Hreflang>,
}

impl Indexing {
    /// Takes the page's own hints and adds the headers': a `Link` canonical when the markup has none, and the
    /// `X-Robots-Tag` directives (whose `nofollow` is obeyed as the meta's is: it sets `page.meta_nofollow`).
    /// A response that sends neither header costs nothing here.
    fn of(page: &mut Page, resp: &Response) -> Indexing {
        let mut robots = std::mem::take(&mut page.robots);
        if !resp.x_robots_tag.is_empty() {
            let mut header = Vec::new();
            html::index::add_header_directives(&mut header, &resp.x_robots_tag);
            page.meta_nofollow |= html::index::nofollow(&header);
            for d in header {
                if !robots.contains(&d) && robots.len() < html::MAX_ROBOTS_DIRECTIVES {
                    robots.push(d);
                }
            }
        }
        let canonical = page.canonical.take().or_else(|| {
            (!resp.link.is_empty())
                .then(|| html::index::link_canonical(&resp.link, &resp.final_url))
                .flatten()
        });
        Indexing {
            canonical,
            robots,
            lang: page.lang.take(),
            description: page.description.take(),
            hreflang: std::mem::take(&mut page.hreflang),
        }
    }
}

/// The indices of `links` a crawl may follow from this page: none past `--depth` or when the page's robots meta
/// (or `X-Robots-Tag`) said nofollow (unless robots are ignored); otherwise scope, `--include`/`--exclude` and
/// `rel=nofollow`. With `--follow-alternates`, `alternates` too, numbered after the links (`links.len() + j`).
fn follow_list(
    cfg: &CrawlOptions,
    job: &Job,
    links: &[String],
    alternates: Option<&[Hreflang]>,
    meta_nofollow: bool,
    followable: impl Fn(usize) -> bool,
) -> Vec<u32> {
    if job.depth >= cfg.depth || (meta_nofollow && cfg.robots) {
        return Vec::new();
    }
    let mut follow: Vec<u32> = links
        .iter()
        .enumerate()
        .filter(|(i, url)| cfg.may_follow(&job.root.host, url, followable(*i)))
        .map(|(i, _)| i as u32)
        .collect();
    for (j, alt) in alternates.unwrap_or_default().iter().enumerate() {
        if cfg.may_follow(&job.root.host, &alt.url, true) {
            follow.push((links.len() + j) as u32);
        }
    }
    follow
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
        link_keys: content.link_keys,
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
        // The scheduler fills these in under --check-links (it knows the job and the fragments asked).
        checked: None,
        missing_fragments: None,
        rendered: content.render.is_some().then_some(true),
        render_ms: content.render.as_ref().map(|r| Some(r.0)),
        screenshot: content.render.and_then(|r| r.1).map(Some),
        canonical: content.index.canonical,
        robots: content.index.robots,
        lang: content.index.lang,
        description: content.index.description,
        hreflang: content.index.hreflang,
        duplicate_of: None,
        saved: content.saved,
        content: content.content,
        queued: Vec::new(),
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
            link_keys: Vec::new(),
            extract: None,
            digest: None,
            meta_nofollow: false,
            error: Some(error),
            render: None,
            index: Indexing::default(),
            saved: None,
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
    let follow = follow_list(
        cfg,
        &job,
        &carried.links,
        None,
        carried.meta_nofollow,
        |_| true,
    );
    let found = found(cfg, &carried.links, &follow, None);
    resp.etag = resp.etag.or(carried.etag);
    resp.last_modified = resp.last_modified.or(carried.last_modified);
    let content = Content {
        bytes: resp.body.len() as u64,
        title: carried.title,
        links: carried.links,
        // The earlier record's links were read back from FILE: keyed when followed.
        link_keys: Vec::new(),
        extract: (!cfg.extractors.is_empty()).then(|| carried.extract.unwrap_or_default()),
        digest: carried.digest,
        meta_nofollow: carried.meta_nofollow,
        error: None,
        render: None,
        index: Indexing {
            canonical: carried.canonical,
            robots: carried.robots,
            lang: carried.lang,
            description: carried.description,
            hreflang: carried.hreflang,
        },
        saved: None,
        // A 304 has no body to read; the earlier record's content is not carried (it may be large).
        content: cfg.content.map(|_| None),
    };
    TaskOutcome::Page {
        record: response_record(job, parent, resp, exchange, content),
        follow,
        found,
    }
}

/// The page a response says: its body parsed, or, when `--render` renders it, the rendered DOM parsed the same
/// way (a rendering that failed twice leaves the body's parse with error kind `render`). Takes the body.
async fn page_of(
    polite: &Polite,
    cfg: &Arc<CrawlOptions>,
    renderer: Option<&Renderer>,
    job: &Job,
    resp: &mut Response,
    html: bool,
) -> (
    Page,
    Option<Anchors>,
    Option<RecordError>,
    Option<(u64, Option<String>)>,
) {
    let outcome = match renderer {
        Some(r) if html && (200..300).contains(&resp.status) => {
            render_page(r, polite, job, resp, cfg.max_body).await
        }
        _ => None,
    };
    let body = std::mem::take(&mut resp.body);
    let url = &resp.final_url;
    match outcome {
        Some(Ok(r)) => {
            // The rendered DOM takes the fetched body's path: the same parse, as UTF-8.
            let (page, anchors, error) =
                parse_body(cfg, r.html.into_bytes(), Some(RENDERED_TYPE), url).await;
            (page, anchors, error, Some((r.ms, r.screenshot)))
        }
        failed => {
            let (page, anchors, error) = if html {
                parse_body(cfg, body, resp.content_type.as_deref(), url).await
            } else {
                (Page::default(), None, None)
            };
            let render_error = failed.and_then(Result::err).map(|message| RecordError {
                kind: ErrorKind::Render,
                message,
            });
            (page, anchors, render_error.or(error), None)
        }
    }
}

/// `--save`: writes the body as the record saw it (decompressed, cut at `--max-body`; the bytes `digest` is of)
/// on the blocking pool, and hands it back for parsing. A failed write is logged; the record then has no `saved`.
async fn save_body(opts: &Arc<SaveOptions>, url: &Url, body: Vec<u8>) -> (Vec<u8>, Option<String>) {
    let (opts, url) = (opts.clone(), url.clone());
    let joined = tokio::task::spawn_blocking(move || {
        let saved = crate::output::save::body(&opts, &url, &body);
        (body, saved, url)
    })
    .await;
    match joined {
        Ok((body, Ok(rel), _)) => (body, Some(rel)),
        Ok((body, Err(e), url)) => {
            tracing::warn!("--save: {url} not saved: {e}");
            (body, None)
        }
        // The write panicked and took the body with it: the page is reported unparsed rather than not at all.
        Err(_) => (Vec::new(), None),
    }
}

/// `--save` with `--content`: writes the page's text beside its body (or alone, with `--save-content-only`, whose
/// path is then the record's `saved`); a failed write is logged and `saved` stays as it was.
async fn save_text(
    cfg: &CrawlOptions,
    url: &Url,
    text: String,
    ext: &'static str,
    saved: Option<String>,
) -> Option<String> {
    let Some(opts) = cfg.save.clone() else {
        return saved;
    };
    let url = url.clone();
    let joined = tokio::task::spawn_blocking(move || {
        let written = crate::output::save::content(&opts, &url, &text, ext);
        (written, opts.content_only, url)
    })
    .await;
    match joined {
        Ok((Ok(rel), true, _)) => Some(rel),
        Ok((Ok(_), false, _)) | Err(_) => saved,
        Ok((Err(e), _, url)) => {
            tracing::warn!("--save: the text of {url} not saved: {e}");
            saved
        }
    }
}

/// The content type a rendered DOM is parsed as (the browser hands it over as a string).
const RENDERED_TYPE: &str = "text/html; charset=utf-8";

/// Renders the page when `--render` says so (always, or auto on an app shell); `None` when it is not rendered.
async fn render_page(
    renderer: &Renderer,
    polite: &Polite,
    job: &Job,
    resp: &Response,
    max_body: u64,
) -> Option<Result<crate::crawl::render::Rendered, String>> {
    let wanted = match renderer.options().mode {
        RenderMode::Always => true,
        RenderMode::Auto => {
            html::shell::is_app_shell(&html::decode(&resp.body, resp.content_type.as_deref()))
        }
        RenderMode::Never => false,
    };
    if !wanted {
        return None;
    }
    let done = crate::crawl::render::render(renderer, polite, &job.root, resp, max_body).await;
    if let Ok(r) = &done {
        if let Some(late) = &r.late {
            tracing::info!(url = %resp.final_url, "--render: {late}");
        }
    }
    Some(done)
}

async fn parse_body(
    cfg: &Arc<CrawlOptions>,
    body: Vec<u8>,
    content_type: Option<&str>,
    url: &Url,
) -> (Page, Option<Anchors>, Option<RecordError>) {
    let anchors = cfg.check_links.is_some();
    if body.len() <= INLINE_PARSE_MAX && cfg.extractors.is_empty() && cfg.content.is_none() {
        let (page, found) = parse_sync(&body, content_type, url, &[], (&cfg.query, None), anchors);
        return (page, found, None);
    }
    // The blocking pool needs owned data: copies are made only on this (rare) path.
    let (cfg, content_type, url) = (cfg.clone(), content_type.map(str::to_owned), url.clone());
    let joined = tokio::task::spawn_blocking(move || {
        parse_sync(
            &body,
            content_type.as_deref(),
            &url,
            &cfg.extractors,
            (&cfg.query, cfg.content),
            anchors,
        )
    })
    .await;
    match joined {
        Ok((page, found)) => (page, found, None),
        Err(e) => (
            Page::default(),
            None,
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
    (rules, content): (&QueryRules, Option<html::ContentOptions>),
    anchors: bool,
) -> (Page, Option<Anchors>) {
    let text = html::decode(body, content_type);
    let page = html::parse_page_with(&text, url, extractors, rules, content);
    // Only under --check-links: a second pass, so a run without it pays nothing.
    (
        page,
        anchors.then(|| crate::html::scan::anchors::anchors(&text, url)),
    )
}
