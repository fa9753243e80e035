//! Unit tests of [`crate::url::address`]: the classes, the forms an address is written in, the rule's order, and
//! a property test against a model written as a table of ranges.

use super::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn rules(deny: &[&str], allow: &[&str]) -> AddressRules {
    AddressRules {
        deny: deny.iter().map(|n| Net::parse(n).unwrap()).collect(),
        allow: allow.iter().map(|n| Net::parse(n).unwrap()).collect(),
        allow_internal: false,
    }
}

#[test]
fn classes_of_addresses() {
    for (addr, want) in [
        ("8.8.8.8", Kind::In(Class::Public)),
        ("2001:db8::1", Kind::In(Class::Public)),
        ("10.1.2.3", Kind::In(Class::Private)),
        ("172.16.0.1", Kind::In(Class::Private)),
        ("172.32.0.1", Kind::In(Class::Public)),
        ("192.168.1.1", Kind::In(Class::Private)),
        ("100.64.0.1", Kind::In(Class::Private)),
        ("100.127.255.255", Kind::In(Class::Private)),
        ("100.128.0.1", Kind::In(Class::Public)),
        ("fd12::1", Kind::In(Class::Private)),
        ("fec0::1", Kind::In(Class::Private)),
        ("127.0.0.1", Kind::In(Class::Loopback)),
        ("127.255.0.9", Kind::In(Class::Loopback)),
        ("::1", Kind::In(Class::Loopback)),
        ("169.254.1.1", Kind::In(Class::LinkLocal)),
        ("fe80::1", Kind::In(Class::LinkLocal)),
        ("169.254.169.254", Kind::Metadata),
        ("169.254.170.2", Kind::Metadata),
        ("100.100.100.200", Kind::Metadata),
        ("fd00:ec2::254", Kind::Metadata),
        ("0.0.0.0", Kind::Never),
        ("0.1.2.3", Kind::Never),
        ("::", Kind::Never),
        ("255.255.255.255", Kind::Never),
        ("224.0.0.1", Kind::Never),
        ("239.255.255.250", Kind::Never),
        ("ff02::1", Kind::Never),
        // Forms of IPv4 inside IPv6: the address they mean.
        ("::ffff:169.254.169.254", Kind::Metadata),
        ("::ffff:127.0.0.1", Kind::In(Class::Loopback)),
        ("::ffff:0.0.0.0", Kind::Never),
        ("::169.254.169.254", Kind::Metadata),
        ("::10.0.0.1", Kind::In(Class::Private)),
        ("64:ff9b::a9fe:a9fe", Kind::Metadata),
        ("64:ff9b::7f00:1", Kind::In(Class::Loopback)),
    ] {
        assert_eq!(kind(ip(addr)), want, "{addr}");
    }
}

/// The WHATWG URL parser gives the address a decimal, octal, hex, short or trailing-dot form means; the host
/// of `[::ffff:…]` stays IPv6 and is classified by its IPv4 address.
#[test]
fn url_forms_mean_their_address() {
    let meta = IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254));
    for form in [
        "http://2852039166/",
        "http://0251.0376.0251.0376/",
        "http://0xa9.0xfe.0xa9.0xfe/",
        "http://0xa9fea9fe/",
        "http://169.254.43518/",
        "http://169.254.169.254./",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:a9fe:a9fe]/",
    ] {
        let url = url::Url::parse(form).unwrap();
        let host = url.host().unwrap();
        let addr = match host {
            url::Host::Ipv4(v4) => IpAddr::V4(v4),
            url::Host::Ipv6(v6) => IpAddr::V6(v6),
            url::Host::Domain(d) => panic!("{form}: a name {d}"),
        };
        assert_eq!(canonical(addr), meta, "{form}");
        assert!(
            AddressRules::default()
                .check_host(&host, Class::LinkLocal)
                .is_err(),
            "{form}"
        );
    }
}

#[test]
fn metadata_names_are_refused_unless_allowed() {
    let host = url::Host::Domain("Metadata.Google.Internal.");
    let err = AddressRules::default()
        .check_host(&host, Class::LinkLocal)
        .unwrap_err();
    assert!(
        err.contains("169.254.169.254") && err.contains("metadata"),
        "{err}"
    );
    let allowed = rules(&[], &["169.254.169.254"]);
    assert!(allowed.check_host(&host, Class::Public).is_ok());
    assert!(AddressRules::default()
        .check_host(&url::Host::Domain("example.com"), Class::Public)
        .is_ok());
}

#[test]
fn the_class_rule_and_its_ceiling() {
    let r = AddressRules::default();
    assert!(r.check(ip("8.8.8.8"), Class::Public).is_ok());
    let err = r.check(ip("10.0.0.5"), Class::Public).unwrap_err();
    assert!(
        err.contains("a private address") && err.contains("(public)"),
        "{err}"
    );
    assert!(r.check(ip("10.0.0.5"), Class::Private).is_ok());
    assert!(r.check(ip("127.0.0.1"), Class::Private).is_err());
    assert!(r.check(ip("10.0.0.5"), Class::Loopback).is_ok());
    assert!(r.check(ip("8.8.8.8"), Class::Loopback).is_ok());
    assert!(r.check(ip("169.254.1.1"), Class::Loopback).is_err());
    assert!(r.check(ip("169.254.1.1"), Class::LinkLocal).is_ok());
    // Whatever the ceiling: metadata and the never-classes.
    assert!(r.check(ip("169.254.169.254"), Class::LinkLocal).is_err());
    assert!(r.check(ip("0.0.0.0"), Class::LinkLocal).is_err());
    // --allow-internal: the class rule is off, the rest is not.
    let internal = AddressRules {
        allow_internal: true,
        ..AddressRules::default()
    };
    let ceiling = internal.ceiling(Some(Class::Public));
    assert!(internal.check(ip("127.0.0.1"), ceiling).is_ok());
    assert!(internal.check(ip("169.254.169.254"), ceiling).is_err());
    assert!(internal.check(ip("224.0.0.1"), ceiling).is_err());
    assert_eq!(r.ceiling(None), Class::LinkLocal);
}

#[test]
fn allow_wins_only_where_more_specific() {
    let r = rules(
        &["127.0.0.0/8", "10.0.0.0/8"],
        &["127.0.0.5", "10.0.0.0/8", "169.254.169.254/32"],
    );
    assert!(r.check(ip("127.0.0.5"), Class::Loopback).is_ok());
    let err = r.check(ip("127.0.0.6"), Class::Loopback).unwrap_err();
    assert!(err.contains("--deny-net 127.0.0.0/8"), "{err}");
    // Equal blocks: deny.
    assert!(r.check(ip("10.1.1.1"), Class::LinkLocal).is_err());
    // An allow reaches past the class rule and names the metadata endpoint.
    assert!(r.check(ip("169.254.169.254"), Class::Public).is_ok());
    let private = rules(&[], &["192.168.0.0/16"]);
    assert!(private.check(ip("192.168.3.4"), Class::Public).is_ok());
    assert!(private.check(ip("10.0.0.1"), Class::Public).is_err());
    // Never is never, whatever is allowed.
    assert!(rules(&[], &["0.0.0.0/0"])
        .check(ip("0.0.0.0"), Class::Public)
        .is_err());
    // A deny on an IPv4 block holds its IPv6-mapped form, and the other way round.
    let mapped = rules(&["::ffff:127.0.0.7/128"], &[]);
    assert!(mapped.check(ip("127.0.0.7"), Class::Loopback).is_err());
    assert!(rules(&["127.0.0.7"], &[])
        .check(ip("::ffff:127.0.0.7"), Class::Loopback)
        .is_err());
}

#[test]
fn net_forms() {
    assert_eq!(Net::parse("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
    assert_eq!(Net::parse("127.0.0.7").unwrap().to_string(), "127.0.0.7/32");
    assert_eq!(Net::parse("fd00::/8").unwrap().to_string(), "fd00::/8");
    assert_eq!(Net::parse("[::1]").unwrap().to_string(), "::1/128");
    assert_eq!(
        Net::parse("::ffff:10.0.0.0/104").unwrap().to_string(),
        "10.0.0.0/8"
    );
    assert_eq!(Net::parse("0.0.0.0/0").unwrap().to_string(), "0.0.0.0/0");
    for bad in [
        "",
        "10.0.0.0/33",
        "10.1.2.3/8",
        "fd00::/129",
        "example.com",
        "10.0.0.0/x",
        "10.0.0.0/",
    ] {
        let err = Net::parse(bad).unwrap_err();
        assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
    }
    assert!(Net::parse("10.1.2.3/8").unwrap_err().contains("10.0.0.0/8"));
}

/// The model: IPv4 ranges in order, the first that holds the address decides.
fn model(a: u32) -> Kind {
    let table: [(u32, u8, Kind); 13] = [
        (0x0000_0000, 8, Kind::Never),
        (0xffff_ffff, 32, Kind::Never),
        (0xe000_0000, 4, Kind::Never),
        (0xa9fe_a9fe, 32, Kind::Metadata),
        (0xa9fe_aa02, 32, Kind::Metadata),
        (0x6464_64c8, 32, Kind::Metadata),
        (0x7f00_0000, 8, Kind::In(Class::Loopback)),
        (0xa9fe_0000, 16, Kind::In(Class::LinkLocal)),
        (0x0a00_0000, 8, Kind::In(Class::Private)),
        (0xac10_0000, 12, Kind::In(Class::Private)),
        (0xc0a8_0000, 16, Kind::In(Class::Private)),
        (0x6440_0000, 10, Kind::In(Class::Private)),
        (0, 0, Kind::In(Class::Public)),
    ];
    let holds = |start: u32, len: u8| {
        len == 0 || a >> (32 - u32::from(len)) == start >> (32 - u32::from(len))
    };
    table
        .iter()
        .find(|(s, l, _)| holds(*s, *l))
        .map(|t| t.2)
        .unwrap()
}

/// Addresses near the edges of the model's ranges as often as anywhere.
fn addr() -> impl Strategy<Value = u32> {
    prop_oneof![
        any::<u32>(),
        (
            prop::sample::select(vec![
                0u32, 0x0a, 0x64, 0x7f, 0xa9, 0xac, 0xc0, 0xe0, 0xef, 0xff
            ]),
            any::<u32>()
        )
            .prop_map(|(top, rest)| (top << 24) | (rest & 0x00ff_ffff)),
        prop::sample::select(vec![
            0xa9fe_a9fe,
            0xa9fe_aa02,
            0x6464_64c8,
            0x643f_ffff,
            0x6480_0000,
            0xac1f_ffff
        ]),
    ]
}

#[test]
fn the_classifier_matches_the_model_in_every_form() {
    let config = RunnerConfig {
        cases: 4_000,
        failure_persistence: None,
        ..RunnerConfig::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[23; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&(addr(), 0u8..=32, addr()), |(a, prefix, other)| {
        let v4 = Ipv4Addr::from(a);
        let want = model(a);
        prop_assert_eq!(kind(IpAddr::V4(v4)), want);
        prop_assert_eq!(kind(IpAddr::V6(v4.to_ipv6_mapped())), want);
        prop_assert_eq!(
            kind(IpAddr::V6(Ipv6Addr::from(
                0x0064_ff9b_u128 << 96 | u128::from(a)
            ))),
            want
        );
        if a > 1 {
            prop_assert_eq!(kind(IpAddr::V6(v4.to_ipv6_compatible())), want);
        }
        // Decimal, octal and hex forms in a URL are the same address.
        let o = v4.octets();
        for form in [
            format!("{a}"),
            format!("0{:o}.0{:o}.0{:o}.0{:o}", o[0], o[1], o[2], o[3]),
            format!("0x{a:x}"),
            format!("{v4}."),
        ] {
            let url = url::Url::parse(&format!("http://{form}/")).unwrap();
            prop_assert_eq!(url.host(), Some(url::Host::Ipv4(v4)), "{}", form);
        }
        // A block holds exactly the addresses that share its first `prefix` bits.
        let start = mask(IpAddr::V4(Ipv4Addr::from(other)), prefix);
        let net = Net::parse(&format!("{start}/{prefix}")).unwrap();
        let shift = 32 - u32::from(prefix);
        let same = prefix == 0 || a >> shift == other >> shift;
        prop_assert_eq!(net.contains(IpAddr::V4(v4)), same);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
