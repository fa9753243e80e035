//! The one path every request takes: pages, each redirect hop, robots.txt and sitemap files. For every hop it
//! checks *that hop's* host's robots.txt (fetching it first when the host is new), waits on that host's backoff,
//! rate limiter and Crawl-delay, sends one request ([`crate::net::fetch`]), retries what is worth retrying, and follows a
//! redirect itself (the client's own redirect policy is off), checking where it leads against the caller's
//! [`Follow`] rule. It counts every request in `attempts` and records every redirect response in `redirects`.
//!
//! `-H` headers and the listed URL's userinfo are attached only to requests to the listed URL's own origin
//! ([`Root`]); robots.txt is fetched without them (it is per-host state shared by every listed URL). With
//! `--since`, an earlier response's validators (`If-None-Match`, `If-Modified-Since`) go only on the hop to the
//! URL they came from (the earlier record's final URL), retries of that hop included; never on robots.txt or
//! sitemap files.
//!
//! Split by what each part decides: [`Polite::get`] drives a URL's hops (robots check, credentials, validators,
//! redirects and where they may lead); `Polite::hop` decides retries and backoff (attempts, Retry-After, host
//! slow-down); `exchange.rs` does one request's send, `-vv` line, WARC capture, redirect-or-read and archive
//! record, for pages, sitemap files and robots.txt alike, so that sequence exists once; [`crate::robots`] only adds
//! robots.txt's own semantics (RFC 9309) on top of it.
//!
//! Every request is also held to the address guard (`guard.rs`): sent through its host's client for its listed
//! URL's address class, an address written in its URL refused before anything is sent (before robots.txt).
//!
//! Owns no pages, records or queues; must not parse pages or write records (only the archive, through the
//! `warc` writer it is given). It joins [`crate::net::fetch`] (one request) and [`crate::polite::host`] (per-host state), which do not
//! import each other, and imports nothing from `crawl`, `config`, `app` or `cli` (the layer test).

pub(crate) mod host;
pub(crate) mod robots_cache;

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, LOCATION};
use reqwest::StatusCode;
use url::Url;

use crate::net::fetch::{
    backoff_delay, is_retryable_status, Credentials, Fetcher, Response, Validators,
};
use crate::net::request_log::{Method, Purpose, Tag};
use crate::output::since::Conditional;
use crate::polite::host::{Host, Hosts, Robots};
use crate::record::{FetchError, Redirect};
use crate::url::key::key;
use crate::url::scope::Root;
use crate::url::shard::Shard;
use crate::url::Scope;
use crate::warc::writer::Archive;
use exchange::{Broken, ExchangeRequest, Exchanged, Then};

// One request's send, `-vv` line, capture, read and archive record (`impl Polite`'s `exchange`): the only place
// these happen, for every request of this path.
mod exchange;
// `--check-links`' checks: HEAD, then GET when HEAD is refused (`impl Polite`'s `check`).
mod check;
// The address guard's ceiling, literal-address check and class learning (`impl Polite`).
mod guard;
// robots.txt fetching (`impl Polite`'s `fetch_robots`), kept apart so this file stays readable.
mod robots;
// Which archived exchanges are revisits of the earlier run's captures (`impl Polite`'s `revisit`).
mod revisit;

/// `-r`'s default: requests per second to one host.
pub(crate) const DEFAULT_RATE: f64 = 5.0;
/// `--retries`' default.
pub(crate) const DEFAULT_RETRIES: u32 = 2;
/// `--max-retry-after`'s default.
pub(crate) const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// `--max-redirects`' default.
pub(crate) const DEFAULT_MAX_REDIRECTS: usize = 10;
/// Base delay of the retry backoff (full jitter, doubling per attempt); not a flag.
pub(crate) const BACKOFF_BASE: Duration = Duration::from_millis(500);

/// The rules every request obeys: what the polite path is built with.
#[derive(Debug, Clone)]
pub struct PoliteOptions {
    /// Requests per second per host; `None` = unlimited.
    pub rate: Option<f64>,
    /// `--retries`: extra attempts after retryable failures.
    pub retries: u32,
    /// `--max-retry-after`: the longest Retry-After honoured.
    pub max_retry_after: Duration,
    /// `--max-redirects`: hops followed per URL.
    pub max_redirects: usize,
    /// Base delay of the retry backoff.
    pub backoff_base: Duration,
    /// `-H`: sent only to a listed URL's own origin.
    pub headers: HeaderMap,
    /// robots.txt obeyed (not `--ignore-robots`).
    pub robots: bool,
    /// The User-Agent, as archived in request records.
    pub user_agent: String,
    /// The token robots.txt groups are chosen by: `--robots-agent`, else the User-Agent's product token
    /// ([`crate::robots::product_token`]).
    pub robots_agent: String,
    /// Deadline of one request (robots.txt included).
    pub timeout: Duration,
    /// `--scope`: where redirects of discovered URLs may lead.
    pub scope: Scope,
    /// `--shard I/N`: no redirect is followed to another shard's host.
    pub shard: Option<Shard>,
}

impl Default for PoliteOptions {
    fn default() -> PoliteOptions {
        PoliteOptions {
            rate: Some(DEFAULT_RATE),
            retries: DEFAULT_RETRIES,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            backoff_base: BACKOFF_BASE,
            headers: HeaderMap::new(),
            robots: true,
            user_agent: crate::net::default_user_agent(),
            robots_agent: crate::robots::PRODUCT_TOKEN.to_owned(),
            timeout: crate::net::DEFAULT_TIMEOUT,
            scope: Scope::Host,
            shard: None,
        }
    }
}

/// The redirect statuses that are followed (RFC 9110 §15.4); any other 3xx is a final answer.
pub(crate) const REDIRECT_STATUSES: [u16; 5] = [301, 302, 303, 307, 308];
/// Longest `Location` kept in `redirects` when it cannot be followed (as long as an `invalid_url` line).
const MAX_DEAD_END_CHARS: usize = 2048;
/// Longest backoff between retries, whatever the attempt count.
const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(30);

/// Where a request's redirects may lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Follow {
    /// Listed URLs: anywhere (each new host's robots.txt is still asked).
    Anywhere,
    /// Discovered URLs: within `--scope` of the root; a redirect leaving it ends the URL with that 3xx.
    Scope,
    /// Sitemap files: their own origin only.
    SameOrigin,
}

/// A URL's trip through the path: the last outcome, every request made, every redirect met (one exchange is
/// [`exchange::Exchanged`]).
#[derive(Debug)]
pub(crate) struct Trip {
    pub result: Result<Response, FetchError>,
    /// Requests made for this URL: redirect hops and retries included, robots.txt not.
    pub attempts: u32,
    pub redirects: Vec<Redirect>,
    /// When `result` is the error a final response's body broke off with: that response's head (no body), with
    /// its archived record's offset under `--warc`.
    pub received: Option<Box<Response>>,
}

/// The outcome of one hop.
enum Hop {
    Done(Response),
    Redirect(Response, Url),
    /// A redirect whose `Location` does not lead to an http(s) URL (`ftp:`, `javascript:`, garbage): recorded
    /// in `redirects` as it resolved, not followed, and the URL ends with it.
    DeadEnd(Response, String),
    /// A final answer whose body did not arrive whole, after the retries.
    Broken(Broken),
}

/// Why an attempt's answer is retried unread.
enum Retry {
    /// A 429/503: the host was slowed down, and every request to it (this retry too) waits that out.
    AfterHost,
    /// A 5xx: this URL backs off before its next attempt (the host is not slowed down).
    AfterBackoff,
}

/// Why an attempt's answer is read, and what its body means for the hop.
enum Reading {
    /// A redirect (to follow, or a dead end as it resolved).
    Redirect(Result<Url, String>),
    /// A final answer. `retry_broken`: a body that breaks off (retryably) is retried; `relax`: once read, the
    /// host's backoff relaxes (not after a 429/503/5xx given up on).
    Body { retry_broken: bool, relax: bool },
}

/// The client, the host table and the rules every request obeys.
#[derive(Debug, Clone)]
pub(crate) struct Polite {
    fetcher: Fetcher,
    hosts: Arc<Hosts>,
    cfg: Arc<PoliteOptions>,
    /// With `--warc`: every exchange (retries, hops, robots.txt, sitemap files) is archived through it.
    archive: Option<Archive>,
    /// With `--metrics`/`--metrics-file`: every request is counted in it.
    meter: Option<Arc<crate::net::meter::Meter>>,
    /// With `--warc` and `--since`/`--state`: the earlier run, whose captures revisit records name (`revisit.rs`).
    since: Option<Arc<crate::output::since::Since>>,
}

impl Polite {
    #[must_use]
    pub(crate) fn new(cfg: Arc<PoliteOptions>, fetcher: Fetcher) -> Polite {
        Polite {
            hosts: Arc::new(Hosts::new(cfg.rate, cfg.max_retry_after)),
            fetcher,
            cfg,
            archive: None,
            meter: None,
            since: None,
        }
    }

    /// Archives every exchange from now on (`--warc`).
    #[must_use]
    pub(crate) fn with_archive(mut self, archive: Archive) -> Polite {
        self.archive = Some(archive);
        self
    }

    #[must_use]
    pub(crate) fn hosts(&self) -> &Hosts {
        &self.hosts
    }

    /// Fetches `url` through every rule: robots, backoff, rate limit, retries, redirects (each hop again through
    /// all of them), up to `max_body` bytes of the final body. `cond`'s validators go on the hop to its target.
    /// Every hop is a `method` request (HEAD only for `--check-links`' checks, [`Polite::check`]).
    pub(crate) async fn get(
        &self,
        url: &Url,
        root: &Root,
        follow: Follow,
        max_body: u64,
        cond: Option<Conditional<'_>>,
        method: Method,
    ) -> Trip {
        self.trip(url, root, follow, max_body, cond, (false, method))
            .await
    }

    /// Fetches a request a rendered page made (`--render`): the same rules as [`Polite::get`] (robots.txt of its
    /// host, that host's limiter and backoff, `-H` only to the root's origin, retries, redirects anywhere, each
    /// hop again through all of them), logged with purpose `render`.
    pub(crate) async fn get_for_render(&self, url: &Url, root: &Root, max_body: u64) -> Trip {
        self.trip(
            url,
            root,
            Follow::Anywhere,
            max_body,
            None,
            (true, Method::Get),
        )
        .await
    }

    async fn trip(
        &self,
        url: &Url,
        root: &Root,
        follow: Follow,
        max_body: u64,
        cond: Option<Conditional<'_>>,
        (render, method): (bool, Method),
    ) -> Trip {
        let mut url = url.clone();
        let mut ex = Trip {
            result: Err(FetchError::TooManyRedirects(self.cfg.max_redirects)),
            attempts: 0,
            redirects: Vec::new(),
            received: None,
        };
        loop {
            let host = self.hosts.get(&url);
            // An address written in the URL is refused before its host's robots.txt is asked.
            let ceiling = self.ceiling(root, &url).await;
            if let Err(refused) = self.guard(&url, ceiling) {
                ex.result = Err(refused);
                return ex;
            }
            let redirected = !ex.redirects.is_empty();
            if let Err(refused) = self.allowed(&host, &url, redirected, root).await {
                ex.result = Err(refused);
                return ex;
            }
            let creds = root.is_origin_of(&url).then(|| Credentials {
                headers: &self.cfg.headers,
                basic: root.basic.as_ref().map(|(u, p)| (u.as_str(), p.as_deref())),
            });
            let validators = cond
                .as_ref()
                .filter(|c| c.target == key(url.as_str()))
                .map(Conditional::validators);
            // Only sitemap files are fetched under `SameOrigin`.
            let purpose = if render {
                Purpose::Render
            } else {
                Purpose::page_or_sitemap(follow == Follow::SameOrigin)
            };
            let tag = Tag::new(purpose, ex.redirects.len()).with_method(method);
            let (hop, n) = self
                .hop(&host, (&url, root), (creds, validators), max_body, tag)
                .await;
            ex.attempts += n;
            match self.after_hop(hop, follow, root, &mut ex) {
                Some(target) => url = target,
                None => return ex,
            }
        }
    }

    /// Whether robots.txt lets `url` be fetched (always, with `--ignore-robots`). A refusal met after a redirect
    /// names where the redirect led, since the record carries the URL that was asked for.
    async fn allowed(
        &self,
        host: &Host,
        url: &Url,
        redirected: bool,
        root: &Root,
    ) -> Result<(), FetchError> {
        if !self.cfg.robots {
            return Ok(());
        }
        let checked = match self.robots(host, root).await {
            Ok(kept) => kept.check(url),
            Err(refused) => refused.check(url),
        };
        checked.map_err(|(kind, msg)| {
            let msg = if redirected {
                format!("redirected to {url}: {msg}")
            } else {
                msg
            };
            FetchError::Refused(kind, msg)
        })
    }

    /// Records one hop's outcome in `ex`: a redirect in `redirects`, a final answer or error in `result`. Returns
    /// where to go next when the redirect is followed.
    fn after_hop(
        &self,
        hop: Result<Hop, FetchError>,
        follow: Follow,
        root: &Root,
        ex: &mut Trip,
    ) -> Option<Url> {
        match hop {
            Err(e) => ex.result = Err(e),
            Ok(Hop::Done(resp)) => ex.result = Ok(resp),
            Ok(Hop::Broken(broken)) => {
                ex.result = Err(broken.error);
                ex.received = Some(broken.head);
            }
            Ok(Hop::DeadEnd(resp, to)) => {
                ex.redirects.push(Redirect {
                    url: to,
                    status: resp.status,
                });
                ex.result = Ok(resp);
            }
            Ok(Hop::Redirect(resp, target)) => {
                ex.redirects.push(Redirect {
                    url: target.as_str().to_owned(),
                    status: resp.status,
                });
                if !self.may_follow(follow, root, &target) {
                    ex.result = Ok(resp);
                } else if ex.redirects.len() > self.cfg.max_redirects {
                    ex.result = Err(FetchError::TooManyRedirects(self.cfg.max_redirects));
                } else {
                    return Some(target);
                }
            }
        }
        None
    }

    /// Whether a redirect to `target` is followed. With `--shard`, never to a host of another shard (whatever
    /// `follow` says): that host has another owner, and its politeness must not be split.
    fn may_follow(&self, follow: Follow, root: &Root, target: &Url) -> bool {
        if !self.owns(target) {
            return false;
        }
        match follow {
            Follow::Anywhere => true,
            Follow::Scope => target
                .host_str()
                .is_some_and(|h| self.cfg.scope.allows(&root.host, h)),
            Follow::SameOrigin => root.is_origin_of(target),
        }
    }

    /// Whether `url`'s host belongs to this run's `--shard` (always, without one).
    fn owns(&self, url: &Url) -> bool {
        self.cfg
            .shard
            .is_none_or(|s| s.owns_host(url.host_str().unwrap_or_default()))
    }

    /// robots.txt of `host`, fetched through this path by the first caller (single-flight), for a request
    /// descending from `root`. `Err`: the address guard refused it under `root`'s class (not kept for the host).
    pub(crate) async fn robots<'h>(
        &self,
        host: &'h Host,
        root: &Root,
    ) -> Result<&'h Robots, Robots> {
        host.robots(|| self.fetch_robots(host.origin().clone(), root))
            .await
    }

    /// One URL of one hop, with retries: waits on the host before each attempt, backs off between them. Returns
    /// the outcome and the number of requests made. Each attempt is one [`Polite::exchange`], judged by
    /// [`Polite::judge`].
    async fn hop(
        &self,
        host: &Host,
        (url, root): (&Url, &Root),
        (creds, validators): (Option<Credentials<'_>>, Option<Validators<'_>>),
        max_body: u64,
        tag: Tag,
    ) -> (Result<Hop, FetchError>, u32) {
        let mut attempt = 0;
        loop {
            host.ready().await;
            attempt += 1;
            let retries_left = attempt <= self.cfg.retries;
            let req = ExchangeRequest {
                host,
                url,
                root,
                creds,
                validators,
                tag,
                attempt,
            };
            let judge = |resp: &reqwest::Response| self.judge(host, resp, url, attempt, max_body);
            let hop = match self.exchange(req, judge).await {
                Exchanged::Failed(e) if retries_left && e.kind().is_retryable() => None,
                // The host itself was slowed down: `host.ready()` waits that out, no backoff on top.
                Exchanged::Skipped(Retry::AfterHost) => continue,
                Exchanged::Skipped(Retry::AfterBackoff) => None,
                Exchanged::Read(Err(b), Reading::Body { retry_broken, .. })
                    if retry_broken && b.error.kind().is_retryable() =>
                {
                    None
                }
                Exchanged::Failed(e) => Some(Err(e)),
                Exchanged::Read(Err(b), _) => Some(Ok(Hop::Broken(b))),
                Exchanged::Read(Ok(resp), Reading::Redirect(Ok(to))) => {
                    Some(Ok(Hop::Redirect(resp, to)))
                }
                Exchanged::Read(Ok(resp), Reading::Redirect(Err(raw))) => {
                    Some(Ok(Hop::DeadEnd(resp, raw)))
                }
                Exchanged::Read(Ok(resp), Reading::Body { relax, .. }) => {
                    if relax {
                        host.relax();
                    }
                    Some(Ok(Hop::Done(resp)))
                }
            };
            if let Some(hop) = hop {
                return (hop, attempt);
            }
            tokio::time::sleep(self.backoff(attempt)).await;
        }
    }

    /// What to do with one attempt's answer, from its head: retry it unread, or read it. A 429/503 slows the
    /// whole host down (Retry-After, capped) and a redirect relaxes it, before any body is read, as the original
    /// answer came.
    fn judge(
        &self,
        host: &Host,
        resp: &reqwest::Response,
        url: &Url,
        attempt: u32,
        max_body: u64,
    ) -> Then<Retry, Reading> {
        let cfg = &self.cfg;
        let status = resp.status();
        let retries_left = attempt <= cfg.retries;
        let throttled = matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        );
        if retries_left && is_retryable_status(status) {
            if !throttled {
                return Then::Skip(Retry::AfterBackoff);
            }
            let retry_after = crate::net::fetch::retry_after(resp);
            if retry_after.is_some_and(|d| d > cfg.max_retry_after) {
                // Past the cap: give the URL up with this status rather than stall the run; the host still
                // pauses, for the cap.
                host.slow_down(cfg.max_retry_after);
                let last = Reading::Body {
                    retry_broken: false,
                    relax: false,
                };
                return Then::Read(max_body, last);
            }
            host.slow_down(retry_after.unwrap_or_else(|| self.backoff(attempt)));
            return Then::Skip(Retry::AfterHost);
        }
        if throttled {
            // No retry left for this URL, but the host asked every request to slow down.
            let asked =
                crate::net::fetch::retry_after(resp).unwrap_or_else(|| self.backoff(attempt));
            host.slow_down(asked.min(cfg.max_retry_after));
        }
        if let Some(target) = redirect_location(resp, url) {
            host.relax();
            return Then::Redirect(Reading::Redirect(target));
        }
        let body = Reading::Body {
            retry_broken: retries_left,
            relax: !is_retryable_status(status),
        };
        Then::Read(max_body, body)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        backoff_delay(
            attempt,
            self.cfg.backoff_base,
            MAX_RETRY_BACKOFF,
            fastrand::f64(),
        )
    }
}

/// Where a followable redirect leads: one of [`REDIRECT_STATUSES`] with a `Location` that resolves (against the
/// request URL) to an http(s) URL. Anything else is a final answer.
fn redirect_target(resp: &reqwest::Response, base: &Url) -> Option<Url> {
    redirect_location(resp, base)?.ok()
}

/// For one of [`REDIRECT_STATUSES`] with a `Location`: `Ok` with the URL to follow, or `Err` with where it pointed
/// (resolved when it resolves, else as sent, at most [`MAX_DEAD_END_CHARS`]) when that is not an http(s) URL.
fn redirect_location(resp: &reqwest::Response, base: &Url) -> Option<Result<Url, String>> {
    if !REDIRECT_STATUSES.contains(&resp.status().as_u16()) {
        return None;
    }
    let raw = resp.headers().get(LOCATION)?;
    let location = String::from_utf8_lossy(raw.as_bytes());
    let joined = base.join(location.trim());
    if let Ok(url) = joined
        .as_ref()
        .map_err(|_| ())
        .and_then(|j| crate::url::normalize(j.as_str()).map_err(|_| ()))
    {
        return Some(Ok(url));
    }
    let shown = joined.map_or_else(|_| location.into_owned(), |j| j.to_string());
    Some(Err(crate::record::cut(&shown, MAX_DEAD_END_CHARS)))
}
