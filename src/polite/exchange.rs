//! One exchange of the polite path: [`Polite::exchange`] sends one request ([`crate::net::fetch`]), logs its `-vv` line
//! ([`crate::net::request_log`]), captures it for the WARC archive, then leaves the body unread, reads a redirect's small
//! body, or reads the body, as the caller decides from the response head, and archives what was read. Every
//! request crawlfish sends (page and sitemap hops and their retries in `Polite::hop`, robots.txt in
//! `fetch_robots`) goes through here, so each gets exactly one log line and one archive record.
//!
//! Decides nothing: no retries, no backoff, no robots semantics, no redirect following. Waiting on the host comes
//! before it (the caller's), judging the answer after it.

use tokio::time::Instant;
use url::Url;

use super::host::Host;
use super::Polite;
use crate::net::fetch::{Credentials, Fetcher, Response, Validators};
use crate::net::request_log::{Sent, Tag};
use crate::record::FetchError;
use crate::warc::{Cut, Head};

/// Body bytes read from a redirect response (it is dropped; reading it lets the connection be reused).
const REDIRECT_BODY_MAX: u64 = 64 * 1024;

/// One request to send: where, with what, and how it is logged.
#[derive(Debug, Clone, Copy)]
pub(super) struct ExchangeRequest<'a> {
    /// The URL's host (its client is used).
    pub(super) host: &'a Host,
    pub(super) url: &'a Url,
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
    /// [`Then::Redirect`] or [`Then::Read`]: the response read, or the error its body broke off with.
    Read(Result<Response, FetchError>, R),
}

impl Polite {
    /// Sends `req`, logs it, and archives it; `then` judges the head (before any body is read) and says what to
    /// do with the body.
    pub(super) async fn exchange<S, R>(
        &self,
        req: ExchangeRequest<'_>,
        then: impl FnOnce(&reqwest::Response) -> Then<S, R>,
    ) -> Exchanged<S, R> {
        let deadline = Instant::now() + self.cfg.timeout;
        let client = req.host.client(|| self.fetcher.pool());
        let sent = Sent::start(req.tag, req.url, req.attempt);
        let resp = match self
            .fetcher
            .send(client, req.url, req.creds, req.validators, deadline)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                sent.end(None, Some(&e));
                return Exchanged::Failed(e);
            }
        };
        let head = self.capture(&resp, req.url, req.creds, req.validators);
        let status = resp.status();
        match then(&resp) {
            Then::Skip(s) => {
                sent.end(Some(status), None);
                self.archived_without_body(head, Cut::Unspecified).await;
                Exchanged::Skipped(s)
            }
            Then::Redirect(r) => {
                let resp = read_redirect(&self.fetcher, resp, deadline).await;
                sent.end(Some(status), None);
                Exchanged::Read(Ok(self.archived(head, resp).await), r)
            }
            Then::Read(max_body, r) => {
                let read = self.fetcher.read(resp, max_body, deadline).await;
                sent.end(Some(status), read.as_ref().err());
                let read = match read {
                    Ok(resp) => Ok(self.archived(head, resp).await),
                    Err(e) => {
                        self.archived_without_body(head, Cut::Disconnect).await;
                        Err(e)
                    }
                };
                Exchanged::Read(read, r)
            }
        }
    }

    /// The head of an exchange to archive, when archiving.
    fn capture(
        &self,
        resp: &reqwest::Response,
        url: &Url,
        creds: Option<Credentials<'_>>,
        validators: Option<Validators<'_>>,
    ) -> Option<Head> {
        let archive = self.archive.as_ref()?;
        Some(Head::of(
            resp,
            url,
            &self.cfg.user_agent,
            creds,
            validators,
            archive.verbatim_headers(),
        ))
    }

    /// Archives an exchange whose body was read; the response gets its record's offset.
    async fn archived(&self, head: Option<Head>, mut resp: Response) -> Response {
        if let (Some(head), Some(archive)) = (head, &self.archive) {
            let cut = resp.truncated.then_some(Cut::Length);
            resp.warc_offset = archive.exchange(head.with(&resp.body, cut)).await;
        }
        resp
    }

    /// Archives an exchange whose body was not read (retried) or broke off.
    async fn archived_without_body(&self, head: Option<Head>, cut: Cut) {
        if let (Some(head), Some(archive)) = (head, &self.archive) {
            archive.exchange(head.with(&[], Some(cut))).await;
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
