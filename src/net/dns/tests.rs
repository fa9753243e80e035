//! Unit tests of [`crate::net::dns`]: failure messages, the lookup budget, the order of local answers, `--dns-server` forms.

use super::query::{combine, dns_name, outcome_of, FamilyResult};
use super::*;
use clap::Parser;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::ProtoError;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::ResolveError;

fn config(flags: &[&str]) -> NetOptions {
    let mut argv = vec!["crawlfish"];
    argv.extend_from_slice(flags);
    crate::cli::Cli::parse_from(argv).into_config().unwrap().net
}

fn no_records(code: ResponseCode) -> ResolveError {
    let query = Query::query(Name::from_ascii("a.test").unwrap(), RecordType::A);
    ProtoError::nx_error(Box::new(query), None, None, None, code, false, None).into()
}

#[test]
fn failures_are_told_apart() {
    let asked = Name::from_ascii("a.test").unwrap();
    let says = |e: &ResolveError| outcome_of(e, &asked);
    assert_eq!(
        says(&no_records(ResponseCode::NXDomain)),
        FamilyResult::NxDomain
    );
    // Without an SOA: maybe a CNAME to itself, which `query::lookup` asks about.
    assert_eq!(
        says(&no_records(ResponseCode::NoError)),
        FamilyResult::NoRecordsBare
    );
    let servfail = says(&no_records(ResponseCode::ServFail));
    assert!(matches!(&servfail, FamilyResult::Failed(m) if m.contains("(SERVFAIL)")));
    let refused = says(&no_records(ResponseCode::Refused));
    assert!(matches!(&refused, FamilyResult::Failed(m) if m.contains("(REFUSED)")));
    let odd = says(&no_records(ResponseCode::Unknown(4000)));
    assert!(matches!(&odd, FamilyResult::Failed(m) if m.contains("rcode 4000")));
    let timeout: ResolveError = ProtoError::from(ProtoErrorKind::Timeout).into();
    assert_eq!(says(&timeout), FamilyResult::Timeout);
    let hostile: ResolveError = ProtoError::from("label \u{1b}[31mred\n".to_owned()).into();
    let FamilyResult::Failed(text) = says(&hostile) else {
        panic!()
    };
    assert!(!text.chars().any(char::is_control), "{text:?}");
    assert!(text.contains("\\u{1b}[31mred\\u{a}"), "{text:?}");
    // A NODATA for another name than the one asked: the end of a CNAME chain (or where hickory gave up on it).
    let other = Query::query(Name::from_ascii("b.test.").unwrap(), RecordType::A);
    let chain = nodata(other);
    assert_eq!(says(&chain), FamilyResult::NoRecords { via_cname: true });
    let search = Query::query(Name::from_ascii("A.test.corp.").unwrap(), RecordType::A);
    let searched = nodata(search);
    assert_eq!(says(&searched), FamilyResult::NoRecordsBare);
}

/// Without an address from either family the message is the first of NXDOMAIN, timeout, failure, no records,
/// whichever family said it; "no address records" only when both did.
#[test]
fn the_message_of_a_failed_lookup_is_deterministic() {
    let per_try = Duration::from_millis(3600);
    let nodata = || FamilyResult::NoRecords { via_cname: false };
    let failed = |m: &str| FamilyResult::Failed(m.to_owned());
    let says = |a: FamilyResult, b: FamilyResult| combine("a.test", a, b, per_try).unwrap_err();
    for (a, b) in [
        (FamilyResult::Timeout, nodata()),
        (nodata(), FamilyResult::Timeout),
        (
            failed("DNS server failure (SERVFAIL)"),
            FamilyResult::Timeout,
        ),
    ] {
        assert_eq!(
            says(a, b),
            "a.test: DNS timeout (no answer within 3.6s, 2 tries)"
        );
    }
    assert_eq!(
        says(FamilyResult::Timeout, FamilyResult::NxDomain),
        "a.test: no such host (NXDOMAIN)"
    );
    assert_eq!(
        says(failed("DNS error: io error: refused"), nodata()),
        "a.test: DNS error: io error: refused"
    );
    assert_eq!(
        says(nodata(), failed("DNS query refused (REFUSED)")),
        "a.test: DNS query refused (REFUSED)"
    );
    assert_eq!(
        says(nodata(), nodata()),
        "a.test: no address records (no A or AAAA)"
    );
    assert!(says(FamilyResult::NoRecords { via_cname: true }, nodata()).contains("CNAME chain"));
    let v4: IpAddr = "192.0.2.1".parse().unwrap();
    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    assert_eq!(
        combine(
            "a.test",
            FamilyResult::Timeout,
            FamilyResult::Addrs([v6].into()),
            per_try
        ),
        Ok(vec![v6])
    );
    assert_eq!(
        combine(
            "a.test",
            FamilyResult::Addrs([v4].into()),
            FamilyResult::Addrs([v6].into()),
            per_try
        ),
        Ok(vec![v4, v6])
    );
}

/// Names as URLs give them: `_` inside a label is a DNS name (glibc resolves it); a label over 63 bytes is not,
/// and its message carries no Rust debug text.
#[test]
fn host_names_with_underscores_are_dns_names() {
    for ok in [
        "a_b.test",
        "_dmarc.test",
        "x.a_b.test.",
        "xn--bcher-kva.test",
    ] {
        assert!(dns_name(ok).is_ok(), "{ok}");
    }
    let long = format!("{}.test", "a".repeat(64));
    let err = dns_name(&long).unwrap_err();
    assert!(err.ends_with("DNS error: a label over 63 bytes"), "{err}");
    let err = dns_name("a b.test").unwrap_err();
    assert!(!err.contains("Err(") && !err.contains('{'), "{err}");
}

#[tokio::test]
async fn lookups_get_four_fifths_of_the_connect_deadline() {
    assert_eq!(Resolver::new(&config(&[])).budget, Duration::from_secs(8));
    let short = config(&["--timeout", "2", "--dns-server", "127.0.0.53"]);
    assert_eq!(Resolver::new(&short).budget, Duration::from_millis(1600));
    let connect = config(&["--connect-timeout", "0.5"]);
    assert_eq!(Resolver::new(&connect).budget, Duration::from_millis(400));
}

/// `--resolve` first (even for a `localhost` or `.invalid` name), then RFC 6761 names; nothing else is local
/// (`/etc/hosts` aside).
#[tokio::test]
async fn local_answers_in_order() {
    let cfg = config(&[
        "--dns-server",
        "127.0.0.53",
        "--resolve",
        "pinned.localhost:80:127.0.0.9",
        "--resolve",
        "x.invalid:80:127.0.0.8",
    ]);
    let r = Resolver::new(&cfg);
    let addr = |host: &str| r.local_answer(host).unwrap().unwrap();
    assert_eq!(
        addr("pinned.localhost"),
        vec!["127.0.0.9:0".parse().unwrap()]
    );
    // Port 0: the URL's own port is used (the connector takes an answer's port over a URL without one).
    assert_eq!(addr("x.invalid"), vec!["127.0.0.8:0".parse().unwrap()]);
    let loopback: Vec<SocketAddr> =
        vec!["127.0.0.1:0".parse().unwrap(), "[::1]:0".parse().unwrap()];
    assert_eq!(addr("localhost"), loopback);
    assert_eq!(addr("a.b.localhost"), loopback);
    let err = r
        .local_answer("y.invalid")
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no such host") && err.contains("RFC 6761"),
        "{err}"
    );
    assert!(r.local_answer("invalid").unwrap().is_err());
    assert!(r.local_answer("notinvalid.test").is_none());
    assert!(r.local_answer("localhost.test").is_none());
}

#[test]
fn dns_server_forms() {
    let ok = |raw: &str, want: &str| {
        assert_eq!(
            parse_dns_server(raw).unwrap(),
            want.parse().unwrap(),
            "{raw}"
        );
    };
    ok("127.0.0.9", "127.0.0.9:53");
    ok("127.0.0.9:5353", "127.0.0.9:5353");
    ok("[::1]:5353", "[::1]:5353");
    ok("[::1]", "[::1]:53");
    ok("::1", "[::1]:53");
    ok("2001:db8::53", "[2001:db8::53]:53");
    ok("[::1:53]", "[::1:53]:53");
    ok("1::2:ab", "[1::2:ab]:53");
    for bad in [
        "",
        "dns.example",
        "1.2.3.4:",
        "1.2.3.4:0",
        "1.2.3.4:65536",
        "1.2.3.4:53:53",
        "::1:53x",
        "::1:53",
        "1::2:8053",
        "0.0.0.0",
        "0.0.0.0:53",
        "[::]",
        "::",
        "255.255.255.255",
        "224.0.0.251:5353",
        "[ff02::fb]:5353",
        "[::1]:",
        "[::1",
        "256.1.1.1",
        " 1.2.3.4",
        // The same refusals through IPv4-mapped IPv6 (an attack run found these accepted).
        "::ffff:0.0.0.0",
        "[::ffff:224.0.0.1]:53",
        "::ffff:255.255.255.255",
        "[::ffff:239.1.2.3]",
    ] {
        let err = parse_dns_server(bad).unwrap_err().to_string();
        assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
        if bad == "::1:53" {
            assert!(
                err.contains("[::1]:53") && err.contains("[::1:53]"),
                "{err}"
            );
        }
    }
    let cli = crate::cli::Cli::parse_from([
        "crawlfish",
        "--dns-server",
        "127.0.0.9",
        "--dns-server",
        "127.0.0.9:53",
        "--dns-server",
        "[::1]:53",
    ]);
    let servers = cli.into_config().unwrap().net.dns_servers;
    assert_eq!(
        servers,
        vec!["127.0.0.9:53".parse().unwrap(), "[::1]:53".parse().unwrap()]
    );
}

/// reqwest's `socks5://` asks the resolver for the URL's host as is: an address is its own answer, never a query
/// (the DNS server here is a port nothing listens on: a query would fail as `dns`).
#[tokio::test]
async fn an_address_is_its_own_answer() {
    use std::str::FromStr as _;
    let r = Resolver::new(&config(&["--dns-server", "127.0.0.1:9"]));
    for (name, want) in [
        ("127.0.0.150", "127.0.0.150:0"),
        ("::1", "[::1]:0"),
        ("[::1]", "[::1]:0"),
        ("[::ffff:127.0.0.2]", "[::ffff:127.0.0.2]:0"),
    ] {
        let name = reqwest::dns::Name::from_str(name).unwrap();
        let addrs: Vec<SocketAddr> = r.resolve(name).await.unwrap().collect();
        assert_eq!(addrs, vec![want.parse::<SocketAddr>().unwrap()]);
    }
}

/// A NODATA (no error, no records, no SOA) for `query`, as hickory reports it.
fn nodata(query: Query) -> ResolveError {
    ProtoError::nx_error(
        Box::new(query),
        None,
        None,
        None,
        ResponseCode::NoError,
        false,
        None,
    )
    .into()
}
