//! The address guard's rule, as pure functions: which class an IP address is in ([`kind`]), what an address written
//! in another form means ([`canonical`]: IPv4-mapped, IPv4-compatible and NAT64 IPv6 are their IPv4 address), the
//! `--deny-net`/`--allow-net` blocks ([`Net`]) and the verdict for one address ([`AddressRules::check`]).
//!
//! Classes, from outside in: public < private (RFC 1918, CGNAT 100.64/10, IPv6 unique-local) < loopback <
//! link-local. A request may reach its listed URL's own class or one further out (its *ceiling*); unspecified,
//! multicast and broadcast addresses never; cloud metadata endpoints only when an `--allow-net` names them.
//!
//! Decimal, octal and hex IPv4 forms (`http://2852039166/`, `http://0251.0376.0251.0376/`) and trailing dots need
//! nothing here: the URL parser (WHATWG) already turns them into the address they mean.
//!
//! Must not resolve or connect: [`crate::net`] applies this where addresses are handed to the connector.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where an address is, from outside in; a request may reach its ceiling's class or any before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Class {
    Public,
    /// RFC 1918, CGNAT (100.64.0.0/10), IPv6 unique-local (`fc00::/7`) and site-local (`fec0::/10`).
    Private,
    Loopback,
    /// 169.254.0.0/16 and `fe80::/10`.
    LinkLocal,
}

impl Class {
    /// Every class, outside in (a ceiling's index in per-ceiling tables).
    pub(crate) const ALL: [Class; 4] = [
        Class::Public,
        Class::Private,
        Class::Loopback,
        Class::LinkLocal,
    ];

    #[must_use]
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Class::Public => "public",
            Class::Private => "private",
            Class::Loopback => "loopback",
            Class::LinkLocal => "link-local",
        }
    }

    /// This class's place in [`Class::ALL`].
    #[must_use]
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// What an address is to the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Unspecified (0.0.0.0/8, ::), multicast, or the broadcast address: never connected to.
    Never,
    /// A cloud metadata endpoint (link-local or CGNAT, but refused unless an `--allow-net` names it).
    Metadata,
    In(Class),
}

/// Cloud metadata endpoints: AWS, GCP, Azure and most others (169.254.169.254), AWS ECS task metadata
/// (169.254.170.2), Alibaba Cloud (100.100.100.200), AWS over IPv6 (`fd00:ec2::254`).
const METADATA_V4: [Ipv4Addr; 3] = [
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(100, 100, 100, 200),
];
const METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

/// The address the metadata names mean.
pub(crate) const METADATA_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254));

/// Names the clouds give their metadata endpoint (refused by name: through a proxy they are never resolved here).
const METADATA_NAMES: [&str; 5] = [
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
];

/// Whether `host` (a URL's host name, any case, one final dot or not) names a cloud metadata endpoint.
#[must_use]
pub(crate) fn is_metadata_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    METADATA_NAMES.iter().any(|n| n.eq_ignore_ascii_case(host))
}

/// The address `ip` means: an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`) or NAT64
/// (`64:ff9b::a.b.c.d`) IPv6 address is its IPv4 address; anything else is itself.
#[must_use]
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else {
        return ip;
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let s = v6.segments();
    let o = v6.octets();
    let embedded = IpAddr::V4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    let compatible = s[..6] == [0; 6] && !v6.is_unspecified() && !v6.is_loopback();
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    if compatible || nat64 {
        embedded
    } else {
        ip
    }
}

/// What `ip` is (after [`canonical`]).
#[must_use]
pub(crate) fn kind(ip: IpAddr) -> Kind {
    match canonical(ip) {
        IpAddr::V4(v4) => kind_v4(v4),
        IpAddr::V6(v6) => kind_v6(v6),
    }
}

fn kind_v4(ip: Ipv4Addr) -> Kind {
    let [a, b, ..] = ip.octets();
    if a == 0 || ip.is_broadcast() || ip.is_multicast() {
        Kind::Never
    } else if METADATA_V4.contains(&ip) {
        Kind::Metadata
    } else if ip.is_loopback() {
        Kind::In(Class::Loopback)
    } else if ip.is_link_local() {
        Kind::In(Class::LinkLocal)
    } else if ip.is_private() || (a == 100 && (b & 0xc0) == 64) {
        Kind::In(Class::Private)
    } else {
        Kind::In(Class::Public)
    }
}

fn kind_v6(ip: Ipv6Addr) -> Kind {
    let first = ip.segments()[0];
    if ip.is_unspecified() || ip.is_multicast() {
        Kind::Never
    } else if ip == METADATA_V6 {
        Kind::Metadata
    } else if ip.is_loopback() {
        Kind::In(Class::Loopback)
    } else if first & 0xffc0 == 0xfe80 {
        Kind::In(Class::LinkLocal)
    } else if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfec0 {
        Kind::In(Class::Private)
    } else {
        Kind::In(Class::Public)
    }
}

/// The class an address gives a listed URL as its reference: a metadata endpoint is link-local; an address
/// that is never connected to gives the strictest reference (its own request is refused anyway).
#[must_use]
pub(crate) fn reference_class(ip: IpAddr) -> Class {
    match kind(ip) {
        Kind::Never => Class::Public,
        Kind::Metadata => Class::LinkLocal,
        Kind::In(c) => c,
    }
}

/// An address block of `--deny-net`/`--allow-net`: `ADDR/PREFIX`, or one address. Kept in canonical form, so
/// `::ffff:10.0.0.0/104` is `10.0.0.0/8` and matches IPv4 addresses however they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    /// Parses `ADDR[/PREFIX]`.
    ///
    /// # Errors
    /// Not an address, a prefix longer than the address, or bits set past the prefix (`10.1.2.3/8`: a typo
    /// for `10.0.0.0/8` or for `10.1.2.3/32`?).
    pub(crate) fn parse(raw: &str) -> Result<Net, String> {
        let (addr, prefix) = match raw.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (raw, None),
        };
        let addr: IpAddr = addr
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| {
                format!("{raw:?}: expected an address or a CIDR block (10.0.0.0/8, fd00::/8)")
            })?;
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("{raw:?}: the prefix must be 0 to {bits}"))?,
        };
        if mask(addr, prefix) != addr {
            return Err(format!(
                "{raw:?}: bits set past the /{prefix} prefix (the block is {}/{prefix})",
                mask(addr, prefix)
            ));
        }
        Ok(Net::canonical(addr, prefix))
    }

    fn canonical(addr: IpAddr, prefix: u8) -> Net {
        match (addr, canonical(addr)) {
            (IpAddr::V6(_), v4 @ IpAddr::V4(_)) if prefix >= 96 => Net {
                addr: v4,
                prefix: prefix - 96,
            },
            _ => Net { addr, prefix },
        }
    }

    /// Whether the block holds `ip` (already canonical).
    fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix) == self.addr
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// `ip` with every bit past `prefix` cleared.
fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & m))
        }
        IpAddr::V6(v6) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & m))
        }
    }
}

/// The user's rules on top of the classes: `--deny-net`, `--allow-net`, `--allow-internal`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressRules {
    pub(crate) deny: Vec<Net>,
    pub(crate) allow: Vec<Net>,
    /// `--allow-internal`: no class rule (the behaviour before the guard); the rest still applies.
    pub(crate) allow_internal: bool,
}

impl AddressRules {
    /// The ceiling of a request whose listed URL's reference class is `reference` (`None`: not known yet, so
    /// only the rules that do not depend on it apply).
    #[must_use]
    pub(crate) fn ceiling(&self, reference: Option<Class>) -> Class {
        match reference {
            Some(c) if !self.allow_internal => c,
            _ => Class::LinkLocal,
        }
    }

    /// Whether a request under `ceiling` may connect to `ip`; else the rule that refuses it, in words (the
    /// caller names the address).
    ///
    /// # Errors
    /// The rule.
    pub(crate) fn check(&self, ip: IpAddr, ceiling: Class) -> Result<(), String> {
        let ip = canonical(ip);
        let kind = kind(ip);
        if kind == Kind::Never {
            return Err(
                "an unspecified, multicast or broadcast address is never connected to".into(),
            );
        }
        // The most specific block that holds the address decides; at equal length, deny.
        let best = |nets: &[Net]| {
            nets.iter()
                .filter(|n| n.contains(ip))
                .copied()
                .max_by_key(|n| n.prefix)
        };
        match (best(&self.deny), best(&self.allow)) {
            (Some(d), Some(a)) if a.prefix > d.prefix => return Ok(()),
            (Some(d), _) => return Err(format!("in --deny-net {d}")),
            (None, Some(_)) => return Ok(()),
            (None, None) => {}
        }
        match kind {
            Kind::Metadata => {
                Err("a cloud metadata endpoint, reached only when an --allow-net names it".into())
            }
            Kind::In(class) if class > ceiling => Err(format!(
                "a {} address, further in than its listed URL's ({}); --allow-net or --allow-internal \
                 allows it",
                class.as_str(),
                ceiling.as_str()
            )),
            _ => Ok(()),
        }
    }

    /// [`AddressRules::check`] for a URL's host before anything is sent: an address is checked as written (it
    /// never reaches the resolver), a cloud metadata name as the address it means; other names pass (their
    /// addresses are checked where the resolver hands them to the connector).
    ///
    /// # Errors
    /// `"ADDR refused: RULE"`; for a metadata name, the name and the address it means.
    pub(crate) fn check_host(&self, host: &url::Host<&str>, ceiling: Class) -> Result<(), String> {
        let (ip, name) = match host {
            url::Host::Ipv4(v4) => (IpAddr::V4(*v4), None),
            url::Host::Ipv6(v6) => (IpAddr::V6(*v6), None),
            url::Host::Domain(name) if is_metadata_name(name) => (METADATA_ADDR, Some(*name)),
            url::Host::Domain(_) => return Ok(()),
        };
        self.check(ip, ceiling).map_err(|rule| match name {
            Some(name) => format!("{name} (a cloud metadata name) means {ip}, refused: {rule}"),
            None => format!("{} refused: {rule}", canonical(ip)),
        })
    }
}

#[cfg(test)]
mod tests;
