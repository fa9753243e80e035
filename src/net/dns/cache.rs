//! The DNS answer cache of [`crate::net::dns`]: per (name, family), the answer's addresses (at most [`MAX_ADDRS`]) or a
//! negative answer, kept for its TTL. A fixed number of entries of a fixed largest size, so its memory is bounded
//! by constants, not by what servers send or how many hosts a crawl meets (hickory's own cache, which keeps every
//! record of an answer, is turned off).
//!
//! Must not query, parse or word errors: [`crate::net::dns`] decides what is kept and for how long.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Addresses kept per name and family: a connection tries a few of them, never thousands; a server that answers
/// with more gets its first ones used (in its order).
pub(crate) const MAX_ADDRS: usize = 8;

/// Entries: one per name and family, so a host takes two. 4,096 holds ~2,000 hosts, 32 times the hosts a run
/// connects to at once by default (about `-c`, 64); past it the least recently used entry goes and is asked again.
pub(crate) const DNS_CACHE_ENTRIES: usize = 4_096;

/// The longest an answer is kept, whatever its TTL says.
pub(crate) const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest key: a DNS name is at most 255 bytes on the wire, 253 characters written (254 with the final dot).
const MAX_NAME: usize = 255;

/// A record type asked: A or AAAA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Family {
    V4,
    V6,
}

/// What is kept for a name and family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cached {
    /// The first [`MAX_ADDRS`] addresses of the answer.
    Addrs(Box<[IpAddr]>),
    /// NXDOMAIN, with an SOA (RFC 2308).
    NxDomain,
    /// No records of this type, with an SOA.
    NoData,
}

impl Cached {
    /// The first [`MAX_ADDRS`] of `ips`.
    pub(crate) fn addrs(ips: impl IntoIterator<Item = IpAddr>) -> Cached {
        Cached::Addrs(ips.into_iter().take(MAX_ADDRS).collect())
    }
}

struct Entry {
    value: Cached,
    expires: Instant,
    /// When it was last read or written, on the cache's own clock: the least recent goes first when full.
    used: u64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<(Box<str>, Family), Entry>,
    clock: u64,
}

/// A bounded TTL cache (see the module docs).
#[derive(Default)]
pub(crate) struct DnsCache {
    inner: Mutex<Inner>,
}

impl DnsCache {
    /// The answer kept for `name` and `family`, unless it expired.
    pub(crate) fn get(&self, name: &str, family: Family, now: Instant) -> Option<Cached> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.clock += 1;
        let clock = inner.clock;
        let key = (Box::from(name), family);
        match inner.map.get_mut(&key) {
            Some(e) if e.expires > now => {
                e.used = clock;
                Some(e.value.clone())
            }
            Some(_) => {
                inner.map.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Keeps `value` for `ttl` (at most [`MAX_TTL`]); a zero TTL is not kept, nor a name no DNS name can be.
    pub(crate) fn put(
        &self,
        name: &str,
        family: Family,
        value: Cached,
        ttl: Duration,
        now: Instant,
    ) {
        if ttl.is_zero() || name.len() > MAX_NAME {
            return;
        }
        let value = match value {
            Cached::Addrs(ips) if ips.len() > MAX_ADDRS => Cached::addrs(ips.iter().copied()),
            other => other,
        };
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.clock += 1;
        let used = inner.clock;
        let key = (Box::from(name), family);
        if !inner.map.contains_key(&key) && inner.map.len() >= DNS_CACHE_ENTRIES {
            inner.map.retain(|_, e| e.expires > now);
            if inner.map.len() >= DNS_CACHE_ENTRIES {
                // A scan of a few thousand entries, only when full of live ones: cheaper than a lookup.
                let oldest = inner
                    .map
                    .iter()
                    .min_by_key(|(_, e)| e.used)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    inner.map.remove(&k);
                }
            }
        }
        let expires = now + ttl.min(MAX_TTL);
        inner.map.insert(
            key,
            Entry {
                value,
                expires,
                used,
            },
        );
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .len()
    }
}

/// The most heap memory one entry may hold (its key and addresses), for the tests of the bound.
#[cfg(test)]
pub(crate) const MAX_ENTRY_HEAP: usize = MAX_NAME + MAX_ADDRS * std::mem::size_of::<IpAddr>();

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(n: usize) -> Vec<IpAddr> {
        (0..n)
            .map(|i| IpAddr::from([10, 0, (i / 256) as u8, (i % 256) as u8]))
            .collect()
    }

    #[test]
    fn an_entry_keeps_at_most_max_addrs_in_the_servers_order() {
        let cache = DnsCache::default();
        let now = Instant::now();
        let ttl = Duration::from_secs(300);
        cache.put("a.test", Family::V4, Cached::addrs(ips(4_001)), ttl, now);
        cache.put(
            "b.test",
            Family::V4,
            Cached::Addrs(ips(4_001).into()),
            ttl,
            now,
        );
        for name in ["a.test", "b.test"] {
            let Some(Cached::Addrs(kept)) = cache.get(name, Family::V4, now) else {
                panic!("{name} not kept");
            };
            assert_eq!(&kept[..], &ips(MAX_ADDRS)[..]);
            let heap = name.len() + kept.len() * std::mem::size_of::<IpAddr>();
            assert!(heap <= MAX_ENTRY_HEAP);
        }
        const { assert!(MAX_ENTRY_HEAP < 1_024) };
    }

    #[test]
    fn expiry_zero_ttl_and_the_day_cap() {
        let cache = DnsCache::default();
        let now = Instant::now();
        cache.put(
            "a.test",
            Family::V4,
            Cached::NxDomain,
            Duration::from_secs(5),
            now,
        );
        cache.put("b.test", Family::V4, Cached::NoData, Duration::ZERO, now);
        cache.put(
            "c.test",
            Family::V6,
            Cached::NoData,
            Duration::from_secs(u64::from(u32::MAX)),
            now,
        );
        assert_eq!(cache.get("a.test", Family::V4, now), Some(Cached::NxDomain));
        assert_eq!(cache.get("a.test", Family::V6, now), None);
        assert_eq!(
            cache.get("a.test", Family::V4, now + Duration::from_secs(5)),
            None
        );
        assert_eq!(cache.get("b.test", Family::V4, now), None);
        assert_eq!(
            cache.get(
                "c.test",
                Family::V6,
                now + MAX_TTL.checked_sub(Duration::from_secs(1)).unwrap()
            ),
            Some(Cached::NoData)
        );
        assert_eq!(cache.get("c.test", Family::V6, now + MAX_TTL), None);
        let long = "a".repeat(MAX_NAME + 1);
        cache.put(&long, Family::V4, Cached::NoData, MAX_TTL, now);
        assert_eq!(cache.get(&long, Family::V4, now), None);
    }

    #[test]
    fn full_cache_drops_the_least_recently_used() {
        let cache = DnsCache::default();
        let now = Instant::now();
        let ttl = Duration::from_secs(300);
        for i in 0..DNS_CACHE_ENTRIES {
            cache.put(&format!("h{i}.test"), Family::V4, Cached::NoData, ttl, now);
        }
        // h0 read again: h1 is now the least recently used.
        assert!(cache.get("h0.test", Family::V4, now).is_some());
        cache.put("new.test", Family::V4, Cached::NoData, ttl, now);
        assert_eq!(cache.len(), DNS_CACHE_ENTRIES);
        assert!(cache.get("h0.test", Family::V4, now).is_some());
        assert!(cache.get("h1.test", Family::V4, now).is_none());
        assert!(cache.get("new.test", Family::V4, now).is_some());
    }
}
