//! DNS against a hostile or broken server (the in-process one of `dns.rs`, always through `--dns-server`): huge
//! answers, names with `_`, an A that never comes, a TCP port that hangs up after truncation, CNAME loops, and
//! `--dns-server` values that cannot name a server.

use std::net::{IpAddr, Ipv4Addr};

use crate::dns::server::{Dns, Zone, TYPE_A, TYPE_AAAA};
use crate::dns::{assert_refused, quick};
use crate::support::*;

/// Records in the huge answer: ~48 KB over TCP, 12 times what crawlfish keeps per name.
const HUGE: usize = 3_000;

fn loopback_many(first: Ipv4Addr, n: usize) -> Vec<IpAddr> {
    let mut ips = vec![IpAddr::V4(first)];
    ips.extend((1..n).map(|i| IpAddr::V4(Ipv4Addr::new(127, 1, (i / 256) as u8, (i % 256) as u8))));
    ips
}

/// A name answered with thousands of A records (over TCP after a truncated UDP answer) resolves to one of them,
/// asked once for two URLs: what is kept per name is capped (see `dns_cache.rs`), not the answer.
#[tokio::test]
async fn thousands_of_a_records_resolve_to_one_of_them() {
    const NAME: &str = "huge.crawlfish.test";
    let site = Site::start("127.0.0.70").await;
    site.html("/1", "one");
    site.html("/2", "two");
    let dns = Dns::start("127.0.0.53", 300).await;
    dns.set(
        NAME,
        Zone::Truncated(loopback_many(Ipv4Addr::new(127, 0, 0, 70), HUGE)),
    );
    let port = site.addr.port();
    let input = format!("http://{NAME}:{port}/1\nhttp://{NAME}:{port}/2\n");
    let server = dns.arg();
    let argv = args(&["-c", "1", "--dns-server", &server]);
    let run = crawlfish(&argv, &input).await;
    assert_eq!(run.records.len(), 2);
    for r in &run.records {
        assert_eq!(r["status"], 200, "{r}");
        assert_eq!(r["ip"], "127.0.0.70", "{r}");
    }
    assert_eq!(dns.count_tcp(NAME, TYPE_A), 1, "{:?}", dns.summary());
    assert_eq!(
        dns.count(NAME, TYPE_A),
        2,
        "UDP then TCP: {:?}",
        dns.summary()
    );
    assert_eq!(
        dns.count(NAME, TYPE_AAAA),
        2,
        "UDP then TCP: {:?}",
        dns.summary()
    );
}

/// `_` inside a label is a DNS name (glibc and curl resolve it): asked, and resolved.
#[tokio::test]
async fn a_name_with_an_underscore_resolves() {
    const NAME: &str = "a_b.crawlfish.test";
    let site = Site::start("127.0.0.71").await;
    site.html("/", "ok");
    let dns = Dns::start("127.0.0.53", 300).await;
    dns.set(
        NAME,
        Zone::Addrs(vec![IpAddr::V4(Ipv4Addr::new(127, 0, 0, 71))]),
    );
    let url = format!("http://{NAME}:{}/", site.addr.port());
    let server = dns.arg();
    let run = crawlfish(&args(&["--dns-server", &server]), &url).await;
    assert_eq!(run.record(&url)["status"], 200, "{}", run.record(&url));
    assert_eq!(dns.count(NAME, TYPE_A), 1, "{:?}", dns.summary());
}

/// An A that is never answered while AAAA says NODATA is a timeout, and the message says how long each of the
/// two tries waited (--timeout 2: a 1.6 s budget, 9/10 of it over 2 tries), not "no address records".
#[tokio::test]
async fn an_unanswered_a_with_an_empty_aaaa_is_a_timeout() {
    const NAME: &str = "noa.crawlfish.test";
    let dns = Dns::start("127.0.0.53", 300).await;
    dns.set(NAME, Zone::NoA(vec![]));
    let url = format!("http://{NAME}/");
    let server = dns.arg();
    let argv = quick(&server, "2");
    let run = crawlfish(&argv, &url).await;
    assert_eq!(run.kind(&url), "dns");
    let message = run.record(&url)["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.ends_with(&format!(
            "{NAME}: DNS timeout (no answer within 720ms, 2 tries)"
        )),
        "{message}"
    );
    assert_eq!(dns.count(NAME, TYPE_A), 2, "{:?}", dns.summary());
    assert_eq!(dns.count(NAME, TYPE_AAAA), 1, "{:?}", dns.summary());
}

/// An A answer truncated over UDP whose TCP retry is hung up on, while AAAA says NODATA: always A's failure
/// ("DNS error: …", what the socket said: a reset or a closed stream, as the kernel's timing has it), never the "no
/// address records" AAAA's NODATA alone would say, whichever query ends first.
#[tokio::test]
async fn a_tcp_hang_up_after_truncation_is_an_error_not_no_records() {
    const NAMES: usize = 4;
    let dns = Dns::start("127.0.0.53", 300).await;
    let mut input = String::new();
    for i in 0..NAMES {
        dns.set(&format!("tc{i}.crawlfish.test"), Zone::TruncatedTcpCloses);
        input.push_str(&format!("http://tc{i}.crawlfish.test/\n"));
    }
    let server = dns.arg();
    let argv = quick(&server, "3");
    let run = crawlfish(&argv, &input).await;
    assert_eq!(run.records.len(), NAMES);
    for r in &run.records {
        assert_eq!(r["error"]["kind"], "dns", "{r}");
        let m = r["error"]["message"].as_str().unwrap();
        let host = r["url"]
            .as_str()
            .unwrap()
            .trim_start_matches("http://")
            .trim_end_matches('/');
        assert!(m.contains(&format!("{host}: DNS error: ")), "{m}");
        assert!(!m.contains("no address records"), "{m}");
    }
    for i in 0..NAMES {
        let name = format!("tc{i}.crawlfish.test");
        // Two tries, each over UDP then perhaps TCP (hickory shares one TCP connection between queries, so a
        // hang-up may cost another name's query): bounded, not exact.
        assert!(dns.count(&name, TYPE_A) <= 4, "{:?}", dns.summary());
        assert_eq!(dns.count(&name, TYPE_AAAA), 1, "{:?}", dns.summary());
    }
}

/// A CNAME loop ends after hickory's 8 hops per family, and the message says a CNAME chain is at fault; a name
/// that is a CNAME to itself costs one more query (CNAME) to say so.
#[tokio::test]
async fn a_cname_loop_is_bounded_and_named() {
    const TYPE_CNAME: u16 = 5;
    let dns = Dns::start("127.0.0.53", 300).await;
    dns.set(
        "loop1.crawlfish.test",
        Zone::Cname("loop2.crawlfish.test".into()),
    );
    dns.set(
        "loop2.crawlfish.test",
        Zone::Cname("loop1.crawlfish.test".into()),
    );
    dns.set(
        "self.crawlfish.test",
        Zone::Cname("self.crawlfish.test".into()),
    );
    let input = "http://loop1.crawlfish.test/\nhttp://self.crawlfish.test/\n";
    let server = dns.arg();
    let run = crawlfish(&args(&["--dns-server", &server]), input).await;
    for url in [
        "http://loop1.crawlfish.test/",
        "http://self.crawlfish.test/",
    ] {
        assert_eq!(run.kind(url), "dns");
        let message = run.record(url)["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains("CNAME chain"), "{message}");
    }
    for rtype in [TYPE_A, TYPE_AAAA] {
        let asked =
            dns.count("loop1.crawlfish.test", rtype) + dns.count("loop2.crawlfish.test", rtype);
        assert!((2..=8).contains(&asked), "{asked}: {:?}", dns.summary());
        assert!(
            (1..=8).contains(&dns.count("self.crawlfish.test", rtype)),
            "{:?}",
            dns.summary()
        );
    }
    assert_eq!(
        dns.count("self.crawlfish.test", TYPE_CNAME),
        1,
        "{:?}",
        dns.summary()
    );
    assert_eq!(
        dns.count("loop1.crawlfish.test", TYPE_CNAME),
        0,
        "{:?}",
        dns.summary()
    );
    eprintln!("CNAME loops: queries {:?}", dns.summary());
}

/// `::1:53` is both the address ::1 port 53 and the address ::1:53: refused with both spellings. No server
/// answers from an unspecified, broadcast or multicast address.
#[tokio::test]
async fn ambiguous_and_unusable_dns_servers_exit_2() {
    assert_refused(&[
        "::1:53",
        "0.0.0.0",
        "[::]:53",
        "255.255.255.255",
        "224.0.0.1",
        "[ff02::1]",
    ])
    .await;
    let run = crawlfish(&args(&["--dns-server", "::1:53"]), "http://127.0.0.1:9/\n").await;
    assert!(
        run.stderr.contains("[::1]:53") && run.stderr.contains("[::1:53]"),
        "{}",
        run.stderr
    );
}
