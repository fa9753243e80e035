//! The HTTP side: the one reqwest client (with our resolver), a single request under one deadline for headers and
//! body with the body capped at `--max-body`, and [`Fetcher::get`], the attempt loop with backoff and Retry-After.
//!
//! Must not parse pages; it returns bytes and metadata.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;
use tokio::time::{timeout_at, Instant};
use url::Url;

use crate::cli::Config;
use crate::host::Host;
use crate::record::{DnsError, FetchError};

/// A response, read as far as the cap allowed.
#[derive(Debug)]
pub struct Response {
    pub final_url: Url,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub truncated: bool,
    pub retry_after: Option<Duration>,
}

/// The shared client and the limits every request obeys.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    cfg: Arc<Config>,
}

impl Fetcher {
    /// Builds the client.
    ///
    /// # Errors
    /// When the TLS backend cannot be initialised.
    pub fn new(cfg: Arc<Config>) -> Result<Fetcher, reqwest::Error> {
        let resolver = Resolver {
            overrides: cfg.resolve.iter().cloned().collect(),
        };
        let client = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .default_headers(cfg.headers.clone())
            .connect_timeout(cfg.connect_timeout)
            .redirect(reqwest::redirect::Policy::limited(cfg.max_redirects))
            .pool_max_idle_per_host(cfg.per_host.min(cfg.concurrency))
            .tcp_nodelay(true)
            .dns_resolver(Arc::new(resolver))
            .build()?;
        Ok(Fetcher { client, cfg })
    }

    #[must_use]
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// One request: headers and body (up to `max_body` bytes after decompression) within `--timeout`.
    ///
    /// # Errors
    /// Transport failures, classified by [`FetchError::kind`].
    pub async fn get_once(&self, url: &Url, max_body: u64) -> Result<Response, FetchError> {
        let deadline = Instant::now() + self.cfg.timeout;
        let resp = self.send(url, deadline).await?;
        read_body(resp, max_body, deadline, self.cfg.timeout).await
    }

    async fn send(&self, url: &Url, deadline: Instant) -> Result<reqwest::Response, FetchError> {
        match timeout_at(deadline, self.client.get(url.clone()).send()).await {
            Err(_) => Err(FetchError::Deadline(self.cfg.timeout)),
            Ok(r) => r.map_err(FetchError::Request),
        }
    }

    /// Fetches `url` with up to `--retries` extra attempts, waiting on `host` (rate limit and host-wide backoff)
    /// before each. Returns the last outcome and how many requests were made.
    pub async fn get(&self, host: &Host, url: &Url) -> (Result<Response, FetchError>, u32) {
        let cfg = &self.cfg;
        let mut attempt = 0;
        loop {
            host.ready().await;
            attempt += 1;
            let retries_left = attempt <= cfg.retries;
            let deadline = Instant::now() + cfg.timeout;
            let resp = match self.send(url, deadline).await {
                Ok(r) => r,
                Err(e) if retries_left && e.kind().is_retryable() => {
                    tokio::time::sleep(self.backoff(attempt)).await;
                    continue;
                }
                Err(e) => return (Err(e), attempt),
            };
            let status = resp.status();
            if retries_left && is_retryable_status(status) {
                let retry_after = retry_after(&resp);
                match status {
                    StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                        if retry_after.is_some_and(|d| d > cfg.max_retry_after) {
                            // Past the cap: give the URL up with this status rather than stall the run.
                            let r = read_body(resp, cfg.max_body, deadline, cfg.timeout).await;
                            return (r, attempt);
                        }
                        host.slow_down(retry_after.unwrap_or_else(|| self.backoff(attempt)));
                    }
                    _ => tokio::time::sleep(self.backoff(attempt)).await,
                }
                continue;
            }
            match read_body(resp, cfg.max_body, deadline, cfg.timeout).await {
                Err(e) if retries_left && e.kind().is_retryable() => {
                    tokio::time::sleep(self.backoff(attempt)).await;
                }
                Ok(r) => {
                    if !is_retryable_status(status) {
                        host.relax();
                    }
                    return (Ok(r), attempt);
                }
                Err(e) => return (Err(e), attempt),
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        backoff_delay(
            attempt,
            self.cfg.backoff_base,
            Duration::from_secs(30),
            fastrand::f64(),
        )
    }
}

/// Statuses worth another attempt; everything else (404 …) is final after one request.
#[must_use]
pub fn is_retryable_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// Exponential backoff with full jitter: uniform in `[0, min(cap, base·2^(attempt-1))]`, `rand01` in `[0, 1)`.
#[must_use]
pub fn backoff_delay(attempt: u32, base: Duration, cap: Duration, rand01: f64) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    exp.min(cap).mul_f64(rand01.clamp(0.0, 1.0))
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp.headers().get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(v, SystemTime::now())
}

/// `Retry-After`: delay-seconds or an HTTP date (a date in the past means now).
#[must_use]
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

async fn read_body(
    mut resp: reqwest::Response,
    max_body: u64,
    deadline: Instant,
    limit: Duration,
) -> Result<Response, FetchError> {
    let final_url = resp.url().clone();
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let retry_after = retry_after(&resp);
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
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            truncated = true;
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response {
        final_url,
        status,
        content_type,
        body,
        truncated,
        retry_after,
    })
}

/// Name resolution: `--resolve` overrides first; RFC 6761 special names answered locally (`.invalid` never
/// resolves, `localhost` is loopback) so they never reach a DNS server; the system resolver for the rest.
struct Resolver {
    overrides: HashMap<String, SocketAddr>,
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let fixed: Option<Vec<SocketAddr>> = if let Some(addr) = self.overrides.get(&host) {
            Some(vec![*addr])
        } else if host == "localhost" || host.ends_with(".localhost") {
            Some(vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0),
            ])
        } else {
            None
        };
        if let Some(addrs) = fixed {
            return Box::pin(async move { Ok(Box::new(addrs.into_iter()) as Addrs) });
        }
        if host == "invalid" || host.ends_with(".invalid") {
            let err = DnsError(format!(
                "{host}: no such host (.invalid never resolves, RFC 6761)"
            ));
            return Box::pin(async move { Err(Box::new(err) as Box<_>) });
        }
        Box::pin(async move {
            match tokio::net::lookup_host((host.as_str(), 0)).await {
                Ok(addrs) => Ok(Box::new(addrs.collect::<Vec<_>>().into_iter()) as Addrs),
                Err(e) => Err(Box::new(DnsError(format!("{host}: {e}"))) as Box<_>),
            }
        })
    }
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
