//! The HTTP side: the one reqwest client (with our resolver, redirects **off**) and one HTTP exchange under one
//! deadline for headers and body, the body capped at a byte limit. Which headers a request carries is decided by
//! the caller: `-H` headers and credentials are attached only when the caller says the request is to their origin.
//!
//! Names are resolved by [`crate::net::dns`]'s one `Resolver` (and its cache), shared by every client of the run,
//! each client through the address guard for its ceiling ([`crate::net::dns::guard`]).
//!
//! Each host gets its own client ([`Fetcher::pool`]), held by that host's state in [`crate::polite::host`]: reqwest has no
//! global cap on idle keep-alive connections (only one per host, and a timeout), so the idle sockets of a host
//! are closed by dropping its client when the host's state is released. Open sockets then follow the hosts in use
//! (about `-c`), not every host the run has met.
//!
//! Proxies and TLS trust come made from [`crate::net::proxy`]; every client gets them.
//!
//! Must not parse pages, follow redirects, retry or know hosts: [`crate::polite`] does all of that, so every request
//! passes the same robots, rate-limit and scope checks.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{
    HeaderName, HeaderValue, CONTENT_TYPE, COOKIE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED, LINK, LOCATION, RETRY_AFTER,
};
use reqwest::StatusCode;
use tokio::time::{timeout_at, Instant};
use url::Url;

use crate::net::budget::{Budget, Held};
use crate::net::cookies::Jar;
use crate::net::dns::guard::{Guard, Guarded};
use crate::net::dns::Resolver;
use crate::net::proxy::ClientOptions;
use crate::net::request_log::Method;
use crate::net::NetOptions;
use crate::record::FetchError;
use crate::record::Headers;
use crate::url::address::Class;

/// A response, read as far as the cap allowed.
#[derive(Debug)]
pub(crate) struct Response {
    pub final_url: Url,
    pub status: u16,
    pub content_type: Option<String>,
    /// The raw `Location` header, when it is valid UTF-8 (redirects are followed by the caller).
    pub location: Option<String>,
    /// The validators, as sent (when valid UTF-8): `ETag` and `Last-Modified`.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body: Vec<u8>,
    pub truncated: bool,
    /// The address that answered (when the connection reports one).
    pub ip: Option<IpAddr>,
    /// The protocol of the response, as the record spells it.
    pub http_version: Option<&'static str>,
    /// Every header, only when `--headers` asked for them.
    pub headers: Option<Headers>,
    /// The `Link` and `X-Robots-Tag` values, as sent (valid UTF-8 only): what says how the page may be indexed
    /// beside its markup. Empty (no allocation) on the common response that sends neither.
    pub link: Vec<String>,
    pub x_robots_tag: Vec<String>,
    /// With `--warc`: the byte offset of this response's record in the WARC file (set by [`crate::polite`]).
    pub warc_offset: Option<u64>,
    /// The body's share of `--max-inflight-bytes`, given back when the response (so the record) is done.
    pub budget: Option<Held>,
}

/// What a request may carry beyond the User-Agent: `-H` headers and Basic credentials from the listed URL's
/// userinfo. Only ever built for a request to the listed URL's own origin.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Credentials<'a> {
    pub headers: &'a reqwest::header::HeaderMap,
    pub basic: Option<(&'a str, Option<&'a str>)>,
}

/// The validators of an earlier response for this very URL: sent as `If-None-Match` and `If-Modified-Since`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Validators<'a> {
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
}

/// What every client is built from, and a client already built (the fallback should building another fail).
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    client: reqwest::Client,
    resolver: Arc<Resolver>,
    /// The address guard's rules, applied by every client's resolver ([`crate::net::dns::guard`]).
    guard: Arc<Guard>,
    /// Proxies and TLS trust, made once per run and applied to every client ([`crate::net::proxy`]).
    net: Arc<ClientOptions>,
    cfg: Arc<NetOptions>,
    budget: Arc<Budget>,
    /// The run's one cookie jar, shared by every host's client; `None` with `--no-cookies`.
    jar: Option<Arc<Jar>>,
}

impl Fetcher {
    /// Builds a first client, so a setting the client rejects fails here, at start.
    ///
    /// # Errors
    /// When the TLS backend cannot be initialised or a setting (the User-Agent) is not a valid header.
    pub(crate) fn new(cfg: Arc<NetOptions>) -> Result<Fetcher, reqwest::Error> {
        let resolver = Arc::new(Resolver::new(&cfg));
        let guard = Arc::new(Guard::new(cfg.addresses.clone(), cfg.proxies.host_names()));
        let net = Arc::new(ClientOptions::new(&cfg.proxies, &cfg.trust)?);
        // The fallback client is the strictest: a failure to build another never loosens the guard.
        let strictest = Guarded::new(resolver.clone(), guard.clone(), Class::Public);
        let client = build_client(&cfg, strictest, &net)?;
        Ok(Fetcher {
            client,
            resolver,
            guard,
            net,
            budget: Budget::new(cfg.max_inflight_bytes),
            jar: cfg.cookies.enabled.then(Arc::default),
            cfg,
        })
    }

    /// A new client with its own connection pool, for one host and one ceiling (the address class its requests
    /// may reach): dropping it closes its idle connections. A pooled connection is reused only under the ceiling
    /// it was checked for.
    #[must_use]
    pub(crate) fn pool(&self, ceiling: Class) -> reqwest::Client {
        let resolver = Guarded::new(self.resolver.clone(), self.guard.clone(), ceiling);
        build_client(&self.cfg, resolver, &self.net).unwrap_or_else(|_| self.client.clone())
    }

    /// The reference class of a listed URL's `host` known without I/O: an address's own, or what `--resolve`,
    /// `localhost` or `/etc/hosts` say ([`crate::net::dns::guard`]).
    #[must_use]
    pub(crate) fn local_class(&self, host: &str) -> Option<Class> {
        self.resolver.local_class(host)
    }

    /// The reference class of a listed URL named by `host`, when it cannot be learnt from a connection to it:
    /// through a proxy public (never DNS: the proxy resolves names), else the first address the resolver gives;
    /// public when nothing answers.
    pub(crate) async fn reference_class(&self, host: &str) -> Class {
        if self.cfg.proxies.any() {
            return Class::Public;
        }
        self.resolver
            .lookup_class(host)
            .await
            .unwrap_or(Class::Public)
    }

    /// The run's `--max-inflight-bytes` budget.
    #[must_use]
    pub(crate) fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// The run's cookie jar, unless `--no-cookies`.
    #[must_use]
    pub(crate) fn jar(&self) -> Option<&Arc<Jar>> {
        self.jar.as_ref()
    }

    #[must_use]
    pub(crate) fn options(&self) -> &NetOptions {
        &self.cfg
    }

    /// Sends one request and waits for its head, until `deadline`. The URL's own userinfo is never sent:
    /// credentials go only where `creds` says, validators only where the caller found them for this URL, and
    /// `cookie` (the jar's `Cookie` header for it) only where the caller asked the jar.
    ///
    /// # Errors
    /// Transport failures, classified by [`FetchError::kind`].
    pub(crate) async fn send(
        &self,
        client: &reqwest::Client,
        (url, method): (&Url, Method),
        (creds, validators): (Option<Credentials<'_>>, Option<Validators<'_>>),
        cookie: Option<HeaderValue>,
        deadline: Instant,
    ) -> Result<reqwest::Response, FetchError> {
        let mut target = url.clone();
        if !target.username().is_empty() || target.password().is_some() {
            // reqwest would turn userinfo into an Authorization header for whatever host the URL names.
            let _ = target.set_username("");
            let _ = target.set_password(None);
        }
        let mut req = match method {
            Method::Get => client.get(target),
            Method::Head => client.head(target),
        };
        let mut cookie = cookie;
        if let Some(c) = creds {
            if !c.headers.is_empty() {
                let mut headers = c.headers.clone();
                // One `Cookie` header (RFC 6265 5.4): a `-H Cookie:` value first, then the jar's.
                if let (Some(jar), Some(user)) = (cookie.as_ref(), c.headers.get(COOKIE)) {
                    let mut both = user.as_bytes().to_vec();
                    both.extend_from_slice(b"; ");
                    both.extend_from_slice(jar.as_bytes());
                    if let Ok(both) = HeaderValue::from_bytes(&both) {
                        headers.insert(COOKIE, both);
                        cookie = None;
                    }
                }
                req = req.headers(headers);
            }
            if let Some((user, pass)) = c.basic {
                req = req.basic_auth(user, pass);
            }
        }
        if let Some(v) = validators {
            // A value that is not a valid header (it was read back from a file) is not sent.
            if let Some(etag) = v.etag.and_then(|e| HeaderValue::from_str(e).ok()) {
                req = req.header(IF_NONE_MATCH, etag);
            }
            if let Some(date) = v.last_modified.and_then(|d| HeaderValue::from_str(d).ok()) {
                req = req.header(IF_MODIFIED_SINCE, date);
            }
        }
        if let Some(cookie) = cookie {
            req = req.header(COOKIE, cookie);
        }
        match timeout_at(deadline, req.send()).await {
            Err(_) => Err(FetchError::Deadline(self.cfg.timeout)),
            Ok(r) => r.map_err(FetchError::Request),
        }
    }

    /// Reads a response's body, at most `max_body` bytes after decompression, until `deadline`.
    ///
    /// # Errors
    /// The body broke off or the deadline passed.
    pub(crate) async fn read(
        &self,
        resp: reqwest::Response,
        max_body: u64,
        deadline: Instant,
    ) -> Result<Response, FetchError> {
        read_body(resp, (max_body, self.budget.hold()), deadline, &self.cfg).await
    }
}

/// Every client of the run, one per host, is built here, so each gets the same proxies and TLS trust.
fn build_client(
    cfg: &NetOptions,
    resolver: Guarded,
    net: &ClientOptions,
) -> Result<reqwest::Client, reqwest::Error> {
    let builder = reqwest::Client::builder()
        .user_agent(cfg.user_agent.clone())
        .connect_timeout(cfg.connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(cfg.idle_per_host)
        .tcp_nodelay(true)
        .dns_resolver(Arc::new(resolver));
    net.apply(builder).build()
}

/// Statuses worth another attempt; everything else (404 …) is final after one request.
#[must_use]
pub(crate) fn is_retryable_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// Exponential backoff with full jitter: uniform in `[0, min(cap, base·2^(attempt-1))]`, `rand01` in `[0, 1)`.
#[must_use]
pub(crate) fn backoff_delay(attempt: u32, base: Duration, cap: Duration, rand01: f64) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    exp.min(cap).mul_f64(rand01.clamp(0.0, 1.0))
}

/// The `Retry-After` of a response head, as a delay from now.
#[must_use]
pub(crate) fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp.headers().get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(v, SystemTime::now())
}

/// `Retry-After`: delay-seconds or an HTTP date (a date in the past means now).
#[must_use]
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for u64 is still "longer than any cap": give the URL up rather than retry at once.
        return Some(
            value
                .parse::<u64>()
                .map_or(Duration::MAX, Duration::from_secs),
        );
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A response's metadata with an empty body (the body is read by `read_body`, or dropped); its headers too when
/// `keep_headers` (`--headers`).
#[must_use]
pub(crate) fn head(resp: &reqwest::Response, keep_headers: bool) -> Response {
    let header = |name| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Response {
        final_url: resp.url().clone(),
        status: resp.status().as_u16(),
        content_type: header(CONTENT_TYPE),
        location: header(LOCATION),
        etag: header(ETAG),
        last_modified: header(LAST_MODIFIED),
        body: Vec::new(),
        truncated: false,
        ip: resp.remote_addr().map(|a| a.ip()),
        http_version: version_name(resp.version()),
        headers: keep_headers.then(|| Headers::of(resp.headers())),
        link: all(resp, LINK),
        x_robots_tag: all(resp, X_ROBOTS_TAG),
        warc_offset: None,
        budget: None,
    }
}

/// Robots directives for the response (not a standard name, so `http` has no constant for it).
const X_ROBOTS_TAG: HeaderName = HeaderName::from_static("x-robots-tag");

/// Every value of a header that is valid UTF-8, in order.
fn all(resp: &reqwest::Response, name: impl reqwest::header::AsHeaderName) -> Vec<String> {
    resp.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

/// How a record spells a protocol version (`http::Version`'s `Debug` says "HTTP/2.0").
fn version_name(v: reqwest::Version) -> Option<&'static str> {
    Some(match v {
        reqwest::Version::HTTP_09 => "HTTP/0.9",
        reqwest::Version::HTTP_10 => "HTTP/1.0",
        reqwest::Version::HTTP_11 => "HTTP/1.1",
        reqwest::Version::HTTP_2 => "HTTP/2",
        reqwest::Version::HTTP_3 => "HTTP/3",
        _ => return None,
    })
}

/// Reads the body, taking each chunk's bytes from the budget first (`held` travels on with the response).
async fn read_body(
    mut resp: reqwest::Response,
    (max_body, mut held): (u64, Held),
    deadline: Instant,
    cfg: &NetOptions,
) -> Result<Response, FetchError> {
    let limit = cfg.timeout;
    let mut out = head(&resp, cfg.headers_out);
    let cap = usize::try_from(max_body).unwrap_or(usize::MAX);
    // Sized once from Content-Length (never past the cap, nor past 1 MiB up front) instead of regrown per chunk.
    let hint = resp
        .content_length()
        .map_or(0, |n| usize::try_from(n).unwrap_or(cap));
    let mut body = Vec::with_capacity(hint.min(cap).min(1 << 20));
    let mut truncated = false;
    loop {
        let chunk = match timeout_at(deadline, resp.chunk()).await {
            Err(_) => return Err(FetchError::Deadline(limit)),
            Ok(Err(e)) => return Err(FetchError::Body(e)),
            Ok(Ok(None)) => break,
            Ok(Ok(Some(c))) => c,
        };
        let room = cap - body.len();
        let keep = chunk.len().min(room);
        // The chunk is already in memory (hyper's buffer): waiting here stops reading more of this body.
        timeout_at(deadline, held.take(keep))
            .await
            .map_err(|_| FetchError::Deadline(limit))?;
        body.extend_from_slice(&chunk[..keep]);
        if chunk.len() > room {
            truncated = true;
            break;
        }
    }
    out.body = body;
    out.truncated = truncated;
    out.budget = Some(held);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(500);
        let cap = Duration::from_secs(30);
        assert_eq!(backoff_delay(1, base, cap, 0.999_999).as_millis(), 499);
        assert_eq!(backoff_delay(2, base, cap, 0.5), Duration::from_millis(500));
        assert_eq!(backoff_delay(3, base, cap, 0.5), Duration::from_secs(1));
        assert_eq!(backoff_delay(40, base, cap, 0.5), Duration::from_secs(15));
        assert_eq!(backoff_delay(3, base, cap, 0.0), Duration::ZERO);
    }

    #[test]
    fn retry_after_forms() {
        let now = httpdate::parse_http_date("Thu, 26 Nov 2026 18:00:00 GMT").unwrap();
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Thu, 26 Nov 2026 18:00:42 GMT", now),
            Some(Duration::from_secs(42))
        );
        assert_eq!(
            parse_retry_after("Thu, 26 Nov 2026 17:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(
            parse_retry_after("99999999999999999999", now),
            Some(Duration::MAX)
        );
    }

    /// What `head()` reports for HTTP/1.1 and HTTP/2 (h2c with prior knowledge: the binary speaks h2 only where
    /// TLS negotiates it, which a loopback test cannot do without a certificate the client trusts).
    #[tokio::test]
    async fn head_reports_protocol_peer_and_headers() {
        let listener = tokio::net::TcpListener::bind("127.0.0.3:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().fallback(|| async {
            let repeated = [("set-cookie", "a=1"), ("set-cookie", "b=2"), ("x-one", "1")];
            (axum::response::AppendHeaders(repeated), "hi")
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        let url = format!("http://{addr}/");
        for (client, version) in [
            (reqwest::Client::new(), "HTTP/1.1"),
            (
                reqwest::Client::builder()
                    .http2_prior_knowledge()
                    .build()
                    .unwrap(),
                "HTTP/2",
            ),
        ] {
            let resp = client.get(&url).send().await.unwrap();
            let h = head(&resp, true);
            assert_eq!(h.http_version, Some(version));
            assert_eq!(h.ip, Some(addr.ip()));
            let json = serde_json::to_value(h.headers.unwrap()).unwrap();
            assert_eq!(
                json["set-cookie"],
                serde_json::json!(["a=1", "b=2"]),
                "{version}"
            );
            assert_eq!(json["x-one"], "1");
            assert!(head(&resp, false).headers.is_none());
        }
    }

    #[test]
    fn retryable_statuses() {
        for s in [429, 500, 502, 503, 504] {
            assert!(is_retryable_status(StatusCode::from_u16(s).unwrap()));
        }
        for s in [200, 301, 400, 403, 404, 501] {
            assert!(!is_retryable_status(StatusCode::from_u16(s).unwrap()));
        }
    }
}
