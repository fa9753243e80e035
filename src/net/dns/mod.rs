//! Name resolution for every HTTP client of a run: [`Resolver`], reqwest's `Resolve`, built once by [`crate::net::fetch`] and
//! shared by all its clients (one per host), so one cache serves the whole run. In this order: `--resolve`
//! overrides; RFC 6761 special names answered here (`localhost` and `*.localhost` are loopback, `.invalid` never
//! resolves); `/etc/hosts`; then DNS through one hickory resolver (the system's servers, or `--dns-server`), A and
//! AAAA asked apart ([`crate::net::dns::query`]), each answer kept for its TTL in [`crate::net::dns::cache`] (hickory's own cache is off:
//! it keeps every record a server sends). Lookups of one name that overlap share one query.
//!
//! Also the form of a `--dns-server` value ([`parse_dns_server`], called by [`crate::cli`]'s validation).
//!
//! The clients do not get this resolver itself but [`guard::Guarded`] around it: the address guard, which hands
//! the connector only the addresses a request may reach.
//!
//! Must not connect, retry requests or know URLs: it turns a host name into addresses or a [`DnsError`] (kind
//! `dns`) whose message tells NXDOMAIN, a timeout and other failures apart.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{bail, Context};

use futures_util::future::{BoxFuture, FutureExt, Shared};
use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::op::Query;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{Hosts, TokioResolver};
use reqwest::dns::{Addrs, Resolve, Resolving};

use crate::net::dns::cache::DnsCache;
use crate::net::NetOptions;
use crate::record::DnsError;

/// A lookup may take this share (numerator, denominator) of the connect deadline (`--connect-timeout`, or
/// `--timeout` when shorter): the HTTP client's connect deadline covers the lookup too, and a lookup that ends
/// first is reported as what it is (`dns`, "DNS timeout") rather than as a connect timeout.
const DNS_SHARE_OF_CONNECT: (u32, u32) = (4, 5);

/// Times a query is sent to the servers before it is a timeout (a lost UDP datagram is sent again).
const DNS_TRIES: u32 = 2;

/// The share of the budget hickory's tries may use together (each `budget × 9/10 / DNS_TRIES`: 3.6 s with the
/// default 10 s connect deadline, about glibc's 5 s). They end before the budget's guard, so a name whose A is
/// answered while its AAAA never is still resolves, to its IPv4 addresses, rather than timing out.
const TRIES_SHARE_OF_BUDGET: (u32, u32) = (9, 10);

/// The port of a `--dns-server` given without one.
pub(crate) const DNS_PORT: u16 = 53;

/// What a lookup gives every connection waiting on it: addresses, or the message of a `dns` error.
type Answer = Result<Arc<[IpAddr]>, Arc<str>>;

/// A lookup under way, shared by every connection to that name until it ends.
type Pending = Shared<BoxFuture<'static, Answer>>;

/// The one resolver of a run (see the module docs for the order of its rules).
pub(crate) struct Resolver {
    overrides: HashMap<String, SocketAddr>,
    /// `/etc/hosts`, read once at start (empty when unreadable).
    hosts: Hosts,
    backend: Arc<Backend>,
    /// How long one lookup may take, tries included.
    budget: Duration,
    /// Names being looked up now: bounded by the connections being opened at once, not by the hosts of the run.
    in_flight: Arc<Mutex<HashMap<String, Pending>>>,
}

enum Backend {
    /// DNS through hickory (its cache off), with ours; `per_try`: how long hickory waits for each of its tries.
    Dns {
        resolver: Box<TokioResolver>,
        cache: DnsCache,
        per_try: Duration,
    },
    /// The system configuration could not be read (why): the platform's resolver (getaddrinfo), without a cache.
    Platform { why: String, warned: AtomicBool },
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("overrides", &self.overrides)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// Reads the system configuration (`/etc/resolv.conf` unless `--dns-server` is given, and `/etc/hosts`).
    pub(crate) fn new(cfg: &NetOptions) -> Resolver {
        let (num, den) = DNS_SHARE_OF_CONNECT;
        let budget = cfg.connect_timeout.min(cfg.timeout) * num / den;
        let backend = match dns_backend(&cfg.dns_servers, budget) {
            Ok(resolver) => Backend::Dns {
                resolver: Box::new(resolver),
                cache: DnsCache::default(),
                per_try: per_try(budget),
            },
            Err(why) => Backend::Platform {
                why,
                warned: AtomicBool::new(false),
            },
        };
        Resolver {
            overrides: cfg.resolve.iter().cloned().collect(),
            hosts: Hosts::from_system().unwrap_or_default(),
            backend: Arc::new(backend),
            budget,
            in_flight: Arc::default(),
        }
    }

    /// The answers given without asking DNS: `--resolve`, RFC 6761 names, `/etc/hosts`.
    fn local_answer(&self, host: &str) -> Option<Result<Vec<SocketAddr>, DnsError>> {
        // `host` has no final dot, nor has an override's name (`cli.rs` drops it): `example.com.` matches either way.
        if let Some(addr) = self.overrides.get(host) {
            // Port 0: the connector then uses the URL's port (or the scheme's). An answer with a port wins over
            // a URL without one, so `--resolve h:9100:ADDR` sent `http://h/` to ADDR:9100, not ADDR:80.
            return Some(Ok(vec![SocketAddr::new(addr.ip(), 0)]));
        }
        if host == "localhost" || host.ends_with(".localhost") {
            return Some(Ok(vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0),
            ]));
        }
        if host == "invalid" || host.ends_with(".invalid") {
            return Some(Err(DnsError(format!(
                "{host}: no such host (.invalid never resolves, RFC 6761)"
            ))));
        }
        self.in_hosts_file(host).map(Ok)
    }

    /// Every address `/etc/hosts` gives the name, both families: a name found there is not asked of DNS, not even
    /// for the family it lacks (as glibc's `files` before `dns`; hickory's own hosts rule would ask DNS for it).
    fn in_hosts_file(&self, host: &str) -> Option<Vec<SocketAddr>> {
        let name = Name::from_ascii(host).ok()?;
        let mut addrs = Vec::new();
        for rtype in [RecordType::A, RecordType::AAAA] {
            if let Some(found) = self
                .hosts
                .lookup_static_host(&Query::query(name.clone(), rtype))
            {
                addrs.extend(
                    found
                        .iter()
                        .filter_map(RData::ip_addr)
                        .map(|ip| SocketAddr::new(ip, 0)),
                );
            }
        }
        (!addrs.is_empty()).then_some(addrs)
    }

    /// The lookup of `host` under way, or a new one. It runs as its own task, so a connection that gives up (its
    /// deadline) does not cancel it for the others; it ends within `budget` and then leaves the table.
    fn pending(&self, host: String) -> Pending {
        let mut table = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = table.get(&host) {
            return p.clone();
        }
        let done = Done {
            table: self.in_flight.clone(),
            host: host.clone(),
        };
        let task = tokio::spawn(lookup(
            self.backend.clone(),
            host.clone(),
            self.budget,
            done,
        ));
        let pending = async move {
            task.await
                .unwrap_or_else(|_| Err(Arc::from("the DNS lookup task failed")))
        }
        .boxed()
        .shared();
        // Inserted before the lock is released: the task's removal (which takes the lock) comes after.
        table.insert(host, pending.clone());
        pending
    }
}

impl Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> Resolving {
        // reqwest's `socks5://` (local resolution) asks for the URL's host as is, an address too: an address is
        // its own answer, never a query (`[::1]` arrives bracketed).
        let raw = name.as_str();
        let bare = raw
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or(raw);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Box::pin(async move {
                Ok(Box::new(std::iter::once(SocketAddr::new(ip, 0))) as Addrs)
            });
        }
        let host = raw.trim_end_matches('.').to_ascii_lowercase();
        if let Some(answer) = self.local_answer(&host) {
            return Box::pin(async move {
                match answer {
                    Ok(addrs) => Ok(Box::new(addrs.into_iter()) as Addrs),
                    Err(e) => Err(Box::new(e) as Box<_>),
                }
            });
        }
        // A name written with its final dot is looked up as such: never with the search domains appended.
        let lookup_name = if name.as_str().ends_with('.') {
            host + "."
        } else {
            host
        };
        let pending = self.pending(lookup_name);
        Box::pin(async move {
            match pending.await {
                Ok(ips) => {
                    let addrs = (0..ips.len()).map(move |i| SocketAddr::new(ips[i], 0));
                    Ok(Box::new(addrs) as Addrs)
                }
                Err(message) => Err(Box::new(DnsError(message.to_string())) as Box<_>),
            }
        })
    }
}

/// Removes a finished lookup from the table, also should its task panic.
struct Done {
    table: Arc<Mutex<HashMap<String, Pending>>>,
    host: String,
}

impl Drop for Done {
    fn drop(&mut self) {
        self.table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.host);
    }
}

async fn lookup(backend: Arc<Backend>, host: String, budget: Duration, done: Done) -> Answer {
    // A guard: hickory's own tries end first (`TRIES_SHARE_OF_BUDGET`); this bounds the platform resolver too (its
    // thread is left to finish).
    let answer = match tokio::time::timeout(budget, backend.lookup(&host)).await {
        Err(_) => Err(timeout_message(&host, budget)),
        Ok(answer) => answer,
    };
    drop(done);
    match answer {
        Ok(ips) if ips.is_empty() => Err(query::no_records(&host, false).into()),
        Ok(ips) => Ok(ips.into()),
        Err(message) => Err(message.into()),
    }
}

impl Backend {
    /// IPv4 addresses first, then IPv6 (each in the server's order), whichever answer came first: a stable order,
    /// and on a machine without IPv6 the connection does not wait for the client's fallback to IPv4.
    async fn lookup(&self, host: &str) -> Result<Vec<IpAddr>, String> {
        let mut ips: Vec<IpAddr> = match self {
            Backend::Dns {
                resolver,
                cache,
                per_try,
            } => {
                return query::lookup(resolver, cache, host, *per_try).await;
            }
            Backend::Platform { why, warned } => {
                if !warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "cannot read the DNS configuration ({why}): names go to the system resolver, uncached"
                    );
                }
                match tokio::net::lookup_host((host, 0)).await {
                    Ok(addrs) => addrs.map(|a| a.ip()).collect(),
                    Err(e) => return Err(format!("{host}: {}", printable(&e.to_string()))),
                }
            }
        };
        ips.sort_by_key(IpAddr::is_ipv6);
        Ok(ips)
    }
}

/// hickory with the system configuration, or only the `--dns-server`s; our timeouts, cache size and both families.
fn dns_backend(servers: &[SocketAddr], budget: Duration) -> Result<TokioResolver, String> {
    let (config, mut opts) = if servers.is_empty() {
        hickory_resolver::system_conf::read_system_conf().map_err(|e| e.to_string())?
    } else {
        // UDP, and TCP when an answer comes back truncated (hickory asks TCP servers only then).
        let group: Vec<NameServerConfig> = servers
            .iter()
            .flat_map(|s| [Protocol::Udp, Protocol::Tcp].map(|p| NameServerConfig::new(*s, p)))
            .collect();
        (
            ResolverConfig::from_parts(None, vec![], group),
            ResolverOpts::default(),
        )
    };
    // A and AAAA asked at once, as getaddrinfo does (hickory's default asks AAAA only when A is empty).
    opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    // Off (moka with capacity 0 stores nothing): hickory's entries keep every record of an answer, thousands from
    // a hostile server; `dns_cache.rs` keeps a few addresses instead.
    opts.cache_size = 0;
    // Read by `Resolver::in_hosts_file` instead.
    opts.use_hosts_file = ResolveHosts::Never;
    opts.timeout = per_try(budget);
    opts.attempts = (DNS_TRIES - 1) as usize;
    Ok(
        TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
            .with_options(opts)
            .build(),
    )
}

/// `ADDR[:PORT]` for `--dns-server`: an IP address (IPv6 in brackets when a port follows), port 53 unless given.
/// Refused: an IPv6 address that also reads as ADDR:PORT (`::1:53`), and addresses no server answers from
/// (unspecified, broadcast, multicast).
pub(crate) fn parse_dns_server(raw: &str) -> anyhow::Result<SocketAddr> {
    let bad = || {
        format!(
            "--dns-server {raw:?}: expected an IP address with an optional port (1.1.1.1, 1.1.1.1:53, [::1]:53)"
        )
    };
    let addr = if let Ok(addr) = raw.parse::<SocketAddr>() {
        addr
    } else if let Some(inner) = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        SocketAddr::new(inner.parse::<IpAddr>().ok().with_context(bad)?, DNS_PORT)
    } else {
        let ip = raw.parse::<IpAddr>().ok().with_context(bad)?;
        if let Some((left, right)) = raw.rsplit_once(':') {
            if left.parse::<Ipv6Addr>().is_ok() && right.parse::<u16>().is_ok() {
                bail!(
                    "--dns-server {raw:?}: ambiguous: the address {left} port {right}, or the address {raw} \
                     port {DNS_PORT}? Write [{left}]:{right} or [{raw}]"
                );
            }
        }
        SocketAddr::new(ip, DNS_PORT)
    };
    if addr.port() == 0 {
        bail!("{}: port 0", bad());
    }
    // `::ffff:224.0.0.1` is the IPv4 multicast address as an IPv6 socket writes it: checked as IPv4.
    let ip = match addr.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    };
    let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
    if ip.is_unspecified() || ip.is_multicast() || broadcast {
        bail!(
            "--dns-server {raw:?}: {ip} is an unspecified, broadcast or multicast address, not a server's"
        );
    }
    Ok(addr)
}

/// How long hickory waits for each try: its tries together take 9/10 of the budget. An answer to a try that
/// comes after the next try was sent is not taken (hickory matches answers to the query of the try), so a server
/// slower than this per try fails.
fn per_try(budget: Duration) -> Duration {
    let (num, den) = TRIES_SHARE_OF_BUDGET;
    budget * num / den / DNS_TRIES
}

fn timeout_message(host: &str, waited: Duration) -> String {
    format!("{host}: DNS timeout (no answer within {waited:?})")
}

/// Control characters escaped (`\u{1b}`): error texts may carry bytes from a DNS answer.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

mod cache;
pub(crate) mod guard;
mod query;

#[cfg(test)]
mod tests;
