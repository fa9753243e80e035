//! Unit tests of `dns.rs`: failure messages, the lookup budget, the order of local answers, `--dns-server` forms.

use super::*;
use clap::Parser;
use hickory_resolver::proto::ProtoError;

fn config(flags: &[&str]) -> Config {
    let mut argv = vec!["crawlfish"];
    argv.extend_from_slice(flags);
    crate::cli::Cli::parse_from(argv).into_config().unwrap()
}

fn no_records(code: ResponseCode) -> ResolveError {
    let query = Query::query(Name::from_ascii("a.test").unwrap(), RecordType::A);
    ProtoError::nx_error(Box::new(query), None, None, None, code, false, None).into()
}

#[test]
fn failures_are_told_apart() {
    let budget = Duration::from_millis(1600);
    let says = |e: &ResolveError| describe("a.test", e, budget);
    assert_eq!(
        says(&no_records(ResponseCode::NXDomain)),
        "a.test: no such host (NXDOMAIN)"
    );
    assert!(says(&no_records(ResponseCode::NoError)).contains("no address records"));
    assert!(says(&no_records(ResponseCode::ServFail)).contains("(SERVFAIL)"));
    assert!(says(&no_records(ResponseCode::Refused)).contains("(REFUSED)"));
    assert!(says(&no_records(ResponseCode::Unknown(4000))).contains("rcode 4000"));
    let timeout: ResolveError = ProtoError::from(ProtoErrorKind::Timeout).into();
    assert_eq!(
        says(&timeout),
        "a.test: DNS timeout (no answer within 1.6s)"
    );
    let hostile: ResolveError = ProtoError::from("label \u{1b}[31mred\n".to_owned()).into();
    let text = says(&hostile);
    assert!(!text.chars().any(char::is_control), "{text:?}");
    assert!(text.contains("\\u{1b}[31mred\\u{a}"), "{text:?}");
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
        vec!["127.0.0.9:80".parse().unwrap()]
    );
    assert_eq!(addr("x.invalid"), vec!["127.0.0.8:80".parse().unwrap()]);
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
    for bad in [
        "",
        "dns.example",
        "1.2.3.4:",
        "1.2.3.4:0",
        "1.2.3.4:65536",
        "1.2.3.4:53:53",
        "::1:53x",
        "[::1]:",
        "[::1",
        "256.1.1.1",
        " 1.2.3.4",
    ] {
        let err = parse_dns_server(bad).unwrap_err().to_string();
        assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
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
    let servers = cli.into_config().unwrap().dns_servers;
    assert_eq!(
        servers,
        vec!["127.0.0.9:53".parse().unwrap(), "[::1]:53".parse().unwrap()]
    );
}
