//! One exchange of the polite path: [`Polite::exchange`] sends one request ([`crate::net::fetch`]), logs its `-vv` line
//! ([`crate::net::request_log`]), captures it for the WARC archive, then leaves the body unread, reads a redirect's small
//! body, or reads the body, as the caller decides from the response head, and archives what was read. Every
//! request crawlfish sends (page and sitemap hops and their retries in `Polite::hop`, robots.txt in
//! `fetch_robots`) goes through here, so each gets exactly one log line and one archive record, and each is held
//! to the address guard (`guard.rs`): sent through the client for its ceiling, an address in its URL checked.
//!
//! Decides nothing: no retries, no backoff, no robots semantics, no redirect following. Waiting on the host comes
//! before it (the caller's), judging the answer after it.

use std::sync::Arc;

use tokio::time::Instant;
use url::Url;

use super::host::Host;
use super::Polite;
use crate::net::fetch::{Credentials, Fetcher, Response, Validators};
use crate::net::meter::Meter;
use crate::net::request_log::{Purpose, Sent, Tag};
use crate::record::FetchError;
use crate::url::scope::Root;
use crate::warc::{Cut, Head};

/// Body bytes read from a redirect response (it is dropped; reading it lets the connection be reused).
const REDIRECT_BODY_MAX: u64 = 64 * 1024;

/// One request to send: where, with what, and how it is logged.
#[derive(Debug, Clone, Copy)]
pub(super) struct ExchangeRequest<'a> {
    /// The URL's host (its client is used).
    pub(super) host: &'a Host,
    pub(super) url: &'a Url,
    /// The listed URL it descends from: the address class it may reach ([`crate::polite::guard`]).
    pub(super) root: &'a Root,
    /// `-H` headers and Basic auth, only for the listed URL's own origin.
    pub(super) creds: Option<Credentials<'a>>,
    /// `--since`'s validators, only on the hop to the URL they came from.
    pub(super) validators: Option<Validators<'a>>,
    pub(super) tag: Tag,
    /// This hop's try, 1 = first (for the request log).
    pub(super) attempt: u32,
}

/// What to do with a response once its head is in, with what the caller wants back for it.
pub(super) enum Then<S, R> {
    /// Leave the body unread (a retry): archived as cut short.
    Skip(S),
    /// A redirect: read as much of its small body as arrives; a broken body does not undo the redirect.
    Redirect(R),
    /// Read up to this many bytes of body.
    Read(u64, R),
}

/// How an exchange ended; the request is logged and archived by then.
#[allow(clippy::large_enum_variant)] // moved out once per request; boxing would add an allocation to each
pub(super) enum Exchanged<S, R> {
    /// No response head: the request failed (nothing to archive).
    Failed(FetchError),
    /// [`Then::Skip`]: the body was not read.
    Skipped(S),
    /// [`Then::Redirect`] or [`Then::Read`]: the response read, or its head and the error its body broke off with.
    Read(Result<Response, Broken>, R),
}

/// A response whose body did not arrive whole (it broke off, or the deadline passed while reading it).
#[derive(Debug)]
pub(crate) struct Broken {
    pub(crate) error: FetchError,
    /// Its head, no body, and the offset of its archived record (`WARC-Truncated: disconnect`) with `--warc`.
    pub(crate) head: Box<Response>,
}

impl Polite {
    /// Sends `req`, logs it, and archives it; `then` judges the head (before any body is read) and says what to
    /// do with the body.
    pub(super) async fn exchange<S, R>(
        &self,
        req: ExchangeRequest<'_>,
        then: impl FnOnce(&reqwest::Response) -> Then<S, R>,
    ) -> Exchanged<S, R> {
        // An address the request may not reach is refused before anything (no `-vv` line: nothing was sent).
        let ceiling = self.ceiling(req.root, req.url).await;
        if let Err(refused) = self.guard(req.url, ceiling) {
            return Exchanged::Failed(refused);
        }
        let deadline = Instant::now() + self.cfg.timeout;
        let client = req.host.client(ceiling, || self.fetcher.pool(ceiling));
        let sent = Sent::start(req.tag, req.url, req.attempt, self.meter.as_deref());
        // The jar, except for robots.txt: it carries no cookies, and what it sets is not kept.
        let jar = self
            .fetcher
            .jar()
            .filter(|_| req.tag.purpose != Purpose::Robots);
        let cookie = jar.and_then(|j| j.header(req.url));
        let sent_cookie = cookie.is_some();
        let resp = match self
            .fetcher
            .send(
                client,
                (req.url, req.tag.method),
                (req.creds, req.validators),
                cookie,
                deadline,
            )
            .await
        {
            Ok(r) => {
                self.learn(req.root, &r);
                if let Some(jar) = jar {
                    jar.store(req.url, r.headers());
                }
                r
            }
            Err(e) => {
                sent.end(None, Some(&e), 0);
                return Exchanged::Failed(e);
            }
        };
        let head = self.capture(&resp, &req, sent_cookie);
        let status = resp.status();
        match then(&resp) {
            Then::Skip(s) => {
                sent.end(Some(status), None, 0);
                let _ = self.archived_without_body(head, Cut::Unspecified).await;
                Exchanged::Skipped(s)
            }
            Then::Redirect(r) => {
                let resp = read_redirect(&self.fetcher, resp, deadline).await;
                sent.end(Some(status), None, resp.body.len() as u64);
                Exchanged::Read(Ok(self.archived(head, resp, None).await), r)
            }
            Then::Read(max_body, r) => {
                // Kept for the record in case the body breaks off (`read` consumes the response): a few short
                // strings next to a whole request.
                let mut stub = crate::net::fetch::head(&resp, self.fetcher.options().headers_out);
                let read = self.fetcher.read(resp, max_body, deadline).await;
                let bytes = read.as_ref().map_or(0, |r| r.body.len() as u64);
                sent.end(Some(status), read.as_ref().err(), bytes);
                let read = match read {
                    Ok(resp) => Ok(self.archived(head, resp, Some(&req)).await),
                    Err(error) => {
                        stub.warc_offset = self.archived_without_body(head, Cut::Disconnect).await;
                        Err(Broken {
                            error,
                            head: Box::new(stub),
                        })
                    }
                };
                Exchanged::Read(read, r)
            }
        }
    }

    /// Meters every request from now on (`--metrics`, `--metrics-file`).
    #[must_use]
    pub(crate) fn with_meter(mut self, meter: Arc<Meter>) -> Polite {
        self.meter = Some(meter);
        self
    }

    /// The head of an exchange to archive, when archiving.
    fn capture(
        &self,
        resp: &reqwest::Response,
        req: &ExchangeRequest<'_>,
        cookie: bool,
    ) -> Option<Head> {
        let archive = self.archive.as_ref()?;
        Some(Head::of(
            resp,
            (req.url, req.tag.method.as_str()),
            &self.cfg.user_agent,
            (req.creds, req.validators),
            cookie,
            archive.verbatim_headers(),
        ))
    }

    /// Archives an exchange whose body was read; the response gets its record's offset. `req`: the request of
    /// an answer that may be a revisit (not a redirect's).
    async fn archived(
        &self,
        head: Option<Head>,
        mut resp: Response,
        req: Option<&ExchangeRequest<'_>>,
    ) -> Response {
        if let (Some(head), Some(archive)) = (head, &self.archive) {
            let cut = resp.truncated.then_some(Cut::Length);
            let revisit = match req {
                Some(req) if cut.is_none() => self.revisit(archive, req, &resp).await,
                _ => None,
            };
            let capture = head.with(&resp.body, cut).revisit(revisit);
            resp.warc_offset = archive.exchange(capture).await;
        }
        resp
    }

    /// Archives an exchange whose body was not read (retried) or broke off; the offset of its response record.
    async fn archived_without_body(&self, head: Option<Head>, cut: Cut) -> Option<u64> {
        match (head, &self.archive) {
            (Some(head), Some(archive)) => archive.exchange(head.with(&[], Some(cut))).await,
            _ => None,
        }
    }
}

/// A redirect's head and as much of its small body as arrives; a broken body does not undo the redirect.
async fn read_redirect(fetcher: &Fetcher, resp: reqwest::Response, deadline: Instant) -> Response {
    let stub = crate::net::fetch::head(&resp, fetcher.options().headers_out);
    fetcher
        .read(resp, REDIRECT_BODY_MAX, deadline)
        .await
        .unwrap_or(stub)
}
