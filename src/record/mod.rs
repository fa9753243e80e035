//! The output contract: [`Record`] (one JSON line per URL, fields in contract order), [`ErrorKind`] (the only
//! vocabulary of `error.kind`) and [`classify`], the one function that turns a transport failure into a kind.
//!
//! Owns no I/O: the writer ([`crate::output`]) serialises records, the fetcher ([`crate::net::fetch`]) produces the errors.
//!
//! Must not do I/O or know where a record goes: the writer (`crate::output`) serialises it.

pub(crate) mod check;
pub(crate) mod fields;
mod parts;

use std::error::Error as StdError;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde::Serialize;

pub(crate) use parts::{Extract, Headers, Hreflang};

/// One line of output. Field order is the contract users script against: never reorder, only append.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// The URL as listed or discovered, normalised (or the input line, for `invalid_url`).
    pub url: String,
    /// The URL of the last response, after redirects.
    pub final_url: Option<String>,
    /// The final HTTP status; `None` when no response came.
    pub status: Option<u16>,
    /// Links followed from a listed URL to reach this one (0: listed).
    pub depth: u32,
    /// The page this URL was found on (`None` for listed URLs).
    pub parent: Option<String>,
    /// The response's `Content-Type`.
    pub content_type: Option<String>,
    /// Body bytes kept, after decompression.
    pub bytes: u64,
    /// The body is not whole: cut at `--max-body`, or it broke off (then `error` says why and no body is kept).
    pub truncated: bool,
    /// The page's `<title>` text, whitespace collapsed.
    pub title: Option<String>,
    /// Absolute http(s) links of the page, deduplicated, in document order.
    pub links: Vec<String>,
    /// When the first request was sent (RFC 3339, UTC).
    pub fetched_at: String,
    /// Milliseconds from the first request to the record.
    pub elapsed_ms: u64,
    /// Requests made for this URL: redirect hops and retries included, robots.txt not.
    pub attempts: u32,
    /// Why the URL has no (final) response, why its body is not whole, or why it could not be parsed; an HTTP
    /// status (404 …) is a result, never an error.
    pub error: Option<RecordError>,
    /// Present only when `--select` was given (an extension appended after the core fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extract: Option<Extract>,
    /// One entry per redirect response, in order (`[]` when none). Appended after `extract` (contract order).
    pub redirects: Vec<Redirect>,
    /// The final response's `ETag`, as sent (appended after `redirects`, contract order).
    pub etag: Option<String>,
    /// The final response's `Last-Modified`, as sent.
    pub last_modified: Option<String>,
    /// `"xxh3:HEX"` of the body as read ([`crate::digest`]); null when no body byte was read.
    pub digest: Option<String>,
    /// Present only with `--since` or `--state`: how this URL's result compares with the earlier run's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// The address that answered the final response (IP only: the port is the URL's); null without one.
    pub ip: Option<String>,
    /// `"HTTP/1.1"`, `"HTTP/2"` …: the final response's protocol; null without a response.
    pub http_version: Option<&'static str>,
    /// Present only with `--headers`: the final response's headers ([`crate::record::fields`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Headers>,
    /// Present only with `--warc` (`Some`): the byte offset, in the WARC file, of the gzip member that holds this
    /// URL's final response record, null (`Some(None)`) when no response was archived. The scheduler fills in the
    /// null for every record of a `--warc` run as it sends it ([`crate::crawl`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(clippy::option_option)]
    // absent vs null is the point: absent without --warc, null with it
    pub warc_offset: Option<Option<u64>>,
    /// The page's `<meta name="robots">` said `nofollow` (false for non-HTML and for no response). Kept so that a
    /// run that reads this record back (`--resume`, `--since`/`--state` 304s) does not follow its links. An
    /// `X-Robots-Tag: nofollow` header sets it too, for the same reason.
    pub meta_nofollow: bool,
    /// Present only with `--check-links`: true when this URL was only checked (a link the crawl does not follow:
    /// HEAD, or GET when HEAD is refused; never parsed), false for a page crawled as usual.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked: Option<bool>,
    /// Present only with `--check-links`, on pages whose anchors were read (HTML crawled, not only checked): the
    /// `#fragments` that links found before this record was written ask of this page and that it has no
    /// `id`/`<a name>` for, in the order asked (`[]` when none) ([`crate::record::check`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_fragments: Option<Vec<String>>,
    /// Present only with `--render`: the page was rendered by the browser (its title, links and extract come
    /// from the rendered DOM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rendered: Option<bool>,
    /// Present only with `--render`: milliseconds the rendering took (tab opened to DOM read), null when the
    /// page was not rendered.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(clippy::option_option)] // absent without --render, null for a page not rendered
    pub render_ms: Option<Option<u64>>,
    /// Present only with `--screenshot DIR`: the page's PNG, relative to DIR; null when not rendered.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(clippy::option_option)]
    // absent without --screenshot, null for a page not rendered
    pub screenshot: Option<Option<String>>,
    /// The page's `<link rel=canonical>`, resolved; else the `Link: <…>; rel="canonical"` header's; else null.
    pub canonical: Option<String>,
    /// Robots directives of `<meta name=robots|crawlfish>` and `X-Robots-Tag` together, lowercase, each once.
    pub robots: Vec<String>,
    /// The page's `<html lang>`.
    pub lang: Option<String>,
    /// The page's `<meta name=description>`, whitespace collapsed.
    pub description: Option<String>,
    /// The page's `<link rel=alternate hreflang>` alternates, URLs absolute, in document order.
    pub hreflang: Vec<Hreflang>,
    /// The earlier URL of this run whose body was the same (or, with `--canonical-dedup`, this page's canonical
    /// URL, already reported or queued): this page's links were not followed.
    pub duplicate_of: Option<String>,
    /// Present only with `--save`, for a body written: its path under the directory, `/`-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved: Option<String>,
    /// Present only with `--content`: the page's main content (or whole body, `--content-scope full`) as Markdown
    /// or text, at most 1 MiB, ending in `[crawlfish: content truncated]` when a limit cut it; null when the
    /// response is not an HTML page (or is a 304). Appended last (contract order).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[allow(clippy::option_option)]
    // absent vs null is the point: absent without --content, null with it for what is not a page
    pub content: Option<Option<String>>,
    /// Not written: which of `links` this page put in the frontier first (indices; the top bit set for a link
    /// only to be checked). The writer journals them beside `-o FILE` so `--resume` can queue them again.
    #[serde(skip)]
    pub queued: Vec<u32>,
    /// Not written: each of `links`' [`crate::url::key::key`], computed once by the parser (which dedups a page's
    /// links by it) for the crawl's seen-set; empty when the links came from elsewhere ([`Record::keyed_link`]).
    #[serde(skip)]
    pub link_keys: Vec<u64>,
}

/// `change` in a record ([`crate::output::since`] decides it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The URL has no record in the earlier run.
    New,
    /// A 304, or the same status and the same digest as before.
    Unchanged,
    /// Anything else: another status or digest, an error now or then.
    Changed,
}

/// A redirect response met on the way: where it pointed (its `Location`, resolved and normalised) and its 3xx.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Redirect {
    pub url: String,
    pub status: u16,
}

/// `error` in a record: a stable kind to branch on and a human message that may change between versions.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RecordError {
    pub kind: ErrorKind,
    pub message: String,
}

/// Why a URL has no HTTP response. HTTP statuses (404, 500 …) are results, never kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Not an http(s) URL, or unparsable.
    InvalidUrl,
    /// The name did not resolve.
    Dns,
    /// The connection was refused, reset or unreachable.
    Connect,
    /// The TLS handshake or certificate failed.
    Tls,
    /// A deadline passed (connect or whole request).
    Timeout,
    /// More than `--max-redirects` hops, or a loop.
    TooManyRedirects,
    /// The body broke off or could not be decoded.
    Body,
    /// robots.txt disallows the URL (or a hop of it).
    RobotsDisallowed,
    /// The address guard refused the address the URL (or a hop of it) leads to: no connection was made.
    BlockedAddress,
    /// Anything else.
    Other,
    /// `--render`: the browser failed on the page twice (crashed, or would not load it); the record keeps what
    /// the fetched HTML said.
    Render,
}

impl ErrorKind {
    /// Every kind, in the order the README table lists them.
    pub const ALL: [ErrorKind; 11] = [
        ErrorKind::InvalidUrl,
        ErrorKind::Dns,
        ErrorKind::Connect,
        ErrorKind::Tls,
        ErrorKind::Timeout,
        ErrorKind::TooManyRedirects,
        ErrorKind::Body,
        ErrorKind::RobotsDisallowed,
        ErrorKind::BlockedAddress,
        ErrorKind::Other,
        ErrorKind::Render,
    ];

    /// The kind as it appears in records: `snake_case`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidUrl => "invalid_url",
            ErrorKind::Dns => "dns",
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "tls",
            ErrorKind::Timeout => "timeout",
            ErrorKind::TooManyRedirects => "too_many_redirects",
            ErrorKind::Body => "body",
            ErrorKind::RobotsDisallowed => "robots_disallowed",
            ErrorKind::BlockedAddress => "blocked_address",
            ErrorKind::Other => "other",
            ErrorKind::Render => "render",
        }
    }

    /// Whether a request that failed this way is worth another attempt (`--retries`).
    #[must_use]
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::Body
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed fetch, as the fetcher saw it. [`FetchError::kind`] is the only place a kind is decided.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("no complete response within {0:?} (headers and body)")]
    Deadline(Duration),
    #[error("{}", request_message(.0))]
    Request(reqwest::Error),
    #[error("body: {}", chain_message(.0))]
    Body(reqwest::Error),
    /// A redirect past `--max-redirects` (the count is the limit).
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    /// The politeness path refused the request (robots.txt, or robots.txt unreachable, or the address guard on
    /// an address written in the URL): no request was made.
    #[error("{1}")]
    Refused(ErrorKind, String),
}

impl FetchError {
    #[must_use]
    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            FetchError::Deadline(_) => ErrorKind::Timeout,
            FetchError::Request(e) => classify(e),
            FetchError::Body(e) => match classify(e) {
                ErrorKind::Timeout => ErrorKind::Timeout,
                _ => ErrorKind::Body,
            },
            FetchError::TooManyRedirects(_) => ErrorKind::TooManyRedirects,
            FetchError::Refused(kind, _) => *kind,
        }
    }

    /// The cause alone, for a message that goes on to say what was being fetched: a failed lookup's own words
    /// (`docs.invalid: no such host (…)`, without the layers reqwest and hyper wrap them in), otherwise the whole
    /// message.
    #[must_use]
    pub(crate) fn cause(&self) -> String {
        if let FetchError::Request(err) = self {
            let mut source: Option<&(dyn StdError + 'static)> = err.source();
            while let Some(e) = source {
                if let Some(dns) = e.downcast_ref::<DnsError>() {
                    return dns.to_string();
                }
                source = e.source();
            }
        }
        self.to_string()
    }
}

/// Name resolution failed. Raised by our resolver so that classification can find it in the chain.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct DnsError(pub String);

/// Every address a name resolved to was refused by the address guard. Raised by the resolver in place of the
/// addresses, so the connector never gets one and classification finds it in the chain (kind `blocked_address`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BlockedError(pub String);

/// Decides the kind of a reqwest error: reqwest's own predicates first, then a walk down the `source()` chain to
/// the resolver, rustls or io error underneath (hyper wraps them several layers deep).
#[must_use]
pub(crate) fn classify(err: &reqwest::Error) -> ErrorKind {
    if err.is_timeout() {
        return ErrorKind::Timeout;
    }
    if err.is_redirect() {
        return ErrorKind::TooManyRedirects;
    }
    if err.is_builder() {
        return ErrorKind::InvalidUrl;
    }
    let mut source: Option<&(dyn StdError + 'static)> = err.source();
    let mut saw_io_reset = false;
    while let Some(e) = source {
        if e.is::<BlockedError>() {
            return ErrorKind::BlockedAddress;
        }
        if e.is::<DnsError>() {
            return ErrorKind::Dns;
        }
        if e.is::<rustls::Error>() {
            return ErrorKind::Tls;
        }
        if e.downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_parse)
        {
            // Not HTTP (a garbled status line or head): the peer answered, so not `connect`; asking again would
            // get the same answer, so not retried.
            return ErrorKind::Other;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io_wraps_tls(io) || (err.is_connect() && is_tls_handshake_failure(io)) {
                return ErrorKind::Tls;
            }
            match io.kind() {
                std::io::ErrorKind::TimedOut => return ErrorKind::Timeout,
                std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::NotConnected
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::AddrNotAvailable
                | std::io::ErrorKind::UnexpectedEof => saw_io_reset = true,
                _ => {}
            }
        }
        source = e.source();
    }
    if err.is_body() || err.is_decode() {
        return ErrorKind::Body;
    }
    if err.is_connect() || saw_io_reset {
        return ErrorKind::Connect;
    }
    if err.is_request() {
        // hyper's "connection closed before message completed" and friends: the peer hung up on us.
        return ErrorKind::Connect;
    }
    ErrorKind::Other
}

/// `io::Error::source()` skips the error an `io::Error` wraps, and tokio-rustls nests one `io::Error` in another
/// around the rustls error: look inside explicitly.
fn io_wraps_tls(io: &std::io::Error) -> bool {
    let mut inner = io.get_ref();
    while let Some(e) = inner {
        if e.is::<rustls::Error>() {
            return true;
        }
        inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref);
    }
    false
}

/// A connector error that happened in the TLS handshake, after TCP connected: the peer hung up (EOF) or reset.
///
/// The signal is structural, not textual. In the connector, hyper-util reports a failed TCP connect as its own
/// `ConnectError` with the OS error as its source, while hyper-rustls wraps whatever the handshake returned in
/// `io::Error::other(handshake_error)`: an `io::Error` holding another `io::Error`. A handshake cut short reads
/// (reqwest 0.12, hyper-rustls 0.27, tokio-rustls 0.26):
/// ```text
/// reqwest::Error(Request) → hyper_util Error(Connect) → io::Error(Other, io::Error(UnexpectedEof, "tls handshake eof"))
/// reqwest::Error(Request) → hyper_util Error(Connect) → io::Error(Other, io::Error(ConnectionReset, os error 104))
/// reqwest::Error(Request) → hyper_util Error(Connect) → ConnectError("tcp connect error") → io::Error(ConnectionRefused)
/// ```
/// (`io::Error::source()` skips the wrapped error, so it is reached with `get_ref`.) Only called for
/// `is_connect()` errors: a reset after the handshake, on http or https, comes from hyper unwrapped.
fn is_tls_handshake_failure(io: &std::io::Error) -> bool {
    io.get_ref()
        .and_then(|inner| inner.downcast_ref::<std::io::Error>())
        .is_some()
}

/// A request error's message: for an address the guard refused, the URL and the guard's words (what the
/// connector wraps them in, "dns error", would mislead); otherwise [`chain_message`].
fn request_message(err: &reqwest::Error) -> String {
    let mut source: Option<&(dyn StdError + 'static)> = err.source();
    while let Some(e) = source {
        if let Some(blocked) = e.downcast_ref::<BlockedError>() {
            return match err.url() {
                Some(url) => format!("{url}: {blocked}"),
                None => blocked.to_string(),
            };
        }
        source = e.source();
    }
    chain_message(err)
}

/// The error and its sources joined with ": ", as curl-like users expect to read it.
fn chain_message(err: &(dyn StdError + 'static)) -> String {
    let mut msg = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let s = e.to_string();
        if !msg.contains(&s) {
            msg.push_str(": ");
            msg.push_str(&s);
        }
        source = e.source();
    }
    msg
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-26T18:25:17.123Z`.
#[must_use]
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

impl Record {
    /// The URL a follow index names: one of `links`, or past them a `--follow-alternates` hreflang URL (the
    /// crawler's follow list and the `--resume` links journal both index this way).
    #[must_use]
    pub fn link_at(&self, i: u32) -> Option<&str> {
        let i = i as usize;
        match self.links.get(i) {
            Some(link) => Some(link),
            None => self
                .hreflang
                .get(i - self.links.len())
                .map(|alt| alt.url.as_str()),
        }
    }

    /// [`Record::link_at`] with the URL's seen-set key: the parser's for one of `links` (W2: the second hash of
    /// every link was 3 % of all instructions), else computed.
    #[must_use]
    pub fn keyed_link(&self, i: u32) -> Option<(&str, u64)> {
        let link = self.link_at(i)?;
        let k = match self.link_keys.get(i as usize) {
            Some(&k) if self.link_keys.len() == self.links.len() => {
                debug_assert_eq!(k, crate::url::key::key(link), "a stale link key");
                k
            }
            _ => crate::url::key::key(link),
        };
        Some((link, k))
    }

    /// A record for a URL that produced no response. `url` is kept whole: `--resume`, `--since` and `--state` find
    /// a URL's record by it, so a cut one would be fetched (and appended) again on every run. Callers bound it: an
    /// invalid input line is cut by the scheduler, a listed URL is at most `url::MAX_URL_LEN` bytes, a link at most
    /// its page's body.
    #[must_use]
    pub fn failed(
        url: &str,
        depth: u32,
        parent: Option<String>,
        kind: ErrorKind,
        message: String,
    ) -> Record {
        Record {
            url: url.to_owned(),
            final_url: None,
            status: None,
            depth,
            parent,
            content_type: None,
            bytes: 0,
            truncated: false,
            title: None,
            links: Vec::new(),
            fetched_at: now_rfc3339(),
            elapsed_ms: 0,
            attempts: 0,
            error: Some(RecordError { kind, message }),
            extract: None,
            redirects: Vec::new(),
            etag: None,
            last_modified: None,
            digest: None,
            change: None,
            ip: None,
            http_version: None,
            headers: None,
            warc_offset: None,
            meta_nofollow: false,
            checked: None,
            missing_fragments: None,
            rendered: None,
            render_ms: None,
            screenshot: None,
            canonical: None,
            robots: Vec::new(),
            lang: None,
            description: None,
            hreflang: Vec::new(),
            duplicate_of: None,
            saved: None,
            content: None,
            queued: Vec::new(),
            link_keys: Vec::new(),
        }
    }

    /// A URL "failed" for the exit code: a transport error, or an HTTP status of 400 or more. A URL robots.txt
    /// kept us from is not a failure: the crawler obeyed the site and nothing broke.
    #[must_use]
    pub fn is_failure(&self) -> bool {
        self.error
            .as_ref()
            .is_some_and(|e| e.kind != ErrorKind::RobotsDisallowed)
            || self.status.is_some_and(|s| s >= 400)
    }
}

/// The first `max` characters of `s` (on a char boundary).
#[must_use]
pub(crate) fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests;
