//! DNS queries for [`crate::net::dns`]'s resolver: a host name made a DNS name, A and AAAA asked apart through hickory (the
//! cache of [`crate::net::dns::cache`] first), and both families' outcomes made one answer or one message, the same whichever
//! query ended first.
//!
//! Must not read configuration, share lookups between connections or know URLs ([`crate::net::dns`] does).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::proto::{ProtoError, ProtoErrorKind};
use hickory_resolver::{ResolveError, TokioResolver};

use super::{printable, DNS_TRIES};
use crate::net::dns::cache::{Cached, DnsCache, Family, MAX_TTL};

/// The CNAME hops hickory follows for one query before it gives up (its `MAX_QUERY_DEPTH`): a CNAME loop costs
/// this many queries per family, then fails.
const CNAME_DEPTH: usize = 8;

/// `host`'s addresses through DNS: IPv4 first, then IPv6; or the message of the failure.
pub(super) async fn lookup(
    resolver: &TokioResolver,
    cache: &DnsCache,
    host: &str,
    per_try: Duration,
) -> Result<Vec<IpAddr>, String> {
    let name = dns_name(host)?;
    let started = Instant::now();
    let (mut v4, v6) = tokio::join!(
        ask(resolver, cache, host, &name, Family::V4),
        ask(resolver, cache, host, &name, Family::V6),
    );
    let no_records = |o: &FamilyResult| {
        matches!(
            o,
            FamilyResult::NoRecordsBare | FamilyResult::NoRecords { via_cname: false }
        )
    };
    if (v4 == FamilyResult::NoRecordsBare || v6 == FamilyResult::NoRecordsBare)
        && no_records(&v4)
        && no_records(&v6)
    {
        // One more query, only for this failure: is the name a CNAME (to itself)? Within the tries'
        // share of the budget, so the guard's timeout never speaks for it.
        let until = started + per_try * DNS_TRIES;
        let cname = resolver.lookup(name.clone(), RecordType::CNAME);
        if let Ok(Ok(found)) = tokio::time::timeout_at(until.into(), cname).await {
            if found.iter().any(|r| matches!(r, RData::CNAME(_))) {
                v4 = FamilyResult::NoRecords { via_cname: true };
            }
        }
    }
    combine(host, v4, v6, per_try)
}

/// `host` as a DNS name: ASCII as a URL gives it (non-ASCII names come punycoded), so `_` is allowed (as glibc
/// allows it), not refused by the IDNA rules hickory applies to a `&str`.
pub(super) fn dns_name(host: &str) -> Result<Name, String> {
    Name::from_ascii(host).map_err(|e| {
        let why = match e.kind() {
            ProtoErrorKind::LabelBytesTooLong(_) => "a label over 63 bytes",
            ProtoErrorKind::DomainNameTooLong(_) => "over 255 bytes",
            _ => "not a DNS name",
        };
        format!("{host}: DNS error: {why}")
    })
}

/// How one family's query ended. Ordered by what a failed lookup reports when neither family gives an address:
/// the first in this order, A's when both are alike.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum FamilyResult {
    NxDomain,
    Timeout,
    /// A server failure, a refusal, an error: the message, worded.
    Failed(String),
    /// No records of the type; `via_cname`: the name was a CNAME whose chain hickory followed.
    NoRecords {
        via_cname: bool,
    },
    /// No records for the name asked, with neither an SOA nor a CNAME hickory followed: a plain NODATA from a
    /// server that omits the SOA, or a name that is a CNAME to itself (hickory asks it again until its depth).
    NoRecordsBare,
    Addrs(Box<[IpAddr]>),
}

impl From<Cached> for FamilyResult {
    fn from(c: Cached) -> FamilyResult {
        match c {
            Cached::Addrs(ips) => FamilyResult::Addrs(ips),
            Cached::NxDomain => FamilyResult::NxDomain,
            Cached::NoData => FamilyResult::NoRecords { via_cname: false },
        }
    }
}

/// One family of `host` (the cache's key), from the cache or one query; what it gives is kept for its TTL:
/// addresses, and negative answers that came with an SOA (for its minimum, RFC 2308). Failures are not kept.
async fn ask(
    resolver: &TokioResolver,
    cache: &DnsCache,
    host: &str,
    name: &Name,
    family: Family,
) -> FamilyResult {
    if let Some(kept) = cache.get(host, family, Instant::now()) {
        return kept.into();
    }
    let rtype = match family {
        Family::V4 => RecordType::A,
        Family::V6 => RecordType::AAAA,
    };
    match resolver.lookup(name.clone(), rtype).await {
        Ok(found) => {
            let kept = Cached::addrs(
                found
                    .iter()
                    .filter_map(RData::ip_addr)
                    .filter(|ip| ip.is_ipv6() == (family == Family::V6)),
            );
            let now = Instant::now();
            match kept {
                Cached::Addrs(ips) if ips.is_empty() => {
                    FamilyResult::NoRecords { via_cname: false }
                }
                kept => {
                    let ttl = found.valid_until().saturating_duration_since(now);
                    cache.put(host, family, kept.clone(), ttl, now);
                    kept.into()
                }
            }
        }
        Err(e) => {
            let outcome = outcome_of(&e, name);
            if let Some(ProtoErrorKind::NoRecordsFound {
                negative_ttl: Some(ttl),
                ..
            }) = e.proto().map(ProtoError::kind)
            {
                let kept = match outcome {
                    FamilyResult::NxDomain => Some(Cached::NxDomain),
                    FamilyResult::NoRecords { via_cname: false } => Some(Cached::NoData),
                    _ => None,
                };
                if let Some(kept) = kept {
                    let ttl = Duration::from_secs(u64::from(*ttl)).min(MAX_TTL);
                    cache.put(host, family, kept, ttl, Instant::now());
                }
            }
            outcome
        }
    }
}

/// A failed query in words: NXDOMAIN, a timeout and the other failures apart. Nothing a server sent is quoted
/// except through [`printable`].
pub(super) fn outcome_of(err: &ResolveError, asked: &Name) -> FamilyResult {
    let Some(proto) = err.proto() else {
        return FamilyResult::Failed(format!("DNS error: {}", printable(&err.to_string())));
    };
    match proto.kind() {
        ProtoErrorKind::NoRecordsFound {
            response_code,
            query,
            soa,
            ..
        } => match *response_code {
            ResponseCode::NXDomain => FamilyResult::NxDomain,
            ResponseCode::NoError if starts_with_labels(query.name(), asked) && soa.is_none() => {
                FamilyResult::NoRecordsBare
            }
            ResponseCode::NoError => FamilyResult::NoRecords {
                via_cname: !starts_with_labels(query.name(), asked),
            },
            ResponseCode::ServFail => FamilyResult::Failed("DNS server failure (SERVFAIL)".into()),
            ResponseCode::Refused => FamilyResult::Failed("DNS query refused (REFUSED)".into()),
            code => FamilyResult::Failed(format!("DNS error ({code}, rcode {})", u16::from(code))),
        },
        ProtoErrorKind::Timeout => FamilyResult::Timeout,
        ProtoErrorKind::NoConnections => {
            FamilyResult::Failed("no DNS server could be reached".into())
        }
        _ => FamilyResult::Failed(format!("DNS error: {}", printable(&proto.to_string()))),
    }
}

/// Both families' outcomes as the lookup's answer: IPv4 addresses first, then IPv6 (each in the server's order,
/// a stable order; on a machine without IPv6 the connection does not wait for the client's fallback to IPv4).
/// Without any address, the message of the first outcome in [`FamilyResult`]'s order, whichever query ended first:
/// NXDOMAIN, then a timeout, then a failure, and "no address records" only when both families said so.
pub(super) fn combine(
    host: &str,
    v4: FamilyResult,
    v6: FamilyResult,
    per_try: Duration,
) -> Result<Vec<IpAddr>, String> {
    let mut ips = Vec::new();
    for o in [&v4, &v6] {
        if let FamilyResult::Addrs(found) = o {
            ips.extend_from_slice(found);
        }
    }
    if !ips.is_empty() {
        return Ok(ips);
    }
    // Either family led through a CNAME chain: the name is a CNAME, so the message says so.
    let via_cname = [&v4, &v6]
        .iter()
        .any(|o| matches!(o, FamilyResult::NoRecords { via_cname: true }));
    Err(match v4.min(v6) {
        FamilyResult::NxDomain => format!("{host}: no such host (NXDOMAIN)"),
        FamilyResult::Timeout => {
            format!("{host}: DNS timeout (no answer within {per_try:?}, {DNS_TRIES} tries)")
        }
        FamilyResult::Failed(why) => format!("{host}: {why}"),
        FamilyResult::NoRecords { .. } | FamilyResult::NoRecordsBare => no_records(host, via_cname),
        FamilyResult::Addrs(_) => no_records(host, false),
    })
}

/// Whether `name` is `asked`, or `asked` with a search domain after it: not a name a CNAME led to.
fn starts_with_labels(name: &Name, asked: &Name) -> bool {
    name.num_labels() >= asked.num_labels()
        && name
            .iter()
            .zip(asked.iter())
            .all(|(a, b)| a.eq_ignore_ascii_case(b))
}

pub(super) fn no_records(host: &str, via_cname: bool) -> String {
    if via_cname {
        format!(
            "{host}: no address records (no A or AAAA at the end of its CNAME chain, or the chain loops or is \
             longer than {CNAME_DEPTH} names)"
        )
    } else {
        format!("{host}: no address records (no A or AAAA)")
    }
}
