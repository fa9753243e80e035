//! The network adapter: one HTTP exchange at a time ([`fetch`]), over the run's proxies ([`proxy`]), resolver
//! ([`dns`]) and TLS trust ([`trust`]), with one byte budget for the bodies in flight ([`budget`]), plus the
//! `-vv` request log line ([`request_log`]).
//!
//! Must not decide which requests are made, when, or how often: that is the polite path's (`crate::polite`).

pub(crate) mod budget;
pub(crate) mod cookies;
pub(crate) mod dns;
pub(crate) mod fetch;
pub(crate) mod meter;
pub(crate) mod proxy;
pub(crate) mod request_log;
pub(crate) mod trust;

use std::net::SocketAddr;
use std::time::Duration;

use proxy::Proxies;
use trust::Trust;

use crate::url::address::AddressRules;

/// `--timeout`'s default: the deadline of a whole request, headers and body.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// `--connect-timeout`'s default.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the network layer is built with: timeouts, the User-Agent, pool sizes, names, proxies, trust and the
/// address guard's rules.
#[derive(Debug, Clone)]
pub struct NetOptions {
    /// The User-Agent header of every request.
    pub user_agent: String,
    /// Deadline of a whole request, headers and body.
    pub timeout: Duration,
    /// Deadline of a TCP (and TLS) connect.
    pub connect_timeout: Duration,
    /// Idle connections a client (one per host) keeps: `--per-host`, at most `-c`.
    pub idle_per_host: usize,
    /// `--headers`: records carry the final response's headers.
    pub headers_out: bool,
    /// `--resolve`: host → address (the port comes from the URL; see README).
    pub resolve: Vec<(String, SocketAddr)>,
    /// `--dns-server`: the only DNS servers asked, in order, without duplicates; empty: the system's.
    pub dns_servers: Vec<SocketAddr>,
    /// `--proxy`, `--no-proxy` and the proxy environment variables, resolved ([`proxy`]).
    pub proxies: Proxies,
    /// `--cacert` and `-k` ([`trust`]).
    pub trust: Trust,
    /// `--deny-net`, `--allow-net`, `--allow-internal`: the address guard's rules ([`crate::url::address`],
    /// applied by [`dns`]'s guarded resolver and by the polite path for addresses written in URLs).
    pub addresses: AddressRules,
    /// `--max-inflight-bytes`: response body bytes held in memory at once, all tasks together ([`budget`]).
    pub max_inflight_bytes: u64,
    /// The cookie jar: on by default, `--cookies`, `--save-cookies` ([`cookies`]).
    pub cookies: cookies::CookieOptions,
}

/// The default User-Agent: `crawlfish/VERSION`.
#[must_use]
pub(crate) fn default_user_agent() -> String {
    format!(
        "{}/{}",
        crate::robots::PRODUCT_TOKEN,
        env!("CARGO_PKG_VERSION")
    )
}
