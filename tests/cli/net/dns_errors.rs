//! DNS failures, against the in-process server of `support/dns.rs` (always through `--dns-server`): NXDOMAIN,
//! SERVFAIL and silence told apart, unanswered queries of one family, a TCP port that hangs up after truncation,
//! CNAME loops, and `--dns-server` values that cannot name a server.

use std::time::Duration;

use crate::support::dns::{assert_refused, quick, v4, Dns, Zone, TYPE_A, TYPE_AAAA};
use crate::support::*;

#[tokio::test]
async fn nxdomain_servfail_and_silence_are_told_apart() {
    let dns = Dns::start("127.0.0.53", 300).await;
    dns.set("broken.crawlfish.test", Zone::ServFail);
    dns.set("quiet.crawlfish.test", Zone::Silent);
    dns.set("empty.crawlfish.test", Zone::Addrs(vec![]));
    let gone = [
        "http://gone.crawlfish.test/1",
        "http://gone.crawlfish.test/2",
        "http://gone.crawlfish.test/3",
    ];
    // A label over 63 bytes is a valid URL host but no DNS name: refused before any query.
    let long = format!("http://{}.crawlfish.test/", "a".repeat(64));
    let input = format!(
        "{}\nhttp://broken.crawlfish.test/\nhttp://quiet.crawlfish.test/\nhttp://empty.crawlfish.test/\n{long}\n",
        gone.join("\n")
    );
    let server = dns.arg();
    // --timeout 2: a lookup may take 4/5 of it (1.6 s; its tries 9/10 of that, 1.44 s), then the URL is given up
    // (kind dns, not retried).
    let argv = quick(&server, "2");
    let run = crawlfish(&argv, &input).await;
    assert_eq!(run.records.len(), 7);
    let message = |url: &str| {
        run.record(url)["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for url in gone {
        assert_eq!(run.kind(url), "dns");
        assert!(message(url).contains("no such host"), "{}", message(url));
        assert_eq!(run.record(url)["attempts"], 1);
    }
    assert_eq!(
        dns.count("gone.crawlfish.test", TYPE_A),
        1,
        "{:?}",
        dns.summary()
    );
    let url = &long;
    assert_eq!(run.kind(url), "dns");
    assert!(message(url).contains("DNS error"), "{}", message(url));
    let url = "http://broken.crawlfish.test/";
    assert_eq!(run.kind(url), "dns");
    assert!(message(url).contains("SERVFAIL"), "{}", message(url));
    let url = "http://empty.crawlfish.test/";
    assert_eq!(run.kind(url), "dns");
    assert!(
        message(url).contains("no address records"),
        "{}",
        message(url)
    );
    let url = "http://quiet.crawlfish.test/";
    assert_eq!(run.kind(url), "dns", "{}", run.record(url));
    assert!(message(url).contains("DNS timeout"), "{}", message(url));
    assert!(!message(url).contains("no such host"));
    assert_eq!(run.record(url)["attempts"], 1);
    assert_eq!(run.code, Some(1), "failed URLs: exit 1");
    let asked: Vec<String> = dns.summary().into_keys().map(|(n, _, _)| n).collect();
    assert!(!asked.iter().any(|n| n.starts_with("aaaa")), "{asked:?}");
    assert!(
        run.elapsed < Duration::from_secs(5),
        "the silent server held the run {:?}",
        run.elapsed
    );
    eprintln!(
        "silent server: {:?} in {:?}; queries {:?}",
        message(url),
        run.elapsed,
        dns.summary()
    );
}

/// A server that answers A but never AAAA: the name still resolves, to its IPv4 address, once the AAAA tries
/// time out (within 9/10 of the lookup's budget: 2.16 s of 2.4 s with --timeout 3), not as a DNS timeout.
#[tokio::test]
async fn an_unanswered_aaaa_still_resolves_to_ipv4() {
    const NAME: &str = "nosix.crawlfish.test";
    let site = Site::start("127.0.0.68").await;
    site.html("/", "ok");
    let dns = Dns::start("127.0.0.53", 300).await;
    dns.set(NAME, Zone::NoAaaa(v4("127.0.0.68")));
    let url = format!("http://{NAME}:{}/", site.addr.port());
    let server = dns.arg();
    let argv = quick(&server, "3");
    let run = crawlfish(&argv, &url).await;
    assert_eq!(run.record(&url)["status"], 200, "{}", run.record(&url));
    assert_eq!(run.record(&url)["ip"], "127.0.0.68");
    assert_eq!(dns.count(NAME, TYPE_A), 1, "{:?}", dns.summary());
    assert_eq!(
        dns.count(NAME, TYPE_AAAA),
        2,
        "two tries: {:?}",
        dns.summary()
    );
    assert!(run.elapsed < Duration::from_secs(6), "{:?}", run.elapsed);
}

/// An A that is never answered while AAAA says NODATA is a timeout, and the message says how long each of the
/// two tries waited (--timeout 2: a 1.6 s budget, 9/10 of it over 2 tries), not "no address records".
// Guards: an unanswered A beside an empty AAAA was reported as "no address records", not a timeout.
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
// Guards: a TCP retry hung up on after a truncated A answer was reported as "no address records".
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
// Guards: a CNAME loop was not bounded, or its error did not name the CNAME chain.
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

#[tokio::test]
async fn bad_dns_server_values_exit_2() {
    assert_refused(&[
        "dns.example",
        "1.2.3.4:0",
        "1.2.3.4:99999",
        "::1:53x",
        "[::1]:",
        "127.0.0.1:53:53",
        "",
    ])
    .await;
}

/// `::1:53` is both the address ::1 port 53 and the address ::1:53: refused with both spellings. No server
/// answers from an unspecified, broadcast or multicast address.
// Guards: an ambiguous (`::1:53`) or unusable (unspecified, broadcast, multicast) `--dns-server` was accepted.
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
