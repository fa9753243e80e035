//! The `-vv` request log: one `debug` event per HTTP request sent (pages, redirect hops, retries, robots.txt,
//! sitemap files) with its method, URL, status or error kind, milliseconds, attempt, purpose and redirect hop.
//!
//! [`crate::polite`] (the one path every request takes) calls it; nothing here decides anything. When the
//! `crawlfish::request` target is off at `debug` (the default, `-v`, `-q`) a request costs one check of
//! tracing's cached callsite interest and no clock read. The URL goes through the log formatter, which escapes it
//! ([`crate::app::logs`]).

use reqwest::StatusCode;
use tokio::time::Instant;
use url::Url;

use crate::net::meter::Meter;
use crate::record::FetchError;

/// The tracing target of the request log (`RUST_LOG=crawlfish::request=debug` shows only these lines).
pub(crate) const TARGET: &str = "crawlfish::request";
/// What a URL's password is shown as in the request log.
const PASSWORD_MASK: &str = "***";

/// Why a request is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A listed or discovered URL (or a redirect hop on its way).
    Page,
    /// A sitemap file (`--sitemap`).
    Sitemap,
    /// A host's robots.txt.
    Robots,
    /// A request a rendered page made (`--render`).
    Render,
}

impl Purpose {
    pub(crate) fn page_or_sitemap(sitemap: bool) -> Purpose {
        if sitemap {
            Purpose::Sitemap
        } else {
            Purpose::Page
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Purpose::Page => "page",
            Purpose::Sitemap => "sitemap",
            Purpose::Robots => "robots",
            Purpose::Render => "render",
        }
    }
}

/// The request method: GET, except `--check-links`' HEAD for a link that is only checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Head,
}

impl Method {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
        }
    }
}

/// Which request of a URL's chain: its purpose, how many redirects led to it, and its method.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tag {
    pub purpose: Purpose,
    pub hop: usize,
    pub method: Method,
}

impl Tag {
    /// A GET.
    pub(crate) fn new(purpose: Purpose, hop: usize) -> Tag {
        Tag {
            purpose,
            hop,
            method: Method::Get,
        }
    }

    #[must_use]
    pub(crate) fn with_method(mut self, method: Method) -> Tag {
        self.method = method;
        self
    }
}

/// One request being timed; the log part is `None` when the log is off, the meter part without `--metrics`. Its
/// line is logged by [`Sent::end`], or, when the request never ended (its task was aborted at shutdown, after the
/// grace period), by `Drop` with `error=aborted`: every request sent gets its one line.
#[derive(Debug)]
pub(crate) struct Sent<'m>(Option<Box<Pending>>, Option<(&'m Meter, Instant)>);

/// What a logged request's line needs at its end.
#[derive(Debug)]
struct Pending {
    started: Instant,
    tag: Tag,
    url: Url,
    attempt: u32,
}

/// The `error` of a request whose task was dropped before it ended.
const ABORTED: &str = "aborted";

impl<'m> Sent<'m> {
    /// Starts timing a request (`attempt`: this hop's try, 1 = first), if the request log is on or `meter` given.
    pub(crate) fn start(tag: Tag, url: &Url, attempt: u32, meter: Option<&'m Meter>) -> Sent<'m> {
        let on = tracing::enabled!(target: TARGET, tracing::Level::DEBUG);
        let metered = meter.map(|m| {
            m.start(attempt);
            (m, Instant::now())
        });
        let logged = on.then(|| {
            Box::new(Pending {
                started: Instant::now(),
                tag,
                url: url.clone(),
                attempt,
            })
        });
        Sent(logged, metered)
    }

    /// Logs and meters the request's end: its status (when a response head arrived), the error that ended it
    /// (when one did: no response, or a body that broke off) and the body bytes read.
    pub(crate) fn end(
        mut self,
        status: Option<StatusCode>,
        error: Option<&FetchError>,
        bytes: u64,
    ) {
        if let Some((m, started)) = self.1.take() {
            m.end(
                started.elapsed(),
                status,
                error.map(FetchError::kind),
                bytes,
            );
        }
        if let Some(p) = self.0.take() {
            log(&p, status, error.map(|e| e.kind().as_str()));
        }
    }
}

impl Drop for Sent<'_> {
    fn drop(&mut self) {
        if let Some((m, _)) = self.1.take() {
            m.abort();
        }
        if let Some(p) = self.0.take() {
            log(&p, None, Some(ABORTED));
        }
    }
}

fn log(p: &Pending, status: Option<StatusCode>, error: Option<&str>) {
    let ms = p.started.elapsed().as_millis() as u64;
    // A listed URL's password stays out of logs (it is sent only as Basic auth to its own origin).
    let shown = if p.url.password().is_some() {
        let mut masked = p.url.clone();
        let _ = masked.set_password(Some(PASSWORD_MASK));
        std::borrow::Cow::Owned(masked)
    } else {
        std::borrow::Cow::Borrowed(&p.url)
    };
    tracing::debug!(
        target: TARGET,
        method = %p.tag.method.as_str(),
        url = %shown,
        status = status.map(|s| s.as_u16()),
        error = error.map(tracing::field::display),
        ms,
        attempt = p.attempt,
        purpose = %p.tag.purpose.as_str(),
        hop = p.tag.hop,
        "request"
    );
}
