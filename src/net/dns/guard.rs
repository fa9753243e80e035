//! The address guard at the one place addresses reach the connector: [`Guarded`] is the `Resolve` every HTTP
//! client is built with, one per ceiling ([`crate::url::address::Class`]). It asks [`Resolver`] (`--resolve`,
//! `/etc/hosts`, DNS, the cache) and hands on only the addresses [`AddressRules::check`] lets through; when none
//! is left the lookup fails with a [`BlockedError`] (kind `blocked_address`). The connector connects to exactly
//! what it is handed, so nothing can resolve again between the check and the connect (DNS rebinding).
//!
//! Also the reference class of a listed URL named by a host through a proxy ([`Resolver::local_class`]), decided
//! without asking DNS (the proxy resolves the name).
//!
//! Must not decide the ceiling (the polite path does, per listed URL) or check addresses written in URLs: those
//! never reach a resolver (reqwest connects to them directly) and are checked before the request is sent.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::Resolver;
use crate::record::BlockedError;
use crate::url::address::{canonical, reference_class, AddressRules, Class};

/// The rules of a run and the names they do not apply to.
#[derive(Debug)]
pub(crate) struct Guard {
    rules: AddressRules,
    /// The proxies' own names: the user chose them, and reqwest resolves them here too.
    proxies: Box<[String]>,
}

impl Guard {
    pub(crate) fn new(rules: AddressRules, proxies: Vec<String>) -> Guard {
        Guard {
            rules,
            proxies: proxies.into(),
        }
    }
}

/// The run's resolver, guarded for requests under one ceiling.
#[derive(Debug)]
pub(crate) struct Guarded {
    resolver: Arc<Resolver>,
    guard: Arc<Guard>,
    ceiling: Class,
}

impl Guarded {
    pub(crate) fn new(resolver: Arc<Resolver>, guard: Arc<Guard>, ceiling: Class) -> Guarded {
        Guarded {
            resolver,
            guard,
            ceiling,
        }
    }
}

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let lookup = self.resolver.resolve(name);
        if self.guard.proxies.contains(&host) {
            return lookup;
        }
        let guard = self.guard.clone();
        let ceiling = self.ceiling;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = lookup.await?.collect();
            match allowed(&guard.rules, &host, addrs, ceiling) {
                Ok(kept) => Ok(Box::new(kept.into_iter()) as Addrs),
                Err(blocked) => Err(Box::new(blocked) as Box<_>),
            }
        })
    }
}

/// The addresses of `host` a request under `ceiling` may connect to, in their order; a [`BlockedError`] naming
/// the first refused one and its rule when none may.
pub(crate) fn allowed(
    rules: &AddressRules,
    host: &str,
    addrs: Vec<SocketAddr>,
    ceiling: Class,
) -> Result<Vec<SocketAddr>, BlockedError> {
    let mut refused = None;
    let kept: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| match rules.check(a.ip(), ceiling) {
            Ok(()) => true,
            Err(rule) => {
                let ip = canonical(a.ip());
                tracing::debug!(host, %ip, "address guard: {rule}");
                refused.get_or_insert((ip, rule));
                false
            }
        })
        .collect();
    match refused {
        Some((ip, rule)) if kept.is_empty() => Err(BlockedError(format!(
            "{host} resolves to {ip}, refused: {rule}"
        ))),
        _ => Ok(kept),
    }
}

impl Resolver {
    /// The reference class of a listed URL's host decided without DNS: an address's own, or the first address
    /// `--resolve`, `localhost` or `/etc/hosts` give the name; `None` when only DNS could say.
    pub(crate) fn local_class(&self, host: &str) -> Option<Class> {
        if let Some(ip) = literal(host) {
            return Some(reference_class(ip));
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        match self.local_answer(&host)? {
            Ok(addrs) => addrs.first().map(|a| reference_class(a.ip())),
            Err(_) => None,
        }
    }

    /// The reference class of a listed URL's host from the first address this resolver gives it (cached as any
    /// lookup); `None` when it does not resolve.
    pub(crate) async fn lookup_class(&self, host: &str) -> Option<Class> {
        let name = host.parse::<Name>().ok()?;
        let mut addrs = self.resolve(name).await.ok()?;
        addrs.next().map(|a| reference_class(a.ip()))
    }
}

/// `host` as an address, when it is one (`[::1]` with its brackets).
fn literal(host: &str) -> Option<std::net::IpAddr> {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sock(s: &str) -> SocketAddr {
        SocketAddr::new(s.parse().unwrap(), 0)
    }

    /// Of a multi-address answer only the forbidden addresses go; with none left, the first refusal is the error.
    #[test]
    fn forbidden_addresses_of_an_answer_are_dropped() {
        let rules = AddressRules::default();
        let mixed = vec![
            sock("10.0.0.1"),
            sock("93.184.216.34"),
            sock("169.254.169.254"),
        ];
        assert_eq!(
            allowed(&rules, "a.test", mixed.clone(), Class::Public).unwrap(),
            vec![sock("93.184.216.34")]
        );
        assert_eq!(
            allowed(&rules, "a.test", mixed, Class::Private).unwrap(),
            vec![sock("10.0.0.1"), sock("93.184.216.34")]
        );
        let err = allowed(
            &rules,
            "a.test",
            vec![sock("::ffff:169.254.169.254"), sock("127.0.0.1")],
            Class::Public,
        )
        .unwrap_err()
        .0;
        assert!(
            err.starts_with("a.test resolves to 169.254.169.254, refused: a cloud metadata"),
            "{err}"
        );
    }
}
